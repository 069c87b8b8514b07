"""Do `collapse run` and its Python peer (peer.py) measure the same thing? A statistical check.

The two sides use different random streams, so their numbers differ; their distributions must not.
For each CLI workload this runs ours on a copy of the config with `replicates: N` and the peer with
as many seeds as it takes to get N chains, then compares generation 0 and the last generation per
variant and metric over the N chains of each side (a `-ss` workload — ours with
`sampling.shortcut: sufficient-statistics` — against its base workload's row-by-row peer): means, medians, Welch's t test and the
two-sample Kolmogorov-Smirnov test. A small p-value (both tests are printed) means one side computes
a different thing, or draws from a different process.

    .venv/bin/python Scripts/bench/sanity.py [--chains 30] [--workloads zipf,kde-d1] [--collapse BIN]

The timing suite (compare.py --check) prints the same table for the timed runs' own outputs.
"""
import argparse
import math
import os
import re
import shutil
import subprocess
import sys
import tempfile

import numpy as np
import pandas as pd

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
BENCH = os.path.join(ROOT, "Scripts", "bench")
sys.path.insert(0, BENCH)
from compare import CLI_CONFIG, CLI_WORKLOADS, PEER  # noqa: E402


def read_generations(directory, generations=None):
    """metrics.csv of a run, only the given generations (default: 0 and the last)."""
    frame = pd.read_csv(os.path.join(directory, "metrics.csv"))
    if generations is None:
        generations = [0, int(frame["generation"].max())]
    return frame[frame["generation"].isin(generations) & (frame["metric"] != "degenerate")]


def compare_frames(workload, ours, peer):
    """Rows (one per variant, generation, metric) comparing the per-chain values of both sides."""
    from scipy import stats

    rows = []
    for (variant, generation, metric), a in ours.groupby(["variant", "generation", "metric"], sort=True):
        b = peer[(peer.variant == variant) & (peer.generation == generation) & (peer.metric == metric)]
        x, y = a["value"].to_numpy(float), b["value"].to_numpy(float)
        x, y = x[~np.isnan(x)], y[~np.isnan(y)]
        enough = len(x) > 1 and len(y) > 1
        t_p = stats.ttest_ind(x, y, equal_var=False).pvalue if enough and (x.std() > 0 or y.std() > 0) else math.nan
        ks_p = stats.ks_2samp(x, y).pvalue if enough else math.nan
        rows.append({"workload": workload, "variant": int(variant), "generation": int(generation), "metric": metric,
                     "n_ours": len(x), "n_peer": len(y), "ours_mean": x.mean() if len(x) else math.nan,
                     "peer_mean": y.mean() if len(y) else math.nan,
                     "ours_median": float(np.median(x)) if len(x) else math.nan,
                     "peer_median": float(np.median(y)) if len(y) else math.nan, "t_p": t_p, "ks_p": ks_p})
    return rows


def print_rows(rows, alpha=0.01):
    print("| workload | variant | generation | metric | n ours/peer | ours mean | peer mean | ours median | peer median | Welch p | KS p | |")
    print("|---|---|---|---|---|---|---|---|---|---|---|---|")
    for r in rows:
        flag = "DIFFERENT" if min(r["t_p"], r["ks_p"]) < alpha else ""
        print(f"| {r['workload']} | {r['variant']} | {r['generation']} | {r['metric']} | {r['n_ours']}/{r['n_peer']} | "
              f"{r['ours_mean']:.6g} | {r['peer_mean']:.6g} | {r['ours_median']:.6g} | {r['peer_median']:.6g} | "
              f"{r['t_p']:.3g} | {r['ks_p']:.3g} | {flag} |")


def replicates_of(workload):
    with open(os.path.join(BENCH, "configs", CLI_CONFIG[workload])) as f:
        return int(re.search(r"^replicates:\s*(\d+)", f.read(), re.M).group(1))


def check(workload, chains, collapse, python):
    work = tempfile.mkdtemp(prefix=f"collapse-sanity-{workload}-")
    try:
        with open(os.path.join(BENCH, "configs", CLI_CONFIG[workload])) as f:
            text = re.sub(r"^replicates:\s*\d+", f"replicates: {chains}", f.read(), flags=re.M)
        config = os.path.join(work, CLI_CONFIG[workload])
        with open(config, "w") as f:
            f.write(text)
        subprocess.run([collapse, "run", config, "--out", os.path.join(work, "ours"), "--force", "--quiet"], check=True)
        ours = read_generations(os.path.join(work, "ours"))
        generations = sorted(ours["generation"].unique())
        per_run = replicates_of(workload)
        parts = []
        for i in range(math.ceil(chains / per_run)):
            out = os.path.join(work, f"peer-{i}")
            subprocess.run([python, os.path.join(BENCH, "peer.py"), PEER[workload], "--out", out, "--seed", str(1000 + i)],
                           check=True, stdout=subprocess.DEVNULL,
                           env=dict(os.environ, OMP_NUM_THREADS="1", OPENBLAS_NUM_THREADS="1"))
            part = read_generations(out, generations)
            parts.append(part.assign(replicate=part["replicate"] + i * per_run))
        peer = pd.concat(parts)
        peer = peer[peer["replicate"] < chains]
        return compare_frames(workload, ours, peer)
    finally:
        shutil.rmtree(work)


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--chains", type=int, default=30, help="chains per side (ours: the config's replicates)")
    parser.add_argument("--workloads", default=",".join(w for w in CLI_WORKLOADS if PEER[w] != "study"))
    parser.add_argument("--collapse", default=os.path.join(ROOT, ".build", "release", "collapse"))
    args = parser.parse_args()
    rows = []
    for workload in args.workloads.split(","):
        rows += check(workload, args.chains, args.collapse, sys.executable)
        print(f"# done {workload}", file=sys.stderr, flush=True)
    print(f"# sanity: {args.chains} chains per side; DIFFERENT = Welch or KS p-value below 0.01")
    print()
    print_rows(rows)


if __name__ == "__main__":
    main()

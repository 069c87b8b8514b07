"""Runs collapse-bench and its numpy peer alternately, several rounds, and prints medians and ratios.

Called by Scripts/bench/run after the release build and the venv exist. Every process prints JSON
lines {"workload", "impl", "seconds", ...}; per (workload, impl) we keep the median over rounds.
Ratios: numpy time / ours (> 1 means we are faster) and wrapper time / direct cblas time.
"""
import argparse
import datetime
import json
import os
import platform
import statistics
import subprocess
import sys

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))


def run_json(cmd, env):
    out = subprocess.run(cmd, env=env, check=True, capture_output=True, text=True, cwd=ROOT).stdout
    return [json.loads(line) for line in out.splitlines() if line.startswith("{")]


def run_cli_study(env):
    """Times the real `collapse run` on the study config (wall time of the whole process)."""
    import tempfile
    import time
    out = tempfile.mkdtemp(prefix="collapse-bench-cli-")
    binary = os.path.join(ROOT, ".build", "release", "collapse")
    config = os.path.join(ROOT, "Scripts", "bench", "configs", "gaussian-study.yaml")
    t0 = time.perf_counter()
    subprocess.run([binary, "run", config, "--out", out, "--force", "--quiet"], env=env, check=True, cwd=ROOT)
    seconds = time.perf_counter() - t0
    return [{"workload": "study", "impl": "swift", "seconds": seconds}]


def machine():
    model = "unknown CPU"
    try:
        with open("/proc/cpuinfo") as f:
            for line in f:
                if line.startswith("model name"):
                    model = line.split(":", 1)[1].strip()
                    break
    except OSError:
        pass
    return f"{model}, {os.cpu_count()} cores, {platform.system()} {platform.release()}"


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--workloads", default="normal,gemm,syrk,mvn,gmm-small,gmm-large,kde,study")
    parser.add_argument("--binary", default=os.path.join(ROOT, ".build", "release", "collapse-bench"))
    args = parser.parse_args()

    env = dict(os.environ, OMP_NUM_THREADS="1", OPENBLAS_NUM_THREADS="1")
    python = sys.executable
    load_before = os.getloadavg()
    results = {}
    for workload in args.workloads.split(","):
        for _ in range(args.rounds):  # alternate ours and the peer within the same run
            peer = [python, os.path.join(ROOT, "Scripts", "bench", "peer.py"), workload]
            if workload == "study":
                ours = run_cli_study(dict(os.environ))  # the CLI uses both cores (BLAS single-threaded inside chains)
                rows_out = ours + run_json(peer + ["--repeats", "1"], env)
            else:
                rows_out = run_json([args.binary, workload], env) + run_json(peer, env)
            for row in rows_out:
                results.setdefault((row["workload"], row["impl"]), []).append(row)
    load_after = os.getloadavg()

    print(f"# model-collapse benchmarks, {datetime.date.today().isoformat()}")
    print(f"# machine: {machine()}; load average before {load_before[0]:.2f}, after {load_after[0]:.2f}")
    print(f"# {args.rounds} alternating rounds, medians; BLAS single-threaded (OPENBLAS_NUM_THREADS=1)")
    if max(load_before[0], load_after[0]) > 0.5 * (os.cpu_count() or 1):
        print("# WARNING: the machine was busy; timings are noisy")
    print()
    print("| workload | implementation | median time (s) | rate | ratio |")
    print("|---|---|---|---|---|")

    def median(key, field):
        return statistics.median(r[field] for r in results[key])

    rows = []
    if ("normal", "swift") in results:
        ours, peer = median(("normal", "swift"), "seconds"), median(("normal", "numpy"), "seconds")
        rows.append(("normal (10^7 draws)", "collapse StandardNormal.fill", ours, f"{median(('normal', 'swift'), 'ns_per_draw'):.2f} ns/draw", f"numpy/ours = {peer / ours:.2f}x"))
        rows.append(("normal (10^7 draws)", "numpy Generator.standard_normal", peer, f"{median(('normal', 'numpy'), 'ns_per_draw'):.2f} ns/draw", ""))
    for w, label in (("gemm", "dgemm n=1000"), ("syrk", "dsyrk 4000x1000"), ("covariance", "covariance 4000x1000")):
        impls = sorted(i for (wl, i) in results if wl == w)
        direct = results.get((w, "swift-direct-cblas"))
        for impl in impls:
            t = median((w, impl), "seconds")
            ratio = ""
            if impl == "swift-wrapper" and direct:
                ratio = f"wrapper/direct = {t / median((w, 'swift-direct-cblas'), 'seconds'):.3f}"
            elif impl == "swift" and (w, "numpy") in results:
                ratio = f"numpy/ours = {median((w, 'numpy'), 'seconds') / t:.2f}x"
            rows.append((label, impl, t, f"{median((w, impl), 'gflops'):.1f} GFLOP/s", ratio))
    if ("mvn", "swift") in results:
        ours = median(("mvn", "swift"), "seconds")
        peer = median(("mvn", "numpy"), "seconds") if ("mvn", "numpy") in results else float("nan")
        bound = median(("mvn", "swift"), "bound_seconds")
        normals = median(("mvn-parts", "swift"), "normals") if ("mvn-parts", "swift") in results else 0.0
        rows.append(("mvn d=256 M=25600 fit+sample", "collapse MultivariateGaussianModel", ours,
                     f"{median(('mvn', 'swift'), 'gflops'):.1f} GFLOP/s (dgemm {median(('mvn', 'swift'), 'dgemm_gflops'):.1f})",
                     f"numpy/ours = {peer / ours:.2f}x; BLAS-flop bound {bound / ours:.2f}; bound + normals {(bound + normals) / ours:.2f}"))
        if ("mvn", "numpy") in results:
            rows.append(("mvn d=256 M=25600 fit+sample", "numpy (cov, cholesky, z @ L.T)", peer,
                         f"{median(('mvn', 'numpy'), 'gflops'):.1f} GFLOP/s", ""))
    for w, label in (("gmm-4-2", "gmm K=4 d=2 M=20000 fit+sample"), ("gmm-8-16", "gmm K=8 d=16 M=20000 fit+sample"),
                     ("kde", "kde log-density 10^4 x 10^4, d=8")):
        if (w, "swift") not in results:
            continue
        ours = median((w, "swift"), "seconds")
        peer = median((w, "scikit-learn"), "seconds") if (w, "scikit-learn") in results else float("nan")
        extra = ""
        if "iterations" in results[(w, "swift")][0]:
            it_ours = results[(w, "swift")][0]["iterations"]
            it_peer = results[(w, "scikit-learn")][0]["iterations"] if (w, "scikit-learn") in results else "?"
            extra = f" (EM iterations {it_ours} vs {it_peer})"
        rows.append((label, "collapse", ours, "", f"scikit-learn/ours = {peer / ours:.2f}x{extra}"))
        rows.append((label, "scikit-learn", peer, "", ""))
    if ("study", "swift") in results:
        ours = median(("study", "swift"), "seconds")
        peer = median(("study", "numpy"), "seconds")
        rows.append(("gaussian study R=1000 G=200 M=100 (collapse run, 2 threads)", "collapse", ours, "",
                     f"numpy/ours = {peer / ours:.2f}x"))
        rows.append(("gaussian study R=1000 G=200 M=100", "numpy, vectorised across replicates", peer, "", ""))
    for r in rows:
        print(f"| {r[0]} | {r[1]} | {r[2]:.4f} | {r[3]} | {r[4]} |")


if __name__ == "__main__":
    main()

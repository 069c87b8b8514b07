"""Runs our side and its Python peer alternately, several rounds, and prints medians and ratios.

Called by Scripts/bench/run after the release build and the venv exist. Two kinds of workload:

- CLI workloads (issue 7): `collapse run Scripts/bench/configs/<workload>.yaml --out TMP --force
  --quiet` (all cores, the default) against `peer.py <workload>` (the same work in numpy /
  scikit-learn / scipy, writing the same CSV files). Ours is timed as the whole process (wall
  clock); the peer reports the time of its work without the Python imports. Peak RSS of both comes
  from wait4 (ru_maxrss) in a small launcher process. The peer runs with single-threaded BLAS; for the BLAS-heavy mvn-d256 and
  gmm-k8-d16 it also runs with threaded BLAS every round and the faster run counts.
- micro-workloads (normal, gemm, syrk, mvn, gmm-small, gmm-large, kde): `collapse-bench <w>`
  against `peer.py <w>`, both single-threaded, each reporting its own best-of-N time.

Per workload we keep the median over rounds; ratio = peer time / ours (> 1: we are faster).
"""
import argparse
import datetime
import json
import os
import platform
import re
import shlex
import shutil
import statistics
import subprocess
import sys
import tempfile
import time

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
BENCH = os.path.join(ROOT, "Scripts", "bench")
CORES = os.cpu_count() or 1

# CLI workload -> (target ratio peer/ours from issue 7, or None; whether the peer also tries threaded BLAS)
CLI_WORKLOADS = {
    "gaussian-m1000": (4, False),
    "gaussian-m100": (4, False),
    "mvn-d64": (3, False),
    "mvn-d256": (2.5, True),
    "gmm-k4-d2": (10, False),
    "gmm-k8-d16": (5, True),
    "kde-d1": (10, False),
    "kde-d8": (10, False),
    "regression": (2, False),
    "zipf": (4, False),
    "study": (None, False),  # configs/gaussian-study.yaml
}
# The same workloads with `sampling.shortcut: sufficient-statistics` (configs/<base>-ss.yaml): an
# explicit, exact-in-distribution option (docs/CONFIG.md), run against the same row-by-row peer and
# reported in rows of their own, never in place of the row-by-row ones.
SHORTCUT_BASES = ["gaussian-m1000", "gaussian-m100", "mvn-d64", "mvn-d256", "study"]
CLI_WORKLOADS |= {f"{b}-ss": CLI_WORKLOADS[b] for b in SHORTCUT_BASES}
CLI_CONFIG = {w: f"{w}.yaml" for w in CLI_WORKLOADS} | {"study": "gaussian-study.yaml", "study-ss": "gaussian-study-ss.yaml"}
# The peer of a workload: its base workload's (the peers never take the shortcut).
PEER = {w: w.removesuffix("-ss") for w in CLI_WORKLOADS}
MICRO_WORKLOADS = ["normal", "gemm", "syrk", "mvn", "gmm-small", "gmm-large", "kde"]
DEFAULT_WORKLOADS = ["normal", "gemm"] + [w for w in CLI_WORKLOADS if PEER[w] != "study"]


def busy_cpu_seconds():
    """CPU time all processes of the machine have used since boot (/proc/stat), in seconds."""
    with open("/proc/stat") as f:
        fields = [int(x) for x in f.readline().split()[1:]]
    user, nice, system, idle, iowait, irq, softirq, steal = (fields + [0] * 8)[:8]
    return (user + nice + system + irq + softirq + steal) / os.sysconf("SC_CLK_TCK")


OTHER_CPU = []  # per measured process: CPU used meanwhile by everything else, in cores (see run_measured)


# Runs the measured command and reports its wall time, peak RSS and CPU time. A separate small
# process is needed: Linux gives a child the peak RSS of the address space it replaced at exec
# (with vfork / posix_spawn, the parent's own), so a child spawned directly by this script would
# report at least this script's peak RSS (hundreds of MB once --check has read a large CSV).
LAUNCHER = r"""
import os, sys, time
report, cmd = sys.argv[1], sys.argv[2:]
t0 = time.perf_counter()
pid = os.fork()
if pid == 0:
    try:
        os.execvp(cmd[0], cmd)
    finally:
        os._exit(127)
_, status, usage = os.wait4(pid, 0)
seconds = time.perf_counter() - t0
with open(report, "w") as f:
    f.write(f"{seconds!r} {usage.ru_maxrss} {usage.ru_utime + usage.ru_stime!r}")
sys.exit(os.waitstatus_to_exitcode(status))
"""


def run_measured(cmd, env):
    """Runs cmd to completion; returns (wall seconds, peak RSS in MB, stdout). Fails loudly.
    Also records in OTHER_CPU how busy the rest of the machine was meanwhile: the machine's CPU
    time minus the command's, per wall second — the load that distorts timings, unlike the load
    average, which counts our own runs too."""
    with tempfile.TemporaryFile(mode="w+") as err, tempfile.NamedTemporaryFile(mode="r") as report:
        busy0, t0 = busy_cpu_seconds(), time.perf_counter()
        proc = subprocess.Popen([sys.executable, "-S", "-c", LAUNCHER, report.name] + cmd, env=env, cwd=ROOT,
                                stdout=subprocess.PIPE, stderr=err, text=True)
        out = proc.stdout.read()
        _, status, usage = os.wait4(proc.pid, 0)  # the launcher's CPU time includes the command's
        busy = busy_cpu_seconds() - busy0 - (usage.ru_utime + usage.ru_stime)
        elapsed = time.perf_counter() - t0
        proc.returncode = os.waitstatus_to_exitcode(status)
        proc.stdout.close()
        if proc.returncode != 0:
            err.seek(0)
            raise SystemExit(f"{shlex.join(cmd)} failed with status {proc.returncode}:\n{err.read()}")
        seconds, maxrss, _ = report.read().split()
    seconds = float(seconds)
    OTHER_CPU.append(max(busy, 0) / elapsed)  # /proc/stat counts in 10 ms ticks: coarse for short runs
    return seconds, int(maxrss) / 1024, out  # ru_maxrss is in KiB on Linux


def json_lines(text):
    return [json.loads(line) for line in text.splitlines() if line.startswith("{")]


def blas_env(threads):
    return dict(os.environ, OMP_NUM_THREADS=str(threads), OPENBLAS_NUM_THREADS=str(threads))


def config_numbers(workload):
    """samples, generations and the real dimension of a CLI workload's config (flat keys, a line match)."""
    with open(os.path.join(BENCH, "configs", CLI_CONFIG[workload])) as f:
        text = f.read()
    number = lambda key: int(re.search(rf"^{key}:\s*(\d+)", text, re.M).group(1))
    dim = re.search(r"\bdim:\s*(\d+)", text)
    return {"samples": number("samples"), "generations": number("generations"), "dim": int(dim.group(1)) if dim else 1}


def mvn_flops(workload):
    """BLAS flops of a replace chain of the mvn model: G + 1 fits, each a covariance by syrk
    (M d (d + 1)), and G samples, each z L^T by trmm/gemm (M d^2)."""
    c = config_numbers(workload)
    m, d, g = c["samples"], c["dim"], c["generations"]
    return (g + 1) * m * d * (d + 1) + g * m * d * d


def run_cli_round(workload, args, ours_first, keep):
    """One round of a CLI workload: ours and the peer (both BLAS settings where asked), in the given order.
    Returns (ours row, peer row, output dirs kept for --check or None)."""
    config = os.path.join(BENCH, "configs", CLI_CONFIG[workload])
    ours_dir = tempfile.mkdtemp(prefix=f"collapse-bench-{workload}-ours-")
    peer_dir = tempfile.mkdtemp(prefix=f"collapse-bench-{workload}-peer-")

    def ours():
        seconds, rss, _ = run_measured([args.collapse, "run", config, "--out", ours_dir, "--force", "--quiet"],
                                       dict(os.environ))
        return {"seconds": seconds, "rss_mb": rss, "other_cpu": OTHER_CPU[-1]}

    def peer():
        tries = [1, CORES] if CLI_WORKLOADS[workload][1] and CORES > 1 else [1]
        best = None
        for threads in tries:
            # The study peer predates --out (it writes into its own temporary directory): one repeat.
            extra = ["--repeats", "1"] if PEER[workload] == "study" else ["--out", peer_dir]
            _, rss, out = run_measured([sys.executable, os.path.join(BENCH, "peer.py"), PEER[workload]] + extra, blas_env(threads))
            row = json_lines(out)[-1] | {"rss_mb": rss, "blas_threads": threads, "other_cpu": OTHER_CPU[-1]}
            if best is None or row["seconds"] < best["seconds"]:
                best = row
        return best

    try:
        if ours_first:
            o = ours()
            p = peer()
        else:
            p = peer()
            o = ours()
    except BaseException:
        keep = False
        raise
    finally:
        if not keep:
            shutil.rmtree(ours_dir)
            shutil.rmtree(peer_dir)
    return o, p, (ours_dir, peer_dir) if keep else None


def run_micro_round(workload, args):
    env = blas_env(1)
    _, _, ours = run_measured([args.binary, workload], env)
    _, _, peer = run_measured([sys.executable, os.path.join(BENCH, "peer.py"), workload], env)
    return json_lines(ours) + json_lines(peer)


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
    return f"{model}, {CORES} cores, {platform.system()} {platform.release()}"


def median(rows, field):
    return statistics.median(r[field] for r in rows)


def check_rows(workload, dirs):
    """Generation 0 and the last generation of both runs' metrics.csv (sanity.py's comparison)."""
    from sanity import compare_frames, read_generations

    ours = read_generations(dirs[0])
    return compare_frames(workload, ours, read_generations(dirs[1], sorted(ours["generation"].unique())))


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--workloads", default=",".join(DEFAULT_WORKLOADS),
                        help="comma-separated; CLI: " + ",".join(CLI_WORKLOADS) + "; micro: " + ",".join(MICRO_WORKLOADS))
    parser.add_argument("--binary", default=os.path.join(ROOT, ".build", "release", "collapse-bench"))
    parser.add_argument("--collapse", default=os.path.join(ROOT, ".build", "release", "collapse"))
    parser.add_argument("--json", help="also write every raw measurement to this file")
    parser.add_argument("--check", action="store_true",
                        help="compare generation 0 and the last generation of both summary.csv files (last round)")
    args = parser.parse_args()

    workloads = args.workloads.split(",")
    unknown = [w for w in workloads if w not in CLI_WORKLOADS and w not in MICRO_WORKLOADS]
    if unknown:
        parser.error(f"unknown workloads {unknown}")
    if "mvn-d256" in workloads and "gemm" not in workloads:
        workloads.insert(0, "gemm")  # the dgemm peak its GFLOP/s are compared with

    results = {}
    checks = []
    for workload in workloads:
        load_before = os.getloadavg()[0]
        other_start = len(OTHER_CPU)
        entry = {"rounds": []}
        for i in range(args.rounds):
            if workload in CLI_WORKLOADS:
                keep = args.check and i == args.rounds - 1
                o, p, dirs = run_cli_round(workload, args, ours_first=i % 2 == 0, keep=keep)
                entry["rounds"].append({"ours": o, "peer": p})
                if dirs:
                    if PEER[workload] != "study":
                        checks += check_rows(workload, dirs)
                    for d in dirs:
                        shutil.rmtree(d)
            else:
                entry["rounds"].append(run_micro_round(workload, args))
        entry["load_before"], entry["load_after"] = load_before, os.getloadavg()[0]
        entry["other_cpu_max"] = max(OTHER_CPU[other_start:])
        results[workload] = entry
        print(f"# done {workload} (load {load_before:.2f} -> {entry['load_after']:.2f})", file=sys.stderr, flush=True)

    if args.json:
        with open(args.json, "w") as f:
            json.dump({"date": datetime.datetime.now().isoformat(timespec="seconds"), "machine": machine(),
                       "command": shlex.join(sys.argv), "rounds": args.rounds, "cores": CORES, "results": results,
                       "checks": checks}, f, indent=1)

    print(f"# model-collapse benchmarks, {datetime.datetime.now().isoformat(sep=' ', timespec='minutes')}")
    print(f"# machine: {machine()}")
    print(f"# command: {shlex.join([os.path.relpath(sys.executable, ROOT)] + sys.argv)}")
    print(f"# {args.rounds} alternating rounds, medians; ratio = peer time / ours (> 1: ours is faster)")
    print("# load: the 1-minute load average before/after each workload counts the suite's own runs too (ours uses "
          "every core); 'other CPU' is what the rest of the machine used during the measured runs (max, in cores)")
    busy = [w for w, e in results.items() if max(e["load_before"], e["load_after"]) > 0.5 * CORES]
    if busy:
        print(f"# WARNING: 1-minute load average above {0.5 * CORES:g} (half the cores) around {', '.join(busy)}")
    noisy = [f"{w} ({e['other_cpu_max']:.2f})" for w, e in results.items() if e["other_cpu_max"] > 0.1]
    if noisy:
        print(f"# WARNING: other processes used CPU during {', '.join(noisy)} cores: those timings are noisy")

    peak = None
    if "gemm" in results:
        rows = [r for rnd in results["gemm"]["rounds"] for r in rnd if r["impl"] == "swift-direct-cblas"]
        peak = median(rows, "gflops") if rows else None

    cli = [w for w in workloads if w in CLI_WORKLOADS]
    if cli:
        print()
        print("Ours: `collapse run <config> --quiet` (all cores), wall time of the process. Peer: its work without imports.")
        print()
        print("| workload | ours median (s) | peer median (s) | ratio | target | | ours peak RSS (MB) | peer peak RSS (MB) | RSS ours <= peer | load 1-min before/after | other CPU | notes |")
        print("|---|---|---|---|---|---|---|---|---|---|---|---|")
        for w in cli:
            e = results[w]
            ours_rows = [r["ours"] for r in e["rounds"]]
            peer_rows = [r["peer"] for r in e["rounds"]]
            t_ours, t_peer = median(ours_rows, "seconds"), median(peer_rows, "seconds")
            rss_ours, rss_peer = max(r["rss_mb"] for r in ours_rows), max(r["rss_mb"] for r in peer_rows)
            ratio = t_peer / t_ours
            target = CLI_WORKLOADS[w][0]
            verdict = "" if target is None else ("met" if ratio >= target else "missed")
            notes = []
            if "compute_seconds" in peer_rows[0]:
                notes.append(f"peer compute {median(peer_rows, 'compute_seconds'):.2f} s + CSV {median(peer_rows, 'write_seconds'):.2f} s")
            if CLI_WORKLOADS[w][1]:
                threads = [r["blas_threads"] for r in peer_rows]
                notes.append("peer faster with BLAS threads " + "/".join(str(t) for t in threads) + " (per round)")
            if "em_iterations" in peer_rows[0]:
                its = peer_rows[0]["em_iterations"]
                notes.append(f"peer EM iterations mean {statistics.mean(its):.1f} (min {min(its)}, max {max(its)})")
            if w.endswith("-ss"):
                notes.append("ours with sampling.shortcut sufficient-statistics (exact in distribution, no rows)")
            if w == "mvn-d256":
                flops = mvn_flops(w)
                g_ours, g_peer = flops / t_ours * 1e-9, flops / t_peer * 1e-9
                text = f"BLAS flops {flops / 1e9:.1f} G: ours {g_ours:.1f} GFLOP/s, peer {g_peer:.1f} GFLOP/s"
                if peak:
                    text += (f"; dgemm peak (n=1000, 1 thread, this run) {peak:.1f} GFLOP/s per core: ours "
                             f"{g_ours / peak:.0%} of 1 core ({g_ours / (peak * CORES):.0%} of {CORES}), "
                             f"peer {g_peer / peak:.0%} of 1 core")
                notes.append(text)
            target_text = "" if target is None else f">= {target:g}x"
            print(f"| {w} | {t_ours:.3f} | {t_peer:.3f} | {ratio:.2f}x | {target_text} | {verdict} | {rss_ours:.0f} | "
                  f"{rss_peer:.0f} | {'yes' if rss_ours <= rss_peer else 'no'} | {e['load_before']:.2f}/{e['load_after']:.2f} | "
                  f"{e['other_cpu_max']:.2f} | {'; '.join(notes)} |")

    micro = [w for w in workloads if w in MICRO_WORKLOADS]
    if micro:
        print_micro({w: results[w] for w in micro})

    if checks:
        from sanity import print_rows

        print()
        print("Sanity (last round's outputs): per-chain metric values of generation 0 and the last generation, "
              "ours against the peer's (with one chain per side only a glance; Scripts/bench/sanity.py runs more).")
        print()
        print_rows(checks)


def print_micro(results):
    """The collapse-bench micro-workload table (single-threaded BLAS)."""
    by_key = {}
    for e in results.values():
        for rnd in e["rounds"]:
            for row in rnd:
                by_key.setdefault((row["workload"], row["impl"]), []).append(row)

    def med(key, field):
        return median(by_key[key], field)

    print()
    print("Micro-workloads: collapse-bench against peer.py, BLAS single-threaded (OPENBLAS_NUM_THREADS=1), each side's best of its repeats; "
          "the mvn generation runs ours as `collapse run` runs one chain (both cores, single-threaded BLAS in each part) "
          "against numpy on one thread, and measures its bounds on every core.")
    print()
    print("| workload | implementation | median time (s) | rate | ratio |")
    print("|---|---|---|---|---|")
    rows = []
    if ("normal", "swift") in by_key:
        ours, peer = med(("normal", "swift"), "seconds"), med(("normal", "numpy"), "seconds")
        rows.append(("normal (10^7 draws)", "collapse StandardNormal.fill", ours, f"{med(('normal', 'swift'), 'ns_per_draw'):.2f} ns/draw", f"numpy/ours = {peer / ours:.2f}x"))
        rows.append(("normal (10^7 draws)", "numpy Generator.standard_normal", peer, f"{med(('normal', 'numpy'), 'ns_per_draw'):.2f} ns/draw", ""))
    for w, label in (("gemm", "dgemm n=1000"), ("syrk", "dsyrk 4000x1000"), ("covariance", "covariance 4000x1000")):
        for impl in sorted(i for (wl, i) in by_key if wl == w):
            t = med((w, impl), "seconds")
            ratio = ""
            if impl == "swift-wrapper" and (w, "swift-direct-cblas") in by_key:
                ratio = f"wrapper/direct = {t / med((w, 'swift-direct-cblas'), 'seconds'):.3f}"
            elif impl == "swift" and (w, "numpy") in by_key:
                ratio = f"numpy/ours = {med((w, 'numpy'), 'seconds') / t:.2f}x"
            rows.append((label, impl, t, f"{med((w, impl), 'gflops'):.1f} GFLOP/s", ratio))
    if ("mvn", "swift") in by_key:
        ours = med(("mvn", "swift"), "seconds")
        peer = med(("mvn", "numpy"), "seconds") if ("mvn", "numpy") in by_key else float("nan")
        m = lambda field: med(("mvn", "swift"), field)
        # Ours runs as `collapse run` runs one chain (both cores); the bounds are this machine's
        # BLAS rates on every core (and, last, on one), measured in the same process.
        rows.append(("mvn d=256 M=25600 fit+sample", "collapse MultivariateGaussianModel (both cores)", ours,
                     f"{m('gflops'):.1f} GFLOP/s (all cores: dgemm {m('dgemm_gflops'):.1f}, dsyrk {m('dsyrk_gflops'):.1f}; "
                     f"one core: dgemm {m('dgemm_gflops_one_core'):.1f})",
                     f"numpy/ours = {peer / ours:.2f}x; of the bound: {m('fraction_of_bound_per_operation'):.2f} "
                     f"(each operation at its rate), {m('fraction_of_bound'):.2f} (every flop at dgemm's); "
                     f"one core's dgemm time / ours = {m('one_core_dgemm_time_over_ours'):.2f}"))
        if ("mvn", "numpy") in by_key:
            rows.append(("mvn d=256 M=25600 fit+sample", "numpy (cov, cholesky, z @ L.T; one thread)", peer,
                         f"{med(('mvn', 'numpy'), 'gflops'):.1f} GFLOP/s", ""))
    for w, label in (("gmm-4-2", "gmm K=4 d=2 M=20000 fit+sample"), ("gmm-8-16", "gmm K=8 d=16 M=20000 fit+sample"),
                     ("kde", "kde log-density 10^4 x 10^4, d=8")):
        if (w, "swift") not in by_key:
            continue
        ours = med((w, "swift"), "seconds")
        peer = med((w, "scikit-learn"), "seconds") if (w, "scikit-learn") in by_key else float("nan")
        extra = ""
        if "iterations" in by_key[(w, "swift")][0]:
            it_ours = by_key[(w, "swift")][0]["iterations"]
            it_peer = by_key[(w, "scikit-learn")][0]["iterations"] if (w, "scikit-learn") in by_key else "?"
            extra = f" (EM iterations {it_ours} vs {it_peer})"
        rows.append((label, "collapse", ours, "", f"scikit-learn/ours = {peer / ours:.2f}x{extra}"))
        rows.append((label, "scikit-learn", peer, "", ""))
    for r in rows:
        print(f"| {r[0]} | {r[1]} | {r[2]:.4f} | {r[3]} | {r[4]} |")


if __name__ == "__main__":
    main()

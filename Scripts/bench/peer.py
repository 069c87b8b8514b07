"""numpy peers of the collapse-bench workloads: the same work, written the way a researcher would.

Usage: python peer.py normal|gemm|syrk|mvn|gmm-small|gmm-large|kde [--repeats N]. Prints one JSON object per line, like
collapse-bench. Run with OMP_NUM_THREADS=1 OPENBLAS_NUM_THREADS=1 (Scripts/bench/run does).
"""
import argparse
import json
import os
import tempfile
import time

import numpy as np


def best(repeats, fn):
    times = []
    for _ in range(repeats):
        t0 = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t0)
    return min(times)


def emit(**fields):
    print(json.dumps(fields, sort_keys=True))


def normal(repeats):
    n = 10_000_000
    rng = np.random.Generator(np.random.PCG64(1))
    out = np.empty(n)
    t = best(repeats, lambda: rng.standard_normal(n, out=out))
    emit(workload="normal", impl="numpy", seconds=t, count=n, ns_per_draw=t / n * 1e9, checksum=float(out.sum()))


def gemm(repeats):
    n = 1000
    rng = np.random.Generator(np.random.PCG64(2))
    a = rng.standard_normal((n, n))
    b = rng.standard_normal((n, n))
    c = np.empty((n, n))
    t = best(repeats, lambda: np.matmul(a, b, out=c))
    emit(workload="gemm", impl="numpy", seconds=t, gflops=2 * n**3 / t * 1e-9, n=n)


def syrk(repeats):
    rows, d = 4000, 1000
    rng = np.random.Generator(np.random.PCG64(3))
    a = rng.standard_normal((rows, d))
    flops = rows * d * (d + 1)
    t = best(repeats, lambda: a.T @ a)  # numpy recognises the transpose pair and calls syrk
    emit(workload="syrk", impl="numpy", seconds=t, gflops=flops / t * 1e-9, rows=rows, d=d)
    tc = best(repeats, lambda: np.cov(a, rowvar=False))
    emit(workload="covariance", impl="numpy", seconds=tc, gflops=flops / tc * 1e-9, rows=rows, d=d)


def mvn(repeats):
    d, m = 256, 25_600
    rng = np.random.Generator(np.random.PCG64(4))
    data = rng.standard_normal((m, d))

    def generation():
        mu = data.mean(axis=0)
        centred = data - mu
        cov = centred.T @ centred / m
        chol = np.linalg.cholesky(cov)
        return rng.standard_normal((m, d)) @ chol.T + mu

    t = best(repeats, generation)
    flops = m * d * (d + 1) + m * d * d
    emit(workload="mvn", impl="numpy", seconds=t, gflops=flops / t * 1e-9, d=d, m=m)


def bench_file(name):
    return os.path.join(os.environ.get("COLLAPSE_BENCH_DIR", tempfile.gettempdir()), f"collapse-bench-{name}.f64")


def gmm(k, d, m, repeats):
    from sklearn.mixture import GaussianMixture

    name = f"gmm-{k}-{d}-{m}"
    x = np.fromfile(bench_file(name + "-data")).reshape(m, d)
    means = np.fromfile(bench_file(name + "-means")).reshape(k, d)
    iterations = []

    def generation():
        g = GaussianMixture(n_components=k, covariance_type="full", tol=1e-3, max_iter=100, reg_covar=1e-6,
                            weights_init=np.full(k, 1 / k), means_init=means,
                            precisions_init=np.stack([np.eye(d)] * k), random_state=0)
        g.fit(x)
        iterations.append(int(g.n_iter_))
        g.sample(m)

    t = best(repeats, generation)
    emit(workload=f"gmm-{k}-{d}", impl="scikit-learn", seconds=t, iterations=iterations[-1], k=k, d=d, m=m)


def kde(repeats):
    from sklearn.neighbors import KernelDensity

    n, d = 10_000, 8
    train = np.fromfile(bench_file("kde-train")).reshape(n, d)
    queries = np.fromfile(bench_file("kde-queries")).reshape(n, d)
    model = KernelDensity(kernel="gaussian", bandwidth=0.5).fit(train)
    t = best(repeats, lambda: model.score_samples(queries))
    emit(workload="kde", impl="scikit-learn", seconds=t, n=n, d=d)


def study(repeats):
    """The gaussian-study config, vectorised across replicates the way a researcher would write it."""

    out_dir = tempfile.mkdtemp(prefix="collapse-bench-study-")
    R, G, M, H = 1000, 200, 100, 1000

    def run():
        rng = np.random.default_rng(7)
        x = rng.standard_normal((R, M))
        holdout = rng.standard_normal((R, H))
        h1 = holdout.mean(axis=1)
        h2 = (holdout ** 2).mean(axis=1)
        variance = np.empty((G + 1, R))
        shift = np.empty((G + 1, R))
        nll = np.empty((G + 1, R))
        for g in range(G + 1):
            mu = x.mean(axis=1)
            var = x.var(axis=1)
            variance[g] = var
            shift[g] = np.abs(mu)
            # mean of -log N(h; mu, var) over the holdout, from its first two moments
            nll[g] = 0.5 * np.log(2 * np.pi * var) + (h2 - 2 * mu * h1 + mu ** 2) / (2 * var)
            if g < G:
                x = mu[:, None] + np.sqrt(var)[:, None] * rng.standard_normal((R, M))
        reps = np.tile(np.arange(R), G + 1)
        gens = np.repeat(np.arange(G + 1), R)
        with open(os.path.join(out_dir, "metrics.csv"), "w") as f:
            f.write("variant,replicate,generation,metric,value\n")
            for name, values in (("variance", variance), ("mean_shift", shift), ("nll_real", nll)):
                block = np.column_stack([np.zeros(R * (G + 1)), reps, gens, values.ravel()])
                np.savetxt(f, block, fmt=["%d", "%d", "%d", "%.17g"], delimiter=",")
        with open(os.path.join(out_dir, "summary.csv"), "w") as f:
            f.write("generation,metric,n,mean,std,median,q05,q95\n")
            for name, values in (("variance", variance), ("mean_shift", shift), ("nll_real", nll)):
                q = np.quantile(values, [0.5, 0.05, 0.95], axis=1)
                for g in range(G + 1):
                    f.write(f"{g},{name},{R},{values[g].mean()!r},{values[g].std(ddof=1)!r},{q[0][g]!r},{q[1][g]!r},{q[2][g]!r}\n")

    t = best(repeats, run)
    emit(workload="study", impl="numpy", seconds=t, replicates=R, generations=G, samples=M)


if __name__ == "__main__":
    parser = argparse.ArgumentParser()
    parser.add_argument("workload", help="normal, gemm, syrk, mvn, gmm-small, gmm-large, gmm-K-D-M, kde, study")
    parser.add_argument("--repeats", type=int, default=5)
    args = parser.parse_args()
    if args.workload.startswith("gmm-") and args.workload.count("-") == 3:
        k, d, m = (int(x) for x in args.workload.split("-")[1:])
        gmm(k, d, m, args.repeats)
        raise SystemExit(0)
    {"normal": normal, "gemm": gemm, "syrk": syrk, "mvn": mvn,
     "gmm-small": lambda r: gmm(4, 2, 20_000, r), "gmm-large": lambda r: gmm(8, 16, 20_000, r), "kde": kde, "study": study}[args.workload](args.repeats)

"""Python peers of the benchmark workloads: the same work, written the way a researcher would.

Usage: python peer.py WORKLOAD [--repeats N] [--out DIR]. Prints one JSON object per line, like
collapse-bench. Run with OMP_NUM_THREADS=1 OPENBLAS_NUM_THREADS=1 (Scripts/bench/compare.py does,
except where it also tries the peer with threaded BLAS).

Two kinds of workload:
- micro-workloads (normal, gemm, syrk, mvn, gmm-small, gmm-large, kde) peer `collapse-bench`;
- CLI workloads (study, gaussian-m1000, gaussian-m100, mvn-d64, mvn-d256, gmm-k4-d2, gmm-k8-d16,
  kde-d1, kde-d8, regression, zipf) peer `collapse run Scripts/bench/configs/<workload>.yaml`:
  the same sizes, replicates, generations and regime, generation 0 drawn from the same real
  distribution (with numpy's own generator: the numbers differ, the work does not), a refit and a
  sample every generation, the config's metrics at every generation, and the same two files the
  CLI writes — a tidy metrics.csv and a summary.csv over replicates — in --out DIR (default: a
  temporary directory, removed afterwards). The time covers all of that, not the imports.
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


# ---------------------------------------------------------------------------------------------
# CLI workloads: one peer per Scripts/bench/configs/<workload>.yaml.

CONFIGS = os.path.join(os.path.dirname(os.path.abspath(__file__)), "configs")
SEED = 7  # the configs' seed (numpy's stream, not ours); --seed changes it, e.g. for more chains in sanity checks


def check_config(workload, **expected):
    """Asserts that the config's top-level scalars (replicates, generations, samples) are the sizes
    this peer hard-codes, so that the two sides cannot drift apart. The configs keep those keys on
    lines of their own, so a line match is enough (no YAML parser in the venv)."""
    with open(os.path.join(CONFIGS, f"{workload}.yaml")) as f:
        found = dict(line.split(":", 1) for line in f if line[:1].isalpha() and ":" in line)
    for key, value in expected.items():
        assert int(found[key].strip()) == value, f"{workload}.yaml has {key}: {found[key].strip()}, the peer {value}"


def write_outputs(out_dir, values, sweep=None):
    """Writes what `collapse run` writes for the metrics (docs/OUTPUTS.md):
    - metrics.csv: variant[,swept key],replicate,generation,metric,value, ordered by variant,
      replicate, generation, metric;
    - summary.csv: per variant, generation and metric over replicates: n, mean, std (divisor
      n - 1), median, q05, q95 (numpy's linear quantiles), nan left out.
    `values` maps a metric name to an array (variants, replicates, generations + 1), in the
    config's metric order; `sweep` is (column name, [value of each variant]) or None."""
    import pandas as pd

    names = list(values)
    stacked = np.stack([values[n] for n in names], axis=-1)  # (variant, replicate, generation, metric)
    v, r, g, k = stacked.shape
    variant = np.repeat(np.arange(v), r * g * k)
    table = {"variant": variant}
    if sweep is not None:
        table[sweep[0]] = pd.Categorical.from_codes(variant, sweep[1])
    table["replicate"] = np.tile(np.repeat(np.arange(r), g * k), v)
    table["generation"] = np.tile(np.repeat(np.arange(g), k), v * r)
    table["metric"] = pd.Categorical.from_codes(np.tile(np.arange(k), v * r * g), names)
    table["value"] = stacked.ravel()
    frame = pd.DataFrame(table)
    frame.to_csv(os.path.join(out_dir, "metrics.csv"), index=False, na_rep="nan")

    keys = list(frame.columns[:-3].drop("replicate")) + ["generation", "metric"]
    grouped = frame.groupby(keys, observed=True, sort=False)["value"]
    summary = grouped.agg(n="count", mean="mean", std="std", median="median")
    summary["q05"] = grouped.quantile(0.05)
    summary["q95"] = grouped.quantile(0.95)
    summary.reset_index().to_csv(os.path.join(out_dir, "summary.csv"), index=False, na_rep="nan")


def run_cli_peer(workload, out, chains, impl="numpy", **fields):
    """Times `chains()` (returns ({metric: (variants, replicates, generations + 1)}, sweep or None,
    extra JSON fields)) plus writing its outputs, and prints the JSON line."""
    import shutil

    import pandas  # noqa: F401 -- loaded before the clock starts, like the peers' other libraries

    out_dir = out or tempfile.mkdtemp(prefix=f"collapse-peer-{workload}-")
    os.makedirs(out_dir, exist_ok=True)
    t0 = time.perf_counter()
    values, sweep, extra = chains()
    t1 = time.perf_counter()
    write_outputs(out_dir, values, sweep)
    t2 = time.perf_counter()
    if out is None:
        shutil.rmtree(out_dir)
    emit(workload=workload, impl=impl, seconds=t2 - t0, compute_seconds=t1 - t0, write_seconds=t2 - t1,
         out=out, **fields, **extra)


def gaussian_replace(workload, replicates, generations, samples, out):
    """1-D Gaussian, MLE refits, replace; all replicates advance together, one row of x per chain."""
    R, G, M = replicates, generations, samples
    check_config(workload, replicates=R, generations=G, samples=M)

    def chains():
        rng = np.random.default_rng(SEED)
        x = rng.standard_normal((R, M))  # reality N(0, 1)
        variance = np.empty((R, G + 1))
        shift = np.empty((R, G + 1))
        for g in range(G + 1):
            mu = x.mean(axis=1)
            var = x.var(axis=1)  # MLE (divisor M)
            variance[:, g] = var
            shift[:, g] = np.abs(mu)  # |mu_g - mu_real|
            if g < G:  # M samples from N(mu, var), written over the old training set
                rng.standard_normal(out=x)
                x *= np.sqrt(var)[:, None]
                x += mu[:, None]
        return {"variance": variance[None], "mean_shift": shift[None]}, None, {}

    run_cli_peer(workload, out, chains, replicates=R, generations=G, samples=M)


def gaussian_m1000(out):
    gaussian_replace("gaussian-m1000", 200, 1000, 1000, out)


def gaussian_m100(out):
    gaussian_replace("gaussian-m100", 2000, 1000, 100, out)


def mvn_replace(workload, d, generations, samples, out):
    """d-dim normal (reality N(0, I_d)), MLE mean and covariance, Cholesky sampling, replace; one chain."""
    G, M = generations, samples
    check_config(workload, replicates=1, generations=G, samples=M)

    def chains():
        rng = np.random.default_rng(SEED)
        x = rng.standard_normal((M, d))
        trace_ratio = np.empty(G + 1)
        for g in range(G + 1):
            mu = x.mean(axis=0)
            centred = x - mu
            cov = centred.T @ centred / M  # numpy calls syrk for the transpose pair
            trace_ratio[g] = np.trace(cov) / d  # tr(Sigma_g) / tr(I_d)
            if g < G:
                try:
                    root = np.linalg.cholesky(cov)
                except np.linalg.LinAlgError:  # collapsed directions: a symmetric root of the PSD part
                    eigenvalues, vectors = np.linalg.eigh(cov)
                    root = vectors * np.sqrt(np.clip(eigenvalues, 0, None))
                x = rng.standard_normal((M, d)) @ root.T + mu
        return {"trace_ratio": trace_ratio[None, None]}, None, {}

    run_cli_peer(workload, out, chains, d=d, generations=G, samples=M)


def mvn_d64(out):
    mvn_replace("mvn-d64", 64, 1000, 640, out)


def mvn_d256(out):
    mvn_replace("mvn-d256", 256, 20, 25_600, out)


def mixture_trace(weights, means, covariances):
    """tr of a mixture's covariance: sum_k w_k (tr Sigma_k + |mu_k|^2) - |mu|^2, mu = sum_k w_k mu_k."""
    mean = weights @ means
    return float(weights @ (np.trace(covariances, axis1=1, axis2=2) + (means ** 2).sum(axis=1)) - mean @ mean)


def gmm_replace(workload, weights, means, covariances, generations, samples, out):
    """Gaussian mixture refitted by scikit-learn's EM with our settings (K = the real number of
    components, full covariances, tolerance 1e-3, 100 iterations, one k-means++ start, reg 1e-6),
    sampled with GaussianMixture.sample, replace; one chain."""
    import warnings
    from sklearn.exceptions import ConvergenceWarning
    from sklearn.mixture import GaussianMixture

    G, M = generations, samples
    weights, means, covariances = np.asarray(weights, float), np.asarray(means, float), np.asarray(covariances, float)
    K = len(weights)
    check_config(workload, replicates=1, generations=G, samples=M)
    warnings.simplefilter("ignore", ConvergenceWarning)

    def chains():
        rng = np.random.default_rng(SEED)
        counts = rng.multinomial(M, weights)  # reality: the config's mixture
        x = np.concatenate([rng.multivariate_normal(means[k], covariances[k], size=counts[k]) for k in range(K)])
        real_trace = mixture_trace(weights, means, covariances)
        state = np.random.RandomState(SEED)  # scikit-learn draws its k-means++ starts and samples from it
        trace_ratio = np.empty(G + 1)
        iterations = []
        for g in range(G + 1):
            model = GaussianMixture(n_components=K, covariance_type="full", tol=1e-3, max_iter=100, n_init=1,
                                    init_params="k-means++", reg_covar=1e-6, random_state=state).fit(x)
            iterations.append(int(model.n_iter_))
            trace_ratio[g] = mixture_trace(model.weights_, model.means_, model.covariances_) / real_trace
            if g < G:
                x, _ = model.sample(M)
        return {"trace_ratio": trace_ratio[None, None]}, None, {"em_iterations": iterations}

    run_cli_peer(workload, out, chains, impl="scikit-learn", k=K, d=means.shape[1], generations=G, samples=M)


def gmm_k4_d2(out):
    gmm_replace("gmm-k4-d2", [0.4, 0.3, 0.2, 0.1], [[0, 0], [4, 0], [0, 4], [4, 4]],
                [[[1, 0.3], [0.3, 1]], [[0.5, 0], [0, 0.5]], [[1, -0.2], [-0.2, 0.6]], [[0.3, 0], [0, 0.3]]],
                50, 20_000, out)


def gmm_k8_d16(out):
    d = 16
    corners = np.zeros((8, d))
    for k in range(8):  # the corners of a cube of side 4 in the first three coordinates, k's bits = (x, y, z)
        corners[k, :3] = [4 * (k & 1), 4 * (k >> 1 & 1), 4 * (k >> 2 & 1)]
    gmm_replace("gmm-k8-d16", np.full(8, 1 / 8), corners, np.stack([np.eye(d)] * 8), 10, 20_000, out)


def kde_replace(workload, d, generations, samples, holdout, out):
    """Gaussian KDE with Scott's rule (scipy.stats.gaussian_kde, H = n^(-2/(d+4)) S like ours),
    nll_real = -mean logpdf of the chain's real holdout rows, resample(M), replace; one chain."""
    from scipy.stats import gaussian_kde

    G, M = generations, samples
    check_config(workload, replicates=1, generations=G, samples=M)

    def chains():
        rng = np.random.default_rng(SEED)
        x = rng.standard_normal((d, M))  # reality N(0, I_d); scipy's layout: one column per row
        held = rng.standard_normal((d, holdout))
        nll = np.empty(G + 1)
        for g in range(G + 1):
            kde = gaussian_kde(x)  # bw_method="scott"
            nll[g] = -kde.logpdf(held).mean()
            if g < G:
                x = kde.resample(M, seed=rng)
        return {"nll_real": nll[None, None]}, None, {}

    run_cli_peer(workload, out, chains, impl="scipy", d=d, generations=G, samples=M, holdout=holdout)


def kde_d1(out):
    kde_replace("kde-d1", 1, 50, 20_000, 200, out)


def kde_d8(out):
    kde_replace("kde-d8", 8, 20, 20_000, 200, out)


def regression(out):
    """Linear regression with a fixed design and known noise (std 1), replace and accumulate.

    Every chain draws its own design X (T x d, rows N(0, I)) and real labels y = X w + e, and
    factorises X once (QR): least squares is then one product with P = R^-1 Q^T = (X^T X)^-1 X^T
    per refit. Each generation regenerates labels X b_hat + e for the same design. replace fits
    the newest labels; accumulate fits all generations' (X, y) stacked, whose least-squares solution
    is P times the mean of the label vectors. param_error = |b_hat - w|^2."""
    from scipy.linalg import solve_triangular

    R, G, T = 100, 200, 1000
    w = np.tile([0.25, -0.5, 0.75, -1.0, 1.25, -0.25, 0.5, -0.75, 1.0, -1.25], 10)
    d = len(w)
    regimes = ["replace", "accumulate"]
    check_config("regression", replicates=R, generations=G, samples=T)

    def chains():
        rng = np.random.default_rng(SEED)
        error = np.empty((len(regimes), R, G + 1))
        for v, regime in enumerate(regimes):
            for r in range(R):
                x = rng.standard_normal((T, d))
                y = x @ w + rng.standard_normal(T)
                q, upper = np.linalg.qr(x)
                solver = solve_triangular(upper, q.T)  # d x T
                target, total = y, y.copy()
                for g in range(G + 1):
                    b = solver @ target
                    error[v, r, g] = np.sum((b - w) ** 2)
                    if g < G:
                        y = x @ b + rng.standard_normal(T)
                        if regime == "replace":
                            target = y
                        else:  # g + 2 label vectors: the real one and one from each model 0..g
                            total += y
                            target = total / (g + 2)
        return {"param_error": error}, ("regime.kind", regimes), {}

    run_cli_peer("regression", out, chains, replicates=R, generations=G, samples=T, d=d)


def zipf(out):
    """Categorical model over V symbols refitted by counting (p = counts / M, no smoothing) and
    sampled with numpy's multinomial, all replicates in one call; reality Zipf(1.1)."""
    from scipy.special import entr

    V, M, G, R, s = 100_000, 100_000, 100, 10, 1.1
    check_config("zipf", replicates=R, generations=G, samples=M)

    def chains():
        rng = np.random.default_rng(SEED)
        p = np.arange(1, V + 1) ** -s
        p /= p.sum()
        counts = rng.multinomial(M, p, size=R)  # (R, V): the real training sets
        support = np.empty((R, G + 1))
        entropy = np.empty((R, G + 1))
        for g in range(G + 1):
            q = counts / M
            support[:, g] = np.count_nonzero(counts, axis=1)
            entropy[:, g] = entr(q).sum(axis=1)  # -sum q log q, nats
            if g < G:
                counts = rng.multinomial(M, q)  # one draw per row of q
        return {"support_size": support[None], "entropy": entropy[None]}, None, {}

    run_cli_peer("zipf", out, chains, replicates=R, generations=G, samples=M, vocabulary=V)


CLI_PEERS = {"gaussian-m1000": gaussian_m1000, "gaussian-m100": gaussian_m100, "mvn-d64": mvn_d64,
             "mvn-d256": mvn_d256, "gmm-k4-d2": gmm_k4_d2, "gmm-k8-d16": gmm_k8_d16, "kde-d1": kde_d1,
             "kde-d8": kde_d8, "regression": regression, "zipf": zipf}


if __name__ == "__main__":
    parser = argparse.ArgumentParser()
    parser.add_argument("workload", help="normal, gemm, syrk, mvn, gmm-small, gmm-large, gmm-K-D-M, kde, study, "
                                         + ", ".join(CLI_PEERS))
    parser.add_argument("--repeats", type=int, default=5, help="micro-workloads: best of N")
    parser.add_argument("--out", help="CLI workloads: keep metrics.csv and summary.csv in this directory")
    parser.add_argument("--seed", type=int, default=SEED, help="CLI workloads: numpy's seed (default: the config's, 7)")
    args = parser.parse_args()
    SEED = args.seed
    if args.workload in CLI_PEERS:
        CLI_PEERS[args.workload](args.out)
        raise SystemExit(0)
    if args.workload.startswith("gmm-") and args.workload.count("-") == 3:
        k, d, m = (int(x) for x in args.workload.split("-")[1:])
        gmm(k, d, m, args.repeats)
        raise SystemExit(0)
    {"normal": normal, "gemm": gemm, "syrk": syrk, "mvn": mvn,
     "gmm-small": lambda r: gmm(4, 2, 20_000, r), "gmm-large": lambda r: gmm(8, 16, 20_000, r), "kde": kde, "study": study}[args.workload](args.repeats)

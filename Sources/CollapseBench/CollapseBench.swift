import COpenBLAS
import CollapseCore
import CollapseModels
import Foundation

/// `collapse-bench WORKLOAD [--repeats N]`: one timed workload per process, printed as one JSON
/// object per line on stdout, for `Scripts/bench/run` to interleave with the numpy peer.
///
/// Workloads:
/// - `normal`: 10^7 standard normals into one buffer (`StandardNormal.fill`), single thread.
/// - `gemm`: C = A B for n = 1000 through `Matrix.gemm` and through a direct `cblas_dgemm`.
/// - `syrk`: AᵀA for a 4000 × 1000 A through `Matrix.gram` and a direct `cblas_dsyrk`, plus
///   the full centred `covariance()` (centring + syrk).
/// - `mvn` (`mvn-D-M` for other sizes): one generation of the `mvn` model at d = 256, M = 25600: fit (mean + covariance by
///   dsyrk) and sample M rows (Cholesky colouring by dtrmm), run the way `collapse run` runs a
///   single chain (single-threaded BLAS, the model's fixed splits on every core), timed against
///   the bounds set by this machine's BLAS rates at the same shapes, measured in the same process
///   on every core (OpenBLAS threads = cores) and on one: dgemm (M x d)(d x d), dsyrk of M x d.
/// Each timing is the best of `--repeats` runs inside the process (default 5); except where
/// stated, BLAS runs with the thread count in `OPENBLAS_NUM_THREADS`.
@main
struct CollapseBench {
    static func main() {
        ProcessTuning.keepLargeAllocationsInHeap()
        var args = Array(CommandLine.arguments.dropFirst())
        var repeats = 5
        if let i = args.firstIndex(of: "--repeats"), i + 1 < args.count, let r = Int(args[i + 1]) {
            repeats = r
            args.removeSubrange(i...(i + 1))
        }
        guard let workload = args.first else {
            FileHandle.standardError.write("usage: collapse-bench normal|words|gemm|syrk|mvn|gmm-small|gmm-large|kde [--repeats N]\n".data(using: .utf8)!)
            exit(2)
        }
        switch workload {
        case "normal": normal(repeats: repeats)
        case "words": words(repeats: repeats)
        case "mvn": mvn(d: 256, m: 25_600, repeats: repeats)
        case "gmm-small": gmm(k: 4, d: 2, m: 20_000, repeats: repeats)
        case "gmm-large": gmm(k: 8, d: 16, m: 20_000, repeats: repeats)
        case "kde": kde(repeats: repeats)
        case "gemm": gemm(repeats: repeats)
        case "syrk": syrk(repeats: repeats)
        case let w where w.hasPrefix("gmm-") && w.split(separator: "-").count == 4:
            // gmm-K-D-M: one EM fit + sample at any size, e.g. gmm-4-16-1000.
            let p = w.split(separator: "-").dropFirst().compactMap { Int($0) }
            guard p.count == 3 else { fallthrough }
            gmm(k: p[0], d: p[1], m: p[2], repeats: repeats)
        case let w where w.hasPrefix("mvn-") && w.split(separator: "-").count == 3:
            // mvn-D-M: one fit + sample at any size, e.g. mvn-64-640.
            let p = w.split(separator: "-").dropFirst().compactMap { Int($0) }
            guard p.count == 2 else { fallthrough }
            mvn(d: p[0], m: p[1], repeats: repeats)
        default:
            FileHandle.standardError.write("collapse-bench: unknown workload '\(workload)' (normal, words, gemm, syrk, mvn, gmm-small, gmm-large, kde)\n".data(using: .utf8)!)
            exit(2)
        }
    }

    static func seconds(_ body: () -> Void) -> Double {
        let start = DispatchTime.now().uptimeNanoseconds
        body()
        return Double(DispatchTime.now().uptimeNanoseconds - start) * 1e-9
    }

    static func best(_ repeats: Int, _ body: () -> Void) -> Double {
        (0..<repeats).map { _ in seconds(body) }.min()!
    }

    static func emit(_ fields: [String: Any]) {
        let data = try! JSONSerialization.data(withJSONObject: fields, options: [.sortedKeys])
        print(String(data: data, encoding: .utf8)!)
    }

    static func normal(repeats: Int) {
        let n = 10_000_000
        var buffer = [Double](repeating: 0, count: n)
        var rng = Philox4x32(seed: 1, path: [1])
        let t = best(repeats) { buffer.withUnsafeMutableBufferPointer { StandardNormal.fill($0, using: &rng) } }
        // Keep the result observable so the work cannot be optimised away.
        let checksum = buffer.reduce(0, +)
        // The same draws into a buffer that stays in cache (2^15 values, 256 KB), as the samplers'
        // row blocks do: the bulk figure above also pays for writing 80 MB to memory.
        let small = 1 << 15, refills = n / small
        var cached = [Double](repeating: 0, count: small)
        let tCached = best(repeats) {
            cached.withUnsafeMutableBufferPointer { buffer in
                for _ in 0..<refills { StandardNormal.fill(buffer, using: &rng) }
            }
        }
        emit(["workload": "normal", "impl": "swift", "seconds": t, "count": n, "ns_per_draw": t / Double(n) * 1e9,
              "ns_per_draw_in_cache": tCached / Double(refills * small) * 1e9, "checksum": checksum + cached[0]])
    }

    /// Raw Philox4x32 output in bulk: the floor under every sampler.
    static func words(repeats: Int) {
        let n = 10_000_000
        var buffer = [UInt64](repeating: 0, count: n)
        var rng = Philox4x32(seed: 1, path: [1])
        let t = best(repeats) { buffer.withUnsafeMutableBufferPointer { rng.fill($0) } }
        emit(["workload": "words", "impl": "swift", "seconds": t, "count": n, "ns_per_word": t / Double(n) * 1e9,
              "checksum": buffer.reduce(0, ^)])
    }

    static func mvn(d: Int, m: Int, repeats: Int) {
        let data = randomMatrix(m, d, path: 4)
        let model = MultivariateGaussianModel()
        var rng = Philox4x32(seed: 5, path: [5])
        var checksum = 0.0
        // The work: dsyrk for the covariance (M d (d+1) flops) and dtrmm for the colouring (M d²);
        // O(M d) work aside (means, centring, normals).
        let syrkFlops = Double(m) * Double(d) * Double(d + 1), colourFlops = Double(m) * Double(d) * Double(d)
        // This machine's BLAS rates at these shapes: dgemm (M x d)(d x d) and dsyrk (M x d)ᵀ(M x d),
        // on one core and on every core.
        let a = randomMatrix(m, d, path: 6), b = randomMatrix(d, d, path: 7)
        var c = Matrix(rows: m, columns: d)
        func rates(threads: Int) -> (gemm: Double, syrk: Double) {
            BLAS.setThreadCount(threads)
            let gemm = best(repeats) { Matrix.gemm(a, .none, b, .none, into: &c) }
            let syrk = best(repeats) { checksum += a.gram().storage[0] }
            return (2 * colourFlops / gemm, syrkFlops / syrk)
        }
        let cores = ProcessInfo.processInfo.activeProcessorCount
        let one = rates(threads: 1), all = rates(threads: cores)
        // Ours as `collapse run` runs one chain: single-threaded BLAS with OpenBLAS's idle workers
        // stopped (after a threaded call they spin for ~0.1 s, taking a core from the splits),
        // the fixed splits of the covariance and of the sample on every core.
        BLAS.useOneThread()
        let tCov = best(repeats) { checksum += data.covariance(ddof: 0).covariance.storage[0] }
        let fitted = try! model.fit(data, using: &rng)
        let tSample = best(repeats) { checksum += fitted.sample(count: m, options: .plain, using: &rng).storage[0] }
        var z = Matrix(rows: m, columns: d)
        let tNormals = best(repeats) { z.storage.withUnsafeMutableBufferPointer { StandardNormal.fill($0, using: &rng) } }
        let chol = try! Cholesky(fitted.covariance)
        let tColour = best(repeats) { chol.colourRows(&z) }
        let tCholesky = best(repeats) { checksum += try! Cholesky(fitted.covariance).lower.storage[0] }
        let tGram = best(repeats) { checksum += data.gram().storage[0] }
        emit(["workload": "mvn-parts", "impl": "swift", "covariance": tCov, "gram": tGram, "sample": tSample, "normals": tNormals, "trmm": tColour,
              "cholesky": tCholesky, "d": d, "m": m])
        let t = best(repeats) {
            let fit = try! model.fit(data, using: &rng)
            checksum += fit.sample(count: m, options: .plain, using: &rng).storage[0]
        }
        // Bounds: every flop at the dgemm rate (the strictest: dsyrk and dtrmm run below it), and
        // each operation at its own measured rate (dsyrk's for the covariance, dgemm's for the
        // colouring, which is faster than dtrmm's).
        let strict = (syrkFlops + colourFlops) / all.gemm, perOperation = syrkFlops / all.syrk + colourFlops / all.gemm
        let strictOneCore = (syrkFlops + colourFlops) / one.gemm
        emit(["workload": "mvn", "impl": "swift", "seconds": t, "gflops": (syrkFlops + colourFlops) / t * 1e-9, "d": d, "m": m,
              "cores": cores, "dgemm_gflops": all.gemm * 1e-9, "dsyrk_gflops": all.syrk * 1e-9,
              "dgemm_gflops_one_core": one.gemm * 1e-9, "dsyrk_gflops_one_core": one.syrk * 1e-9,
              "bound_seconds": strict, "fraction_of_bound": strict / t,
              "bound_seconds_per_operation": perOperation, "fraction_of_bound_per_operation": perOperation / t,
              "one_core_dgemm_time_over_ours": strictOneCore / t, "checksum": checksum])
    }

    /// Where the Swift side leaves data for the numpy/scikit-learn peer (raw little-endian float64).
    static func benchFile(_ name: String) -> URL {
        let dir = ProcessInfo.processInfo.environment["COLLAPSE_BENCH_DIR"] ?? NSTemporaryDirectory()
        return URL(fileURLWithPath: dir).appendingPathComponent("collapse-bench-\(name).f64")
    }

    static func save(_ m: Matrix, _ name: String) {
        let data = m.storage.withUnsafeBufferPointer { Data(buffer: $0) }
        try! data.write(to: benchFile(name))
    }

    /// One EM fit + sample of M rows from a fixed start (means = K data rows, identity
    /// covariances, equal weights), exactly what the scikit-learn peer does from the same files.
    static func gmm(k: Int, d: Int, m: Int, repeats: Int) {
        var rng = Philox4x32(seed: 8, path: [UInt32(k), UInt32(d)])
        // A mixture of K well-separated unit-variance clusters.
        var centres = Matrix(rows: k, columns: d) { StandardNormal.fill($0, using: &rng) }
        centres.scale(by: 4)
        let labels = (0..<m).map { $0 % k }
        var x = Matrix(rows: m, columns: d) { StandardNormal.fill($0, using: &rng) }
        for i in 0..<m { for j in 0..<d { x[i, j] += centres[labels[i], j] } }
        let start = x.selectingRows(Array(0..<k)) // one row of each cluster (labels are i mod K)
        let name = "gmm-\(k)-\(d)-\(m)"
        save(x, name + "-data")
        save(start, name + "-means")
        let model = GaussianMixtureModel(components: k, nInit: 1, tolerance: 1e-3, maxIterations: 100, regularization: 1e-6)
        let initial = GaussianMixtureParameters(weights: [Double](repeating: 1 / Double(k), count: k), means: start,
                                                covariances: [Matrix](repeating: .identity(d), count: k))
        var iterations = 0, checksum = 0.0
        let t = best(repeats) {
            let fit = try! model.fit(x, startingFrom: initial)
            iterations = fit.iterations
            let sample = fit.sample(count: m, options: .plain, using: &rng)
            checksum += sample.storage[0]
        }
        emit(["workload": "gmm-\(k)-\(d)", "impl": "swift", "seconds": t, "iterations": iterations, "k": k, "d": d, "m": m,
              "checksum": checksum])
    }

    /// Log-densities of 10^4 queries under a KDE of 10^4 rows in d = 8, fixed bandwidth 0.5
    /// (kernel h² I, as scikit-learn's KernelDensity(bandwidth=0.5)).
    static func kde(repeats: Int) {
        let n = 10_000, d = 8
        let train = randomMatrix(n, d, path: 9), queries = randomMatrix(n, d, path: 10)
        save(train, "kde-train")
        save(queries, "kde-queries")
        var rng = Philox4x32(seed: 9, path: [9])
        let fit = try! KernelDensityModel(bandwidth: .fixed(0.5)).fit(train, using: &rng)
        var checksum = 0.0
        let t = best(repeats) { checksum += fit.logDensities(queries).reduce(0, +) }
        emit(["workload": "kde", "impl": "swift", "seconds": t, "n": n, "d": d, "checksum": checksum])
    }

    static func randomMatrix(_ rows: Int, _ columns: Int, path: UInt32) -> Matrix {
        var rng = Philox4x32(seed: 2, path: [path])
        var m = Matrix(rows: rows, columns: columns)
        m.storage.withUnsafeMutableBufferPointer { StandardNormal.fill($0, using: &rng) }
        return m
    }

    static func gemm(repeats: Int) {
        let n = 1000
        let a = randomMatrix(n, n, path: 1), b = randomMatrix(n, n, path: 2)
        var c = Matrix(rows: n, columns: n)
        let flops = 2.0 * Double(n) * Double(n) * Double(n)
        let wrapped = best(repeats) { Matrix.gemm(a, .none, b, .none, into: &c) }
        var raw = [Double](repeating: 0, count: n * n)
        let direct = best(repeats) {
            a.storage.withUnsafeBufferPointer { pa in
                b.storage.withUnsafeBufferPointer { pb in
                    raw.withUnsafeMutableBufferPointer { pc in
                        cblas_dgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, Int32(n), Int32(n), Int32(n), 1,
                                    pa.baseAddress, Int32(n), pb.baseAddress, Int32(n), 0, pc.baseAddress, Int32(n))
                    }
                }
            }
        }
        precondition(raw == c.storage, "wrapper and direct dgemm disagree")
        emit(["workload": "gemm", "impl": "swift-wrapper", "seconds": wrapped, "gflops": flops / wrapped * 1e-9, "n": n,
              "blas_threads": BLAS.threadCount])
        emit(["workload": "gemm", "impl": "swift-direct-cblas", "seconds": direct, "gflops": flops / direct * 1e-9, "n": n,
              "blas_threads": BLAS.threadCount])
    }

    static func syrk(repeats: Int) {
        let rows = 4000, d = 1000
        let a = randomMatrix(rows, d, path: 3)
        let flops = Double(rows) * Double(d) * Double(d + 1)
        var g = Matrix(rows: 0, columns: 0)
        let wrapped = best(repeats) { g = a.gram() }
        var raw = [Double](repeating: 0, count: d * d)
        let direct = best(repeats) {
            a.storage.withUnsafeBufferPointer { pa in
                raw.withUnsafeMutableBufferPointer { pc in
                    cblas_dsyrk(CblasRowMajor, CblasLower, CblasTrans, Int32(d), Int32(rows), 1, pa.baseAddress, Int32(d), 0,
                                pc.baseAddress, Int32(d))
                }
            }
        }
        for i in 0..<d { for j in 0...i { precondition(raw[i * d + j] == g.storage[i * d + j], "wrapper and direct dsyrk disagree") } }
        var cov = Matrix(rows: 0, columns: 0)
        let covariance = best(repeats) { cov = a.covariance(ddof: 1).covariance }
        precondition(cov.rows == d)
        emit(["workload": "syrk", "impl": "swift-wrapper", "seconds": wrapped, "gflops": flops / wrapped * 1e-9, "rows": rows, "d": d,
              "blas_threads": BLAS.threadCount])
        emit(["workload": "syrk", "impl": "swift-direct-cblas", "seconds": direct, "gflops": flops / direct * 1e-9, "rows": rows, "d": d,
              "blas_threads": BLAS.threadCount])
        emit(["workload": "covariance", "impl": "swift", "seconds": covariance, "gflops": flops / covariance * 1e-9, "rows": rows, "d": d,
              "blas_threads": BLAS.threadCount])
    }
}

import COpenBLAS
#if canImport(Glibc)
import Glibc
#endif

// Every CBLAS call of the toolkit lives in this file (LAPACKE calls live in LAPACK.swift).
// Wrappers check shapes with preconditions that print both shapes, return early on empty shapes
// (where BLAS would reject a leading dimension of 0), and never copy operands: row-major storage
// is handed to CBLAS as is.

/// Whether an operand of a product is used as stored or transposed.
public enum Transpose: Sendable {
    case none
    case transpose

    @usableFromInline var cblas: CBLAS_TRANSPOSE { self == .none ? CblasNoTrans : CblasTrans }
}

/// The BLAS library in use and its thread pool.
public enum BLAS {
    /// Sets the number of threads OpenBLAS may use inside one call (`openblas_set_num_threads`).
    ///
    /// The experiment runner keeps BLAS single-threaded inside replicate chains and parallelises
    /// over chains instead; one large model may use BLAS threads.
    ///
    /// A call that changes nothing returns at once: OpenBLAS (0.3.21) restarts a stopped thread
    /// pool inside every `openblas_set_num_threads`, whatever the count, and the restarted idle
    /// workers spin (see `useOneThread`).
    public static func setThreadCount(_ n: Int) {
        precondition(n >= 1, "BLAS thread count must be at least 1, got \(n)")
        if threadCount == n { return }
        openblas_set_num_threads(Int32(clamping: n))
    }

    /// Whether OpenBLAS's worker-thread pool is running (`blas_server_avail`), or `nil` when the
    /// library has none (a serial build). Diagnostics and tests.
    public static var threadPoolRunning: Bool? {
        guard let symbol = dlsym(UnsafeMutableRawPointer(bitPattern: 0), "blas_server_avail") else { return nil }
        return symbol.assumingMemoryBound(to: Int32.self).pointee != 0
    }

    /// One thread inside every BLAS call, and OpenBLAS's idle worker threads stopped.
    ///
    /// The pthreads build starts its workers when the library loads; idle, each spins on
    /// `sched_yield` for about 10⁸ cycles before it sleeps, which in a short run takes a core from
    /// the replicate chains. `blas_thread_shutdown_` (looked up at run time: OpenBLAS's serial
    /// build has no thread pool) joins them; `openblas_set_num_threads` starts them again (with
    /// any count, hence `setThreadCount` skips calls that change nothing). Call it only while no
    /// other thread is inside BLAS (the `collapse` command does, before a run starts): stopping
    /// the pool under a multi-threaded call can hang it.
    public static func useOneThread() {
        setThreadCount(1)
        typealias Shutdown = @convention(c) () -> Int32
        if let symbol = dlsym(UnsafeMutableRawPointer(bitPattern: 0), "blas_thread_shutdown_") {
            _ = unsafeBitCast(symbol, to: Shutdown.self)()
        }
    }

    /// The number of threads OpenBLAS currently uses.
    public static var threadCount: Int { Int(openblas_get_num_threads()) }

    /// OpenBLAS's build configuration, e.g. `OpenBLAS 0.3.21 DYNAMIC_ARCH NO_AFFINITY Haswell MAX_THREADS=64`.
    public static var configuration: String {
        guard let c = openblas_get_config() else { return "unknown" }
        return String(cString: c).trimmingCharacters(in: " ")
    }

    /// The CPU kernel OpenBLAS selected at run time, e.g. `Haswell`.
    public static var coreName: String {
        guard let c = openblas_get_corename() else { return "unknown" }
        return String(cString: c)
    }

    /// `"OpenBLAS"` and its version parsed from `configuration` (`nil` when not stated).
    public static var vendor: (name: String, version: String?) {
        let parts = configuration.split(separator: " ")
        let version = parts.count > 1 && parts[0] == "OpenBLAS" ? String(parts[1]) : nil
        return ("OpenBLAS", version)
    }
}

extension String {
    fileprivate func trimmingCharacters(in set: Character) -> String {
        var s = Substring(self)
        while s.first == set { s = s.dropFirst() }
        while s.last == set { s = s.dropLast() }
        return String(s)
    }
}

extension Matrix {
    /// General matrix product `C <- alpha op(A) op(B) + beta C` (BLAS dgemm), in place.
    ///
    /// - Precondition: `op(A)` is m × k, `op(B)` is k × n and `C` is m × n.
    /// - Complexity: 2 m n k flops.
    public static func gemm(_ a: Matrix, _ transA: Transpose = .none, _ b: Matrix, _ transB: Transpose = .none,
                            alpha: Double = 1, beta: Double = 0, into c: inout Matrix) {
        let (m, k) = transA == .none ? (a.rows, a.columns) : (a.columns, a.rows)
        let (kb, n) = transB == .none ? (b.rows, b.columns) : (b.columns, b.rows)
        precondition(k == kb, "gemm inner dimensions differ: op(A) is \(m) x \(k), op(B) is \(kb) x \(n) (A \(a.shapeDescription), B \(b.shapeDescription))")
        precondition(c.rows == m && c.columns == n, "gemm output must be \(m) x \(n), got \(c.shapeDescription)")
        if m == 0 || n == 0 { return }
        if k == 0 {
            if beta == 0 { c.storage.withUnsafeMutableBufferPointer { $0.update(repeating: 0) } } else { c.scale(by: beta) }
            return
        }
        a.storage.withUnsafeBufferPointer { pa in
            b.storage.withUnsafeBufferPointer { pb in
                c.storage.withUnsafeMutableBufferPointer { pc in
                    cblas_dgemm(CblasRowMajor, transA.cblas, transB.cblas, Int32(m), Int32(n), Int32(k),
                                alpha, pa.baseAddress, Int32(max(a.columns, 1)), pb.baseAddress, Int32(max(b.columns, 1)),
                                beta, pc.baseAddress, Int32(max(n, 1)))
                }
            }
        }
    }

    /// The product `alpha op(A) op(B)` as a new matrix (BLAS dgemm).
    public static func product(_ a: Matrix, _ transA: Transpose = .none, _ b: Matrix, _ transB: Transpose = .none,
                               alpha: Double = 1) -> Matrix {
        let m = transA == .none ? a.rows : a.columns
        let n = transB == .none ? b.columns : b.rows
        var c = Matrix(rows: m, columns: n)
        gemm(a, transA, b, transB, alpha: alpha, beta: 0, into: &c)
        return c
    }

    /// `A * B`.
    public static func * (a: Matrix, b: Matrix) -> Matrix { product(a, .none, b, .none) }

    /// Matrix–vector product `alpha op(A) x` (BLAS dgemv).
    ///
    /// - Precondition: `x.count` equals the column count of `op(A)`.
    public func multiplied(by x: [Double], transpose: Transpose = .none, alpha: Double = 1) -> [Double] {
        let (m, n) = transpose == .none ? (rows, columns) : (columns, rows)
        precondition(x.count == n, "gemv: op(A) is \(m) x \(n) but the vector has \(x.count) elements")
        var y = [Double](repeating: 0, count: m)
        if m == 0 || n == 0 { return y }
        storage.withUnsafeBufferPointer { pa in
            x.withUnsafeBufferPointer { px in
                y.withUnsafeMutableBufferPointer { py in
                    cblas_dgemv(CblasRowMajor, transpose.cblas, Int32(rows), Int32(columns), alpha,
                                pa.baseAddress, Int32(max(columns, 1)), px.baseAddress, 1, 0, py.baseAddress, 1)
                }
            }
        }
        return y
    }

    /// The Gram matrix `alpha Aᵀ A` (d × d for an n × d matrix), by BLAS dsyrk on the lower
    /// triangle, then mirrored so the result is exactly symmetric.
    ///
    /// - Complexity: n d² flops (half of the equivalent gemm).
    public func gram(alpha: Double = 1) -> Matrix {
        let n = rows, d = columns
        var c = Matrix(rows: d, columns: d)
        if d == 0 || n == 0 { return c }
        storage.withUnsafeBufferPointer { pa in
            c.storage.withUnsafeMutableBufferPointer { pc in
                // Row-major A (n × d) with Trans: C = alpha Aᵀ A.
                cblas_dsyrk(CblasRowMajor, CblasLower, CblasTrans, Int32(d), Int32(n), alpha,
                            pa.baseAddress, Int32(d), 0, pc.baseAddress, Int32(d))
            }
        }
        c.symmetrizeFromLower()
        return c
    }

    /// Copies the lower triangle onto the upper one.
    public mutating func symmetrizeFromLower() {
        precondition(isSquare, "symmetrizeFromLower needs a square matrix, got \(shapeDescription)")
        let n = rows
        storage.withUnsafeMutableBufferPointer { p in
            for i in 0..<n {
                for j in 0..<i { p[j * n + i] = p[i * n + j] }
            }
        }
    }

    /// Multiplies every element by `factor` (BLAS dscal).
    public mutating func scale(by factor: Double) {
        let count = storage.count
        if count == 0 { return }
        storage.withUnsafeMutableBufferPointer { p in cblas_dscal(Int32(count), factor, p.baseAddress, 1) }
    }

    /// `self <- self + alpha * other` (BLAS daxpy). - Precondition: equal shapes.
    public mutating func add(_ other: Matrix, scaledBy alpha: Double = 1) {
        precondition(rows == other.rows && columns == other.columns, "add needs equal shapes: \(shapeDescription) and \(other.shapeDescription)")
        let count = storage.count
        if count == 0 { return }
        other.storage.withUnsafeBufferPointer { px in
            storage.withUnsafeMutableBufferPointer { py in
                cblas_daxpy(Int32(count), alpha, px.baseAddress, 1, py.baseAddress, 1)
            }
        }
    }

    public static func + (a: Matrix, b: Matrix) -> Matrix { var c = a; c.add(b); return c }
    public static func - (a: Matrix, b: Matrix) -> Matrix { var c = a; c.add(b, scaledBy: -1); return c }
}

/// Triangle of a packed triangular factor.
enum Triangle { case lower, upper }

/// Raw triangular operations on row-major storage, used by `Cholesky` and `LeastSquares`.
enum TriangularBLAS {
    /// Solves `op(T) X = B` in place for X (n × nrhs, row-major), T n × n triangular row-major (dtrsm, left side).
    static func solveLeft(_ t: UnsafePointer<Double>, n: Int, triangle: Triangle, transpose: Transpose,
                          b: UnsafeMutablePointer<Double>, rhsCount: Int) {
        if n == 0 || rhsCount == 0 { return }
        cblas_dtrsm(CblasRowMajor, CblasLeft, triangle == .lower ? CblasLower : CblasUpper, transpose.cblas,
                    CblasNonUnit, Int32(n), Int32(rhsCount), 1, t, Int32(n), b, Int32(rhsCount))
    }

    /// Solves `X op(T) = B` in place for X (m × n, row-major): right-side dtrsm.
    static func solveRight(_ t: UnsafePointer<Double>, n: Int, triangle: Triangle, transpose: Transpose,
                           b: UnsafeMutablePointer<Double>, rowCount: Int) {
        if n == 0 || rowCount == 0 { return }
        cblas_dtrsm(CblasRowMajor, CblasRight, triangle == .lower ? CblasLower : CblasUpper, transpose.cblas,
                    CblasNonUnit, Int32(rowCount), Int32(n), 1, t, Int32(n), b, Int32(n))
    }

    /// `B <- B op(T)` in place, B m × n row-major (right-side dtrmm).
    static func multiplyRight(_ t: UnsafePointer<Double>, n: Int, triangle: Triangle, transpose: Transpose,
                              b: UnsafeMutablePointer<Double>, rowCount: Int) {
        if n == 0 || rowCount == 0 { return }
        cblas_dtrmm(CblasRowMajor, CblasRight, triangle == .lower ? CblasLower : CblasUpper, transpose.cblas,
                    CblasNonUnit, Int32(rowCount), Int32(n), 1, t, Int32(n), b, Int32(n))
    }

    /// Solves `op(T) x = b` in place for one vector (dtrsv).
    static func solveVector(_ t: UnsafePointer<Double>, n: Int, triangle: Triangle, transpose: Transpose,
                            x: UnsafeMutablePointer<Double>) {
        if n == 0 { return }
        cblas_dtrsv(CblasRowMajor, triangle == .lower ? CblasLower : CblasUpper, transpose.cblas, CblasNonUnit,
                    Int32(n), t, Int32(n), x, 1)
    }
}

/// Raw Gram accumulation for blocked algorithms (the covariance).
enum GramBLAS {
    /// `G <- G + Aᵀ A` on the lower triangle of the d × d row-major `g`, A rows × d row-major (dsyrk, beta 1).
    static func accumulate(_ a: UnsafePointer<Double>, rows: Int, columns d: Int, into g: UnsafeMutablePointer<Double>) {
        if rows == 0 || d == 0 { return }
        cblas_dsyrk(CblasRowMajor, CblasLower, CblasTrans, Int32(d), Int32(rows), 1, a, Int32(d), 1, g, Int32(d))
    }
}

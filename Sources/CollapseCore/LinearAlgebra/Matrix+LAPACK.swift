import CKernels
import COpenBLAS
import Foundation

// Every LAPACKE call of the toolkit lives in this file. Row-major storage is handed to LAPACK's
// column-major routines without copies wherever the algebra allows it: a symmetric matrix is its own
// transpose, a row-major lower triangle is a column-major upper one, and inv(Aᵀ) = inv(A)ᵀ.

/// The Cholesky factorisation `A = L Lᵀ` of a symmetric positive definite matrix (LAPACK dpotrf).
///
/// The factor is what sampling (`x = mu + L z`), Mahalanobis distances (`|L⁻¹(x - mu)|²`) and
/// Gaussian log-densities (`log det A = 2 sum log L_ii`) need.
public struct Cholesky: Sendable, Equatable {
    /// The lower-triangular factor L (zeros above the diagonal).
    public let lower: Matrix

    /// Factorises `a`, reading only its lower triangle.
    ///
    /// - Throws: `LinearAlgebraError.nonFinite` for NaN/inf entries in the lower triangle,
    ///   `.notPositiveDefinite` when a leading minor is not positive definite (a singular or
    ///   indefinite covariance: record it as a degenerate fit).
    /// - Complexity: n³/3 flops.
    public init(_ a: Matrix) throws(LinearAlgebraError) {
        precondition(a.isSquare, "Cholesky needs a square matrix, got \(a.shapeDescription)")
        let n = a.rows
        var l = a
        var finite = true
        for i in 0..<n {
            for j in 0...i where !a.storage[i * n + j].isFinite { finite = false }
        }
        if !finite { throw .nonFinite(operation: "Cholesky") }
        if n > 0 {
            // Row-major lower == column-major upper: dpotrf('U') on the raw storage.
            let info = l.storage.withUnsafeMutableBufferPointer { p in
                LAPACKE_dpotrf(LAPACK_COL_MAJOR, Int8(UInt8(ascii: "U")), Int32(n), p.baseAddress, Int32(n))
            }
            if info > 0 { throw .notPositiveDefinite(order: n, failingMinor: Int(info)) }
            if info < 0 { throw .lapackFailure(routine: "dpotrf", info: Int(info)) }
            l.storage.withUnsafeMutableBufferPointer { p in
                for i in 0..<n { for j in (i + 1)..<n { p[i * n + j] = 0 } }
            }
        }
        self.lower = l
    }

    /// Wraps an existing lower-triangular factor without refactorising (for fitted models that
    /// store their factor). - Precondition: square; the caller guarantees a positive diagonal.
    public init(uncheckedLower lower: Matrix) {
        precondition(lower.isSquare, "Cholesky factor must be square, got \(lower.shapeDescription)")
        self.lower = lower
    }

    /// The order n of the factorised matrix.
    public var order: Int { lower.rows }

    /// `log det A = 2 sum_i log L_ii`, finite for every successful factorisation.
    public var logDeterminant: Double {
        var s = 0.0
        for i in 0..<order { s += log(lower.storage[i * order + i]) }
        return 2 * s
    }

    /// `L Lᵀ`, the factorised matrix (up to rounding).
    public func reconstructed() -> Matrix { Matrix.product(lower, .none, lower, .transpose) }

    /// Solves `A x = b` by two triangular solves.
    public func solve(_ b: [Double]) -> [Double] {
        precondition(b.count == order, "Cholesky.solve: matrix is \(order) x \(order), vector has \(b.count) elements")
        var x = b
        lower.storage.withUnsafeBufferPointer { pl in
            x.withUnsafeMutableBufferPointer { px in
                TriangularBLAS.solveVector(pl.baseAddress!, n: order, triangle: .lower, transpose: .none, x: px.baseAddress!)
                TriangularBLAS.solveVector(pl.baseAddress!, n: order, triangle: .lower, transpose: .transpose, x: px.baseAddress!)
            }
        }
        return x
    }

    /// Solves `A X = B` for a matrix of right-hand sides (B is n × k).
    public func solve(_ b: Matrix) -> Matrix {
        precondition(b.rows == order, "Cholesky.solve: matrix is \(order) x \(order), right-hand side is \(b.shapeDescription)")
        if b.isEmpty || order == 0 { return b }
        var x = b
        lower.storage.withUnsafeBufferPointer { pl in
            x.storage.withUnsafeMutableBufferPointer { px in
                TriangularBLAS.solveLeft(pl.baseAddress!, n: order, triangle: .lower, transpose: .none, b: px.baseAddress!, rhsCount: b.columns)
                TriangularBLAS.solveLeft(pl.baseAddress!, n: order, triangle: .lower, transpose: .transpose, b: px.baseAddress!, rhsCount: b.columns)
            }
        }
        return x
    }

    /// Whitens rows in place: each row x becomes `L⁻¹ x` (i.e. `X <- X L⁻ᵀ`), so that
    /// `|row|²` is the squared Mahalanobis norm of the original row under A.
    public func whitenRows(_ x: inout Matrix) {
        precondition(x.columns == order, "whitenRows: factor has order \(order), rows have \(x.columns) columns")
        if x.isEmpty { return }
        let rows = x.rows
        lower.storage.withUnsafeBufferPointer { pl in
            x.storage.withUnsafeMutableBufferPointer { px in
                TriangularBLAS.solveRight(pl.baseAddress!, n: order, triangle: .lower, transpose: .transpose, b: px.baseAddress!, rowCount: rows)
            }
        }
    }

    /// Colours rows in place: each row z becomes `L z` (i.e. `Z <- Z Lᵀ`). Standard normal rows
    /// become N(0, A) rows.
    public func colourRows(_ z: inout Matrix) {
        precondition(z.columns == order, "colourRows: factor has order \(order), rows have \(z.columns) columns")
        z.storage.withUnsafeMutableBufferPointer { colourRows(in: $0) }
    }

    /// `colourRows` on rows stored in a buffer (row-major, `order` numbers a row), e.g. a block
    /// of a larger matrix being filled in place.
    /// - Precondition: `rows.count` is a multiple of `order`.
    public func colourRows(in rows: UnsafeMutableBufferPointer<Double>) {
        if rows.isEmpty { return }
        precondition(order > 0 && rows.count % order == 0, "colourRows: \(rows.count) numbers are not rows of \(order)")
        lower.storage.withUnsafeBufferPointer { pl in
            TriangularBLAS.multiplyRight(pl.baseAddress!, n: order, triangle: .lower, transpose: .transpose, b: rows.baseAddress!,
                                         rowCount: rows.count / order)
        }
    }

    /// `A⁻¹`, exactly symmetric (LAPACK dpotri, then mirrored).
    public func inverse() -> Matrix {
        let n = order
        var inv = lower
        if n == 0 { return inv }
        // Row-major lower factor == column-major upper factor U with A = Uᵀ U.
        let info = inv.storage.withUnsafeMutableBufferPointer { p in
            LAPACKE_dpotri(LAPACK_COL_MAJOR, Int8(UInt8(ascii: "U")), Int32(n), p.baseAddress, Int32(n))
        }
        precondition(info == 0, "dpotri failed with info \(info) on a factor that dpotrf accepted")
        inv.symmetrizeFromLower()
        return inv
    }
}

/// The rank-revealing Cholesky factorisation of a symmetric positive semi-definite matrix with
/// complete (diagonal) pivoting, `Pᵀ A P = L Lᵀ` (LAPACK dpstrf): at each step the largest
/// remaining diagonal entry is the pivot, and the factorisation stops at rank r when it is at most
/// `tolerance`. L is n × n lower triangular with its columns r ..< n zero.
///
/// `factor` = P L is then a square root of A to working precision (`F Fᵀ = A` up to the dropped
/// Schur complement, whose diagonal is at most `tolerance`, and rounding), of rank r: `mu + F z`
/// samples N(mu, A) on A's numerical range, spreading nothing into directions whose pivots were
/// cut. It costs n³/3 flops, like `Cholesky`, against about 9 n³ for a root from `SymmetricEigen`,
/// and colours rows by a triangular product (`colourRows(in:)`).
public struct PivotedCholesky: Sendable, Equatable {
    /// L, lower triangular, columns `rank ..< n` zero.
    public let lower: Matrix
    /// The pivot order: coordinate `permutation[k]` (0-based) was eliminated k-th, so row k of L
    /// is row `permutation[k]` of `factor`.
    public let permutation: [Int]
    /// r, the number of pivots above the tolerance.
    public let rank: Int
    /// `permutation` as the C kernel of `colourRows` takes it (made once, not per sample block).
    private let destinations: [Int64]

    /// Factorises `a`, reading only its lower triangle.
    ///
    /// - Parameter tolerance: pivots (remaining diagonal entries) at or below it end the
    ///   factorisation; must be >= 0 (LAPACK's own default, n ε max A_kk, is not used: callers
    ///   state theirs).
    /// - Throws: `LinearAlgebraError.nonFinite` for NaN/inf entries in the lower triangle,
    ///   `.lapackFailure` if dpstrf rejects its arguments.
    /// - Complexity: n³/3 flops at rank n.
    public init(_ a: Matrix, tolerance: Double) throws(LinearAlgebraError) {
        precondition(a.isSquare, "PivotedCholesky needs a square matrix, got \(a.shapeDescription)")
        precondition(tolerance >= 0, "PivotedCholesky tolerance must be >= 0, got \(tolerance)")
        let n = a.rows
        for i in 0..<n {
            for j in 0...i where !a.storage[i * n + j].isFinite { throw .nonFinite(operation: "PivotedCholesky") }
        }
        var l = a
        var pivots = [Int32](repeating: 0, count: n)
        var rank: Int32 = 0
        if n > 0 {
            // Row-major lower == column-major upper: dpstrf('U') gives Pᵀ A P = Uᵀ U on the raw
            // storage, and U read row-major is L = Uᵀ. info 1 only says the rank is below n.
            let info = l.storage.withUnsafeMutableBufferPointer { p in
                pivots.withUnsafeMutableBufferPointer { piv in
                    LAPACKE_dpstrf(LAPACK_COL_MAJOR, Int8(UInt8(ascii: "U")), Int32(n), p.baseAddress, Int32(n),
                                   piv.baseAddress, &rank, tolerance)
                }
            }
            if info < 0 { throw .lapackFailure(routine: "dpstrf", info: Int(info)) }
            // Above the diagonal: A's entries; columns rank ..< n: the unfinished Schur complement.
            let r = Int(rank)
            l.storage.withUnsafeMutableBufferPointer { p in
                for i in 0..<n { for j in min(i + 1, r)..<n { p[i * n + j] = 0 } }
            }
        }
        self.lower = l
        self.permutation = pivots.map { Int($0) - 1 }
        self.destinations = pivots.map { Int64($0) - 1 }
        self.rank = Int(rank)
    }

    /// The order n of the factorised matrix.
    public var order: Int { lower.rows }

    /// F = P L: row `permutation[k]` of F is row k of L, so `F Fᵀ = P L Lᵀ Pᵀ ≈ A`.
    public var factor: Matrix {
        var f = Matrix(rows: order, columns: order)
        for k in 0..<order { for j in 0..<order { f[permutation[k], j] = lower[k, j] } }
        return f
    }

    /// Colours rows in place: each row z becomes `F z = P (L z)` (i.e. `Z <- Z Lᵀ Pᵀ`: a
    /// triangular product, then each row's entries moved to their coordinates). Standard normal
    /// rows become N(0, A) rows; entries `rank ..< n` of z are multiplied by zero.
    /// - Precondition: `rows.count` is a multiple of `order`.
    public func colourRows(in rows: UnsafeMutableBufferPointer<Double>) {
        colour(rows, offset: nil, scale: 1)
    }

    /// `colourRows(in:)` with each row then scaled and shifted, `offset + scale F z`, in the same
    /// pass as the permutation: the bits of `colourRows(in:)` followed by
    /// `Matrix.addRowVector(offset, scalingRowsBy: scale, to:)`.
    /// - Precondition: `offset.count == order`; `rows.count` is a multiple of `order`.
    public func colourRows(in rows: UnsafeMutableBufferPointer<Double>, thenAdd offset: [Double], scalingRowsBy scale: Double) {
        precondition(offset.count == order, "colourRows: offset has \(offset.count) entries, factor has order \(order)")
        colour(rows, offset: offset, scale: scale)
    }

    private func colour(_ rows: UnsafeMutableBufferPointer<Double>, offset: [Double]?, scale: Double) {
        if rows.isEmpty { return }
        let n = order
        precondition(n > 0 && rows.count % n == 0, "colourRows: \(rows.count) numbers are not rows of \(n)")
        lower.storage.withUnsafeBufferPointer { pl in
            TriangularBLAS.multiplyRight(pl.baseAddress!, n: n, triangle: .lower, transpose: .transpose, b: rows.baseAddress!,
                                         rowCount: rows.count / n)
        }
        withUnsafeTemporaryAllocation(of: Double.self, capacity: n) { scratch in
            destinations.withUnsafeBufferPointer { to in
                if let offset {
                    offset.withUnsafeBufferPointer { o in
                        collapse_scatter_rows(rows.baseAddress!, rows.count / n, n, to.baseAddress!, o.baseAddress!, scale,
                                              scratch.baseAddress!)
                    }
                } else {
                    collapse_scatter_rows(rows.baseAddress!, rows.count / n, n, to.baseAddress!, nil, 1, scratch.baseAddress!)
                }
            }
        }
    }
}

/// The eigen-decomposition `A = V diag(λ) Vᵀ` of a symmetric matrix (LAPACK dsyevd,
/// divide and conquer), eigenvalues ascending, eigenvectors orthonormal columns of V.
public struct SymmetricEigen: Sendable, Equatable {
    /// Eigenvalues in ascending order.
    public let values: [Double]
    /// The orthonormal eigenvectors as the columns of an n × n matrix (column j belongs to `values[j]`).
    public let vectors: Matrix

    /// Decomposes `a`, reading only its lower triangle.
    ///
    /// - Parameter computeVectors: `false` computes eigenvalues only (then `vectors` is 0 × 0), about
    ///   three times faster.
    /// - Throws: `.nonFinite` for NaN/inf input, `.lapackFailure` if the algorithm fails to converge.
    /// - Complexity: about 9 n³ flops with vectors, 4/3 n³ without.
    public init(_ a: Matrix, computeVectors: Bool = true) throws(LinearAlgebraError) {
        precondition(a.isSquare, "SymmetricEigen needs a square matrix, got \(a.shapeDescription)")
        let n = a.rows
        for i in 0..<n {
            for j in 0...i where !a.storage[i * n + j].isFinite { throw .nonFinite(operation: "SymmetricEigen") }
        }
        if n == 0 {
            values = []
            vectors = Matrix(rows: 0, columns: 0)
            return
        }
        var work = a
        var w = [Double](repeating: 0, count: n)
        // Symmetric: row-major lower == column-major upper.
        let info = work.storage.withUnsafeMutableBufferPointer { p in
            w.withUnsafeMutableBufferPointer { pw in
                LAPACKE_dsyevd(LAPACK_COL_MAJOR, Int8(UInt8(ascii: computeVectors ? "V" : "N")), Int8(UInt8(ascii: "U")),
                               Int32(n), p.baseAddress, Int32(n), pw.baseAddress)
            }
        }
        if info != 0 { throw .lapackFailure(routine: "dsyevd", info: Int(info)) }
        values = w
        // Column-major eigenvector columns are the rows of the row-major storage: transpose.
        vectors = computeVectors ? work.transposed() : Matrix(rows: 0, columns: 0)
    }
}

/// Ordinary least squares `min_w |X w - y|²` by Householder QR of the design (LAPACK dgeqrf,
/// dormqr, then a triangular solve).
///
/// QR is used rather than Cholesky on the normal equations `XᵀX w = Xᵀy` because its error grows
/// with the condition number κ(X), not κ(X)²; the factorisation is kept, so refitting the same
/// design to new labels (the regression collapse loop regenerates labels every generation) costs
/// only `O(n d)` per right-hand side.
public struct LeastSquares: Sendable {
    /// Rows n of the design.
    public let rows: Int
    /// Columns d of the design.
    public let columns: Int
    // Column-major QR factors as dgeqrf leaves them (R in the upper triangle, reflectors below).
    let factors: [Double]
    let tau: [Double]
    /// The thin n × d orthonormal factor Q, column-major, once `formExplicitQ()` has run.
    private(set) var q: [Double]?

    /// Factorises the n × d design `x`.
    ///
    /// - Throws: `.nonFinite` for NaN/inf entries; `.rankDeficient` when n < d or some
    ///   `|R_jj| <= max(n, d) ε max_k |R_kk|` (numerically dependent columns).
    /// - Complexity: 2 n d² - 2 d³/3 flops.
    public init(design x: Matrix) throws(LinearAlgebraError) {
        let n = x.rows, d = x.columns
        precondition(d > 0, "LeastSquares needs at least one column, got \(x.shapeDescription)")
        if !x.isFinite { throw .nonFinite(operation: "LeastSquares") }
        if n < d { throw .rankDeficient(rows: n, columns: d, column: n) }
        var a = x.transposed().storage // column-major n × d
        var tau = [Double](repeating: 0, count: d)
        let info = a.withUnsafeMutableBufferPointer { pa in
            tau.withUnsafeMutableBufferPointer { pt in
                LAPACKE_dgeqrf(LAPACK_COL_MAJOR, Int32(n), Int32(d), pa.baseAddress, Int32(n), pt.baseAddress)
            }
        }
        if info != 0 { throw .lapackFailure(routine: "dgeqrf", info: Int(info)) }
        var maxDiagonal = 0.0
        for j in 0..<d { maxDiagonal = max(maxDiagonal, abs(a[j * n + j])) }
        let threshold = Double(max(n, d)) * Double.ulpOfOne * maxDiagonal
        for j in 0..<d where !(abs(a[j * n + j]) > threshold) {
            throw .rankDeficient(rows: n, columns: d, column: j)
        }
        self.rows = n
        self.columns = d
        self.factors = a
        self.tau = tau
    }

    /// Forms the thin factor Q explicitly (LAPACK dorgqr, about 4 n d² - 2 d³ flops), for a
    /// factorisation reused for many responses: `solve` then computes `Qᵀy` with one dgemv (and
    /// the residual `y - Q Qᵀy` with a second) instead of applying d reflectors one BLAS call
    /// at a time. The results agree with the reflector path to rounding, not bit for bit.
    public mutating func formExplicitQ() {
        guard q == nil else { return }
        var a = factors
        let n = Int32(rows), d = Int32(columns)
        let info = a.withUnsafeMutableBufferPointer { pa in
            tau.withUnsafeBufferPointer { pt in
                var size = 0.0
                let query = LAPACKE_dorgqr_work(LAPACK_COL_MAJOR, n, d, d, pa.baseAddress, n, pt.baseAddress, &size, -1)
                guard query == 0 else { return query }
                let count = max(1, columns, Int(size))
                return withUnsafeTemporaryAllocation(of: Double.self, capacity: count) { work in
                    LAPACKE_dorgqr_work(LAPACK_COL_MAJOR, n, d, d, pa.baseAddress, n, pt.baseAddress, work.baseAddress, Int32(count))
                }
            }
        }
        precondition(info == 0, "dorgqr failed with info \(info) on factors that dgeqrf produced")
        q = a
    }

    /// The least-squares solution and residual sum of squares for one response vector.
    /// With `residual: false` the sum of squares is not computed (returned as NaN).
    public func solve(_ y: [Double], residual: Bool = true) -> (coefficients: [Double], residualSumOfSquares: Double) {
        precondition(y.count == rows, "LeastSquares.solve: design has \(rows) rows, response has \(y.count)")
        var c: [Double]
        var rss = Double.nan
        if let q {
            c = [Double](repeating: 0, count: columns)
            q.withUnsafeBufferPointer { pq in
                y.withUnsafeBufferPointer { py in
                    c.withUnsafeMutableBufferPointer { pc in
                        cblas_dgemv(CblasColMajor, CblasTrans, Int32(rows), Int32(columns), 1, pq.baseAddress, Int32(rows),
                                    py.baseAddress, 1, 0, pc.baseAddress, 1)
                    }
                }
                if residual {
                    var r = y // r = y - Q (Qᵀ y)
                    r.withUnsafeMutableBufferPointer { pr in
                        c.withUnsafeBufferPointer { pc in
                            cblas_dgemv(CblasColMajor, CblasNoTrans, Int32(rows), Int32(columns), -1, pq.baseAddress, Int32(rows),
                                        pc.baseAddress, 1, 1, pr.baseAddress, 1)
                        }
                    }
                    rss = 0
                    for v in r { rss += v * v }
                }
            }
        } else {
            c = y
            applyQTranspose(&c, rhsCount: 1)
            if residual {
                rss = 0
                for i in columns..<rows { rss += c[i] * c[i] }
            }
        }
        factors.withUnsafeBufferPointer { pa in
            c.withUnsafeMutableBufferPointer { pc in
                cblas_dtrsv(CblasColMajor, CblasUpper, CblasNoTrans, CblasNonUnit, Int32(columns), pa.baseAddress, Int32(rows), pc.baseAddress, 1)
            }
        }
        return (Array(c[0..<columns]), rss)
    }

    /// Least-squares solutions for several responses at once: `y` is n × k, the result d × k.
    public func solve(_ y: Matrix) -> Matrix {
        precondition(y.rows == rows, "LeastSquares.solve: design has \(rows) rows, responses are \(y.shapeDescription)")
        let k = y.columns
        if k == 0 { return Matrix(rows: columns, columns: 0) }
        var c = y.transposed().storage // column-major n × k
        applyQTranspose(&c, rhsCount: k)
        factors.withUnsafeBufferPointer { pa in
            c.withUnsafeMutableBufferPointer { pc in
                cblas_dtrsm(CblasColMajor, CblasLeft, CblasUpper, CblasNoTrans, CblasNonUnit, Int32(columns), Int32(k), 1,
                            pa.baseAddress, Int32(rows), pc.baseAddress, Int32(rows))
            }
        }
        var out = Matrix(rows: columns, columns: k)
        for j in 0..<k { for i in 0..<columns { out.storage[i * k + j] = c[j * rows + i] } }
        return out
    }

    /// c <- Qᵀ c. Calls the `_work` form of dormqr: the plain LAPACKE form scans the n × d factors
    /// for NaN on every call (10 % of a regression study's time) and allocates its workspace;
    /// the factors are finite by construction, and a NaN in `c` simply propagates.
    ///
    /// For a few right-hand sides the workspace is the minimum, which selects LAPACK's unblocked
    /// path (one reflector at a time, 4 n d k flops): the blocked path rebuilds the triangular
    /// factor of every block of reflectors (dlarft, about n d nb flops) on each call, which for
    /// one vector cost ten times the application itself.
    private func applyQTranspose(_ c: inout [Double], rhsCount k: Int) {
        let side = Int8(UInt8(ascii: "L")), trans = Int8(UInt8(ascii: "T"))
        let info = factors.withUnsafeBufferPointer { pa in
            tau.withUnsafeBufferPointer { pt in
                c.withUnsafeMutableBufferPointer { pc in
                    var count = max(1, k)
                    if k > 4 {
                        var size = 0.0
                        let info = LAPACKE_dormqr_work(LAPACK_COL_MAJOR, side, trans, Int32(rows), Int32(k), Int32(columns),
                                                       pa.baseAddress, Int32(rows), pt.baseAddress, pc.baseAddress, Int32(rows), &size, -1)
                        guard info == 0 else { return info }
                        count = max(count, Int(size))
                    }
                    return withUnsafeTemporaryAllocation(of: Double.self, capacity: count) { work in
                        LAPACKE_dormqr_work(LAPACK_COL_MAJOR, side, trans, Int32(rows), Int32(k), Int32(columns),
                                            pa.baseAddress, Int32(rows), pt.baseAddress, pc.baseAddress, Int32(rows),
                                            work.baseAddress, Int32(count))
                    }
                }
            }
        }
        precondition(info == 0, "dormqr failed with info \(info) on factors that dgeqrf produced")
    }
}

extension Matrix {
    /// The inverse of a square matrix by LU with partial pivoting (LAPACK dgetrf + dgetri).
    ///
    /// Prefer `Cholesky.inverse()` or, better, `Cholesky.solve` for symmetric positive definite input.
    /// - Throws: `.nonFinite` for NaN/inf entries, `.singular` for an exactly zero pivot.
    public func inverse() throws(LinearAlgebraError) -> Matrix {
        precondition(isSquare, "inverse needs a square matrix, got \(shapeDescription)")
        let n = rows
        if !isFinite { throw .nonFinite(operation: "inverse") }
        if n == 0 { return self }
        // Row-major A is column-major Aᵀ, and inv(Aᵀ) column-major is inv(A) row-major.
        var a = self
        var pivots = [Int32](repeating: 0, count: n)
        let info = a.storage.withUnsafeMutableBufferPointer { p in
            pivots.withUnsafeMutableBufferPointer { pp in
                LAPACKE_dgetrf(LAPACK_COL_MAJOR, Int32(n), Int32(n), p.baseAddress, Int32(n), pp.baseAddress)
            }
        }
        if info > 0 { throw .singular(order: n, pivot: Int(info)) }
        if info < 0 { throw .lapackFailure(routine: "dgetrf", info: Int(info)) }
        let info2 = a.storage.withUnsafeMutableBufferPointer { p in
            pivots.withUnsafeBufferPointer { pp in
                LAPACKE_dgetri(LAPACK_COL_MAJOR, Int32(n), p.baseAddress, Int32(n), pp.baseAddress)
            }
        }
        if info2 != 0 { throw .lapackFailure(routine: "dgetri", info: Int(info2)) }
        return a
    }
}

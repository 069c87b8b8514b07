import CKernels

/// `exp` and `log` over whole buffers, vectorised (CKernels, AVX-512 / AVX2 / baseline chosen
/// at run time), for the inner loops that take one of them per number (mixture E-steps, kernel
/// sums).
///
/// Every instruction-set path computes the same roundings (no fused multiply-adds), so results
/// are the same bits on every x86-64 CPU; the values are not always glibc's (which is correctly
/// rounded in most cases and picks FMA code by CPU).
///
/// ## Algorithms and accuracy
/// - `exp`: `x = k ln 2 + r`, `k = round(x / ln 2)`, `|r| <= ln 2 / 2` (ln 2 in two parts, Cody &
///   Waite; r's rounding error carried separately), `e^r = 1 + (r + r²c(r))` with `c` the Taylor
///   series to degree 11 (truncation below 5e-18 relative), times `2^k` as two exact powers of
///   two. Error below 1 ulp (measured maximum 0.88 over 16 million arguments in [-750, 10] against
///   an 80-bit reference; VectorMathTests check the bound). `exp(0) = 1`, `exp(-inf) = 0`,
///   `+inf` above 709.78, subnormal results rounded once, `0` below -745.13, NaN stays NaN.
/// - `log`: `x = 2^e m`, `m` in `[sqrt(1/2), sqrt(2))`, `f = m - 1` (exact), `s = f / (2 + f)`,
///   `log(1 + f) = f - (f²/2 - s (f²/2 + Q(s²)))` with `Q` the atanh series to `s^18` (truncation
///   below 3e-17 relative) and f² exact (Dekker's product), plus `e ln 2` in two parts with
///   `e LN2_HI + f` formed exactly (TwoSum): just below `sqrt(1/2) 2^e` these cancel into the
///   result's binade. Error below 1 ulp (measured maximum 0.97 there, 16 million arguments; 0.6
///   elsewhere). `log(1) = 0`, `log(±0) = -inf`, `log(+inf) = +inf`, negative or NaN: NaN;
///   subnormals exact in `e`.
public enum VectorMath {
    /// `y[i] = e^x[i]`. `y` is `x` itself or does not overlap it. - Precondition: equal counts.
    @inlinable
    public static func exp(_ x: UnsafeBufferPointer<Double>, into y: UnsafeMutableBufferPointer<Double>) {
        precondition(x.count == y.count, "VectorMath.exp: \(x.count) arguments, \(y.count) results")
        guard let input = x.baseAddress, let output = y.baseAddress else { return }
        _ = collapse_vexp_path(-1, input, output, x.count)
    }

    /// `y[i] = log x[i]`. `y` is `x` itself or does not overlap it. - Precondition: equal counts.
    @inlinable
    public static func log(_ x: UnsafeBufferPointer<Double>, into y: UnsafeMutableBufferPointer<Double>) {
        precondition(x.count == y.count, "VectorMath.log: \(x.count) arguments, \(y.count) results")
        guard let input = x.baseAddress, let output = y.baseAddress else { return }
        _ = collapse_vlog_path(-1, input, output, x.count)
    }

    /// `exp` in place.
    @inlinable
    public static func exp(inPlace x: UnsafeMutableBufferPointer<Double>) {
        exp(UnsafeBufferPointer(x), into: x)
    }

    /// `log` in place.
    @inlinable
    public static func log(inPlace x: UnsafeMutableBufferPointer<Double>) {
        log(UnsafeBufferPointer(x), into: x)
    }

    /// `exp` of each element.
    public static func exp(_ x: [Double]) -> [Double] {
        [Double](unsafeUninitializedCapacity: x.count) { y, initialized in
            x.withUnsafeBufferPointer { exp($0, into: y) }
            initialized = x.count
        }
    }

    /// `log` of each element.
    public static func log(_ x: [Double]) -> [Double] {
        [Double](unsafeUninitializedCapacity: x.count) { y, initialized in
            x.withUnsafeBufferPointer { log($0, into: y) }
            initialized = x.count
        }
    }

    /// The log-sum-exp of each row of log-terms held component-major (a mixture's E-step): term
    /// (t, k) of row t < `count` at `terms[k * stride + t]`, k < `components`.
    ///
    /// Per row, with M the first largest term (NaN never is) and S the sum of `exp(term - M)` over
    /// the other components in component order: `lse[t] = M + log(1 + S)`, `-inf` when no term
    /// exceeds -inf; with `responsibilities`, row t of that count x K row-major buffer becomes
    /// `exp(term_k - M) / (1 + S)` (`1 / (1 + S)` for M's component), or all mass on `fallback`
    /// when lse is -inf. `log(1 + S)` rather than `log1p(S)`: its absolute error is at most about ε
    /// (S < ε is lost in `1 + S`), far below the rounding of M itself. `exp` and `log` as above;
    /// vectorised across rows, the same bits on every CPU.
    public static func logSumExpRows(componentMajor terms: UnsafePointer<Double>, components: Int, stride: Int, count: Int,
                                     into lse: UnsafeMutablePointer<Double>, responsibilities: UnsafeMutablePointer<Double>?,
                                     fallback: Int) {
        logSumExpRows(componentMajor: terms, components: components, stride: stride, count: count, into: lse,
                      responsibilities: responsibilities, fallback: fallback, path: -1)
    }

    /// `logSumExpRows` on a chosen path (-1: this CPU's widest), for tests; `false` (nothing
    /// written) when this CPU lacks the path's instructions.
    @discardableResult
    static func logSumExpRows(componentMajor terms: UnsafePointer<Double>, components: Int, stride: Int, count: Int,
                              into lse: UnsafeMutablePointer<Double>, responsibilities: UnsafeMutablePointer<Double>?,
                              fallback: Int, path: Int) -> Bool {
        precondition(components >= 1 && stride >= count && count >= 0 && (0..<components).contains(fallback),
                     "logSumExpRows: \(components) components, stride \(stride), \(count) rows, fallback \(fallback)")
        if count == 0 { return path <= Int(collapse_vector_path()) }
        let scratchCount = collapse_reduce_components_scratch(components)
        return withUnsafeTemporaryAllocation(of: Double.self, capacity: scratchCount) { scratch in
            collapse_reduce_components_path(Int32(path), terms, components, stride, count, lse, responsibilities, fallback,
                                            scratch.baseAddress!) >= 0
        }
    }

    /// The largest dimension `gaussianLogTerms` handles (above it a BLAS product is faster).
    public static let smallGaussianDimension = Int(COLLAPSE_SMALL_MIXTURE_DIMENSION)

    /// One Gaussian component's log-terms `offset - q/2`, q the squared whitened distance, for
    /// rows `rows` of data given as its d × n transpose `columns` (coordinate l of row i at
    /// `columns[l * n + i]`), 1 <= d <= `smallGaussianDimension`, into `out[t * stride]`:
    /// `q = sum_j y_j²` with `y_j = sum_{l <= j} whitener[l * d + j] (x_l - mean_l)` (l ascending;
    /// the whitener L⁻ᵀ row-major, upper triangular), `+inf` when NaN (entries overflowed).
    /// Vectorised across rows, no fused multiply-adds: the same bits on every CPU.
    public static func gaussianLogTerms(columns: UnsafePointer<Double>, rowCount n: Int, dimension d: Int, rows: Range<Int>,
                                        mean: UnsafePointer<Double>, whitener: UnsafePointer<Double>, offset: Double,
                                        into out: UnsafeMutablePointer<Double>, stride: Int) {
        gaussianLogTerms(columns: columns, rowCount: n, dimension: d, rows: rows, mean: mean, whitener: whitener,
                         offset: offset, into: out, stride: stride, path: -1)
    }

    /// `gaussianLogTerms` on a chosen path (-1: this CPU's widest), for tests; `false` (nothing
    /// written) when this CPU lacks it.
    @discardableResult
    static func gaussianLogTerms(columns: UnsafePointer<Double>, rowCount n: Int, dimension d: Int, rows: Range<Int>,
                                 mean: UnsafePointer<Double>, whitener: UnsafePointer<Double>, offset: Double,
                                 into out: UnsafeMutablePointer<Double>, stride: Int, path: Int) -> Bool {
        precondition((1...smallGaussianDimension).contains(d) && rows.lowerBound >= 0 && rows.upperBound <= n && stride >= 1,
                     "gaussianLogTerms: d = \(d), rows \(rows) of \(n), stride \(stride)")
        if rows.isEmpty { return path <= Int(collapse_vector_path()) }
        return collapse_mixture_log_terms_path(Int32(path), columns, n, d, rows.lowerBound, rows.count, mean, whitener,
                                               offset, out, stride) >= 0
    }

    /// The instruction set the kernels use on this CPU: "avx512", "avx2" or "generic".
    public static var kernelPath: String { ["generic", "avx2", "avx512"][Int(collapse_vector_path())] }

    /// `exp` (or `log`) on a chosen path, for tests: 0 generic, 1 AVX2, 2 AVX-512. `false`
    /// (nothing written) when this CPU lacks the path's instructions.
    public static func apply(_ function: Function, path: Int, _ x: UnsafeBufferPointer<Double>,
                             into y: UnsafeMutableBufferPointer<Double>) -> Bool {
        precondition(x.count == y.count && (0...2).contains(path), "VectorMath.apply: counts \(x.count), \(y.count), path \(path)")
        guard let input = x.baseAddress, let output = y.baseAddress else { return path <= collapse_vector_path() }
        switch function {
        case .exp: return collapse_vexp_path(Int32(path), input, output, x.count) >= 0
        case .log: return collapse_vlog_path(Int32(path), input, output, x.count) >= 0
        }
    }

    /// The functions `apply` offers.
    public enum Function: Sendable { case exp, log }
}

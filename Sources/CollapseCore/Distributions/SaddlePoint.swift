#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#elseif canImport(Darwin)
import Darwin
#endif

/// Saddle-point terms for accurate Poisson and binomial log-probabilities at any scale
/// (Loader 2000, "Fast and accurate computation of binomial probabilities").
///
/// With these, `log P(X = k)` is a sum of O(1) terms each computed to a few ulps, instead of the
/// difference of log-factorials of size `n log n`, which loses all precision once `n` passes
/// about 10¹²:
/// - Poisson(μ): `log p(k) = −δ(k) − D(k, μ) − ½ log(2πk)` for `k ≥ 1`.
/// - Binomial(n, p): `log p(k) = δ(n) − δ(k) − δ(n−k) − D(k, np) − D(n−k, nq)
///   − ½ log(2π k (n−k)/n)` for `0 < k < n`.
///
/// Internal support for `Poisson` and `Binomial`.
@usableFromInline
enum SaddlePoint {
    /// `δ(k) = log k! − [(k + ½) log k − k + ½ log 2π]` for `k = 1 ... 15`, from exact factorials
    /// (absolute error below 3·10⁻¹⁴); index 0 is unused.
    static let smallStirlingErrors: [Double] = {
        var table = [Double](repeating: 0, count: 16)
        var factorial: UInt64 = 1
        let halfLogTwoPi = 0.5 * log(2 * Double.pi)
        for k in 1..<16 {
            factorial *= UInt64(k)
            let x = Double(k)
            table[k] = log(Double(factorial)) - (x + 0.5) * log(x) + x - halfLogTwoPi
        }
        return table
    }()

    /// The Stirling-series error `δ(k) = log k! − [(k + ½) log k − k + ½ log 2π]`, `k ≥ 1`.
    ///
    /// For `k ≥ 16` the asymptotic series `1/(12k) − 1/(360k³) + 1/(1260k⁵) − 1/(1680k⁷)
    /// + 1/(1188k⁹)`, whose truncation error is below `691/(360360 k¹¹) < 3·10⁻¹⁶`.
    @usableFromInline
    static func stirlingError(_ k: Int) -> Double {
        precondition(k >= 1, "stirlingError needs k >= 1, got \(k)")
        if k < 16 { return smallStirlingErrors[k] }
        let x = Double(k)
        let inv = 1 / x
        let inv2 = inv * inv
        return inv * (1.0 / 12 - inv2 * (1.0 / 360 - inv2 * (1.0 / 1260 - inv2 * (1.0 / 1680 - inv2 / 1188))))
    }

    /// The deviance `D(x, M) = x log(x/M) + M − x ≥ 0`, given `x > 0` and the deviation
    /// `d = x − M` (passed separately so that it can be exact when `x` and `M` are huge).
    ///
    /// For `|d| < 0.1 (x + M)` the series `D = d·v + 2x Σ_{j≥1} v^{2j+1}/(2j+1)`,
    /// `v = d/(x + M)`, which has no cancellation; otherwise the direct formula.
    @usableFromInline
    static func deviance(_ x: Double, deviation d: Double) -> Double {
        let m = x - d
        let sum = x + m
        if abs(d) < 0.1 * sum {
            let v = d / sum
            let v2 = v * v
            var s = d * v
            var term = 2 * x * v
            var j = 1.0
            while true {
                term *= v2
                let next = s + term / (2 * j + 1)
                if next == s { return s }
                s = next
                j += 1
            }
        }
        return x * log(x / m) - d
    }
}

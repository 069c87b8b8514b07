#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#elseif canImport(Darwin)
import Darwin
#endif

extension StudentT {
    /// The CDF `F(x) = P(T ≤ x)`.
    ///
    /// With `t = (x - μ)/s`: near the centre (smaller tail ≥ 0.1) `F = ½ ± ½ I_{t²/(ν+t²)}(½, ν/2)`
    /// (sign of `t`); otherwise the smaller tail `½ I_{ν/(ν+t²)}(ν/2, ½)` is computed directly, so
    /// far tails keep their relative accuracy (`SpecialFunctions.regularizedIncompleteBeta`).
    /// `ν = ∞` gives `Φ(t)`.
    ///
    /// Accuracy (mpmath fixtures, ν in [0.5, 1e3]): for `x < μ` relative error ≤ 1e-11 (results
    /// ≥ 1e-280); everywhere absolute error ≤ 5e-13 (for ν ≤ 10 about 1e-15). An upper tail
    /// `1 - F(x)` keeps its relative accuracy as `cdf(2μ - x)`.
    ///
    /// - Returns: `F(x)` in [0, 1]; NaN for NaN.
    /// - Complexity: O(1 + sqrt(ν)).
    public func cdf(_ x: Double) -> Double {
        if x.isNaN { return .nan }
        let t = (x - location) / scale
        if degreesOfFreedom.isInfinite { return SpecialFunctions.normalCDF(t) }
        if t == 0 { return 0.5 }
        if t.isInfinite { return t > 0 ? 1 : 0 }
        let nu = degreesOfFreedom
        let t2 = t * t
        if t2 < nu {
            // P(|T| <= |t|) / 2; used while the smaller tail it leaves is >= 0.1 (cancellation
            // then costs at most a factor 5 of relative accuracy).
            let half = 0.5 * SpecialFunctions.regularizedIncompleteBeta(0.5, 0.5 * nu, t2 / (nu + t2))
            if half <= 0.4 { return t > 0 ? 0.5 + half : 0.5 - half }
        }
        let tail = 0.5 * SpecialFunctions.regularizedIncompleteBeta(0.5 * nu, 0.5, nu / (nu + t2))
        return t > 0 ? 1 - tail : tail
    }

    /// The quantile `F⁻¹(p)`: the `x` with `F(x) = p`, by bisection on `cdf(_:)` down to adjacent
    /// doubles (the bracket is grown geometrically from `μ ± s` until it contains the root).
    ///
    /// Accuracy: the root of the computed CDF to within one ulp; since `F' > 0` the error in `x`
    /// is the CDF error divided by the density.
    ///
    /// - Parameter p: A probability; 0 gives `-∞`, 1 gives `+∞`, NaN or outside [0, 1] gives NaN.
    /// - Complexity: about 100 CDF evaluations.
    public func quantile(_ p: Double) -> Double {
        if !(p >= 0 && p <= 1) { return .nan }
        if p == 0 { return -.infinity }
        if p == 1 { return .infinity }
        if p == 0.5 { return location }
        var lo = location - scale, hi = location + scale
        while cdf(lo) > p { lo = location - 2 * (location - lo) }
        while cdf(hi) < p { hi = location + 2 * (hi - location) }
        while true {
            let mid = 0.5 * (lo + hi)
            if mid <= lo || mid >= hi { return mid }
            if cdf(mid) < p { lo = mid } else { hi = mid }
        }
    }

    /// The log-density
    /// `log Γ((ν+1)/2) - log Γ(ν/2) - ½ log(νπ) - log s - ((ν+1)/2) log1p(t²/ν)`, `t = (x-μ)/s`
    /// (`ν = ∞`: the normal log-density).
    ///
    /// - Complexity: O(1).
    public func logDensity(_ x: Double) -> Double {
        let t = (x - location) / scale
        if degreesOfFreedom.isInfinite { return SpecialFunctions.normalLogDensity(t) - log(scale) }
        let nu = degreesOfFreedom
        let constant = SpecialFunctions.logGamma(0.5 * (nu + 1)) - SpecialFunctions.logGamma(0.5 * nu)
            - 0.5 * log(nu * Double.pi) - log(scale)
        return constant - 0.5 * (nu + 1) * log1p(t * t / nu)
    }
}

extension ChiSquared {
    /// The quantile `x` with `P(χ²_ν ≤ x) = p`, by bisection on the regularized incomplete gamma
    /// function down to adjacent doubles: on `P(ν/2, x/2)` for `p ≤ ½` and on `Q(ν/2, x/2) = 1 - p`
    /// above, so upper quantiles keep their accuracy.
    ///
    /// Accuracy: the root of the computed CDF to within one ulp (the CDF is accurate to 1e-12
    /// relative, see `SpecialFunctions.regularizedGammaP`).
    ///
    /// - Parameter p: A probability; 0 gives 0, 1 gives `+∞`, NaN or outside [0, 1] gives NaN.
    /// - Complexity: about 100 incomplete-gamma evaluations.
    public func quantile(_ p: Double) -> Double {
        if !(p >= 0 && p <= 1) { return .nan }
        if p == 0 { return 0 }
        if p == 1 { return .infinity }
        let a = 0.5 * degreesOfFreedom
        let upper = p > 0.5
        let target = upper ? 1 - p : p
        // below(x) is true while x is left of the root.
        func below(_ x: Double) -> Bool {
            upper ? SpecialFunctions.regularizedGammaQ(a, 0.5 * x) > target : SpecialFunctions.regularizedGammaP(a, 0.5 * x) < target
        }
        var lo = 0.0, hi = max(degreesOfFreedom, 1)
        while below(hi) { lo = hi; hi *= 2 }
        while true {
            let mid = 0.5 * (lo + hi)
            if mid <= lo || mid >= hi { return mid }
            if below(mid) { lo = mid } else { hi = mid }
        }
    }
}

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif
import Testing
@testable import CollapseCore

/// Reference distribution functions for the sampler tests, written independently of the samplers
/// (textbook formulas on top of `SpecialFunctions`), plus the moment check shared by every
/// sampler test. Every CDF is clamped to [0, 1], as `kolmogorovSmirnovTest` requires.
enum SamplerReference {
    // MARK: Continuous CDFs

    /// Gamma(shape k, scale θ) CDF `P(k, x/θ)`.
    static func gammaCDF(_ x: Double, shape: Double, scale: Double) -> Double {
        SpecialFunctions.regularizedGammaP(shape, max(0, x / scale))
    }

    /// The standard normal CDF `Φ` (`SpecialFunctions.normalCDF`).
    static func normalCDF(_ x: Double) -> Double { SpecialFunctions.normalCDF(x) }

    /// The standard normal survival function `1 − Φ` (`SpecialFunctions.normalSurvival`).
    static func normalSurvival(_ x: Double) -> Double { SpecialFunctions.normalSurvival(x) }

    /// Student-t CDF in closed form for ν = 1, 2, 3 (and ν = ∞: normal), standardised `t`.
    static func studentTCDF(_ t: Double, degreesOfFreedom nu: Double) -> Double {
        let value: Double
        switch nu {
        case 1: value = 0.5 + atan(t) / Double.pi
        case 2: value = 0.5 + t / (2 * (2 + t * t).squareRoot())
        case 3:
            let s = t / 3.0.squareRoot()
            value = 0.5 + (s / (1 + s * s) + atan(s)) / Double.pi
        case .infinity: value = normalCDF(t)
        default: fatalError("no closed-form Student-t CDF for ν = \(nu) in the reference")
        }
        return min(1, max(0, value))
    }

    /// CDF of N(0, 1) restricted to [α, β], computed in the upper tail when α ≥ 0 and in the
    /// lower tail otherwise so that intervals such as [30, 31] keep full precision.
    static func truncatedStandardNormalCDF(_ z: Double, alpha: Double, beta: Double) -> Double {
        if z <= alpha { return 0 }
        if z >= beta { return 1 }
        let value: Double
        if alpha >= 0 {
            let qa = normalSurvival(alpha), qb = normalSurvival(beta)
            value = (qa - normalSurvival(z)) / (qa - qb)
        } else {
            let pa = normalCDF(alpha), pb = normalCDF(beta)
            value = (normalCDF(z) - pa) / (pb - pa)
        }
        return min(1, max(0, value))
    }

    /// Mean, variance and fourth central moment of N(0, 1) restricted to [α, β], by composite
    /// Simpson integration of `zᵏ exp(−(z² − z₀²)/2)` (z₀ the point of [α, β] nearest 0, so
    /// nothing underflows even at [30, 31]); an infinite end is cut 40 units out, where the
    /// density is below e⁻⁸⁰⁰ of its peak.
    static func truncatedStandardNormalMoments(alpha: Double, beta: Double) -> (mean: Double, variance: Double, fourth: Double) {
        let lo = alpha.isFinite ? alpha : min(beta, 0) - 40
        let hi = beta.isFinite ? beta : max(alpha, 0) + 40
        let z0 = min(max(0, lo), hi)
        let steps = 40_000
        let h = (hi - lo) / Double(steps)
        func integrate(_ g: (Double) -> Double) -> Double {
            var sum = 0.0
            for i in 0...steps {
                let z = lo + Double(i) * h
                let weight: Double = (i == 0 || i == steps) ? 1 : (i % 2 == 1 ? 4 : 2)
                sum += weight * g(z) * exp(-0.5 * (z * z - z0 * z0))
            }
            return sum * h / 3
        }
        let mass = integrate { _ in 1 }
        let mean = integrate { $0 } / mass
        let variance = integrate { ($0 - mean) * ($0 - mean) } / mass
        let fourth = integrate { let d = $0 - mean; return d * d * d * d } / mass
        return (mean, variance, fourth)
    }

    // MARK: Discrete pmfs

    /// Poisson(μ) pmf `exp(k log μ − μ − log Γ(k+1))`.
    static func poissonPMF(_ k: Int, mean mu: Double) -> Double {
        if mu == 0 { return k == 0 ? 1 : 0 }
        return exp(Double(k) * log(mu) - mu - SpecialFunctions.logGamma(Double(k) + 1))
    }

    /// Binomial(n, p) pmf `exp(log C(n, k) + k log p + (n−k) log(1−p))` with `log C` from
    /// `log Γ`, for p in (0, 1).
    static func binomialPMF(_ k: Int, trials n: Int, probability p: Double) -> Double {
        let logChoose = SpecialFunctions.logGamma(Double(n) + 1) - SpecialFunctions.logGamma(Double(k) + 1)
            - SpecialFunctions.logGamma(Double(n - k) + 1)
        return exp(logChoose + Double(k) * log(p) + Double(n - k) * log1p(-p))
    }

    /// Category probabilities for a chi-square test of an integer distribution on `lo ... hi`:
    /// category 0 is `X ≤ lo`, the last is `X ≥ hi`, the others single values. `pmf` is summed
    /// from `support.lowerBound` for the lower lump; the upper lump is the remainder.
    static func lumpedProbabilities(lo: Int, hi: Int, support: ClosedRange<Int>, pmf: (Int) -> Double) -> [Double] {
        var probabilities: [Double] = []
        var lower = 0.0
        for k in support.lowerBound...lo { lower += pmf(k) }
        probabilities.append(lower)
        if lo + 1 <= hi - 1 {
            for k in (lo + 1)...(hi - 1) { probabilities.append(pmf(k)) }
        }
        let used = probabilities.reduce(0, +)
        probabilities.append(max(0, 1 - used))
        return probabilities
    }

    /// Counts of `sample` in the categories of `lumpedProbabilities(lo:hi:...)`.
    static func lumpedCounts(_ sample: [Int], lo: Int, hi: Int) -> [Int] {
        var counts = [Int](repeating: 0, count: hi - lo + 1)
        for k in sample { counts[min(max(k, lo), hi) - lo] += 1 }
        return counts
    }
}

/// Sample mean and unbiased sample variance (two-pass).
func sampleMeanAndVariance(_ xs: [Double]) -> (mean: Double, variance: Double) {
    let n = Double(xs.count)
    let mean = xs.reduce(0, +) / n
    var ss = 0.0
    for x in xs { ss += (x - mean) * (x - mean) }
    return (mean, ss / (n - 1))
}

/// Expects the sample mean and unbiased variance of `xs` to match theory within 5 standard errors.
///
/// Standard errors, for n independent draws with variance σ² and fourth central moment μ₄:
/// - `SE(x̄) = σ/√n` (exact);
/// - `SE(s²) = √((μ₄ − σ⁴ (n−3)/(n−1)) / n)`, the exact variance of the unbiased sample variance.
/// By the CLT both statistics are close to normal at n ≥ 10⁵, so one check exceeds 5 SE with
/// probability about 5.7·10⁻⁷.
func expectMoments(_ xs: [Double], mean: Double, variance: Double, fourthCentralMoment mu4: Double,
                   _ label: String, sourceLocation: SourceLocation = #_sourceLocation) {
    let n = Double(xs.count)
    let (m, v) = sampleMeanAndVariance(xs)
    let seMean = (variance / n).squareRoot()
    let seVariance = ((mu4 - variance * variance * (n - 3) / (n - 1)) / n).squareRoot()
    #expect(abs(m - mean) < 5 * seMean,
            "\(label): sample mean \(m) vs \(mean), |z| = \(abs(m - mean) / seMean) > 5", sourceLocation: sourceLocation)
    #expect(abs(v - variance) < 5 * seVariance,
            "\(label): sample variance \(v) vs \(variance), |z| = \(abs(v - variance) / seVariance) > 5",
            sourceLocation: sourceLocation)
}

/// The p-value threshold of every goodness-of-fit assertion in the sampler tests.
///
/// Family-wise false-alarm rate per seed: the suite makes about 40 goodness-of-fit tests at
/// 10⁻⁴ and about 80 five-standard-error moment checks at 5.7·10⁻⁷, so by the union bound a
/// correct implementation fails for a given seed with probability below 4·10⁻³ + 5·10⁻⁵ ≈ 0.4%.
let goodnessOfFitThreshold = 1e-4

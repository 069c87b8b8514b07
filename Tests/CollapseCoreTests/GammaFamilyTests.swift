#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif
import Testing
@testable import CollapseCore

/// GammaDistribution, ChiSquared and StudentT. Stream paths `[0x5A, 0x2xx]`.
@Suite struct GammaFamilyTests {
    /// Gamma(k, θ) moments: mean kθ, variance kθ², μ₄ = 3k(k+2)θ⁴ (excess kurtosis 6/k); SEs in
    /// `expectMoments`. 10⁵ draws per shape, across the k < 1 boost, k = 1 and k > 1.
    @Test(arguments: [0.3, 1.0, 7.5, 250.0])
    func gammaMomentsMatch(shape k: Double) {
        var rng = Philox4x32(seed: testSeed, path: [0x5A, 0x201, UInt32(k * 10)])
        let theta = 1.7
        let d = GammaDistribution(shape: k, scale: theta)
        let xs = (0..<100_000).map { _ in d.sample(using: &rng) }
        #expect(xs.allSatisfy { $0 > 0 && $0.isFinite })
        let t4 = theta * theta * theta * theta
        expectMoments(xs, mean: k * theta, variance: k * theta * theta,
                      fourthCentralMoment: 3 * k * (k + 2) * t4, "Gamma(\(k), \(theta))")
    }

    /// Kolmogorov–Smirnov against the regularised incomplete gamma function, 10⁵ draws,
    /// shapes 0.3, 1 and 7.5 (p > 10⁻⁴ each).
    @Test(arguments: [0.3, 1.0, 7.5])
    func gammaPassesKolmogorovSmirnov(shape k: Double) {
        var rng = Philox4x32(seed: testSeed, path: [0x5A, 0x202, UInt32(k * 10)])
        let d = GammaDistribution(shape: k, scale: 0.5)
        let xs = (0..<100_000).map { _ in d.sample(using: &rng) }
        let result = kolmogorovSmirnovTest(xs) { SamplerReference.gammaCDF($0, shape: k, scale: 0.5) }
        #expect(result.pValue > goodnessOfFitThreshold, "Gamma(\(k)): KS D = \(result.statistic), p = \(result.pValue)")
    }

    /// χ²(ν) = Gamma(ν/2, 2): moments (mean ν, variance 2ν, μ₄ = 12ν(ν+4)) for ν = 4, and KS for
    /// ν = 3 and the boosted ν = 0.8.
    @Test func chiSquaredMatches() {
        var rng = Philox4x32(seed: testSeed, path: [0x5A, 0x203])
        let four = ChiSquared(degreesOfFreedom: 4)
        let xs = (0..<100_000).map { _ in four.sample(using: &rng) }
        expectMoments(xs, mean: 4, variance: 8, fourthCentralMoment: 12 * 4 * 8, "chi2(4)")
        for nu in [3.0, 0.8] {
            let d = ChiSquared(degreesOfFreedom: nu)
            let ys = (0..<100_000).map { _ in d.sample(using: &rng) }
            let result = kolmogorovSmirnovTest(ys) { SpecialFunctions.regularizedGammaP(nu / 2, max(0, $0 / 2)) }
            #expect(result.pValue > goodnessOfFitThreshold, "chi2(\(nu)): KS D = \(result.statistic), p = \(result.pValue)")
        }
    }

    /// Student-t(ν = 10, μ, s) moments: mean μ, variance s²ν/(ν−2), μ₄ = 3ν² s⁴/((ν−2)(ν−4))
    /// (excess kurtosis 6/(ν−4)); 2·10⁵ draws.
    @Test func studentTMomentsMatch() {
        var rng = Philox4x32(seed: testSeed, path: [0x5A, 0x204])
        let nu = 10.0, mu = 1.5, s = 0.75
        let d = StudentT(degreesOfFreedom: nu, location: mu, scale: s)
        let xs = (0..<200_000).map { _ in d.sample(using: &rng) }
        let s4 = s * s * s * s
        expectMoments(xs, mean: mu, variance: d.variance,
                      fourthCentralMoment: 3 * nu * nu * s4 / ((nu - 2) * (nu - 4)), "t(10)")
    }

    /// Kolmogorov–Smirnov against the closed-form CDFs for ν = 1 (Cauchy), 2, 3, and ν = ∞
    /// (normal), with location and scale; 10⁵ draws each.
    @Test(arguments: [1.0, 2.0, 3.0, Double.infinity])
    func studentTPassesKolmogorovSmirnov(degreesOfFreedom nu: Double) {
        var rng = Philox4x32(seed: testSeed, path: [0x5A, 0x205, nu.isFinite ? UInt32(nu) : 99])
        let mu = -2.0, s = 3.0
        let d = StudentT(degreesOfFreedom: nu, location: mu, scale: s)
        let xs = (0..<100_000).map { _ in d.sample(using: &rng) }
        let result = kolmogorovSmirnovTest(xs) { SamplerReference.studentTCDF(($0 - mu) / s, degreesOfFreedom: nu) }
        #expect(result.pValue > goodnessOfFitThreshold, "t(\(nu)): KS D = \(result.statistic), p = \(result.pValue)")
    }

    /// Tiny degrees of freedom stay finite where the true value is: for ν = 0.05 the sampler works
    /// in log space; the sign is still a fair coin and no draw is NaN.
    @Test func studentTWithTinyDegreesOfFreedomHasNoNaN() {
        var rng = Philox4x32(seed: testSeed, path: [0x5A, 0x206])
        let d = StudentT(degreesOfFreedom: 0.05)
        let xs = (0..<20_000).map { _ in d.sample(using: &rng) }
        #expect(!xs.contains { $0.isNaN })
        let negatives = Double(xs.filter { $0 < 0 }.count)
        #expect(abs(negatives - 10_000) < 5 * 20_000.0.squareRoot() / 2)
    }

    /// Degenerate streams give the documented values: all-zeros → (k − 1/3)θ for k ≥ 1 and
    /// (k + 2/3)·(2⁻⁵³)^(1/k)·θ for k < 1; all-ones → d(1 + c·2⁻²⁶)³θ, times (1 − 2⁻⁵³)^(1/k)
    /// for k < 1. Checked to a few ulps; never NaN, infinite or hanging.
    @Test func degenerateStreamsGiveTheDocumentedGammas() {
        for k in [0.3, 1.0, 7.5] {
            let theta = 2.0
            var zeros = ConstantStream(value: 0)
            var ones = ConstantStream(value: .max)
            let a = GammaDistribution(shape: k, scale: theta).sample(using: &zeros)
            let b = GammaDistribution(shape: k, scale: theta).sample(using: &ones)
            let boosted = k < 1 ? k + 1 : k
            let d = boosted - 1.0 / 3.0
            let c = 1 / (9 * d).squareRoot()
            let t = 1 + c * 0x1p-26
            let expectedZeros = k < 1 ? d * pow(0x1p-53, 1 / k) * theta : d * theta
            let expectedOnes = d * (t * t * t) * (k < 1 ? pow(1 - 0x1p-53, 1 / k) : 1) * theta
            #expect(abs(a - expectedZeros) <= 4 * expectedZeros.ulp, "k = \(k): all-zeros gave \(a), documented \(expectedZeros)")
            #expect(abs(b - expectedOnes) <= 4 * expectedOnes.ulp, "k = \(k): all-ones gave \(b), documented \(expectedOnes)")
        }
        var zeros = ConstantStream(value: 0)
        var ones = ConstantStream(value: .max)
        #expect(StudentT(degreesOfFreedom: 3, location: 1).sample(using: &zeros) == 1)
        #expect(StudentT(degreesOfFreedom: 3, location: 1).sample(using: &ones).isFinite)
        #expect(ChiSquared(degreesOfFreedom: 2).sample(using: &zeros) == 2 * (1 - 1.0 / 3.0))
    }

    /// `fill` is exactly repeated `sample`, and the same seed gives the same draws.
    @Test func fillEqualsRepeatedSampleAndSeedsReplay() {
        let start = Philox4x32(seed: testSeed, path: [0x5A, 0x207])
        func check(_ label: String, _ draw: (inout Philox4x32) -> Double,
                   _ fill: (UnsafeMutableBufferPointer<Double>, inout Philox4x32) -> Void) {
            var a = start, b = start, c = start
            var filled = [Double](repeating: 0, count: 2000)
            filled.withUnsafeMutableBufferPointer { fill($0, &a) }
            let repeated = (0..<2000).map { _ in draw(&b) }
            let replay = (0..<2000).map { _ in draw(&c) }
            #expect(filled == repeated, "\(label): fill differs from repeated sample")
            #expect(repeated == replay, "\(label): same seed, different draws")
            #expect(a == b)
        }
        let g = GammaDistribution(shape: 0.7, scale: 3)
        check("gamma", { g.sample(using: &$0) }, { g.fill($0, using: &$1) })
        let x = ChiSquared(degreesOfFreedom: 5)
        check("chi2", { x.sample(using: &$0) }, { x.fill($0, using: &$1) })
        let t = StudentT(degreesOfFreedom: 4, location: 1, scale: 2)
        check("t", { t.sample(using: &$0) }, { t.fill($0, using: &$1) })
    }
}

import Testing
@testable import CollapseCore

/// TruncatedNormal. Stream paths `[0x5A, 0x5xx]`.
@Suite struct TruncatedNormalTests {
    /// Intervals covering every proposal: normal rejection ([−0.1, 3], (−∞, ∞) cut at −1.5),
    /// uniform ([−1, 1], [3, 3.3], [0, 1.6]), exponential ([2, ∞), [0, ∞), [30, 31], mirrored
    /// (−∞, −5]), in standard units.
    static let intervals: [(Double, Double)] = [
        (-0.1, 3), (-1.5, .infinity), (-1, 1), (3, 3.3), (0, 1.6), (2, .infinity), (0, .infinity),
        (30, 31), (-.infinity, -5),
    ]

    /// Kolmogorov–Smirnov against the exact truncated CDF (computed in the upper tail for
    /// α ≥ 0, so [30, 31] keeps its precision), 10⁵ draws of N(μ = 1, σ = 2) restricted to
    /// [μ + σα, μ + σβ]; every draw lies in [a, b]. p > 10⁻⁴ for each interval.
    @Test(arguments: intervals.indices)
    func truncatedNormalPassesKolmogorovSmirnov(interval index: Int) {
        let (alpha, beta) = Self.intervals[index]
        var rng = Philox4x32(seed: testSeed, path: [0x5A, 0x501, UInt32(index)])
        let mu = 1.0, sigma = 2.0
        let (a, b) = (mu + sigma * alpha, mu + sigma * beta)
        let d = TruncatedNormal(mean: mu, standardDeviation: sigma, lower: a, upper: b)
        let xs = (0..<100_000).map { _ in d.sample(using: &rng) }
        #expect(xs.allSatisfy { $0 >= a && $0 <= b }, "[\(a), \(b)]: a draw left the interval")
        let result = kolmogorovSmirnovTest(xs) {
            SamplerReference.truncatedStandardNormalCDF(($0 - mu) / sigma, alpha: alpha, beta: beta)
        }
        #expect(result.pValue > goodnessOfFitThreshold, "[\(alpha), \(beta)]σ: KS D = \(result.statistic), p = \(result.pValue)")
    }

    /// Moments against numerical integration of the truncated density (mean, variance and μ₄;
    /// SEs in `expectMoments`), 10⁵ standard draws per interval, including [30, 31] and [2, ∞).
    @Test(arguments: [0, 2, 5, 7, 8])
    func truncatedNormalMomentsMatch(interval index: Int) {
        let (alpha, beta) = Self.intervals[index]
        var rng = Philox4x32(seed: testSeed, path: [0x5A, 0x502, UInt32(index)])
        let d = TruncatedNormal(mean: 0, standardDeviation: 1, lower: alpha, upper: beta)
        let xs = (0..<100_000).map { _ in d.sample(using: &rng) }
        let m = SamplerReference.truncatedStandardNormalMoments(alpha: alpha, beta: beta)
        expectMoments(xs, mean: m.mean, variance: m.variance, fourthCentralMoment: m.fourth, "[\(alpha), \(beta)]")
    }

    /// Far-tail intervals take about one attempt: [30, 31], [100, 100.5] and [10⁶, ∞) draw 10⁴
    /// values using at most 2.2 words each on average (2 per attempt; acceptance ≈ 1).
    @Test func farTailsDoNotLoop() {
        for (a, b) in [(30.0, 31.0), (100, 100.5), (1e6, .infinity)] {
            let start = Philox4x32(seed: testSeed, path: [0x5A, 0x503])
            var rng = start
            let d = TruncatedNormal(mean: 0, standardDeviation: 1, lower: a, upper: b)
            for _ in 0..<10_000 {
                let x = d.sample(using: &rng)
                #expect(x >= a && x <= b)
            }
            // Eight words per group of four blocks; counts the partly used last group as whole.
            let words = 8 * Double(rng.groupIndex - start.groupIndex)
            #expect(words <= 2.2 * 10_000, "[\(a), \(b)]: \(words / 10_000) words per draw")
        }
    }

    /// `fill` is exactly repeated `sample`; the same seed replays the same draws; degenerate
    /// streams stay inside the interval.
    @Test func fillEqualsRepeatedSampleAndStaysInside() {
        let d = TruncatedNormal(mean: 0.5, standardDeviation: 1.5, lower: -1, upper: 4)
        let start = Philox4x32(seed: testSeed, path: [0x5A, 0x504])
        var a = start, b = start, c = start
        var filled = [Double](repeating: .nan, count: 2000)
        filled.withUnsafeMutableBufferPointer { d.fill($0, using: &a) }
        let repeated = (0..<2000).map { _ in d.sample(using: &b) }
        #expect(filled == repeated)
        #expect((0..<2000).map { _ in d.sample(using: &c) } == repeated)
        for (lower, upper) in Self.intervals {
            let t = TruncatedNormal(mean: 0, standardDeviation: 1, lower: lower, upper: upper)
            var zeros = ConstantStream(value: 0)
            var ones = ConstantStream(value: .max)
            for x in [t.sample(using: &zeros), t.sample(using: &ones)] {
                #expect(x >= lower && x <= upper && x.isFinite, "[\(lower), \(upper)]: degenerate stream gave \(x)")
            }
        }
    }
}

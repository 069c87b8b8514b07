import CollapseCore
import Foundation
import Testing

/// Kolmogorov–Smirnov and chi-square tests against scipy.stats (kstest, chisquare) and mpmath
/// values from `Fixtures/SpecialFunctionReferenceValues.swift`.
@Suite struct GoodnessOfFitTests {
    typealias Reference = SpecialFunctionReferenceValues
    let epsilon = StatisticsTestSupport.epsilon

    /// The two CDFs of the fixture cases on [0, 1]: the true one and a tilted one; the fixture
    /// script evaluates `x * (1.1 - 0.1 * x)` with the same operations.
    static func fixtureCDF(_ which: Double) -> (Double) -> Double {
        which == 0 ? { $0 } : { $0 * (1.1 - 0.1 * $0) }
    }

    static func fixtureSample(seed: UInt64, count: Int) -> [Double] {
        var generator = TestSplitMix64(state: seed)
        return (0 ..< count).map { _ in generator.nextUniform() }
    }

    // MARK: Kolmogorov–Smirnov

    @Test func kolmogorovSmirnovStatisticEqualsScipys() {
        // Same operations as scipy (i/n - F, F - (i-1)/n, max), so the same double is expected;
        // 4ε relative allows for a different but equally valid rounding order.
        for case_ in Reference.kolmogorovSmirnovCases {
            let sample = Self.fixtureSample(seed: UInt64(case_[0]), count: Int(case_[1]))
            let result = kolmogorovSmirnovTest(sample, cdf: Self.fixtureCDF(case_[2]))
            #expect(abs(result.statistic - case_[3]) <= 4 * epsilon * case_[3],
                    "seed \(case_[0]), n \(case_[1]), cdf \(case_[2]): D = \(result.statistic), scipy \(case_[3])")
            #expect(result.degreesOfFreedom == nil)
        }
    }

    @Test func kolmogorovSmirnovPValueIsTheStephensCorrectedAsymptoticValue() {
        // pStephens is P(K > (√n + 0.12 + 0.11/√n) D) in mpmath; kolmogorovSurvival is accurate
        // to 1e-14 relative, and λ carries a few roundings (condition 4λ² ≤ 30 here), so 1e-12.
        var check = AccuracyCheck("kolmogorovSmirnovTest p-value")
        for case_ in Reference.kolmogorovSmirnovCases {
            let sample = Self.fixtureSample(seed: UInt64(case_[0]), count: Int(case_[1]))
            let result = kolmogorovSmirnovTest(sample, cdf: Self.fixtureCDF(case_[2]))
            check.relative(result.pValue, case_[4], tolerance: 1e-12, at: "n = \(case_[1]), cdf \(case_[2])")
        }
        check.report()
    }

    @Test func kolmogorovSmirnovPValueApproximatesScipysExactPValue() {
        // The Stephens-corrected asymptotic law is an approximation of the exact finite-n law;
        // its documented quality is "well under 1%" at n = 2000 and "a few percent" at n = 50
        // (observed on these cases: 0.3-0.4% and 1.3-2.1%). This guards the formula as a whole
        // (e.g. swapping in √n·D without the correction or the wrong tail) rather than digits.
        for case_ in Reference.kolmogorovSmirnovCases {
            let sample = Self.fixtureSample(seed: UInt64(case_[0]), count: Int(case_[1]))
            let result = kolmogorovSmirnovTest(sample, cdf: Self.fixtureCDF(case_[2]))
            let exact = case_[5]
            let tolerance = case_[1] >= 1000 ? 0.01 : 0.05
            #expect(abs(result.pValue - exact) <= tolerance * exact,
                    "n = \(case_[1]), cdf \(case_[2]): p = \(result.pValue), exact \(exact)")
        }
    }

    @Test func kolmogorovSmirnovOfOneObservationUsesTheLargerOfTheTwoGaps() {
        // D = max(1 - F(x), F(x) - 0) = 0.7 for F(x) = 0.3; λ = (1 + 0.12 + 0.11)·0.7.
        let result = kolmogorovSmirnovTest([0.3], cdf: { $0 })
        #expect(result.statistic == 0.7)
        #expect(result.pValue == SpecialFunctions.kolmogorovSurvival((1 + 0.12 + 0.11) * 0.7))
    }

    @Test func kolmogorovSmirnovAcceptsTheTrueDistributionAndRejectsAShiftedOne() {
        // Under H0 the p-value is uniform, so P(p < 1e-6) = 1e-6 per seed. Against a shift of
        // 0.5σ, D ≈ Φ(0.25) - Φ(-0.25) ≈ 0.197 with standard error ≈ 0.5/√500 ≈ 0.022; at
        // D - 5 SE ≈ 0.085, λ ≈ 1.9 still gives p ≈ 1.4e-3, and at the mean λ ≈ 4.4 gives
        // p ≈ 1e-16, so p < 0.01 fails with probability far below 1e-6.
        var generator = TestSplitMix64(state: StatisticsTestSupport.seed)
        let sample = (0 ..< 500).map { _ in generator.nextNormal() }
        let null = kolmogorovSmirnovTest(sample, cdf: SpecialFunctions.normalCDF)
        #expect(null.pValue > 1e-6, "p = \(null.pValue) under the true distribution")
        let shifted = kolmogorovSmirnovTest(sample, cdf: { SpecialFunctions.normalCDF($0 - 0.5) })
        #expect(shifted.pValue < 0.01, "p = \(shifted.pValue) against a shifted distribution")
    }

    // MARK: chi-square

    @Test func chiSquareMatchesScipyOnThePooledCounts() {
        // Statistic: a sum of ≤ 13 terms (o - e)²/e, each with ~3 roundings: 1e-14 relative.
        // p-value: chiSquareSurvival's 1e-12 plus the statistic's error times the condition
        // number x·|d log Q/dx| (< 10 here): 1e-12 overall.
        for index in Reference.chiSquareObserved.indices {
            let expected = Reference.chiSquareResults[index]
            let result = chiSquareTest(observed: Reference.chiSquareObserved[index],
                                       probabilities: Reference.chiSquareProbabilities[index],
                                       estimatedParameters: Int(expected[0]))
            #expect(result.degreesOfFreedom == Int(expected[2]), "case \(index)")
            #expect(abs(result.statistic - expected[3]) <= 1e-14 * expected[3],
                    "case \(index): statistic \(result.statistic), mpmath \(expected[3])")
            #expect(abs(result.pValue - expected[4]) <= 1e-12 * expected[4],
                    "case \(index): p \(result.pValue), mpmath \(expected[4])")
            // scipy works in float64 too: its statistic and p-value agree to rounding level.
            #expect(abs(result.statistic - expected[5]) <= 1e-14 * expected[5])
            #expect(abs(result.pValue - expected[6]) <= 1e-12 * expected[6])
        }
    }

    @Test func chiSquarePoolsAdjacentCategoriesUntilTheExpectedCountReachesFive() {
        // N = 27; expected 0.54, 1.35, 10.8 | 10.8 | 2.7, 0.81 -> pools {0,1,2} and {3}, and the
        // remainder {4,5} (3.51 < 5) joins the last pool: two pools, df = 1.
        let observed = [1, 2, 10, 10, 3, 1]
        let probabilities = [0.02, 0.05, 0.4, 0.4, 0.1, 0.03]
        let result = chiSquareTest(observed: observed, probabilities: probabilities)
        let e = probabilities.map { 27 * $0 }
        let firstPool = (e[0] + e[1]) + e[2]
        let secondPool = e[3] + (e[4] + e[5])
        let want = (13 - firstPool) * (13 - firstPool) / firstPool
            + (14 - secondPool) * (14 - secondPool) / secondPool
        #expect(result.degreesOfFreedom == 1)
        #expect(abs(result.statistic - want) <= 4 * epsilon * want, "\(result.statistic) vs \(want)")
        #expect(result.pValue == SpecialFunctions.chiSquareSurvival(result.statistic, degreesOfFreedom: 1))
    }

    @Test func chiSquareDegreesOfFreedomSubtractEstimatedParameters() {
        let observed = [20, 25, 30, 25]
        let probabilities = [0.25, 0.25, 0.25, 0.25]
        let plain = chiSquareTest(observed: observed, probabilities: probabilities)
        let fitted = chiSquareTest(observed: observed, probabilities: probabilities, estimatedParameters: 2)
        #expect(plain.degreesOfFreedom == 3 && fitted.degreesOfFreedom == 1)
        #expect(plain.statistic == fitted.statistic)
        #expect(plain.statistic == 2) // (25 + 0 + 25 + 0) / 25
    }

    @Test func chiSquareOfCountsEqualToTheirExpectationIsZeroWithPValueOne() {
        let result = chiSquareTest(observed: [10, 10, 10, 10], probabilities: [0.25, 0.25, 0.25, 0.25])
        #expect(result.statistic == 0)
        #expect(result.pValue == 1)
    }

    @Test func chiSquareWithTooFewPoolsReportsTheStatisticAndANaNPValue() {
        // N = 4 < 5: everything is one pool, df = 0 -> the test is undefined (a result, e.g. of a
        // collapsed model, not a programmer error).
        let small = chiSquareTest(observed: [3, 1], probabilities: [0.5, 0.5])
        #expect(small.degreesOfFreedom == 0)
        #expect(small.statistic == 0)
        #expect(small.pValue.isNaN)
        // Two pools but two estimated parameters: df = -1.
        let overfitted = chiSquareTest(observed: [10, 10], probabilities: [0.5, 0.5], estimatedParameters: 2)
        #expect(overfitted.degreesOfFreedom == -1)
        #expect(overfitted.pValue.isNaN)
    }
}

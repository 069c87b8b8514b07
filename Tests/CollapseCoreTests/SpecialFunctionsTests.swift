import CollapseCore
import Foundation
import Testing

/// Accuracy tests of `SpecialFunctions` against mpmath (50 digits) reference values from
/// `Fixtures/SpecialFunctionReferenceValues.swift`. Each tolerance is the bound promised in the
/// function's doc comment; the references are the exact values rounded once to a double
/// (≤ ε/2 = 1.1e-16 relative), which every bound absorbs.
@Suite struct SpecialFunctionsTests {
    typealias Reference = SpecialFunctionReferenceValues
    let epsilon = StatisticsTestSupport.epsilon

    // MARK: log-gamma

    @Test func logGammaMatchesMpmathToRelative1e14AndAbsolute1e16NearItsZeros() {
        var relative = AccuracyCheck("logGamma (relative)")
        var absolute = AccuracyCheck("logGamma (absolute, |value| < 0.01)")
        for row in fixtureRows(Reference.logGamma, width: 2) {
            let (x, want) = (row[0], row[1])
            let got = SpecialFunctions.logGamma(x)
            if abs(want) < 0.01 {
                absolute.absolute(got, want, tolerance: 1e-16, at: "\(x)")
            } else {
                relative.relative(got, want, tolerance: 1e-14, at: "\(x)")
            }
        }
        relative.report()
        absolute.report()
    }

    @Test func logGammaIsExactlyZeroAtOneAndTwoAndInfiniteAtZero() {
        #expect(SpecialFunctions.logGamma(1) == 0)
        #expect(SpecialFunctions.logGamma(2) == 0)
        #expect(SpecialFunctions.logGamma(0) == .infinity)
        #expect(SpecialFunctions.logGamma(.infinity) == .infinity)
        #expect(SpecialFunctions.logGamma(.nan).isNaN)
    }

    @Test func logGammaSatisfiesTheRecurrenceLogGammaOfXPlusOneIsLogXPlusLogGammaX() {
        // log Γ(x+1) = log x + log Γ(x). For x in [3, 50] both sides are ≥ 0.69 and each is
        // accurate to 1e-14 relative, so they agree to 3e-14 relative (x + 1 is exact).
        var generator = TestSplitMix64(state: StatisticsTestSupport.seed)
        for _ in 0 ..< 200 {
            let x = 3 + 47 * generator.nextUniform()
            let left = SpecialFunctions.logGamma(x + 1)
            let right = log(x) + SpecialFunctions.logGamma(x)
            #expect(abs(left - right) <= 3e-14 * abs(left), "x = \(x): \(left) vs \(right)")
        }
    }

    // MARK: digamma

    @Test func digammaMatchesMpmathToRelative1e13ForPositiveArguments() {
        var check = AccuracyCheck("digamma (x > 0, relative)")
        for row in fixtureRows(Reference.digammaPositive, width: 2) {
            check.relative(SpecialFunctions.digamma(row[0]), row[1], tolerance: 1e-13, at: "\(row[0])")
        }
        check.report()
    }

    @Test func digammaHasAbsoluteErrorBelow1e15NearItsPositiveZero() {
        let root = 1.4616321449683623
        var check = AccuracyCheck("digamma (|x - x0| <= 0.5, absolute)")
        for row in fixtureRows(Reference.digammaPositive, width: 2) where abs(row[0] - root) <= 0.5 {
            check.absolute(SpecialFunctions.digamma(row[0]), row[1], tolerance: 1e-15, at: "\(row[0])")
        }
        #expect(check.comparisons >= 50)
        check.report()
    }

    @Test func digammaForNegativeArgumentsIsAccurateOnTheScaleOfTheReflectionFormula() {
        // Documented bound: |error| ≤ 1e-13 · (|ψ(1-x)| + |π cot(πx)|); the scale comes from mpmath.
        var check = AccuracyCheck("digamma (x < 0, absolute / reflection scale)")
        for row in fixtureRows(Reference.digammaNegative, width: 3) {
            let (x, want, scale) = (row[0], row[1], row[2])
            check.absolute(SpecialFunctions.digamma(x) / scale, want / scale, tolerance: 1e-13, at: "\(x)")
        }
        check.report()
    }

    @Test func digammaIsNaNAtThePolesAndInfiniteAtInfinity() {
        for x in [0.0, -0.0, -1, -2, -17, -1e10, -0x1p60, -Double.infinity, Double.nan] {
            #expect(SpecialFunctions.digamma(x).isNaN, "digamma(\(x)) = \(SpecialFunctions.digamma(x))")
        }
        #expect(SpecialFunctions.digamma(.infinity) == .infinity)
        // ψ(1) = -γ (Euler–Mascheroni), a classical closed form.
        #expect(abs(SpecialFunctions.digamma(1) + 0.5772156649015329) <= 1e-13 * 0.5772156649015329)
    }

    // MARK: incomplete gamma and chi-square

    @Test func regularizedGammaPAndQMatchMpmathToRelative1e12() {
        // Bound documented for a in [0.5, 1e4], x in [0, 1e5], results ≥ 1e-290.
        var lower = AccuracyCheck("regularizedGammaP")
        var upper = AccuracyCheck("regularizedGammaQ")
        for row in fixtureRows(Reference.regularizedGamma, width: 4) {
            let (a, x, p, q) = (row[0], row[1], row[2], row[3])
            if p >= 1e-290 {
                lower.relative(SpecialFunctions.regularizedGammaP(a, x), p, tolerance: 1e-12, at: "\(a), \(x)")
            }
            if q >= 1e-290 {
                upper.relative(SpecialFunctions.regularizedGammaQ(a, x), q, tolerance: 1e-12, at: "\(a), \(x)")
            }
        }
        #expect(lower.comparisons > 300 && upper.comparisons > 300)
        lower.report()
        upper.report()
    }

    @Test func regularizedGammaPPlusQIsOne() {
        // One of P, Q is 1 minus the other (one rounding), so P + Q = 1 within 2ε.
        for row in fixtureRows(Reference.regularizedGamma, width: 4) {
            let p = SpecialFunctions.regularizedGammaP(row[0], row[1])
            let q = SpecialFunctions.regularizedGammaQ(row[0], row[1])
            #expect(abs(p + q - 1) <= 2 * epsilon, "a = \(row[0]), x = \(row[1]): P = \(p), Q = \(q)")
        }
    }

    @Test func regularizedGammaHasExactValuesAtTheEndsOfItsRange() {
        #expect(SpecialFunctions.regularizedGammaP(2.5, 0) == 0)
        #expect(SpecialFunctions.regularizedGammaQ(2.5, 0) == 1)
        #expect(SpecialFunctions.regularizedGammaP(2.5, .infinity) == 1)
        #expect(SpecialFunctions.regularizedGammaQ(2.5, .infinity) == 0)
        #expect(SpecialFunctions.regularizedGammaP(.nan, 1).isNaN)
        #expect(SpecialFunctions.regularizedGammaQ(1, .nan).isNaN)
    }

    @Test func regularizedGammaWithShapeOneIsTheExponentialDistribution() {
        // Closed form: Q(1, x) = e^(-x), P(1, x) = -expm1(-x); each side is accurate to ~1e-15
        // relative here (x ≤ 700 keeps the exponent error ≤ 700 ε ≈ 1.6e-13), so 1e-12 holds.
        var check = AccuracyCheck("regularizedGamma(1, x) vs exp")
        for x in [1e-10, 0.1, 0.5, 1, 1.999, 2, 5, 30, 100, 700] {
            check.relative(SpecialFunctions.regularizedGammaQ(1, x), exp(-x), tolerance: 1e-12, at: "Q, \(x)")
            check.relative(SpecialFunctions.regularizedGammaP(1, x), -expm1(-x), tolerance: 1e-12, at: "P, \(x)")
        }
    }

    @Test func chiSquareCDFAndSurvivalMatchMpmath() {
        var cdf = AccuracyCheck("chiSquareCDF")
        var survival = AccuracyCheck("chiSquareSurvival")
        for row in fixtureRows(Reference.chiSquare, width: 4) {
            let (x, k) = (row[0], row[1])
            cdf.relative(SpecialFunctions.chiSquareCDF(x, degreesOfFreedom: k), row[2], tolerance: 1e-12, at: "\(x), k = \(k)")
            survival.relative(SpecialFunctions.chiSquareSurvival(x, degreesOfFreedom: k), row[3], tolerance: 1e-12, at: "\(x), k = \(k)")
        }
        cdf.report()
        survival.report()
    }

    @Test func chiSquareOfNonPositiveArgumentIsZeroCDFAndUnitSurvival() {
        for x in [0.0, -1, -Double.infinity] {
            #expect(SpecialFunctions.chiSquareCDF(x, degreesOfFreedom: 3) == 0)
            #expect(SpecialFunctions.chiSquareSurvival(x, degreesOfFreedom: 3) == 1)
        }
        #expect(SpecialFunctions.chiSquareCDF(.infinity, degreesOfFreedom: 3) == 1)
        #expect(SpecialFunctions.chiSquareSurvival(.infinity, degreesOfFreedom: 3) == 0)
    }

    // MARK: normal distribution

    @Test func normalCDFMatchesMpmathToRelative1e14FromMinus37_5To8_3() {
        var check = AccuracyCheck("normalCDF")
        for row in fixtureRows(Reference.normalCDF, width: 2) {
            check.relative(SpecialFunctions.normalCDF(row[0]), row[1], tolerance: 1e-14, at: "\(row[0])")
        }
        check.report()
    }

    @Test func normalSurvivalIsTheCDFOfTheNegatedArgumentAndAccurateInTheUpperTail() {
        var check = AccuracyCheck("normalSurvival")
        for row in fixtureRows(Reference.normalCDF, width: 2) {
            // Q(-x) = Φ(x): the upper tail out to x = 37.5 comes from the same references.
            check.relative(SpecialFunctions.normalSurvival(-row[0]), row[1], tolerance: 1e-14, at: "\(-row[0])")
        }
        #expect(SpecialFunctions.normalSurvival(.infinity) == 0)
        #expect(SpecialFunctions.normalSurvival(-.infinity) == 1)
        check.report()
    }

    @Test func normalCDFIsMonotoneAndHasExactLimits() {
        var previous = 0.0
        var x = -40.0
        while x <= 9 {
            let value = SpecialFunctions.normalCDF(x)
            #expect(value >= previous, "normalCDF(\(x)) = \(value) < \(previous)")
            previous = value
            x += 0.001
        }
        #expect(SpecialFunctions.normalCDF(-.infinity) == 0)
        #expect(SpecialFunctions.normalCDF(.infinity) == 1)
        #expect(SpecialFunctions.normalCDF(0) == 0.5)
        #expect(SpecialFunctions.normalCDF(.nan).isNaN)
    }

    @Test func normalLogCDFMatchesMpmathToRelative1e14DownToMinus1e5() {
        var check = AccuracyCheck("normalLogCDF")
        for row in fixtureRows(Reference.normalLogCDF, width: 2) {
            check.relative(SpecialFunctions.normalLogCDF(row[0]), row[1], tolerance: 1e-14, at: "\(row[0])")
        }
        #expect(SpecialFunctions.normalLogCDF(-1e5).isFinite)
        #expect(SpecialFunctions.normalLogCDF(-.infinity) == -.infinity)
        #expect(SpecialFunctions.normalLogCDF(.infinity) == 0)
        check.report()
    }

    @Test func normalLogDensityMatchesMpmath() {
        // Two roundings (x², the sum) plus the rounded constant: ≤ 2ε relative.
        var check = AccuracyCheck("normalLogDensity")
        for row in fixtureRows(Reference.normalLogDensity, width: 2) {
            check.relative(SpecialFunctions.normalLogDensity(row[0]), row[1], tolerance: 2 * epsilon, at: "\(row[0])")
        }
        #expect(SpecialFunctions.normalLogDensity(.infinity) == -.infinity)
    }

    @Test func normalQuantileMatchesMpmathToRelative1e14() {
        var check = AccuracyCheck("normalQuantile")
        for row in fixtureRows(Reference.normalQuantile, width: 2) {
            check.relative(SpecialFunctions.normalQuantile(row[0]), row[1], tolerance: 1e-14, at: "\(row[0])")
        }
        check.report()
    }

    @Test func normalQuantileInvertsCDFToFullPrecisionInTheLowerTail() {
        // For x ≤ -1 the CDF returns p = Φ(x)(1 + δ), |δ| ≤ 1e-14, whose exact quantile is
        // x + δΦ(x)/φ(x); by the Mills-ratio bound Φ(x) ≤ φ(x)/|x| that moves x by at most
        // |δ|·|x|/x² ≤ 1e-14·|x|. Adding the quantile's own 1e-14 gives 2e-14 relative.
        var generator = TestSplitMix64(state: StatisticsTestSupport.seed)
        var check = AccuracyCheck("normalQuantile(normalCDF(x))")
        for _ in 0 ..< 2000 {
            let x = -1 - 36 * generator.nextUniform()
            check.relative(SpecialFunctions.normalQuantile(SpecialFunctions.normalCDF(x)), x, tolerance: 2e-14, at: "\(x)")
        }
        check.report()
    }

    @Test func normalQuantileIsInfiniteAtZeroAndOneAndNaNOutsideTheUnitInterval() {
        #expect(SpecialFunctions.normalQuantile(0) == -.infinity)
        #expect(SpecialFunctions.normalQuantile(1) == .infinity)
        #expect(SpecialFunctions.normalQuantile(0.5) == 0)
        for p in [-0.1, 1.1, -Double.infinity, Double.infinity, Double.nan, -0x1p-1074] {
            #expect(SpecialFunctions.normalQuantile(p).isNaN, "normalQuantile(\(p))")
        }
        #expect(SpecialFunctions.normalQuantile(0x1p-1074).isFinite)
    }

    @Test func normalQuantileIsAntisymmetricAboutOneHalf() {
        // For p ≥ 1/2, 1 - p is exact, and the implementation reduces p > 1/2 to 1 - p, so
        // Φ⁻¹(p) = -Φ⁻¹(1 - p) holds exactly.
        var generator = TestSplitMix64(state: StatisticsTestSupport.seed ^ 0x5EED)
        for _ in 0 ..< 500 {
            let p = 0.5 + 0.5 * generator.nextUniform()
            if p == 1 { continue }
            #expect(SpecialFunctions.normalQuantile(p) == -SpecialFunctions.normalQuantile(1 - p), "p = \(p)")
        }
    }

    // MARK: logSumExp

    @Test func logSumExpMatchesMpmath() {
        // Documented bound ε·|result| + (n + 1)·ε, plus ε/2·|result| for the rounded reference.
        var check = AccuracyCheck("logSumExp")
        for (row, want) in zip(Reference.logSumExpInputs, Reference.logSumExpValues) {
            let got = SpecialFunctions.logSumExp(row)
            let tolerance = 1.5 * epsilon * abs(want) + Double(row.count + 1) * epsilon
            check.absolute(got, want, tolerance: tolerance, at: "\(row.count) terms starting \(row[0])")
            let viaBuffer = row.withUnsafeBufferPointer { SpecialFunctions.logSumExp($0) }
            #expect(viaBuffer == got)
        }
        check.report()
    }

    @Test func logSumExpHandlesEmptyInfiniteNaNAndHugeInputs() {
        #expect(SpecialFunctions.logSumExp([]) == -.infinity)
        #expect(SpecialFunctions.logSumExp([-.infinity, -.infinity]) == -.infinity)
        #expect(SpecialFunctions.logSumExp([1, .infinity, 3]) == .infinity)
        #expect(SpecialFunctions.logSumExp([1, .nan, .infinity]).isNaN)
        #expect(SpecialFunctions.logSumExp([-.infinity, 2.5]) == 2.5)
        #expect(SpecialFunctions.logSumExp([7.25]) == 7.25)
        // No overflow: log(2 e^1000) = 1000 + log 2, and 1e308 + log 2 rounds to 1e308.
        #expect(abs(SpecialFunctions.logSumExp([1000, 1000]) - (1000 + M_LN2)) <= 2 * epsilon * 1000)
        #expect(SpecialFunctions.logSumExp([1e308, 1e308]) == 1e308)
        #expect(abs(SpecialFunctions.logSumExp([-1000, -1000]) - (-1000 + M_LN2)) <= 2 * epsilon * 1000)
    }

    // MARK: Kolmogorov distribution

    @Test func kolmogorovSurvivalMatchesMpmathToRelative1e14() {
        var check = AccuracyCheck("kolmogorovSurvival")
        for row in fixtureRows(Reference.kolmogorovSurvival, width: 2) {
            check.relative(SpecialFunctions.kolmogorovSurvival(row[0]), row[1], tolerance: 1e-14, at: "\(row[0])")
        }
        check.report()
    }

    @Test func kolmogorovSurvivalHasExactLimits() {
        #expect(SpecialFunctions.kolmogorovSurvival(0) == 1)
        #expect(SpecialFunctions.kolmogorovSurvival(-3) == 1)
        #expect(SpecialFunctions.kolmogorovSurvival(1e-3) == 1)
        #expect(SpecialFunctions.kolmogorovSurvival(.infinity) == 0)
        #expect(SpecialFunctions.kolmogorovSurvival(.nan).isNaN)
    }
}

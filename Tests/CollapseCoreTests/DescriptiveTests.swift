@testable import CollapseCore
import Foundation
import Testing

/// Descriptive statistics against exact moments (mpmath, 50 digits, of the very doubles in the
/// fixture) and against numpy.quantile, plus the documented edge cases.
@Suite struct DescriptiveTests {
    typealias Reference = SpecialFunctionReferenceValues
    let epsilon = StatisticsTestSupport.epsilon

    // MARK: moments

    @Test func meanIsWithinOneRoundingOfTheExactMean() {
        // Documented bound ε·|x̄| + n·ε²·mean|x|; the second term is < 1e-20 relative here.
        for row in Reference.descriptiveInputs.indices {
            let x = Reference.descriptiveInputs[row]
            let want = Reference.descriptiveMoments[row][0]
            let meanAbs = x.reduce(0) { $0 + abs($1) } / Double(x.count)
            let tolerance = epsilon * abs(want) + Double(x.count) * epsilon * epsilon * meanAbs
            let got = Descriptive.mean(x)
            #expect(abs(got - want) <= tolerance, "row \(row): got \(got), want \(want)")
        }
    }

    @Test func varianceMatchesTheExactValueToEightEpsilonForBothDdof() {
        // Documented bound: relative error ≤ about 8ε, even for the row offset by 1e9 where a
        // one-pass formula would lose every digit.
        var check = AccuracyCheck("variance")
        for row in Reference.descriptiveInputs.indices {
            let x = Reference.descriptiveInputs[row]
            let moments = Reference.descriptiveMoments[row]
            check.relative(Descriptive.variance(x, ddof: 0), moments[1], tolerance: 8 * epsilon, at: "row \(row), ddof 0")
            check.relative(Descriptive.variance(x, ddof: 1), moments[2], tolerance: 8 * epsilon, at: "row \(row), ddof 1")
            let sd = Descriptive.standardDeviation(x, ddof: 1)
            check.relative(sd, moments[2].squareRoot(), tolerance: 5 * epsilon, at: "row \(row), standard deviation")
        }
        check.report()
    }

    @Test func skewnessAndExcessKurtosisMatchTheExactBiasedEstimators() {
        // Documented bounds: |Δ skewness| ≤ 10ε·(mean|d|³)/m₂^1.5 and
        // |Δ kurtosis| ≤ 12ε·m₄/m₂², with d the deviations from the mean. The scales are
        // computed here in double precision, which is ample for a bound.
        var skewness = AccuracyCheck("skewness")
        var kurtosis = AccuracyCheck("excessKurtosis")
        for row in Reference.descriptiveInputs.indices {
            let x = Reference.descriptiveInputs[row]
            let moments = Reference.descriptiveMoments[row]
            let n = Double(x.count)
            let m = Descriptive.mean(x)
            let m2 = x.reduce(0) { $0 + ($1 - m) * ($1 - m) } / n
            let absoluteThird = x.reduce(0) { $0 + pow(abs($1 - m), 3) } / n
            let fourth = x.reduce(0) { $0 + pow($1 - m, 4) } / n
            skewness.absolute(Descriptive.skewness(x), moments[3],
                              tolerance: 10 * epsilon * absoluteThird / pow(m2, 1.5), at: "row \(row)")
            kurtosis.absolute(Descriptive.excessKurtosis(x), moments[4],
                              tolerance: 12 * epsilon * fourth / (m2 * m2), at: "row \(row)")
        }
        skewness.report()
        kurtosis.report()
    }

    @Test func varianceOfConstantDataIsExactlyZeroAndHigherMomentsAreNaN() {
        var generator = TestSplitMix64(state: StatisticsTestSupport.seed)
        for value in [0.1, -3.7, 1e9 + 0.3, 1e-300, 123_456.789, -0.0] {
            let n = 1 + Int(generator.next() % 5000)
            let x = [Double](repeating: value, count: n)
            #expect(Descriptive.mean(x) == value, "mean of \(n) copies of \(value)")
            #expect(Descriptive.variance(x, ddof: 0) == 0, "variance of \(n) copies of \(value)")
            if n > 1 { #expect(Descriptive.variance(x, ddof: 1) == 0) }
            #expect(Descriptive.standardDeviation(x, ddof: 0) == 0)
            #expect(Descriptive.skewness(x).isNaN)
            #expect(Descriptive.excessKurtosis(x).isNaN)
        }
    }

    @Test func varianceOfASingleObservationWithDdofZeroIsZero() {
        #expect(Descriptive.variance([42.5], ddof: 0) == 0)
        #expect(Descriptive.mean([42.5]) == 42.5)
    }

    @Test func momentsPropagateNaNAndInfinity() {
        #expect(Descriptive.mean([1, .nan, 3]).isNaN)
        #expect(Descriptive.mean([1, .infinity]) == .infinity)
        #expect(Descriptive.variance([1, .nan, 3], ddof: 0).isNaN)
        #expect(Descriptive.variance([1, .infinity], ddof: 0).isNaN)
        // The same at every position of the four interleaved lanes and of the scalar tail, and
        // for lengths around multiples of four.
        for n in [4, 5, 7, 8, 9, 13] {
            for k in 0..<n {
                var x = (0..<n).map { Double($0) + 0.25 }
                x[k] = .infinity
                #expect(Descriptive.mean(x) == .infinity, "n \(n), inf at \(k)")
                x[k] = -.infinity
                #expect(Descriptive.mean(x) == -.infinity, "n \(n), -inf at \(k)")
                x[(k + 1) % n] = .infinity
                #expect(Descriptive.mean(x).isNaN, "n \(n), inf and -inf")
                x[(k + 1) % n] = 1
                x[k] = .nan
                #expect(Descriptive.mean(x).isNaN && Descriptive.variance(x, ddof: 1).isNaN, "n \(n), NaN at \(k)")
                x[k] = 1e308
                x[(k + 1) % n] = 1e308
                #expect(Descriptive.mean(x) == .infinity, "n \(n): the sum overflows as documented")
            }
        }
    }

    /// The four-lane mean and variance equal a plain compensated sum to within one rounding of
    /// the result, whatever the length (lanes and tail).
    @Test func lanedMomentsAgreeWithASequentialCompensatedSum() {
        var generator = TestSplitMix64(state: StatisticsTestSupport.seed)
        for n in 1...40 {
            let x = (0..<n).map { _ in Double(generator.next() % 1_000_000) / 1000 - 500 + 1e6 }
            var sum = CompensatedSum()
            for v in x { sum.add(v) }
            let reference = sum.value / Double(n)
            #expect(abs(Descriptive.mean(x) - reference) <= 2 * reference.ulp, "n \(n)")
            if n >= 2 {
                let m = Descriptive.mean(x)
                var squares = CompensatedSum()
                for v in x { squares.add((v - m) * (v - m)) }
                let variance = squares.value / Double(n - 1)
                #expect(abs(Descriptive.variance(x, ddof: 1) - variance) <= 8 * Double.ulpOfOne * variance, "n \(n)")
            }
        }
    }

    @Test func bufferAndArrayOverloadsAgree() {
        let x = Reference.descriptiveInputs[0]
        x.withUnsafeBufferPointer { buffer in
            #expect(Descriptive.mean(buffer) == Descriptive.mean(x))
            #expect(Descriptive.variance(buffer, ddof: 1) == Descriptive.variance(x, ddof: 1))
            #expect(Descriptive.standardDeviation(buffer, ddof: 0) == Descriptive.standardDeviation(x, ddof: 0))
            #expect(Descriptive.skewness(buffer) == Descriptive.skewness(x))
            #expect(Descriptive.excessKurtosis(buffer) == Descriptive.excessKurtosis(x))
        }
    }

    @Test func momentsOfALargeNormalSampleMatchTheoryWithinFiveStandardErrors() {
        // For n iid N(0, 1) draws the standard errors are 1/√n (mean), √(2/n) (variance),
        // √(6/n) (skewness) and √(24/n) (excess kurtosis), to leading order; 5 of them bound a
        // failure probability of ~6e-7 per statistic and seed.
        var generator = TestSplitMix64(state: StatisticsTestSupport.seed)
        let n = 100_000
        let x = (0 ..< n).map { _ in generator.nextNormal() }
        let rootN = Double(n).squareRoot()
        #expect(abs(Descriptive.mean(x)) < 5 / rootN)
        #expect(abs(Descriptive.variance(x, ddof: 1) - 1) < 5 * 2.0.squareRoot() / rootN)
        #expect(abs(Descriptive.skewness(x)) < 5 * 6.0.squareRoot() / rootN)
        #expect(abs(Descriptive.excessKurtosis(x)) < 5 * 24.0.squareRoot() / rootN)
    }

    // MARK: quantiles

    @Test func quantileMatchesNumpyBitForBit() {
        for row in Reference.quantileInputs.indices {
            let sorted = Reference.quantileInputs[row].sorted()
            for (p, want) in zip(Reference.quantileProbabilities, Reference.quantileValues[row]) {
                let got = Descriptive.quantile(sorted, p)
                #expect(got == want, "row \(row), p = \(p): got \(got), numpy \(want)")
            }
        }
    }

    @Test func quantilesOfUnsortedDataEqualQuantilesOfTheSortedCopy() {
        for row in Reference.quantileInputs.indices {
            let unsorted = Reference.quantileInputs[row]
            let ps = Reference.quantileProbabilities
            let got = Descriptive.quantiles(of: unsorted, ps)
            #expect(got == Reference.quantileValues[row], "row \(row)")
            #expect(Descriptive.median(of: unsorted) == Descriptive.quantile(unsorted.sorted(), 0.5))
        }
        #expect(Descriptive.quantiles(of: [3, 1, 2], []) == [])
    }

    /// `quantiles(of:)` selects instead of sorting: the same bits as `quantile` on `sorted()` for
    /// ties, both signed zeros (sorted() keeps them in input order), infinities, runs that
    /// defeat a naive pivot (sorted, reversed, constant, organ pipe), and sizes 1 ... 2000.
    @Test func selectionGivesTheBitsOfTheSortedCopy() {
        var rng = Philox4x32(seed: 20_261_129, path: [0x51])
        let ps = [0.5, 0.05, 0.95, 0, 1, 0.25, 0.999, 1.0 / 3]
        var cases: [[Double]] = []
        for n in [1, 2, 3, 5, 16, 17, 33, 100, 1000, 2000] {
            cases.append((0..<n).map { _ in rng.nextDouble() - 0.5 })
            cases.append((0..<n).map { _ in Double(Int(rng.nextDouble() * 4)) - 2 })  // ties
            cases.append((0..<n).map { _ in [-0.0, 0.0, 1, -1][Int(rng.nextDouble() * 4)] })  // signed zeros
            cases.append((0..<n).map { _ in [0.0, -0.0][Int(rng.nextDouble() * 2)] })
            cases.append((0..<n).map { _ in [-Double.infinity, .infinity, 0, 2.5][Int(rng.nextDouble() * 4)] })
            cases.append((0..<n).map(Double.init))
            cases.append((0..<n).map { Double(n - $0) })
            cases.append([Double](repeating: 7, count: n))
            cases.append((0..<n).map { Double(min($0, n - $0)) })
        }
        for (c, x) in cases.enumerated() {
            let sorted = x.sorted()
            let want = ps.map { Descriptive.quantile(sorted, $0).bitPattern }
            let got = Descriptive.quantiles(of: x, ps).map(\.bitPattern)
            #expect(got == want, "case \(c) (n = \(x.count))")
        }
    }

    @Test func quantileAtZeroAndOneAreTheMinimumAndMaximum() {
        let sorted = [-2.5, -1, 0, 4, 4, 9.75]
        #expect(Descriptive.quantile(sorted, 0) == -2.5)
        #expect(Descriptive.quantile(sorted, 1) == 9.75)
        sorted.withUnsafeBufferPointer { buffer in
            #expect(Descriptive.quantile(buffer, 0) == -2.5)
            #expect(Descriptive.quantile(buffer, 1) == 9.75)
        }
    }

    @Test func quantileOfASingleObservationIsThatObservationForEveryP() {
        for p in [0, 0.1, 0.5, 0.999, 1] {
            #expect(Descriptive.quantile([3.25], p) == 3.25)
        }
        #expect(Descriptive.median(of: [3.25]) == 3.25)
    }

    @Test func medianIsTheMiddleElementOrTheMidpointOfTheTwoMiddleElements() {
        #expect(Descriptive.median(of: [5, 1, 3]) == 3)
        #expect(Descriptive.median(of: [4, 1, 3, 2]) == 2.5)
        [1.0, 2, 10].withUnsafeBufferPointer { #expect(Descriptive.median(sorted: $0) == 2) }
    }

    @Test func quantileDoesNotOverflowOrProduceNaNAtInfiniteOrHugeNeighbours() {
        // numpy returns NaN or ±∞ in these cases; the documented behaviour is finite where the
        // answer is finite.
        #expect(Descriptive.quantile([-1.7e308, 1.7e308], 0.5) == 0)
        let withInfinities = [-Double.infinity, 0, .infinity]
        #expect(Descriptive.quantile(withInfinities, 0) == -.infinity)
        #expect(Descriptive.quantile(withInfinities, 0.5) == 0)
        #expect(Descriptive.quantile(withInfinities, 1) == .infinity)
        #expect(Descriptive.quantile([1, .infinity, .infinity], 0.75) == .infinity)
    }
}

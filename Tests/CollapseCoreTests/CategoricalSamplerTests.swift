#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif
import Testing
@testable import CollapseCore

/// Multinomial, AliasTable and Zipf. Stream paths `[0x5A, 0x4xx]`.
@Suite struct CategoricalSamplerTests {
    // MARK: Multinomial

    /// Each count is marginally Binomial(n, pᵢ): per category, mean npᵢ, variance npᵢqᵢ,
    /// μ₄ = npᵢqᵢ(1 + 3(n−2)pᵢqᵢ) (SEs in `expectMoments`), over 10⁵ draws of n = 50 on V = 5
    /// categories; every draw sums to n exactly and the zero-probability category stays at 0.
    @Test func multinomialMarginalsAreBinomial() {
        var rng = Philox4x32(seed: testSeed, path: [0x5A, 0x401])
        let p = [0.1, 0.2, 0, 0.3, 0.4]
        let n = 50
        let draws = 100_000
        var columns = [[Double]](repeating: [], count: p.count)
        var buffer = [Int](repeating: 0, count: p.count)
        var allSumToN = true, zeroStaysZero = true
        for _ in 0..<draws {
            p.withUnsafeBufferPointer { probabilities in
                buffer.withUnsafeMutableBufferPointer {
                    Multinomial.counts(total: n, probabilities: probabilities, into: $0, using: &rng)
                }
            }
            allSumToN = allSumToN && buffer.reduce(0, +) == n
            zeroStaysZero = zeroStaysZero && buffer[2] == 0
            for i in p.indices { columns[i].append(Double(buffer[i])) }
        }
        #expect(allSumToN)
        #expect(zeroStaysZero)
        for (i, pi) in p.enumerated() where pi > 0 {
            let npq = Double(n) * pi * (1 - pi)
            expectMoments(columns[i], mean: Double(n) * pi, variance: npq,
                          fourthCentralMoment: npq * (1 + 3 * Double(n - 2) * pi * (1 - pi)), "category \(i)")
        }
    }

    /// n = 10¹² over V = 10⁵ Zipf categories is O(V), not O(n): it finishes in well under the
    /// 30 s allowed here even in a debug build; counts sum to n exactly, zero-probability
    /// categories get 0, and the counts fit their expectations (chi-square, V − 1 df, p > 10⁻⁴).
    @Test func hugeMultinomialIsExactAndFast() {
        var rng = Philox4x32(seed: testSeed, path: [0x5A, 0x402])
        let v = 100_000
        var p = Zipf.probabilities(vocabulary: v, exponent: 1.1)
        for i in stride(from: 7, to: v, by: 1000) { p[i] = 0 }  // some holes
        let total = 1_000_000_000_000
        let clock = ContinuousClock()
        var counts: [Int] = []
        let elapsed = clock.measure { counts = Multinomial.counts(total: total, probabilities: p, using: &rng) }
        #expect(elapsed < .seconds(30), "n = 10^12 over V = 10^5 took \(elapsed)")
        #expect(counts.reduce(0, +) == total)
        #expect(zip(p, counts).allSatisfy { $0.0 > 0 || $0.1 == 0 })
        let mass = p.reduce(0, +)
        let result = chiSquareTest(observed: counts, probabilities: p.map { $0 / mass })
        #expect(result.pValue > goodnessOfFitThreshold, "chi2 = \(result.statistic), p = \(result.pValue)")
    }

    /// Probabilities that sum to 1 only within rounding (ten times 0.1 sums to 0.9999999999999999),
    /// or to another positive total, are renormalised: counts still sum to n exactly; a single
    /// positive category takes everything; n = 0 gives zeros.
    @Test func multinomialRenormalisesAndHandlesEdges() {
        var rng = Philox4x32(seed: testSeed, path: [0x5A, 0x403])
        let tenths = [Double](repeating: 0.1, count: 10)
        for n in [0, 1, 7, 1000, 123_456_789_012] {
            #expect(Multinomial.counts(total: n, probabilities: tenths, using: &rng).reduce(0, +) == n)
            #expect(Multinomial.counts(total: n, probabilities: [3, 0, 5, 2], using: &rng).reduce(0, +) == n)
            #expect(Multinomial.counts(total: n, probabilities: [0, 0, 2.5, 0], using: &rng) == [0, 0, n, 0])
        }
        #expect(Multinomial.counts(total: 0, probabilities: [0.5, 0.5], using: &rng) == [0, 0])
    }

    // MARK: AliasTable

    /// Alias-table draws fit their weights (chi-square, 2·10⁵ draws, p > 10⁻⁴); zero-weight
    /// outcomes never appear.
    /// Zero-probability categories draw nothing (a collapsed model is mostly zeros, so the
    /// sampler skips them): the counts of the other categories equal a draw over the compacted
    /// probabilities from the same stream, and the stream ends in the same state.
    @Test func zeroProbabilityCategoriesDrawNothing() {
        var rng = Philox4x32(seed: testSeed, path: [0x5A, 0x406])
        var p = (0..<2000).map { _ in rng.nextDouble() < 0.7 ? 0 : rng.nextDouble() }
        p[0] = 0
        p[1999] = 0
        expectSameDrawAsCompacted(p, total: 100_000, path: 0x407)
    }

    /// Draws `total` over `p` and over its positive entries alone from the same stream: the counts
    /// of the positive entries agree, the others are 0, and both streams end in the same state.
    func expectSameDrawAsCompacted(_ p: [Double], total: Int, path: UInt32) {
        let nonzero = p.indices.filter { p[$0] > 0 }
        var a = Philox4x32(seed: testSeed, path: [0x5A, path]), b = a
        let full = Multinomial.counts(total: total, probabilities: p, using: &a)
        let compact = Multinomial.counts(total: total, probabilities: nonzero.map { p[$0] }, using: &b)
        #expect(nonzero.map { full[$0] } == compact)
        #expect(p.indices.allSatisfy { p[$0] > 0 || full[$0] == 0 })
        #expect(a == b)
    }

    /// Runs of eight zeros are skipped in one test: long runs, -0.0, a length that is not a
    /// multiple of eight and a positive last entry give the draw over the compacted probabilities.
    @Test func zeroRunsAreSkippedWithTheSameDraw() {
        var rng = Philox4x32(seed: testSeed, path: [0x5A, 0x408])
        var p = [Double](repeating: 0, count: 2001)
        for i in stride(from: 1000, to: 2001, by: 37) { p[i] = rng.nextDouble() }
        for i in 0..<7 { p[i] = rng.nextDouble() }       // a partial block at the start
        for i in 500..<520 { p[i] = -0.0 }               // negative zeros draw nothing either
        p[2000] = 0.25                                   // the last, alone in its block
        expectSameDrawAsCompacted(p, total: 50_000, path: 0x409)
    }

    /// A NaN after a run of zeros is still refused (the skipped blocks hold zeros only).
    @Test func invalidProbabilityAmongZerosIsRefused() async {
        await #expect(processExitsWith: .failure) {
            var p = [Double](repeating: 0, count: 64)
            p[40] = .nan
            p[63] = 1
            var rng = Philox4x32(seed: 1, path: [1])
            _ = Multinomial.counts(total: 10, probabilities: p, using: &rng)
        }
    }

    @Test func aliasTableMatchesItsWeights() {
        var rng = Philox4x32(seed: testSeed, path: [0x5A, 0x404])
        let weights = [1.0, 0, 3, 0.5, 2, 0, 7.25, 1e-3, 4]
        let table = AliasTable(weights: weights)
        #expect(table.count == weights.count)
        var counts = [Int](repeating: 0, count: weights.count)
        for _ in 0..<200_000 { counts[table.sample(using: &rng)] += 1 }
        #expect(counts[1] == 0 && counts[5] == 0)
        let total = weights.reduce(0, +)
        let result = chiSquareTest(observed: counts, probabilities: weights.map { $0 / total })
        #expect(result.pValue > goodnessOfFitThreshold, "counts \(counts): chi2 = \(result.statistic), p = \(result.pValue)")
    }

    /// A Zipf(V = 1000, s = 1.1) alias table, sampled with `fill`, fits its probabilities
    /// (chi-square with pooling of the rare ranks, 2·10⁵ draws, p > 10⁻⁴).
    @Test func aliasTableSamplesZipf() {
        var rng = Philox4x32(seed: testSeed, path: [0x5A, 0x405])
        let p = Zipf.probabilities(vocabulary: 1000, exponent: 1.1)
        let table = AliasTable(weights: p)
        var draws = [Int](repeating: -1, count: 200_000)
        draws.withUnsafeMutableBufferPointer { table.fill($0, using: &rng) }
        var counts = [Int](repeating: 0, count: p.count)
        for k in draws { counts[k] += 1 }
        let result = chiSquareTest(observed: counts, probabilities: p)
        #expect(result.pValue > goodnessOfFitThreshold, "chi2 = \(result.statistic), p = \(result.pValue)")
    }

    /// With one positive weight, that outcome is returned on every draw — for a good stream and
    /// for both degenerate streams.
    @Test func aliasTableWithOneWeightAlwaysReturnsIt() {
        var rng = Philox4x32(seed: testSeed, path: [0x5A, 0x406])
        var zeros = ConstantStream(value: 0)
        var ones = ConstantStream(value: .max)
        for n in [1, 2, 5, 1000] {
            for position in Set([0, n / 2, n - 1]) {
                var weights = [Double](repeating: 0, count: n)
                weights[position] = 0.25
                let table = AliasTable(weights: weights)
                #expect((0..<2000).allSatisfy { _ in table.sample(using: &rng) == position })
                #expect(table.sample(using: &zeros) == position)
                #expect(table.sample(using: &ones) == position)
            }
        }
    }

    /// `fill` is exactly repeated `sample`, one word per draw.
    @Test func aliasFillEqualsRepeatedSample() {
        let table = AliasTable(weights: [2, 1, 0, 5, 3])
        var a = Philox4x32(seed: testSeed, path: [0x5A, 0x407])
        var b = a
        var filled = [Int](repeating: -1, count: 5000)
        filled.withUnsafeMutableBufferPointer { table.fill($0, using: &a) }
        #expect(filled == (0..<5000).map { _ in table.sample(using: &b) })
        #expect(a == b)
        var c = Philox4x32(seed: testSeed, path: [0x5A, 0x407])
        for _ in 0..<5000 { _ = c.nextUInt64() }
        #expect(a == c, "the alias table should take exactly one word per draw")
    }

    // MARK: Zipf

    /// Zipf probabilities sum to 1 within a few ulps (compensated sum of the returned values,
    /// |Σ − 1| ≤ 4 ulp(1)), decrease with rank as k^(−s) (p₁/p₂ = 2^s to 10⁻¹⁵ max(1, |s|)
    /// relative: for s < 0 the ranks are scaled by 1/V, which costs |s| rounding errors), are
    /// uniform for s = 0 and finite for large negative s.
    @Test(arguments: [(1, 1.0), (10, 0.0), (1000, 1.1), (100_000, 1.0), (50_000, 2.5), (1000, -3.0), (20_000, -60.0)])
    func zipfProbabilitiesAreNormalised(vocabulary v: Int, exponent s: Double) {
        let p = Zipf.probabilities(vocabulary: v, exponent: s)
        #expect(p.count == v)
        #expect(p.allSatisfy { $0 >= 0 && $0.isFinite })
        var sum = 0.0, compensation = 0.0
        for x in p {
            let t = sum + x
            compensation += abs(sum) >= abs(x) ? (sum - t) + x : (x - t) + sum
            sum = t
        }
        let total = sum + compensation
        #expect(abs(total - 1) <= 4 * (1.0).ulp, "V = \(v), s = \(s): sum is 1 + \(total - 1)")
        if v >= 2 {
            let ratio = p[0] / p[1]
            #expect(abs(ratio - pow(2, s)) <= 1e-15 * max(1, abs(s)) * pow(2, s), "V = \(v), s = \(s): p1/p2 = \(ratio)")
        }
        if s == 0 { #expect(p.allSatisfy { $0 == 1 / Double(v) }) }
    }
}

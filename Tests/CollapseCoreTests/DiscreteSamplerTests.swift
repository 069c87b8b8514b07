#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif
import Testing
@testable import CollapseCore

/// Poisson and Binomial. Stream paths `[0x5A, 0x3xx]`.
@Suite struct DiscreteSamplerTests {
    /// Moments as Doubles of `k − reference` (exact integer differences, so huge parameters do
    /// not lose the digits that matter).
    func centred(_ ks: [Int], _ reference: Int) -> [Double] { ks.map { Double($0 - reference) } }

    // MARK: Poisson

    /// Poisson(μ) moments: mean μ, variance μ, μ₄ = μ(1 + 3μ); 10⁵ draws, from the inversion
    /// branch to means far beyond 2⁵³ (where a rounded proposal would lose the low digits).
    @Test(arguments: [0.5, 7.0, 10.0, 1e4, 1e12, 0x1p60])
    func poissonMomentsMatch(mean mu: Double) {
        var rng = Philox4x32(seed: testSeed, path: [0x5A, 0x301, UInt32(log2(mu + 1) * 16)])
        let d = Poisson(mean: mu)
        let ks = (0..<100_000).map { _ in d.sample(using: &rng) }
        #expect(ks.allSatisfy { $0 >= 0 })
        let reference = Int(mu.rounded(.down))
        let offset = mu - mu.rounded(.down)
        expectMoments(centred(ks, reference), mean: offset, variance: mu, fourthCentralMoment: mu * (1 + 3 * mu),
                      "Poisson(\(mu))")
    }

    /// Chi-square against the exact pmf on mean ± 8 sd (tails lumped, pooled to expected ≥ 5),
    /// 2·10⁵ draws, for means 0.5 and 7 (inversion) and 10 and 10⁴ (PTRS); p > 10⁻⁴.
    @Test(arguments: [0.5, 7.0, 10.0, 1e4])
    func poissonPassesChiSquare(mean mu: Double) {
        var rng = Philox4x32(seed: testSeed, path: [0x5A, 0x302, UInt32(mu)])
        let d = Poisson(mean: mu)
        let ks = (0..<200_000).map { _ in d.sample(using: &rng) }
        let sd = mu.squareRoot()
        let lo = max(0, Int(mu - 8 * sd))
        let hi = Int(mu + 8 * sd) + 2
        let probabilities = SamplerReference.lumpedProbabilities(lo: lo, hi: hi, support: 0...hi) {
            SamplerReference.poissonPMF($0, mean: mu)
        }
        let result = chiSquareTest(observed: SamplerReference.lumpedCounts(ks, lo: lo, hi: hi), probabilities: probabilities)
        #expect(result.pValue > goodnessOfFitThreshold, "Poisson(\(mu)): chi2 = \(result.statistic), df = \(String(describing: result.degreesOfFreedom)), p = \(result.pValue)")
    }

    /// For a mean of 2⁶⁰ the draws are not confined to a lattice: their residues mod 1024 are
    /// uniform (chi-square, 1024 cells of expected 97.7, p > 10⁻⁴).
    @Test func hugePoissonMeansKeepTheirLowDigits() {
        var rng = Philox4x32(seed: testSeed, path: [0x5A, 0x303])
        let d = Poisson(mean: 0x1p60 + 0.5)
        var counts = [Int](repeating: 0, count: 1024)
        for _ in 0..<100_000 { counts[d.sample(using: &rng) & 1023] += 1 }
        let result = chiSquareTest(observed: counts, probabilities: [Double](repeating: 1.0 / 1024, count: 1024))
        #expect(result.pValue > goodnessOfFitThreshold, "residues mod 1024: chi2 = \(result.statistic), p = \(result.pValue)")
    }

    /// Mean 0 always gives 0, without consuming the stream's randomness in a way that matters.
    @Test func poissonWithMeanZeroIsZero() {
        var rng = Philox4x32(seed: testSeed, path: [0x5A, 0x304])
        let d = Poisson(mean: 0)
        #expect((0..<1000).allSatisfy { _ in d.sample(using: &rng) == 0 })
    }

    // MARK: Binomial

    /// Binomial(n, p) moments: mean np, variance npq, μ₄ = npq(1 + 3(n−2)pq); 10⁵ draws, across
    /// inversion, BTRS, the mirrored branch and n up to Int.max / 2.
    @Test(arguments: [(20, 0.3), (50, 0.97), (1000, 0.5), (1_000_000, 1e-3), (30, 0.4),
                      (1 << 40, 0.7), (Int.max / 2, 0.5), (Int.max / 2, 1e-17)])
    func binomialMomentsMatch(trials n: Int, probability p: Double) {
        var rng = Philox4x32(seed: testSeed, path: [0x5A, 0x305, UInt32(truncatingIfNeeded: n &* 31 &+ Int(p * 1000))])
        let d = Binomial(trials: n, probability: p)
        let ks = (0..<100_000).map { _ in d.sample(using: &rng) }
        #expect(ks.allSatisfy { $0 >= 0 && $0 <= n })
        let q = 1 - p
        let npq = Double(n) * p * q
        // Centre on an integer near np; the exact offset np − reference comes from Double(n)·p,
        // whose rounding error (≤ 2⁻⁵³ np ≈ 256 at n ≈ 4.6·10¹⁸) is far below SE(mean) ≈ 3.4·10⁶.
        let np = Double(n) * p
        let reference = np < 0x1p62 ? Int(np.rounded(.down)) : 0
        let offset = np - Double(reference)
        expectMoments(centred(ks, reference), mean: offset, variance: npq,
                      fourthCentralMoment: npq * (1 + 3 * (Double(n) - 2) * p * q), "Binomial(\(n), \(p))")
    }

    /// Chi-square against the exact pmf (tails lumped beyond ± 8 sd, pooled to expected ≥ 5),
    /// 2·10⁵ draws, for (20, 0.3) and (50, 0.97) (inversion, the latter mirrored), (1000, 0.5)
    /// and (10⁶, 10⁻³) (BTRS), plus (100, 0.1) at the BTRS threshold; p > 10⁻⁴.
    @Test(arguments: [(20, 0.3), (1000, 0.5), (1_000_000, 1e-3), (50, 0.97), (100, 0.1)])
    func binomialPassesChiSquare(trials n: Int, probability p: Double) {
        var rng = Philox4x32(seed: testSeed, path: [0x5A, 0x306, UInt32(n), UInt32(p * 1000)])
        let d = Binomial(trials: n, probability: p)
        let ks = (0..<200_000).map { _ in d.sample(using: &rng) }
        let mean = Double(n) * p
        let sd = (mean * (1 - p)).squareRoot()
        let lo = max(0, Int(mean - 8 * sd))
        let hi = min(n, Int(mean + 8 * sd) + 2)
        let probabilities = SamplerReference.lumpedProbabilities(lo: lo, hi: hi, support: 0...n) {
            SamplerReference.binomialPMF($0, trials: n, probability: p)
        }
        let result = chiSquareTest(observed: SamplerReference.lumpedCounts(ks, lo: lo, hi: hi), probabilities: probabilities)
        #expect(result.pValue > goodnessOfFitThreshold, "Binomial(\(n), \(p)): chi2 = \(result.statistic), p = \(result.pValue)")
    }

    /// For n = Int.max / 2 the draws are not confined to a lattice: residues mod 1024 are uniform
    /// (chi-square, 1024 cells, p > 10⁻⁴), with and without the mirror.
    @Test(arguments: [0.5, 0.8])
    func hugeBinomialsKeepTheirLowDigits(probability p: Double) {
        var rng = Philox4x32(seed: testSeed, path: [0x5A, 0x307, UInt32(p * 10)])
        let d = Binomial(trials: Int.max / 2, probability: p)
        var counts = [Int](repeating: 0, count: 1024)
        for _ in 0..<100_000 { counts[d.sample(using: &rng) & 1023] += 1 }
        let result = chiSquareTest(observed: counts, probabilities: [Double](repeating: 1.0 / 1024, count: 1024))
        #expect(result.pValue > goodnessOfFitThreshold, "residues mod 1024: chi2 = \(result.statistic), p = \(result.pValue)")
    }

    /// `Binomial.sample(trials:probability:using:)` (the multinomial's draw, which skips P(0) when
    /// the uniform is certainly below it) gives the constructed sampler's values and stream use:
    /// random (n, p) over the inversion range with n p' up to and past ½, mirrored p, BTRS; and
    /// at the shortcut's edge, uniforms just below and at the bound and just below and at the
    /// computed P(0), as constant streams.
    @Test func oneOffBinomialDrawsEqualTheConstructedSampler() {
        var rng = Philox4x32(seed: testSeed, path: [0x5A, 0x309])
        var a = Philox4x32(seed: testSeed, path: [0x5A, 0x30A]), b = a
        for _ in 0..<20_000 {
            let n = 1 + rng.nextInt(below: 2_000_000)
            let np = [0.6 * rng.nextDouble(), 1e-6 * rng.nextDouble(), 20 * rng.nextDouble()][rng.nextInt(below: 3)]
            let p = min(np / Double(n), 1)
            let probability = rng.nextInt(below: 4) == 0 ? 1 - p : p
            #expect(Binomial.sample(trials: n, probability: probability, using: &a)
                    == Binomial(trials: n, probability: probability).sample(using: &b), "n \(n), p \(probability)")
        }
        #expect(a == b)
        for (n, p) in [(1, 0.5), (3, 0.1), (1000, 5e-4), (10, 0.05), (1_000_000, 1e-7), (5, 1e-300)] {
            let np = Double(n) * p
            let probabilityOfZero = exp(Double(n) * log1p(-p))
            let bound = (1 - np) - 0x1p-49
            for u in [bound.nextDown, bound, probabilityOfZero.nextDown, probabilityOfZero, probabilityOfZero.nextUp] {
                // The word whose nextDouble() is the multiple of 2^-53 at or below u.
                let word = UInt64(max(0, min(u, 1 - 0x1p-53)) * 0x1p53) << 11
                var c = ConstantStream(value: word), d = ConstantStream(value: word)
                for q in [p, 1 - p] where q <= 1 {
                    #expect(Binomial.sample(trials: n, probability: q, using: &c)
                            == Binomial(trials: n, probability: q).sample(using: &d), "n \(n), p \(q), u \(u)")
                }
            }
        }
    }

    /// Exact edge cases: n = 0 → 0, p = 0 → 0, p = 1 → n, for any stream (even degenerate ones).
    @Test func binomialEdgeCasesAreExact() {
        var rng = Philox4x32(seed: testSeed, path: [0x5A, 0x308])
        var ones = ConstantStream(value: .max)
        for n in [0, 1, 17, 1_000_000, Int.max / 2] {
            #expect(Binomial(trials: n, probability: 0).sample(using: &rng) == 0)
            #expect(Binomial(trials: n, probability: 1).sample(using: &rng) == n)
            #expect(Binomial(trials: n, probability: 0).sample(using: &ones) == 0)
            #expect(Binomial(trials: n, probability: 1).sample(using: &ones) == n)
        }
        for p in [0.0, 1e-300, 0.3, 0.5, 1.0] {
            #expect(Binomial(trials: 0, probability: p).sample(using: &rng) == 0)
        }
    }

    /// The exact double-double np and mode used by BTRS at huge n: for n = 2⁶¹ + 1, p = 0.5,
    /// np = 2⁶⁰ + ½ (floor 2⁶⁰, fraction ½) and the mode ⌊(n+1)p⌋ = 2⁶⁰ + 1.
    @Test func btrsSetUpIsExactAtHugeN() {
        let d = Binomial(trials: (1 << 61) + 1, probability: 0.5)
        guard case .transformedRejection(let c) = d.method else {
            Issue.record("expected BTRS for n = 2^61 + 1")
            return
        }
        #expect(c.meanFloor == 1 << 60)
        #expect(c.meanFraction == 0.5)
        #expect(c.mode == (1 << 60) + 1)
    }

    // MARK: Degenerate streams, determinism

    /// All-zeros and all-ones streams neither crash, hang nor leave the support, and give the
    /// documented values (inversion: 0 and the point where the CDF rounds to 1; PTRS / BTRS: the
    /// mode, after 64 rejections).
    @Test func degenerateStreamsGiveTheDocumentedCounts() {
        var zeros = ConstantStream(value: 0)
        var ones = ConstantStream(value: .max)
        let poissonZeros: [(Double, Int)] = [(0, 0), (0.5, 0), (7, 0), (10, 10), (1e4, 10_000), (1e12, 1_000_000_000_000)]
        for (mu, expected) in poissonZeros {
            #expect(Poisson(mean: mu).sample(using: &zeros) == expected, "Poisson(\(mu)) on all-zeros")
        }
        let poissonOnes: [(Double, Int)] = [(0, 0), (0.5, 14), (7, 38), (10, 10), (1e4, 10_000), (1e12, 1_000_000_000_000)]
        for (mu, expected) in poissonOnes {
            #expect(Poisson(mean: mu).sample(using: &ones) == expected, "Poisson(\(mu)) on all-ones")
        }
        let binomialCases: [(Int, Double, zeros: Int, ones: Int)] = [
            (20, 0.3, 0, 20), (50, 0.97, 50, 32), (1000, 0.5, 500, 500), (1_000_000, 1e-3, 1000, 1000),
            (Int.max / 2, 0.5, Int.max / 4 + 1, Int.max / 4 + 1),
        ]
        for (n, p, z, o) in binomialCases {
            #expect(Binomial(trials: n, probability: p).sample(using: &zeros) == z, "Binomial(\(n), \(p)) on all-zeros")
            #expect(Binomial(trials: n, probability: p).sample(using: &ones) == o, "Binomial(\(n), \(p)) on all-ones")
        }
    }

    /// `fill` is exactly repeated `sample`; the same seed replays the same draws.
    @Test func fillEqualsRepeatedSampleAndSeedsReplay() {
        let start = Philox4x32(seed: testSeed, path: [0x5A, 0x309])
        func check(_ label: String, _ draw: (inout Philox4x32) -> Int,
                   _ fill: (UnsafeMutableBufferPointer<Int>, inout Philox4x32) -> Void) {
            var a = start, b = start, c = start
            var filled = [Int](repeating: -1, count: 2000)
            filled.withUnsafeMutableBufferPointer { fill($0, &a) }
            let repeated = (0..<2000).map { _ in draw(&b) }
            let replay = (0..<2000).map { _ in draw(&c) }
            #expect(filled == repeated, "\(label): fill differs from repeated sample")
            #expect(repeated == replay, "\(label): same seed, different draws")
            #expect(a == b)
        }
        for mu in [3.0, 40.0] {
            let d = Poisson(mean: mu)
            check("Poisson(\(mu))", { d.sample(using: &$0) }, { d.fill($0, using: &$1) })
        }
        for (n, p) in [(10, 0.2), (500, 0.6)] {
            let d = Binomial(trials: n, probability: p)
            check("Binomial(\(n), \(p))", { d.sample(using: &$0) }, { d.fill($0, using: &$1) })
        }
    }
}

import Testing
@testable import CollapseCore

/// StandardNormal (ziggurat) and Normal. Stream paths `[0x5A, 0x1xx]`.
@Suite struct NormalSamplerTests {
    /// The tables solve the defining equations: r and v equal Marsaglia & Tsang's published
    /// 256-layer constants (r = 3.6541528853610088, v = 0.00492867323399) to the digits given,
    /// every layer has area v to 1e-12 relative, and the recursion closes at the top.
    @Test func zigguratTablesSolveTheirDefiningEquations() {
        let t = StandardNormal.tables
        #expect(abs(t.r - 3.6541528853610088) < 1e-14)
        #expect(abs(t.v - 0.00492867323399) < 5e-14)
        #expect(t.x[1] == t.r && t.x[256] == 0)
        // Base strip plus tail: x₀ f(r) = v.
        #expect(abs(t.x[0] * t.f[1] - t.v) < 1e-12 * t.v)
        for i in 1..<256 {
            let area = t.x[i] * (t.f[i + 1] - t.f[i])
            #expect(abs(area - t.v) < 1e-12 * t.v, "layer \(i) has area \(area), not \(t.v)")
            #expect(t.x[i + 1] < t.x[i])
        }
        // The fast-path thresholds: j < kᵢ exactly when j·wᵢ < xᵢ₊₁ (to rounding, at the boundary).
        for i in 0..<256 where t.k[i] > 0 {
            #expect(Double(t.k[i] - 1) * t.w[i] <= t.x[i + 1] * (1 + 1e-15))
            #expect(Double(t.k[i]) * t.w[i] >= t.x[i + 1] * (1 - 1e-15))
        }
        #expect(t.k[255] == 0)  // the top layer is all wedge
    }

    /// Moments of N(0, 1): mean 0, variance 1, μ₄ = 3 (SEs in `expectMoments`), on 2·10⁵ draws.
    @Test func standardNormalMomentsMatch() {
        var rng = Philox4x32(seed: testSeed, path: [0x5A, 0x101])
        let xs = StandardNormal.sample(count: 200_000, using: &rng)
        expectMoments(xs, mean: 0, variance: 1, fourthCentralMoment: 3, "N(0,1)")
    }

    /// Kolmogorov–Smirnov against Φ on 10⁵ draws (p > 10⁻⁴).
    @Test func standardNormalPassesKolmogorovSmirnov() {
        var rng = Philox4x32(seed: testSeed, path: [0x5A, 0x102])
        let xs = StandardNormal.sample(count: 100_000, using: &rng)
        let result = kolmogorovSmirnovTest(xs, cdf: SamplerReference.normalCDF)
        #expect(result.pValue > goodnessOfFitThreshold, "KS D = \(result.statistic), p = \(result.pValue)")
    }

    /// The tails, which KS barely sees: 10⁶ draws counted in the cells (−∞, −4.5), [−4.5, −4),
    /// [−4, −3.5), [−3.5, 3.5), [3.5, 4), [4, 4.5), [4.5, ∞) — the outer cells are beyond the
    /// ziggurat's r = 3.654 and so come from the tail sampler. Chi-square with pooling, p > 10⁻⁴.
    @Test func normalTailsHaveTheRightMass() {
        var rng = Philox4x32(seed: testSeed, path: [0x5A, 0x103])
        let edges: [Double] = [-4.5, -4, -3.5, 3.5, 4, 4.5]
        var counts = [Int](repeating: 0, count: edges.count + 1)
        let xs = StandardNormal.sample(count: 1_000_000, using: &rng)
        for x in xs {
            var cell = 0
            while cell < edges.count && x >= edges[cell] { cell += 1 }
            counts[cell] += 1
        }
        var probabilities: [Double] = []
        var previous = 0.0
        for e in edges {
            let c = SamplerReference.normalCDF(e)
            probabilities.append(c - previous)
            previous = c
        }
        probabilities.append(SamplerReference.normalSurvival(edges.last!))
        let result = chiSquareTest(observed: counts, probabilities: probabilities)
        #expect(result.pValue > goodnessOfFitThreshold, "tail counts \(counts): chi2 = \(result.statistic), p = \(result.pValue)")
    }

    /// Fine structure, where a wrong layer edge or table entry would show: 10⁶ draws mapped
    /// through Φ into 100 equiprobable cells (chi-square, 99 df, p > 10⁻⁴). (A ziggurat that
    /// accepted every wedge point would shift only 0.67% of the mass, smoothly; the tail-count
    /// test above is the one that catches that.)
    @Test func normalFineStructureIsUniformUnderTheCDF() {
        var rng = Philox4x32(seed: testSeed, path: [0x5A, 0x108])
        let cells = 100
        var counts = [Int](repeating: 0, count: cells)
        for x in StandardNormal.sample(count: 1_000_000, using: &rng) {
            counts[min(cells - 1, Int(SamplerReference.normalCDF(x) * Double(cells)))] += 1
        }
        let result = chiSquareTest(observed: counts, probabilities: [Double](repeating: 1 / Double(cells), count: cells))
        #expect(result.pValue > goodnessOfFitThreshold, "chi2 = \(result.statistic), p = \(result.pValue)")
    }

    /// The tail sampler alone (Marsaglia 1964) against the conditional tail CDF
    /// `1 − Q(x)/Q(r)` on 10⁵ draws (KS, p > 10⁻⁴).
    @Test func tailSamplerMatchesTheConditionalTail() {
        var rng = Philox4x32(seed: testSeed, path: [0x5A, 0x104])
        let r = StandardNormal.tables.r
        var xs: [Double] = []
        xs.reserveCapacity(100_000)
        for _ in 0..<100_000 {
            let x = StandardNormal.tail(r: r, using: &rng)
            #expect(x != nil)
            xs.append(x ?? .nan)
        }
        let qr = SamplerReference.normalSurvival(r)
        let result = kolmogorovSmirnovTest(xs) { min(1, max(0, 1 - SamplerReference.normalSurvival($0) / qr)) }
        #expect(result.pValue > goodnessOfFitThreshold, "tail KS D = \(result.statistic), p = \(result.pValue)")
    }

    /// Signs are a fair coin and independent of the magnitude's layer: the count of negative
    /// draws is Binomial(n, ½) (SE √n/2), also among |x| < 0.5 and |x| > 2.
    @Test func signsAreFairInEveryRegion() {
        var rng = Philox4x32(seed: testSeed, path: [0x5A, 0x105])
        let xs = StandardNormal.sample(count: 200_000, using: &rng)
        for (label, subset) in [("all", xs), ("|x|<0.5", xs.filter { abs($0) < 0.5 }), ("|x|>2", xs.filter { abs($0) > 2 })] {
            let n = Double(subset.count)
            let negatives = Double(subset.filter { $0 < 0 }.count)
            #expect(abs(negatives - n / 2) < 5 * n.squareRoot() / 2, "\(label): \(negatives) negatives of \(n)")
        }
    }

    /// Normal(μ, σ) is μ + σZ: moments (μ₄ = 3σ⁴) and KS; σ = 0 yields exactly μ.
    @Test func normalMatchesItsParameters() {
        var rng = Philox4x32(seed: testSeed, path: [0x5A, 0x106])
        let d = Normal(mean: -3.5, standardDeviation: 2.25)
        let xs = d.sample(count: 100_000, using: &rng)
        let s2 = d.variance
        expectMoments(xs, mean: -3.5, variance: s2, fourthCentralMoment: 3 * s2 * s2, "N(-3.5, 2.25²)")
        let result = kolmogorovSmirnovTest(xs) { SamplerReference.normalCDF(($0 + 3.5) / 2.25) }
        #expect(result.pValue > goodnessOfFitThreshold, "KS D = \(result.statistic), p = \(result.pValue)")
        let point = Normal(mean: 1.25, standardDeviation: 0)
        #expect(point.sample(count: 100, using: &rng).allSatisfy { $0 == 1.25 })
    }

    /// `fill` is exactly repeated `next` (same values, same stream position), for StandardNormal
    /// and Normal; `sample(count:)` is `fill`.
    @Test func fillEqualsRepeatedSample() {
        let start = Philox4x32(seed: testSeed, path: [0x5A, 0x107])
        var a = start, b = start, c = start
        let n = 50_000  // enough to pass through wedges and the tail
        var filled = [Double](repeating: 0, count: n)
        filled.withUnsafeMutableBufferPointer { StandardNormal.fill($0, using: &a) }
        let one = (0..<n).map { _ in StandardNormal.next(using: &b) }
        #expect(filled == one)
        #expect(a == b)
        #expect(StandardNormal.sample(count: n, using: &c) == filled)

        let d = Normal(mean: 2, standardDeviation: 0.5)
        var e = start, f = start
        var filledNormal = [Double](repeating: 0, count: 1000)
        filledNormal.withUnsafeMutableBufferPointer { d.fill($0, using: &e) }
        #expect(filledNormal == (0..<1000).map { _ in d.sample(using: &f) })
        #expect(e == f)
    }

    /// `fill` reads the stream's words in chunks and runs the fast path over each chunk in place:
    /// buffers that end just before, at and after a chunk's 512 words, one after the other, and a
    /// stream whose every third word is pushed into the wedges and the tail (so the slow path,
    /// which takes its extra words through the cursor, starts at and crosses chunk boundaries),
    /// still give exactly repeated `next` and leave the stream where repeated `next` does.
    @Test func fillEqualsRepeatedNextAcrossChunksAndRejections() {
        /// Philox words, every third with its top 13 bits set: j >= (1 - 2^-13) 2^53 fails the
        /// fast test in every layer but the thinnest ones, so these go to the wedge test or the tail.
        struct Rejecting: RandomStream, Equatable {
            var base: Philox4x32
            var words = 0
            mutating func nextUInt64() -> UInt64 {
                words += 1
                let word = base.nextUInt64()
                return words % 3 == 0 ? word | 0xFFF8_0000_0000_0000 : word
            }
        }
        let sizes = [1, 7, 511, 512, 513, 1024, 1025, 3000]
        var a = Rejecting(base: Philox4x32(seed: testSeed, path: [0x5B])), b = a
        for size in sizes {
            var filled = [Double](repeating: .nan, count: size)
            filled.withUnsafeMutableBufferPointer { StandardNormal.fill($0, using: &a) }
            let one = (0..<size).map { _ in StandardNormal.next(using: &b) }
            #expect(filled == one, "size \(size)")
            #expect(a == b, "size \(size)")
        }
        let values = sizes.reduce(0, +)
        #expect(a.words > values + values / 4) // the slow path took many extra words
        // Philox's own bulk fill, same sizes in sequence.
        var c = Philox4x32(seed: testSeed, path: [0x5C]), d = c
        for size in sizes {
            var filled = [Double](repeating: .nan, count: size)
            filled.withUnsafeMutableBufferPointer { StandardNormal.fill($0, using: &c) }
            #expect(filled == (0..<size).map { _ in StandardNormal.next(using: &d) }, "size \(size)")
            #expect(c == d)
        }
    }

    /// Degenerate streams: all-zeros gives +0 every time; all-ones is rejected in the top wedge
    /// 64 times and falls back to Box–Muller, which gives exactly 2⁻²⁶ (documented).
    @Test func degenerateStreamsGiveTheDocumentedNormals() {
        var zeros = ConstantStream(value: 0)
        var ones = ConstantStream(value: .max)
        for _ in 0..<10 {
            let z = StandardNormal.next(using: &zeros)
            #expect(z == 0 && z.sign == .plus)
            #expect(StandardNormal.next(using: &ones) == 0x1p-26)
        }
        #expect(Normal(mean: 3, standardDeviation: 2).sample(using: &zeros) == 3)
        #expect(Normal(mean: 3, standardDeviation: 2).sample(using: &ones) == 3 + 2 * 0x1p-26)
        var buffer = [Double](repeating: .nan, count: 8)
        buffer.withUnsafeMutableBufferPointer { StandardNormal.fill($0, using: &ones) }
        #expect(buffer.allSatisfy { $0 == 0x1p-26 })
    }
}

import Testing
@testable import CollapseCore

/// Known-answer and independence tests for the random streams.
@Suite struct RandomStreamTests {
    // The Random123 kat_vectors for philox4x32-10: counter words, key words -> output words.
    @Test(arguments: [
        ((0x0000_0000, 0x0000_0000, 0x0000_0000, 0x0000_0000), (0x0000_0000, 0x0000_0000),
         (0x6627_e8d5, 0xe169_c58d, 0xbc57_ac4c, 0x9b00_dbd8)),
        ((0xffff_ffff, 0xffff_ffff, 0xffff_ffff, 0xffff_ffff), (0xffff_ffff, 0xffff_ffff),
         (0x408f_276d, 0x41c8_3b0e, 0xa20b_c7c6, 0x6d54_51fd)),
        ((0x243f_6a88, 0x85a3_08d3, 0x1319_8a2e, 0x0370_7344), (0xa409_3822, 0x299f_31d0),
         (0xd16c_fe09, 0x94fd_cceb, 0x5001_e420, 0x2412_6ea1)),
    ] as [((UInt32, UInt32, UInt32, UInt32), (UInt32, UInt32), (UInt32, UInt32, UInt32, UInt32))])
    func philoxMatchesRandom123KnownAnswers(counter: (UInt32, UInt32, UInt32, UInt32), key: (UInt32, UInt32),
                                            expected: (UInt32, UInt32, UInt32, UInt32)) {
        let out = Philox4x32.block(counter: counter, key: key)
        #expect(out == expected)
    }

    @Test func streamEmitsGroupsOfFourBlocksLowWordsFirst() {
        let key: (UInt32, UInt32) = (0xa409_3822, 0x299f_31d0)
        let high: (UInt32, UInt32) = (0x1319_8a2e, 0x0370_7344)
        // Block 0x85a308d3243f6a88 (a multiple of 4) with these high words is the third KAT vector.
        let firstBlock: UInt64 = 0x85a3_08d3_243f_6a88
        var stream = Philox4x32(key: key, counterHigh: high, groupIndex: firstBlock / 4)
        let words = (0..<8).map { _ in stream.nextUInt64() }
        #expect(words[0] == 0x94fd_cceb_d16c_fe09)
        #expect(words[4] == 0x2412_6ea1_5001_e420)
        // The other lanes are the next three blocks, low words then high words.
        for lane in 1..<4 {
            let b = firstBlock + UInt64(lane)
            let x = Philox4x32.block(counter: (UInt32(truncatingIfNeeded: b), UInt32(truncatingIfNeeded: b >> 32), high.0, high.1), key: key)
            #expect(words[lane] == UInt64(x.0) | UInt64(x.1) << 32)
            #expect(words[4 + lane] == UInt64(x.2) | UInt64(x.3) << 32)
        }
        #expect(stream.groupIndex == firstBlock / 4 + 1)
    }

    /// Bulk fill yields exactly the words of repeated nextUInt64(), from any starting offset, and
    /// leaves the stream in the same state.
    @Test(arguments: [0, 1, 3, 7, 8, 9, 100, 257])
    func bulkFillEqualsRepeatedNext(count: Int) {
        for offset in [0, 1, 5, 8] {
            var a = Philox4x32(seed: 3, path: [9])
            var b = a
            for _ in 0..<offset { _ = a.nextUInt64(); _ = b.nextUInt64() }
            var bulk = [UInt64](repeating: 0, count: count)
            bulk.withUnsafeMutableBufferPointer { a.fill($0) }
            let single = (0..<count).map { _ in b.nextUInt64() }
            #expect(bulk == single)
            #expect(a == b)
            #expect(a.nextUInt64() == b.nextUInt64())
        }
    }

    /// The bulk kernel (C, widest vector unit the CPU has: `Philox4x32.bulkKernel`) equals the
    /// scalar Swift group function word for word, across the 2^32-block boundary where the
    /// counter's second word starts to count, for runs of groups that are and are not multiples
    /// of the kernel's steps (four groups generic/AVX2, eight AVX-512).
    @Test func bulkKernelEqualsTheScalarGroups() {
        let key: (UInt32, UInt32) = (0xdead_beef, 0x0123_4567)
        let high: (UInt32, UInt32) = (0xffff_ffff, 7)
        for (start, count) in [(UInt64(0), 1), (0, 4), (3, 64), (5, 37), ((1 << 30) - 3, 9), ((1 << 30) - 1, 16),
                               (UInt64(1) << 61, 6), ((UInt64(1) << 62) - 5, 11)] {
            var stream = Philox4x32(key: key, counterHigh: high, groupIndex: start)
            var bulk = [UInt64](repeating: 0, count: 8 * count)
            bulk.withUnsafeMutableBufferPointer { stream.fill($0) }
            for g in 0..<count {
                let expected = Philox4x32.group(start + UInt64(g), counterHigh: high, key: key)
                for w in 0..<8 { #expect(bulk[8 * g + w] == expected[w], "group \(start + UInt64(g)), word \(w)") }
            }
            #expect(stream.groupIndex == start + UInt64(count))
        }
        #expect(["avx512", "avx2", "generic"].contains(Philox4x32.bulkKernel))
    }

    // Reference: numpy.random.SeedSequence(seed, spawn_key=key).generate_state(4, numpy.uint32), NumPy 2.4.
    @Test(arguments: [
        (UInt64(0), [UInt32](), [UInt32(0xb0f4_78be), 0xdb2c_d7e7, 0x2c71_ba49, 0xabf4_641a]),
        (7, [], [0x7c32_6e58, 0xead0_f701, 0xf97e_037a, 0x0879_c4f0]),
        (7, [0, 0, 0, 1], [0x3e82_2503, 0x6e4b_d365, 0x4c48_95b7, 0x9d26_ab24]),
        (20_261_129, [3, 17, 250, 2], [0x9f4c_d875, 0x0da5_f869, 0xd035_6e4f, 0x85d9_1e67]),
        (1_099_511_627_781, [1, 2], [0x6ff6_5575, 0x6173_2532, 0xaca8_ac34, 0x48cd_04e4]),
        (UInt64.max, [0xffff_ffff, 0, 0, 0], [0x218c_a905, 0x676e_7345, 0xfe06_082e, 0x0e2f_eef4]),
    ] as [(UInt64, [UInt32], [UInt32])])
    func seedSequenceMatchesNumPy(seed: UInt64, key: [UInt32], expected: [UInt32]) {
        #expect(SeedSequence(seed: seed, spawnKey: key).generateState(wordCount: 4) == expected)
        let fast = SeedSequence.fourWords(seed: seed, spawnKey: key)
        #expect([fast.0, fast.1, fast.2, fast.3] == expected)
    }

    @Test func sameIdentityGivesSameStream() {
        let id = StreamID(variant: 2, replicate: 9, generation: 31, purpose: StreamPurpose(rawValue: 5))
        var a = Philox4x32(seed: 42, id: id)
        var b = Philox4x32(seed: 42, id: id)
        for _ in 0..<1000 { #expect(a.nextUInt64() == b.nextUInt64()) }
    }

    @Test func copyingAStreamForksIt() {
        var a = Philox4x32(seed: 1, path: [1])
        _ = a.nextUInt64() // leave seven values buffered
        var b = a
        #expect(a == b)
        for _ in 0..<7 { #expect(a.nextUInt64() == b.nextUInt64()) }
    }

    /// Streams whose identities differ in one component are uncorrelated: the Pearson correlation of
    /// n paired uniforms has standard error 1/sqrt(n) under independence, so |r| < 5/sqrt(n).
    @Test func neighbouringIdentitiesGiveUncorrelatedStreams() {
        let n = 20_000
        let base = StreamID(variant: 0, replicate: 0, generation: 0, purpose: StreamPurpose(rawValue: 1))
        var neighbours: [StreamID] = []
        for change in 0..<4 {
            var id = base
            switch change {
            case 0: id.variant = 1
            case 1: id.replicate = 1
            case 2: id.generation = 1
            default: id.purpose = StreamPurpose(rawValue: 2)
            }
            neighbours.append(id)
        }
        for seedPair in [(UInt64(7), UInt64(7)), (7, 8)] {
            var a = Philox4x32(seed: seedPair.0, id: base)
            let xs = (0..<n).map { _ in a.nextDouble() }
            for id in neighbours + (seedPair.0 == seedPair.1 ? [] : [base]) {
                var b = Philox4x32(seed: seedPair.1, id: id)
                let ys = (0..<n).map { _ in b.nextDouble() }
                let r = correlation(xs, ys)
                #expect(abs(r) < 5 / Double(n).squareRoot(), "streams \(base) and \(id) (seeds \(seedPair)) correlate: r = \(r)")
            }
        }
    }

    /// Uniform doubles: mean 1/2 (SE = sqrt(1/12/n)) and variance 1/12 (SE = sqrt((1/80 - 1/144)/n)),
    /// all 53 bits used, and the open variant never hits 0.
    @Test func uniformDoublesHaveExactMomentsAnd53Bits() {
        var rng = Philox4x32(seed: testSeed, path: [0x55])
        let n = 200_000
        var sum = 0.0, sumSq = 0.0, lowBitsSeen = false
        for _ in 0..<n {
            let u = rng.nextDouble()
            #expect(u >= 0 && u < 1)
            sum += u; sumSq += u * u
            if (u * 0x1p53).truncatingRemainder(dividingBy: 2) == 1 { lowBitsSeen = true }
        }
        let mean = sum / Double(n), variance = sumSq / Double(n) - mean * mean
        #expect(abs(mean - 0.5) < 5 * (1.0 / 12 / Double(n)).squareRoot())
        #expect(abs(variance - 1.0 / 12) < 5 * ((1.0 / 80 - 1.0 / 144) / Double(n)).squareRoot())
        #expect(lowBitsSeen, "the 53rd bit of nextDouble() is never set")
        var zeros = ConstantStream(value: 0)
        #expect(zeros.nextOpenDouble() == 0x1p-53)
        var ones = ConstantStream(value: .max)
        #expect(ones.nextDouble() == 1 - 0x1p-53)
        #expect(ones.nextOpenDouble() == 1 - 0x1p-53)
    }

    /// nextInt(below:) is unbiased: chi-square of 7 equiprobable cells (df 6) against its 1e-4 quantile.
    @Test func boundedIntegersAreUniform() {
        var rng = Philox4x32(seed: testSeed, path: [0x56])
        var counts = [Int](repeating: 0, count: 7)
        let n = 70_000
        for _ in 0..<n { counts[rng.nextInt(below: 7)] += 1 }
        let expected = Double(n) / 7
        let chi2 = counts.reduce(0.0) { $0 + (Double($1) - expected) * (Double($1) - expected) / expected }
        #expect(chi2 < 27.86, "chi-square \(chi2) with 6 df exceeds its 1 - 1e-4 quantile 27.86; counts \(counts)")
        var zeros = ConstantStream(value: 0)
        #expect(zeros.nextInt(below: 1) == 0)
    }
}

func correlation(_ x: [Double], _ y: [Double]) -> Double {
    let n = Double(x.count)
    let mx = x.reduce(0, +) / n, my = y.reduce(0, +) / n
    var sxy = 0.0, sxx = 0.0, syy = 0.0
    for (a, b) in zip(x, y) {
        sxy += (a - mx) * (b - my); sxx += (a - mx) * (a - mx); syy += (b - my) * (b - my)
    }
    return sxy / (sxx * syy).squareRoot()
}

import CKernels
/// The Philox4x32-10 counter-based random bit generator (Salmon, Moraes, Dror & Shaw, SC'11).
///
/// Philox is a keyed bijection of a 128-bit counter: block `i` of a stream is
/// `philox(key, counter + i)`, ten rounds of
/// `(c0, c1, c2, c3) -> (hi(M1 c2) ^ c1 ^ k0, lo(M1 c2), hi(M0 c0) ^ c3 ^ k1, lo(M0 c0))`
/// with the key bumped by the Weyl constants between rounds. It passes BigCrush, and streams with
/// different keys or disjoint counter ranges are independent for all practical purposes.
///
/// Here a stream is identified by 128 bits: the 64-bit key and the high 64 bits of the counter
/// (both derived by `SeedSequence` from what the stream is for). The low 64 bits of the counter
/// number the blocks.
///
/// ## Word order
/// Blocks are generated four at a time (SIMD lanes), in *groups*: group g is blocks 4g ..< 4g+4.
/// A block's 32-bit outputs `(x0, x1, x2, x3)` form a low word `x0 | x1 << 32` and a high word
/// `x2 | x3 << 32`; a group yields the four low words of its blocks in block order, then the four
/// high words. This layout lets bulk generation store whole vectors (the CKernels bulk kernel:
/// 0.75 ns per word with AVX-512 on this machine); `nextUInt64()` and `fill(_:)` yield the same
/// sequence.
///
/// The generator is a value: copying it forks the stream (both copies produce the same numbers),
/// which is what a replay needs and why models never store one.
public struct Philox4x32: RandomStream, Sendable, Hashable {
    public static let multiplier0: UInt32 = 0xD251_1F53
    public static let multiplier1: UInt32 = 0xCD9E_8D57
    public static let weyl0: UInt32 = 0x9E37_79B9
    public static let weyl1: UInt32 = 0xBB67_AE85

    /// The 64-bit key, as two 32-bit words.
    public let key: (UInt32, UInt32)
    /// The high 64 bits of the counter (words 2 and 3), fixed for the stream.
    public let counterHigh: (UInt32, UInt32)
    /// Index of the next group of four blocks to generate (blocks `4 g ..< 4 g + 4`).
    public var groupIndex: UInt64 { nextGroup }
    @usableFromInline var nextGroup: UInt64
    /// The current group's eight words and how many of them were handed out (8: none left).
    @usableFromInline var buffer = SIMD8<UInt64>()
    @usableFromInline var position = 8

    /// A stream with an explicit key and counter high words, starting at group `groupIndex`
    /// (block `4 * groupIndex`).
    public init(key: (UInt32, UInt32), counterHigh: (UInt32, UInt32) = (0, 0), groupIndex: UInt64 = 0) {
        precondition(groupIndex < 1 << 62, "Philox4x32 group index must be below 2^62, got \(groupIndex)")
        self.key = key
        self.counterHigh = counterHigh
        self.nextGroup = groupIndex
    }

    /// The stream for a root seed and a path of identifiers (for example
    /// `[variant, replicate, generation, purpose]`), keyed through `SeedSequence`.
    ///
    /// Different paths give statistically independent streams; the same (seed, path) always gives
    /// the same stream, whatever thread or process asks for it.
    public init(seed: UInt64, path: [UInt32]) {
        let words = SeedSequence.fourWords(seed: seed, spawnKey: path)
        self.init(key: (words.0, words.1), counterHigh: (words.2, words.3))
    }

    /// The stream identified by `id` under the root `seed`.
    public init(seed: UInt64, id: StreamID) {
        self.init(seed: seed, path: id.path)
    }

    /// One Philox4x32-10 block: the keyed bijection applied to a 128-bit counter.
    ///
    /// This is the primitive checked against the Random123 known-answer vectors.
    @inlinable
    public static func block(counter: (UInt32, UInt32, UInt32, UInt32), key: (UInt32, UInt32))
        -> (UInt32, UInt32, UInt32, UInt32)
    {
        var (c0, c1, c2, c3) = counter
        var (k0, k1) = key
        for round in 0..<10 {
            if round > 0 {
                k0 &+= weyl0
                k1 &+= weyl1
            }
            let p0 = UInt64(multiplier0) &* UInt64(c0)
            let p1 = UInt64(multiplier1) &* UInt64(c2)
            let n0 = UInt32(truncatingIfNeeded: p1 >> 32) ^ c1 ^ k0
            let n1 = UInt32(truncatingIfNeeded: p1)
            let n2 = UInt32(truncatingIfNeeded: p0 >> 32) ^ c3 ^ k1
            let n3 = UInt32(truncatingIfNeeded: p0)
            (c0, c1, c2, c3) = (n0, n1, n2, n3)
        }
        return (c0, c1, c2, c3)
    }

    /// Blocks `4 group ..< 4 group + 4` at once, lane l holding block `4 group + l`, as the
    /// group's eight words: low words in lanes 0–3, high words in lanes 4–7.
    @inlinable @inline(__always)
    static func group(_ group: UInt64, counterHigh high: (UInt32, UInt32), key: (UInt32, UInt32)) -> SIMD8<UInt64> {
        let first = group &<< 2
        let index = SIMD4<UInt64>(first, first | 1, first | 2, first | 3)
        var c0 = SIMD4<UInt32>(truncatingIfNeeded: index)
        var c1 = SIMD4<UInt32>(truncatingIfNeeded: index &>> 32)
        var c2 = SIMD4<UInt32>(repeating: high.0)
        var c3 = SIMD4<UInt32>(repeating: high.1)
        var k0 = SIMD4<UInt32>(repeating: key.0), k1 = SIMD4<UInt32>(repeating: key.1)
        let m0 = SIMD4<UInt64>(repeating: UInt64(multiplier0)), m1 = SIMD4<UInt64>(repeating: UInt64(multiplier1))
        for round in 0..<10 {
            if round > 0 {
                k0 &+= weyl0
                k1 &+= weyl1
            }
            let p0 = m0 &* SIMD4<UInt64>(truncatingIfNeeded: c0)
            let p1 = m1 &* SIMD4<UInt64>(truncatingIfNeeded: c2)
            let n0 = SIMD4<UInt32>(truncatingIfNeeded: p1 &>> 32) ^ c1 ^ k0
            let n2 = SIMD4<UInt32>(truncatingIfNeeded: p0 &>> 32) ^ c3 ^ k1
            c1 = SIMD4<UInt32>(truncatingIfNeeded: p1)
            c3 = SIMD4<UInt32>(truncatingIfNeeded: p0)
            c0 = n0
            c2 = n2
        }
        let low = SIMD4<UInt64>(truncatingIfNeeded: c0) | SIMD4<UInt64>(truncatingIfNeeded: c1) &<< 32
        let high = SIMD4<UInt64>(truncatingIfNeeded: c2) | SIMD4<UInt64>(truncatingIfNeeded: c3) &<< 32
        return SIMD8(lowHalf: low, highHalf: high)
    }

    @inlinable @inline(__always)
    public mutating func nextUInt64() -> UInt64 {
        if _fastPath(position < 8) {
            let w = buffer[position]
            position &+= 1
            return w
        }
        return refillAndNext()
    }

    @inlinable @inline(never)
    mutating func refillAndNext() -> UInt64 {
        buffer = Self.group(nextGroup, counterHigh: counterHigh, key: key)
        nextGroup &+= 1
        position = 1
        return buffer[0]
    }

    /// Bulk generation: the same words as repeated `nextUInt64()`, whole groups stored as vectors.
    @inlinable
    public mutating func fill(_ words: UnsafeMutableBufferPointer<UInt64>) {
        let n = words.count
        guard n > 0, let out = words.baseAddress else { return }
        var i = 0
        while i < n && position < 8 {
            out[i] = buffer[position]
            position &+= 1
            i &+= 1
        }
        // Whole groups in bulk: the C kernel computes exactly `Self.group` for each, with the
        // widest vector instructions the CPU has (checked against it in RandomStreamTests).
        let groups = (n - i) / 8
        if groups > 0 {
            collapse_philox4x32_fill(out + i, nextGroup, groups, counterHigh.0, counterHigh.1, key.0, key.1)
            nextGroup &+= UInt64(groups)
            i &+= groups &* 8
        }
        while i < n {
            out[i] = nextUInt64()
            i &+= 1
        }
    }

    /// The instruction set of the bulk kernel on this CPU: "avx512", "avx2" or "generic". Every
    /// path gives the same words (integer arithmetic).
    public static var bulkKernel: String { String(cString: collapse_philox4x32_path()) }

    public static func == (lhs: Philox4x32, rhs: Philox4x32) -> Bool {
        lhs.key == rhs.key && lhs.counterHigh == rhs.counterHigh && lhs.nextGroup == rhs.nextGroup
            && lhs.position == rhs.position && (lhs.position == 8 || lhs.buffer == rhs.buffer)
    }

    public func hash(into hasher: inout Hasher) {
        hasher.combine(key.0)
        hasher.combine(key.1)
        hasher.combine(counterHigh.0)
        hasher.combine(counterHigh.1)
        hasher.combine(nextGroup)
        hasher.combine(position)
        if position < 8 { hasher.combine(buffer) }
    }
}

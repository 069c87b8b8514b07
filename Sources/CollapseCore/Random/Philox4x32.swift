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
/// number the blocks, so one stream yields up to 2^64 blocks of two `UInt64` values.
/// Each block's four 32-bit words `(x0, x1, x2, x3)` are returned as `x0 | x1 << 32`, then
/// `x2 | x3 << 32`.
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
    /// Index of the next block to generate (the low 64 bits of the counter).
    public var blockIndex: UInt64 { nextBlock }
    @usableFromInline var nextBlock: UInt64
    @usableFromInline var buffered: UInt64 = 0
    @usableFromInline var hasBuffered = false

    /// A stream with an explicit key and counter high words, starting at block `blockIndex`.
    public init(key: (UInt32, UInt32), counterHigh: (UInt32, UInt32) = (0, 0), blockIndex: UInt64 = 0) {
        self.key = key
        self.counterHigh = counterHigh
        self.nextBlock = blockIndex
    }

    /// The stream for a root seed and a path of identifiers (for example
    /// `[variant, replicate, generation, purpose]`), keyed through `SeedSequence`.
    ///
    /// Different paths give statistically independent streams; the same (seed, path) always gives
    /// the same stream, whatever thread or process asks for it.
    public init(seed: UInt64, path: [UInt32]) {
        let words = SeedSequence(seed: seed, spawnKey: path).generateState(wordCount: 4)
        self.init(key: (words[0], words[1]), counterHigh: (words[2], words[3]))
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

    @inlinable @inline(__always)
    public mutating func nextUInt64() -> UInt64 {
        if hasBuffered {
            hasBuffered = false
            return buffered
        }
        let counter = (
            UInt32(truncatingIfNeeded: nextBlock), UInt32(truncatingIfNeeded: nextBlock >> 32),
            counterHigh.0, counterHigh.1
        )
        let (x0, x1, x2, x3) = Self.block(counter: counter, key: key)
        nextBlock &+= 1
        buffered = UInt64(x2) | UInt64(x3) << 32
        hasBuffered = true
        return UInt64(x0) | UInt64(x1) << 32
    }

    public static func == (lhs: Philox4x32, rhs: Philox4x32) -> Bool {
        lhs.key == rhs.key && lhs.counterHigh == rhs.counterHigh && lhs.blockIndex == rhs.blockIndex
            && lhs.hasBuffered == rhs.hasBuffered && (!lhs.hasBuffered || lhs.buffered == rhs.buffered)
    }

    public func hash(into hasher: inout Hasher) {
        hasher.combine(key.0)
        hasher.combine(key.1)
        hasher.combine(counterHigh.0)
        hasher.combine(counterHigh.1)
        hasher.combine(blockIndex)
        hasher.combine(hasBuffered)
        if hasBuffered { hasher.combine(buffered) }
    }
}

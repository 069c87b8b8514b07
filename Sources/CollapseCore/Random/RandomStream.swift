/// A source of uniformly distributed random bits that every sampler in the toolkit draws from.
///
/// The toolkit never uses the standard library's `SystemRandomNumberGenerator` or its
/// `Double.random(in:using:)`, whose algorithms are unspecified and may change between Swift
/// releases: every conversion from bits to numbers is defined here, so that a stream with the same
/// key yields the same doubles on every platform and toolchain.
///
/// Conforming types must return 64 independent, uniformly distributed bits per call.
/// `Philox4x32` is the production stream; tests also use deliberately bad streams (all zeros,
/// all ones) to probe edge cases of the samplers.
public protocol RandomStream {
    /// The next 64 uniformly distributed random bits.
    mutating func nextUInt64() -> UInt64

    /// Fills `words` with the next `words.count` values of `nextUInt64()`, in order.
    ///
    /// Must produce exactly what repeated `nextUInt64()` calls would, and leave the stream in the
    /// same state; a stream may implement it faster in bulk (`Philox4x32` does).
    mutating func fill(_ words: UnsafeMutableBufferPointer<UInt64>)
}

extension RandomStream {
    /// The default bulk fill: one `nextUInt64()` per word.
    @inlinable
    public mutating func fill(_ words: UnsafeMutableBufferPointer<UInt64>) {
        for i in words.indices { words[i] = nextUInt64() }
    }

    /// A uniform double in [0, 1) with 53 random bits: `(x >> 11) * 2^-53`.
    ///
    /// Every multiple of 2^-53 in [0, 1) is equally likely; 0 is possible, 1 is not.
    @inlinable @inline(__always)
    public mutating func nextDouble() -> Double {
        Double(nextUInt64() >> 11) * 0x1p-53
    }

    /// A uniform double in (0, 1): `((x >> 12) + 1/2) * 2^-52`, the midpoints of a 52-bit grid.
    ///
    /// Never returns 0 or 1 (the extremes are 2^-53 and 1 - 2^-53; a 53-bit grid's last midpoint
    /// would round to 1), so `log(u)` and `log(1 - u)` are always finite.
    @inlinable @inline(__always)
    public mutating func nextOpenDouble() -> Double {
        (Double(nextUInt64() >> 12) + 0.5) * 0x1p-52
    }

    /// The next 32 uniformly distributed random bits (the high half of `nextUInt64()`).
    @inlinable @inline(__always)
    public mutating func nextUInt32() -> UInt32 {
        UInt32(truncatingIfNeeded: nextUInt64() >> 32)
    }

    /// A uniform integer in `0 ..< bound`, without modulo bias (Lemire's multiply-and-reject).
    ///
    /// - Precondition: `bound > 0`.
    /// - Complexity: O(1) expected; at most a fraction `bound / 2^64` of draws is rejected.
    @inlinable
    public mutating func nextInt(below bound: Int) -> Int {
        precondition(bound > 0, "nextInt(below:) needs a positive bound, got \(bound)")
        let b = UInt64(bound)
        var product = nextUInt64().multipliedFullWidth(by: b)
        if product.low < b {
            let threshold = (0 &- b) % b
            while product.low < threshold {
                product = nextUInt64().multipliedFullWidth(by: b)
            }
        }
        return Int(product.high)
    }
}

/// A stream adaptor for bulk samplers: it pulls words from the underlying stream in chunks (with
/// the stream's fast bulk `fill`) and hands them out one by one, *never drawing a word ahead that
/// the sampler would not have consumed anyway*.
///
/// A sampler producing `n` values, each consuming at least one word, tells the cursor how many
/// values are still to come (`valuesRemaining`, counting the one in progress); a refill takes at
/// most that many words. So the words consumed, and the stream's final state, are exactly those of
/// drawing every value with `nextUInt64()` calls on the stream itself: bulk and one-at-a-time
/// sampling give identical numbers.
@usableFromInline
struct WordCursor<Base: RandomStream>: RandomStream {
    @usableFromInline var base: Base
    @usableFromInline let chunk: UnsafeMutablePointer<UInt64>
    @usableFromInline let capacity: Int
    @usableFromInline var position = 0
    @usableFromInline var available = 0
    /// Values still to be produced, including the one being produced now (>= 1 while in use).
    @usableFromInline var valuesRemaining = 1

    @inlinable
    init(base: Base, chunk: UnsafeMutablePointer<UInt64>, capacity: Int) {
        self.base = base
        self.chunk = chunk
        self.capacity = capacity
    }

    @inlinable @inline(__always)
    mutating func nextUInt64() -> UInt64 {
        if _fastPath(position < available) {
            let w = chunk[position]
            position &+= 1
            return w
        }
        return refillAndNext()
    }

    @inlinable @inline(never)
    mutating func refillAndNext() -> UInt64 {
        refill()
        position = 1
        return chunk[0]
    }

    /// Replaces the (consumed) chunk with the next `min(capacity, valuesRemaining)` words, at
    /// least one; `position` 0. For samplers that read the chunk in place (`chunk[position..<available]`).
    @inlinable @inline(never)
    mutating func refill() {
        let count = min(capacity, max(1, valuesRemaining))
        base.fill(UnsafeMutableBufferPointer(start: chunk, count: count))
        available = count
        position = 0
    }
}

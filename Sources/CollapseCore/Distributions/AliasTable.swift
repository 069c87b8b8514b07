/// A discrete distribution over `0 ..< n` with O(1) sampling by Walker's alias method.
///
/// `P(i) = wᵢ / Σ w`. The table has one column per outcome; column `j` keeps outcome `j` with
/// probability `tⱼ` and otherwise gives its alias `aⱼ`, so that `(1/n)(tᵢ + Σ_{j: aⱼ=i} (1 − tⱼ))
/// = P(i)`.
///
/// ## Algorithm
/// Construction by Vose (1991), "A linear algorithm for generating random numbers with a given
/// distribution", IEEE TSE 17(9): scaled weights `n wᵢ / Σ w` are split into "small" (< 1) and
/// "large" (≥ 1) worklists; each small column is topped up by a large one, which then shrinks.
/// Columns left at the end keep themselves (`t = 1`, alias = self). A zero-weight outcome is never
/// returned: its column has `t = 0` and an alias of positive weight, even when rounding leaves it
/// on a worklist at the end.
///
/// Sampling takes one 64-bit word `x`: the column is the high word of `x · n` (multiply-shift),
/// and the low word of that product — the remaining bits, uniform over a lattice of spacing `n`
/// in [0, 2⁶⁴) — is compared with `tⱼ · 2⁶⁴`.
///
/// ## Guarantees
/// - Resolution: each outcome's probability is realised with absolute error at most
///   `(1 + mᵢ) · 2⁻⁶³`, where `mᵢ ≤ n` is the number of columns aliasing it (the column index has
///   relative bias below `n · 2⁻⁶⁴`, the threshold is rounded to the lattice) — below 10⁻¹³ for
///   `n ≤ 10⁶`.
/// - Outcomes of weight 0 are never returned; with a single positive weight, that outcome is
///   returned on every draw.
/// - Exactly one word per draw; `fill` gives exactly the values of successive `sample` calls.
/// - Degenerate streams: all-zeros yields column 0's outcome (0 if `w₀ > 0`, else its alias);
///   all-ones yields column `n − 1`'s alias unless that column is full.
/// - Complexity: O(n) construction, O(1) per draw.
public struct AliasTable: Sendable, Hashable {
    /// One column: keep the column's own outcome when the low word is below `threshold`.
    @usableFromInline
    struct Column: Sendable, Hashable {
        @usableFromInline var threshold: UInt64
        @usableFromInline var alias: Int
    }

    @usableFromInline let columns: ContiguousArray<Column>

    /// The number of outcomes n.
    @inlinable public var count: Int { columns.count }

    /// A table for outcome weights `weights` (need not be normalised).
    ///
    /// - Precondition: `weights` non-empty, every weight finite and `>= 0`, at least one `> 0`.
    /// - Complexity: O(n).
    public init(weights: [Double]) {
        let n = weights.count
        precondition(n > 0, "AliasTable needs at least one weight")
        var largest = 0.0
        for (i, w) in weights.enumerated() {
            precondition(w >= 0 && w.isFinite, "AliasTable needs finite non-negative weights, got \(w) at index \(i)")
            largest = max(largest, w)
        }
        precondition(largest > 0, "AliasTable needs at least one positive weight, got all zeros (\(n) weights)")
        // Scale by the largest weight first so the sum cannot overflow.
        var total = 0.0
        for w in weights { total += w / largest }
        let factor = Double(n) / total
        var scaled = weights.map { $0 / largest * factor }

        var columns = ContiguousArray(repeating: Column(threshold: 0, alias: 0), count: n)
        for i in 0..<n { columns[i].alias = i }
        var small: [Int] = []
        var large: [Int] = []
        small.reserveCapacity(n)
        large.reserveCapacity(n)
        for i in 0..<n {
            if scaled[i] < 1 { small.append(i) } else { large.append(i) }
        }
        var lastLarge = weights.firstIndex { $0 > 0 }!
        while let s = small.last, let l = large.last {
            small.removeLast()
            columns[s].threshold = Self.threshold(scaled[s])
            columns[s].alias = l
            lastLarge = l
            scaled[l] = (scaled[l] + scaled[s]) - 1
            if scaled[l] < 1 {
                large.removeLast()
                small.append(l)
            }
        }
        // Whatever is left holds (up to rounding) exactly one column's worth of mass.
        for l in large {
            columns[l].threshold = .max
            columns[l].alias = l
        }
        for s in small {
            if weights[s] > 0 {
                columns[s].threshold = .max
                columns[s].alias = s
            } else {
                columns[s].threshold = 0
                columns[s].alias = lastLarge
            }
        }
        self.columns = columns
    }

    /// `t · 2⁶⁴` rounded, for `t` in [0, 1); `UInt64.max` (keep always) for `t ≥ 1`.
    static func threshold(_ t: Double) -> UInt64 {
        if !(t > 0) { return 0 }
        if t >= 1 { return .max }
        return UInt64((t * 0x1p64).rounded())
    }

    /// One outcome in `0 ..< count`. - Complexity: O(1); exactly one word.
    @inlinable
    public func sample<R: RandomStream>(using rng: inout R) -> Int {
        let product = rng.nextUInt64().multipliedFullWidth(by: UInt64(truncatingIfNeeded: columns.count))
        return columns.withUnsafeBufferPointer { table in
            let column = table[Int(truncatingIfNeeded: product.high)]
            return product.low < column.threshold ? Int(truncatingIfNeeded: product.high) : column.alias
        }
    }

    /// Fills `buffer` with independent outcomes: exactly the values of `buffer.count` successive
    /// `sample(using:)` calls. - Complexity: O(`buffer.count`).
    @inlinable
    public func fill<R: RandomStream>(_ buffer: UnsafeMutableBufferPointer<Int>, using rng: inout R) {
        let n = UInt64(truncatingIfNeeded: columns.count)
        columns.withUnsafeBufferPointer { table in
            for i in buffer.indices {
                let product = rng.nextUInt64().multipliedFullWidth(by: n)
                let j = Int(truncatingIfNeeded: product.high)
                let column = table[j]
                buffer[i] = product.low < column.threshold ? j : column.alias
            }
        }
    }
}

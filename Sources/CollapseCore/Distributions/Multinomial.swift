/// The multinomial distribution: counts of n independent draws over V categories.
///
/// `P(c₁, ..., c_V) = n! Π p_i^(c_i) / c_i!` with `Σ c_i = n`; each count is marginally
/// Binomial(n, p_i).
///
/// ## Algorithm
/// Conditional binomials: `c_i ~ Binomial(n − Σ_{j<i} c_j, p_i / Σ_{j≥i} p_j)`, in category order,
/// stopping as soon as all n draws are placed. The remaining masses `Σ_{j≥i} p_j` are suffix sums
/// computed once, backwards, with compensated (Neumaier) summation — not by subtracting from the
/// total, which cancels catastrophically when the tail holds little mass — so probabilities that
/// sum to 1 only within rounding (or to any positive total) are renormalised consistently. The
/// conditional probability is clamped to [0, 1]; the last category with positive mass gets
/// conditional probability exactly 1 and so takes the remainder.
///
/// ## Guarantees
/// - Counts are exact: `Σ c_i = n` exactly, and a category with `p_i = 0` gets exactly 0.
/// - Each conditional binomial is exact (see `Binomial`), so the counts are exactly multinomial
///   up to the rounding of the conditional probabilities (relative error ~10⁻¹⁶).
/// - Words drawn: one binomial per category up to the last one that receives a draw.
/// - Complexity: O(V) time regardless of n (each binomial is O(1) expected for `n p ≥ 10` and
///   O(1 + n p) < O(11) otherwise), plus O(V) temporary memory for the suffix sums.
public enum Multinomial {
    /// Fills `counts` with one multinomial draw of `n` over the categories of `probabilities`.
    ///
    /// - Parameters:
    ///   - n: The number of draws, `0 ... Int.max / 2`.
    ///   - probabilities: Non-negative finite weights with a positive finite sum; they are
    ///     normalised by their sum (so "sums to 1 within rounding" is fine).
    ///   - counts: Receives the counts; must have the same length as `probabilities`.
    ///   - rng: The random stream.
    /// - Precondition: the conditions above, checked with the offending values.
    /// - Complexity: O(V) expected, independent of `n`.
    @inlinable
    public static func counts<R: RandomStream>(
        total n: Int, probabilities p: UnsafeBufferPointer<Double>,
        into counts: UnsafeMutableBufferPointer<Int>, using rng: inout R
    ) {
        precondition(n >= 0 && n <= Binomial.maximumTrials,
                     "Multinomial needs a total in 0 ... Int.max / 2, got \(n)")
        precondition(p.count == counts.count,
                     "Multinomial needs as many counts as probabilities, got \(counts.count) counts for \(p.count) probabilities")
        precondition(p.count > 0, "Multinomial needs at least one category")
        let v = p.count
        // Zero-probability categories draw nothing and do not change the compensated suffix sums
        // (adding 0 leaves them exactly as they are), so only the positive ones are visited after
        // one validating pass: a collapsed categorical model has mostly zeros. Same values, same
        // binomials in the same order as visiting every category.
        counts.update(repeating: 0)
        withUnsafeTemporaryAllocation(of: Int.self, capacity: v) { positive in
            var m = 0
            var invalid: UInt8 = 0 // branch-free validation; the offending entry is found below
            let base = p.baseAddress!
            var i = 0
            while i < v {
                // Runs of eight zeros (valid, and drawing nothing) are skipped in one comparison.
                if i + 8 <= v {
                    let w = UnsafeRawPointer(base + i)
                    var bits: UInt64 = 0
                    for k in 0..<8 { bits |= w.loadUnaligned(fromByteOffset: 8 * k, as: UInt64.self) }
                    if bits & 0x7FFF_FFFF_FFFF_FFFF == 0 { // all eight are +0 or -0
                        i += 8
                        continue
                    }
                }
                for j in i..<min(i + 8, v) {
                    let x = base[j]
                    invalid |= (x >= 0 ? 0 : 1) | (x < .infinity ? 0 : 1)
                    positive[m] = j
                    m &+= x != 0 ? 1 : 0
                }
                i += 8
            }
            if invalid != 0 {
                for i in 0..<v {
                    precondition(p[i] >= 0 && p[i].isFinite,
                                 "Multinomial needs non-negative finite probabilities, got \(p[i]) at index \(i)")
                }
            }
            withUnsafeTemporaryAllocation(of: Double.self, capacity: max(m, 1)) { remaining in
                // Suffix sums S_i = Σ_{j≥i} p_j over the positive categories, compensated (CompensatedSum).
                var suffix = CompensatedSum()
                for t in stride(from: m - 1, through: 0, by: -1) {
                    suffix.add(p[positive[t]])
                    remaining[t] = suffix.value
                }
                let sum = suffix.value
                precondition(sum > 0 && sum.isFinite,
                             "Multinomial needs probabilities with a positive finite sum, got \(sum)")
                var left = n
                for t in 0..<m where left > 0 {
                    let i = positive[t]
                    let mass = remaining[t]
                    let conditional = mass > 0 ? min(max(p[i] / mass, 0), 1) : 0
                    let c = Binomial.sample(trials: left, probability: conditional, using: &rng)
                    counts[i] = c
                    left -= c
                }
                // The last positive-mass category had conditional probability 1, so left == 0.
                assert(left == 0, "Multinomial left \(left) draws unplaced")
            }
        }
    }

    /// One multinomial draw of `n` over `probabilities`, as an array of counts.
    ///
    /// - Precondition: see `counts(total:probabilities:into:using:)`.
    /// - Complexity: O(V) expected, independent of `n`.
    @inlinable
    public static func counts<R: RandomStream>(total n: Int, probabilities: [Double], using rng: inout R) -> [Int] {
        [Int](unsafeUninitializedCapacity: probabilities.count) { buffer, initialized in
            probabilities.withUnsafeBufferPointer { p in
                counts(total: n, probabilities: p, into: buffer, using: &rng)
            }
            initialized = probabilities.count
        }
    }
}

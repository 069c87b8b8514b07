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
        withUnsafeTemporaryAllocation(of: Double.self, capacity: v) { remaining in
            // Suffix sums S_i = Σ_{j≥i} p_j, compensated (CompensatedSum), validating as we go.
            var suffix = CompensatedSum()
            for i in stride(from: v - 1, through: 0, by: -1) {
                let x = p[i]
                precondition(x >= 0 && x.isFinite,
                             "Multinomial needs non-negative finite probabilities, got \(x) at index \(i)")
                if x != 0 { suffix.add(x) } // adding 0 leaves the compensated sum exactly as it is
                remaining[i] = suffix.value
            }
            let sum = suffix.value
            precondition(sum > 0 && sum.isFinite,
                         "Multinomial needs probabilities with a positive finite sum, got \(sum)")
            var left = n
            for i in 0..<v {
                // No draws left, or a zero-probability category (its binomial is the constant 0 and
                // draws nothing, so skipping it changes no value): a collapsed categorical model
                // has mostly such categories.
                if left == 0 || p[i] == 0 {
                    counts[i] = 0
                    continue
                }
                let mass = remaining[i]
                let conditional = mass > 0 ? min(max(p[i] / mass, 0), 1) : 0
                let c = Binomial(trials: left, probability: conditional).sample(using: &rng)
                counts[i] = c
                left -= c
            }
            // The last positive-mass category had conditional probability 1, so left == 0.
            assert(left == 0, "Multinomial left \(left) draws unplaced")
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

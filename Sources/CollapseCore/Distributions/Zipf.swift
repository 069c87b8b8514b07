#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#elseif canImport(Darwin)
import Darwin
#endif

/// The Zipf (truncated zeta) law over a finite vocabulary.
///
/// `p_k = k^(−s) / H_{V,s}` for ranks `k = 1 ... V`, with the generalised harmonic number
/// `H_{V,s} = Σ_{j=1}^{V} j^(−s)`. Sample from it with `AliasTable(weights:)`.
public enum Zipf {
    /// The probabilities `p_1 ... p_V` (array index `k − 1` holds rank `k`).
    ///
    /// The terms are scaled so that the largest is 1 (no overflow for negative `s`), and
    /// `H_{V,s}` is accumulated smallest term first with Neumaier's compensated summation, so it
    /// is correctly rounded up to a couple of ulps. Each `p_k` is then one correctly rounded
    /// division, so the exact sum of the returned values is 1 within a few ulps (and an
    /// accurate summation of them returns 1 to within a few ulps). Terms below the smallest
    /// subnormal (e.g. `k^(−s)` for `k^s > 10³⁰⁸`) are 0.
    ///
    /// - Parameters:
    ///   - vocabulary: The number of ranks `V >= 1`.
    ///   - exponent: The exponent `s` (finite; `s = 0` is uniform, `s < 0` favours high ranks).
    /// - Precondition: `vocabulary >= 1`, `exponent` finite.
    /// - Complexity: O(V) time and memory.
    public static func probabilities(vocabulary: Int, exponent: Double) -> [Double] {
        precondition(vocabulary >= 1, "Zipf needs a vocabulary of at least 1, got \(vocabulary)")
        precondition(exponent.isFinite, "Zipf needs a finite exponent, got \(exponent)")
        let v = vocabulary
        let s = exponent
        // Scaled terms t_k = (k / k*)^(−s), with k* the rank of the largest term.
        let reference = s >= 0 ? 1.0 : Double(v)
        var terms = [Double](unsafeUninitializedCapacity: v) { buffer, initialized in
            for k in 1...v {
                buffer[k - 1] = s == 0 ? 1 : pow(Double(k) / reference, -s)
            }
            initialized = v
        }
        // Smallest first: from rank V down for s > 0, from rank 1 up for s < 0.
        var sum = 0.0
        var compensation = 0.0
        func accumulate(_ x: Double) {
            let t = sum + x
            if abs(sum) >= abs(x) {
                compensation += (sum - t) + x
            } else {
                compensation += (x - t) + sum
            }
            sum = t
        }
        if s >= 0 {
            for k in stride(from: v - 1, through: 0, by: -1) { accumulate(terms[k]) }
        } else {
            for k in 0..<v { accumulate(terms[k]) }
        }
        let harmonic = sum + compensation
        for k in 0..<v { terms[k] /= harmonic }
        return terms
    }
}

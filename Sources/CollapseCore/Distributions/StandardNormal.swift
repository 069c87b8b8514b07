#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#elseif canImport(Darwin)
import Darwin
#endif

/// The standard normal distribution N(0, 1), sampled by an exact 256-layer ziggurat.
///
/// Density `φ(x) = exp(-x²/2) / √(2π)`. Every other normal-based sampler in the toolkit draws its
/// normals here, so this is the one place that turns bits into Gaussians.
///
/// ## Algorithm
/// Marsaglia & Tsang (2000), "The ziggurat method for generating random variables", J. Stat.
/// Softw. 5(8), with Doornik's (2005) fix: the layer index and the uniform come from disjoint
/// bits. The region under `f(x) = exp(-x²/2)`, `x ≥ 0`, is covered by 256 layers of equal area
/// `v`: a base strip `[0, r] × [0, f(r)]` plus the tail `x > r`, and 255 rectangles
/// `[0, xᵢ] × [f(xᵢ), f(xᵢ₊₁)]` with `xᵢ (f(xᵢ₊₁) − f(xᵢ)) = v`, `x₁ = r`, `x₂₅₆ = 0`.
/// The tables are computed once, at first use, in double precision from these equations (`r` is
/// found by bisection so that the recursion closes exactly at the top, `x₂₅₆ = 0`).
///
/// One draw takes one 64-bit word `w`: bits 0–7 choose the layer `i`, bit 8 the sign, bits 11–63
/// the 53-bit uniform `j`; `x = j · xᵢ · 2⁻⁵³`. If `x < xᵢ₊₁` (an integer compare `j < kᵢ`), the
/// point lies under the curve and `±x` is returned — this happens with probability 0.9851.
/// Otherwise the wedge is tested against `exp(-x²/2)` with a fresh uniform, and the base layer's
/// overflow is sampled from the tail `x > r` by Marsaglia's (1964) exact method
/// (`x = −ln(U₁)/r`, `y = −ln(U₂)` until `2y > x²`, return `r + x`).
///
/// ## Guarantees
/// - Exact: the output distribution is N(0, 1) up to the 2⁻⁵³ resolution of the uniforms.
/// - Expected 64-bit words per draw: 1.0220 (the ziggurat covers 1.00672 times the area under
///   the curve, so 1.00672 attempts per draw; a wedge test costs one extra word, a tail round two).
/// - Cannot hang: after 64 consecutive rejections (probability < 10⁻¹³⁸ for a random stream) the
///   draw is completed by Box–Muller, `√(−2 ln U₁) cos(2π U₂)`. Because every rejected attempt is
///   independent of the accepted value, this fallback leaves the distribution exactly normal.
///   The tail loop (acceptance 0.9377 per round) is capped the same way at 64 rounds (failure
///   probability < 10⁻⁷⁷, far below the 2⁻⁵³ resolution) and then also falls back to Box–Muller.
/// - Degenerate streams: an all-zeros stream yields `+0.0` on every draw (layer 0, `j = 0`);
///   an all-ones stream is rejected 64 times in the top wedge and yields the Box–Muller value
///   `√(−2 ln(1 − 2⁻⁵³)) · cos(2π(1 − 2⁻⁵³)) = 2⁻²⁶ = 1.4901161193847656e-08` (`nextOpenDouble`
///   and `nextDouble` of an all-ones word are both `1 − 2⁻⁵³`).
///
/// - Complexity: O(1) expected per draw; the tables (4 × 257 doubles) are built once, O(256 · 60)
///   for the bisection on `r`.
public enum StandardNormal {
    /// The ziggurat tables, computed once from the defining equations.
    @usableFromInline
    struct Tables: Sendable {
        /// Number of layers.
        @usableFromInline static let layerCount = 256
        /// `kᵢ = ⌈2⁵³ xᵢ₊₁ / xᵢ⌉`: a 53-bit uniform `j < kᵢ` lands in the part of layer `i` that
        /// lies entirely under the curve.
        @usableFromInline let k: ContiguousArray<UInt64>
        /// `wᵢ = xᵢ · 2⁻⁵³`, so that `x = j · wᵢ`.
        @usableFromInline let w: ContiguousArray<Double>
        /// `fᵢ = exp(−xᵢ²/2)` for `i = 0 ... 256` (`f₂₅₆ = 1`; `f₀` is that of the virtual width).
        @usableFromInline let f: ContiguousArray<Double>
        /// `xᵢ` for `i = 0 ... 256`: `x₀ = v / f(r)` (the base strip's virtual width),
        /// `x₁ = r`, `x₂₅₆ = 0`.
        @usableFromInline let x: ContiguousArray<Double>
        /// The tail start `r = x₁`.
        @usableFromInline let r: Double
        /// The common layer area `v`.
        @usableFromInline let v: Double

        init() {
            let n = Self.layerCount
            let (r, v) = Self.solveRightmostEdge(layerCount: n)
            var x = ContiguousArray<Double>(repeating: 0, count: n + 1)
            x[0] = v / exp(-0.5 * r * r)
            x[1] = r
            for i in 1..<(n - 1) {
                x[i + 1] = (-2 * log(v / x[i] + exp(-0.5 * x[i] * x[i]))).squareRoot()
            }
            x[n] = 0
            var k = ContiguousArray<UInt64>(repeating: 0, count: n)
            var w = ContiguousArray<Double>(repeating: 0, count: n)
            var f = ContiguousArray<Double>(repeating: 0, count: n + 1)
            for i in 0..<n {
                k[i] = UInt64((x[i + 1] / x[i] * 0x1p53).rounded(.up))
                w[i] = x[i] * 0x1p-53
                f[i] = exp(-0.5 * x[i] * x[i])
            }
            f[n] = 1
            self.k = k
            self.w = w
            self.f = f
            self.x = x
            self.r = r
            self.v = v
        }

        /// Solves for the `r` at which the layer recursion closes at the top of the curve.
        ///
        /// For a trial `r`, `v(r) = r f(r) + ∫_r^∞ f`, and `xᵢ₊₁ = f⁻¹(f(xᵢ) + v/xᵢ)`. Too small an
        /// `r` makes the layers too tall (the recursion passes `f = 1` before layer 255); too large
        /// an `r` leaves `f(x₂₅₅) + v/x₂₅₅ < 1`. Bisection to adjacent doubles.
        static func solveRightmostEdge(layerCount n: Int) -> (r: Double, v: Double) {
            func area(_ r: Double) -> Double {
                r * exp(-0.5 * r * r) + (Double.pi / 2).squareRoot() * erfc(r / 2.0.squareRoot())
            }
            // Positive when r is too small, negative when r is too large.
            func closure(_ r: Double) -> Double {
                let v = area(r)
                var xi = r
                for _ in 1..<(n - 1) {
                    let top = v / xi + exp(-0.5 * xi * xi)
                    if top >= 1 { return 1 }
                    xi = (-2 * log(top)).squareRoot()
                }
                return v / xi + exp(-0.5 * xi * xi) - 1
            }
            var lo = 2.0, hi = 5.0
            while true {
                let mid = 0.5 * (lo + hi)
                if mid <= lo || mid >= hi { break }
                if closure(mid) > 0 { lo = mid } else { hi = mid }
            }
            let r = abs(closure(lo)) <= abs(closure(hi)) ? lo : hi
            return (r, area(r))
        }
    }

    /// The tables, computed on first use (thread-safe lazy global initialisation).
    @usableFromInline static let tables = Tables()

    /// Rounds after which a draw falls back to Box–Muller (see the type's guarantees).
    @usableFromInline static let maxAttempts = 64

    /// One standard normal draw.
    ///
    /// Consumes one 64-bit word with probability 0.9851 (see the type's documentation for the
    /// rest). - Complexity: O(1) expected.
    @inlinable @inline(__always)
    public static func next<R: RandomStream>(using rng: inout R) -> Double {
        let bits = rng.nextUInt64()
        let t = tables
        let i = Int(truncatingIfNeeded: bits & 0xFF)
        let j = bits &>> 11
        let accept = t.k.withUnsafeBufferPointer { $0[i] } > j
        if _fastPath(accept) {
            // j < 2^53: the signed conversion is exact and one instruction (the unsigned one is not).
            return applySign(Double(Int64(bitPattern: j)) * t.w.withUnsafeBufferPointer { $0[i] }, bits)
        }
        return slowPath(firstWord: bits, stream: &rng)
    }

    /// Fills `buffer` with independent standard normal draws.
    ///
    /// Produces exactly the values of `buffer.count` successive calls to `next(using:)`, consuming
    /// the stream identically. - Complexity: O(`buffer.count`).
    @inlinable
    public static func fill<R: RandomStream>(_ buffer: UnsafeMutableBufferPointer<Double>, using rng: inout R) {
        guard let out = buffer.baseAddress else { return }
        let count = buffer.count
        let t = tables
        // Words come from the stream in chunks through a cursor that never reads ahead of what
        // one-at-a-time draws would consume (see `WordCursor`), so the values and the stream's
        // final state equal `count` calls to `next(using:)`. The fast path reads the chunk in
        // place, a tight loop over the words it accepts up to the first one it does not; that word
        // goes to the slow path, which takes further words through the cursor (wedge and tail
        // tests; the cursor in place: by value, its ~140 bytes were copied in and out on every
        // call), and the loop resumes after them.
        withUnsafeTemporaryAllocation(of: UInt64.self, capacity: 512) { chunk in
            var cursor = WordCursor(base: rng, chunk: chunk.baseAddress!, capacity: chunk.count)
            t.k.withUnsafeBufferPointer { kTable in
                t.w.withUnsafeBufferPointer { wTable in
                    guard let k = kTable.baseAddress, let w = wTable.baseAddress else { return }
                    var index = 0
                    while index < count {
                        cursor.valuesRemaining = count &- index
                        if cursor.position == cursor.available { cursor.refill() }
                        // Unconsumed words never outnumber the values still to come (each takes
                        // at least one), so the run needs no clamp beyond the chunk; kept for safety.
                        let run = min(cursor.available &- cursor.position, count &- index)
                        let words = cursor.chunk + cursor.position
                        var accepted = 0
                        while accepted < run {
                            let bits = words[accepted]
                            let i = Int(truncatingIfNeeded: bits & 0xFF)
                            let j = bits &>> 11
                            guard j < k[i] else { break }
                            // j < 2^53: the signed conversion is exact and one instruction.
                            out[index &+ accepted] = applySign(Double(Int64(bitPattern: j)) * w[i], bits)
                            accepted &+= 1
                        }
                        index &+= accepted
                        cursor.position &+= accepted
                        if accepted < run {
                            let bits = cursor.chunk[cursor.position]
                            cursor.position &+= 1
                            cursor.valuesRemaining = count &- index // a refill in there reads no further
                            out[index] = slowPath(firstWord: bits, stream: &cursor)
                            index &+= 1
                        }
                    }
                }
            }
            rng = cursor.base
        }
    }

    /// `count` independent standard normal draws (the values `fill` would produce).
    ///
    /// - Precondition: `count >= 0`. - Complexity: O(`count`).
    @inlinable
    public static func sample<R: RandomStream>(count: Int, using rng: inout R) -> [Double] {
        precondition(count >= 0, "StandardNormal.sample(count:) needs a non-negative count, got \(count)")
        return [Double](unsafeUninitializedCapacity: count) { buffer, initialized in
            fill(buffer, using: &rng)
            initialized = count
        }
    }

    /// `x` with its sign bit flipped when bit 8 of `word` is set, without a branch (the sign is a
    /// coin flip, so a branch would be mispredicted half the time).
    @inlinable @inline(__always)
    static func applySign(_ x: Double, _ word: UInt64) -> Double {
        Double(bitPattern: x.bitPattern ^ ((word & 0x100) &<< 55))
    }

    /// The rare part of a draw: wedge test, tail, and retries, starting from the first word.
    ///
    /// Specialised per stream type but kept out of line so the fast path stays small.
    @inlinable @inline(never)
    static func slowPath<R: RandomStream>(firstWord: UInt64, stream rng: inout R) -> Double {
        let t = tables
        var bits = firstWord
        for attempt in 0..<maxAttempts {
            if attempt > 0 { bits = rng.nextUInt64() }
            let i = Int(truncatingIfNeeded: bits & 0xFF)
            let j = bits &>> 11
            let negative = bits & 0x100 != 0
            if j < t.k[i] {
                let x = Double(j) * t.w[i]
                return negative ? -x : x
            }
            if i == 0 {
                guard let x = tail(r: t.r, using: &rng) else { break }
                return negative ? -x : x
            }
            let x = Double(j) * t.w[i]
            let y = t.f[i] + rng.nextDouble() * (t.f[i + 1] - t.f[i])
            if y < exp(-0.5 * x * x) {
                return negative ? -x : x
            }
        }
        return boxMuller(using: &rng)
    }

    /// A draw from the normal tail `x > r` by Marsaglia's (1964) method, or `nil` after 64
    /// rejections (acceptance is 0.9377 per round at `r = 3.6541528853610088`).
    @inlinable
    static func tail<R: RandomStream>(r: Double, using rng: inout R) -> Double? {
        for _ in 0..<maxAttempts {
            let x = -log(rng.nextOpenDouble()) / r
            let y = -log(rng.nextOpenDouble())
            if 2 * y > x * x { return r + x }
        }
        return nil
    }

    /// The Box–Muller fallback `√(−2 ln U₁) cos(2π U₂)`, with `U₁` in (0, 1) (`nextOpenDouble`),
    /// `U₂` in [0, 1): always finite, exact N(0, 1).
    @inlinable
    static func boxMuller<R: RandomStream>(using rng: inout R) -> Double {
        let radius = (-2 * log(rng.nextOpenDouble())).squareRoot()
        return radius * cos(2 * Double.pi * rng.nextDouble())
    }
}

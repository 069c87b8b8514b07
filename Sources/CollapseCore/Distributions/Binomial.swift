#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#elseif canImport(Darwin)
import Darwin
#endif

/// The binomial distribution: the number of successes in n independent trials of probability p.
///
/// `P(X = k) = C(n, k) p^k (1−p)^(n−k)`, `k = 0 ... n`; mean `np`, variance `np(1−p)`.
///
/// ## Algorithm
/// By symmetry `X(n, p) = n − X(n, 1−p)`, so the sampler works with `p' = min(p, 1−p)`
/// (`1 − p` is exact for `p ≥ ½`):
/// - `n p' < 10`: inversion by sequential search from `P(0) = exp(n log1p(−p'))` with
///   `P(k+1) = P(k) (n−k)/(k+1) · p'/(1−p')`; one word per draw.
/// - `n p' ≥ 10`: Hörmann's BTRS (1993), "The generation of binomial random variates",
///   J. Statist. Comput. Simul. 46: transformed rejection with squeeze,
///   `k = ⌊(2a/u_s + b)U + np' + ½⌋`, `U` uniform on [−½, ½), `u_s = ½ − |U|`; accepted at once
///   in the squeeze region (`u_s ≥ 0.07`, `V ≤ v_r`), else when
///   `log(V α/(a/u_s² + b)) ≤ log P(k) − log P(m)` with `m = ⌊(n+1)p'⌋` the mode.
///   The log-probabilities use Loader's (2000) saddle-point form and `np'` is carried as an
///   exact double-double, so the sampler stays exact for every `n ≤ Int.max / 2` — the naive
///   `log k! + log (n−k)!` form would lose all precision beyond `n ≈ 10¹²`, and forming `k` from
///   a rounded `np'` would put every draw on a lattice once `n p' > 2⁵³`.
///
/// ## Guarantees
/// - Exact edge cases: `n = 0` or `p = 0` gives 0, `p = 1` gives `n`, with no draws consumed.
/// - Exact otherwise up to the 2⁻⁵³ resolution of the uniforms.
/// - Expected words per draw: 1 for `n p' < 10`; for `n p' ≥ 10` two per attempt, with about
///   1.4 attempts at `n p' = 10` falling to 1.13 for large `n p'` (measured: 2.82 words for
///   (20, ½), 2.35 for (1000, ½), 2.26 for (Int.max/2, ½)).
/// - Cannot hang: after 64 consecutive BTRS rejections (probability < 10⁻³⁴ for a random
///   stream) the draw returns the mode `m` (mapped through the symmetry).
/// - Degenerate streams: all-zeros yields 0 (inversion; `n` if `p > ½`) or the mode (BTRS);
///   all-ones yields the point where the inversion CDF rounds to 1 (mirrored if `p > ½`; e.g. 20
///   for (20, 0.3), 32 for (50, 0.97)) or the mode (BTRS).
///
/// - Complexity: O(1 + n p') expected per draw for the inversion branch, O(1) expected for
///   BTRS; O(1) set-up.
public struct Binomial: Sendable, Hashable, Codable {
    /// The number of trials n (`0 ... Int.max / 2`).
    public let trials: Int
    /// The success probability p (in [0, 1]).
    public let probability: Double

    @usableFromInline
    enum Method: Sendable, Hashable {
        /// The result is always `value` (n = 0, p = 0 or p = 1).
        case constant(value: Int)
        /// Inversion with `P(0)` and the ratio `p'/(1−p')`.
        case inversion(probabilityOfZero: Double, oddsRatio: Double)
        /// BTRS with its constants.
        case transformedRejection(BTRS)
    }

    /// The constants of BTRS for `n p' ≥ 10`.
    @usableFromInline
    struct BTRS: Sendable, Hashable {
        @usableFromInline let a: Double
        @usableFromInline let b: Double
        @usableFromInline let alpha: Double
        @usableFromInline let squeezeBound: Double
        /// `⌊np'⌋` and `np' − ⌊np'⌋` (from an exact double-double product).
        @usableFromInline let meanFloor: Int
        @usableFromInline let meanFraction: Double
        /// The mode `m = ⌊(n+1)p'⌋` and `log P(m)`.
        @usableFromInline let mode: Int
        @usableFromInline let logProbabilityOfMode: Double
    }

    /// The reduced probability `p' = min(p, 1−p)` and whether results are mirrored (`n − k`).
    @usableFromInline let reducedProbability: Double
    @usableFromInline let mirrored: Bool
    @usableFromInline let method: Method

    /// The largest number of trials accepted, `Int.max / 2`.
    public static let maximumTrials = Int.max / 2

    /// `n p'` at and above which BTRS is used instead of inversion.
    @usableFromInline static let transformedRejectionThreshold = 10.0

    /// Binomial(`trials`, `probability`).
    ///
    /// - Precondition: `0 <= trials <= Int.max / 2`; `probability` in [0, 1].
    /// - Complexity: O(1).
    public init(trials: Int, probability: Double) {
        precondition(trials >= 0 && trials <= Self.maximumTrials,
                     "Binomial needs 0 <= trials <= Int.max / 2, got \(trials)")
        precondition(probability >= 0 && probability <= 1,
                     "Binomial needs a probability in [0, 1], got \(probability)")
        self.trials = trials
        self.probability = probability
        let mirrored = probability > 0.5
        let p = mirrored ? 1 - probability : probability
        self.mirrored = mirrored
        self.reducedProbability = p
        if trials == 0 || p == 0 {
            method = .constant(value: mirrored ? trials : 0)
            return
        }
        let q = 1 - p
        let n = Double(trials)
        if n * p < Self.transformedRejectionThreshold {
            method = .inversion(probabilityOfZero: exp(n * log1p(-p)), oddsRatio: p / q)
            return
        }
        let spq = (n * p * q).squareRoot()
        let b = 1.15 + 2.53 * spq
        let a = -0.0873 + 0.0248 * b + 0.01 * p
        let alpha = (2.83 + 5.1 / b) * spq
        let squeezeBound = 0.92 - 4.2 / b
        let np = Self.exactProduct(trials, p)
        let (meanFloor, meanFraction) = Self.floorAndFraction(np)
        // (n+1)p' = np' + p'; its floor is the mode.
        let (mode, _) = Self.floorAndFraction(Self.add(np, p))
        let logPm = Self.logProbability(mode, trials: trials, p: p, meanFloor: meanFloor, meanFraction: meanFraction)
        method = .transformedRejection(BTRS(
            a: a, b: b, alpha: alpha, squeezeBound: squeezeBound, meanFloor: meanFloor,
            meanFraction: meanFraction, mode: mode, logProbabilityOfMode: logPm))
    }

    /// The mean `np`.
    public var mean: Double { Double(trials) * probability }
    /// The variance `np(1−p)`.
    public var variance: Double { Double(trials) * probability * (1 - probability) }

    /// One draw. - Complexity: see the type.
    @inlinable
    public func sample<R: RandomStream>(using rng: inout R) -> Int {
        let k: Int
        switch method {
        case .constant(let value):
            return value
        case .inversion(let probabilityOfZero, let oddsRatio):
            k = inversion(probabilityOfZero: probabilityOfZero, oddsRatio: oddsRatio, using: &rng)
        case .transformedRejection(let constants):
            k = transformedRejection(constants, using: &rng)
        }
        return mirrored ? trials - k : k
    }

    /// Fills `buffer` with independent draws: exactly the values of `buffer.count` successive
    /// `sample(using:)` calls. - Complexity: `buffer.count` times that of `sample`.
    @inlinable
    public func fill<R: RandomStream>(_ buffer: UnsafeMutableBufferPointer<Int>, using rng: inout R) {
        for i in buffer.indices { buffer[i] = sample(using: &rng) }
    }

    /// One draw from Binomial(`trials`, `probability`) without keeping the distribution: exactly
    /// the value and the stream use of `Binomial(trials:probability:).sample(using:)`, cheaper
    /// when `n p'` is small (a multinomial's tail categories).
    ///
    /// The inversion draws its uniform u first and returns 0 without computing
    /// `P(0) = exp(n log1p(−p'))` when u lies below `L = (1 − n p') − 2⁻⁴⁹`, which is below the
    /// computed P(0) whenever `n p' <= ½`: `(1 − p')ⁿ >= 1 − n p'` (Bernoulli), and with glibc's
    /// log1p and exp within 1 ulp, `|n log1p(−p')| <= 2 n p' <= 1` makes the computed P(0) at least
    /// `P(0) − 5.1 u` and the computed L at most `1 − n p' − 13 u` (u = 2⁻⁵³). So the search would
    /// have stopped at 0 too (tested against the constructed sampler).
    /// - Precondition: as `init(trials:probability:)`.
    @inlinable
    public static func sample<R: RandomStream>(trials: Int, probability: Double, using rng: inout R) -> Int {
        let mirrored = probability > 0.5
        let p = mirrored ? 1 - probability : probability
        let np = Double(trials) * p
        guard trials > 0 && p > 0 && np <= 0.5 && trials <= maximumTrials else {
            return Binomial(trials: trials, probability: probability).sample(using: &rng)
        }
        let u = rng.nextDouble()
        if u < (1 - np) - 0x1p-49 { return mirrored ? trials : 0 }
        let q = 1 - p
        let k = Self.search(u: u, trials: trials, reducedProbability: p,
                            probabilityOfZero: exp(Double(trials) * log1p(-p)), oddsRatio: p / q)
        return mirrored ? trials - k : k
    }

    /// Sequential-search inversion for `n p' < 10`.
    @inlinable
    func inversion<R: RandomStream>(probabilityOfZero: Double, oddsRatio: Double, using rng: inout R) -> Int {
        Self.search(u: rng.nextDouble(), trials: trials, reducedProbability: reducedProbability,
                    probabilityOfZero: probabilityOfZero, oddsRatio: oddsRatio)
    }

    /// The inversion's search for the uniform `u`: the first k with u <= P(0) + ... + P(k).
    @inlinable
    static func search(u: Double, trials n: Int, reducedProbability: Double, probabilityOfZero: Double,
                       oddsRatio: Double) -> Int {
        let mean = Double(n) * reducedProbability
        var k = 0
        var p = probabilityOfZero
        var cdf = p
        while u > cdf && k < n {
            p *= Double(n - k) / Double(k + 1) * oddsRatio
            k += 1
            let next = cdf + p
            // Past the mode, once the terms no longer move the rounded CDF, `u` is within
            // rounding of 1: stop here.
            if next == cdf && Double(k) > mean { break }
            cdf = next
        }
        return k
    }

    /// Rejections after which BTRS gives up (see the type's guarantees).
    @usableFromInline static let maxAttempts = 64

    /// Hörmann's BTRS for `n p' ≥ 10`.
    @inlinable
    func transformedRejection<R: RandomStream>(_ c: BTRS, using rng: inout R) -> Int {
        let n = trials
        for _ in 0..<Self.maxAttempts {
            let u = rng.nextDouble() - 0.5
            let v = rng.nextDouble()
            let us = 0.5 - abs(u)
            // k − ⌊np'⌋, kept small so that huge n keep the low-order digits of k.
            let offset = ((2 * c.a / us + c.b) * u + c.meanFraction + 0.5).rounded(.down)
            if !(offset >= -Double(c.meanFloor)) || !(offset <= Double(n - c.meanFloor)) {
                continue  // k outside 0 ... n (or the proposal overflowed for u_s ≈ 0)
            }
            let k = c.meanFloor + Int(offset)
            if k < 0 || k > n { continue }  // guards the rounding of the Double comparison
            if us >= 0.07 && v <= c.squeezeBound {
                return k
            }
            let logHat = log(v * c.alpha / (c.a / (us * us) + c.b))
            let logRatio = Self.logProbability(
                k, trials: n, p: reducedProbability, meanFloor: c.meanFloor, meanFraction: c.meanFraction)
                - c.logProbabilityOfMode
            if logHat <= logRatio {
                return k
            }
        }
        return c.mode
    }

    /// `log P(X = k)` for Binomial(n, p) with `np = meanFloor + meanFraction`, in Loader's
    /// saddle-point form (see `SaddlePoint`): accurate to ~10⁻¹⁴ for every `n ≤ Int.max / 2`.
    @usableFromInline
    static func logProbability(_ k: Int, trials n: Int, p: Double, meanFloor: Int, meanFraction: Double) -> Double {
        if k == 0 { return Double(n) * log1p(-p) }
        if k == n { return Double(n) * log(p) }
        // d = k − np exactly enough; n − k − nq = −d.
        let d = Double(k - meanFloor) - meanFraction
        let x = Double(k)
        let y = Double(n - k)
        let lc = SaddlePoint.stirlingError(n) - SaddlePoint.stirlingError(k) - SaddlePoint.stirlingError(n - k)
            - SaddlePoint.deviance(x, deviation: d) - SaddlePoint.deviance(y, deviation: -d)
        return lc - 0.5 * log(2 * Double.pi * x * (y / Double(n)))
    }

    /// `n · p` as an unevaluated sum `hi + lo` with error below 2⁻¹⁰⁵ |np|: `n` is split into
    /// halves that are exact doubles and each product is made exact with a fused multiply-add.
    static func exactProduct(_ n: Int, _ p: Double) -> (hi: Double, lo: Double) {
        let high = Double(n & ~0xFFFF_FFFF)  // at most 31 significant bits: exact
        let low = Double(n & 0xFFFF_FFFF)  // below 2^32: exact
        let h1 = high * p
        let e1 = (-h1).addingProduct(high, p)  // fused: the exact rounding error of h1
        let h2 = low * p
        let e2 = (-h2).addingProduct(low, p)
        let s = add((h1, e1), h2)
        return (s.hi, s.lo + e2)
    }

    /// `(hi + lo) + y` as a double-double (Knuth's two-sum, renormalised).
    static func add(_ x: (hi: Double, lo: Double), _ y: Double) -> (hi: Double, lo: Double) {
        let s = x.hi + y
        let bp = s - x.hi
        let err = (x.hi - (s - bp)) + (y - bp)
        let lo = err + x.lo
        let hi = s + lo
        return (hi, lo - (hi - s))
    }

    /// `⌊hi + lo⌋` as an integer and the fraction `hi + lo − ⌊hi + lo⌋` in [0, 1).
    static func floorAndFraction(_ x: (hi: Double, lo: Double)) -> (Int, Double) {
        let f = x.hi.rounded(.down)
        // x.hi − f is exact; above 2⁵³ it is 0 and x.lo can exceed 1 in magnitude.
        var fraction = (x.hi - f) + x.lo
        let carry = fraction.rounded(.down)
        fraction -= carry
        return (Int(f) + Int(carry), fraction)
    }

    private enum CodingKeys: String, CodingKey { case trials, probability }

    /// Encodes `{"trials": n, "probability": p}`.
    public func encode(to encoder: any Encoder) throws {
        var container = encoder.container(keyedBy: CodingKeys.self)
        try container.encode(trials, forKey: .trials)
        try container.encode(probability, forKey: .probability)
    }

    /// Decodes `{"trials": n, "probability": p}`, rejecting values outside the valid ranges with
    /// a message naming the key.
    public init(from decoder: any Decoder) throws {
        let container = try decoder.container(keyedBy: CodingKeys.self)
        let trials = try container.decode(Int.self, forKey: .trials)
        let probability = try container.decode(Double.self, forKey: .probability)
        guard trials >= 0, trials <= Self.maximumTrials else {
            throw DecodingError.dataCorruptedError(forKey: .trials, in: container,
                debugDescription: "Binomial.trials must be in 0 ... Int.max / 2, got \(trials)")
        }
        guard probability >= 0, probability <= 1 else {
            throw DecodingError.dataCorruptedError(forKey: .probability, in: container,
                debugDescription: "Binomial.probability must be in [0, 1], got \(probability)")
        }
        self.init(trials: trials, probability: probability)
    }
}

#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#elseif canImport(Darwin)
import Darwin
#endif

/// The Poisson distribution with mean μ ≥ 0.
///
/// `P(X = k) = μ^k e^(−μ) / k!`, `k = 0, 1, 2, ...`; mean and variance μ. `μ = 0` gives 0.
///
/// ## Algorithm
/// - `μ < 10`: inversion by sequential search, `k = min{k : U ≤ F(k)}`, with `F` accumulated
///   from `p(0) = e^(−μ)`, `p(k) = p(k−1) μ/k`; one word per draw, `μ + 1` steps on average.
/// - `μ ≥ 10`: Hörmann's PTRS (1993), "The transformed rejection method for generating Poisson
///   random variables", Insurance: Mathematics and Economics 12: `k = ⌊(2a/u_s + b)U + μ + 0.43⌋`
///   with `U` uniform on [−½, ½), `u_s = ½ − |U|`, accepted at once in the squeeze region
///   (`u_s ≥ 0.07`, `V ≤ v_r`) and otherwise by comparing `log(V α⁻¹/(a/u_s² + b))` with the
///   exact `log p(k)`. `log p(k)` is evaluated in Loader's (2000) saddle-point form, so it is
///   accurate to ~10⁻¹⁴ for any μ up to 2⁶², and `k` is formed as `⌊μ⌋ + ⌊offset + frac(μ)⌋` so
///   that large means do not lose the low bits of the result.
///
/// ## Guarantees
/// - Exact up to the 2⁻⁵³ resolution of the uniforms: inversion stops once the remaining terms
///   no longer change the rounded CDF, so a `U` within rounding of 1 returns that point.
/// - Expected words per draw: 1 for `μ < 10`; for `μ ≥ 10` two per attempt, with 1.33 attempts
///   at `μ = 10` falling to 1.12 for large μ (measured: 2.66 words at μ = 10, 2.25 at 10⁴).
/// - Cannot hang: after 64 consecutive PTRS rejections (probability < 10⁻³⁸ for a random
///   stream) the draw returns `⌊μ⌋`, the mode.
/// - Degenerate streams: all-zeros yields 0 for `μ < 10` and `⌊μ⌋` for `μ ≥ 10`; all-ones
///   yields the point where the CDF rounds to 1 for `μ < 10` (14 for μ = 0.5, 38 for μ = 7)
///   and `⌊μ⌋` for `μ ≥ 10` (every PTRS proposal falls outside the support or is rejected).
///
/// - Complexity: O(1 + μ) expected for `μ < 10`, O(1) expected for `μ ≥ 10`.
public struct Poisson: Sendable, Hashable, Codable {
    /// The mean μ (finite, `0 ... 2⁶²`).
    public let mean: Double

    /// Precomputed constants of PTRS (unused when μ < 10).
    @usableFromInline let a: Double
    @usableFromInline let b: Double
    @usableFromInline let inverseAlpha: Double
    @usableFromInline let squeezeBound: Double
    /// `⌊μ⌋` and `μ − ⌊μ⌋`.
    @usableFromInline let meanFloor: Int
    @usableFromInline let meanFraction: Double
    /// `e^(−μ)` for the inversion branch.
    @usableFromInline let expMinusMean: Double

    /// The largest mean accepted, 2⁶².
    public static let maximumMean: Double = 0x1p62

    /// Mean at and above which PTRS is used instead of inversion.
    @usableFromInline static let transformedRejectionThreshold = 10.0

    /// Poisson(`mean`).
    ///
    /// - Precondition: `0 <= mean <= 2⁶²`.
    public init(mean: Double) {
        precondition(mean >= 0 && mean <= Self.maximumMean,
                     "Poisson needs a mean in [0, 2^62], got \(mean)")
        self.mean = mean
        let floorMean = mean.rounded(.down)
        meanFloor = Int(floorMean)
        meanFraction = mean - floorMean
        expMinusMean = exp(-mean)
        let b = 0.931 + 2.53 * mean.squareRoot()
        self.b = b
        a = -0.059 + 0.02483 * b
        inverseAlpha = 1.1239 + 1.1328 / (b - 3.4)
        squeezeBound = 0.9277 - 3.6224 / (b - 2)
    }

    /// The variance μ.
    public var variance: Double { mean }

    /// One draw. - Complexity: O(1 + μ) expected for μ < 10, O(1) expected otherwise.
    @inlinable
    public func sample<R: RandomStream>(using rng: inout R) -> Int {
        if mean < Self.transformedRejectionThreshold {
            return inversion(using: &rng)
        }
        return transformedRejection(using: &rng)
    }

    /// Fills `buffer` with independent draws: exactly the values of `buffer.count` successive
    /// `sample(using:)` calls. - Complexity: O(`buffer.count`) expected (times `1 + μ` for μ < 10).
    @inlinable
    public func fill<R: RandomStream>(_ buffer: UnsafeMutableBufferPointer<Int>, using rng: inout R) {
        for i in buffer.indices { buffer[i] = sample(using: &rng) }
    }

    /// Sequential-search inversion for μ < 10.
    @inlinable
    func inversion<R: RandomStream>(using rng: inout R) -> Int {
        let u = rng.nextDouble()
        var k = 0
        var p = expMinusMean
        var cdf = p
        while u > cdf {
            k += 1
            p *= mean / Double(k)
            let next = cdf + p
            // Past the mode, once the terms no longer move the rounded CDF, stop: `u` is within
            // rounding of 1 (this also ends the loop for μ = 0).
            if next == cdf && Double(k) > mean { break }
            cdf = next
        }
        return k
    }

    /// Rejections after which PTRS gives up (see the type's guarantees).
    @usableFromInline static let maxAttempts = 64

    /// Hörmann's PTRS for μ ≥ 10.
    @inlinable
    func transformedRejection<R: RandomStream>(using rng: inout R) -> Int {
        for _ in 0..<Self.maxAttempts {
            let u = rng.nextDouble() - 0.5
            let v = rng.nextDouble()
            let us = 0.5 - abs(u)
            // k − ⌊μ⌋, kept small so that huge means keep their low-order digits.
            let offset = ((2 * a / us + b) * u + meanFraction + 0.43).rounded(.down)
            if !(offset >= -Double(meanFloor)) || !(offset < Self.maximumMean) {
                continue  // k < 0 (or the proposal overflowed for u_s ≈ 0)
            }
            let k = meanFloor + Int(offset)
            if us >= 0.07 && v <= squeezeBound {
                return k
            }
            if us < 0.013 && v > us {
                continue
            }
            let logHat = log(v * inverseAlpha / (a / (us * us) + b))
            if logHat <= logProbability(k) {
                return k
            }
        }
        return meanFloor
    }

    /// `log P(X = k)` in Loader's saddle-point form (accurate for any μ; see `SaddlePoint`).
    @usableFromInline
    func logProbability(_ k: Int) -> Double {
        if k == 0 { return -mean }
        let deviation = Double(k - meanFloor) - meanFraction
        return -SaddlePoint.stirlingError(k) - SaddlePoint.deviance(Double(k), deviation: deviation)
            - 0.5 * log(2 * Double.pi * Double(k))
    }

    private enum CodingKeys: String, CodingKey { case mean }

    /// Encodes `{"mean": μ}`.
    public func encode(to encoder: any Encoder) throws {
        var container = encoder.container(keyedBy: CodingKeys.self)
        try container.encode(mean, forKey: .mean)
    }

    /// Decodes `{"mean": μ}`, rejecting a mean outside [0, 2⁶²].
    public init(from decoder: any Decoder) throws {
        let container = try decoder.container(keyedBy: CodingKeys.self)
        let mean = try container.decode(Double.self, forKey: .mean)
        guard mean >= 0, mean <= Self.maximumMean else {
            throw DecodingError.dataCorruptedError(forKey: .mean, in: container,
                debugDescription: "Poisson.mean must be in [0, 2^62], got \(mean)")
        }
        self.init(mean: mean)
    }
}

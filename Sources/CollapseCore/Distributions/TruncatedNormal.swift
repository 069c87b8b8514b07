#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#elseif canImport(Darwin)
import Darwin
#endif

/// The normal distribution N(μ, σ²) restricted to an interval [a, b].
///
/// Density `φ((x − μ)/σ) / (σ (Φ(β) − Φ(α)))` on `[a, b]`, with `α = (a − μ)/σ`,
/// `β = (b − μ)/σ`. Either end may be infinite.
///
/// ## Algorithm
/// Exact rejection sampling on the standardised interval [α, β], mirrored to `[−β, −α]` when
/// `β ≤ 0` so that the interval either contains 0 or lies in `[0, ∞)`. The proposal is chosen once,
/// at construction, by the acceptance-rate criteria of Robert (1995), "Simulation of truncated
/// normal variables", Statistics and Computing 5:
/// - `α < 0 < β`, `β − α ≥ √(2π)`: plain normal rejection (draw N(0, 1) until it falls in
///   [α, β]); acceptance `Φ(β) − Φ(α) ≥ 0.49`.
/// - `α < 0 < β`, `β − α < √(2π)`: uniform proposal on [α, β], accept with `exp(−z²/2)`;
///   acceptance `√(2π)(Φ(β) − Φ(α))/(β − α) ≥ 0.49`.
/// - `0 ≤ α`: exponential proposal `z = α + E`, `E ~ Exp(λ)` truncated to `[0, β − α]` and drawn
///   by inversion, with Robert's optimal rate `λ = (α + √(α² + 4))/2`, accepted with
///   `exp(−(z − λ)²/2 + (z₀ − λ)²/2)` where `z₀` is `λ` clamped to [α, β]; unless
///   `β < α + 2√e/(α + √(α² + 4)) · exp((α² − α√(α² + 4))/4)`, where the uniform proposal is
///   better (acceptance relative to `φ(α)`: accept with `exp((α² − z²)/2)`). Acceptance is at
///   least 0.76 (`α = 0`, `β = ∞`) and tends to 1 far in the tail, so an interval such as
///   [30, 31] costs about one attempt.
///
/// ## Guarantees
/// - Exact up to floating-point rounding; results are clamped to [a, b] so that rounding in
///   `μ + σz` never leaves the interval.
/// - Expected attempts per draw: at most 2.05 (normal or uniform proposals), at most 1.32
///   (exponential); each attempt takes one or two words.
/// - Cannot hang: after 1024 consecutive rejections (probability < 10⁻³⁰⁰ for a random stream)
///   the draw returns the mode, `μ` clamped to [a, b].
/// - Complexity: O(1) set-up, O(1) expected per draw.
public struct TruncatedNormal: Sendable, Hashable, Codable {
    /// The mean μ of the untruncated normal (finite).
    public let mean: Double
    /// The standard deviation σ of the untruncated normal (finite, > 0).
    public let standardDeviation: Double
    /// The lower end a (may be `-infinity`).
    public let lower: Double
    /// The upper end b (may be `+infinity`).
    public let upper: Double

    /// How a draw is proposed; chosen once from the standardised interval.
    @usableFromInline
    enum Proposal: Sendable, Hashable {
        case normal
        case uniform
        case exponential(rate: Double, scaledWidth: Double, logPeak: Double)
    }

    /// The standardised (and possibly mirrored) interval [α, β].
    @usableFromInline let alpha: Double
    @usableFromInline let beta: Double
    /// Whether the standardised interval was mirrored (`z → −z`).
    @usableFromInline let mirrored: Bool
    @usableFromInline let proposal: Proposal

    /// N(`mean`, `standardDeviation`²) restricted to [`lower`, `upper`].
    ///
    /// - Precondition: `mean` finite; `standardDeviation` finite and `> 0`; `lower < upper`
    ///   (`lower` may be `-infinity`, `upper` `+infinity`), and the interval must still be
    ///   non-degenerate once standardised (`(upper − mean)/σ > (lower − mean)/σ` in doubles).
    public init(mean: Double, standardDeviation: Double, lower: Double, upper: Double) {
        precondition(mean.isFinite, "TruncatedNormal needs a finite mean, got \(mean)")
        precondition(standardDeviation.isFinite && standardDeviation > 0,
                     "TruncatedNormal needs a finite standard deviation > 0, got \(standardDeviation)")
        precondition(lower < upper && lower != .infinity && upper != -.infinity,
                     "TruncatedNormal needs lower < upper, got [\(lower), \(upper)]")
        self.mean = mean
        self.standardDeviation = standardDeviation
        self.lower = lower
        self.upper = upper
        var alpha = (lower - mean) / standardDeviation
        var beta = (upper - mean) / standardDeviation
        precondition(alpha < beta && !(alpha == .infinity) && !(beta == -.infinity),
                     "TruncatedNormal interval [\(lower), \(upper)] is degenerate in units of σ = \(standardDeviation) around \(mean): standardised [\(alpha), \(beta)]")
        let mirrored = beta <= 0
        if mirrored { (alpha, beta) = (-beta, -alpha) }
        self.alpha = alpha
        self.beta = beta
        self.mirrored = mirrored
        self.proposal = Self.chooseProposal(alpha: alpha, beta: beta)
    }

    /// Robert's (1995) choice of proposal for `[α, β]` with `β > 0`.
    static func chooseProposal(alpha: Double, beta: Double) -> Proposal {
        let sqrtTwoPi = (2 * Double.pi).squareRoot()
        if alpha < 0 {
            return beta - alpha >= sqrtTwoPi ? .normal : .uniform
        }
        let root = (alpha * alpha + 4).squareRoot()
        let rate = (alpha + root) / 2
        // Uniform beats the exponential when the interval is shorter than this (Robert 1995).
        let uniformWidth = 2 * 1.6487212707001282 / (alpha + root) * exp((alpha * alpha - alpha * root) / 4)
        if beta - alpha < uniformWidth {
            return .uniform
        }
        let width = beta - alpha
        let peak = min(max(rate, alpha), beta)
        let logPeak = 0.5 * (peak - rate) * (peak - rate)
        // −expm1(−λ w): the probability an untruncated Exp(λ) lands in [0, w]; 1 for w = ∞.
        return .exponential(rate: rate, scaledWidth: -expm1(-rate * width), logPeak: logPeak)
    }

    /// Rejections after which a draw returns the mode (see the type's guarantees).
    @usableFromInline static let maxAttempts = 1024

    /// One draw in [a, b]. - Complexity: O(1) expected.
    @inlinable
    public func sample<R: RandomStream>(using rng: inout R) -> Double {
        let z = standardSample(using: &rng)
        let x = mean + standardDeviation * (mirrored ? -z : z)
        return min(max(x, lower), upper)
    }

    /// Fills `buffer` with independent draws: exactly the values of `buffer.count` successive
    /// `sample(using:)` calls. - Complexity: O(`buffer.count`) expected.
    @inlinable
    public func fill<R: RandomStream>(_ buffer: UnsafeMutableBufferPointer<Double>, using rng: inout R) {
        for i in buffer.indices { buffer[i] = sample(using: &rng) }
    }

    /// A draw from N(0, 1) restricted to the standardised (mirrored) [α, β].
    @inlinable
    func standardSample<R: RandomStream>(using rng: inout R) -> Double {
        switch proposal {
        case .normal:
            for _ in 0..<Self.maxAttempts {
                let z = StandardNormal.next(using: &rng)
                if z >= alpha && z <= beta { return z }
            }
        case .uniform:
            // Accept with φ(z)/max φ on [α, β]: the maximum is at 0 if the interval holds it,
            // else at α (here α ≥ 0 after mirroring).
            let peakSquare = alpha > 0 ? alpha * alpha : 0
            let width = beta - alpha
            for _ in 0..<Self.maxAttempts {
                let z = alpha + width * rng.nextDouble()
                if z > beta { continue }  // rounding guard
                let logAccept = 0.5 * (peakSquare - z * z)
                if rng.nextDouble() < exp(logAccept) { return z }
            }
        case .exponential(let rate, let scaledWidth, let logPeak):
            for _ in 0..<Self.maxAttempts {
                // E = −log(1 − u(1 − e^(−λw)))/λ: Exp(λ) truncated to [0, w] by inversion.
                let e = -log1p(-rng.nextDouble() * scaledWidth) / rate
                let z = alpha + e
                if z > beta { continue }  // rounding guard
                let d = z - rate
                if log(rng.nextOpenDouble()) <= logPeak - 0.5 * d * d { return z }
            }
        }
        return min(max(0, alpha), beta)
    }

    private enum CodingKeys: String, CodingKey { case mean, standardDeviation, lower, upper }

    /// Encodes `{"mean", "standardDeviation", "lower", "upper"}` (infinite ends need an encoder
    /// that allows non-conforming floats).
    public func encode(to encoder: any Encoder) throws {
        var container = encoder.container(keyedBy: CodingKeys.self)
        try container.encode(mean, forKey: .mean)
        try container.encode(standardDeviation, forKey: .standardDeviation)
        try container.encode(lower, forKey: .lower)
        try container.encode(upper, forKey: .upper)
    }

    /// Decodes the four parameters, rejecting invalid values with a message naming the key.
    public init(from decoder: any Decoder) throws {
        let container = try decoder.container(keyedBy: CodingKeys.self)
        let mean = try container.decode(Double.self, forKey: .mean)
        let sd = try container.decode(Double.self, forKey: .standardDeviation)
        let lower = try container.decode(Double.self, forKey: .lower)
        let upper = try container.decode(Double.self, forKey: .upper)
        guard mean.isFinite else {
            throw DecodingError.dataCorruptedError(forKey: .mean, in: container,
                debugDescription: "TruncatedNormal.mean must be finite, got \(mean)")
        }
        guard sd.isFinite, sd > 0 else {
            throw DecodingError.dataCorruptedError(forKey: .standardDeviation, in: container,
                debugDescription: "TruncatedNormal.standardDeviation must be finite and > 0, got \(sd)")
        }
        guard lower < upper, lower != .infinity, upper != -.infinity,
              (lower - mean) / sd < (upper - mean) / sd else {
            throw DecodingError.dataCorruptedError(forKey: .upper, in: container,
                debugDescription: "TruncatedNormal needs lower < upper (non-degenerate in units of σ), got [\(lower), \(upper)]")
        }
        self.init(mean: mean, standardDeviation: sd, lower: lower, upper: upper)
    }
}

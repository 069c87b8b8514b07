/// The normal distribution N(μ, σ²).
///
/// Density `exp(−(x − μ)²/(2σ²)) / (σ√(2π))`; a draw is `μ + σ Z` with `Z` from
/// `StandardNormal` (exact ziggurat, Marsaglia & Tsang 2000 with Doornik's 2005 fix).
///
/// `σ = 0` is allowed and yields exactly `μ` on every draw (still consuming the stream as for
/// `σ > 0`), so a collapsed model can keep sampling.
///
/// - Expected 64-bit words per draw: 1.0220 (see `StandardNormal`).
/// - Degenerate streams: all-zeros yields `μ` (`Z = +0`); all-ones yields `μ + σ · 2⁻²⁶`
///   (see `StandardNormal`).
public struct Normal: Sendable, Hashable, Codable {
    /// The mean μ (finite).
    public let mean: Double
    /// The standard deviation σ (finite, ≥ 0).
    public let standardDeviation: Double

    /// N(`mean`, `standardDeviation`²).
    ///
    /// - Precondition: `mean` finite; `standardDeviation` finite and `>= 0`.
    public init(mean: Double = 0, standardDeviation: Double = 1) {
        precondition(mean.isFinite, "Normal needs a finite mean, got \(mean)")
        precondition(standardDeviation.isFinite && standardDeviation >= 0,
                     "Normal needs a finite standard deviation >= 0, got \(standardDeviation)")
        self.mean = mean
        self.standardDeviation = standardDeviation
    }

    /// The variance σ².
    public var variance: Double { standardDeviation * standardDeviation }

    /// One draw `μ + σ Z`. - Complexity: O(1) expected.
    @inlinable
    public func sample<R: RandomStream>(using rng: inout R) -> Double {
        mean + standardDeviation * StandardNormal.next(using: &rng)
    }

    /// Fills `buffer` with independent draws: exactly the values of `buffer.count` successive
    /// `sample(using:)` calls. - Complexity: O(`buffer.count`).
    @inlinable
    public func fill<R: RandomStream>(_ buffer: UnsafeMutableBufferPointer<Double>, using rng: inout R) {
        StandardNormal.fill(buffer, using: &rng)
        let (mu, sigma) = (mean, standardDeviation)
        for i in buffer.indices { buffer[i] = mu + sigma * buffer[i] }
    }

    /// `count` independent draws (the values `fill` would produce).
    ///
    /// - Precondition: `count >= 0`. - Complexity: O(`count`).
    @inlinable
    public func sample<R: RandomStream>(count: Int, using rng: inout R) -> [Double] {
        precondition(count >= 0, "Normal.sample(count:) needs a non-negative count, got \(count)")
        return [Double](unsafeUninitializedCapacity: count) { buffer, initialized in
            fill(buffer, using: &rng)
            initialized = count
        }
    }

    private enum CodingKeys: String, CodingKey { case mean, standardDeviation }

    /// Decodes `{"mean": μ, "standardDeviation": σ}`, rejecting a non-finite mean or a negative
    /// or non-finite standard deviation with a message naming the key.
    public init(from decoder: any Decoder) throws {
        let container = try decoder.container(keyedBy: CodingKeys.self)
        let mean = try container.decode(Double.self, forKey: .mean)
        let sd = try container.decode(Double.self, forKey: .standardDeviation)
        guard mean.isFinite else {
            throw DecodingError.dataCorruptedError(forKey: .mean, in: container,
                debugDescription: "Normal.mean must be finite, got \(mean)")
        }
        guard sd.isFinite, sd >= 0 else {
            throw DecodingError.dataCorruptedError(forKey: .standardDeviation, in: container,
                debugDescription: "Normal.standardDeviation must be finite and >= 0, got \(sd)")
        }
        self.init(mean: mean, standardDeviation: sd)
    }
}

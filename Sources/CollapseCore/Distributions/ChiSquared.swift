/// The chi-square distribution with ν > 0 degrees of freedom.
///
/// Density `x^(ν/2−1) e^(−x/2) / (2^(ν/2) Γ(ν/2))` on `x > 0`; mean `ν`, variance `2ν`.
/// Non-integer ν is allowed.
///
/// ## Algorithm
/// `χ²(ν) = Gamma(shape ν/2, scale 2)`, sampled by `GammaDistribution` (Marsaglia & Tsang 2000,
/// with the `U^(1/k)` boost for `ν < 2`); expected attempts, degenerate-stream values and the
/// no-hang guarantee are those of `GammaDistribution(shape: ν/2, scale: 2)`.
///
/// - Complexity: O(1) expected per draw.
public struct ChiSquared: Sendable, Hashable, Codable {
    /// The degrees of freedom ν (finite, > 0).
    public let degreesOfFreedom: Double

    /// χ²(`degreesOfFreedom`).
    ///
    /// - Precondition: `degreesOfFreedom` finite and `> 0`.
    public init(degreesOfFreedom: Double) {
        precondition(degreesOfFreedom.isFinite && degreesOfFreedom > 0,
                     "ChiSquared needs finite degrees of freedom > 0, got \(degreesOfFreedom)")
        self.degreesOfFreedom = degreesOfFreedom
    }

    /// The equivalent `GammaDistribution(shape: ν/2, scale: 2)`.
    @inlinable
    public var gamma: GammaDistribution { GammaDistribution(shape: degreesOfFreedom / 2, scale: 2) }

    /// The mean `ν`.
    public var mean: Double { degreesOfFreedom }
    /// The variance `2ν`.
    public var variance: Double { 2 * degreesOfFreedom }

    /// One draw. - Complexity: O(1) expected.
    @inlinable
    public func sample<R: RandomStream>(using rng: inout R) -> Double {
        gamma.sample(using: &rng)
    }

    /// Fills `buffer` with independent draws: exactly the values of `buffer.count` successive
    /// `sample(using:)` calls. - Complexity: O(`buffer.count`) expected.
    @inlinable
    public func fill<R: RandomStream>(_ buffer: UnsafeMutableBufferPointer<Double>, using rng: inout R) {
        gamma.fill(buffer, using: &rng)
    }

    private enum CodingKeys: String, CodingKey { case degreesOfFreedom }

    /// Decodes `{"degreesOfFreedom": ν}`, rejecting non-positive or non-finite ν.
    public init(from decoder: any Decoder) throws {
        let container = try decoder.container(keyedBy: CodingKeys.self)
        let df = try container.decode(Double.self, forKey: .degreesOfFreedom)
        guard df.isFinite, df > 0 else {
            throw DecodingError.dataCorruptedError(forKey: .degreesOfFreedom, in: container,
                debugDescription: "ChiSquared.degreesOfFreedom must be finite and > 0, got \(df)")
        }
        self.init(degreesOfFreedom: df)
    }
}

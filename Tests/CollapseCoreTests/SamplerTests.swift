import Foundation
import Testing
@testable import CollapseCore

/// Properties shared by every sampler: reproducibility across runs and Codable round trips with
/// validation. Per-family statistics live in NormalSamplerTests, GammaFamilyTests,
/// DiscreteSamplerTests, CategoricalSamplerTests and TruncatedNormalTests.
@Suite struct SamplerTests {
    /// Replay: the same (seed, path) gives the same draws from every sampler, and a stream keyed
    /// by a different path gives different draws.
    @Test func sameSeedSameValuesDifferentPathDifferentValues() {
        func draws(_ path: [UInt32]) -> [Double] {
            var rng = Philox4x32(seed: testSeed, path: path)
            var out: [Double] = []
            out += StandardNormal.sample(count: 5, using: &rng)
            out.append(GammaDistribution(shape: 2.5).sample(using: &rng))
            out.append(StudentT(degreesOfFreedom: 5).sample(using: &rng))
            out.append(Double(Poisson(mean: 123.4).sample(using: &rng)))
            out.append(Double(Binomial(trials: 10_000, probability: 0.3).sample(using: &rng)))
            out.append(Double(AliasTable(weights: [1, 2, 3, 4]).sample(using: &rng)))
            out += Multinomial.counts(total: 1000, probabilities: [0.2, 0.3, 0.5], using: &rng).map(Double.init)
            out.append(TruncatedNormal(mean: 0, standardDeviation: 1, lower: 1, upper: 2).sample(using: &rng))
            return out
        }
        let first = draws([0x5A, 0x601])
        #expect(draws([0x5A, 0x601]) == first)
        #expect(draws([0x5A, 0x602]) != first)
    }

    /// Distribution parameters survive a JSON round trip; invalid encoded parameters are rejected
    /// with an error that names the key instead of trapping.
    @Test func codableRoundTripsAndRejectsInvalidParameters() throws {
        let encoder = JSONEncoder()
        let decoder = JSONDecoder()
        func roundTrip<T: Codable & Equatable>(_ value: T) throws {
            let decoded = try decoder.decode(T.self, from: try encoder.encode(value))
            #expect(decoded == value)
        }
        try roundTrip(Normal(mean: 1, standardDeviation: 2))
        try roundTrip(GammaDistribution(shape: 0.5, scale: 3))
        try roundTrip(ChiSquared(degreesOfFreedom: 7))
        try roundTrip(StudentT(degreesOfFreedom: 3, location: -1, scale: 2))
        try roundTrip(Poisson(mean: 12.5))
        try roundTrip(Binomial(trials: 40, probability: 0.25))
        try roundTrip(TruncatedNormal(mean: 0, standardDeviation: 1, lower: -2, upper: 3))

        let bad: [(any Decodable.Type, String, String)] = [
            (Normal.self, #"{"mean": 0, "standardDeviation": -1}"#, "standardDeviation"),
            (GammaDistribution.self, #"{"shape": 0, "scale": 1}"#, "shape"),
            (ChiSquared.self, #"{"degreesOfFreedom": -2}"#, "degreesOfFreedom"),
            (StudentT.self, #"{"degreesOfFreedom": 3, "location": 0, "scale": 0}"#, "scale"),
            (Poisson.self, #"{"mean": -1}"#, "mean"),
            (Binomial.self, #"{"trials": 10, "probability": 1.5}"#, "probability"),
            (TruncatedNormal.self, #"{"mean": 0, "standardDeviation": 1, "lower": 2, "upper": 1}"#, "upper"),
        ]
        for (type, json, key) in bad {
            do {
                _ = try decoder.decode(type, from: Data(json.utf8))
                Issue.record("\(type) decoded invalid \(json)")
            } catch DecodingError.dataCorrupted(let context) {
                #expect(context.codingPath.last?.stringValue == key, "\(type): error at \(context.codingPath)")
            } catch {
                Issue.record("\(type): unexpected error \(error)")
            }
        }
    }
}

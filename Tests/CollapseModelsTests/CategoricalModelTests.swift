import CollapseCore
import Foundation
import Testing
@testable import CollapseModels

/// Stream paths of this suite start with 3100 + test number.
@Suite struct CategoricalModelTests {
    typealias Reference = CategoricalReferenceValues

    private func relativeError(_ a: Double, _ b: Double) -> Double {
        a == b ? 0 : abs(a - b) / max(abs(a), abs(b))
    }

    @Test func tokenCountsFromTokensAndCountsAgree() throws {
        let fromTokens = TokenCounts(tokens: [2, 0, 2, 2, 3, 0], vocabularySize: 5)
        #expect(fromTokens == TokenCounts(counts: [2, 0, 3, 1, 0]))
        #expect(fromTokens.total == 6 && fromTokens.vocabularySize == 5)
        #expect(fromTokens.tokens == [0, 0, 2, 2, 2, 3])
        let decoded = try JSONDecoder().decode(TokenCounts.self, from: JSONEncoder().encode(fromTokens))
        #expect(decoded == fromTokens && decoded.total == 6)
        #expect(throws: DecodingError.self) { try JSONDecoder().decode(TokenCounts.self, from: Data(#"{"counts":[1,-2]}"#.utf8)) }
        #expect(throws: DecodingError.self) { try JSONDecoder().decode(TokenCounts.self, from: Data(#"{"counts":[]}"#.utf8)) }
    }

    /// The MLE is c_v / M and the smoothed fit (c_v + alpha) / (M + V alpha), each one correctly
    /// rounded division: the fixture (numpy, same formula) must match bit for bit; entropy against
    /// scipy.stats.entropy to a few ulps (a sum of 8 rounded terms).
    @Test func fitIsSmoothedRelativeFrequencyAndMatchesReference() throws {
        var rng = Philox4x32(seed: modelTestSeed, path: [3102])
        let data = TokenCounts(counts: Reference.counts)
        let mle = try CategoricalModel().fit(data, using: &rng)
        #expect(mle.probabilities == Reference.counts.map { Double($0) / 100 })
        #expect(mle.supportSize == 7 && mle.degeneracy == nil)
        #expect(relativeError(mle.entropy, Reference.entropyMLE) < 8 * Double.ulpOfOne)

        let smoothed = try CategoricalModel(smoothing: Reference.smoothing).fit(data, using: &rng)
        #expect(smoothed.probabilities == Reference.smoothedProbabilities)
        #expect(smoothed.supportSize == 8)
        #expect(relativeError(smoothed.entropy, Reference.entropySmoothed) < 8 * Double.ulpOfOne)
        let heldOut = TokenCounts(counts: Reference.heldOut)
        #expect(relativeError(smoothed.meanLogProbability(of: heldOut), Reference.heldOutMeanLogProbability) < 16 * Double.ulpOfOne)
    }

    /// Fit, support and entropy skip runs of zero counts eight at a time: on sparse counts with
    /// long zero runs, a length that is not a multiple of eight and a positive last symbol they
    /// equal the per-symbol formulas bit for bit (p_v = c_v / M; H = -sum p log p in symbol order).
    @Test func sparseCountsGiveThePerSymbolValues() throws {
        var rng = Philox4x32(seed: modelTestSeed, path: [3103])
        var counts = [Int](repeating: 0, count: 1003)
        for v in 0..<5 { counts[v] = 1 + Int(rng.nextDouble() * 50) }
        for v in stride(from: 300, to: 1003, by: 41) { counts[v] = 1 + Int(rng.nextDouble() * 5) }
        counts[1002] = 3
        let data = TokenCounts(counts: counts)
        let fit = try CategoricalModel().fit(data, using: &rng)
        let expected = counts.map { Double($0) / Double(data.total) }
        #expect(fit.probabilities.map(\.bitPattern) == expected.map(\.bitPattern))
        #expect(fit.supportSize == counts.filter { $0 > 0 }.count)
        var h = 0.0
        for q in expected where q > 0 { h -= q * Foundation.log(q) }
        #expect(fit.entropy == h)
    }

    @Test func settingsAreValidatedAndNoTokensWithoutSmoothingIsAnError() throws {
        #expect(throws: ModelSettingsError.self) { try CategoricalModel(smoothing: -1).validate() }
        #expect(throws: ModelSettingsError.self) { try CategoricalModel(smoothing: .nan).validate() }
        #expect(throws: ModelSettingsError.self) { try CategoricalModel(smoothing: .infinity).validate() }
        try CategoricalModel(smoothing: 0).validate()
        var rng = Philox4x32(seed: modelTestSeed, path: [3103])
        let empty = TokenCounts(counts: [0, 0, 0, 0])
        #expect(throws: FitError.tooFewRows(needed: 1, got: 0)) { try CategoricalModel().fit(empty, using: &rng) }
        // With smoothing the empty corpus gives the uniform distribution.
        let uniform = try CategoricalModel(smoothing: 1).fit(empty, using: &rng)
        #expect(uniform.probabilities == [0.25, 0.25, 0.25, 0.25])
        #expect(relativeError(uniform.entropy, Foundation.log(4.0)) < 4 * Double.ulpOfOne)
    }

    /// The collapsed limit: one surviving symbol. Sampling puts every token on it, whatever the
    /// knobs; tokens of dead symbols get log-probability -inf, never NaN.
    @Test func singleSymbolIsAFlaggedPointMass() throws {
        var rng = Philox4x32(seed: modelTestSeed, path: [3104])
        let fit = try CategoricalModel().fit(TokenCounts(counts: [0, 5, 0]), using: &rng)
        #expect(fit.degeneracy == .singleSymbol && fit.supportSize == 1 && fit.entropy == 0)
        for options in [SamplingOptions.plain, SamplingOptions(temperature: 0.01), SamplingOptions(temperature: 50, topK: 2)] {
            #expect(fit.sample(count: 7, options: options, using: &rng).counts == [0, 7, 0])
        }
        let data = TokenCounts(counts: [1, 2, 0])
        #expect(fit.logDensities(data) == [-.infinity, 0, 0])
        #expect(fit.meanLogProbability(of: data) == -.infinity)
        #expect(fit.logLikelihood(of: TokenCounts(counts: [0, 3, 0])) == 0)
    }

    /// Temperature and top-k against the fixture (scipy softmax, numpy stable argsort). Both sides
    /// evaluate exp(x_v) with x_v = (log p_v - log p_max) / tau; the logs carry absolute errors
    /// ε |log p|, amplified by 1/tau, and exp turns an absolute error of x into the same relative
    /// error of q_v. Tolerance per entry: 8 ε (1 + (|log p_v| + |log p_max|) / tau).
    @Test func samplingDistributionMatchesReference() throws {
        let fit = FittedCategorical(probabilities: Reference.counts.map { Double($0) / 100 })
        let logMax = abs(Foundation.log(fit.probabilities.max()!))
        func tolerance(_ v: Int, _ tau: Double) -> Double {
            8 * Double.ulpOfOne * (1 + (abs(Foundation.log(fit.probabilities[v])) + logMax) / tau)
        }
        for (tau, want) in Reference.tempered {
            let got = fit.samplingProbabilities(SamplingOptions(temperature: tau))
            for v in want.indices where want[v] > 0 || got[v] > 0 {
                #expect(relativeError(got[v], want[v]) < tolerance(v, tau), "tau \(tau), symbol \(v): \(got[v]) vs \(want[v])")
            }
        }
        for (k, tau, want) in Reference.topK {
            let got = fit.samplingProbabilities(SamplingOptions(temperature: tau, topK: k))
            for v in want.indices where want[v] > 0 || got[v] > 0 {
                #expect(relativeError(got[v], want[v]) < tolerance(v, tau), "k \(k), tau \(tau), symbol \(v): \(got[v]) vs \(want[v])")
            }
            #expect(zip(got, want).allSatisfy { ($0 == 0) == ($1 == 0) })
        }
        #expect(fit.samplingProbabilities(.plain) == fit.probabilities)
    }

    /// tau -> 0 tends to the argmax without underflowing everything (a tiny tau would send
    /// p^(1/tau) to 0 for every symbol); ties at the maximum share the mass; tau = inf is uniform on
    /// the support; top-k breaks ties by the lower index.
    @Test func extremeKnobsStayFinite() {
        let fit = FittedCategorical(probabilities: [0.1, 0.3, 0, 0.3, 0.2, 0.1])
        #expect(fit.samplingProbabilities(SamplingOptions(temperature: 1e-300)) == [0, 0.5, 0, 0.5, 0, 0])
        #expect(fit.samplingProbabilities(SamplingOptions(temperature: 0x1p-1074)) == [0, 0.5, 0, 0.5, 0, 0])
        #expect(fit.samplingProbabilities(SamplingOptions(temperature: .infinity)) == [0.2, 0.2, 0, 0.2, 0.2, 0.2])
        #expect(fit.samplingProbabilities(SamplingOptions(topK: 1)) == [0, 1, 0, 0, 0, 0])
        // Top-4 keeps 0.3, 0.3, 0.2 and the first 0.1 (symbol 0, not symbol 5).
        let top4 = fit.samplingProbabilities(SamplingOptions(topK: 4))
        #expect(top4[5] == 0 && top4[0] > 0 && top4[2] == 0)
        #expect(fit.samplingProbabilities(SamplingOptions(topK: 100)) == fit.probabilities)
        // Subnormal probabilities survive tempering without NaN.
        let tiny = FittedCategorical(probabilities: [1, 0x1p-1070, 0x1p-1074])
        for tau in [1e-3, 0.5, 3.0, 1e300] {
            let q = tiny.samplingProbabilities(SamplingOptions(temperature: tau))
            #expect(q.allSatisfy { $0.isFinite && $0 >= 0 } && q[0] > 0)
        }
    }

    /// Sampled counts are multinomial over the sampling distribution: each count is Binomial(n, q_v),
    /// SE sqrt(n q_v (1 - q_v)); z < 5 per symbol, under plain, tempered and top-k options.
    @Test func sampledCountsFollowTheSamplingDistribution() {
        let fit = FittedCategorical(probabilities: Zipf.probabilities(vocabulary: 50, exponent: 1.1))
        let n = 200_000
        for (code, options) in [SamplingOptions.plain, SamplingOptions(temperature: 0.6), SamplingOptions(temperature: 1.5, topK: 10)].enumerated() {
            var rng = Philox4x32(seed: modelTestSeed, path: [3107, UInt32(code)])
            let q = fit.samplingProbabilities(options)
            let counts = fit.sample(count: n, options: options, using: &rng)
            #expect(counts.total == n)
            for v in q.indices {
                if q[v] == 0 {
                    #expect(counts.counts[v] == 0)
                    continue
                }
                let se = (Double(n) * q[v] * (1 - q[v])).squareRoot()
                let z = (Double(counts.counts[v]) - Double(n) * q[v]) / se
                #expect(abs(z) < 5, "options \(code), symbol \(v): count \(counts.counts[v]) vs \(Double(n) * q[v]), z = \(z)")
            }
        }
    }

    /// One MLE refit on M tokens keeps symbol v iff it is drawn at least once, so
    /// E[support] = sum_v 1 - (1 - p_v)^M (the tail loss of one generation). Over K refits the mean
    /// support size has SE = sd / sqrt(K), with sd the empirical standard deviation; z < 5.
    @Test func expectedSupportAfterOneRefitMatchesOccupancyFormula() throws {
        let truth = FittedCategorical(probabilities: Zipf.probabilities(vocabulary: 200, exponent: 1.2))
        let m = 300, k = 2_000
        var sizes: [Double] = []
        for rep in 0..<k {
            var rng = Philox4x32(seed: modelTestSeed, path: [3108, UInt32(rep)])
            let data = truth.sample(count: m, options: .plain, using: &rng)
            sizes.append(Double(try CategoricalModel().fit(data, using: &rng).supportSize))
        }
        let expected = truth.probabilities.reduce(0.0) { $0 + 1 - Foundation.pow(1 - $1, Double(m)) }
        let se = Descriptive.standardDeviation(sizes, ddof: 1) / Double(k).squareRoot()
        let z = (Descriptive.mean(sizes) - expected) / se
        #expect(abs(z) < 5, "mean support \(Descriptive.mean(sizes)) vs \(expected), z = \(z)")
    }

    /// The per-token log-densities come in symbol order and average to `meanLogProbability`.
    @Test func logDensitiesArePerTokenInSymbolOrder() {
        let fit = FittedCategorical(probabilities: [0.5, 0.25, 0.25, 0])
        let data = TokenCounts(counts: [2, 0, 1, 0])
        let logs = fit.logDensities(data)
        #expect(logs == [Foundation.log(0.5), Foundation.log(0.5), Foundation.log(0.25)])
        #expect(abs(fit.meanLogProbability(of: data) - logs.reduce(0, +) / 3) < 4 * Double.ulpOfOne)
        #expect(fit.logDensities(TokenCounts(counts: [0, 0, 0, 0])).isEmpty)
        #expect(fit.logDensities(TokenCounts(counts: [0, 0, 0, 1])) == [-.infinity])
    }

    @Test func conformance() throws {
        let model = CategoricalModel(smoothing: 0.25)
        var rng = Philox4x32(seed: modelTestSeed, path: [3110])
        let truth = FittedCategorical(probabilities: Zipf.probabilities(vocabulary: 30, exponent: 1))
        let data = truth.sample(count: 500, options: .plain, using: &rng)
        let fit = try model.fit(data, using: &rng)
        #expect(try model.fit(data, using: &rng) == fit) // idempotent
        // sample(count: 0) draws nothing.
        let before = rng
        #expect(fit.sample(count: 0, options: SamplingOptions(temperature: 0.5, topK: 3), using: &rng) == TokenCounts(counts: [Int](repeating: 0, count: 30)))
        #expect(rng == before)
        // Same stream, same result.
        var a = Philox4x32(seed: modelTestSeed, path: [3110, 1]), b = a
        #expect(fit.sample(count: 1000, options: .plain, using: &a) == fit.sample(count: 1000, options: .plain, using: &b))
        // Finite log-densities on its own samples (smoothing keeps every symbol).
        let own = fit.sample(count: 300, options: .plain, using: &rng)
        #expect(fit.logDensities(own).count == 300 && fit.logDensities(own).allSatisfy { $0.isFinite })
        // Codable round trips: settings, fit, data.
        let coder = (JSONEncoder(), JSONDecoder())
        #expect(try coder.1.decode(CategoricalModel.self, from: coder.0.encode(model)) == model)
        #expect(try coder.1.decode(FittedCategorical.self, from: coder.0.encode(fit)) == fit)
        #expect(try coder.1.decode(TokenCounts.self, from: coder.0.encode(own)) == own)
        #expect(throws: DecodingError.self) { try coder.1.decode(FittedCategorical.self, from: Data(#"{"probabilities":[0.5,-0.5]}"#.utf8)) }
        // Refitting on a huge own sample recovers the probabilities: |p_hat - p| < 5 sqrt(p (1-p) / n).
        let n = 1_000_000
        let big = try CategoricalModel().fit(fit.sample(count: n, options: .plain, using: &rng), using: &rng)
        for v in 0..<30 {
            let p = fit.probabilities[v]
            #expect(abs(big.probabilities[v] - p) < 5 * (p * (1 - p) / Double(n)).squareRoot())
        }
    }
}

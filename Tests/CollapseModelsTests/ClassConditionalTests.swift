import CollapseCore
import Foundation
import Testing
@testable import CollapseModels

/// Stream paths of this suite start with 3300 + test number.
@Suite struct ClassConditionalTests {
    typealias Reference = ClassConditionalReferenceValues

    private var referenceData: LabelledData {
        LabelledData(features: Matrix(rows: Reference.labels.count, columns: 2, storage: Reference.features),
                     labels: Reference.labels)
    }

    /// Against scipy (per-class log N + log prior, logsumexp) and scikit-learn's QDA (same model:
    /// frequencies as priors, maximum-likelihood covariances). Both sides evaluate O(10)-sized log-densities
    /// through different factorisations (Cholesky here, SVD/eigen there): agreement to 1e-12
    /// relative to max(1, |value|) is a few hundred ulps.
    @Test func mixtureOfNormalsMatchesScipyAndQDA() throws {
        var rng = Philox4x32(seed: modelTestSeed, path: [3301])
        let model = ClassConditionalModel(base: MultivariateGaussianModel(), classCount: 3)
        let fit = try model.fit(referenceData, using: &rng)
        let frequencies: [Double] = [30.0 / 48, 12.0 / 48, 6.0 / 48]
        #expect(fit.priors == frequencies)
        #expect(fit.weights == fit.priors)
        #expect(fit.extinctClasses.isEmpty && fit.unfittedClasses.isEmpty && fit.degeneracy == nil)
        let queries = Matrix(rows: 12, columns: 2, storage: Reference.queries)
        let scores = fit.classLogDensities(queries)
        for (got, want) in zip(scores.storage, Reference.classScores) {
            #expect(abs(got - want) <= 1e-12 * max(1, abs(want)), "class score \(got) vs \(want)")
        }
        let marginal = fit.marginalLogDensities(queries)
        for (got, want) in zip(marginal, Reference.marginalLogDensities) {
            #expect(abs(got - want) <= 1e-12 * max(1, abs(want)), "marginal \(got) vs \(want)")
        }
        #expect(fit.logDensities(LabelledData(features: queries, labels: [Int](repeating: 0, count: 12))) == marginal)
        #expect(fit.classify(queries) == Reference.qdaPredictions)
        for i in 0..<12 {
            for c in 0..<3 {
                let want = Reference.qdaLogPosteriors[i * 3 + c]
                #expect(abs((scores[i, c] - marginal[i]) - want) <= 1e-11 * max(1, abs(want)), "posterior (\(i), \(c))")
            }
        }
        let joint = fit.jointLogDensities(LabelledData(features: queries, labels: [0, 1, 2, 0, 1, 2, 0, 1, 2, 0, 1, 2]))
        for i in 0..<12 { #expect(joint[i] == scores[i, i % 3]) }
    }

    /// Two 1-D classes with equal fitted variance sigma² and priors pi_0, pi_1: the Bayes rule
    /// switches from class 0 to class 1 at x* = (mu_0 + mu_1)/2 - sigma² log(pi_1/pi_0)/(mu_1 - mu_0).
    /// The score difference grows at rate (mu_1 - mu_0)/sigma² = 4.5 per unit x, so x* ± 1e-9
    /// separates the classes by ~5e-9 against round-off ~1e-15.
    @Test func bayesClassifierMatchesAnalyticThreshold() throws {
        var rng = Philox4x32(seed: modelTestSeed, path: [3302])
        let data = LabelledData(features: Matrix(column: [-2, 1, -1, 2, 0, 3, 1, 2, 3]), labels: [0, 1, 0, 1, 0, 1, 1, 1, 1])
        let fit = try ClassConditionalModel(base: GaussianModel(), classCount: 2).fit(data, using: &rng)
        let g0 = try #require(fit.models[0]), g1 = try #require(fit.models[1])
        #expect(g0.mean == -1 && g1.mean == 2 && g0.variance == g1.variance)
        let priors: [Double] = [3.0 / 9, 6.0 / 9]
        #expect(fit.priors == priors)
        let threshold = (g0.mean + g1.mean) / 2 - g0.variance * Foundation.log(fit.priors[1] / fit.priors[0]) / (g1.mean - g0.mean)
        #expect(fit.classify(Matrix(column: [threshold - 1e-9, threshold + 1e-9])) == [0, 1])
        let grid = (0...140).map { -3 + Double($0) * 0.05 }
        #expect(fit.classify(Matrix(column: grid)) == grid.map { $0 < threshold ? 0 : 1 })
    }

    /// A class with no rows is extinct (prior 0, no model, never sampled or predicted); a class
    /// with too few rows for the base is unfitted (prior kept, no model, weights renormalised over
    /// the modelled classes). Neither throws; a fit with no modelled class at all does.
    @Test func extinctAndUnfittedClassesAreRecordedNotThrown() throws {
        var rng = Philox4x32(seed: modelTestSeed, path: [3303])
        let features = Matrix(column: [0, 1, 2, 10, 11, 12, 13, 50])
        let data = LabelledData(features: features, labels: [0, 0, 0, 2, 2, 2, 2, 3])
        let fit = try ClassConditionalModel(base: GaussianModel(estimator: .unbiased), classCount: 4).fit(data, using: &rng)
        #expect(fit.extinctClasses == [1] && fit.unfittedClasses == [3])
        let priors: [Double] = [3.0 / 8, 0, 4.0 / 8, 1.0 / 8], weights: [Double] = [3.0 / 7, 0, 4.0 / 7, 0]
        #expect(fit.priors == priors)
        #expect(fit.weights == weights)
        #expect(fit.models[1] == nil && fit.models[3] == nil && fit.degeneracy == .emptyComponent)
        let sample = fit.sample(count: 5_000, options: .plain, using: &rng)
        #expect(!sample.labels.contains(1) && !sample.labels.contains(3) && sample.features.isFinite)
        let everywhere = Matrix(column: (0...120).map { -10 + Double($0) })
        #expect(fit.classify(everywhere).allSatisfy { $0 == 0 || $0 == 2 })
        let joint = fit.jointLogDensities(LabelledData(features: Matrix(column: [1, 1, 1]), labels: [1, 3, 0]))
        #expect(joint[0] == -.infinity && joint[1] == -.infinity && joint[2].isFinite)
        #expect(fit.marginalLogDensities(everywhere).allSatisfy { !$0.isNaN })

        #expect(throws: FitError.tooFewRows(needed: 2, got: 1)) {
            try ClassConditionalModel(base: GaussianModel(estimator: .unbiased), classCount: 3)
                .fit(LabelledData(features: Matrix(column: [1, 2]), labels: [0, 2]), using: &rng)
        }
        #expect(throws: FitError.tooFewRows(needed: 1, got: 0)) {
            try ClassConditionalModel(base: GaussianModel(), classCount: 2).fit(LabelledData(features: Matrix(rows: 0, columns: 1), labels: []), using: &rng)
        }
        #expect(throws: FitError.nonFiniteData) {
            try ClassConditionalModel(base: GaussianModel(), classCount: 2).fit(LabelledData(features: Matrix(column: [1, .nan]), labels: [0, 1]), using: &rng)
        }
        #expect(throws: FitError.dimensionMismatch(expected: 1, got: 2)) {
            try ClassConditionalModel(base: GaussianModel(), classCount: 1).fit(LabelledData(features: Matrix([[1, 2]]), labels: [0]), using: &rng)
        }
    }

    /// Degenerate class models stay NaN-free: a zero-variance class is a point mass (+inf at its
    /// atom wins the classifier there); identical classes tie and go to the lowest class.
    @Test func degenerateClassModelsAndTies() throws {
        var rng = Philox4x32(seed: modelTestSeed, path: [3304])
        let data = LabelledData(features: Matrix(column: [5, 5, 5, 0, 1, 2, 0, 1, 2]), labels: [1, 1, 1, 0, 0, 0, 2, 2, 2])
        let fit = try ClassConditionalModel(base: GaussianModel(), classCount: 3).fit(data, using: &rng)
        #expect(fit.models[1]?.degeneracy == .zeroVariance && fit.degeneracy == .zeroVariance)
        let x = Matrix(column: [5, 1, 4.999])
        #expect(fit.classify(x) == [1, 0, 0]) // classes 0 and 2 are identical: ties to 0
        #expect(fit.marginalLogDensities(x)[0] == .infinity && fit.marginalLogDensities(x)[1].isFinite)
        #expect(fit.classLogDensities(x).storage.allSatisfy { !$0.isNaN })
        let sample = fit.sample(count: 300, options: .plain, using: &rng)
        #expect(zip(sample.labels, sample.features.storage).allSatisfy { $0 != 1 || $1 == 5 })
    }

    /// Sampled class counts are Multinomial(n, pi): each Binomial(n, pi_c) with SE sqrt(n pi_c (1 - pi_c));
    /// the rows of class c come from its model (mean within 5 sigma_c / sqrt(n_c)); z < 5.
    @Test func sampledClassProportionsFollowThePriors() {
        let means = [-3.0, 0.0, 4.0], variances = [1.0, 0.25, 4.0]
        let truth = FittedClassConditional(priors: [0.7, 0.2, 0.1],
                                           models: (0..<3).map { Optional(FittedGaussian(mean: means[$0], variance: variances[$0])) },
                                           dimension: 1)
        var rng = Philox4x32(seed: modelTestSeed, path: [3305])
        let n = 50_000
        let sample = truth.sample(count: n, options: .plain, using: &rng)
        #expect(sample.labels == sample.labels.sorted()) // grouped by class, in class order
        let counts = sample.classCounts(classCount: 3)
        for c in 0..<3 {
            let p = truth.priors[c]
            let z = (Double(counts[c]) - Double(n) * p) / (Double(n) * p * (1 - p)).squareRoot()
            #expect(abs(z) < 5, "class \(c): \(counts[c]) rows vs \(Double(n) * p), z = \(z)")
            let rows = sample.labels.indices.filter { sample.labels[$0] == c }.map { sample.features.storage[$0] }
            let zMean = (Descriptive.mean(rows) - means[c]) / (variances[c] / Double(rows.count)).squareRoot()
            #expect(abs(zMean) < 5, "class \(c) mean: z = \(zMean)")
        }
    }

    @Test func conformance() throws {
        var rng = Philox4x32(seed: modelTestSeed, path: [3306])
        let model = ClassConditionalModel(base: MultivariateGaussianModel(), classCount: 3)
        try model.validate()
        #expect(throws: ModelSettingsError.self) { try ClassConditionalModel(base: GaussianModel(), classCount: 0).validate() }
        #expect(throws: ModelSettingsError.self) {
            try ClassConditionalModel(base: MultivariateGaussianModel(regularization: -1), classCount: 2).validate()
        }
        let fit = try model.fit(referenceData, using: &rng)
        #expect(try model.fit(referenceData, using: &rng) == fit)
        let before = rng
        let empty = fit.sample(count: 0, options: SamplingOptions(temperature: 0.5), using: &rng)
        #expect(empty.count == 0 && empty.features.columns == 2 && rng == before)
        var a = Philox4x32(seed: modelTestSeed, path: [3306, 1]), b = a
        #expect(fit.sample(count: 100, options: .plain, using: &a) == fit.sample(count: 100, options: .plain, using: &b))
        let own = fit.sample(count: 400, options: SamplingOptions(truncation: 2), using: &rng)
        #expect(own.features.rows == 400 && own.features.columns == 2)
        #expect(fit.logDensities(own).allSatisfy { $0.isFinite } && fit.jointLogDensities(own).allSatisfy { $0.isFinite })
        // Refitting on its own large sample keeps priors within 5 binomial SE.
        let n = 40_000
        let refit = try model.fit(fit.sample(count: n, options: .plain, using: &rng), using: &rng)
        for c in 0..<3 {
            let p = fit.priors[c]
            #expect(abs(refit.priors[c] - p) < 5 * (p * (1 - p) / Double(n)).squareRoot())
        }
        // Codable round trips: settings, fit, data; decoding rejects mismatched labels.
        let encoder = JSONEncoder(), decoder = JSONDecoder()
        #expect(try decoder.decode(ClassConditionalModel<MultivariateGaussianModel>.self, from: encoder.encode(model)) == model)
        #expect(try decoder.decode(FittedClassConditional<FittedMultivariateGaussian>.self, from: encoder.encode(fit)) == fit)
        #expect(try decoder.decode(LabelledData.self, from: encoder.encode(own)) == own)
        let extinct = try ClassConditionalModel(base: GaussianModel(), classCount: 3)
            .fit(LabelledData(features: Matrix(column: [1, 2, 4]), labels: [0, 0, 2]), using: &rng)
        #expect(try decoder.decode(FittedClassConditional<FittedGaussian>.self, from: encoder.encode(extinct)) == extinct)
        #expect(throws: DecodingError.self) {
            try decoder.decode(LabelledData.self, from: Data(#"{"features":{"rows":1,"columns":1,"storage":[1]},"labels":[0,1]}"#.utf8))
        }
    }
}

import CollapseCore
import Foundation
import Testing
@testable import CollapseModels

/// Every stored number of a fit is finite, weights sum to 1, densities of the data and of the
/// model's own samples are never NaN, and sampling works.
private func expectUsable(_ fit: FittedGaussianMixture, on data: Matrix, rng: inout Philox4x32,
                          sourceLocation: SourceLocation = #_sourceLocation) {
    #expect(fit.weights.allSatisfy { $0.isFinite && $0 >= 0 }, "weights \(fit.weights)", sourceLocation: sourceLocation)
    #expect(abs(fit.weights.reduce(0, +) - 1) < 1e-12, "weights sum to \(fit.weights.reduce(0, +))", sourceLocation: sourceLocation)
    #expect(fit.means.isFinite, sourceLocation: sourceLocation)
    #expect(fit.covariances.allSatisfy { $0.isFinite } && fit.choleskyFactors.allSatisfy { $0.isFinite }, sourceLocation: sourceLocation)
    #expect(fit.mixtureMean.allSatisfy { $0.isFinite } && fit.mixtureCovariance.isFinite, sourceLocation: sourceLocation)
    #expect(fit.lowerBound.isFinite && fit.lowerBoundTrace.allSatisfy { $0.isFinite }, "lower bound \(fit.lowerBound)",
            sourceLocation: sourceLocation)
    #expect(!fit.logDensities(data).contains { $0.isNaN }, sourceLocation: sourceLocation)
    let own = fit.sample(count: 200, options: .plain, using: &rng)
    #expect(own.rows == 200 && own.columns == data.columns && own.isFinite, sourceLocation: sourceLocation)
    #expect(fit.logDensities(own).allSatisfy { $0.isFinite }, sourceLocation: sourceLocation)
    let r = fit.responsibilities(own)
    #expect(r.isFinite, sourceLocation: sourceLocation)
}

/// A fixture's flat means (K × d) and K flat d × d blocks as matrices.
private func parameters(_ c: GaussianMixtureFixtureCase, means: [Double], blocks: [Double]) -> (Matrix, [Matrix]) {
    let d = c.columns, k = c.components
    let m = Matrix(rows: k, columns: d, storage: means)
    let mats = (0..<k).map { Matrix(rows: d, columns: d, storage: Array(blocks[($0 * d * d)..<(($0 + 1) * d * d)])) }
    return (m, mats)
}

/// A well-separated 2-D three-component truth used by several tests.
private let separatedTruth = FittedGaussianMixture(
    weights: [0.2, 0.3, 0.5],
    means: Matrix([[-6, 0], [0, 7], [6, -2]]),
    covariances: [Matrix([[1, 0.3], [0.3, 0.5]]), Matrix([[0.5, 0], [0, 2]]), Matrix([[1.5, -0.6], [-0.6, 1]])])

/// Rows of `x` whose label equals `k`.
private func rows(of x: Matrix, labels: [Int], equalTo k: Int) -> Matrix {
    x.selectingRows(labels.indices.filter { labels[$0] == k })
}

@Suite struct GaussianMixtureTests {
    // MARK: - Settings

    @Test func validateNamesTheOffendingKey() {
        let cases: [(GaussianMixtureModel, String)] = [
            (GaussianMixtureModel(components: 0), "components"),
            (GaussianMixtureModel(components: 2, nInit: 0), "n_init"),
            (GaussianMixtureModel(components: 2, tolerance: -1), "tolerance"),
            (GaussianMixtureModel(components: 2, tolerance: .nan), "tolerance"),
            (GaussianMixtureModel(components: 2, maxIterations: -1), "max_iterations"),
            (GaussianMixtureModel(components: 2, regularization: -1e-6), "regularization"),
            (GaussianMixtureModel(components: 2, regularization: .infinity), "regularization"),
        ]
        for (model, key) in cases {
            #expect(throws: ModelSettingsError.self) { try model.validate() }
            do { try model.validate() } catch { #expect(error.key == key && error.description.hasPrefix(key)) }
        }
        #expect(throws: Never.self) { try GaussianMixtureModel(components: 3).validate() }
    }

    @Test func settingsDecodeConfigKeysWithDefaults() throws {
        let json = Data(#"{"components": 4, "n_init": 3, "max_iterations": 50}"#.utf8)
        let model = try JSONDecoder().decode(GaussianMixtureModel.self, from: json)
        #expect(model == GaussianMixtureModel(components: 4, nInit: 3, tolerance: 1e-3, maxIterations: 50, regularization: 1e-6))
        let encoded = try JSONEncoder().encode(model)
        let text = String(decoding: encoded, as: UTF8.self)
        #expect(text.contains("\"n_init\"") && text.contains("\"max_iterations\""))
        #expect(try JSONDecoder().decode(GaussianMixtureModel.self, from: encoded) == model)
        #expect(throws: DecodingError.self) { try JSONDecoder().decode(GaussianMixtureModel.self, from: Data(#"{"n_init": 3}"#.utf8)) }
    }

    // MARK: - EM

    /// EM cannot decrease the log-likelihood (Dempster, Laird & Rubin 1977) when the M-step is the
    /// exact maximiser, i.e. without regularisation. The computed ℓ is a mean of n log-densities,
    /// each with a rounding error of a few ε |log p(x_i)|, so allow 1e-12 (1 + |ℓ|) per step.
    @Test func emLowerBoundNeverDecreases() throws {
        var rng = Philox4x32(seed: modelTestSeed, path: [40, 1])
        let truth = FittedGaussianMixture(
            weights: [0.3, 0.3, 0.4], means: Matrix([[0, 0], [1.5, 0.5], [0.5, 2]]),
            covariances: [Matrix([[1, 0.4], [0.4, 1]]), Matrix([[0.6, -0.2], [-0.2, 0.8]]), Matrix([[1.2, 0], [0, 0.5]])])
        let data = truth.sample(count: 1_500, options: .plain, using: &rng)
        let model = GaussianMixtureModel(components: 3, tolerance: 0, maxIterations: 150, regularization: 0)
        let fit = try model.fit(data, using: &rng)
        let trace = fit.lowerBoundTrace
        #expect(trace.count == fit.iterations + 1 && trace.last == fit.lowerBound)
        #expect(fit.iterations >= 20, "overlapping components should take many iterations, took \(fit.iterations)")
        for t in 1..<trace.count {
            #expect(trace[t] >= trace[t - 1] - 1e-12 * (1 + abs(trace[t - 1])),
                    "lower bound fell at iteration \(t): \(trace[t - 1]) -> \(trace[t])")
        }
        #expect(trace.last! > trace.first!)
        // Same for a 3-D fit with a frozen start (fit(startingFrom:)), also without regularisation.
        let start = GaussianMixtureParameters(weights: [0.5, 0.5], means: Matrix([[0, 0, 0], [0.1, 0, 0]]),
                                              covariances: [Matrix.identity(3), Matrix.identity(3)])
        var data3 = Matrix(rows: 800, columns: 3)
        data3.storage.withUnsafeMutableBufferPointer { StandardNormal.fill($0, using: &rng) }
        for i in 400..<800 { data3[i, 0] += 2 }
        let fit3 = try GaussianMixtureModel(components: 2, tolerance: 0, maxIterations: 60, regularization: 0)
            .fit(data3, startingFrom: start)
        for t in 1..<fit3.lowerBoundTrace.count {
            #expect(fit3.lowerBoundTrace[t] >= fit3.lowerBoundTrace[t - 1] - 1e-12 * (1 + abs(fit3.lowerBoundTrace[t - 1])))
        }
    }

    /// n = 20000 rows of a well-separated mixture. Standard errors (component k holds about n w_k
    /// rows): weight sqrt(w(1-w)/n) (multinomial); mean coordinate sqrt(Sigma_jj / (n w_k));
    /// covariance entry sqrt((Sigma_ab² + Sigma_aa Sigma_bb) / (n w_k)) (Wishart). EM runs to a
    /// tight tolerance so that the estimate is the MLE; three restarts make a poor k-means++ start
    /// (two centres in one cluster) irrelevant. All deviations must stay below 5 SE.
    @Test func recoversParametersOfAWellSeparatedMixture() throws {
        var rng = Philox4x32(seed: modelTestSeed, path: [40, 2])
        let n = 20_000
        let data = separatedTruth.sample(count: n, options: .plain, using: &rng)
        let fit = try GaussianMixtureModel(components: 3, nInit: 3, tolerance: 1e-8, maxIterations: 500).fit(data, using: &rng)
        #expect(fit.converged && fit.degeneracy == nil)
        for k in 0..<3 {
            // The fitted component nearest to true component k.
            let match = (0..<3).min { a, b in
                let da = (0..<2).map { fit.means[a, $0] - separatedTruth.means[k, $0] }
                let db = (0..<2).map { fit.means[b, $0] - separatedTruth.means[k, $0] }
                return da[0] * da[0] + da[1] * da[1] < db[0] * db[0] + db[1] * db[1]
            }!
            let w = separatedTruth.weights[k], sigma = separatedTruth.covariances[k]
            let nk = Double(n) * w
            let zWeight = (fit.weights[match] - w) / (w * (1 - w) / Double(n)).squareRoot()
            #expect(abs(zWeight) < 5, "component \(k): weight \(fit.weights[match]) vs \(w), z = \(zWeight)")
            for j in 0..<2 {
                let z = (fit.means[match, j] - separatedTruth.means[k, j]) / (sigma[j, j] / nk).squareRoot()
                #expect(abs(z) < 5, "component \(k): mean[\(j)] \(fit.means[match, j]) vs \(separatedTruth.means[k, j]), z = \(z)")
            }
            for a in 0..<2 {
                for b in 0..<2 {
                    let se = ((sigma[a, b] * sigma[a, b] + sigma[a, a] * sigma[b, b]) / nk).squareRoot()
                    let z = (fit.covariances[match][a, b] - sigma[a, b]) / se
                    #expect(abs(z) < 5, "component \(k): covariance (\(a), \(b)) \(fit.covariances[match][a, b]) vs \(sigma[a, b]), z = \(z)")
                }
            }
        }
    }

    /// scikit-learn's GaussianMixture from the same initial parameters (committed fixtures, see
    /// Scripts/fixtures/gaussian_mixture.py): the same iteration count and convergence flag, and
    /// weights, means, covariances, the per-iteration lower bounds and the final mean
    /// log-likelihood equal to relative 1e-6. Entries are compared relative to their own size,
    /// or for means and off-diagonal covariances (which may be near 0) to the component's scale
    /// sqrt(Sigma_aa Sigma_bb) when that is larger.
    @Test(arguments: GaussianMixtureFixtures.all.map(\.name))
    func agreesWithScikitLearnFromTheSameStart(name: String) throws {
        let c = GaussianMixtureFixtures.all.first { $0.name == name }!
        let d = c.columns, kCount = c.components
        let data = Matrix(rows: c.rows, columns: d, storage: c.data)
        let (initialMeans, precisions) = parameters(c, means: c.initialMeans, blocks: c.initialPrecisions)
        let start = try GaussianMixtureParameters(weights: c.initialWeights, means: initialMeans, precisions: precisions)
        let model = GaussianMixtureModel(components: kCount, tolerance: c.tolerance, maxIterations: c.maxIterations,
                                         regularization: c.regularization)
        let fit = try model.fit(data, startingFrom: start)
        #expect(fit.iterations == c.iterations && fit.converged == c.converged,
                "iterations \(fit.iterations) vs scikit-learn \(c.iterations)")
        let (refMeans, refCovariances) = parameters(c, means: c.means, blocks: c.covariances)
        var worst = 0.0
        func compare(_ a: Double, _ b: Double, scale: Double, _ what: String) {
            let error = abs(a - b) / max(abs(b), scale)
            worst = max(worst, error)
            #expect(error < 1e-6, "\(name) \(what): \(a) vs scikit-learn \(b), relative error \(error)")
        }
        for k in 0..<kCount {
            compare(fit.weights[k], c.weights[k], scale: 0, "weight \(k)")
            for a in 0..<d {
                compare(fit.means[k, a], refMeans[k, a], scale: refCovariances[k][a, a].squareRoot(), "mean \(k),\(a)")
                for b in 0..<d {
                    let scale = (refCovariances[k][a, a] * refCovariances[k][b, b]).squareRoot()
                    compare(fit.covariances[k][a, b], refCovariances[k][a, b], scale: scale, "covariance \(k),\(a),\(b)")
                }
            }
        }
        #expect(fit.lowerBoundTrace.count == c.lowerBounds.count + 1)
        for (t, bound) in c.lowerBounds.enumerated() where t < fit.lowerBoundTrace.count {
            compare(fit.lowerBoundTrace[t], bound, scale: 0, "lower bound \(t)")
        }
        compare(fit.lowerBound, c.score, scale: 0, "final mean log-likelihood")
        // Reported for the record (swift test --filter agreesWithScikitLearn shows it).
        print("gmm fixture \(name): \(fit.iterations) iterations, largest relative difference to scikit-learn \(worst)")
    }

    @Test func precisionAndCovarianceStartsAgree() throws {
        let c = GaussianMixtureFixtures.d3k3
        let data = Matrix(rows: c.rows, columns: c.columns, storage: c.data)
        let (means, precisions) = parameters(c, means: c.initialMeans, blocks: c.initialPrecisions)
        let fromPrecisions = try GaussianMixtureParameters(weights: c.initialWeights, means: means, precisions: precisions)
        let covariances = try precisions.map { try $0.inverse() } // LU, an independent route
        let fromCovariances = GaussianMixtureParameters(weights: c.initialWeights, means: means, covariances: covariances)
        for k in 0..<c.components {
            #expect(fromPrecisions.covariances[k].isApproximatelyEqual(to: covariances[k], relativeTolerance: 1e-12, absoluteTolerance: 1e-14))
        }
        let model = GaussianMixtureModel(components: c.components, tolerance: c.tolerance, maxIterations: c.maxIterations,
                                         regularization: c.regularization)
        let a = try model.fit(data, startingFrom: fromPrecisions), b = try model.fit(data, startingFrom: fromCovariances)
        #expect(a.iterations == b.iterations && abs(a.lowerBound - b.lowerBound) < 1e-12 * abs(a.lowerBound))
    }

    @Test func maxIterationsZeroReturnsTheStart() throws {
        var rng = Philox4x32(seed: modelTestSeed, path: [40, 3])
        let data = separatedTruth.sample(count: 300, options: .plain, using: &rng)
        let fit = try GaussianMixtureModel(components: 3, maxIterations: 0).fit(data, using: &rng)
        #expect(fit.iterations == 0 && !fit.converged && fit.lowerBoundTrace == [fit.lowerBound] && fit.lowerBound.isFinite)
    }

    // MARK: - Degenerate data

    /// All rows equal: the second k-means++ centre duplicates the first, its group is empty, so
    /// the fit has one live component (covariance = regularisation) and one frozen, weight-0 one.
    @Test(arguments: [1e-6, 0])
    func identicalRowsWithTwoComponentsLeaveAnEmptyComponent(regularization: Double) throws {
        var rng = Philox4x32(seed: modelTestSeed, path: [41, regularization == 0 ? 0 : 1])
        let data = Matrix(rows: 50, columns: 2, storage: (0..<50).flatMap { _ in [1.5, -2.0] })
        let fit = try GaussianMixtureModel(components: 2, regularization: regularization).fit(data, using: &rng)
        #expect(fit.degeneracy == .emptyComponent)
        #expect(fit.componentDegeneracies.sorted { ($0?.rawValue ?? "") < ($1?.rawValue ?? "") } == [.emptyComponent, .singularCovariance])
        #expect(fit.weights.sorted() == [0, 1])
        let live = fit.weights[0] == 1 ? 0 : 1
        #expect(fit.means.row(live) == [1.5, -2.0])
        if regularization > 0 { #expect(fit.covariances[live] == Matrix([[1e-6, 0], [0, 1e-6]])) }
        expectUsable(fit, on: data, rng: &rng)
        let s = fit.sample(count: 20, options: .plain, using: &rng)
        // Samples sit at the point up to the spread sqrt(max(regularisation, jitter)) <= 1e-3; 6 sd.
        #expect(s.storage.enumerated().allSatisfy { abs($0.element - ($0.offset % 2 == 0 ? 1.5 : -2)) < 6e-3 })
    }

    /// K = n: every component sits on one row, its unregularised covariance is zero.
    @Test func oneComponentPerRowIsSingular() throws {
        var rng = Philox4x32(seed: modelTestSeed, path: [42])
        let data = Matrix([[0, 0], [1, 0], [0, 1], [2, 2], [-1, 3], [4, -1]])
        let fit = try GaussianMixtureModel(components: 6).fit(data, using: &rng)
        #expect(fit.degeneracy == .singularCovariance)
        #expect(fit.componentDegeneracies.allSatisfy { $0 == .singularCovariance })
        #expect(fit.weights.allSatisfy { abs($0 - 1.0 / 6) < 1e-12 })
        #expect(fit.converged)
        expectUsable(fit, on: data, rng: &rng)
    }

    /// 100 identical rows beside 200 spread ones: the component on the identical rows has zero
    /// unregularised covariance (flagged), the other is regular.
    @Test func identicalClusterBesideASpreadClusterIsFlagged() throws {
        var rng = Philox4x32(seed: modelTestSeed, path: [43])
        var spread = Matrix(rows: 200, columns: 2)
        spread.storage.withUnsafeMutableBufferPointer { StandardNormal.fill($0, using: &rng) }
        let point = Matrix(rows: 100, columns: 2, storage: (0..<100).flatMap { _ in [5.0, 5.0] })
        let data = spread.appendingRows(point)
        let fit = try GaussianMixtureModel(components: 2, nInit: 2).fit(data, using: &rng)
        #expect(fit.degeneracy == .singularCovariance)
        let spike = fit.means[0, 0] > 2.5 ? 0 : 1
        #expect(fit.componentDegeneracies[spike] == .singularCovariance && fit.componentDegeneracies[1 - spike] == nil)
        #expect(abs(fit.weights[spike] - 1.0 / 3) < 1e-9)
        expectUsable(fit, on: data, rng: &rng)
        // The same in 1-D, where only the variance test can see it (5.1 is not a binary fraction,
        // so the fitted mean is off by rounding and the variance is rounding noise, not 0).
        let line = Matrix(column: spread.column(0) + [Double](repeating: 5.1, count: 100))
        let fit1 = try GaussianMixtureModel(components: 2, nInit: 2).fit(line, using: &rng)
        #expect(fit1.degeneracy == .singularCovariance)
        expectUsable(fit1, on: line, rng: &rng)
    }

    /// A component started far from every row gets responsibility exactly 0 and is frozen.
    @Test func componentEmptiedDuringEMIsFrozen() throws {
        var rng = Philox4x32(seed: modelTestSeed, path: [44])
        let data = Matrix(column: StandardNormal.sample(count: 200, using: &rng))
        let start = GaussianMixtureParameters(weights: [0.5, 0.5], means: Matrix([[0], [1_000]]),
                                              covariances: [Matrix([[1]]), Matrix([[1]])])
        let fit = try GaussianMixtureModel(components: 2).fit(data, startingFrom: start)
        #expect(fit.degeneracy == .emptyComponent && fit.componentDegeneracies == [nil, .emptyComponent])
        #expect(fit.weights == [1, 0] && fit.means[1, 0] == 1_000)
        #expect(fit.logDensities(Matrix([[1_000]]))[0].isFinite) // the frozen component adds nothing
        expectUsable(fit, on: data, rng: &rng)
    }

    @Test func fitRejectsUnusableData() {
        var rng = Philox4x32(seed: modelTestSeed, path: [45])
        let model = GaussianMixtureModel(components: 3)
        #expect(throws: FitError.tooFewRows(needed: 3, got: 2)) { try model.fit(Matrix([[1], [2]]), using: &rng) }
        #expect(throws: FitError.tooFewRows(needed: 3, got: 0)) { try model.fit(Matrix(rows: 0, columns: 2), using: &rng) }
        #expect(throws: FitError.nonFiniteData) { try model.fit(Matrix(column: [1, 2, .nan, 4]), using: &rng) }
        #expect(throws: FitError.dimensionMismatch(expected: 1, got: 0)) { try model.fit(Matrix(rows: 4, columns: 0), using: &rng) }
        let start = GaussianMixtureParameters(weights: [1, 1, 1], means: Matrix([[0], [1], [2]]),
                                              covariances: [Matrix([[1]]), Matrix([[1]]), Matrix([[1]])])
        #expect(throws: FitError.dimensionMismatch(expected: 1, got: 2)) { try model.fit(Matrix([[1, 2], [3, 4], [5, 6]]), startingFrom: start) }
    }

    // MARK: - Fitted model

    @Test func sampleOfZeroRowsIsEmpty() {
        var rng = Philox4x32(seed: modelTestSeed, path: [46])
        let before = rng
        let s = separatedTruth.sample(count: 0, options: SamplingOptions(temperature: 0.5, truncation: 1), using: &rng)
        #expect(s.rows == 0 && s.columns == 2 && rng == before)
        #expect(separatedTruth.logDensities(s).isEmpty && separatedTruth.responsibilities(s).rows == 0)
    }

    @Test func codableRoundTripIsExact() throws {
        var rng = Philox4x32(seed: modelTestSeed, path: [47])
        let data = separatedTruth.sample(count: 500, options: .plain, using: &rng)
        let fit = try GaussianMixtureModel(components: 3).fit(data, using: &rng)
        let decoded = try JSONDecoder().decode(FittedGaussianMixture.self, from: JSONEncoder().encode(fit))
        #expect(decoded == fit)
        var a = rng, b = rng
        #expect(decoded.sample(count: 10, options: .plain, using: &a) == fit.sample(count: 10, options: .plain, using: &b))
    }

    @Test func sameStreamGivesTheSameFit() throws {
        var rng = Philox4x32(seed: modelTestSeed, path: [48])
        let data = separatedTruth.sample(count: 600, options: .plain, using: &rng)
        let model = GaussianMixtureModel(components: 3, nInit: 2)
        var a = Philox4x32(seed: modelTestSeed, path: [48, 1]), b = a
        let fitA = try model.fit(data, using: &a), fitB = try model.fit(data, using: &b)
        #expect(fitA == fitB && a == b)
        #expect(fitA.sample(count: 50, options: .plain, using: &a) == fitB.sample(count: 50, options: .plain, using: &b))
    }

    /// The E- and M-steps split their row blocks into groups fixed by n and d alone, each block
    /// computed the same way wherever it runs, so a fit with the groups on all cores is bit for bit
    /// the fit on the calling thread. The data have more blocks than groups and a short last block.
    /// d = 12 takes the E-step's dgemm path (d > 8), the others its fused small-d pass.
    @Test(arguments: [(4, 2, 20_001), (3, 5, 10_007), (3, 12, 4_001)])
    func parallelFitIsBitIdenticalToSequential(components: Int, dimension: Int, rows: Int) throws {
        var rng = Philox4x32(seed: modelTestSeed, path: [52, UInt32(dimension)])
        var data = Matrix(rows: rows, columns: dimension)
        data.storage.withUnsafeMutableBufferPointer { StandardNormal.fill($0, using: &rng) }
        for i in 0..<rows { data[i, i % dimension] += Double(3 * (i % components)) }
        let workspace = GaussianMixtureKernel.Workspace(rows: rows, columns: dimension)
        #expect(workspace.blocks.count > GaussianMixtureKernel.Workspace.maxGroups)
        #expect(workspace.blocks.last!.count < workspace.blockSize)
        let model = GaussianMixtureModel(components: components, nInit: 2, tolerance: 1e-6)
        var a = rng, b = rng
        let parallel = try model.fit(data, using: &a, parallelism: .always)
        let sequential = try model.fit(data, using: &b, parallelism: .never)
        #expect(parallel.iterations > 1)
        #expect(parallel.weights == sequential.weights && parallel.means == sequential.means)
        #expect(parallel.covariances == sequential.covariances)
        #expect(parallel.lowerBound == sequential.lowerBound && parallel.lowerBoundTrace == sequential.lowerBoundTrace)
        #expect(parallel == sequential && a == b)
        // The fitted model's log-terms (behind logDensities) likewise.
        let terms = [GaussianMixtureKernel.Parallelism.always, .never].map { parallelism in
            var w = GaussianMixtureKernel.Workspace(rows: rows, columns: dimension)
            var out = Matrix(rows: rows, columns: components)
            GaussianMixtureKernel.weightedLogTerms(data.transposed(), weights: parallel.weights, means: parallel.means,
                                                   whiteners: parallel.choleskyFactors.map(GaussianMixtureKernel.whitener),
                                                   logNormalisers: parallel.logNormalisers, workspace: &w,
                                                   parallelism: parallelism, into: &out)
            return out
        }
        #expect(terms[0] == terms[1])
    }

    /// Components 200 sd apart, so `predictComponents` labels every sample row by the component
    /// that drew it. Counts: multinomial, SE sqrt(n w (1 - w)). With temperature tau, component k's
    /// rows are N(mu_k, tau² Sigma_k): sample mean SE tau sqrt(Sigma_jj / n_k), sample covariance
    /// entry SE tau² sqrt((Sigma_ab² + Sigma_aa Sigma_bb) / n_k). All within 5 SE.
    @Test(arguments: [1.0, 0.5])
    func temperatureScalesEachComponentsCovariance(temperature tau: Double) {
        var rng = Philox4x32(seed: modelTestSeed, path: [49, tau == 1 ? 1 : 2])
        let truth = FittedGaussianMixture(weights: [0.3, 0.7], means: Matrix([[-200, 0], [200, 50]]),
                                          covariances: [Matrix([[4, 1], [1, 1]]), Matrix([[1, -0.5], [-0.5, 2]])])
        let n = 20_000
        let s = truth.sample(count: n, options: SamplingOptions(temperature: tau), using: &rng)
        let labels = truth.predictComponents(s)
        // Shuffled: the first rows are not all from one component.
        #expect(Set(labels.prefix(20)).count == 2)
        for k in 0..<2 {
            let group = rows(of: s, labels: labels, equalTo: k)
            let nk = Double(group.rows), w = truth.weights[k]
            let zCount = (nk - Double(n) * w) / (Double(n) * w * (1 - w)).squareRoot()
            #expect(abs(zCount) < 5, "component \(k): \(nk) rows, z = \(zCount)")
            let (mean, cov) = group.covariance(ddof: 1)
            let sigma = truth.covariances[k]
            for a in 0..<2 {
                let zMean = (mean[a] - truth.means[k, a]) / (tau * (sigma[a, a] / nk).squareRoot())
                #expect(abs(zMean) < 5, "component \(k) mean[\(a)]: z = \(zMean)")
                for b in 0..<2 {
                    let se = tau * tau * ((sigma[a, b] * sigma[a, b] + sigma[a, a] * sigma[b, b]) / nk).squareRoot()
                    let z = (cov[a, b] - tau * tau * sigma[a, b]) / se
                    #expect(abs(z) < 5, "component \(k) covariance (\(a), \(b)) \(cov[a, b]) vs \(tau * tau * sigma[a, b]): z = \(z)")
                }
            }
        }
    }

    /// Truncation c keeps each row within Mahalanobis radius c of its own component's mean under
    /// the untempered covariance. In d = 2, r² / tau² ~ chi²_2 = Exponential(mean 2) truncated at
    /// a = (c/tau)², so E[r²] = tau² (2 - a e^(-a/2) / (1 - e^(-a/2))) and
    /// Var[r²] = tau⁴ (4 - a² e^(-a/2) / (1 - e^(-a/2))²); the sample mean of n rows is within 5 SE.
    @Test(arguments: [1.0, 0.7])
    func truncationKeepsRowsWithinTheirOwnComponentsRadius(temperature tau: Double) {
        var rng = Philox4x32(seed: modelTestSeed, path: [50, tau == 1 ? 1 : 2])
        let truth = FittedGaussianMixture(weights: [0.4, 0.6], means: Matrix([[-200, 0], [200, 50]]),
                                          covariances: [Matrix([[4, 1], [1, 1]]), Matrix([[1, -0.5], [-0.5, 2]])])
        let c = 1.5, n = 10_000
        let options = SamplingOptions(temperature: tau, truncation: c)
        let a = (c / tau) * (c / tau)
        #expect(abs(truth.truncationAcceptance(options) - (1 - Foundation.exp(-a / 2))) < 1e-12)
        let s = truth.sample(count: n, options: options, using: &rng)
        let labels = truth.predictComponents(s)
        var radii: [Double] = []
        for k in 0..<2 {
            var group = rows(of: s, labels: labels, equalTo: k)
            for i in 0..<group.rows { for j in 0..<2 { group[i, j] -= truth.means[k, j] } }
            Cholesky(uncheckedLower: truth.choleskyFactors[k]).whitenRows(&group)
            for i in 0..<group.rows { radii.append(group[i, 0] * group[i, 0] + group[i, 1] * group[i, 1]) }
        }
        #expect(radii.count == n)
        #expect(radii.allSatisfy { $0 <= c * c * (1 + 1e-12) })
        let e = Foundation.exp(-a / 2)
        let mean = tau * tau * (2 - a * e / (1 - e))
        let variance = tau * tau * tau * tau * (4 - a * a * e / ((1 - e) * (1 - e)))
        let z = (Descriptive.mean(radii) - mean) / (variance / Double(n)).squareRoot()
        #expect(abs(z) < 5, "mean squared radius \(Descriptive.mean(radii)) vs \(mean): z = \(z)")
    }

    @Test func mixtureMomentsMatchClosedForm() {
        // w = (1/4, 3/4), mu = (-1, 3), sigma² = (1, 4): mean 2, variance 1/4 (1 + 9) + 3/4 (4 + 1) = 6.25.
        let fit = FittedGaussianMixture(weights: [1, 3], means: Matrix([[-1], [3]]), covariances: [Matrix([[1]]), Matrix([[4]])])
        #expect(fit.weights == [0.25, 0.75])
        #expect(fit.mixtureMean == [2] && fit.mixtureCovariance == Matrix([[6.25]]))
        #expect(fit.degeneracy == nil && fit.iterations == 0 && !fit.converged && fit.lowerBound == -.infinity)
        // 2-D: sum w (Sigma + mu muᵀ) - mean meanᵀ, entry by entry.
        let t = separatedTruth
        for a in 0..<2 {
            for b in 0..<2 {
                var second = 0.0
                for k in 0..<3 { second += t.weights[k] * (t.covariances[k][a, b] + t.means[k, a] * t.means[k, b]) }
                #expect(abs(t.mixtureCovariance[a, b] - (second - t.mixtureMean[a] * t.mixtureMean[b])) < 1e-12)
            }
        }
    }

    @Test func logDensityMatchesClosedFormAndStaysFiniteFarAway() {
        let fit = FittedGaussianMixture(weights: [0.25, 0.75], means: Matrix([[-1], [3]]), covariances: [Matrix([[1]]), Matrix([[4]])])
        func direct(_ x: Double) -> Double {
            let p1 = Foundation.exp(-0.5 * (x + 1) * (x + 1)) / (2 * Double.pi).squareRoot()
            let p2 = Foundation.exp(-0.5 * (x - 3) * (x - 3) / 4) / (8 * Double.pi).squareRoot()
            return Foundation.log(0.25 * p1 + 0.75 * p2)
        }
        let xs = [-3.0, -1, 0, 1.7, 3, 6]
        let got = fit.logDensities(Matrix(column: xs))
        for (x, g) in zip(xs, got) { #expect(abs(g - direct(x)) < 1e-14 * max(1, abs(direct(x))), "x = \(x): \(g) vs \(direct(x))") }
        // 1e6 sd from both components: the wider component dominates,
        // log p ≈ log 0.75 - log(2 sqrt(2 pi)) - (x - 3)² / 8.
        let far = 3 + 2e6
        let expected = Foundation.log(0.75) - Foundation.log(2 * (2 * Double.pi).squareRoot()) - (far - 3) * (far - 3) / 8
        let farValue = fit.logDensities(Matrix(column: [far]))[0]
        #expect(farValue.isFinite && abs(farValue - expected) < 1e-12 * abs(expected))
        // Beyond ~1e154 sd the squared distance overflows: -inf, never NaN (also in 2-D).
        #expect(fit.logDensities(Matrix(column: [1e200, -1e300])) == [-.infinity, -.infinity])
        let wide = separatedTruth.logDensities(Matrix([[1e6, -1e6], [1e200, 1e300], [-1e300, 1e300]]))
        #expect(wide[0].isFinite && !wide.contains { $0.isNaN })
        let r = separatedTruth.responsibilities(Matrix([[1e200, 1e300]]))
        #expect(r.isFinite && abs(r.storage.reduce(0, +) - 1) < 1e-15)
    }

    @Test func responsibilitiesSumToOneAndPredictTheLikelierComponent() {
        var rng = Philox4x32(seed: modelTestSeed, path: [51])
        let data = separatedTruth.sample(count: 300, options: .plain, using: &rng)
        let r = separatedTruth.responsibilities(data)
        let labels = separatedTruth.predictComponents(data)
        for i in 0..<data.rows {
            let row = r.row(i)
            #expect(abs(row.reduce(0, +) - 1) < 1e-14)
            #expect(row.indices.max { row[$0] < row[$1] } == labels[i])
        }
        // log p(x) = log(sum_k w_k N_k) and r_ik ∝ w_k N_k: check one row against the components.
        let x = Matrix([[0.5, 3]])
        let logP = separatedTruth.logDensities(x)[0]
        let rr = separatedTruth.responsibilities(x)
        for k in 0..<3 {
            let component = MultivariateNormal(mean: separatedTruth.means.row(k),
                                               factor: Cholesky(uncheckedLower: separatedTruth.choleskyFactors[k]))
            let logTerm = Foundation.log(separatedTruth.weights[k]) + component.logDensities(x)[0]
            #expect(abs(Foundation.exp(logTerm - logP) - rr[0, k]) < 1e-12)
        }
    }
}

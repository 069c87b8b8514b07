import CollapseCore
import Foundation
import Testing
@testable import CollapseModels

let modelTestSeed: UInt64 = {
    if let text = ProcessInfo.processInfo.environment["COLLAPSE_TEST_SEED"], let value = UInt64(text) { return value }
    return 20_261_129
}()

@Suite struct GaussianModelTests {
    /// One MLE refit on M rows of N(0, sigma²): E[sigma_hat²] = (M-1)/M sigma², and
    /// Var[sigma_hat²] = 2 (M-1) sigma⁴ / M² (sigma_hat² ~ sigma² chi²_{M-1} / M). Over K independent
    /// repetitions the mean's standard error is sqrt(2 (M-1)) sigma² / (M sqrt K); require z < 5.
    @Test(arguments: [CovarianceEstimator.mle, .unbiased])
    func expectedRefitVarianceMatchesTheory(estimator: CovarianceEstimator) throws {
        let m = 10, k = 20_000, sigma2 = 4.0
        let truth = FittedGaussian(mean: 1, variance: sigma2)
        let model = GaussianModel(estimator: estimator)
        var total = 0.0
        for rep in 0..<k {
            var rng = Philox4x32(seed: modelTestSeed, path: [1, UInt32(rep)])
            let data = truth.sample(count: m, options: .plain, using: &rng)
            total += try model.fit(data, using: &rng).variance
        }
        let expected = estimator == .mle ? Double(m - 1) / Double(m) * sigma2 : sigma2
        let sdOfOne = estimator == .mle ? (2.0 * Double(m - 1)).squareRoot() * sigma2 / Double(m)
                                        : (2.0 / Double(m - 1)).squareRoot() * sigma2
        let z = (total / Double(k) - expected) / (sdOfOne / Double(k).squareRoot())
        #expect(abs(z) < 5, "mean refit variance \(total / Double(k)) vs theory \(expected): z = \(z)")
    }

    @Test func zeroVarianceIsAFlaggedPointMass() throws {
        var rng = Philox4x32(seed: modelTestSeed, path: [2])
        let fit = try GaussianModel().fit(Matrix(column: [3, 3, 3]), using: &rng)
        #expect(fit.variance == 0 && fit.degeneracy == .zeroVariance)
        #expect(fit.sample(count: 4, options: .plain, using: &rng).storage == [3, 3, 3, 3])
        #expect(fit.logDensities(Matrix(column: [3, 4])) == [.infinity, -.infinity])
    }

    @Test func fitRejectsUnusableData() {
        var rng = Philox4x32(seed: modelTestSeed, path: [3])
        #expect(throws: FitError.tooFewRows(needed: 2, got: 1)) { try GaussianModel(estimator: .unbiased).fit(Matrix(column: [1]), using: &rng) }
        #expect(throws: FitError.nonFiniteData) { try GaussianModel().fit(Matrix(column: [1, .nan]), using: &rng) }
        #expect(throws: FitError.dimensionMismatch(expected: 1, got: 2)) { try GaussianModel().fit(Matrix([[1, 2]]), using: &rng) }
        // Finite rows whose variance overflows: an error, not a crash (a temperature above 1 can
        // get a chain there).
        #expect(throws: FitError.nonFiniteFit) { try GaussianModel().fit(Matrix(column: [1e200, -1e200]), using: &rng) }
        #expect(throws: FitError.nonFiniteFit) { try MultivariateGaussianModel().fit(Matrix([[1e200, 0], [-1e200, 1]]), using: &rng) }
    }

    /// Truncated sampling stays inside mean ± c sigma; temperature scales the spread by tau
    /// (sample variance of n draws has SE ≈ sigma² sqrt(2/n)).
    @Test func samplingKnobsShapeTheSamples() {
        var rng = Philox4x32(seed: modelTestSeed, path: [4])
        let fit = FittedGaussian(mean: 2, variance: 9)
        let cut = fit.sample(count: 10_000, options: SamplingOptions(truncation: 1), using: &rng)
        #expect(cut.storage.allSatisfy { abs($0 - 2) <= 3 })
        let n = 100_000
        let hot = fit.sample(count: n, options: SamplingOptions(temperature: 0.5), using: &rng)
        let v = Descriptive.variance(hot.storage, ddof: 1)
        let expected = 9 * 0.25
        #expect(abs(v - expected) < 5 * expected * (2.0 / Double(n)).squareRoot())
    }
}

@Suite struct MultivariateGaussianModelTests {
    /// E[Sigma_hat_mle] = (M-1)/M Sigma entrywise. For entry (a, b) one refit's variance is
    /// (Sigma_ab² + Sigma_aa Sigma_bb)(M-1)/M² (Wishart); over K repetitions z < 5.
    @Test func expectedRefitCovarianceIsShrunkByMMinusOneOverM() throws {
        let sigma = Matrix([[2, 0.6, 0], [0.6, 1, -0.3], [0, -0.3, 0.5]])
        let truth = FittedMultivariateGaussian(mean: [1, -1, 0], covariance: sigma)
        let m = 8, k = 8_000
        var total = Matrix(rows: 3, columns: 3)
        for rep in 0..<k {
            var rng = Philox4x32(seed: modelTestSeed, path: [10, UInt32(rep)])
            let data = truth.sample(count: m, options: .plain, using: &rng)
            total.add(try MultivariateGaussianModel().fit(data, using: &rng).covariance)
        }
        let r = Double(m - 1) / Double(m)
        for a in 0..<3 {
            for b in 0..<3 {
                let mean = total[a, b] / Double(k)
                let sdOne = ((sigma[a, b] * sigma[a, b] + sigma[a, a] * sigma[b, b]) * Double(m - 1)).squareRoot() / Double(m)
                let z = (mean - r * sigma[a, b]) / (sdOne / Double(k).squareRoot())
                #expect(abs(z) < 5, "entry (\(a), \(b)): mean \(mean) vs \(r * sigma[a, b]), z = \(z)")
            }
        }
    }

    /// Large samples are drawn in parallel blocks with their own streams: the result equals the
    /// blocks drawn one after another from `Philox4x32(seed: key, path: [b])` (key = the caller's
    /// next word), so it cannot depend on the core count; small samples draw from the caller's stream.
    @Test(arguments: [false, true])
    func blockedSamplesAreFixedBlocksOfTheirOwnStreams(singular: Bool) throws {
        let d = 24
        var rng = Philox4x32(seed: modelTestSeed, path: [12])
        let data = Matrix(rows: singular ? 10 : 200, columns: d) { StandardNormal.fill($0, using: &rng) }
        let fit = try MultivariateGaussianModel().fit(data, using: &rng)
        #expect((fit.degeneracy == .singularCovariance) == singular)
        let count = 3000
        #expect(count * d >= FittedMultivariateGaussian.blockedSampleValues)
        let options = SamplingOptions(temperature: 0.9)
        var a = Philox4x32(seed: modelTestSeed, path: [13]), b = a
        let sample = fit.sample(count: count, options: options, using: &a)
        let key = b.nextUInt64()
        #expect(a == b) // the caller's stream advanced by exactly one word
        let blockRows = FittedMultivariateGaussian.sampleBlockRows(count: count, dimension: d)
        var expected: [Double] = []
        for (index, start) in stride(from: 0, to: count, by: blockRows).enumerated() {
            var blockRng = Philox4x32(seed: key, path: [UInt32(index)])
            expected += fit.sampleRows(min(blockRows, count - start), options: options, using: &blockRng).storage
        }
        #expect(sample.storage == expected)
        // Below the threshold: the rows come from the caller's stream itself.
        var c = Philox4x32(seed: modelTestSeed, path: [14]), e = c
        #expect(fit.sample(count: 10, options: options, using: &c) == fit.sampleRows(10, options: options, using: &e))
    }

    /// A blocked sample of N rows has the fitted mean and covariance: each entry of the sample mean
    /// within 5 SE (sqrt(tau² Sigma_aa / N)) and of the sample covariance within 5 SE
    /// (sqrt((Sigma_ab² + Sigma_aa Sigma_bb) / N), scaled by tau²); blocks are not copies of each other.
    @Test func blockedSamplesHaveTheFittedMoments() {
        let sigma = Matrix([[2, 0.6, 0], [0.6, 1, -0.3], [0, -0.3, 0.5]])
        let fit = FittedMultivariateGaussian(mean: [1, -1, 0], covariance: sigma)
        let n = 40_000, tau = 0.8
        var rng = Philox4x32(seed: modelTestSeed, path: [15])
        let s = fit.sample(count: n, options: SamplingOptions(temperature: tau), using: &rng)
        #expect(n * 3 >= FittedMultivariateGaussian.blockedSampleValues)
        let (mean, cov) = s.covariance(ddof: 1)
        let t2 = tau * tau
        for a in 0..<3 {
            #expect(abs(mean[a] - fit.mean[a]) < 5 * (t2 * sigma[a, a] / Double(n)).squareRoot(), "mean[\(a)] = \(mean[a])")
            for b in 0..<3 {
                let se = t2 * ((sigma[a, b] * sigma[a, b] + sigma[a, a] * sigma[b, b]) / Double(n)).squareRoot()
                #expect(abs(cov[a, b] - t2 * sigma[a, b]) < 5 * se, "cov[\(a), \(b)] = \(cov[a, b])")
            }
        }
        let blockRows = FittedMultivariateGaussian.sampleBlockRows(count: n, dimension: 3)
        #expect(Array(s.storage[0..<24]) != Array(s.storage[blockRows * 3 ..< blockRows * 3 + 24]))
    }

    /// A singular fit samples on its subspace to rounding, with the fitted covariance: 5 rows in
    /// 12-D (rank 4 after centring) around 100, as a collapsed chain sits far from the origin
    /// against its spread. Every sampled row's component orthogonal to the centred rows' span is
    /// below 1e-11 (rows are ~100: about 500 ulps; the pivoted root stops before the round-off
    /// pivots, while an unpivoted Cholesky root, whose last pivots are square roots of round-off,
    /// would leak ~1e-8), and each sample covariance entry is within 5 SE of the fitted one
    /// (SE = sqrt((Sigma_ab² + Sigma_aa Sigma_bb) / N)).
    @Test func singularFitsSampleOnTheirSubspaceWithTheFittedCovariance() throws {
        let d = 12, m = 5, n = 20_000
        var rng = Philox4x32(seed: modelTestSeed, path: [16])
        var data = Matrix(rows: m, columns: d) { StandardNormal.fill($0, using: &rng) }
        data.addRowVector([Double](repeating: 100, count: d))
        let fit = try MultivariateGaussianModel().fit(data, using: &rng)
        #expect(fit.degeneracy == .singularCovariance)
        // The complement of the span: eigenvectors of the covariance with (round-off of) zero eigenvalues.
        let eigen = try SymmetricEigen(fit.covariance)
        let null = (0..<d).filter { eigen.values[$0] < 1e-10 * eigen.values[d - 1] }
        #expect(null.count == d - (m - 1))
        let s = fit.sample(count: n, options: .plain, using: &rng)
        var worst = 0.0
        for i in 0..<n {
            for v in null {
                var dot = 0.0
                for j in 0..<d { dot += (s[i, j] - fit.mean[j]) * eigen.vectors[j, v] }
                worst = max(worst, abs(dot))
            }
        }
        #expect(worst < 1e-11, "largest component off the fitted subspace: \(worst)")
        let (_, cov) = s.covariance(ddof: 1)
        let sigma = fit.covariance
        for a in 0..<d {
            for b in 0..<d {
                let se = ((sigma[a, b] * sigma[a, b] + sigma[a, a] * sigma[b, b]) / Double(n)).squareRoot()
                #expect(abs(cov[a, b] - sigma[a, b]) < 5 * se, "cov[\(a), \(b)] = \(cov[a, b]) vs \(sigma[a, b])")
            }
        }
    }

    /// The Codable form keeps the mean, covariance and degeneracy and derives the factor again:
    /// decoding gives an equal fit (factor and colouring included) for a regular, a numerically
    /// singular, a rank-deficient and a point-mass fit; a degeneracy the covariance contradicts is
    /// rejected (a stored singular flag is trusted, as the fit's own `rankDeficient` is).
    @Test func codableRoundTripDerivesTheSameFactor() throws {
        var rng = Philox4x32(seed: modelTestSeed, path: [17])
        let regular = FittedMultivariateGaussian(mean: [1, -1, 0], covariance: Matrix([[2, 0.6, 0], [0.6, 1, -0.3], [0, -0.3, 0.5]]))
        let numericallySingular = FittedMultivariateGaussian(mean: [0, 0], covariance: Matrix([[1, 1], [1, 1]]))
        let rankDeficient = try MultivariateGaussianModel().fit(Matrix(rows: 3, columns: 5) { StandardNormal.fill($0, using: &rng) },
                                                               using: &rng)
        let point = FittedMultivariateGaussian(mean: [2, 3], covariance: Matrix(rows: 2, columns: 2))
        #expect(numericallySingular.degeneracy == .singularCovariance && rankDeficient.degeneracy == .singularCovariance)
        #expect(point.degeneracy == .zeroVariance)
        for fit in [regular, numericallySingular, rankDeficient, point] {
            let decoded = try JSONDecoder().decode(FittedMultivariateGaussian.self, from: JSONEncoder().encode(fit))
            #expect(decoded == fit)
        }
        // A regular fit whose covariance is singular, and a point mass with spread.
        let notRegular = Data(#"{"mean":[0,0],"covariance":{"rows":2,"columns":2,"storage":[1,1,1,1]}}"#.utf8)
        #expect(throws: DecodingError.self) { try JSONDecoder().decode(FittedMultivariateGaussian.self, from: notRegular) }
        let notPoint = Data(#"{"mean":[0,0],"covariance":{"rows":2,"columns":2,"storage":[1,0,0,1]},"degeneracy":"zero_variance"}"#.utf8)
        #expect(throws: DecodingError.self) { try JSONDecoder().decode(FittedMultivariateGaussian.self, from: notPoint) }
    }

    @Test func fewerRowsThanDimensionsGiveASingularFitThatStillSamples() throws {
        var rng = Philox4x32(seed: modelTestSeed, path: [11])
        let data = Matrix([[1, 2, 3], [2, 1, 0], [0, 0, 1]]) // 3 rows in 3-D: rank 2 after centring
        let fit = try MultivariateGaussianModel().fit(data, using: &rng)
        #expect(fit.degeneracy == .singularCovariance)
        let s = fit.sample(count: 50, options: .plain, using: &rng)
        #expect(s.isFinite)
        // Samples stay in the affine span of the data: mean + span of the centred rows.
        // Centred rows (0, 1, 5/3), (1, 0, -4/3), (-1, -1, -1/3) are orthogonal to their cross product (-4, 5, -3).
        let normal = [-4.0, 5, -3]
        let centredRows = (0..<3).map { i in (0..<3).map { data[i, $0] - fit.mean[$0] } }
        let orthogonal = centredRows.allSatisfy { row in abs(zip(row, normal).map(*).reduce(0, +)) < 1e-12 }
        #expect(orthogonal)
        for i in 0..<50 {
            let dot = (0..<3).map { (s[i, $0] - fit.mean[$0]) * normal[$0] }.reduce(0, +)
            #expect(abs(dot) < 1e-12) // exact zero up to rounding of entries of size ~10
        }
        #expect(fit.logDensities(data).allSatisfy { $0 == -.infinity })
        // Identical rows in any number: zero variance, point mass at the row.
        let same = Matrix(rows: 10, columns: 2, storage: [Double](repeating: 0.3, count: 20))
        let point = try MultivariateGaussianModel().fit(same, using: &rng)
        #expect(point.degeneracy == .zeroVariance)
        #expect(point.sample(count: 3, options: .plain, using: &rng).storage.allSatisfy { $0 == 0.3 })
        // Many rows on a line in 2-D: numerically singular, detected by the pivot test.
        var linePoints: [Double] = []
        for i in 0..<20 {
            let t = Double(i) * 0.1
            linePoints += [t, 3 * t + 1]
        }
        let line = Matrix(rows: 20, columns: 2, storage: linePoints)
        #expect(try MultivariateGaussianModel().fit(line, using: &rng).degeneracy == .singularCovariance)
    }

    @Test func logDensityMatchesClosedForm() throws {
        let fit = FittedMultivariateGaussian(mean: [0, 0], covariance: Matrix([[4, 0], [0, 1]]))
        // log N((2, 1); 0, diag(4, 1)) = -log(2 pi) - log(2) - (1 + 1)/2
        let want = -Foundation.log(2 * Double.pi) - Foundation.log(2.0) - 1
        #expect(abs(fit.logDensities(Matrix([[2, 1]]))[0] - want) < 1e-14)
    }
}

import CollapseCore
import Foundation
import Testing
@testable import CollapseModels

/// `SufficientStatisticsRefit`: the refit drawn from its sufficient statistics must have exactly
/// the distribution of fitting M sampled rows. Each test checks an exact law by a seeded
/// Kolmogorov–Smirnov test (p > 1e-4) or a z-score against closed-form moments (|z| < 5).
@Suite struct SufficientStatisticsTests {
    /// x̄ ~ N(mu, tau² sigma² / M) and (M - ddof) sigma_hat² / (tau² sigma²) ~ chi²_{M-1},
    /// independent (their sample correlation r over K draws has SE 1/sqrt(K)).
    @Test(arguments: [(CovarianceEstimator.mle, 1.0), (.unbiased, 1.0), (.mle, 0.7)])
    func gaussianRefitHasTheExactLaw(estimator: CovarianceEstimator, tau: Double) throws {
        let m = 10, k = 20_000
        let fitted = FittedGaussian(mean: 1, variance: 4)
        let model = GaussianModel(estimator: estimator)
        let options = SamplingOptions(temperature: tau)
        let spread = tau * tau * fitted.variance
        var standardisedMeans: [Double] = [], chiSquares: [Double] = []
        for rep in 0..<k {
            var rng = Philox4x32(seed: modelTestSeed, path: [40, UInt32(rep)])
            let refit = try model.refit(fitted, samples: m, options: options, using: &rng)
            standardisedMeans.append((refit.mean - fitted.mean) / (spread / Double(m)).squareRoot())
            chiSquares.append(Double(m - estimator.ddof) * refit.variance / spread)
        }
        let meanTest = kolmogorovSmirnovTest(standardisedMeans) { SpecialFunctions.normalCDF($0) }
        #expect(meanTest.pValue > 1e-4, "mean: KS D = \(meanTest.statistic), p = \(meanTest.pValue)")
        let dof = Double(m - 1)
        let chiTest = kolmogorovSmirnovTest(chiSquares) { SpecialFunctions.regularizedGammaP(dof / 2, max($0, 0) / 2) }
        #expect(chiTest.pValue > 1e-4, "sum of squares: KS D = \(chiTest.statistic), p = \(chiTest.pValue)")
        let r = correlation(standardisedMeans, chiSquares)
        #expect(abs(r) * Double(k).squareRoot() < 5, "mean and variance correlate: r = \(r)")
    }

    /// The refit and the fit of M sampled rows agree in the mean of the refitted variance (the
    /// recursion's driver): both within 5 SE of (M-1)/M sigma² (MLE).
    @Test func gaussianRefitAgreesWithFittingSampledRows() throws {
        let m = 5, k = 20_000
        let fitted = FittedGaussian(mean: -2, variance: 3)
        let model = GaussianModel()
        var viaRows = 0.0, viaStatistics = 0.0
        for rep in 0..<k {
            var rng = Philox4x32(seed: modelTestSeed, path: [41, UInt32(rep)])
            viaRows += try model.fit(fitted.sample(count: m, options: .plain, using: &rng), using: &rng).variance
            viaStatistics += try model.refit(fitted, samples: m, options: .plain, using: &rng).variance
        }
        let expected = Double(m - 1) / Double(m) * fitted.variance
        let se = (2.0 * Double(m - 1)).squareRoot() * fitted.variance / Double(m) / Double(k).squareRoot()
        for (name, total) in [("rows", viaRows), ("statistics", viaStatistics)] {
            let z = (total / Double(k) - expected) / se
            #expect(abs(z) < 5, "\(name): mean refit variance \(total / Double(k)) vs \(expected), z = \(z)")
        }
    }

    @Test func gaussianEdgeCasesMatchTheFullPath() throws {
        var rng = Philox4x32(seed: modelTestSeed, path: [42])
        // A point mass stays one (fitting M copies of the mean gives exactly this).
        let point = try GaussianModel().refit(FittedGaussian(mean: 3, variance: 0), samples: 50, options: .plain, using: &rng)
        #expect(point == FittedGaussian(mean: 3, variance: 0) && point.degeneracy == .zeroVariance)
        // One MLE row: variance exactly 0, mean still random.
        let one = try GaussianModel().refit(FittedGaussian(mean: 3, variance: 1), samples: 1, options: .plain, using: &rng)
        #expect(one.variance == 0 && one.mean != 3)
        #expect(throws: FitError.tooFewRows(needed: 2, got: 1)) {
            try GaussianModel(estimator: .unbiased).refit(FittedGaussian(mean: 0, variance: 1), samples: 1, options: .plain, using: &rng)
        }
        // A pure function of (fit, M, options, stream).
        var a = Philox4x32(seed: modelTestSeed, path: [43]), b = Philox4x32(seed: modelTestSeed, path: [43])
        let fit = FittedGaussian(mean: 0.5, variance: 2)
        #expect(try GaussianModel().refit(fit, samples: 30, options: .plain, using: &a)
                == GaussianModel().refit(fit, samples: 30, options: .plain, using: &b))
    }

    /// Near the resolution of doubles (spread within 2^26 ulps of the mean), and for degenerate mvn
    /// fits, the refit is the row-by-row fit itself: same stream, same bits. So a shortcut chain
    /// collapses to an exact point mass like a row-by-row one, instead of shrinking until underflow.
    @Test func nearTheResolutionOfDoublesTheRefitSamplesRows() throws {
        let model = GaussianModel()
        let threshold = sufficientStatisticsResolution * Double(1).ulp
        let tiny = FittedGaussian(mean: 1, variance: (0.5 * threshold) * (0.5 * threshold))
        var a = Philox4x32(seed: modelTestSeed, path: [48]), b = a
        let viaRefit = try model.refit(tiny, samples: 20, options: .plain, using: &a)
        let viaRows = try model.fit(tiny.sample(count: 20, options: .plain, using: &b), using: &b)
        #expect(viaRefit == viaRows && a == b)
        let wide = FittedGaussian(mean: 1, variance: (2 * threshold) * (2 * threshold))
        var c = Philox4x32(seed: modelTestSeed, path: [48]), e = c
        #expect(try model.refit(wide, samples: 20, options: .plain, using: &c)
                != model.fit(wide.sample(count: 20, options: .plain, using: &e), using: &e))
        // A chain of M = 2 MLE refits reaches an exact point mass, as rows do (about 2 nats of
        // log-variance lost per generation: 1e-16 relative spread within ~40 generations).
        var chain = FittedGaussian(mean: 1, variance: 1)
        var rng = Philox4x32(seed: modelTestSeed, path: [49])
        var generations = 0
        while chain.variance > 0 && generations < 400 {
            chain = try model.refit(chain, samples: 2, options: .plain, using: &rng)
            generations += 1
        }
        #expect(chain.variance == 0 && chain.degeneracy == .zeroVariance, "after \(generations) generations: \(chain)")

        let mvn = MultivariateGaussianModel()
        let singular = FittedMultivariateGaussian(mean: [1, 2, 3], covariance: Matrix([[1, 1, 0], [1, 1, 0], [0, 0, 2]]))
        #expect(singular.degeneracy == .singularCovariance)
        let narrow = FittedMultivariateGaussian(mean: [1e12, 0], covariance: Matrix([[1, 0], [0, 1]])) // 1 < 2^26 ulp(1e12) = 8192
        #expect(narrow.degeneracy == nil)
        for fit in [singular, narrow] {
            var f = Philox4x32(seed: modelTestSeed, path: [50]), g = f
            let viaRefit = try mvn.refit(fit, samples: 30, options: .plain, using: &f)
            let viaRows = try mvn.fit(fit.sample(count: 30, options: .plain, using: &g), using: &g)
            #expect(viaRefit == viaRows && f == g)
        }
    }

    /// E[Sigma_hat] = tau² (M-1)/(M - ddof) Sigma entrywise, with the Wishart variance
    /// tau⁴ (Sigma_ab² + Sigma_aa Sigma_bb)(M-1)/(M - ddof)² of one draw; E[mean] = mu with
    /// variance tau² Sigma_aa / M. M = 8 > d uses Bartlett's factor, M = 3 (n = 2 < d = 3) the
    /// singular Wishart.
    @Test(arguments: [(8, CovarianceEstimator.mle, 1.0), (8, .unbiased, 0.8), (3, .mle, 1.0)])
    func mvnRefitHasTheWishartMoments(m: Int, estimator: CovarianceEstimator, tau: Double) throws {
        let sigma = Matrix([[2, 0.6, 0], [0.6, 1, -0.3], [0, -0.3, 0.5]])
        let mu = [1.0, -1, 0]
        let fitted = FittedMultivariateGaussian(mean: mu, covariance: sigma)
        let model = MultivariateGaussianModel(estimator: estimator)
        let k = 8_000
        var covarianceTotal = Matrix(rows: 3, columns: 3)
        var meanTotal = [Double](repeating: 0, count: 3)
        for rep in 0..<k {
            var rng = Philox4x32(seed: modelTestSeed, path: [44, UInt32(m), UInt32(rep)])
            let refit = try model.refit(fitted, samples: m, options: SamplingOptions(temperature: tau), using: &rng)
            covarianceTotal.add(refit.covariance)
            for j in 0..<3 { meanTotal[j] += refit.mean[j] }
            #expect((refit.degeneracy == .singularCovariance) == (m - 1 < 3))
        }
        let t2 = tau * tau, scale = Double(m - 1) / Double(m - estimator.ddof)
        for a in 0..<3 {
            let meanZ = (meanTotal[a] / Double(k) - mu[a]) / (t2 * sigma[a, a] / Double(m) / Double(k)).squareRoot()
            #expect(abs(meanZ) < 5, "mean[\(a)]: z = \(meanZ)")
            for b in 0..<3 {
                let mean = covarianceTotal[a, b] / Double(k)
                let sdOne = t2 * ((sigma[a, b] * sigma[a, b] + sigma[a, a] * sigma[b, b]) * Double(m - 1)).squareRoot() / Double(m - estimator.ddof)
                let z = (mean - t2 * scale * sigma[a, b]) / (sdOne / Double(k).squareRoot())
                #expect(abs(z) < 5, "entry (\(a), \(b)): mean \(mean) vs \(t2 * scale * sigma[a, b]), z = \(z)")
            }
        }
    }

    /// tr(Sigma⁻¹ S) ~ chi²_{d(M-1)} for the scatter S = (M - ddof) Sigma_hat of M rows of
    /// N(mu, Sigma): checks the whole Bartlett factor (diagonal chi's and normals below it).
    @Test func mvnScatterTraceHasTheChiSquareLaw() throws {
        let sigma = Matrix([[2, 0.6, 0, 0.1], [0.6, 1, -0.3, 0], [0, -0.3, 0.5, 0.05], [0.1, 0, 0.05, 0.7]])
        let fitted = FittedMultivariateGaussian(mean: [0, 0, 0, 0], covariance: sigma)
        let precision = try Cholesky(sigma).inverse()
        let m = 12, d = 4, k = 10_000
        var statistics: [Double] = []
        for rep in 0..<k {
            var rng = Philox4x32(seed: modelTestSeed, path: [45, UInt32(rep)])
            let refit = try MultivariateGaussianModel().refit(fitted, samples: m, options: .plain, using: &rng)
            var trace = 0.0
            for a in 0..<d { for b in 0..<d { trace += precision[a, b] * refit.covariance[b, a] } }
            statistics.append(Double(m) * trace)
        }
        let dof = Double(d * (m - 1))
        let test = kolmogorovSmirnovTest(statistics) { SpecialFunctions.regularizedGammaP(dof / 2, max($0, 0) / 2) }
        #expect(test.pValue > 1e-4, "KS D = \(test.statistic), p = \(test.pValue)")
    }

    @Test func mvnEdgeCasesMatchTheFullPath() throws {
        var rng = Philox4x32(seed: modelTestSeed, path: [46])
        let point = FittedMultivariateGaussian(mean: [1, 2], covariance: Matrix(rows: 2, columns: 2))
        let refit = try MultivariateGaussianModel().refit(point, samples: 10, options: .plain, using: &rng)
        #expect(refit.mean == [1, 2] && refit.degeneracy == .zeroVariance)
        // Regularisation is added after the draw, as `fit` adds it after estimating.
        let regularised = try MultivariateGaussianModel(regularization: 0.25).refit(point, samples: 10, options: .plain, using: &rng)
        #expect(regularised.covariance == Matrix([[0.25, 0], [0, 0.25]]) && regularised.degeneracy == nil)
        #expect(throws: FitError.tooFewRows(needed: 2, got: 1)) {
            try MultivariateGaussianModel(estimator: .unbiased).refit(point, samples: 1, options: .plain, using: &rng)
        }
        let fit = FittedMultivariateGaussian(mean: [0, 0], covariance: Matrix([[1, 0.5], [0.5, 2]]))
        var a = Philox4x32(seed: modelTestSeed, path: [47]), b = Philox4x32(seed: modelTestSeed, path: [47])
        let first = try MultivariateGaussianModel().refit(fit, samples: 40, options: .plain, using: &a)
        #expect(first == (try MultivariateGaussianModel().refit(fit, samples: 40, options: .plain, using: &b)))
        #expect(first.covariance[0, 1] == first.covariance[1, 0])
    }
}

/// Pearson correlation of two equally long samples.
private func correlation(_ x: [Double], _ y: [Double]) -> Double {
    let n = Double(x.count)
    let mx = x.reduce(0, +) / n, my = y.reduce(0, +) / n
    var sxy = 0.0, sxx = 0.0, syy = 0.0
    for (a, b) in zip(x, y) {
        sxy += (a - mx) * (b - my)
        sxx += (a - mx) * (a - mx)
        syy += (b - my) * (b - my)
    }
    return sxy / (sxx * syy).squareRoot()
}

import CollapseCore
import CollapseModels
import Foundation
import Testing
@testable import CollapseMetrics
@testable import CollapseRunner

/// The seed of the statistical tests of the continuous metrics: `COLLAPSE_TEST_SEED`, else fixed.
let continuousTestSeed: UInt64 = {
    if let text = ProcessInfo.processInfo.environment["COLLAPSE_TEST_SEED"], let value = UInt64(text) { return value }
    return 20_261_129
}()

/// The group-A continuous metrics, in `collapse list` order.
let continuousMetrics: [any Metric] = [
    LogDetRatioMetric(), MinEigenvalueRatioMetric(), TailMassMetric(), SampleTailFractionMetric(), KurtosisMetric(),
    MeanShiftStdMetric(), MeanShiftSquaredMetric(), W2Metric(), KLRealModelMetric(), MMDMetric(),
    DistanceToClosestRecordMetric(), CopyRateMetric(),
]

/// The standard registry plus the continuous metrics (until they are registered in `standard`).
let continuousRegistry = MetricRegistry(metrics: MetricRegistry.standard.metrics.filter { m in
    !continuousMetrics.contains { $0.name == m.name }
} + continuousMetrics)

/// Prints a measured error when `COLLAPSE_PRINT_ACCURACY` is set.
func reportContinuousAccuracy(_ text: @autoclosure () -> String) {
    if ProcessInfo.processInfo.environment["COLLAPSE_PRINT_ACCURACY"] != nil { print("[accuracy] \(text())") }
}

/// A metric context for one generation, built by hand.
func continuousContext(fitted: any FittedModel, truth: RealTruth, dimension: Int, gaussianReality: Bool = true,
                       knownDistribution: Bool = true, samples: Matrix? = nil, holdout: Matrix? = nil,
                       realTraining: Matrix? = nil, replicate: Int = 0) -> MetricContext {
    let facts = ExperimentFacts(modelKind: dimension == 1 ? "gaussian" : "mvn", dataKind: .continuous, dimension: dimension, samples: 10,
                                generations: 1, regime: "replace", realFraction: 0, estimator: "mle", temperature: 1, truncation: nil,
                                knownDistribution: knownDistribution, gaussianReality: gaussianReality, hasLabels: false)
    let seed = continuousTestSeed
    return MetricContext(facts: facts, generation: 0, fitted: fitted, trainingData: Matrix(rows: 0, columns: dimension),
                         provenance: Provenance(rowsByOrigin: [-1: 10]), samples: samples,
                         holdout: holdout ?? Matrix(rows: 0, columns: dimension), truth: truth, realTraining: realTraining,
                         stream: { Philox4x32(seed: seed, id: StreamID(variant: 0, replicate: replicate, generation: 0, purpose: $0)) })
}

func continuousWorld(_ source: RealSource) throws -> ContinuousWorld { try ContinuousWorld(source) }

@Suite struct ContinuousMetricsTests {
    typealias Reference = ContinuousMetricsReferenceValues

    // MARK: covariance shape

    @Test func logdetRatioIsTheLogOfTheDeterminantRatioAndMinusInfinityWhenSingular() throws {
        let truth = RealTruth(mean: [0, 0], covariance: .identity(2))
        let fitted = FittedMultivariateGaussian(mean: [0, 0], covariance: Matrix([[2, 0], [0, 3]]))
        #expect(abs(LogDetRatioMetric().evaluate(continuousContext(fitted: fitted, truth: truth, dimension: 2)) - log(6)) < 1e-15)
        let singular = FittedMultivariateGaussian(mean: [0, 0], covariance: Matrix([[1, 1], [1, 1]]))
        #expect(LogDetRatioMetric().evaluate(continuousContext(fitted: singular, truth: truth, dimension: 2)) == -.infinity)
        let oneD = try continuousWorld(.gaussian(mean: 0, std: 1)).truth
        #expect(abs(LogDetRatioMetric().evaluate(continuousContext(fitted: FittedGaussian(mean: 0, variance: 4), truth: oneD, dimension: 1)) - log(4)) < 1e-15)
        #expect(LogDetRatioMetric().evaluate(continuousContext(fitted: FittedGaussian(mean: 0, variance: 0), truth: oneD, dimension: 1)) == -.infinity)
    }

    @Test func minEigenvalueRatioComparesTheThinnestDirections() {
        // Eigenvalues of [[2, 1], [1, 2]] are 1 and 3; reality's smallest is 0.5.
        let truth = RealTruth(mean: [0, 0], covariance: Matrix([[4, 0], [0, 0.5]]))
        let fitted = FittedMultivariateGaussian(mean: [0, 0], covariance: Matrix([[2, 1], [1, 2]]))
        #expect(abs(MinEigenvalueRatioMetric().evaluate(continuousContext(fitted: fitted, truth: truth, dimension: 2)) - 2) < 1e-14)
        #expect(MinEigenvalueRatioMetric().problem(with: continuousContext(fitted: fitted, truth: truth, dimension: 1).facts) != nil)
    }

    // MARK: tails

    @Test func tailMassOfRealityIsTwoPercentIn1D() throws {
        for source in [RealSource.gaussian(mean: 1, std: 2), .mvn(mean: [-3], covariance: Matrix([[0.25]]))] {
            let truth = try continuousWorld(source).truth
            let fitted = FittedGaussian(mean: truth.mean[0], variance: truth.covariance[0, 0])
            let mass = TailMassMetric().evaluate(continuousContext(fitted: fitted, truth: truth, dimension: 1))
            #expect(abs(mass - 0.02) < 1e-15, "\(source): \(mass)")
        }
    }

    @Test func tailMassOfRealityIsTwoPercentIn3D() throws {
        let cov = Matrix([[2, 0.5, 0], [0.5, 1, 0.2], [0, 0.2, 0.5]])
        let truth = try continuousWorld(.mvn(mean: [1, -1, 0.5], covariance: cov)).truth
        #expect(abs(truth.tailRadiusSquared! - Reference.chiSquare3At98) <= 1e-12 * Reference.chiSquare3At98)
        let fitted = FittedMultivariateGaussian(mean: truth.mean, covariance: cov)
        // Whitened reality is isotropic, so the exact (noncentral chi-square) path applies.
        let mass = TailMassMetric().evaluate(continuousContext(fitted: fitted, truth: truth, dimension: 3))
        #expect(abs(mass - 0.02) < 1e-12, "\(mass)")
    }

    @Test func tailMassOfAnAnisotropic3DModelMatchesImhofWithinFiveStandardErrors() throws {
        let truth = try continuousWorld(.mvn(mean: [1, -1, 0.5], covariance: Matrix([[2, 0.5, 0], [0.5, 1, 0.2], [0, 0.2, 0.5]]))).truth
        let fitted = FittedMultivariateGaussian(mean: [1.3, -1.2, 0.6], covariance: Matrix([[0.5, 0.1, 0], [0.1, 1.5, -0.1], [0, -0.1, 0.2]]))
        let p = Reference.tailMass3D
        // Conditional Monte Carlo over 20 000 draws: its variance is at most the plain binomial
        // p(1 - p)/20 000 (conditioning never adds variance), so 5 of those standard errors bound z < 5.
        let se = (p * (1 - p) / Double(tailMassDraws)).squareRoot()
        for replicate in 0..<3 {
            let mass = TailMassMetric().evaluate(continuousContext(fitted: fitted, truth: truth, dimension: 3, replicate: replicate))
            reportContinuousAccuracy("tail_mass 3-D vs Imhof: \(mass) vs \(p), z \((mass - p) / se) (binomial se bound)")
            #expect(abs(mass - p) < 5 * se, "replicate \(replicate): \(mass) vs Imhof \(p) (se \(se))")
        }
    }

    @Test func tailMassOfShiftedAndCollapsedGaussiansIn1D() throws {
        let truth = try continuousWorld(.gaussian(mean: 0, std: 1)).truth
        let metric = TailMassMetric()
        // N(1, 1): Phi(z01 - 1) + Phi(1 - z99) = 0.09280220825416782 (scipy.stats.norm.cdf).
        let shifted = metric.evaluate(continuousContext(fitted: FittedGaussian(mean: 1, variance: 1), truth: truth, dimension: 1))
        #expect(abs(shifted - 0.09280220825416782) < 1e-15)
        // A point mass inside the region has no tail; outside it, all of its mass is tail.
        #expect(metric.evaluate(continuousContext(fitted: FittedGaussian(mean: 0.5, variance: 0), truth: truth, dimension: 1)) == 0)
        #expect(metric.evaluate(continuousContext(fitted: FittedGaussian(mean: 3, variance: 0), truth: truth, dimension: 1)) == 1)
    }

    @Test func tailMassOfAKernelDensityIn1DMatchesScipy() throws {
        let truth = try continuousWorld(.gaussian(mean: 0.3, std: 1.2)).truth
        var rng = Philox4x32(seed: 1, id: StreamID(variant: 0, replicate: 0, generation: 0, purpose: .fit))
        let kde = try KernelDensityModel(bandwidth: .fixed(0.7)).fit(Matrix(column: [-2.0, -0.5, 0.1, 0.4, 2.6]), using: &rng)
        let mass = TailMassMetric().evaluate(continuousContext(fitted: kde, truth: truth, dimension: 1, gaussianReality: true))
        #expect(abs(mass - Reference.kdeTailMass1D) < 1e-15)
    }

    /// A class-conditional kde's tail mass is the class-weighted sum of its class densities'
    /// masses (1-D: each exact, so the sum agrees to rounding); it used to be nan.
    @Test func tailMassOfAClassConditionalKernelDensityIsTheWeightedSumOfItsClasses() throws {
        let truth = try continuousWorld(.gaussian(mean: 0.3, std: 1.2)).truth
        var rng = Philox4x32(seed: 1, id: StreamID(variant: 0, replicate: 0, generation: 0, purpose: .fit))
        let a = try KernelDensityModel(bandwidth: .fixed(0.7)).fit(Matrix(column: [-2.0, -0.5, 0.1, 0.4, 2.6]), using: &rng)
        let b = try KernelDensityModel(bandwidth: .fixed(0.3)).fit(Matrix(column: [1.9, 2.2, 3.1]), using: &rng)
        let classes = FittedClassConditional(priors: [0.75, 0.25], models: [a, b], dimension: 1)
        let metric = TailMassMetric()
        let mass = metric.evaluate(continuousContext(fitted: classes, truth: truth, dimension: 1))
        let expected = classes.weights[0] * metric.evaluate(continuousContext(fitted: a, truth: truth, dimension: 1))
            + classes.weights[1] * metric.evaluate(continuousContext(fitted: b, truth: truth, dimension: 1))
        #expect(mass.isFinite && abs(mass - expected) < 1e-15, "\(mass) vs \(expected)")
    }

    @Test func tailMassOfAKernelDensityIn2DAgreesWithItsGaussianEquivalent() throws {
        // A fixed-bandwidth kde on one row is N(row, h² I): both paths must agree within
        // Monte Carlo error (5 binomial standard errors of the sum of two independent estimates).
        let truth = try continuousWorld(.mvn(mean: [0, 0], covariance: Matrix([[1, 0.3], [0.3, 2]]))).truth
        var rng = Philox4x32(seed: 1, id: StreamID(variant: 0, replicate: 0, generation: 0, purpose: .fit))
        let kde = try KernelDensityModel(bandwidth: .fixed(0.8)).fit(Matrix([[1.5, -0.5]]), using: &rng)
        let normal = FittedMultivariateGaussian(mean: [1.5, -0.5], covariance: Matrix([[0.64, 0], [0, 0.64]]))
        let a = TailMassMetric().evaluate(continuousContext(fitted: kde, truth: truth, dimension: 2))
        let b = TailMassMetric().evaluate(continuousContext(fitted: normal, truth: truth, dimension: 2, replicate: 1))
        let se = (2 * a * (1 - a) / Double(tailMassDraws)).squareRoot()
        reportContinuousAccuracy("kde 2-D vs normal tail mass: \(a) vs \(b), z \((a - b) / se)")
        #expect(abs(a - b) < 5 * se, "\(a) vs \(b)")
    }

    @Test func studentTRealityHasExactCentralQuantiles() throws {
        let truth = try continuousWorld(.studentT(df: 3, loc: 1, scale: 2)).truth
        let t = StudentT(degreesOfFreedom: 3, location: 1, scale: 2)
        let q = try #require(truth.centralQuantiles)
        #expect(abs(t.cdf(q.low) - 0.01) < 1e-14 && abs(t.cdf(q.high) - 0.99) < 1e-14)
        // scipy.stats.t.ppf(0.99, 3) = 4.540702858568132 (mpmath agrees to all digits).
        #expect(abs((q.high - 1) / 2 - 4.540702858568132) < 1e-12)
    }

    @Test func mixtureRealityInTwoDimensionsGetsAnEmpiricalTailRadiusAndADensity() throws {
        // Two identical N(0, I) components: the mixture is N(0, I), so r² estimates
        // chi²_2(0.98) = -2 log 0.02. The 0.98 quantile of 200 000 radii has standard error
        // sqrt(0.98 · 0.02 / 200 000) / f(r²) with the chi²_2 density f(r²) = e^(-r²/2)/2 = 0.01.
        let truth = try continuousWorld(.gmm(weights: [0.5, 0.5], means: [[0, 0], [0, 0]], covariances: [.identity(2), .identity(2)])).truth
        let se = (0.98 * 0.02 / Double(TailRegion.referenceRows)).squareRoot() / 0.01
        let r2 = try #require(truth.tailRadiusSquared)
        #expect(abs(r2 - (-2 * log(0.02))) < 5 * se, "\(r2)")
        let rows = Matrix([[0, 0], [1, -2]])
        let normal = try MultivariateNormal(mean: [0, 0], covariance: .identity(2)).logDensities(rows)
        let density = try #require(truth.logDensity)
        let mixture = density(rows)
        for (a, b) in zip(mixture, normal) { #expect(abs(a - b) < 1e-14) }
    }

    @Test func sampleTailFractionCountsRowsOutsideTheRegion() throws {
        let oneD = try continuousWorld(.gaussian(mean: 0, std: 1)).truth
        let rows = Matrix(column: [-10, 0, 0.5, 10])
        #expect(SampleTailFractionMetric().evaluate(continuousContext(fitted: FittedGaussian(mean: 0, variance: 1), truth: oneD, dimension: 1, samples: rows)) == 0.5)
        // 2-D identity reality: r² = chi²_2(0.98) = -2 log 0.02 = 7.824; radii² 0, 9 and 7.29.
        let twoD = try continuousWorld(.mvn(mean: [0, 0], covariance: .identity(2))).truth
        #expect(abs(twoD.tailRadiusSquared! - (-2 * log(0.02))) < 1e-12)
        let points = Matrix([[0, 0], [3, 0], [0, 2.7]])
        let fraction = SampleTailFractionMetric().evaluate(continuousContext(fitted: FittedMultivariateGaussian(mean: [0, 0], covariance: .identity(2)),
                                                                            truth: twoD, dimension: 2, samples: points))
        #expect(fraction == 1.0 / 3.0)
        #expect(SampleTailFractionMetric().evaluate(continuousContext(fitted: FittedGaussian(mean: 0, variance: 1), truth: oneD, dimension: 1)).isNaN)
    }

    @Test func kurtosisMatchesScipyAndIsNaNForConstantSamples() throws {
        let truth = try continuousWorld(.gaussian(mean: 0, std: 1)).truth
        let fitted = FittedGaussian(mean: 0, variance: 1)
        let sample = Matrix(column: [0.3, -1.2, 2.5, 0.0, 0.7, -0.4, 4.1, -2.2, 0.9, 1.1])
        let k = KurtosisMetric().evaluate(continuousContext(fitted: fitted, truth: truth, dimension: 1, samples: sample))
        #expect(abs(k - Reference.kurtosisSample) < 1e-14)
        #expect(KurtosisMetric().evaluate(continuousContext(fitted: fitted, truth: truth, dimension: 1, samples: Matrix(column: [2, 2, 2]))).isNaN)
    }

    // MARK: bias

    @Test func meanShiftInRealStandardDeviationsAndSquared() {
        let truth = RealTruth(mean: [0, 0], covariance: Matrix([[4, 0], [0, 1]]))
        let fitted = FittedMultivariateGaussian(mean: [2, 1], covariance: .identity(2))
        let c = continuousContext(fitted: fitted, truth: truth, dimension: 2)
        // (2/2)² + (1/1)² = 2; |(2, 1)|² = 5.
        #expect(abs(MeanShiftStdMetric().evaluate(c) - 2.0.squareRoot()) < 1e-15)
        #expect(MeanShiftSquaredMetric().evaluate(c) == 5)
    }

    // MARK: distances

    @Test func w2BetweenGaussiansMatchesScipySqrtmAndTheOneDimensionalFormula() throws {
        let truth = RealTruth(mean: [0, 0.5], covariance: Matrix([[1, -0.2], [-0.2, 1.5]]))
        let fitted = FittedMultivariateGaussian(mean: [1, -0.5], covariance: Matrix([[2, 0.3], [0.3, 0.5]]))
        let w2 = W2Metric().evaluate(continuousContext(fitted: fitted, truth: truth, dimension: 2))
        #expect(abs(w2 - Reference.w2Gaussians2D) < 1e-12)
        // 1-D: W2² = (1 - 0)² + (2 - 1)² = 2.
        let oneD = try continuousWorld(.gaussian(mean: 0, std: 1)).truth
        #expect(abs(W2Metric().evaluate(continuousContext(fitted: FittedGaussian(mean: 1, variance: 4), truth: oneD, dimension: 1)) - 2.0.squareRoot()) < 1e-15)
        #expect(W2Metric().evaluate(continuousContext(fitted: FittedGaussian(mean: 0, variance: 1), truth: oneD, dimension: 1)) == 0)
        // Reality against itself in 3-D: 0 up to the documented cancellation sqrt(10 d ε (tr S1 + tr S2)).
        let cov = Matrix([[2, 0.5, 0], [0.5, 1, 0.2], [0, 0.2, 0.5]])
        let self3 = W2Metric().evaluate(continuousContext(fitted: FittedMultivariateGaussian(mean: [1, 2, 3], covariance: cov),
                                                          truth: RealTruth(mean: [1, 2, 3], covariance: cov), dimension: 3))
        #expect(self3 <= (30 * Double.ulpOfOne * 2 * cov.trace).squareRoot())
    }

    @Test func w2BetweenEmpiricalSamplesOfDifferentSizesIsTheExactQuantileCoupling() {
        // x = {0, 1}, y = {0, 1, 2}: on (1/3, 1/2] the pair is (0, 1), on (2/3, 1] it is (1, 2):
        // W2² = 1/6 + 1/3 = 1/2.
        #expect(abs(empiricalW2Squared([1, 0], [2, 0, 1]) - 0.5) < 1e-16)
        #expect(empiricalW2Squared([3, 1, 2], [2, 3, 1]) == 0)
        let truth = RealTruth(mean: [0], covariance: Matrix([[1]]))
        let c = continuousContext(fitted: FittedGaussian(mean: 0, variance: 1), truth: truth, dimension: 1, gaussianReality: false,
                                  knownDistribution: false, samples: Matrix(column: [0, 1]), holdout: Matrix(column: [0, 1, 2]))
        #expect(abs(W2Metric().evaluate(c) - 0.5.squareRoot()) < 1e-15)
    }

    @Test func slicedW2OfAShiftedSampleEstimatesHalfTheSquaredShiftIn2D() {
        // Samples = holdout + (1, 0): each direction's exact 1-D W2² is cos²(angle); its mean over
        // uniform directions is 1/2 with sd sqrt(1/8), so 128 directions give se = sqrt(1/8/128).
        var rng = Philox4x32(seed: continuousTestSeed, id: StreamID(variant: 0, replicate: 0, generation: 0, purpose: .holdout))
        let holdout = Matrix(rows: 300, columns: 2) { StandardNormal.fill($0, using: &rng) }
        var shifted = holdout
        for i in 0..<300 { shifted[i, 0] += 1 }
        let truth = RealTruth(mean: [0, 0], covariance: .identity(2))
        let c = continuousContext(fitted: FittedMultivariateGaussian(mean: [0, 0], covariance: .identity(2)), truth: truth, dimension: 2,
                                  gaussianReality: false, knownDistribution: false, samples: shifted, holdout: holdout)
        let sw2 = W2Metric().evaluate(c)
        let se = (1.0 / 8 / Double(slicedDirectionCount)).squareRoot()
        reportContinuousAccuracy("sliced w2²: \(sw2 * sw2) vs 0.5, z \((sw2 * sw2 - 0.5) / se)")
        #expect(abs(sw2 * sw2 - 0.5) < 5 * se, "\(sw2 * sw2)")
        let same = continuousContext(fitted: FittedMultivariateGaussian(mean: [0, 0], covariance: .identity(2)), truth: truth, dimension: 2,
                                     gaussianReality: false, knownDistribution: false, samples: holdout, holdout: holdout)
        #expect(W2Metric().evaluate(same) == 0)
    }

    @Test func klClosedFormMatchesQuadratureIn1D() throws {
        let truth = try continuousWorld(.gaussian(mean: 0, std: 1)).truth
        let kl = KLRealModelMetric().evaluate(continuousContext(fitted: FittedGaussian(mean: 0.5, variance: 2.25), truth: truth, dimension: 1))
        #expect(abs(kl - Reference.klNormalNormal) < 1e-14)
        #expect(KLRealModelMetric().evaluate(continuousContext(fitted: FittedGaussian(mean: 0, variance: 0), truth: truth, dimension: 1)) == .infinity)
        // Multivariate closed form equals the sum of independent 1-D terms for diagonal covariances.
        let mvnTruth = try continuousWorld(.mvn(mean: [0, 0], covariance: Matrix([[1, 0], [0, 4]]))).truth
        let fitted = FittedMultivariateGaussian(mean: [0.5, 0], covariance: Matrix([[2.25, 0], [0, 1]]))
        let klMVN = KLRealModelMetric().evaluate(continuousContext(fitted: fitted, truth: mvnTruth, dimension: 2))
        let second = 0.5 * (4.0 / 1.0 - 1 + log(1.0 / 4.0))
        #expect(abs(klMVN - (Reference.klNormalNormal + second)) < 1e-14)
    }

    @Test func klMonteCarloOnAStudentTHoldoutMatchesQuadratureWithinFiveStandardErrors() throws {
        let w = try continuousWorld(.studentT(df: 5, loc: 0, scale: 1))
        let reality = w.chainReality(variant: 0, replicate: 0, seed: continuousTestSeed, samples: 10, holdout: 20_000)
        let fitted = FittedGaussian(mean: 0.2, variance: 1.69)
        let c = continuousContext(fitted: fitted, truth: w.truth, dimension: 1, gaussianReality: false, holdout: reality.holdout)
        let kl = KLRealModelMetric().evaluate(c)
        // se = sd of the per-row log ratio / sqrt(rows).
        let ratios = zip(w.truth.logDensity!(reality.holdout), fitted.logDensities(reality.holdout)).map { $0 - $1 }
        let se = Descriptive.standardDeviation(ratios, ddof: 1) / Double(ratios.count).squareRoot()
        reportContinuousAccuracy("kl MC student-t: \(kl) vs \(Reference.klStudentNormal), z \((kl - Reference.klStudentNormal) / se)")
        #expect(abs(kl - Reference.klStudentNormal) < 5 * se, "\(kl) vs \(Reference.klStudentNormal) (se \(se))")
        // A dataset's density is unknown.
        let dataset = RealTruth(mean: [0], covariance: Matrix([[1]]))
        #expect(KLRealModelMetric().evaluate(continuousContext(fitted: fitted, truth: dataset, dimension: 1, gaussianReality: false,
                                                               knownDistribution: false, holdout: reality.holdout)).isNaN)
    }

    @Test func mmdMatchesTheNumpyUStatistic() {
        let x = Matrix([[0.0, 0.0], [1.0, 0.5], [-0.5, 2.0], [0.3, -1.2], [2.0, 1.0]])
        let y = Matrix([[0.1, 0.2], [1.5, -0.5], [-1.0, 1.0], [0.7, 0.9], [-0.3, -0.8], [2.5, 2.0]])
        let truth = RealTruth(mean: [0, 0], covariance: .identity(2))
        let c = continuousContext(fitted: FittedMultivariateGaussian(mean: [0, 0], covariance: .identity(2)), truth: truth, dimension: 2,
                                  samples: x, holdout: y)
        #expect(abs(MMDMetric().evaluate(c) - Reference.mmdTinySample) < 1e-14)
    }

    @Test func mmdOfTwoSamplesOfOneDistributionIsNearZeroAndOfDistantOnesPositive() {
        // Unbiased: E = 0 under equal distributions; a unit shift in 1-D is far beyond its noise.
        var rng = Philox4x32(seed: continuousTestSeed, id: StreamID(variant: 0, replicate: 0, generation: 0, purpose: .holdout))
        let a = Matrix(rows: 1500, columns: 1) { StandardNormal.fill($0, using: &rng) }
        let b = Matrix(rows: 1500, columns: 1) { StandardNormal.fill($0, using: &rng) }
        var shifted = b
        for i in 0..<1500 { shifted[i, 0] += 1 }
        let truth = RealTruth(mean: [0], covariance: Matrix([[1]]))
        let same = MMDMetric().evaluate(continuousContext(fitted: FittedGaussian(mean: 0, variance: 1), truth: truth, dimension: 1, samples: a, holdout: b))
        let far = MMDMetric().evaluate(continuousContext(fitted: FittedGaussian(mean: 0, variance: 1), truth: truth, dimension: 1, samples: shifted, holdout: a))
        #expect(abs(same) < 0.01 && far > 0.1, "\(same), \(far)")
    }

    // MARK: memorisation

    @Test func distanceToClosestRecordAndCopyRateOnHandComputedPoints() {
        // Real rows (0,0), (1,0), (0,2), (3,3): leave-one-out NN distances 1, 1, 2, sqrt(10); median 1.5.
        // Samples (0.5,0) -> 0.5, (0,2) -> 0 (a copy), (10,10) -> 7 sqrt(2): median 0.5, dcr = 1/3.
        for offset in [0.0, 1e6] {
            let real = Matrix([[0, 0], [1, 0], [0, 2], [3, 3]].map { $0.map { $0 + offset } })
            let samples = Matrix([[0.5, 0], [0, 2], [10, 10]].map { $0.map { $0 + offset } })
            let truth = RealTruth(mean: [0, 0], covariance: .identity(2))
            let c = continuousContext(fitted: FittedMultivariateGaussian(mean: [0, 0], covariance: .identity(2)), truth: truth, dimension: 2,
                                      samples: samples, realTraining: real)
            #expect(abs(DistanceToClosestRecordMetric().evaluate(c) - 1.0 / 3.0) < 1e-9, "offset \(offset)")
            #expect(CopyRateMetric().evaluate(c) == 1.0 / 3.0, "offset \(offset)")
        }
        let noReal = continuousContext(fitted: FittedGaussian(mean: 0, variance: 1), truth: RealTruth(mean: [0], covariance: Matrix([[1]])),
                                       dimension: 1, samples: Matrix(column: [1]))
        #expect(DistanceToClosestRecordMetric().evaluate(noReal).isNaN)
    }

    @Test func nearestNeighbourSearchThroughBLASEqualsBruteForce() {
        var rng = Philox4x32(seed: continuousTestSeed, id: StreamID(variant: 0, replicate: 0, generation: 0, purpose: .holdout))
        let q = Matrix(rows: 300, columns: 3) { StandardNormal.fill($0, using: &rng) }
        let r = Matrix(rows: 280, columns: 3) { StandardNormal.fill($0, using: &rng) }
        let fast = nearestNeighbourDistances(q, r, excludeSelf: false)
        for i in 0..<300 {
            var best = Double.infinity
            for j in 0..<280 {
                var s = 0.0
                for k in 0..<3 { s += (q[i, k] - r[j, k]) * (q[i, k] - r[j, k]) }
                best = min(best, s)
            }
            #expect(fast[i] == best.squareRoot())
        }
    }

    @Test func metricNamesAreUniqueAndEveryMetricDocumentsItself() {
        let registry = continuousRegistry
        #expect(registry.names.count == Set(registry.names).count)
        for m in continuousMetrics {
            #expect(!m.summary.isEmpty && !m.unit.isEmpty)
        }
    }
}

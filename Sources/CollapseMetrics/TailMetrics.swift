import CollapseCore
import CollapseModels
import Foundation

// Tails: how much mass the model (and its samples) still put outside reality's central 98 %
// (docs/metrics/continuous.md).

/// The feature rows of continuous data: a `Matrix` itself, or a class-conditional
/// `LabelledData`'s features (labels dropped); nil for other data.
func featureRows(_ data: Any?) -> Matrix? {
    if let m = data as? Matrix { return m }
    if let l = data as? LabelledData { return l.features }
    return nil
}

/// The generation's synthetic rows as a matrix, if there are any.
func sampleMatrix(_ context: MetricContext) -> Matrix? {
    guard let m = featureRows(context.samples), m.rows > 0 else { return nil }
    return m
}

/// `tail_mass`: the probability the fitted model puts outside reality's central 98 % region
/// (1-D: below the real 1 % or above the real 99 % quantile; d > 1: outside the real 98 %
/// Mahalanobis ellipsoid). Reality itself scores 0.02; a collapsing model falls towards 0.
///
/// gaussian: exact (normal CDFs). mvn (d > 1): exact for isotropic whitened covariances (reality
/// itself, point masses), otherwise conditional Monte Carlo with `tailMassDraws` draws from
/// stream 101. Mixtures (`GaussianComponents`): weighted sum of component masses. kde: mean over
/// training rows of the kernel's mass (1-D exact; d > 1 the same Monte Carlo, draws spread over
/// the rows); class-conditional kde: the class-weighted sum of those. nan for other models or
/// when reality's region is unknown.
public struct TailMassMetric: ModelOnlyMetric {
    public init() {}
    public let name = "tail_mass"
    public let summary = "probability the model puts outside reality's central 98% region (reality = 0.02)"
    public let unit = "probability"
    public let direction = MetricDirection.towardReality
    public func problem(with facts: ExperimentFacts) -> String? { continuousOnly(facts) }
    public func evaluate(_ context: MetricContext) -> Double {
        let d = context.facts.dimension
        guard let region = RealRegion(context.truth, dimension: d) else { return .nan }
        var rng = context.stream(for: .tailMassDraws)
        func kernelMass(_ kde: FittedKernelDensity) -> Double {
            let n = kde.trainingRows.rows
            guard n > 0 else { return .nan }
            let perRow = max(1, (tailMassDraws + n - 1) / n)
            return gaussianMassOutside(means: kde.trainingRows, weights: [Double](repeating: 1 / Double(n), count: n),
                                       covariance: kde.kernelCovariance, region: region, drawsPerComponent: perRow, rng: &rng)
        }
        if let kde = context.fitted as? FittedKernelDensity { return kernelMass(kde) }
        // Class-conditional kde: the class-weighted sum of the class densities' masses.
        if let classes = context.fitted as? FittedClassConditional<FittedKernelDensity> {
            var total = 0.0
            for (w, model) in zip(classes.weights, classes.models) where w > 0 {
                guard let model else { continue }
                total += w * kernelMass(model)
            }
            return min(1, total)
        }
        guard let mixture = context.fitted as? GaussianComponents else { return .nan }
        var total = 0.0
        for c in mixture.gaussianComponents where c.weight > 0 {
            total += gaussianMassOutside(means: Matrix([c.mean]), weights: [c.weight], covariance: c.covariance, region: region,
                                         drawsPerComponent: tailMassDraws, rng: &rng)
        }
        return min(1, total)
    }
}

/// `sample_tail_fraction`: the share of the generation's synthetic rows outside reality's central
/// 98 % region (the empirical counterpart of `tail_mass`; reality's expectation 0.02).
///
/// nan when the generation has no synthetic rows or reality's region is unknown.
public struct SampleTailFractionMetric: Metric {
    public init() {}
    public let name = "sample_tail_fraction"
    public let summary = "share of the generation's synthetic rows outside reality's central 98% region (reality = 0.02)"
    public let unit = "fraction"
    public let direction = MetricDirection.towardReality
    public func problem(with facts: ExperimentFacts) -> String? { continuousOnly(facts) }
    public func evaluate(_ context: MetricContext) -> Double {
        guard let rows = sampleMatrix(context), let region = RealRegion(context.truth, dimension: rows.columns) else { return .nan }
        return region.outsideFraction(of: rows)
    }
}

/// `kurtosis`: excess kurtosis `m4 / m2² - 3` of the generation's synthetic rows (1-D), with
/// biased central moments (`scipy.stats.kurtosis(x, fisher=True, bias=True)`). 0 for a normal
/// population; heavy tails are positive, thinned tails negative.
///
/// nan when the samples have zero variance or there are none.
public struct KurtosisMetric: Metric {
    public init() {}
    public let name = "kurtosis"
    public let summary = "excess kurtosis of the generation's synthetic samples (1-D; normal = 0)"
    public let unit = "dimensionless"
    public let direction = MetricDirection.towardReality
    public func problem(with facts: ExperimentFacts) -> String? {
        if let p = continuousOnly(facts) { return p }
        return facts.dimension == 1 ? nil : "is 1-D only"
    }
    public func evaluate(_ context: MetricContext) -> Double {
        guard let rows = sampleMatrix(context), rows.columns == 1 else { return .nan }
        return Descriptive.excessKurtosis(rows.storage)
    }
}

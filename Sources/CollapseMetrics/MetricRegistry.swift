import CollapseCore
import CollapseModels
import Foundation

/// Every metric the toolkit knows, in `collapse list` order. Configs select metrics by name.
public struct MetricRegistry: Sendable {
    public let metrics: [any Metric]

    public init(metrics: [any Metric]) {
        var seen = Set<String>()
        for m in metrics { precondition(seen.insert(m.name).inserted, "duplicate metric name \(m.name)") }
        self.metrics = metrics
    }

    public static let standard = MetricRegistry(metrics: [
        VarianceMetric(),
        TraceRatioMetric(),
        LogDetRatioMetric(),
        MinEigenvalueRatioMetric(),
        TailMassMetric(),
        SampleTailFractionMetric(),
        KurtosisMetric(),
        MeanShiftMetric(),
        MeanShiftStdMetric(),
        MeanShiftSquaredMetric(),
        W2Metric(),
        KLRealModelMetric(),
        MMDMetric(),
        NLLRealMetric(),
        RealFractionTrainMetric(),
        SyntheticDepthMetric(),
        DistanceToClosestRecordMetric(),
        CopyRateMetric(),
        SupportSizeMetric(),
        TailTokenMassMetric(),
        TotalVariationMetric(),
        OOVRateRealMetric(),
        EntropyMetric(),
        GiniSimpsonMetric(),
        DifferentialEntropyMetric(),
        ParameterErrorMetric(),
        TestMSERealMetric(),
        ExcessRiskMetric(),
        MinorityShareMetric(),
        AccuracyRealMetric(),
        WorstGroupAccuracyRealMetric(),
    ])

    /// Metrics left out of the default selection because they cost O(n²) per generation.
    public static let notByDefault: Set<String> = ["mmd", "dcr", "copy_rate"]

    public var names: [String] { metrics.map(\.name) }

    public func metric(named name: String) -> (any Metric)? { metrics.first { $0.name == name } }

    /// The default selection: every metric that applies, except the O(n²) ones (`notByDefault`).
    public func defaults(for facts: ExperimentFacts) -> [String] {
        metrics.filter { $0.problem(with: facts) == nil && !Self.notByDefault.contains($0.name) }.map(\.name)
    }
}

// MARK: - Shared helpers

func moments(_ context: MetricContext) -> (mean: [Double], covariance: Matrix)? {
    // The Gaussian families by concrete casts first: those compare type metadata, while a cast
    // to the protocol searches the conformance cache on every call (8 % of a 1-D study's CPU).
    if let g = context.fitted as? FittedGaussian { return (g.momentMean, g.momentCovariance) }
    if let g = context.fitted as? FittedMultivariateGaussian { return (g.momentMean, g.momentCovariance) }
    guard let m = context.fitted as? ModelMoments else { return nil }
    return (m.momentMean, m.momentCovariance)
}

func continuousOnly(_ facts: ExperimentFacts) -> String? {
    facts.dataKind == .continuous ? nil : "needs a continuous model (gaussian, mvn, gmm, kde)"
}

/// Theory of E[Sigma_g] / Sigma_0 for Gaussian families refitted by the MLE or unbiased
/// estimator (docs/THEORY.md). Generation g's model is fit number g + 1. nil where no closed form.
func covarianceShrinkage(_ facts: ExperimentFacts, generation g: Int) -> Double? {
    guard facts.gaussianReality, facts.knownDistribution, facts.truncation == nil, facts.regularization == 0,
          ["gaussian", "mvn"].contains(facts.modelKind), let estimator = facts.estimator else { return nil }
    let m = Double(facts.samples)
    let r = estimator == "mle" ? (m - 1) / m : 1.0
    let tau2 = facts.temperature * facts.temperature
    // `mix` with round(real_fraction M) = 0 composes exactly the training sets of `replace`.
    let regime = facts.regime == "mix" && (facts.realFraction * m).rounded() == 0 ? "replace" : facts.regime
    switch regime {
    case "replace":
        return Foundation.pow(r, Double(g + 1)) * Foundation.pow(tau2, Double(g))
    case "accumulate" where estimator == "mle" && facts.temperature == 1:
        // Fit k pools k M rows; E[Sigma_k] = Sigma_0 prod_{j=1..k} (1 - 1/(M j²)).
        var product = 1.0
        for j in 1...(g + 1) { product *= 1 - 1 / (m * Double(j) * Double(j)) }
        return product
    case "fresh" where estimator == "mle" && facts.temperature == 1:
        // V_{t+1} = c V_t + 1/M, V_1 = 1/M, c = (1-a)(1-a-1/M); E tr Sigma_t / tr0 = 1 - V_t (fit t = generation t-1).
        let a = (facts.realFraction * m).rounded() / m
        let c = (1 - a) * (1 - a - 1 / m)
        var v = 1 / m
        if g >= 1 { for _ in 1...g { v = c * v + 1 / m } }
        return 1 - v
    default:
        return nil
    }
}

// MARK: - Tail variance

/// `variance`: the fitted 1-D model's variance (for mixtures and kernel densities, the variance of
/// the whole distribution).
public struct VarianceMetric: ModelOnlyMetric {
    public init() {}
    public let name = "variance"
    public let summary = "variance of the fitted 1-D model (mixture/kde: of the whole distribution)"
    public let unit = "data units squared"
    public let direction = MetricDirection.towardReality
    public func problem(with facts: ExperimentFacts) -> String? {
        if let p = continuousOnly(facts) { return p }
        return facts.dimension == 1 ? nil : "is 1-D only (use trace_ratio for d > 1)"
    }
    public func evaluate(_ context: MetricContext) -> Double {
        guard let m = moments(context) else { return .nan }
        return m.covariance[0, 0]
    }
    public func theory(_ facts: ExperimentFacts, generation: Int) -> Double? {
        guard let s = covarianceShrinkage(facts, generation: generation), let v0 = facts.realTrace else { return nil }
        return s * v0
    }
}

/// `trace_ratio`: tr(Sigma_g) / tr(Sigma_real).
public struct TraceRatioMetric: ModelOnlyMetric {
    public init() {}
    public let name = "trace_ratio"
    public let summary = "trace of the fitted covariance over the trace of the real covariance (reality = 1)"
    public let unit = "ratio"
    public let direction = MetricDirection.towardReality
    public func problem(with facts: ExperimentFacts) -> String? { continuousOnly(facts) }
    public func evaluate(_ context: MetricContext) -> Double {
        guard let m = moments(context) else { return .nan }
        return m.covariance.trace / context.truth.covariance.trace
    }
    public func theory(_ facts: ExperimentFacts, generation: Int) -> Double? { covarianceShrinkage(facts, generation: generation) }
}

// MARK: - Bias

/// `mean_shift`: Euclidean distance between the fitted model's mean and the real mean.
public struct MeanShiftMetric: ModelOnlyMetric {
    public init() {}
    public let name = "mean_shift"
    public let summary = "Euclidean distance between the fitted mean and the real mean"
    public let unit = "data units"
    public let direction = MetricDirection.higherIsWorse
    public func problem(with facts: ExperimentFacts) -> String? { continuousOnly(facts) }
    public func evaluate(_ context: MetricContext) -> Double {
        guard let m = moments(context) else { return .nan }
        var s = 0.0
        for (a, b) in zip(m.mean, context.truth.mean) { s += (a - b) * (a - b) }
        return s.squareRoot()
    }
}

// MARK: - External validity

/// `nll_real`: mean negative log-likelihood of the real holdout under the generation's model:
/// per row for continuous models, per token for categorical (+inf when a holdout token has
/// probability 0), the conditional -log N(y | x·w + b, s²) for regression, and the marginal
/// feature density for class-conditional models.
public struct NLLRealMetric: ModelOnlyMetric {
    public init() {}
    public let name = "nll_real"
    public let summary = "mean negative log-likelihood of real holdout rows (tokens; regression: y given x) under the model"
    public let unit = "nats per row"
    public let direction = MetricDirection.higherIsWorse
    public func problem(with facts: ExperimentFacts) -> String? { nil }
    public func evaluate(_ context: MetricContext) -> Double {
        if let model = context.fitted as? FittedCategorical, let tokens = context.holdout as? TokenCounts {
            return tokens.total == 0 ? .nan : -model.meanLogProbability(of: tokens)
        }
        if let value = Self.gaussianShortcut(context) { return value }
        let logs = logDensities(context.fitted, context.holdout)
        guard let logs, !logs.isEmpty else { return .nan }
        var s = 0.0
        for l in logs { s -= l }
        return s / Double(logs.count)
    }
}

/// Calls `logDensities` on an existential fitted model whose data type is that of `rows`.
func logDensities(_ fitted: any FittedModel, _ rows: Any) -> [Double]? {
    func open<F: FittedModel>(_ f: F) -> [Double]? {
        guard let data = rows as? F.Data else { return nil }
        return f.logDensities(data)
    }
    return open(fitted)
}

extension NLLRealMetric {
    /// The mean Gaussian NLL from the holdout's mean hbar and covariance S (divisor n), computed
    /// once per chain: (1/n) sum_i -log N(x_i; mu, Sigma) =
    /// [d log 2pi + log det Sigma + tr(Sigma⁻¹ S) + (hbar - mu)ᵀ Sigma⁻¹ (hbar - mu)] / 2 —
    /// an identity, so it equals the row-by-row mean up to rounding (tested), at O(d³) per
    /// generation instead of O(n d²). Regular gaussian/mvn fits only; nil otherwise.
    static func gaussianShortcut(_ context: MetricContext) -> Double? {
        guard context.holdout is Matrix, let moments = context.cache.holdoutMoments(context.holdout) else { return nil }
        if let g = context.fitted as? FittedGaussian, g.variance > 0 {
            let diff = moments.mean[0] - g.mean
            return 0.5 * (Foundation.log(2 * Double.pi * g.variance) + (moments.covariance[0, 0] + diff * diff) / g.variance)
        }
        if let g = context.fitted as? FittedMultivariateGaussian, g.degeneracy == nil {
            let d = g.dimension
            let chol = Cholesky(uncheckedLower: g.samplingFactor)
            let diff = (0..<d).map { moments.mean[$0] - g.mean[$0] }
            let solved = chol.solve(diff)
            var quadratic = 0.0
            for j in 0..<d { quadratic += diff[j] * solved[j] }
            let trace = chol.solve(moments.covariance).trace
            return 0.5 * (Double(d) * Foundation.log(2 * Double.pi) + chol.logDeterminant + trace + quadratic)
        }
        return nil
    }
}

// MARK: - Provenance

/// `real_fraction_train`: share of the generation's training rows that are real.
public struct RealFractionTrainMetric: ModelOnlyMetric {
    public init() {}
    public let name = "real_fraction_train"
    public let summary = "share of the generation's training rows that are real data"
    public let unit = "fraction"
    public let direction = MetricDirection.lowerIsWorse
    public func problem(with facts: ExperimentFacts) -> String? { nil }
    public func evaluate(_ context: MetricContext) -> Double {
        let total = context.provenance.total
        return total == 0 ? .nan : Double(context.provenance.realRows) / Double(total)
    }
}

/// `synthetic_depth`: mean number of model generations between a training row and real data
/// (real rows 0; a row sampled from the model fitted at generation k has depth k + 1).
public struct SyntheticDepthMetric: ModelOnlyMetric {
    public init() {}
    public let name = "synthetic_depth"
    public let summary = "mean number of model generations between a training row and real data"
    public let unit = "generations"
    public let direction = MetricDirection.higherIsWorse
    public func problem(with facts: ExperimentFacts) -> String? { nil }
    public func evaluate(_ context: MetricContext) -> Double {
        var rows = 0, depth = 0
        for (origin, count) in context.provenance.rowsByOrigin {
            rows += count
            depth += count * (origin + 1)
        }
        return rows == 0 ? .nan : Double(depth) / Double(rows)
    }
}

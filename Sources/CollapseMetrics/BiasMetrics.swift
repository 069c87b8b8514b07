import CollapseCore
import CollapseModels
import Foundation

// Drift of the fitted mean (docs/metrics/continuous.md; theory: docs/THEORY.md).

/// `mean_shift_std`: Mahalanobis distance `sqrt((mu_g - mu)ᵀ Sigma_real⁻¹ (mu_g - mu))` between
/// the fitted mean and the real mean, in real standard deviations (1-D: |mu_g - mu| / sigma).
///
/// nan when reality's covariance is not positive definite or not finite (Student-t with df <= 2)
/// or its mean is undefined (df <= 1).
public struct MeanShiftStdMetric: ModelOnlyMetric {
    public init() {}
    public let name = "mean_shift_std"
    public let summary = "Mahalanobis distance between the fitted mean and the real mean under the real covariance"
    public let unit = "real standard deviations"
    public let direction = MetricDirection.higherIsWorse
    public func problem(with facts: ExperimentFacts) -> String? { continuousOnly(facts) }
    public func evaluate(_ context: MetricContext) -> Double {
        guard let m = moments(context), m.mean.count == context.truth.mean.count,
              let factor = try? Cholesky(context.truth.covariance) else { return .nan }
        let r2 = squaredRadii(Matrix([m.mean]), mean: context.truth.mean, factor: factor)[0]
        return r2.squareRoot()
    }
}

/// `mean_shift_sq`: `||mu_g - mu_real||²`, the squared Euclidean drift of the fitted mean.
/// Its expectation has closed forms for Gaussian chains (`theory`).
public struct MeanShiftSquaredMetric: ModelOnlyMetric {
    public init() {}
    public let name = "mean_shift_sq"
    public let summary = "squared Euclidean distance between the fitted mean and the real mean"
    public let unit = "data units squared"
    public let direction = MetricDirection.higherIsWorse
    public func problem(with facts: ExperimentFacts) -> String? { continuousOnly(facts) }
    public func evaluate(_ context: MetricContext) -> Double {
        guard let m = moments(context), m.mean.count == context.truth.mean.count else { return .nan }
        var s = 0.0
        for (a, b) in zip(m.mean, context.truth.mean) { s += (a - b) * (a - b) }
        return s
    }
    public func theory(_ facts: ExperimentFacts, generation: Int) -> Double? {
        meanShiftSquaredTheory(facts, generation: generation)
    }
}

/// `E ||mu_g - mu_0||²` for Gaussian chains (docs/THEORY.md), nil where no closed form is known.
///
/// With D_t the expectation after fit t (generation t - 1) and s_t = E tr Sigma_t:
/// * replace (either estimator, any temperature tau): the mean of M draws from
///   N(mu_t, tau² Sigma_t) moves by a centred step of expected squared length tau² tr Sigma_t / M,
///   so D_1 = tr0 / M and D_{t+1} = D_t + tau² s_t / M
///   (MLE, tau = 1: tr0 (1 - r^(g+1)); unbiased, tau = 1: (g + 1) tr0 / M).
/// * accumulate and fresh (pooled MLE, tau = 1): the expected second moment about mu_0,
///   E[tr Sigma_t + ||mu_t - mu_0||²], equals tr0 at every fit (each training row has it, and the
///   MLE fit preserves the rows' mean second moment about any point), so D_t = tr0 - s_t.
func meanShiftSquaredTheory(_ facts: ExperimentFacts, generation g: Int) -> Double? {
    guard let tr0 = facts.realTrace, covarianceShrinkage(facts, generation: g) != nil else { return nil }
    let m = Double(facts.samples)
    switch facts.regime {
    case "replace":
        let tau2 = facts.temperature * facts.temperature
        var d = tr0 / m
        if g >= 1 {
            for t in 1...g {
                guard let s = covarianceShrinkage(facts, generation: t - 1) else { return nil }
                d += tau2 * s * tr0 / m
            }
        }
        return d
    case "accumulate", "fresh":
        guard facts.estimator == "mle", facts.temperature == 1, let s = covarianceShrinkage(facts, generation: g) else { return nil }
        return tr0 * (1 - s)
    default:
        return nil
    }
}

import CollapseCore
import CollapseModels
import Foundation

// Metrics of linear-regression models (FittedLinearRegression, RegressionData) against the real
// data process y = x·w* + e, x ~ N(0, I_d), e ~ N(0, s²). Definitions: docs/metrics/discrete.md;
// theory (Gerstgrasser et al. 2024): docs/metrics/discrete-theory.md. No random numbers drawn.

private func regressionOnly(_ facts: ExperimentFacts, knownProcess: Bool) -> String? {
    guard facts.dataKind == .regression else { return "needs a linear-regression model" }
    if knownProcess && !facts.knownDistribution {
        return "needs real.distribution linear-regression (a dataset's true coefficients and noise are unknown)"
    }
    return nil
}

/// `param_error`: ||w_hat - w*||², the squared Euclidean distance between the fitted and the true
/// coefficients (the intercept is excluded: the real process has none).
public struct ParameterErrorMetric: ModelOnlyMetric {
    public init() {}
    public let name = "param_error"
    public let summary = "squared distance between fitted and true regression coefficients (intercept excluded)"
    public let unit = "coefficient units squared"
    public let direction = MetricDirection.higherIsWorse
    public func problem(with facts: ExperimentFacts) -> String? { regressionOnly(facts, knownProcess: true) }
    public func evaluate(_ context: MetricContext) -> Double {
        guard let model = context.fitted as? FittedLinearRegression, let w = context.truth.coefficients,
              w.count == model.coefficients.count else { return .nan }
        var s = 0.0
        for (a, b) in zip(model.coefficients, w) { s += (a - b) * (a - b) }
        return s
    }
    /// s² c_d sum_j kappa_j (replace) or s² c_d (1 + kappa sum_{i=2}^{g+1} 1/i²) (accumulate);
    /// see `RegressionTheory`.
    public func theory(_ facts: ExperimentFacts, generation: Int) -> Double? {
        RegressionTheory(facts)?.errors(generation)?.coefficients
    }
}

/// `test_mse_real`: mean squared prediction error (y - x·w_hat - b_hat)² over the real holdout.
public struct TestMSERealMetric: ModelOnlyMetric {
    public init() {}
    public let name = "test_mse_real"
    public let summary = "mean squared prediction error of the model on the real holdout"
    public let unit = "target units squared"
    public let direction = MetricDirection.higherIsWorse
    public func problem(with facts: ExperimentFacts) -> String? { regressionOnly(facts, knownProcess: false) }
    public func evaluate(_ context: MetricContext) -> Double {
        guard let model = context.fitted as? FittedLinearRegression, let holdout = context.holdout as? RegressionData,
              holdout.count > 0, holdout.dimension == model.dimension else { return .nan }
        let predicted = model.predict(holdout.design)
        var s = 0.0
        for (y, f) in zip(holdout.targets, predicted) { s += (y - f) * (y - f) }
        return s / Double(holdout.count)
    }
    /// s² + E||w_hat - w*||² + E b_hat² (holdout rows x ~ N(0, I) independent of the model).
    public func theory(_ facts: ExperimentFacts, generation: Int) -> Double? {
        guard let t = RegressionTheory(facts), let e = t.errors(generation) else { return nil }
        return t.noiseVariance + e.coefficients + e.intercept
    }
}

/// `excess_risk`: test_mse_real - s², the holdout error above the irreducible noise.
public struct ExcessRiskMetric: ModelOnlyMetric {
    public init() {}
    public let name = "excess_risk"
    public let summary = "holdout mean squared error minus the real noise variance"
    public let unit = "target units squared"
    public let direction = MetricDirection.higherIsWorse
    public func problem(with facts: ExperimentFacts) -> String? { regressionOnly(facts, knownProcess: true) }
    public func evaluate(_ context: MetricContext) -> Double {
        guard let s = context.truth.noiseStd else { return .nan }
        return TestMSERealMetric().evaluate(context) - s * s
    }
    public func theory(_ facts: ExperimentFacts, generation: Int) -> Double? {
        guard let e = RegressionTheory(facts)?.errors(generation) else { return nil }
        return e.coefficients + e.intercept
    }
}

/// Expected squared coefficient and intercept errors of refitted least squares (Gerstgrasser et
/// al. 2024, generalised; derivation in docs/metrics/discrete-theory.md).
///
/// Each generation's labels are y = Z theta_hat + e with e of variance kappa s² (known noise) or
/// kappa s_hat² (estimated), kappa = tau² for temperature tau (times the truncated-normal variance
/// factor under truncation). With c_d = E tr (XᵀX)⁻¹ = d / (T - d - 1) (no intercept) or the
/// coefficient block d / (T - d - 2) and intercept entry (T - 2) / (T (T - d - 2)) of E (ZᵀZ)⁻¹
/// (intercept), for T rows with N(0, 1) entries:
/// - replace (fixed or fresh design, known or estimated noise): s² c sum_{j=0}^{g} kappa_j, with
///   kappa_0 = 1 and kappa_j = kappa (known noise) or kappa^j (estimated noise);
/// - accumulate (fixed design, known noise): s² c (1 + kappa sum_{i=2}^{g+1} 1/i²).
/// Expectations are over the chains (each with its own real design).
private struct RegressionTheory {
    let noiseVariance: Double
    let coefficientFactor: Double
    let interceptFactor: Double
    let kappa: Double
    let facts: ExperimentFacts

    init?(_ facts: ExperimentFacts) {
        guard facts.dataKind == .regression, facts.knownDistribution, let s2 = facts.realNoiseVariance,
              facts.temperature > 0 else { return nil }
        let t = Double(facts.samples), d = Double(facts.dimension)
        if facts.intercept {
            guard t > d + 2 else { return nil }
            coefficientFactor = d / (t - d - 2)
            interceptFactor = (t - 2) / (t * (t - d - 2))
        } else {
            guard t > d + 1 else { return nil }
            coefficientFactor = d / (t - d - 1)
            interceptFactor = 0
        }
        noiseVariance = s2
        let tau = facts.temperature
        if let c = facts.truncation {
            // Var of N(0, tau²) cut to [-c, c], in units of sigma²: tau² (1 - 2 a phi(a) / (2 Phi(a) - 1)), a = c / tau.
            let a = c / tau
            let inside = 1 - 2 * SpecialFunctions.normalSurvival(a)
            guard inside > 0 else { return nil }
            kappa = tau * tau * (1 - 2 * a * Foundation.exp(SpecialFunctions.normalLogDensity(a)) / inside)
        } else {
            kappa = tau * tau
        }
        self.facts = facts
    }

    /// (E||w_hat_g - w*||², E b_hat_g²), or nil where no closed form is derived.
    func errors(_ g: Int) -> (coefficients: Double, intercept: Double)? {
        guard g >= 0 else { return nil }
        var total = 1.0
        switch facts.regime {
        case "replace":
            var term = 1.0
            if g >= 1 {
                for _ in 1...g {
                    term = facts.knownNoise ? kappa : term * kappa
                    total += term
                }
            }
        case "accumulate" where facts.knownNoise && facts.fixedDesign:
            if g >= 1 { for i in 2...(g + 1) { total += kappa / Double(i * i) } }
        default:
            if g != 0 { return nil }
        }
        return (noiseVariance * coefficientFactor * total, noiseVariance * interceptFactor * total)
    }
}

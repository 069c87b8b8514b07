import CollapseCore
import CollapseModels
import Foundation

/// `differential_entropy`: the differential entropy of a fitted Gaussian model,
/// h = (1/2) log det(2 pi e Sigma) = (d/2) log(2 pi e) + (1/2) log det Sigma, in nats.
///
/// Kept apart from `entropy` (Shannon entropy of categorical models): a differential entropy can be
/// negative, changes with the data's unit, and is -inf for a singular covariance (a collapsed
/// model has no density), so one column should not mix the two.
public struct DifferentialEntropyMetric: ModelOnlyMetric {
    public init() {}
    public let name = "differential_entropy"
    public let summary = "differential entropy (1/2) log det(2 pi e Sigma) of a gaussian/mvn model (reality: of the real Gaussian)"
    public let unit = "nats"
    public let direction = MetricDirection.towardReality
    public func problem(with facts: ExperimentFacts) -> String? {
        guard ["gaussian", "mvn"].contains(facts.modelKind), !facts.hasLabels else {
            return "is defined in closed form for gaussian and mvn models only (not class-conditional)"
        }
        return nil
    }
    /// -inf when Sigma is singular (an eigenvalue <= 0, e.g. zero variance or M <= d).
    public func evaluate(_ context: MetricContext) -> Double {
        guard context.fitted is FittedGaussian || context.fitted is FittedMultivariateGaussian,
              let m = moments(context) else { return .nan }
        let d = Double(m.covariance.rows)
        let logDet: Double
        if m.covariance.rows == 1 {
            let v = m.covariance[0, 0]
            logDet = v > 0 ? Foundation.log(v) : -.infinity
        } else if let eigen = try? SymmetricEigen(m.covariance, computeVectors: false) {
            logDet = eigen.values.allSatisfy { $0 > 0 } ? eigen.values.reduce(0) { $0 + Foundation.log($1) } : -.infinity
        } else {
            return .nan
        }
        return 0.5 * d * Foundation.log(2 * Double.pi * M_E) + 0.5 * logDet
    }
    /// Generation 0 (any regime) and replace: with Sigma_hat = W / n, W ~ Wishart_d(M - 1, Sigma),
    /// n = M (mle) or M - 1 (unbiased), E log det Sigma_hat = log det Sigma + c,
    /// c = sum_{i=1}^{d} psi((M - i) / 2) + d log(2 / n); each refit adds c, temperature tau adds
    /// d log tau per sampled generation: E h_g = h_real + (g + 1) c / 2 + g d log tau.
    public func theory(_ facts: ExperimentFacts, generation g: Int) -> Double? {
        guard problem(with: facts) == nil, facts.gaussianReality, facts.knownDistribution, facts.truncation == nil,
              facts.regularization == 0, let estimator = facts.estimator, let logDet = facts.realLogDeterminant,
              g == 0 || facts.regime == "replace", facts.samples - 1 >= facts.dimension, facts.temperature > 0 else { return nil }
        let d = facts.dimension, m = facts.samples
        let n = Double(estimator == "mle" ? m : m - 1)
        var c = Double(d) * Foundation.log(2 / n)
        for i in 1...d { c += SpecialFunctions.digamma(Double(m - i) / 2) }
        let real = 0.5 * Double(d) * Foundation.log(2 * Double.pi * M_E) + 0.5 * logDet
        return real + 0.5 * Double(g + 1) * c + Double(g * d) * Foundation.log(facts.temperature)
    }
}

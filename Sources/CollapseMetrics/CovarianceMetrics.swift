import CollapseCore
import CollapseModels
import Foundation

// Shape of the fitted covariance against reality's (docs/metrics/continuous.md).

/// Eigenvalues of a symmetric matrix, or nil for non-finite entries.
func symmetricEigenvalues(_ a: Matrix) -> [Double]? {
    try? SymmetricEigen(a, computeVectors: false).values
}

/// `log det` of a covariance from its eigenvalues: -inf when it is singular, i.e. its smallest
/// eigenvalue is <= d ε times its largest (the singularity rule of the mvn family), nil for
/// non-finite entries.
func logDeterminant(_ covariance: Matrix) -> Double? {
    guard let values = symmetricEigenvalues(covariance) else { return nil }
    let d = values.count
    guard let largest = values.last else { return 0 }
    if largest <= 0 || values[0] <= Double(d) * Double.ulpOfOne * largest { return -.infinity }
    return values.reduce(0) { $0 + Foundation.log($1) }
}

/// `logdet_ratio`: `log det Sigma_g - log det Sigma_real`, the log of the fitted model's
/// generalized-variance ratio to reality (0 = same volume).
///
/// -inf when the fitted covariance is singular; nan when reality's covariance is singular or not
/// finite (a dataset with collinear columns, Student-t with df <= 2) or the model has no moments.
public struct LogDetRatioMetric: ModelOnlyMetric {
    public init() {}
    public let name = "logdet_ratio"
    public let summary = "log det of the fitted covariance minus log det of the real covariance (reality = 0)"
    public let unit = "nats (log volume ratio)"
    public let direction = MetricDirection.towardReality
    public func problem(with facts: ExperimentFacts) -> String? { continuousOnly(facts) }
    public func evaluate(_ context: MetricContext) -> Double {
        guard let m = moments(context), let model = logDeterminant(m.covariance),
              let real = logDeterminant(context.truth.covariance), real.isFinite else { return .nan }
        return model - real
    }
}

/// `min_eig_ratio`: smallest eigenvalue of Sigma_g over the smallest eigenvalue of Sigma_real
/// (d > 1): how far the thinnest direction of the model has collapsed (reality = 1).
///
/// Negative round-off eigenvalues of a singular fit count as 0. nan when reality's smallest
/// eigenvalue is not positive or a covariance is not finite.
public struct MinEigenvalueRatioMetric: ModelOnlyMetric {
    public init() {}
    public let name = "min_eig_ratio"
    public let summary = "smallest eigenvalue of the fitted covariance over the smallest real eigenvalue (reality = 1)"
    public let unit = "ratio"
    public let direction = MetricDirection.towardReality
    public func problem(with facts: ExperimentFacts) -> String? {
        if let p = continuousOnly(facts) { return p }
        return facts.dimension > 1 ? nil : "is for d > 1 (use variance in 1-D)"
    }
    public func evaluate(_ context: MetricContext) -> Double {
        guard let m = moments(context), let model = symmetricEigenvalues(m.covariance)?.first,
              let real = symmetricEigenvalues(context.truth.covariance)?.first, real > 0 else { return .nan }
        return max(model, 0) / real
    }
}

import CollapseCore
import Foundation

/// How a Gaussian family estimates its (co)variance.
public enum CovarianceEstimator: String, Sendable, Codable, Equatable, CaseIterable {
    /// Maximum likelihood: divide the centred sum of squares by M. Biased low by the factor
    /// (M-1)/M — the estimator whose repeated refitting collapses the variance to zero.
    case mle
    /// Divide by M - 1: unbiased for the variance, yet the refit loop still collapses almost surely.
    case unbiased

    var ddof: Int { self == .mle ? 0 : 1 }
}

/// `gaussian`: the 1-D normal N(mu, sigma²), fitted by sample mean and MLE or unbiased variance.
///
/// Data are n × 1 matrices. With the MLE, one refit on M rows from N(mu, sigma²) has
/// E[sigma_hat²] = (M-1)/M sigma²; the recursion multiplies these factors (Shumailov et al. 2024).
public struct GaussianModel: GenerativeModel {
    public var estimator: CovarianceEstimator

    public init(estimator: CovarianceEstimator = .mle) {
        self.estimator = estimator
    }

    public func validate() throws(ModelSettingsError) {}

    public func fit<R: RandomStream>(_ data: Matrix, using rng: inout R) throws(FitError) -> FittedGaussian {
        guard data.columns == 1 else { throw .dimensionMismatch(expected: 1, got: data.columns) }
        let needed = estimator.ddof + 1
        guard data.rows >= needed else { throw .tooFewRows(needed: needed, got: data.rows) }
        let (mean, variance) = Descriptive.meanAndVariance(data.storage, ddof: estimator.ddof)
        // A NaN or infinite row makes the mean non-finite, so a finite mean proves the data finite
        // and saves a pass over them.
        guard mean.isFinite || data.isFinite else { throw .nonFiniteData }
        guard mean.isFinite && variance.isFinite else { throw .nonFiniteFit }
        return FittedGaussian(mean: mean, variance: variance)
    }
}

/// A fitted 1-D normal. `variance == 0` is the collapsed limit: a point mass at `mean`.
public struct FittedGaussian: FittedModel, Equatable {
    public let mean: Double
    public let variance: Double

    public init(mean: Double, variance: Double) {
        precondition(mean.isFinite && variance.isFinite && variance >= 0,
                     "FittedGaussian needs a finite mean and a finite non-negative variance, got mean \(mean), variance \(variance)")
        self.mean = mean
        self.variance = variance
    }

    public var standardDeviation: Double { variance.squareRoot() }
    public var degeneracy: Degeneracy? { variance == 0 ? .zeroVariance : nil }

    /// Rows from N(mean, tau² variance); with `truncation` c, restricted to
    /// [mean - c sigma, mean + c sigma] (exact truncated-normal sampling, no rejection loop).
    public func sample<R: RandomStream>(count: Int, options: SamplingOptions, using rng: inout R) -> Matrix {
        precondition(count >= 0, "sample count must be non-negative, got \(count)")
        var out = Matrix(rows: count, columns: 1)
        let sd = standardDeviation * options.temperature
        if count == 0 { return out }
        if sd == 0 {
            out.storage.withUnsafeMutableBufferPointer { $0.update(repeating: mean) }
            return out
        }
        out.storage.withUnsafeMutableBufferPointer { buffer in
            if let c = options.truncation {
                let half = c * standardDeviation
                TruncatedNormal(mean: mean, standardDeviation: sd, lower: mean - half, upper: mean + half).fill(buffer, using: &rng)
            } else {
                StandardNormal.fill(buffer, using: &rng)
                for i in buffer.indices { buffer[i] = mean + sd * buffer[i] }
            }
        }
        return out
    }

    /// `log phi((x - mu)/sigma) - log sigma`; for the point mass: +inf at the mean, -inf elsewhere.
    public func logDensities(_ data: Matrix) -> [Double] {
        precondition(data.columns == 1, "FittedGaussian.logDensities needs one column, got \(data.columns)")
        if variance == 0 { return data.storage.map { $0 == mean ? .infinity : -.infinity } }
        let sd = standardDeviation, logSd = Foundation.log(sd)
        return data.storage.map { SpecialFunctions.normalLogDensity(($0 - mean) / sd) - logSd }
    }
}

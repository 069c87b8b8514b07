import CollapseCore
import Foundation

/// A family whose refit on M of its own samples can be drawn without the samples: the fitted
/// parameters are a function of sufficient statistics whose exact sampling distribution is known.
///
/// `refit(fitted, samples: M, options:, using:)` has exactly the distribution of
/// `fit(fitted.sample(count: M, options: options, using: &rng))` (no truncation), at O(1) cost in
/// M instead of O(M).
///
/// Floating point: the laws above are those of exact arithmetic. Sampled rows are rounded to
/// doubles, which matters once the spread is within a few ulps of the mean: rows then round to
/// the mean itself and the row-by-row chain ends in an exact point mass (`zeroVariance`), which the
/// statistics alone would never reach. So where the fitted spread (times the temperature) is
/// below `sufficientStatisticsResolution` ulps of the mean in some coordinate — and, for mvn,
/// whenever the fit is degenerate, whose null directions the rows fill with rounding noise — the
/// refit samples the M rows and fits them, exactly as the row-by-row path does. The values differ from that composition (other random numbers are drawn);
/// only the distribution is the same. This is the runner's opt-in `sampling.shortcut:
/// sufficient-statistics` (docs/CONFIG.md): usable only where nothing reads the sampled rows.
public protocol SufficientStatisticsRefit: GenerativeModel {
    /// A draw of the fit to `samples` rows sampled from `fitted` with `options`.
    ///
    /// - Precondition: `options.truncation == nil` (a truncated sample's statistics have no such
    ///   closed form).
    /// - Throws: the `FitError` that fitting `samples` rows would throw (too few rows; a
    ///   non-finite draw, as a sample with overflowing rows would be).
    func refit<R: RandomStream>(_ fitted: Fitted, samples: Int, options: SamplingOptions, using rng: inout R) throws(FitError) -> Fitted
}

/// Spreads below this many ulps of the mean are refitted from sampled rows (see the protocol):
/// at 2^26 ulps the rounding of the rows changes a fitted variance by a relative 2^-52 / 12 at
/// most, far below its sampling error, so the closed form is exact to double precision above it.
public let sufficientStatisticsResolution = 0x1p26

/// The checks both refits share: no truncation (a precondition: callers validate it) and as
/// many rows as `fit` needs.
private func checkRefit(samples m: Int, options: SamplingOptions, estimator: CovarianceEstimator) throws(FitError) {
    precondition(options.truncation == nil, "refit: truncated sampling has no sufficient-statistics shortcut")
    let needed = estimator.ddof + 1
    guard m >= needed else { throw .tooFewRows(needed: needed, got: m) }
}

extension GaussianModel: SufficientStatisticsRefit {
    /// M rows from N(mu, tau² sigma²) have mean `x̄ ~ N(mu, tau² sigma² / M)` and centred sum of
    /// squares `S ~ tau² sigma² chi²_{M-1}`, independent (Cochran); the refit is
    /// `(x̄, S / (M - ddof))`. Draws one standard normal, then one chi-square (none when M = 1:
    /// S = 0). A zero variance stays a point mass at mu, as the full path gives; a spread within
    /// `sufficientStatisticsResolution` ulps of the mean is refitted from sampled rows.
    public func refit<R: RandomStream>(_ fitted: FittedGaussian, samples m: Int, options: SamplingOptions,
                                       using rng: inout R) throws(FitError) -> FittedGaussian {
        try checkRefit(samples: m, options: options, estimator: estimator)
        let sd = fitted.standardDeviation * options.temperature
        if sd == 0 { return FittedGaussian(mean: fitted.mean, variance: 0) }
        if sd < sufficientStatisticsResolution * fitted.mean.ulp {
            return try fit(fitted.sample(count: m, options: options, using: &rng), using: &rng)
        }
        let z = StandardNormal.next(using: &rng)
        let chi = m > 1 ? ChiSquared(degreesOfFreedom: Double(m - 1)).sample(using: &rng) : 0
        let mean = fitted.mean + sd * z / Double(m).squareRoot()
        let variance = sd * sd * chi / Double(m - estimator.ddof)
        guard mean.isFinite && variance.isFinite else { throw .nonFiniteFit }
        return FittedGaussian(mean: mean, variance: variance)
    }
}

extension MultivariateGaussianModel: SufficientStatisticsRefit {
    /// M rows `mu + tau F z` (F the fit's sampling factor, F Fᵀ = Sigma) have mean
    /// `x̄ ~ N(mu, tau² Sigma / M)` and scatter `S = sum (x_i - x̄)(x_i - x̄)ᵀ ~ W_d(M - 1, tau² Sigma)`,
    /// independent. The Wishart draw is `S = tau² (F A)(F A)ᵀ` with A d × d lower triangular by
    /// Bartlett's decomposition when n = M - 1 >= d (`A_ii = sqrt(chi²_{n-i})`, i = 0 ..< d, and
    /// `A_ij ~ N(0, 1)` below the diagonal), else A a d × n matrix of standard normals (the
    /// singular Wishart). The refit is `(x̄, S / (M - ddof) + regularization I)`, flagged rank
    /// deficient exactly when fitting M rows would be. Random numbers, in order: d normals for
    /// the mean, then A row by row (each row's normals, then its chi-square). A degenerate fit, or
    /// one whose spread is within `sufficientStatisticsResolution` ulps of its mean, is refitted
    /// from sampled rows (see the protocol).
    /// - Complexity: O(d³) (two d × d products), independent of M.
    public func refit<R: RandomStream>(_ fitted: FittedMultivariateGaussian, samples m: Int, options: SamplingOptions,
                                       using rng: inout R) throws(FitError) -> FittedMultivariateGaussian {
        try checkRefit(samples: m, options: options, estimator: estimator)
        let d = fitted.dimension
        guard d >= 1 else { throw .dimensionMismatch(expected: 1, got: 0) }
        let tau = options.temperature
        let nearResolution = (0..<d).contains { j in
            tau * fitted.covariance[j, j].squareRoot() < sufficientStatisticsResolution * fitted.mean[j].ulp
        }
        if fitted.degeneracy != nil || nearResolution {
            return try fit(fitted.sample(count: m, options: options, using: &rng), using: &rng)
        }
        let factor = fitted.samplingFactor
        let z = StandardNormal.sample(count: d, using: &rng)
        let shift = factor.multiplied(by: z, alpha: tau / Double(m).squareRoot())
        let mean = zip(fitted.mean, shift).map { $0 + $1 }
        let n = m - 1
        let k = min(n, d)
        // A is d × k, row-major; rows of the Bartlett factor have i normals then a chi.
        var a = Matrix(rows: d, columns: k)
        if n >= d {
            for i in 0..<d {
                for j in 0..<i { a[i, j] = StandardNormal.next(using: &rng) }
                a[i, i] = ChiSquared(degreesOfFreedom: Double(n - i)).sample(using: &rng).squareRoot()
            }
        } else if k > 0 {
            a.storage.withUnsafeMutableBufferPointer { StandardNormal.fill($0, using: &rng) }
        }
        var covariance: Matrix
        if k == 0 {
            covariance = Matrix(rows: d, columns: d)
        } else {
            // (F A)ᵀ is k × d; its Gram matrix is (F A)(F A)ᵀ, exactly symmetric.
            let transposedProduct = Matrix.product(a, .transpose, factor, .transpose)
            covariance = transposedProduct.gram(alpha: tau * tau / Double(m - estimator.ddof))
        }
        guard mean.allSatisfy(\.isFinite) && covariance.isFinite else { throw .nonFiniteFit }
        if regularization > 0 {
            for j in 0..<d { covariance[j, j] += regularization }
        }
        let rankDeficient = regularization == 0 && m - 1 < d
        return FittedMultivariateGaussian(mean: mean, covariance: covariance, rankDeficient: rankDeficient)
    }
}

import CollapseCore
import CollapseModels

/// A fitted model whose distribution has a mean vector and a covariance matrix that metrics can
/// read (for a mixture or a kernel density: the overall moments of the distribution).
public protocol ModelMoments {
    var momentMean: [Double] { get }
    var momentCovariance: Matrix { get }
}

extension FittedGaussian: ModelMoments {
    public var momentMean: [Double] { [mean] }
    public var momentCovariance: Matrix { Matrix(rows: 1, columns: 1, storage: [variance]) }
}

extension FittedMultivariateGaussian: ModelMoments {
    public var momentMean: [Double] { mean }
    public var momentCovariance: Matrix { covariance }
}

extension FittedKernelDensity: ModelMoments {
    public var momentMean: [Double] { mean }
    public var momentCovariance: Matrix { covariance }
}

extension FittedGaussianMixture: ModelMoments {
    public var momentMean: [Double] { mixtureMean }
    public var momentCovariance: Matrix { mixtureCovariance }
}

extension FittedClassConditional: ModelMoments where Model: ModelMoments {
    /// The marginal (over classes) mean: sum_c w_c mu_c, with `weights` (priors renormalised over
    /// the classes that have a model).
    public var momentMean: [Double] {
        var mu = [Double](repeating: 0, count: dimension)
        for (w, model) in zip(weights, models) {
            guard let model, w > 0 else { continue }
            for (j, m) in model.momentMean.enumerated() { mu[j] += w * m }
        }
        return mu
    }

    /// The marginal covariance: sum_c w_c (Sigma_c + (mu_c - mu)(mu_c - mu)ᵀ).
    public var momentCovariance: Matrix {
        let mu = momentMean, d = dimension
        var cov = Matrix(rows: d, columns: d)
        for (w, model) in zip(weights, models) {
            guard let model, w > 0 else { continue }
            let m = model.momentMean, s = model.momentCovariance
            for a in 0..<d {
                for b in 0..<d { cov[a, b] += w * (s[a, b] + (m[a] - mu[a]) * (m[b] - mu[b])) }
            }
        }
        return cov
    }
}

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
    public var momentCovariance: Matrix { Matrix([[variance]]) }
}

extension FittedMultivariateGaussian: ModelMoments {
    public var momentMean: [Double] { mean }
    public var momentCovariance: Matrix { covariance }
}

extension FittedKernelDensity: ModelMoments {
    public var momentMean: [Double] { mean }
    public var momentCovariance: Matrix { covariance }
}

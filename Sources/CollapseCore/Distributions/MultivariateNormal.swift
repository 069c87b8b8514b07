import Foundation

/// The d-dimensional normal distribution N(mu, Sigma), sampled through the Cholesky factor of Sigma.
///
/// Sampling draws an m × d matrix Z of independent standard normals (ziggurat) and returns
/// `X = 1 muᵀ + Z Lᵀ` with `Sigma = L Lᵀ` (one BLAS dtrmm): each row is mu + L z ~ N(mu, Sigma).
/// The random numbers are consumed row by row, so the first k rows of a sample of m > k rows equal
/// a sample of k rows from the same stream.
public struct MultivariateNormal: Sendable, Equatable {
    public let mean: [Double]
    /// The Cholesky factor of the covariance.
    public let factor: Cholesky

    /// - Throws: `LinearAlgebraError` when the covariance is not positive definite or holds NaN/inf.
    /// - Precondition: `mean.count` equals the covariance's order.
    public init(mean: [Double], covariance: Matrix) throws(LinearAlgebraError) {
        precondition(covariance.isSquare && covariance.rows == mean.count,
                     "MultivariateNormal: mean has \(mean.count) entries, covariance is \(covariance.shapeDescription)")
        self.mean = mean
        self.factor = try Cholesky(covariance)
    }

    /// From a precomputed factor (no refactorisation).
    public init(mean: [Double], factor: Cholesky) {
        precondition(factor.order == mean.count, "MultivariateNormal: mean has \(mean.count) entries, factor has order \(factor.order)")
        self.mean = mean
        self.factor = factor
    }

    public var dimension: Int { mean.count }

    /// `count` independent rows from N(mu, Sigma).
    /// - Complexity: count · d normals plus count · d² flops.
    public func sample<R: RandomStream>(count: Int, using rng: inout R) -> Matrix {
        precondition(count >= 0, "sample count must be non-negative, got \(count)")
        if count == 0 || dimension == 0 { return Matrix(rows: count, columns: dimension) }
        var x = Matrix(rows: count, columns: dimension) { StandardNormal.fill($0, using: &rng) }
        factor.colourRows(&x)
        x.addRowVector(mean)
        return x
    }

    /// Log-density of each row: `-(d log(2 pi) + log det Sigma + |L⁻¹(x - mu)|²) / 2`.
    ///
    /// Rows far from the mean give large negative values, never NaN (an overflow to -inf is the
    /// honest answer for a row beyond ~1e154 Mahalanobis units).
    public func logDensities(_ x: Matrix) -> [Double] {
        precondition(x.columns == dimension, "logDensities: distribution has dimension \(dimension), rows have \(x.columns) columns")
        let d = dimension
        var centred = x
        centred.storage.withUnsafeMutableBufferPointer { p in
            for i in 0..<x.rows { for j in 0..<d { p[i * d + j] -= mean[j] } }
        }
        factor.whitenRows(&centred)
        let constant = -0.5 * (Double(d) * Foundation.log(2 * Double.pi) + factor.logDeterminant)
        return centred.storage.withUnsafeBufferPointer { p in
            (0..<x.rows).map { i in
                var q = 0.0
                for j in 0..<d { q += p[i * d + j] * p[i * d + j] }
                return constant - 0.5 * q
            }
        }
    }
}

import CollapseCore
import CollapseMetrics
import CollapseModels
import Foundation

/// Reality for one chain: its generation-0 real training set, its real holdout, and where fresh
/// real rows come from.
public struct ChainReality<Data: TrainingData> {
    public var training: Data
    public var holdout: Data
    /// `count` new real rows for generation `generation` (the `fresh` regime).
    public var fresh: (_ count: Int, _ generation: Int) -> Data
}

/// Reality for one variant: reality's parameters and, per chain, its real data.
public protocol RealWorld: Sendable {
    associatedtype Data: TrainingData
    var truth: RealTruth { get }
    func chainReality(variant: Int, replicate: Int, seed: UInt64, samples: Int, holdout: Int) -> ChainReality<Data>
}

/// A continuous real source: a known distribution or a dataset's feature rows.
public struct ContinuousWorld: RealWorld {
    enum Source: Sendable {
        case distribution(@Sendable (Int, inout Philox4x32) -> Matrix)
        case dataset(Matrix)
    }

    let source: Source
    public let truth: RealTruth

    public init(_ real: RealSource) throws(RunError) {
        switch real {
        case let .gaussian(mean, std):
            let normal = Normal(mean: mean, standardDeviation: std)
            source = .distribution { count, rng in
                Matrix(rows: count, columns: 1) { normal.fill($0, using: &rng) }
            }
            var t = RealTruth(mean: [mean], covariance: Matrix([[std * std]]))
            t.centralQuantiles = (mean + std * SpecialFunctions.normalQuantile(0.01), mean + std * SpecialFunctions.normalQuantile(0.99))
            t.cdf = { SpecialFunctions.normalCDF(($0 - mean) / std) }
            t.logDensity = { rows in rows.storage.map { SpecialFunctions.normalLogDensity(($0 - mean) / std) - Foundation.log(std) } }
            truth = t
        case let .studentT(df, loc, scale):
            let t = StudentT(degreesOfFreedom: df, location: loc, scale: scale)
            source = .distribution { count, rng in
                Matrix(rows: count, columns: 1) { t.fill($0, using: &rng) }
            }
            // The variance is finite only for df > 2; reality's covariance is then scale² df/(df-2).
            let variance = df > 2 ? scale * scale * df / (df - 2) : Double.infinity
            var truthValues = RealTruth(mean: [df > 1 ? loc : .nan], covariance: Matrix([[variance]]))
            truthValues.cdf = { t.cdf($0) }
            truthValues.centralQuantiles = (t.quantile(0.01), t.quantile(0.99))
            truthValues.logDensity = { rows in rows.storage.map { t.logDensity($0) } }
            truth = truthValues
        case let .mvn(mean, covariance):
            let dist: MultivariateNormal
            do { dist = try MultivariateNormal(mean: mean, covariance: covariance) } catch {
                throw RunError.invalidReality("real.covariance is not positive definite: \(error)")
            }
            source = .distribution { count, rng in dist.sample(count: count, using: &rng) }
            var t = RealTruth(mean: mean, covariance: covariance)
            t.tailRadiusSquared = TailRegion.gaussianRadiusSquared(dimension: mean.count)
            if mean.count == 1 {
                let sd = covariance[0, 0].squareRoot()
                t.centralQuantiles = (mean[0] + sd * SpecialFunctions.normalQuantile(0.01), mean[0] + sd * SpecialFunctions.normalQuantile(0.99))
            }
            t.logDensity = { rows in dist.logDensities(rows) }
            truth = t
        case let .gmm(weights, means, covariances):
            var components: [MultivariateNormal] = []
            for (k, (mu, sigma)) in zip(means, covariances).enumerated() {
                do { components.append(try MultivariateNormal(mean: mu, covariance: sigma)) } catch {
                    throw RunError.invalidReality("real.covariances[\(k)] is not positive definite: \(error)")
                }
            }
            let parts = components
            let draw: @Sendable (Int, inout Philox4x32) -> Matrix = { count, rng in
                let counts = Multinomial.counts(total: count, probabilities: weights, using: &rng)
                let blocks = zip(parts, counts).map { $0.sample(count: $1, using: &rng) }
                return Matrix.concatenate(blocks)
            }
            source = .distribution(draw)
            var t = Self.mixtureTruth(weights: weights, means: means, covariances: covariances)
            if means[0].count > 1 {
                // No closed form for the radius quantile of a mixture: the empirical 98 % quantile of
                // a large reference sample drawn with a fixed stream (TailRegion.referenceRows).
                var rng = TailRegion.referenceStream
                let rows = draw(TailRegion.referenceRows, &rng)
                t.tailRadiusSquared = TailRegion.empiricalRadiusSquared(rows: rows, mean: t.mean, covariance: t.covariance)
            }
            let logWeights = weights.map { Foundation.log($0) }
            t.logDensity = { rows in
                let perComponent = zip(parts, logWeights).map { part, logWeight in part.logDensities(rows).map { $0 + logWeight } }
                return (0..<rows.rows).map { i in SpecialFunctions.logSumExp(perComponent.map { $0[i] }) }
            }
            truth = t
        case let .dataset(d):
            source = .dataset(d.features)
            let (mean, cov) = d.features.covariance(ddof: 0)
            var t = RealTruth(mean: mean, covariance: cov)
            if d.features.columns == 1 {
                let q = Descriptive.quantiles(of: d.features.storage, [0.01, 0.99])
                t.centralQuantiles = (q[0], q[1])
            } else {
                t.tailRadiusSquared = TailRegion.empiricalRadiusSquared(rows: d.features, mean: mean, covariance: cov)
            }
            truth = t
        case .zipf, .linearRegression:
            throw RunError.invalidReality("a \(real) source has no continuous rows")
        }
    }

    static func mixtureTruth(weights: [Double], means: [[Double]], covariances: [Matrix]) -> RealTruth {
        let d = means[0].count
        var mu = [Double](repeating: 0, count: d)
        for (w, m) in zip(weights, means) { for j in 0..<d { mu[j] += w * m[j] } }
        var cov = Matrix(rows: d, columns: d)
        for (k, w) in weights.enumerated() {
            for a in 0..<d {
                for b in 0..<d {
                    cov[a, b] += w * (covariances[k][a, b] + (means[k][a] - mu[a]) * (means[k][b] - mu[b]))
                }
            }
        }
        var t = RealTruth(mean: mu, covariance: cov)
        let components = zip(means, covariances).compactMap { try? MultivariateNormal(mean: $0, covariance: $1) }
        if components.count == weights.count { t.mixture = Array(zip(weights, components)).map { (weight: $0, component: $1) } }
        if let minIndex = weights.indices.min(by: { weights[$0] < weights[$1] }) {
            t.minority = (minIndex, weights[minIndex])
        }
        if d == 1 {
            let sds = covariances.map { $0[0, 0].squareRoot() }
            let cdf: @Sendable (Double) -> Double = { x in
                var s = 0.0
                for k in weights.indices { s += weights[k] * SpecialFunctions.normalCDF((x - means[k][0]) / sds[k]) }
                return s
            }
            t.cdf = cdf
            t.centralQuantiles = (invert(cdf, 0.01, around: mu[0], scale: cov[0, 0].squareRoot()),
                                  invert(cdf, 0.99, around: mu[0], scale: cov[0, 0].squareRoot()))
        }
        return t
    }

    /// Solves cdf(x) = p by bisection to adjacent doubles.
    static func invert(_ cdf: (Double) -> Double, _ p: Double, around center: Double, scale: Double) -> Double {
        var lo = center - scale, hi = center + scale
        while cdf(lo) > p { lo -= 2 * (hi - lo) }
        while cdf(hi) < p { hi += 2 * (hi - lo) }
        while true {
            let mid = 0.5 * (lo + hi)
            if mid <= lo || mid >= hi { return mid }
            if cdf(mid) < p { lo = mid } else { hi = mid }
        }
    }

    public func chainReality(variant: Int, replicate: Int, seed: UInt64, samples: Int, holdout: Int) -> ChainReality<Matrix> {
        let rows: RealRows<Matrix>
        switch source {
        case let .distribution(draw): rows = RealRows(source: .distribution(draw))
        case let .dataset(m): rows = RealRows(source: .dataset(m))
        }
        return rows.chainReality(variant: variant, replicate: replicate, seed: seed, samples: samples, holdout: holdout)
    }
}

/// The position in a dataset's unused rows, shared by one chain's `fresh` closure.
final class FreshCursor: @unchecked Sendable {
    var next = 0
}

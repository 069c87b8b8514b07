import CollapseCore
import CollapseModels
import Foundation

// Shared numerics of the continuous-data metrics (docs/metrics/continuous.md): stream purposes,
// the real central region, Gaussian components of fitted models, Mahalanobis radii, the exact
// 1-D quantile coupling, and nearest-neighbour distances through BLAS.

extension StreamPurpose {
    /// `tail_mass`: Monte Carlo draws for the mass of a d > 1 Gaussian outside the real ellipsoid.
    public static let tailMassDraws = StreamPurpose(rawValue: 101)
    /// `w2`: the random directions of the sliced 2-Wasserstein distance (d > 1, non-Gaussian).
    public static let slicedDirections = StreamPurpose(rawValue: 102)
    /// `mmd`: the rows drawn for the median-heuristic bandwidth.
    public static let mmdBandwidthRows = StreamPurpose(rawValue: 103)
    /// The fixed reference sample (seed 0, variant/replicate/generation 0) from which the tail
    /// radius of a non-Gaussian known distribution in d > 1 is estimated; no chain uses it.
    public static let tailReferenceSample = StreamPurpose(rawValue: 199)
}

/// The real distribution's central 98 % region, which `tail_mass` and `sample_tail_fraction`
/// measure against: in 1-D the interval between the real 1 % and 99 % quantiles, in d > 1 the
/// Mahalanobis ellipsoid `{x : (x - mu)ᵀ Sigma⁻¹ (x - mu) <= r²}` under the real mean and covariance.
public enum TailRegion {
    /// The probability reality puts inside the region.
    public static let centralProbability = 0.98

    /// r² for Gaussian reality in `dimension` dimensions: the 0.98 quantile of chi²_d.
    public static func gaussianRadiusSquared(dimension: Int) -> Double {
        ChiSquared(degreesOfFreedom: Double(dimension)).quantile(centralProbability)
    }

    /// r² for a dataset or a non-Gaussian source: the empirical 0.98 quantile (numpy's linear
    /// method) of the rows' squared Mahalanobis radii under `mean` and `covariance`; nil when the
    /// covariance is not positive definite or there are no rows.
    public static func empiricalRadiusSquared(rows: Matrix, mean: [Double], covariance: Matrix) -> Double? {
        guard rows.rows > 0, let factor = try? Cholesky(covariance) else { return nil }
        let radii = squaredRadii(rows, mean: mean, factor: factor)
        return Descriptive.quantiles(of: radii, [centralProbability])[0]
    }

    /// Rows in the reference sample of a non-Gaussian known distribution in d > 1. The 98 %
    /// quantile of 200 000 radii has a standard error of sqrt(0.98 · 0.02 / 200 000) = 3.1e-4 in
    /// probability, so reality's own `tail_mass` is 0.02 to within about 1e-3.
    public static let referenceRows = 200_000

    /// The fixed stream of that reference sample (seed 0, purpose 199).
    public static var referenceStream: Philox4x32 {
        Philox4x32(seed: 0, id: StreamID(variant: 0, replicate: 0, generation: 0, purpose: .tailReferenceSample))
    }
}

/// `|L⁻¹(x_i - mean)|²` for each row of `rows` (the squared Mahalanobis radius).
func squaredRadii(_ rows: Matrix, mean: [Double], factor: Cholesky) -> [Double] {
    var centred = subtractingRowVector(rows, mean)
    factor.whitenRows(&centred)
    let d = centred.columns
    return centred.storage.withUnsafeBufferPointer { p in
        (0..<centred.rows).map { i in
            var s = 0.0
            for j in 0..<d { s += p[i * d + j] * p[i * d + j] }
            return s
        }
    }
}

/// The real central region of a metric context, resolved once.
struct RealRegion {
    enum Shape {
        case interval(low: Double, high: Double)
        case ellipsoid(mean: [Double], factor: Cholesky, radiusSquared: Double)
    }
    let shape: Shape

    /// nil when reality's region is unknown (no quantiles / radius, or a covariance that is not
    /// positive definite).
    init?(_ truth: RealTruth, dimension: Int) {
        if dimension == 1 {
            guard let q = truth.centralQuantiles else { return nil }
            shape = .interval(low: q.low, high: q.high)
        } else {
            guard let r2 = truth.tailRadiusSquared, truth.mean.count == dimension,
                  let factor = try? Cholesky(truth.covariance) else { return nil }
            shape = .ellipsoid(mean: truth.mean, factor: factor, radiusSquared: r2)
        }
    }

    /// The share of `rows` outside the region (the boundary counts as inside).
    func outsideFraction(of rows: Matrix) -> Double {
        guard rows.rows > 0 else { return .nan }
        var outside = 0
        switch shape {
        case let .interval(low, high):
            for x in rows.storage where x < low || x > high { outside += 1 }
        case let .ellipsoid(mean, factor, r2):
            for r in squaredRadii(rows, mean: mean, factor: factor) where r > r2 { outside += 1 }
        }
        return Double(outside) / Double(rows.rows)
    }
}

/// One normal component of a fitted model: weight, mean and covariance.
public struct GaussianComponent: Sendable {
    public var weight: Double
    public var mean: [Double]
    public var covariance: Matrix

    public init(weight: Double, mean: [Double], covariance: Matrix) {
        self.weight = weight
        self.mean = mean
        self.covariance = covariance
    }
}

/// A fitted model that is a finite mixture of normal distributions (a single normal is a
/// one-component mixture). Closed forms and exact tail masses of the continuous metrics use it;
/// a Gaussian mixture family conforms with its weights, means and covariances.
public protocol GaussianComponents {
    /// The components; the weights sum to 1.
    var gaussianComponents: [GaussianComponent] { get }
}

extension FittedGaussian: GaussianComponents {
    public var gaussianComponents: [GaussianComponent] {
        [GaussianComponent(weight: 1, mean: [mean], covariance: Matrix([[variance]]))]
    }
}

extension FittedMultivariateGaussian: GaussianComponents {
    public var gaussianComponents: [GaussianComponent] {
        [GaussianComponent(weight: 1, mean: mean, covariance: covariance)]
    }
}

/// Mean and covariance of a fitted model that is exactly one normal distribution
/// (`gaussian` or `mvn`), else nil.
func singleGaussian(_ fitted: any FittedModel) -> (mean: [Double], covariance: Matrix)? {
    if let g = fitted as? FittedGaussian { return ([g.mean], Matrix([[g.variance]])) }
    if let g = fitted as? FittedMultivariateGaussian { return (g.mean, g.covariance) }
    return nil
}

// MARK: - Mass of normals outside the real region

/// Monte Carlo draws per normal component for `tail_mass` in d > 1 (kde: in total, spread evenly
/// over the training rows). With conditional Monte Carlo the standard error is at most the plain
/// binomial sqrt(p(1 - p)/20 000) <= 3.5e-3 (<= 1e-3 for p near 0.02), and usually far smaller.
let tailMassDraws = 20_000

/// `sum_k w_k P(N(means_k, covariance) is outside region)` for components sharing one covariance.
///
/// 1-D: `Phi((low - m)/s) + Phi((m - high)/s)` (exact). d > 1: with W = L_real⁻¹ and
/// `W covariance Wᵀ = U diag(lambda) Uᵀ`, the squared radius of a draw is
/// `Q = sum_j (sqrt(lambda_j) z_j + b_j)²`, b = Uᵀ W (m - mu_real), z ~ N(0, I) — a generalized
/// chi-square. Exact when the lambda_j are equal (noncentral chi²_d, Poisson series) or all zero
/// (point mass); otherwise conditional Monte Carlo: draw every z_j but the one of the largest
/// lambda, and average the exact conditional probability
/// `P(|sqrt(lambda_top) z + b_top| > sqrt(r² - R))` (two normal CDFs).
func gaussianMassOutside(means: Matrix, weights: [Double], covariance: Matrix, region: RealRegion,
                         drawsPerComponent: Int, rng: inout Philox4x32) -> Double {
    switch region.shape {
    case let .interval(low, high):
        let v = covariance[0, 0]
        let sd = max(v, 0).squareRoot()
        var total = 0.0
        for (k, m) in means.storage.enumerated() {
            let mass: Double
            if sd == 0 {
                mass = m < low || m > high ? 1 : 0
            } else {
                mass = SpecialFunctions.normalCDF((low - m) / sd) + SpecialFunctions.normalCDF((m - high) / sd)
            }
            total += weights[k] * mass
        }
        return total
    case let .ellipsoid(mu, factor, r2):
        let d = mu.count
        // B = W covariance Wᵀ, symmetrised.
        var left = covariance
        factor.whitenRows(&left)               // covariance W^T
        var b = left.transposed()              // W covariance
        factor.whitenRows(&b)                  // W covariance W^T
        for i in 0..<d { for j in 0..<i { let s = 0.5 * (b[i, j] + b[j, i]); b[i, j] = s; b[j, i] = s } }
        guard let eigen = try? SymmetricEigen(b) else { return .nan }
        let lambda = eigen.values.map { max($0, 0) }
        let top = d - 1
        var shifts = subtractingRowVector(means, mu)
        factor.whitenRows(&shifts)
        shifts = Matrix.product(shifts, .none, eigen.vectors, .none)    // rows b_k = Uᵀ W (m_k - mu)
        let k = means.rows
        let lambdaMax = lambda[top], lambdaMin = lambda[0]
        var total = 0.0
        if lambdaMax == 0 {
            for c in 0..<k {
                var q = 0.0
                for j in 0..<d { q += shifts[c, j] * shifts[c, j] }
                total += weights[c] * (q > r2 ? 1 : 0)
            }
            return total
        }
        if lambdaMax - lambdaMin <= 1e-10 * lambdaMax {
            var exact = true
            var masses: [Double] = []
            for c in 0..<k {
                var q = 0.0
                for j in 0..<d { q += shifts[c, j] * shifts[c, j] }
                let noncentrality = q / lambdaMax
                if noncentrality > 2e4 { exact = false; break }
                masses.append(noncentralChiSquareSurvival(degreesOfFreedom: Double(d), noncentrality: noncentrality, r2 / lambdaMax))
            }
            if exact { return zip(weights, masses).reduce(0) { $0 + $1.0 * $1.1 } }
        }
        let free = d - 1
        let n = drawsPerComponent
        let sdTop = lambdaMax.squareRoot()
        let sds = lambda.map { $0.squareRoot() }
        var z = [Double](repeating: 0, count: n * free)
        for c in 0..<k {
            z.withUnsafeMutableBufferPointer { StandardNormal.fill($0, using: &rng) }
            let bTop = shifts[c, top]
            let bFree = (0..<free).map { shifts[c, $0] }
            var sum = 0.0
            z.withUnsafeBufferPointer { p in
                for i in 0..<n {
                    var rest = 0.0
                    for j in 0..<free {
                        let y = sds[j] * p[i * free + j] + bFree[j]
                        rest += y * y
                    }
                    let slack = r2 - rest
                    if slack <= 0 { sum += 1; continue }
                    let s = slack.squareRoot()
                    sum += SpecialFunctions.normalCDF((bTop - s) / sdTop) + SpecialFunctions.normalCDF((-s - bTop) / sdTop)
                }
            }
            total += weights[c] * sum / Double(n)
        }
        return total
    }
}

/// `P(chi'²_nu(delta) > x)` = `sum_k Pois(k; delta/2) Q(nu/2 + k, x/2)` (the Poisson mixture of
/// central chi-squares), summed over k within mean ± (12 sd + 30) of the Poisson weights, which
/// leaves out less than 1e-20 of the weight.
func noncentralChiSquareSurvival(degreesOfFreedom nu: Double, noncentrality delta: Double, _ x: Double) -> Double {
    if x <= 0 { return 1 }
    let h = 0.5 * delta
    if h == 0 { return SpecialFunctions.regularizedGammaQ(0.5 * nu, 0.5 * x) }
    let spread = 12 * h.squareRoot() + 30
    let first = max(0, Int((h - spread).rounded(.down)))
    let last = Int((h + spread).rounded(.up))
    let logH = Foundation.log(h)
    var total = 0.0
    for k in first...last {
        let kd = Double(k)
        let weight = Foundation.exp(-h + kd * logH - SpecialFunctions.logGamma(kd + 1))
        if weight == 0 { continue }
        total += weight * SpecialFunctions.regularizedGammaQ(0.5 * nu + kd, 0.5 * x)
    }
    return min(1, total)
}

// MARK: - 1-D optimal transport

/// The exact squared 2-Wasserstein distance between the empirical distributions of `x` and `y`
/// (any sizes n, m >= 1): `int_0^1 (F⁻¹(u) - G⁻¹(u))² du` with the step quantile functions
/// `F⁻¹(u) = x_(i)` on ((i-1)/n, i/n]. The integral is a finite sum over the merged breakpoints
/// {i/n} ∪ {j/m}, kept in integer units of 1/(n m) so the interval lengths are exact.
/// - Complexity: O((n + m) log(n + m)).
func empiricalW2Squared(_ x: [Double], _ y: [Double]) -> Double {
    precondition(!x.isEmpty && !y.isEmpty, "empiricalW2Squared needs two non-empty samples")
    let a = x.sorted(), b = y.sorted()
    let n = a.count, m = b.count
    var i = 0, j = 0, position = 0
    var total = 0.0
    while i < n && j < m {
        let endA = (i + 1) * m, endB = (j + 1) * n
        let end = min(endA, endB)
        let diff = a[i] - b[j]
        total += Double(end - position) * diff * diff
        position = end
        if endA == end { i += 1 }
        if endB == end { j += 1 }
    }
    return total / (Double(n) * Double(m))
}

// MARK: - Distances through BLAS

/// Squared Euclidean norms of the rows.
func rowSquaredNorms(_ x: Matrix) -> [Double] {
    let d = x.columns
    return x.storage.withUnsafeBufferPointer { p in
        (0..<x.rows).map { i in
            var s = 0.0
            for j in 0..<d { s += p[i * d + j] * p[i * d + j] }
            return s
        }
    }
}

/// The exact Euclidean distance from each row of `queries` to its nearest row of `reference`
/// (with `excludeSelf`, queries and reference are the same rows and row i skips itself: the
/// leave-one-out nearest neighbour).
///
/// Squared distances come in blocks of 256 query rows from one dgemm each,
/// `|q|² + |r|² - 2 q·r`; that form loses up to `c ε (|q|² + |r|²)` to cancellation, so every
/// reference row whose computed value is within that bound of the block minimum is re-measured
/// directly, and the minimum of the direct values is returned. Callers centre the rows first.
/// - Complexity: O(n_q n_r d) flops, O(256 n_r) memory.
func nearestNeighbourDistances(_ queries: Matrix, _ reference: Matrix, excludeSelf: Bool) -> [Double] {
    precondition(queries.columns == reference.columns, "nearest neighbours need equal widths, got \(queries.shapeDescription) and \(reference.shapeDescription)")
    let d = queries.columns, nr = reference.rows
    let qNorms = rowSquaredNorms(queries), rNorms = rowSquaredNorms(reference)
    let slack = 8 * Double(d + 2) * Double.ulpOfOne
    var result = [Double](repeating: .infinity, count: queries.rows)
    let blockRows = 256
    var start = 0
    while start < queries.rows {
        let count = min(blockRows, queries.rows - start)
        let block = queries.rowBlock(from: start, count: count)
        let dots = Matrix.product(block, .none, reference, .transpose)
        dots.storage.withUnsafeBufferPointer { g in
            for a in 0..<count {
                let qi = start + a
                var best = Double.infinity
                for r in 0..<nr where !(excludeSelf && r == qi) {
                    let tol = slack * (qNorms[qi] + rNorms[r])
                    best = min(best, qNorms[qi] + rNorms[r] - 2 * g[a * nr + r] + tol)
                }
                var exact = Double.infinity
                for r in 0..<nr where !(excludeSelf && r == qi) {
                    let tol = slack * (qNorms[qi] + rNorms[r])
                    if qNorms[qi] + rNorms[r] - 2 * g[a * nr + r] - tol <= best {
                        var s = 0.0
                        for j in 0..<d {
                            let diff = queries.storage[qi * d + j] - reference.storage[r * d + j]
                            s += diff * diff
                        }
                        exact = min(exact, s)
                    }
                }
                result[qi] = exact.squareRoot()
            }
        }
        start += count
    }
    return result
}

/// `x_i - v` for every row.
func subtractingRowVector(_ x: Matrix, _ v: [Double]) -> Matrix {
    precondition(v.count == x.columns, "subtractingRowVector: vector has \(v.count) entries, matrix is \(x.shapeDescription)")
    var out = x
    let d = x.columns
    out.storage.withUnsafeMutableBufferPointer { p in
        for i in 0..<x.rows { for j in 0..<d { p[i * d + j] -= v[j] } }
    }
    return out
}

extension Matrix {
    /// The rows `start ..< start + count`.
    func rowBlock(from start: Int, count: Int) -> Matrix {
        Matrix(rows: count, columns: columns, storage: Array(storage[(start * columns)..<((start + count) * columns)]))
    }
}

extension FittedGaussianMixture: GaussianComponents {
    public var gaussianComponents: [GaussianComponent] {
        (0..<componentCount).map { GaussianComponent(weight: weights[$0], mean: means.row($0), covariance: covariances[$0]) }
    }
}

extension FittedClassConditional: GaussianComponents where Model: GaussianComponents {
    /// Every class model's components, weighted by the class weight (the marginal mixture).
    public var gaussianComponents: [GaussianComponent] {
        zip(weights, models).flatMap { w, model -> [GaussianComponent] in
            guard let model, w > 0 else { return [] }
            return model.gaussianComponents.map { GaussianComponent(weight: w * $0.weight, mean: $0.mean, covariance: $0.covariance) }
        }
    }
}

import CollapseCore
import CollapseModels
import Foundation

// Distances between the model and reality (docs/metrics/continuous.md).

/// The symmetric square root `V diag(sqrt(max(lambda, 0))) Vᵀ` of a symmetric PSD matrix
/// (negative round-off eigenvalues clamped to 0), or nil for non-finite input.
func symmetricSquareRoot(_ a: Matrix) -> Matrix? {
    guard let e = try? SymmetricEigen(a) else { return nil }
    var scaled = e.vectors
    let d = a.rows
    for j in 0..<d {
        let s = max(e.values[j], 0).squareRoot()
        for i in 0..<d { scaled[i, j] *= s }
    }
    return Matrix.product(scaled, .none, e.vectors, .transpose)
}

/// The squared 2-Wasserstein distance between N(mu1, S1) and N(mu2, S2):
/// `|mu1 - mu2|² + tr S1 + tr S2 - 2 tr (S2^½ S1 S2^½)^½` (1-D: `(mu1 - mu2)² + (s1 - s2)²`,
/// computed in that form, without cancellation). Square roots by `SymmetricEigen` with negative
/// round-off eigenvalues clamped to 0; the inner matrix is symmetrised before its eigenvalues are
/// taken; the result is clamped at 0. The trace form cancels when S1 ≈ S2: its absolute error is
/// about 10 d ε (tr S1 + tr S2), so the distance itself carries an error up to
/// sqrt(10 d ε (tr S1 + tr S2)) (≈ 1e-7 sqrt(tr) for equal covariances in d = 3).
func gaussianW2Squared(_ mu1: [Double], _ s1: Matrix, _ mu2: [Double], _ s2: Matrix) -> Double? {
    var shift = 0.0
    for (a, b) in zip(mu1, mu2) { shift += (a - b) * (a - b) }
    if mu1.count == 1 {
        let diff = max(s1[0, 0], 0).squareRoot() - max(s2[0, 0], 0).squareRoot()
        return shift + diff * diff
    }
    guard let root2 = symmetricSquareRoot(s2) else { return nil }
    var inner = Matrix.product(Matrix.product(root2, .none, s1, .none), .none, root2, .none)
    let d = inner.rows
    for i in 0..<d { for j in 0..<i { let s = 0.5 * (inner[i, j] + inner[j, i]); inner[i, j] = s; inner[j, i] = s } }
    guard let values = symmetricEigenvalues(inner) else { return nil }
    let cross = values.reduce(0) { $0 + max($1, 0).squareRoot() }
    return max(0, shift + s1.trace + s2.trace - 2 * cross)
}

/// Random directions of the sliced 2-Wasserstein distance.
let slicedDirectionCount = 128

/// `w2`: the 2-Wasserstein distance (not squared) between the model and reality.
///
/// * gaussian / mvn model and Gaussian reality (known gaussian or mvn source): the closed form
///   between the two normals (`gaussianW2Squared`).
/// * otherwise, 1-D: the exact W2 between the empirical distribution of the generation's samples
///   and that of the real holdout (quantile coupling, any two sizes; `empiricalW2Squared`).
/// * otherwise, d > 1: the sliced W2, `sqrt((1/L) sum_l W2²(theta_l·samples, theta_l·holdout))`
///   over L = 128 directions uniform on the sphere (normalised N(0, I) vectors from stream 102),
///   each 1-D term exact as above. It estimates the sliced distance (which is <= W2), not W2.
///
/// nan when a needed sample or the holdout is empty, or a covariance is not finite.
public struct W2Metric: Metric {
    public init() {}
    public let name = "w2"
    public let summary = "2-Wasserstein distance to reality (Gaussian closed form; else empirical samples vs holdout, sliced in d > 1)"
    public let unit = "data units"
    public let direction = MetricDirection.higherIsWorse
    public func problem(with facts: ExperimentFacts) -> String? { continuousOnly(facts) }
    /// The closed form (a single Gaussian model against known Gaussian reality) reads no rows.
    public func readsRows(_ facts: ExperimentFacts) -> Bool {
        !(facts.gaussianReality && facts.knownDistribution && !facts.hasLabels && (facts.modelKind == "gaussian" || facts.modelKind == "mvn"))
    }
    public func evaluate(_ context: MetricContext) -> Double {
        if context.facts.gaussianReality, context.facts.knownDistribution, let g = singleGaussian(context.fitted) {
            return gaussianW2Squared(g.mean, g.covariance, context.truth.mean, context.truth.covariance).map { $0.squareRoot() } ?? .nan
        }
        guard let samples = sampleMatrix(context), let holdout = featureRows(context.holdout), holdout.rows > 0,
              samples.columns == holdout.columns else { return .nan }
        let d = samples.columns
        if d == 1 { return empiricalW2Squared(samples.storage, holdout.storage).squareRoot() }
        var rng = context.stream(for: .slicedDirections)
        var directions = Matrix(rows: slicedDirectionCount, columns: d) { StandardNormal.fill($0, using: &rng) }
        for l in 0..<slicedDirectionCount {
            var norm = 0.0
            for j in 0..<d { norm += directions[l, j] * directions[l, j] }
            norm = norm.squareRoot()
            for j in 0..<d { directions[l, j] /= norm }
        }
        let a = Matrix.product(samples, .none, directions, .transpose)   // n × L
        let b = Matrix.product(holdout, .none, directions, .transpose)   // m × L
        var total = 0.0
        for l in 0..<slicedDirectionCount { total += empiricalW2Squared(a.column(l), b.column(l)) }
        return (total / Double(slicedDirectionCount)).squareRoot()
    }
}

/// `kl_real_model`: KL(reality || model) in nats.
///
/// * gaussian / mvn model and Gaussian reality: the closed form
///   `½ [tr(S_g⁻¹ S) + (mu_g - mu)ᵀ S_g⁻¹ (mu_g - mu) - d + log det S_g - log det S]`;
///   +inf for a singular (collapsed) model covariance.
/// * otherwise, with a known real density (gaussian, mvn, gmm, student-t): the Monte Carlo
///   estimate `mean_i [log p_real(x_i) - log p_model(x_i)]` over the real holdout rows (standard
///   error = sd of the log ratio / sqrt(holdout)); +inf when the model gives a holdout row
///   log-density -inf.
/// * dataset sources: nan — the real density is unknown; use `nll_real`, which differs from KL by
///   the unknown real entropy.
public struct KLRealModelMetric: ModelOnlyMetric {
    public init() {}
    public let name = "kl_real_model"
    public let summary = "KL(reality || model) in nats (Gaussian closed form; else Monte Carlo on the real holdout; nan for datasets)"
    public let unit = "nats"
    public let direction = MetricDirection.higherIsWorse
    public func problem(with facts: ExperimentFacts) -> String? { continuousOnly(facts) }
    public func evaluate(_ context: MetricContext) -> Double {
        let truth = context.truth
        if context.facts.gaussianReality, context.facts.knownDistribution, let g = singleGaussian(context.fitted) {
            return gaussianKL(mu0: truth.mean, s0: truth.covariance, mu1: g.mean, s1: g.covariance)
        }
        guard let logReal = truth.logDensity, let holdout = featureRows(context.holdout), holdout.rows > 0,
              let logModel = logDensities(context.fitted, context.holdout) else { return .nan }
        let real = logReal(holdout)
        var sum = 0.0
        for (p, q) in zip(real, logModel) {
            if q == -.infinity { return .infinity }
            sum += p - q
        }
        return sum / Double(holdout.rows)
    }
}

/// KL(N(mu0, s0) || N(mu1, s1)) in nats; +inf when s1 is singular, nan when s0 is.
func gaussianKL(mu0: [Double], s0: Matrix, mu1: [Double], s1: Matrix) -> Double {
    let d = mu0.count
    guard let l0 = try? Cholesky(s0) else { return .nan }
    guard let logDet1 = logDeterminant(s1), logDet1.isFinite, let l1 = try? Cholesky(s1) else { return .infinity }
    // tr(S1⁻¹ S0) = ||L1⁻¹ L0||_F²: whitening the rows of L0ᵀ by L1 gives (L1⁻¹ L0)ᵀ.
    var m = l0.lower.transposed()
    l1.whitenRows(&m)
    var traceTerm = 0.0
    for v in m.storage { traceTerm += v * v }
    let maha = squaredRadii(Matrix([mu0]), mean: mu1, factor: l1)[0]
    return 0.5 * (traceTerm + maha - Double(d) + logDet1 - l0.logDeterminant)
}

/// Rows per side of `mmd`.
let mmdMaximumRows = 2000
/// Rows (pooled) from which the median-heuristic bandwidth is computed.
let mmdBandwidthRows = 1000

/// `mmd`: the squared maximum mean discrepancy between the generation's synthetic rows X and the
/// real holdout Y with the RBF kernel `k(x, y) = exp(-|x - y|² / (2 h²))`, by the unbiased
/// U-statistic
/// `1/(n(n-1)) sum_{i≠j} k(x_i, x_j) + 1/(m(m-1)) sum_{i≠j} k(y_i, y_j) - 2/(n m) sum_{i,j} k(x_i, y_j)`
/// (can be slightly negative when the two distributions agree).
///
/// The first 2000 rows of each side are used (both are exchangeable draws). h is the median
/// pairwise Euclidean distance of the pooled rows, computed on at most 1000 of them drawn without
/// replacement with stream 103 (all of them when there are no more than 1000); if that median is
/// 0 the mean of the non-zero distances is used, and if every distance is 0 the result is 0.
/// Squared distances of the kernel matrices come from dgemm (`|x|² + |y|² - 2 x·y`, on rows
/// centred at the holdout mean, clamped at 0).
///
/// nan when either side has fewer than 2 rows.
public struct MMDMetric: Metric {
    public init() {}
    public let name = "mmd"
    public let summary = "squared MMD (RBF kernel, median-heuristic bandwidth, unbiased) between synthetic samples and the real holdout"
    public let unit = "squared kernel distance"
    public let direction = MetricDirection.higherIsWorse
    public func problem(with facts: ExperimentFacts) -> String? { continuousOnly(facts) }
    public func evaluate(_ context: MetricContext) -> Double {
        guard let samples = sampleMatrix(context), let holdout = featureRows(context.holdout),
              samples.columns == holdout.columns, samples.rows >= 2, holdout.rows >= 2 else { return .nan }
        var rng = context.stream(for: .mmdBandwidthRows)
        return squaredMMD(samples, holdout, using: &rng)
    }
}

/// See `MMDMetric`.
func squaredMMD<R: RandomStream>(_ xAll: Matrix, _ yAll: Matrix, using rng: inout R) -> Double {
    let yRows = yAll.rowBlock(from: 0, count: min(yAll.rows, mmdMaximumRows))
    let centre = yRows.columnMeans()
    let x = subtractingRowVector(xAll.rowBlock(from: 0, count: min(xAll.rows, mmdMaximumRows)), centre)
    let y = subtractingRowVector(yRows, centre)
    let n = x.rows, m = y.rows, d = x.columns
    // Bandwidth: median pairwise distance of (at most 1000) pooled rows.
    let pooled = n + m
    var chosen = Array(0..<pooled)
    if pooled > mmdBandwidthRows {
        for i in 0..<mmdBandwidthRows {
            let j = i + rng.nextInt(below: pooled - i)
            chosen.swapAt(i, j)
        }
        chosen = Array(chosen.prefix(mmdBandwidthRows))
    }
    func row(_ k: Int) -> ArraySlice<Double> {
        k < n ? x.storage[(k * d)..<((k + 1) * d)] : y.storage[((k - n) * d)..<((k - n + 1) * d)]
    }
    var distances: [Double] = []
    distances.reserveCapacity(chosen.count * (chosen.count - 1) / 2)
    for a in 0..<chosen.count {
        let ra = row(chosen[a])
        for b in (a + 1)..<chosen.count {
            let rb = row(chosen[b])
            var s = 0.0
            for (u, v) in zip(ra, rb) { s += (u - v) * (u - v) }
            distances.append(s.squareRoot())
        }
    }
    var h = Descriptive.median(of: distances)
    if h == 0 {
        let positive = distances.filter { $0 > 0 }
        if positive.isEmpty { return 0 }
        h = positive.reduce(0, +) / Double(positive.count)
    }
    let scale = -1 / (2 * h * h)
    let xNorms = rowSquaredNorms(x), yNorms = rowSquaredNorms(y)
    func kernelSum(_ a: Matrix, _ aNorms: [Double], _ b: Matrix, _ bNorms: [Double], skipDiagonal: Bool) -> Double {
        let g = Matrix.product(a, .none, b, .transpose)
        let nb = b.rows
        return g.storage.withUnsafeBufferPointer { p in
            var total = 0.0
            for i in 0..<a.rows {
                var rowSum = 0.0
                for j in 0..<nb where !(skipDiagonal && i == j) {
                    let d2 = max(0, aNorms[i] + bNorms[j] - 2 * p[i * nb + j])
                    rowSum += Foundation.exp(scale * d2)
                }
                total += rowSum
            }
            return total
        }
    }
    let kxx = kernelSum(x, xNorms, x, xNorms, skipDiagonal: true) / (Double(n) * Double(n - 1))
    let kyy = kernelSum(y, yNorms, y, yNorms, skipDiagonal: true) / (Double(m) * Double(m - 1))
    let kxy = kernelSum(x, xNorms, y, yNorms, skipDiagonal: false) / (Double(n) * Double(m))
    return kxx + kyy - 2 * kxy
}

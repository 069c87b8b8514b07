import CollapseCore
import Foundation

/// `mvn`: the d-dimensional normal with full covariance, fitted by the sample mean and the MLE or
/// unbiased covariance (BLAS dsyrk), sampled through a Cholesky factor.
///
/// `regularization` (default 0, so the analysed estimator is exact) is added to the diagonal of
/// the fitted covariance. With M <= d rows, or identical rows, the covariance is singular: the fit
/// is flagged `singularCovariance` (or `zeroVariance`), keeps sampling on its subspace through a
/// rank-revealing (pivoted Cholesky) root, and reports log-density -inf (it has no density in R^d).
public struct MultivariateGaussianModel: GenerativeModel {
    public var estimator: CovarianceEstimator
    public var regularization: Double

    public init(estimator: CovarianceEstimator = .mle, regularization: Double = 0) {
        self.estimator = estimator
        self.regularization = regularization
    }

    public func validate() throws(ModelSettingsError) {
        guard regularization.isFinite && regularization >= 0 else {
            throw ModelSettingsError(key: "regularization", "must be a finite number >= 0, got \(regularization)")
        }
    }

    public func fit<R: RandomStream>(_ data: Matrix, using rng: inout R) throws(FitError) -> FittedMultivariateGaussian {
        let needed = estimator.ddof + 1
        guard data.rows >= needed else { throw .tooFewRows(needed: needed, got: data.rows) }
        guard data.columns >= 1 else { throw .dimensionMismatch(expected: 1, got: 0) }
        var (mean, covariance) = data.covariance(ddof: estimator.ddof)
        // A NaN or infinite entry makes its column's mean non-finite: finite means prove the data
        // finite and save a pass over them.
        guard mean.allSatisfy(\.isFinite) || data.isFinite else { throw .nonFiniteData }
        guard mean.allSatisfy(\.isFinite) && covariance.isFinite else { throw .nonFiniteFit }
        if regularization > 0 {
            for j in 0..<data.columns { covariance[j, j] += regularization }
        }
        // Centred rows span at most n - 1 dimensions: with n - 1 < d the MLE/unbiased covariance is
        // singular in exact arithmetic, whatever round-off makes of it (unless regularised).
        let rankDeficient = regularization == 0 && data.rows - 1 < data.columns
        return FittedMultivariateGaussian(mean: mean, covariance: covariance, rankDeficient: rankDeficient)
    }
}

/// A fitted d-dimensional normal N(mean, covariance), possibly degenerate.
public struct FittedMultivariateGaussian: FittedModel, Equatable {
    public let mean: [Double]
    public let covariance: Matrix
    public let degeneracy: Degeneracy?
    /// F with F Fᵀ = covariance: the Cholesky factor (lower triangular) for a regular fit; for a
    /// singular one the rank-revealing root P L of the pivoted Cholesky factorisation
    /// `Pᵀ Σ P = L Lᵀ`, stopped where the remaining pivots are at most the singularity threshold
    /// (`PivotedCholesky`); zero for a point mass.
    public var samplingFactor: Matrix {
        switch colouring {
        case .pointMass: Matrix(rows: mean.count, columns: mean.count)
        case .cholesky(let factor): factor.lower
        case .pivoted(let factor): factor.factor
        }
    }
    /// How `drawRows` colours standard normal rows (the factor above, in the form BLAS wants).
    let colouring: Colouring

    enum Colouring: Equatable {
        case pointMass
        case cholesky(Cholesky)
        case pivoted(PivotedCholesky)
    }

    /// - Parameters:
    ///   - rankDeficient: the caller knows the covariance is singular (e.g. fitted on n rows with
    ///     n - 1 < d); otherwise singularity is detected numerically: a Cholesky pivot
    ///     `L_ii² <= d ε max_j Sigma_jj` counts as zero.
    public init(mean: [Double], covariance: Matrix, rankDeficient: Bool = false) {
        precondition(covariance.isSquare && covariance.rows == mean.count,
                     "FittedMultivariateGaussian: mean has \(mean.count) entries, covariance is \(covariance.shapeDescription)")
        self.mean = mean
        self.covariance = covariance
        let d = mean.count
        var scale = 0.0
        for j in 0..<d { scale = max(scale, covariance[j, j]) }
        let threshold = Double(max(d, 1)) * Double.ulpOfOne * scale
        if scale == 0 {
            degeneracy = .zeroVariance
            colouring = .pointMass
            return
        }
        if !rankDeficient, let chol = try? Cholesky(covariance),
           (0..<d).allSatisfy({ chol.lower[$0, $0] * chol.lower[$0, $0] > threshold }) {
            degeneracy = nil
            colouring = .cholesky(chol)
            return
        }
        degeneracy = .singularCovariance
        // Pivots at or below the threshold are round-off of zero: stopping there keeps samples on
        // the fitted subspace. (A covariance that is not finite has no root: rows are the mean.)
        if let pivoted = try? PivotedCholesky(covariance, tolerance: threshold) {
            colouring = .pivoted(pivoted)
        } else {
            colouring = .pointMass
        }
    }

    private enum CodingKeys: String, CodingKey { case mean, covariance, degeneracy }

    /// Codable form: the mean, the covariance and the degeneracy; decoding derives the factor
    /// again (the same bits: the factorisations are deterministic). A stored singular flag is
    /// trusted, as `rankDeficient` is (a fit on n - 1 < d rows may be numerically regular); a
    /// stored regular or point-mass fit whose covariance says otherwise is rejected.
    public init(from decoder: Decoder) throws {
        let container = try decoder.container(keyedBy: CodingKeys.self)
        let mean = try container.decode([Double].self, forKey: .mean)
        let covariance = try container.decode(Matrix.self, forKey: .covariance)
        let degeneracy = try container.decodeIfPresent(Degeneracy.self, forKey: .degeneracy)
        guard covariance.isSquare && covariance.rows == mean.count else {
            throw DecodingError.dataCorruptedError(forKey: .covariance, in: container,
                                                   debugDescription: "covariance is \(covariance.shapeDescription), mean has \(mean.count) entries")
        }
        self.init(mean: mean, covariance: covariance, rankDeficient: degeneracy == .singularCovariance)
        guard self.degeneracy == degeneracy else {
            throw DecodingError.dataCorruptedError(forKey: .degeneracy, in: container,
                                                   debugDescription: "stored degeneracy \(String(describing: degeneracy)) but the covariance gives \(String(describing: self.degeneracy))")
        }
    }

    public func encode(to encoder: Encoder) throws {
        var container = encoder.container(keyedBy: CodingKeys.self)
        try container.encode(mean, forKey: .mean)
        try container.encode(covariance, forKey: .covariance)
        try container.encodeIfPresent(degeneracy, forKey: .degeneracy)
    }

    public var dimension: Int { mean.count }

    /// Rows mean + tau F z with z ~ N(0, I); with `truncation` c, rows whose Mahalanobis radius
    /// under the fitted covariance exceeds c (|tau z| > c) are redrawn, in order, from the same
    /// stream. The acceptance probability is P(chi²_d <= (c/tau)²); callers validate it.
    ///
    /// Samples of at least `blockedSampleValues` numbers are drawn in blocks of rows that run in
    /// parallel: one 64-bit key is drawn from `rng`, and block b (rows b B ..< (b + 1) B, B fixed
    /// by the count and d only — see `sampleBlockRows`) draws from its own stream
    /// `Philox4x32(seed: key, path: [b])`. The blocks are the same whatever the number of cores,
    /// so the sample is a pure function of the stream. Smaller samples draw every row from `rng`.
    public func sample<R: RandomStream>(count: Int, options: SamplingOptions, using rng: inout R) -> Matrix {
        precondition(count >= 0, "sample count must be non-negative, got \(count)")
        let d = dimension
        if count == 0 || d == 0 { return Matrix(rows: count, columns: d) }
        if count * d < Self.blockedSampleValues { return sampleRows(count, options: options, using: &rng) }
        let key = rng.nextUInt64()
        let blockRows = Self.sampleBlockRows(count: count, dimension: d)
        let blocks = (count + blockRows - 1) / blockRows
        // Each block is drawn in place, in its rows of the result (no zeroing, no copies).
        return Matrix(rows: count, columns: d) { buffer in
            nonisolated(unsafe) let output = buffer.baseAddress!
            ParallelWork.forEach(blocks) { b in
                var blockRng = Philox4x32(seed: key, path: [UInt32(b)])
                let start = b * blockRows, rows = min(blockRows, count - start)
                drawRows(into: UnsafeMutableBufferPointer(start: output + start * d, count: rows * d), options: options,
                         using: &blockRng)
            }
        }
    }

    /// Numbers (rows x d) from which `sample` draws in parallel blocks.
    static let blockedSampleValues = 1 << 15

    /// Rows per block of a blocked sample: about 2¹⁶ numbers (so a block's BLAS call amortises
    /// packing the factor), at least 64 rows, and at most a quarter of the sample (so that there
    /// are blocks for every core of a small machine).
    static func sampleBlockRows(count: Int, dimension d: Int) -> Int {
        max(1, min(max(64, (1 << 16) / d), (count + 3) / 4))
    }

    /// `count` rows drawn from `rng` alone (see `sample`).
    func sampleRows<R: RandomStream>(_ count: Int, options: SamplingOptions, using rng: inout R) -> Matrix {
        Matrix(rows: count, columns: dimension) { drawRows(into: $0, options: options, using: &rng) }
    }

    /// Fills `z` (whole rows of `dimension` numbers) with rows drawn from `rng` alone.
    func drawRows<R: RandomStream>(into z: UnsafeMutableBufferPointer<Double>, options: SamplingOptions, using rng: inout R) {
        let d = dimension
        guard d > 0, !z.isEmpty else { return }
        let count = z.count / d
        StandardNormal.fill(z, using: &rng)
        let tau = options.temperature
        if let c = options.truncation {
            let limit = (c / tau) * (c / tau)
            let p = z
            for i in 0..<count {
                while true {
                    var r2 = 0.0
                    for j in 0..<d { r2 += p[i * d + j] * p[i * d + j] }
                    if r2 <= limit { break }
                    for j in 0..<d { p[i * d + j] = StandardNormal.next(using: &rng) }
                }
            }
        }
        switch colouring {
        case .pointMass:
            z.update(repeating: 0)
            Matrix.addRowVector(mean, scalingRowsBy: tau, to: z)
        case .cholesky(let factor):
            factor.colourRows(in: z)
            Matrix.addRowVector(mean, scalingRowsBy: tau, to: z)
        case .pivoted(let factor):
            factor.colourRows(in: z, thenAdd: mean, scalingRowsBy: tau) // the permutation and the shift in one pass
        }
    }

    /// Gaussian log-density of each row; -inf for every row when the covariance is singular
    /// (the distribution has no density with respect to Lebesgue measure on R^d).
    public func logDensities(_ data: Matrix) -> [Double] {
        precondition(data.columns == dimension, "logDensities: model has dimension \(dimension), rows have \(data.columns) columns")
        guard degeneracy == nil else { return [Double](repeating: -.infinity, count: data.rows) }
        return MultivariateNormal(mean: mean, factor: Cholesky(uncheckedLower: samplingFactor)).logDensities(data)
    }
}

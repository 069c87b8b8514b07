import CollapseCore
import Foundation

/// Regression data: an n × d design (one row per example) and the n targets.
///
/// Invariant a caller may rely on: `design.rows == targets.count` (checked on init and decoding).
public struct RegressionData: Sendable, Hashable {
    /// The n × d design X, one example per row.
    public let design: Matrix
    /// The n targets (labels) y, `targets[i]` belonging to row i of `design`.
    public let targets: [Double]

    /// - Precondition: `design.rows == targets.count`.
    public init(design: Matrix, targets: [Double]) {
        precondition(design.rows == targets.count,
                     "RegressionData: design is \(design.shapeDescription) but there are \(targets.count) targets")
        self.design = design
        self.targets = targets
    }

    /// n, the number of examples.
    public var count: Int { targets.count }
    /// d, the number of features (design columns).
    public var dimension: Int { design.columns }
}

extension RegressionData: Codable {
    private enum CodingKeys: String, CodingKey { case design, targets }

    public func encode(to encoder: any Encoder) throws {
        var container = encoder.container(keyedBy: CodingKeys.self)
        try container.encode(design, forKey: .design)
        try container.encode(targets, forKey: .targets)
    }

    /// Decodes `{"design": ..., "targets": [...]}`, rejecting a row count that differs from the target count.
    public init(from decoder: any Decoder) throws {
        let container = try decoder.container(keyedBy: CodingKeys.self)
        let design = try container.decode(Matrix.self, forKey: .design)
        let targets = try container.decode([Double].self, forKey: .targets)
        guard design.rows == targets.count else {
            throw DecodingError.dataCorruptedError(forKey: .targets, in: container,
                                                   debugDescription: "design has \(design.rows) rows but there are \(targets.count) targets")
        }
        self.init(design: design, targets: targets)
    }
}

/// Where the regression model's noise variance comes from (config key `noise`).
public enum NoiseModel: Sendable, Hashable {
    /// `s² = RSS / (n - p)`, unbiased for sigma², re-estimated every generation (config `estimated`).
    case estimated
    /// A fixed, known noise standard deviation (config `known`: the runner supplies the real
    /// process's `noise_std`); only the coefficients are refitted.
    case known(standardDeviation: Double)
}

extension NoiseModel: Codable {
    private enum CodingKeys: String, CodingKey { case known }

    /// `.estimated` encodes as the string `"estimated"`, `.known(s)` as `{"known": s}`.
    public func encode(to encoder: any Encoder) throws {
        switch self {
        case .estimated:
            var container = encoder.singleValueContainer()
            try container.encode("estimated")
        case let .known(standardDeviation):
            var container = encoder.container(keyedBy: CodingKeys.self)
            try container.encode(standardDeviation, forKey: .known)
        }
    }

    public init(from decoder: any Decoder) throws {
        if let single = try? decoder.singleValueContainer(), let text = try? single.decode(String.self) {
            guard text == "estimated" else {
                throw DecodingError.dataCorruptedError(in: single, debugDescription:
                    "noise must be \"estimated\" or {\"known\": standard deviation}, got \"\(text)\"")
            }
            self = .estimated
            return
        }
        let container = try decoder.container(keyedBy: CodingKeys.self)
        self = .known(standardDeviation: try container.decode(Double.self, forKey: .known))
    }
}

/// Which design the next generation's labels are generated for (config key `design`).
public enum DesignMode: String, Sendable, Codable, Equatable, CaseIterable {
    /// Keep the real training design and regenerate only the labels (`FittedLinearRegression.labels(for:)`),
    /// as Gerstgrasser et al. (2024) do; refits can reuse one QR factorisation (`fit(targets:using:)`).
    case fixed
    /// Draw fresh design rows from N(0, I_d) with their labels (`FittedLinearRegression.sample`).
    case fresh
}

/// `linear-regression`: y = x·w + b + e, e ~ N(0, sigma²), fitted by ordinary least squares
/// (Householder QR, `LeastSquares`).
///
/// Estimators, with Z the design (plus a trailing column of ones when `intercept`), p its column
/// count and RSS the residual sum of squares:
/// - coefficients `(w, b) = argmin |Z theta - y|²`;
/// - noise `s² = RSS / (n - p)` (`noise: .estimated`, unbiased: E[s²] = sigma² for a full-rank
///   design), or the known sigma² (`noise: .known`).
///
/// Rank-deficient designs (n < p with known noise, or linearly dependent columns) are a flagged
/// result, not an error: the fit is the minimum-norm least-squares solution and its `degeneracy` is
/// `.rankDeficientDesign` (the coefficient covariance sigma² (ZᵀZ)⁻¹ does not exist: the coefficients
/// are identified only on the row space of Z). The estimated noise then divides by n - rank.
/// Throws only when no model exists (see `fit`).
public struct LinearRegressionModel: GenerativeModel {
    /// Fit an intercept b (config key `intercept`, default `false`).
    public var intercept: Bool
    /// Estimated or known noise variance (config key `noise`, default `.estimated`).
    public var noise: NoiseModel
    /// Fixed or fresh design in the recursion (config key `design`, default `.fixed`). Fitting
    /// does not depend on it; the runner reads it to choose between `labels(for:)` and `sample`.
    public var design: DesignMode

    public init(intercept: Bool = false, noise: NoiseModel = .estimated, design: DesignMode = .fixed) {
        self.intercept = intercept
        self.noise = noise
        self.design = design
    }

    /// - Throws: `noise` when a known standard deviation is not finite and `>= 0`.
    public func validate() throws(ModelSettingsError) {
        if case let .known(s) = noise, !(s.isFinite && s >= 0) {
            throw ModelSettingsError(key: "noise", "the known noise standard deviation must be a finite number >= 0, got \(s)")
        }
    }

    /// p, the number of fitted coefficients for d features: d, plus 1 with an intercept.
    public func coefficientCount(dimension d: Int) -> Int { d + (intercept ? 1 : 0) }

    /// Rows needed to fit p coefficients: p + 1 for an estimated noise (n - p >= 1), else 1.
    func rowsNeeded(coefficients p: Int) -> Int {
        if case .estimated = noise { return p + 1 }
        return 1
    }

    /// The design Z the least-squares problem uses: `design` with a trailing column of ones when
    /// `intercept`, else `design` itself.
    func augmented(_ design: Matrix) -> Matrix {
        guard intercept else { return design }
        let n = design.rows, d = design.columns
        var z = Matrix(rows: n, columns: d + 1, repeating: 1)
        design.storage.withUnsafeBufferPointer { src in
            z.storage.withUnsafeMutableBufferPointer { dst in
                for i in 0..<n { for j in 0..<d { dst[i * (d + 1) + j] = src[i * d + j] } }
            }
        }
        return z
    }

    /// The QR factorisation of the (augmented) design, with Q formed explicitly, for refitting one
    /// fixed design to new labels generation after generation with `fit(targets:using:)`: each
    /// refit is then one or two matrix-vector products. Refits agree with `fit(_:using:)` on the
    /// same data to rounding (about 1e-15 relative on a well-conditioned design), not bit for bit.
    ///
    /// - Returns: the factorisation, or `nil` when the design is rank deficient (n < p or
    ///   dependent columns): then refit with `fit(_:using:)`, which returns the flagged
    ///   minimum-norm fit.
    /// - Throws: `.dimensionMismatch(expected: 1, got: 0)` when there is nothing to fit (p = 0),
    ///   `.nonFiniteData` for NaN/inf in the design.
    /// - Complexity: 6 n p² - 8 p³/3 flops (QR, then Q).
    public func factorize(design: Matrix) throws(FitError) -> LeastSquares? {
        guard coefficientCount(dimension: design.columns) >= 1 else { throw .dimensionMismatch(expected: 1, got: 0) }
        guard design.isFinite else { throw .nonFiniteData }
        guard var factorization = try? LeastSquares(design: augmented(design)) else { return nil }
        factorization.formExplicitQ()
        return factorization
    }

    /// Fits by least squares. The stream is not used.
    ///
    /// A full-rank design goes through `LeastSquares` (applying the Householder reflectors; see
    /// `factorize` for the reuse path). A rank-deficient one gives the minimum-norm
    /// solution `theta = sum_{lambda_j > cut} v_j v_jᵀ Zᵀ y / lambda_j` over the eigenpairs of ZᵀZ,
    /// with `cut = max(n, p) ε lambda_max`, rank r = the number of kept eigenvalues, and
    /// `s² = RSS / (n - r)`; its `degeneracy` is `.rankDeficientDesign` (`.zeroVariance` takes
    /// precedence when the noise variance is 0).
    ///
    /// - Throws: `.dimensionMismatch(expected: 1, got: 0)` when p = 0 (no features, no intercept);
    ///   `.tooFewRows(needed: p + 1, got: n)` with estimated noise and n <= p (s² is 0 / 0),
    ///   `.tooFewRows(needed: 1, got: 0)` with known noise and no rows; `.nonFiniteData`.
    /// - Complexity: O(n p²).
    public func fit<R: RandomStream>(_ data: RegressionData, using rng: inout R) throws(FitError) -> FittedLinearRegression {
        let n = data.count, d = data.dimension, p = coefficientCount(dimension: d)
        guard p >= 1 else { throw .dimensionMismatch(expected: 1, got: 0) }
        let needed = rowsNeeded(coefficients: p)
        guard n >= needed else { throw .tooFewRows(needed: needed, got: n) }
        guard data.design.isFinite && data.targets.allSatisfy({ $0.isFinite }) else { throw .nonFiniteData }
        let z = augmented(data.design)
        if let factorization = try? LeastSquares(design: z) {
            return try fit(targets: data.targets, using: factorization)
        }
        return minimumNormFit(z, data.targets, dimension: d)
    }

    /// Refits a fixed design to new targets, reusing its QR factorisation (from `factorize(design:)`
    /// with these same settings): O(n p) per call instead of O(n p²).
    ///
    /// - Throws: `.tooFewRows(needed: p + 1, got: n)` with estimated noise and n = p;
    ///   `.nonFiniteData` for NaN/inf targets.
    /// - Precondition: `targets.count == factorization.rows`; the factorisation has at least the
    ///   intercept column when `intercept` (i.e. it came from `factorize(design:)`).
    public func fit(targets: [Double], using factorization: LeastSquares) throws(FitError) -> FittedLinearRegression {
        precondition(targets.count == factorization.rows,
                     "fit(targets:using:): the factorised design has \(factorization.rows) rows, got \(targets.count) targets")
        let n = factorization.rows, p = factorization.columns
        let d = p - (intercept ? 1 : 0)
        precondition(d >= 0, "fit(targets:using:): intercept requested but the factorised design has \(p) columns")
        let needed = rowsNeeded(coefficients: p)
        guard n >= needed else { throw .tooFewRows(needed: needed, got: n) }
        guard targets.allSatisfy({ $0.isFinite }) else { throw .nonFiniteData }
        let (theta, rss) = factorization.solve(targets, residual: needsResidual)
        return FittedLinearRegression(coefficients: Array(theta[0..<d]), intercept: intercept ? theta[d] : 0,
                                      noiseVariance: noiseVariance(rss: rss, residualDegreesOfFreedom: n - p),
                                      rankDeficient: false)
    }

    /// Fits the factorised design stacked k times, copy i labelled `stackedTargets[i]`: the
    /// training set of fixed-design regression under accumulation, where every generation adds
    /// new labels for the same design rows. See `StackedLabels` for the identity used; with
    /// k = 1 this is `fit(targets:using:)` exactly.
    ///
    /// - Precondition: k >= 1 and every vector has `factorization.rows` entries.
    /// - Throws: as `fit(targets:using:)`, with n = k T.
    public func fit(stackedTargets: [[Double]], using factorization: LeastSquares) throws(FitError) -> FittedLinearRegression {
        precondition(!stackedTargets.isEmpty, "fit(stackedTargets:using:) needs at least one label vector")
        var labels = StackedLabels(rows: factorization.rows)
        for y in stackedTargets { try labels.append(y) }
        return try fit(stacked: labels, using: factorization)
    }

    /// Fits the factorised design stacked `labels.count` times with the gathered label vectors
    /// (`fit(stackedTargets:using:)` with the vectors appended so far).
    public func fit(stacked labels: StackedLabels, using factorization: LeastSquares) throws(FitError) -> FittedLinearRegression {
        precondition(labels.count >= 1, "fit(stacked:using:) needs at least one label vector")
        precondition(labels.rows == factorization.rows,
                     "fit(stacked:using:): the factorised design has \(factorization.rows) rows, the labels \(labels.rows)")
        if labels.count == 1 { return try fit(targets: labels.first, using: factorization) }
        let t = factorization.rows, p = factorization.columns, k = labels.count
        let d = p - (intercept ? 1 : 0)
        let needed = rowsNeeded(coefficients: p)
        guard k * t >= needed else { throw .tooFewRows(needed: needed, got: k * t) }
        let (theta, rssOfMean) = factorization.solve(labels.mean, residual: needsResidual)
        let rss = Double(k) * rssOfMean + labels.scatter
        return FittedLinearRegression(coefficients: Array(theta[0..<d]), intercept: intercept ? theta[d] : 0,
                                      noiseVariance: noiseVariance(rss: rss, residualDegreesOfFreedom: k * t - p),
                                      rankDeficient: false)
    }

    /// Whether fits need the residual sum of squares (estimated noise).
    var needsResidual: Bool {
        if case .estimated = noise { return true }
        return false
    }

    func noiseVariance(rss: Double, residualDegreesOfFreedom dof: Int) -> Double {
        switch noise {
        case .estimated: return rss / Double(dof)
        case let .known(s): return s * s
        }
    }

    /// The minimum-norm least-squares fit through the eigen-decomposition of the Gram matrix.
    /// Only used for rank-deficient designs, so squaring the condition number costs nothing the
    /// rank cut does not already discard.
    func minimumNormFit(_ z: Matrix, _ y: [Double], dimension d: Int) -> FittedLinearRegression {
        let n = z.rows, p = z.columns
        var theta = [Double](repeating: 0, count: p)
        var rank = 0
        if n > 0, let eigen = try? SymmetricEigen(z.gram()) {
            let largest = eigen.values.last ?? 0
            let cut = Double(max(n, p)) * Double.ulpOfOne * largest
            let zty = z.multiplied(by: y, transpose: .transpose)
            for j in 0..<p where largest > 0 && eigen.values[j] > cut {
                rank += 1
                var projection = 0.0
                for i in 0..<p { projection += eigen.vectors[i, j] * zty[i] }
                let scale = projection / eigen.values[j]
                for i in 0..<p { theta[i] += scale * eigen.vectors[i, j] }
            }
        }
        let fitted = z.multiplied(by: theta)
        var rss = 0.0
        for i in 0..<n { rss += (y[i] - fitted[i]) * (y[i] - fitted[i]) }
        return FittedLinearRegression(coefficients: Array(theta[0..<d]), intercept: intercept ? theta[d] : 0,
                                      noiseVariance: noiseVariance(rss: rss, residualDegreesOfFreedom: n - rank),
                                      rankDeficient: true)
    }
}

/// A fitted linear regression: y | x ~ N(x·w + b, sigma²), with fresh design rows x ~ N(0, I_d).
///
/// `noiseVariance == 0` is the collapsed limit (labels are exactly x·w + b): `.zeroVariance`.
public struct FittedLinearRegression: FittedModel, Hashable {
    /// w, one per design column.
    public let coefficients: [Double]
    /// b (0 when the model has no intercept).
    public let intercept: Double
    /// sigma²: the estimate s² or the known value.
    public let noiseVariance: Double
    /// `.zeroVariance` when sigma² = 0, else `.rankDeficientDesign` for a rank-deficient
    /// (minimum-norm) fit, else `nil`.
    public let degeneracy: Degeneracy?

    /// A model with given parameters (e.g. the real data process).
    ///
    /// - Precondition: finite coefficients and intercept, finite `noiseVariance >= 0`.
    public init(coefficients: [Double], intercept: Double = 0, noiseVariance: Double) {
        self.init(coefficients: coefficients, intercept: intercept, noiseVariance: noiseVariance, rankDeficient: false)
    }

    init(coefficients: [Double], intercept: Double, noiseVariance: Double, rankDeficient: Bool) {
        precondition(coefficients.allSatisfy { $0.isFinite } && intercept.isFinite,
                     "FittedLinearRegression needs finite coefficients, got \(coefficients), intercept \(intercept)")
        precondition(noiseVariance.isFinite && noiseVariance >= 0,
                     "FittedLinearRegression needs a finite non-negative noise variance, got \(noiseVariance)")
        self.coefficients = coefficients
        self.intercept = intercept
        self.noiseVariance = noiseVariance
        self.degeneracy = noiseVariance == 0 ? .zeroVariance : (rankDeficient ? .rankDeficientDesign : nil)
    }

    /// d, the number of features.
    public var dimension: Int { coefficients.count }
    /// sigma.
    public var noiseStandardDeviation: Double { noiseVariance.squareRoot() }

    /// The conditional means `X w + b`, one per row (BLAS dgemv).
    ///
    /// - Precondition: `design.columns == dimension`.
    /// - Complexity: O(n d).
    public func predict(_ design: Matrix) -> [Double] {
        precondition(design.columns == dimension,
                     "predict: model has \(dimension) coefficients, design is \(design.shapeDescription)")
        var mean = design.multiplied(by: coefficients)
        if intercept != 0 { for i in mean.indices { mean[i] += intercept } }
        return mean
    }

    /// Labels for a given design (the `fixed` design mode): `y_i = x_i·w + b + e_i` with
    /// `e_i ~ N(0, tau² sigma²)`; with `truncation` c, `e_i` is restricted to `[-c sigma, c sigma]`
    /// (exact truncated-normal draws). Draws n normals from the stream, none when sigma = 0.
    ///
    /// - Precondition: `design.columns == dimension`; `temperature > 0`.
    /// - Complexity: O(n d).
    public func labels<R: RandomStream>(for design: Matrix, options: SamplingOptions, using rng: inout R) -> RegressionData {
        let tau = options.temperature
        precondition(tau > 0 && tau.isFinite, "sampling temperature must be finite and > 0, got \(tau)")
        var y = predict(design)
        let sigma = noiseStandardDeviation
        if sigma > 0 && !y.isEmpty {
            var e = [Double](repeating: 0, count: y.count)
            e.withUnsafeMutableBufferPointer { buffer in
                if let c = options.truncation {
                    TruncatedNormal(mean: 0, standardDeviation: tau * sigma, lower: -c * sigma, upper: c * sigma)
                        .fill(buffer, using: &rng)
                } else {
                    StandardNormal.fill(buffer, using: &rng)
                    for i in buffer.indices { buffer[i] *= tau * sigma }
                }
            }
            for i in y.indices { y[i] += e[i] }
        }
        return RegressionData(design: design, targets: y)
    }

    /// `count` fresh examples (the `fresh` design mode): design rows x ~ N(0, I_d) (count · d
    /// normals, row by row), then labels as `labels(for:options:using:)` draws them. Temperature
    /// and truncation act on the label noise only, not on the design.
    ///
    /// - Precondition: `count >= 0`.
    /// - Complexity: O(count · d).
    public func sample<R: RandomStream>(count: Int, options: SamplingOptions, using rng: inout R) -> RegressionData {
        precondition(count >= 0, "sample count must be non-negative, got \(count)")
        let x = Matrix(rows: count, columns: dimension) { StandardNormal.fill($0, using: &rng) }
        return labels(for: x, options: options, using: &rng)
    }

    /// The conditional log-density of each target, `log N(y_i | x_i·w + b, sigma²)` (the design
    /// rows' own density is not included). With sigma = 0: +inf where `y_i` equals the mean
    /// exactly, -inf elsewhere.
    ///
    /// - Precondition: `data.dimension == dimension`.
    /// - Complexity: O(n d).
    public func logDensities(_ data: RegressionData) -> [Double] {
        let mean = predict(data.design)
        if noiseVariance == 0 {
            return zip(data.targets, mean).map { $0 == $1 ? .infinity : -.infinity }
        }
        let sigma = noiseStandardDeviation, logSigma = Foundation.log(sigma)
        return zip(data.targets, mean).map { SpecialFunctions.normalLogDensity(($0 - $1) / sigma) - logSigma }
    }
}

/// k label vectors y₁ … y_k for the same T design rows, gathered one at a time in O(T) each: the
/// sufficient statistics of least squares on the design stacked k times.
///
/// With ȳ the mean vector, `Σᵢ |yᵢ - Zθ|² = k |ȳ - Zθ|² + S` with the scatter `S = Σᵢ |yᵢ - ȳ|²`, so
/// the stacked problem has the coefficients of ȳ and RSS = k RSS(ȳ) + S, with n = k T. The mean
/// is the running sum divided by k (the sum in append order); S is updated by Chan et al.'s
/// pairwise rule `S_k = S_{k-1} + (k-1)/k |y_k - ȳ_{k-1}|²`, which has no cancellation.
/// The result agrees with a QR fit of the stacked data to rounding (both are backward stable).
public struct StackedLabels: Sendable {
    /// T, the entries of every vector.
    public let rows: Int
    /// k, the vectors appended.
    public private(set) var count = 0
    /// The first vector as given (k = 1 fits use it unchanged).
    public private(set) var first: [Double] = []
    private var sum: [Double]
    /// S = Σᵢ |yᵢ - ȳ|².
    public private(set) var scatter = 0.0

    public init(rows: Int) {
        precondition(rows >= 0, "StackedLabels needs rows >= 0, got \(rows)")
        self.rows = rows
        sum = [Double](repeating: 0, count: rows)
    }

    /// Adds one label vector. - Throws: `.nonFiniteData` (and leaves the labels unchanged).
    public mutating func append(_ y: [Double]) throws(FitError) {
        precondition(y.count == rows, "StackedLabels: expected \(rows) labels, got \(y.count)")
        guard y.allSatisfy({ $0.isFinite }) else { throw .nonFiniteData }
        if count == 0 { first = y }
        if count > 0 {
            let previous = Double(count)
            var squares = 0.0
            for i in 0..<rows {
                let delta = y[i] - sum[i] / previous
                squares += delta * delta
            }
            scatter += previous / (previous + 1) * squares
        }
        for i in 0..<rows { sum[i] += y[i] }
        count += 1
    }

    /// ȳ, the mean vector (each entry the running sum divided by k).
    public var mean: [Double] {
        let k = Double(count)
        return sum.map { $0 / k }
    }
}

import CollapseCore
import Foundation

/// How a kernel density estimate chooses its kernel covariance H (config key `bandwidth`).
///
/// * `scott`, `silverman`: H = f² S, where S is the training rows' unbiased sample covariance
///   (divide by n - 1) and f is the factor of `scipy.stats.gaussian_kde`:
///   Scott f = n^(-1/(d+4)), Silverman f = (n (d+2) / 4)^(-1/(d+4)). The estimate then equals
///   `scipy.stats.gaussian_kde(data.T, bw_method="scott" | "silverman")`.
/// * `fixed(h)`: H = h² I, with h > 0 the kernel's standard deviation in data units, as in
///   `sklearn.neighbors.KernelDensity(kernel="gaussian", bandwidth=h)`.
///
/// JSON / config form: the string `"scott"` or `"silverman"`, or a number (`0.5`).
public enum KernelBandwidth: Sendable, Equatable, Hashable, Codable, CustomStringConvertible {
    case scott
    case silverman
    case fixed(Double)

    /// The factor f with H = f² S for the data-driven rules (scipy's `covariance_factor()`), or h
    /// for a fixed bandwidth (then H = h² I).
    /// - Precondition: `rows >= 1`, `dimension >= 1`.
    public func factor(rows n: Int, dimension d: Int) -> Double {
        precondition(n >= 1 && d >= 1, "bandwidth factor needs n >= 1 rows and d >= 1 columns, got n = \(n), d = \(d)")
        let exponent = -1.0 / Double(d + 4)
        switch self {
        case .scott: return Foundation.pow(Double(n), exponent)
        case .silverman: return Foundation.pow(Double(n) * Double(d + 2) / 4, exponent)
        case let .fixed(h): return h
        }
    }

    /// Whether H is derived from the data (`scott`, `silverman`) rather than fixed.
    public var isDataDriven: Bool {
        if case .fixed = self { return false }
        return true
    }

    public var description: String {
        switch self {
        case .scott: return "scott"
        case .silverman: return "silverman"
        case let .fixed(h): return "\(h)"
        }
    }

    public init(from decoder: Decoder) throws {
        let container = try decoder.singleValueContainer()
        if let name = try? container.decode(String.self) {
            switch name {
            case "scott": self = .scott
            case "silverman": self = .silverman
            default:
                // Some config decoders hand numbers over as text.
                if let h = Double(name) {
                    self = .fixed(h)
                    return
                }
                throw DecodingError.dataCorruptedError(in: container, debugDescription:
                    "bandwidth must be \"scott\", \"silverman\" or a positive number (the kernel's standard deviation), got \"\(name)\"")
            }
            return
        }
        guard let h = try? container.decode(Double.self) else {
            throw DecodingError.dataCorruptedError(in: container, debugDescription:
                "bandwidth must be \"scott\", \"silverman\" or a positive number (the kernel's standard deviation)")
        }
        self = .fixed(h)
    }

    public func encode(to encoder: Encoder) throws {
        var container = encoder.singleValueContainer()
        switch self {
        case .scott: try container.encode("scott")
        case .silverman: try container.encode("silverman")
        case let .fixed(h): try container.encode(h)
        }
    }
}

/// `kde`: the Gaussian kernel density estimate p(x) = (1/n) sum_i N(x | x_i, H) of the n training
/// rows, with the kernel covariance H chosen by `bandwidth` (Scott, Silverman or fixed; see
/// `KernelBandwidth`). Fitting needs no randomness and stores the training rows.
///
/// Sampling draws a training row uniformly and adds kernel noise N(0, tau² H). The estimate's
/// covariance is the training rows' MLE covariance plus H, so in 1-D a refit on M of its own
/// samples has E[s²_next] = (M-1)/M (s² + h²): unlike the `gaussian` family the spread grows
/// (with Scott's rule by about the factor (1 + f²)(M-1)/M per generation) while fine structure
/// such as separate modes is smoothed away. Degenerate data are results, not errors (see
/// `FittedKernelDensity`).
public struct KernelDensityModel: GenerativeModel {
    public var bandwidth: KernelBandwidth

    public init(bandwidth: KernelBandwidth = .scott) {
        self.bandwidth = bandwidth
    }

    /// Decodes `bandwidth`, defaulting to `scott` when the key is absent.
    public init(from decoder: Decoder) throws {
        let container = try decoder.container(keyedBy: CodingKeys.self)
        bandwidth = try container.decodeIfPresent(KernelBandwidth.self, forKey: .bandwidth) ?? .scott
    }

    private enum CodingKeys: String, CodingKey { case bandwidth }

    /// A fixed bandwidth must be a finite number > 0.
    public func validate() throws(ModelSettingsError) {
        if case let .fixed(h) = bandwidth, !(h.isFinite && h > 0) {
            throw ModelSettingsError(key: "bandwidth", "must be \"scott\", \"silverman\" or a finite number > 0 (the kernel's standard deviation in data units), got \(h)")
        }
    }

    /// Stores the rows and computes H (see `FittedKernelDensity`); the stream is not used.
    ///
    /// - Throws: `FitError.tooFewRows(needed: 2, got: n)` for `scott` / `silverman` with n < 2 (S
    ///   needs n - 1 > 0), `.tooFewRows(needed: 1, got: 0)` for a fixed bandwidth without rows,
    ///   `.dimensionMismatch` for zero columns, `.nonFiniteData` for NaN or infinite entries.
    /// - Precondition: a fixed bandwidth is finite and > 0 (`validate()`).
    /// - Complexity: O(n d² + d³).
    public func fit<R: RandomStream>(_ data: Matrix, using rng: inout R) throws(FitError) -> FittedKernelDensity {
        try FittedKernelDensity(trainingRows: data, bandwidth: bandwidth)
    }
}

/// A fitted Gaussian kernel density estimate p(x) = (1/n) sum_i N(x | x_i, H).
///
/// Readable parameters: `trainingRows` (n × d), `bandwidth` (the rule), `bandwidthFactor` (f with
/// H = f² S, or h with H = h² I), `kernelCovariance` H, `mean` (the training mean, which is the
/// estimate's mean) and `covariance` (the estimate's covariance: training MLE covariance + H).
///
/// Degenerate fits (data-driven bandwidths only; a fixed bandwidth always gives a density):
/// * identical training rows: S = 0, H = 0, `degeneracy == .zeroVariance`, a point mass at the
///   row: samples equal it, `logDensities` is +inf there and -inf elsewhere;
/// * S singular but non-zero (collinear rows, or n <= d): `.singularCovariance`; samples get
///   kernel noise on the rows' affine span through the symmetric square root of H, and
///   `logDensities` is -inf (the estimate has no density on R^d).
///
/// Codable form: `{"bandwidth": ..., "trainingRows": ...}`; decoding refits, so every derived
/// value is recomputed bit for bit.
public struct FittedKernelDensity: FittedModel, Equatable {
    /// The n × d training rows, as given to `fit`.
    public let trainingRows: Matrix
    /// The bandwidth rule the estimate was fitted with.
    public let bandwidth: KernelBandwidth
    /// f with H = f² S (scipy's `factor`) for `scott` / `silverman`; h with H = h² I for `fixed(h)`.
    public let bandwidthFactor: Double
    /// The kernel covariance H (d × d).
    public let kernelCovariance: Matrix
    /// The training mean (1/n) sum_i x_i, the mean of the estimate.
    public let mean: [Double]
    /// The covariance of the estimate as a distribution: (1/n) sum_i (x_i - mean)(x_i - mean)ᵀ + H.
    public let covariance: Matrix
    public let degeneracy: Degeneracy?
    /// F with F Fᵀ = H: the Cholesky factor of H (lower triangular) for a regular fit, the
    /// symmetric square root V diag(sqrt(max(lambda, 0))) Vᵀ for a singular one, 0 for a point mass.
    public let samplingFactor: Matrix
    let factorIsLowerTriangular: Bool
    /// The training rows centred on `mean` and whitened by the Cholesky factor L of H,
    /// (x_i - mean) L⁻ᵀ, cut into tiles of `tileRows` rows; the last tile is padded with zero rows.
    let whitenedTiles: [Matrix]
    /// |w_i|² / 2 for each whitened row in tile order; +inf for the padding rows (so they add 0).
    let halfSquaredNorms: [Double]
    let tileRows: Int
    /// -(d/2) log(2 pi) - (1/2) log det H - log n.
    let logNormaliser: Double
    /// Turns centred rows into squared Mahalanobis radii under `covariance` (for truncation).
    let radius: KernelDensityRadius

    /// Fits the estimate (the work behind `KernelDensityModel.fit`; see there for the errors).
    init(trainingRows x: Matrix, bandwidth: KernelBandwidth) throws(FitError) {
        let n = x.rows, d = x.columns
        guard d >= 1 else { throw .dimensionMismatch(expected: 1, got: 0) }
        let needed = bandwidth.isDataDriven ? 2 : 1
        guard n >= needed else { throw .tooFewRows(needed: needed, got: n) }
        guard x.isFinite else { throw .nonFiniteData }
        if case let .fixed(h) = bandwidth {
            precondition(h.isFinite && h > 0, "kde bandwidth must be finite and > 0, got \(h) (call validate() first)")
        }
        self.trainingRows = x
        self.bandwidth = bandwidth
        let f = bandwidth.factor(rows: n, dimension: d)
        bandwidthFactor = f

        let allEqual = x.storage.withUnsafeBufferPointer { p in
            (d..<(n * d)).allSatisfy { p[$0] == p[$0 % d] }
        }
        var mean: [Double]
        var mleCovariance: Matrix
        if allEqual {
            mean = x.row(0)
            mleCovariance = Matrix(rows: d, columns: d)
        } else {
            (mean, mleCovariance) = x.covariance(ddof: 0)
        }

        // The kernel covariance H, its factor, and the degeneracy.
        var h: Matrix
        var lower: Matrix? = nil
        var degeneracy: Degeneracy? = nil
        switch bandwidth {
        case let .fixed(width):
            h = Matrix.diagonal([Double](repeating: width * width, count: d))
            lower = Matrix.diagonal([Double](repeating: width, count: d))
        case .scott, .silverman:
            if allEqual {
                h = Matrix(rows: d, columns: d)
                degeneracy = .zeroVariance
            } else {
                let s = x.covariance(ddof: 1).covariance
                h = s
                h.scale(by: f * f)
                var scale = 0.0
                for j in 0..<d { scale = max(scale, s[j, j]) }
                // Same singularity rule as the mvn family: centred rows span at most n - 1
                // dimensions; otherwise a Cholesky pivot L_jj² <= d ε max_j S_jj counts as zero.
                let threshold = Double(d) * Double.ulpOfOne * scale
                if scale == 0 {
                    degeneracy = .zeroVariance   // rows differ by less than the double range resolves
                } else if n - 1 >= d, let chol = try? Cholesky(s),
                          (0..<d).allSatisfy({ chol.lower[$0, $0] * chol.lower[$0, $0] > threshold }) {
                    var l = chol.lower
                    l.scale(by: f)                // L = f chol(S), exactly as scipy's cho_cov
                    lower = l
                } else {
                    degeneracy = .singularCovariance
                }
            }
        }
        if degeneracy == .zeroVariance {
            mleCovariance = Matrix(rows: d, columns: d)
            h = Matrix(rows: d, columns: d)
        }
        self.mean = mean
        kernelCovariance = h
        self.degeneracy = degeneracy
        var covariance = mleCovariance
        covariance.add(h)
        self.covariance = covariance

        switch degeneracy {
        case nil:
            let l = lower!
            samplingFactor = l
            factorIsLowerTriangular = true
            let factor = Cholesky(uncheckedLower: l)
            var centred = x
            centred.storage.withUnsafeMutableBufferPointer { p in
                for i in 0..<n { for j in 0..<d { p[i * d + j] -= mean[j] } }
            }
            factor.whitenRows(&centred)
            (whitenedTiles, halfSquaredNorms, tileRows) = Self.tiles(of: centred)
            logNormaliser = -0.5 * Double(d) * Foundation.log(2 * Double.pi) - 0.5 * factor.logDeterminant - Foundation.log(Double(n))
            radius = KernelDensityRadius(covariance: covariance)
        case .zeroVariance:
            samplingFactor = Matrix(rows: d, columns: d)
            factorIsLowerTriangular = true
            (whitenedTiles, halfSquaredNorms, tileRows, logNormaliser) = ([], [], 0, .infinity)
            radius = .pseudoInverseRoot(Matrix(rows: d, columns: d))
        default:
            samplingFactor = KernelDensityRadius.symmetricRoot(of: h, inverse: false)
            factorIsLowerTriangular = false
            (whitenedTiles, halfSquaredNorms, tileRows, logNormaliser) = ([], [], 0, -.infinity)
            radius = .pseudoInverseRoot(KernelDensityRadius.symmetricRoot(of: covariance, inverse: true))
        }
    }

    public static func == (a: FittedKernelDensity, b: FittedKernelDensity) -> Bool {
        a.bandwidth == b.bandwidth && a.trainingRows == b.trainingRows
    }

    private enum CodingKeys: String, CodingKey { case bandwidth, trainingRows }

    public init(from decoder: Decoder) throws {
        let container = try decoder.container(keyedBy: CodingKeys.self)
        let bandwidth = try container.decode(KernelBandwidth.self, forKey: .bandwidth)
        let rows = try container.decode(Matrix.self, forKey: .trainingRows)
        if case let .fixed(h) = bandwidth, !(h.isFinite && h > 0) {
            throw DecodingError.dataCorruptedError(forKey: .bandwidth, in: container, debugDescription: "bandwidth must be finite and > 0, got \(h)")
        }
        do {
            try self.init(trainingRows: rows, bandwidth: bandwidth)
        } catch {
            throw DecodingError.dataCorruptedError(forKey: .trainingRows, in: container, debugDescription: "cannot refit the stored rows: \(error)")
        }
    }

    public func encode(to encoder: Encoder) throws {
        var container = encoder.container(keyedBy: CodingKeys.self)
        try container.encode(bandwidth, forKey: .bandwidth)
        try container.encode(trainingRows, forKey: .trainingRows)
    }

    /// The dimension d.
    public var dimension: Int { trainingRows.columns }

    /// The Cholesky factorisation H = L Lᵀ (L = f chol(S) for the data-driven rules, h I for a
    /// fixed bandwidth); `nil` for a degenerate fit, whose H is singular.
    public var kernelCholesky: Cholesky? {
        degeneracy == nil ? Cholesky(uncheckedLower: samplingFactor) : nil
    }

    /// The estimate's variance for 1-D data: training MLE variance + kernel variance.
    /// - Precondition: `dimension == 1`.
    public var variance: Double {
        precondition(dimension == 1, "variance is for 1-D estimates; this one has dimension \(dimension) (use covariance)")
        return covariance[0, 0]
    }

    /// Rows x_J + tau F z: J uniform over the training rows, z ~ N(0, I_d), F Fᵀ = H, so each
    /// row is drawn from the estimate with its kernel noise scaled by the temperature tau
    /// (tau = 0 resamples training rows). With `truncation` c, a row whose Mahalanobis radius
    /// |x - mean| under `covariance` (the estimate's, before temperature) exceeds c is redrawn
    /// whole (row index and noise) until it is inside: the estimate restricted to that ball.
    ///
    /// Stream consumption, in this order: `count` indices (`nextInt(below: n)`, row order), then
    /// `count · d` standard normals (`StandardNormal.fill`, row-major); then, with truncation, for
    /// each rejected row in row order, one index and d normals (`StandardNormal.next`) per
    /// attempt. A point mass (`.zeroVariance`) consumes nothing.
    ///
    /// - Precondition: `count >= 0`; temperature finite and >= 0; truncation, if set, > 0.
    /// - Complexity: O(count d²) plus the redraws; the expected attempts per truncated row are
    ///   1 / P(radius <= c) (a small c in high dimension can make that huge: callers validate c).
    public func sample<R: RandomStream>(count: Int, options: SamplingOptions, using rng: inout R) -> Matrix {
        precondition(count >= 0, "sample count must be non-negative, got \(count)")
        let tau = options.temperature
        precondition(tau.isFinite && tau >= 0, "kde sampling temperature must be finite and >= 0, got \(tau)")
        if let c = options.truncation { precondition(c > 0, "kde truncation radius must be > 0, got \(c)") }
        let d = dimension, n = trainingRows.rows
        if count == 0 { return Matrix(rows: 0, columns: d) }
        if degeneracy == .zeroVariance {
            return Matrix(rows: count, columns: d) { p in
                for i in 0..<count { for j in 0..<d { p[i * d + j] = mean[j] } }
            }
        }
        var indices = [Int](repeating: 0, count: count)
        for i in 0..<count { indices[i] = rng.nextInt(below: n) }
        var noise = Matrix(rows: count, columns: d) { StandardNormal.fill($0, using: &rng) }
        if factorIsLowerTriangular {
            Cholesky(uncheckedLower: samplingFactor).colourRows(&noise)
        } else {
            noise = Matrix.product(noise, .none, samplingFactor, .transpose)
        }
        var out = Matrix(rows: count, columns: d) { p in
            trainingRows.storage.withUnsafeBufferPointer { x in
                noise.storage.withUnsafeBufferPointer { e in
                    for i in 0..<count {
                        let base = indices[i] * d
                        for j in 0..<d { p[i * d + j] = x[base + j] + tau * e[i * d + j] }
                    }
                }
            }
        }
        guard let c = options.truncation else { return out }
        let limit = c * c
        var centred = out
        centred.storage.withUnsafeMutableBufferPointer { p in
            for i in 0..<count { for j in 0..<d { p[i * d + j] -= mean[j] } }
        }
        let radii = radius.squaredRadii(of: centred)
        var z = [Double](repeating: 0, count: d)
        var row = [Double](repeating: 0, count: d)
        for i in 0..<count where !(radii[i] <= limit) {
            repeat {
                let base = rng.nextInt(below: n) * d
                for j in 0..<d { z[j] = StandardNormal.next(using: &rng) }
                samplingFactor.storage.withUnsafeBufferPointer { f in
                    for a in 0..<d {
                        var s = 0.0
                        for b in 0..<d { s += f[a * d + b] * z[b] }
                        row[a] = trainingRows.storage[base + a] + tau * s
                    }
                }
            } while !(radius.squaredRadius(of: (0..<d).map { row[$0] - mean[$0] }) <= limit)
            for j in 0..<d { out[i, j] = row[j] }
        }
        return out
    }

    /// log p(q) = log((1/n) sum_i N(q | x_i, H)) for each row q (untempered, untruncated).
    ///
    /// Both the training rows and the queries are centred on `mean` and whitened by the Cholesky
    /// factor L of H, which makes every kernel isotropic: with w = L⁻¹(q - mean) and
    /// v_i = L⁻¹(x_i - mean), the exponents are t_i = -|w - v_i|²/2 = w·v_i - |w|²/2 - |v_i|²/2
    /// (the products w·v_i by BLAS dgemm, the result clamped at 0 so a squared distance is never
    /// negative). Each query's terms are combined by a max-shifted logsumexp:
    /// log p = log C + M + log sum_i exp(t_i - M), M = max_i t_i, C the normaliser; the nearest
    /// kernel's term is exactly exp(0) = 1, so a query a million bandwidths away gets the finite
    /// value dominated by -|w - v_nearest|²/2 rather than log(0). Terms below e^-708.4 are flushed
    /// to 0 (they cannot change a sum >= 1). Queries with |w|²/2 > 2^1000 take a scalar path with
    /// explicit differences, so nothing overflows before the true squared distance does.
    ///
    /// Caller may rely on: finite results for finite queries unless the squared whitened distance
    /// itself overflows (about 1e154 kernel standard deviations: -inf); NaN only for NaN input;
    /// agreement with a direct evaluation (and scipy's `gaussian_kde.logpdf`) to a few 1e-15
    /// relative (the vectorised exponential is within 4 ulp). Degenerate fits: see the type's
    /// documentation.
    /// Memory: queries are processed in blocks of `queryBlockRows` against tiles of at most
    /// `maxTileRows` training rows, so the work space is O(queryBlockRows · maxTileRows).
    ///
    /// - Precondition: `data.columns == dimension`.
    /// - Complexity: O(m n d) flops and m n exponentials for m queries.
    public func logDensities(_ data: Matrix) -> [Double] {
        precondition(data.columns == dimension, "logDensities: model has dimension \(dimension), rows have \(data.columns) columns")
        let m = data.rows, d = dimension
        switch degeneracy {
        case nil:
            return regularLogDensities(data)
        case .zeroVariance:
            return (0..<m).map { i in
                var equal = true
                for j in 0..<d {
                    let v = data.storage[i * d + j]
                    if v.isNaN { return .nan }
                    if v != mean[j] { equal = false }
                }
                return equal ? .infinity : -.infinity
            }
        default:
            return (0..<m).map { i in (0..<d).contains { data.storage[i * d + $0].isNaN } ? .nan : -.infinity }
        }
    }
}

// MARK: - Log-density kernel sums

extension FittedKernelDensity {
    /// Queries per block of `logDensities`. 16 rather than 64: the 200-row holdout of a typical
    /// `nll_real` then makes 13 blocks instead of 4, which balance over two cores (7 + 6 blocks;
    /// with 32 rows, 4 + 3). Each query's value does not depend on the block size (checked with
    /// 64, 32 and 16 on every kde config in Experiments/ and Scripts/bench/: identical bytes).
    static let queryBlockRows = 16
    /// The largest training tile (rows); tiles are as equal as possible and a multiple of 8 rows.
    static let maxTileRows = 1024
    /// Whitened half squared norms above this go through the overflow-safe scalar path
    /// (2^1000: then |w·v| <= 2 sqrt(|w|²|v|²/4) and w·v - |w|²/2 - |v|²/2 cannot overflow).
    static let fastPathLimit = 0x1p1000

    /// Cuts whitened rows into equal tiles (a multiple of 8 rows each, the last padded with zero
    /// rows whose half squared norm is +inf).
    static func tiles(of whitened: Matrix) -> (tiles: [Matrix], halfSquaredNorms: [Double], tileRows: Int) {
        let n = whitened.rows, d = whitened.columns
        let tileCount = (n + maxTileRows - 1) / maxTileRows
        let perTile = (n + tileCount - 1) / tileCount
        let tileRows = (perTile + 7) / 8 * 8
        var tiles: [Matrix] = []
        var norms = [Double](repeating: .infinity, count: tileCount * tileRows)
        for t in 0..<tileCount {
            let start = t * tileRows
            let stop = min(n, start + tileRows)
            var tile = Matrix(rows: tileRows, columns: d)
            if start < stop {
                tile.storage.replaceSubrange(0..<((stop - start) * d), with: whitened.storage[(start * d)..<(stop * d)])
            }
            for i in start..<max(start, stop) {
                var s = 0.0
                for j in 0..<d { s += whitened.storage[i * d + j] * whitened.storage[i * d + j] }
                if s.isFinite {
                    norms[i] = 0.5 * s
                } else {
                    // A row beyond ~1e154 kernel standard deviations from the mean: its kernel
                    // adds exactly 0 at every query that is not itself that far out.
                    for j in 0..<d { tile.storage[(i - start) * d + j] = 0 }
                }
            }
            tiles.append(tile)
        }
        return (tiles, norms, tileRows)
    }

    /// The regular fit's log-densities (see `logDensities`).
    func regularLogDensities(_ data: Matrix) -> [Double] {
        let m = data.rows
        var out = [Double](repeating: -.infinity, count: m)
        if m == 0 { return out }
        let factor = Cholesky(uncheckedLower: samplingFactor)
        let trainingFast = halfSquaredNorms.allSatisfy { !($0 > Self.fastPathLimit) || $0 == .infinity }
        let blocks = (m + Self.queryBlockRows - 1) / Self.queryBlockRows
        // Blocks of queries are independent and each is computed the same way wherever it runs
        // (same shapes, single-threaded BLAS), so large evaluations use every core with the same
        // bits as a sequential one.
        let work = Double(m) * Double(trainingRows.rows) * Double(max(dimension, 1))
        out.withUnsafeMutableBufferPointer { buffer in
            nonisolated(unsafe) let output = buffer.baseAddress!
            if blocks > 1 && work >= Self.parallelWork {
                ParallelWork.forEach(blocks) { b in
                    logDensities(data, block: b, factor: factor, trainingFast: trainingFast, into: output)
                }
            } else {
                for b in 0..<blocks { logDensities(data, block: b, factor: factor, trainingFast: trainingFast, into: output) }
            }
        }
        return out
    }

    /// Kernel work (queries x training rows x d) from which `regularLogDensities` splits its query
    /// blocks over the cores.
    static let parallelWork = 4e6

    /// Log-densities of query block `b` (rows B b ..< B b + B, B = `queryBlockRows`) into `out`.
    private func logDensities(_ data: Matrix, block b: Int, factor: Cholesky, trainingFast: Bool, into out: UnsafeMutablePointer<Double>) {
        let m = data.rows, d = dimension
        let width = tileRows
        do {
            let start = b * Self.queryBlockRows
            let rows = min(Self.queryBlockRows, m - start)
            var products = Matrix(rows: rows, columns: width)
            var w = Matrix(rows: rows, columns: d, storage: Array(data.storage[(start * d)..<((start + rows) * d)]))
            var hasNaN = [Bool](repeating: false, count: rows)
            w.storage.withUnsafeMutableBufferPointer { p in
                for i in 0..<rows {
                    for j in 0..<d {
                        if p[i * d + j].isNaN { hasNaN[i] = true }
                        p[i * d + j] -= mean[j]
                    }
                }
            }
            factor.whitenRows(&w)
            // Which queries take the BLAS path, the scalar path, or are decided outright.
            var halfNorm = [Double](repeating: 0, count: rows)
            var fast = [Bool](repeating: false, count: rows)
            for i in 0..<rows {
                var s = 0.0, finite = true
                for j in 0..<d {
                    let v = w.storage[i * d + j]
                    if !v.isFinite { finite = false }
                    s += v * v
                }
                halfNorm[i] = 0.5 * s
                if hasNaN[i] {
                    out[start + i] = .nan
                } else if !finite {
                    out[start + i] = -.infinity  // the whitened distance itself overflows
                } else if trainingFast && halfNorm[i] <= Self.fastPathLimit {
                    fast[i] = true
                } else {
                    out[start + i] = scalarLogDensity(whitened: Array(w.storage[(i * d)..<((i + 1) * d)]))
                }
            }
            var runningMax = [Double](repeating: -.infinity, count: rows)
            var runningSum = [Double](repeating: 0, count: rows)
            for (t, tile) in whitenedTiles.enumerated() {
                Matrix.gemm(w, .none, tile, .transpose, into: &products)
                products.storage.withUnsafeMutableBufferPointer { g in
                    halfSquaredNorms.withUnsafeBufferPointer { norms in
                        KernelSum.table.withUnsafeBufferPointer { table in
                            for i in 0..<rows where fast[i] {
                                let row = g.baseAddress! + i * width
                                let tileMax = KernelSum.exponentsAndMax(row, halfNorms: norms.baseAddress! + t * width,
                                                                        halfNorm: halfNorm[i], count: width)
                                let newMax = max(runningMax[i], tileMax)
                                if newMax == -.infinity { continue }
                                var sum = runningMax[i] == -.infinity ? 0 : runningSum[i] * Foundation.exp(runningMax[i] - newMax)
                                sum += KernelSum.sumOfExponentials(row, shift: newMax, count: width, table: table.baseAddress!)
                                runningMax[i] = newMax
                                runningSum[i] = sum
                            }
                        }
                    }
                }
            }
            for i in 0..<rows where fast[i] {
                out[start + i] = runningMax[i] == -.infinity ? -.infinity : logNormaliser + runningMax[i] + Foundation.log(runningSum[i])
            }
        }
    }

    /// The overflow-safe path for one whitened query: exponents -|w - v_i|²/2 from explicit
    /// differences (an overflow gives -inf, i.e. a zero term), then a max-shifted logsumexp.
    func scalarLogDensity(whitened w: [Double]) -> Double {
        let d = dimension
        var exponents: [Double] = []
        exponents.reserveCapacity(trainingRows.rows)
        for (t, tile) in whitenedTiles.enumerated() {
            for r in 0..<tileRows where halfSquaredNorms[t * tileRows + r] != .infinity {
                var s = 0.0
                for j in 0..<d {
                    let diff = w[j] - tile.storage[r * d + j]
                    s += diff * diff
                }
                exponents.append(-0.5 * s)
            }
        }
        let lse = SpecialFunctions.logSumExp(exponents)
        return lse == -.infinity ? -.infinity : logNormaliser + lse
    }
}

/// Squared Mahalanobis radii |y|²_C = yᵀ C⁺ y of centred rows under a covariance C: by the
/// Cholesky factor for a positive definite C, by the pseudo-inverse square root otherwise.
enum KernelDensityRadius: Sendable {
    case cholesky(Cholesky)
    /// W = V diag(1/sqrt(lambda) for lambda above the cut, else 0) Vᵀ; radius² = |W y|².
    case pseudoInverseRoot(Matrix)

    init(covariance c: Matrix) {
        if let chol = try? Cholesky(c) {
            self = .cholesky(chol)
        } else {
            self = .pseudoInverseRoot(Self.symmetricRoot(of: c, inverse: true))
        }
    }

    /// V diag(g(lambda)) Vᵀ with g = sqrt (or 1/sqrt when `inverse`) for eigenvalues above
    /// d ε lambda_max, and 0 below (round-off of zero, so samples stay on the fitted subspace).
    static func symmetricRoot(of a: Matrix, inverse: Bool) -> Matrix {
        let d = a.rows
        guard let eigen = try? SymmetricEigen(a) else { return Matrix(rows: d, columns: d) }
        let cut = Double(max(d, 1)) * Double.ulpOfOne * max(eigen.values.last ?? 0, 0)
        var scaled = eigen.vectors
        for j in 0..<d {
            let lambda = eigen.values[j]
            let s = lambda > cut ? (inverse ? 1 / lambda.squareRoot() : lambda.squareRoot()) : 0
            for i in 0..<d { scaled[i, j] *= s }
        }
        return Matrix.product(scaled, .none, eigen.vectors, .transpose)
    }

    func squaredRadii(of centred: Matrix) -> [Double] {
        var w: Matrix
        switch self {
        case let .cholesky(chol):
            w = centred
            chol.whitenRows(&w)
        case let .pseudoInverseRoot(root):
            w = Matrix.product(centred, .none, root, .transpose)
        }
        let d = centred.columns
        return (0..<centred.rows).map { i in
            var s = 0.0
            for j in 0..<d { s += w.storage[i * d + j] * w.storage[i * d + j] }
            return s
        }
    }

    func squaredRadius(of y: [Double]) -> Double {
        squaredRadii(of: Matrix(rows: 1, columns: y.count, storage: y))[0]
    }
}

/// The vectorised inner loops of the kernel sums and their exponential.
enum KernelSum {
    typealias Vector = SIMD8<Double>

    /// In place over one row of dot products g_i = w·v_i: t_i = min(g_i - halfNorm - halfNorms_i, 0)
    /// (the exponent -|w - v_i|²/2, clamped so a squared distance is never negative); returns max t_i.
    /// - Precondition: `count` is a multiple of 8.
    @inline(__always)
    static func exponentsAndMax(_ row: UnsafeMutablePointer<Double>, halfNorms: UnsafePointer<Double>,
                                halfNorm: Double, count: Int) -> Double {
        let raw = UnsafeMutableRawPointer(row), hx = UnsafeRawPointer(halfNorms)
        let shift = Vector(repeating: halfNorm), zero = Vector(repeating: 0)
        var best = Vector(repeating: -.infinity)
        var offset = 0
        let end = count * MemoryLayout<Double>.stride
        while offset < end {
            let g = raw.loadUnaligned(fromByteOffset: offset, as: Vector.self)
            let h = hx.loadUnaligned(fromByteOffset: offset, as: Vector.self)
            let e = (g - shift) - h
            let t = e.replacing(with: zero, where: e .> zero)
            raw.storeBytes(of: t, toByteOffset: offset, as: Vector.self)
            best = best.replacing(with: t, where: t .> best)
            offset += MemoryLayout<Vector>.stride
        }
        return best.max()
    }

    /// sum_i exp(t_i - shift) over a row of exponents (t_i <= shift), lanes added in a fixed order.
    /// - Precondition: `count` is a multiple of 8.
    @inline(__always)
    static func sumOfExponentials(_ row: UnsafePointer<Double>, shift: Double, count: Int, table: UnsafePointer<Double>) -> Double {
        let raw = UnsafeRawPointer(row)
        let s = Vector(repeating: shift)
        var accumulator = Vector(repeating: 0)
        var offset = 0
        let end = count * MemoryLayout<Double>.stride
        while offset < end {
            accumulator += exp(raw.loadUnaligned(fromByteOffset: offset, as: Vector.self) - s, table: table)
            offset += MemoryLayout<Vector>.stride
        }
        var total = 0.0
        for lane in 0..<Vector.scalarCount { total += accumulator[lane] }
        return total
    }

    /// Inputs are clamped here: k = round(64 t / ln 2) = -65471 gives floor(k / 64) = -1023, an
    /// exponent field of 0 and so exactly +0.0 (as does every t below about -708.4).
    static let flushBelow = -709.08

    /// e^t for t <= 0 (NaN-free input), vectorised: relative error <= 4 ulp while e^t >= 2^-1022
    /// (t >= -708.39); exactly 0 below about -708.4 (including -inf), where e^t is subnormal.
    ///
    /// t = (64 k' + j) ln2/64 + r with |r| <= ln2/128: e^t = 2^k' · 2^(j/64) · p(r), where
    /// k = 64 k' + j = round(64 t / ln 2) (by the 1.5·2^52 shifter, whose low mantissa bits
    /// then hold k), r by the two-constant Cody–Waite reduction (ln2/64 split so k · hi is exact),
    /// 2^(j/64) from `table` (correctly rounded), p the degree-5 Taylor polynomial of e^r
    /// (truncation error r⁶/720 < 4e-17) and 2^k' built in the exponent field.
    @inline(__always)
    static func exp(_ t: Vector, table: UnsafePointer<Double>) -> Vector {
        let floor = Vector(repeating: flushBelow)
        let clamped = t.replacing(with: floor, where: t .< floor)
        let shifter = Vector(repeating: 0x1.8p52)
        let shifted = clamped * (64 * 0x1.71547652b82fep0) + shifter
        let k = shifted - shifter
        let r = (clamped - k * (0x1.62e42fee00000p-1 / 64)) - k * (0x1.a39ef35793c76p-33 / 64)
        let r2 = r * r
        let c01: Vector = 1 + r
        let c23: Vector = 0.5 + r * (1.0 / 6)
        let c45: Vector = (1.0 / 24) + r * (1.0 / 120)
        let p: Vector = c01 + r2 * (c23 + r2 * c45)
        let bits = unsafeBitCast(shifted, to: SIMD8<UInt64>.self)
        let j = bits & 63
        // floor(k / 64) + 1023 in the exponent field; at the flush bound it is 0, giving +0.0.
        let scale = unsafeBitCast(((bits &>> 6) &+ 1023) &<< 52, to: Vector.self)
        let g = Vector(table[Int(j[0])], table[Int(j[1])], table[Int(j[2])], table[Int(j[3])],
                       table[Int(j[4])], table[Int(j[5])], table[Int(j[6])], table[Int(j[7])])
        return p * (g * scale)
    }

    /// 2^(j/64), j = 0..<64, correctly rounded (Scripts/fixtures/kernel_density.py --exp-table).
    static let table: [Double] = [
        0x1.0000000000000p+0, 0x1.02c9a3e778061p+0, 0x1.059b0d3158574p+0, 0x1.0874518759bc8p+0,
        0x1.0b5586cf9890fp+0, 0x1.0e3ec32d3d1a2p+0, 0x1.11301d0125b51p+0, 0x1.1429aaea92de0p+0,
        0x1.172b83c7d517bp+0, 0x1.1a35beb6fcb75p+0, 0x1.1d4873168b9aap+0, 0x1.2063b88628cd6p+0,
        0x1.2387a6e756238p+0, 0x1.26b4565e27cddp+0, 0x1.29e9df51fdee1p+0, 0x1.2d285a6e4030bp+0,
        0x1.306fe0a31b715p+0, 0x1.33c08b26416ffp+0, 0x1.371a7373aa9cbp+0, 0x1.3a7db34e59ff7p+0,
        0x1.3dea64c123422p+0, 0x1.4160a21f72e2ap+0, 0x1.44e086061892dp+0, 0x1.486a2b5c13cd0p+0,
        0x1.4bfdad5362a27p+0, 0x1.4f9b2769d2ca7p+0, 0x1.5342b569d4f82p+0, 0x1.56f4736b527dap+0,
        0x1.5ab07dd485429p+0, 0x1.5e76f15ad2148p+0, 0x1.6247eb03a5585p+0, 0x1.6623882552225p+0,
        0x1.6a09e667f3bcdp+0, 0x1.6dfb23c651a2fp+0, 0x1.71f75e8ec5f74p+0, 0x1.75feb564267c9p+0,
        0x1.7a11473eb0187p+0, 0x1.7e2f336cf4e62p+0, 0x1.82589994cce13p+0, 0x1.868d99b4492edp+0,
        0x1.8ace5422aa0dbp+0, 0x1.8f1ae99157736p+0, 0x1.93737b0cdc5e5p+0, 0x1.97d829fde4e50p+0,
        0x1.9c49182a3f090p+0, 0x1.a0c667b5de565p+0, 0x1.a5503b23e255dp+0, 0x1.a9e6b5579fdbfp+0,
        0x1.ae89f995ad3adp+0, 0x1.b33a2b84f15fbp+0, 0x1.b7f76f2fb5e47p+0, 0x1.bcc1e904bc1d2p+0,
        0x1.c199bdd85529cp+0, 0x1.c67f12e57d14bp+0, 0x1.cb720dcef9069p+0, 0x1.d072d4a07897cp+0,
        0x1.d5818dcfba487p+0, 0x1.da9e603db3285p+0, 0x1.dfc97337b9b5fp+0, 0x1.e502ee78b3ff6p+0,
        0x1.ea4afa2a490dap+0, 0x1.efa1bee615a27p+0, 0x1.f50765b6e4540p+0, 0x1.fa7c1819e90d8p+0,
    ]
}

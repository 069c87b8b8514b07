import CollapseCore
import Foundation

/// `gmm`: a mixture of K full-covariance normals, `p(x) = sum_k w_k N(x | mu_k, Sigma_k)`, fitted
/// by expectation–maximisation (EM) from a k-means++ start.
///
/// ## Fitting (`fit(_:using:)`)
/// For each of `nInit` restarts, drawn one after the other from the passed stream:
/// 1. **k-means++ centres** (D² sampling, Arthur & Vassilvitskii 2007). The first centre is row
///    `rng.nextInt(below: n)`. Each further centre: with `D²(i)` the squared Euclidean distance
///    of row i to its nearest chosen centre and `T = sum_i D²(i)` (summed in row order), draw
///    `u = rng.nextDouble() * T` and take the first row i whose running sum of D² exceeds u (so
///    row i is chosen with probability `D²(i) / T`; should rounding leave no such row, the last
///    row with D² > 0). When `T = 0` (every row coincides with a centre) the centre is row
///    `rng.nextInt(below: n)`, a duplicate. Exactly one stream draw per centre. (scikit-learn's
///    `kmeans_plusplus` adds greedy local trials; this is the plain rule.)
/// 2. **Hard assignment**: every row goes to its nearest centre (ties to the lower index), and
///    each group's share, mean and MLE covariance (+ `regularization` on the diagonal) are the
///    initial weight, mean and covariance — one Lloyd half-step. (scikit-learn's
///    `init_params='k-means++'` instead gives each centre's own row responsibility 1 and nothing
///    else; its default `'kmeans'` runs k-means to convergence.) A group that receives no row
///    (duplicate centres) starts, and stays, as an empty component (see below) with mean = its
///    centre and covariance = the data's MLE covariance + regularisation.
/// 3. **EM** from there (`fit(_:startingFrom:)`, documented in `GaussianMixture+EM.swift`), until
///    the change of the mean log-likelihood per row is below `tolerance` or after `maxIterations`
///    M-steps, with scikit-learn's stopping rule and iteration count.
/// The restart with the highest final mean log-likelihood (`lowerBound`) is kept; ties keep the
/// earlier restart. (scikit-learn compares the bound of the parameters before the last M-step.)
///
/// ## Degenerate fits (results, not errors)
/// - `emptyComponent`: a component whose responsibility total `N_k = sum_i r_ik` falls below
///   `emptyComponentWeight * n` (weight < 1e-10) is frozen: weight exactly 0, mean and covariance
///   kept from before. It then receives responsibility exactly 0 and never revives.
/// - `singularCovariance`: some component's unregularised weighted covariance is numerically
///   singular (a component sitting on fewer than d + 1 distinct rows, e.g. on identical rows or
///   with K = n): some variance `S_jj <= (n ε mu_j)²` (zero up to the rounding of the mean), or
///   a Cholesky pivot of its correlation matrix `L_ii² <= (n + d) ε` (the rounding level of sums
///   over n rows; scale-free, so feature units do not matter). Or its regularised covariance
///   failed the pivot test `L_ii² > d ε max_j Sigma_jj`: then the smallest jitter `d ε s 10^m`,
///   m = 0, 1, ..., with s the larger of its largest variance and its largest squared mean
///   coordinate (floored at 1e-200), is added to the diagonal so the model stays usable.
/// `emptyComponent` is reported in preference to `singularCovariance`; `componentDegeneracies` of
/// the fitted value has the flag of every component.
///
/// - Complexity: per EM iteration about `4 K n d²` flops in BLAS dgemm (whitening and weighted
///   Gram matrices) plus `n K` exponentials; k-means++ and the assignment `O(n K d)`.
public struct GaussianMixtureModel: GenerativeModel {
    /// K, the number of components (config `components`, >= 1).
    public var components: Int
    /// Restarts from independent k-means++ starts (config `n_init`, >= 1).
    public var nInit: Int
    /// Stop when the mean log-likelihood per row changes by less than this (config `tolerance`, >= 0).
    public var tolerance: Double
    /// At most this many EM iterations (M-steps) per restart (config `max_iterations`, >= 0; 0
    /// returns the k-means initial parameters unchanged).
    public var maxIterations: Int
    /// Added to the diagonal of every fitted covariance, like scikit-learn's `reg_covar`
    /// (config `regularization`, finite, >= 0).
    public var regularization: Double

    /// A component is empty (frozen, weight 0) once `N_k < emptyComponentWeight * n`.
    ///
    /// Why 1e-10: the M-step divides by `N_k`, and at this floor the weighted means and
    /// covariances are still ratios of sums far from underflow (scikit-learn's `10 ε` floor only
    /// prevents a division by zero, leaving means that jump to the origin). Setting such a
    /// component's weight from `w_k = N_k / n` to 0 (the others rescaled by `1 / (1 - w_k)`)
    /// changes the mean log-likelihood per row by `mean_i log(1 - r_ik) - log(1 - w_k)`, which is
    /// `O(w_k max_i r_ik) < 1e-10` because the first-order terms cancel (`w_k = mean_i r_ik`):
    /// seven orders below the default tolerance. And a component of weight 1e-10 would be drawn
    /// about once per 10¹⁰ sampled rows.
    public static let emptyComponentWeight = 1e-10

    public init(components: Int, nInit: Int = 1, tolerance: Double = 1e-3, maxIterations: Int = 100,
                regularization: Double = 1e-6) {
        self.components = components
        self.nInit = nInit
        self.tolerance = tolerance
        self.maxIterations = maxIterations
        self.regularization = regularization
    }

    public func validate() throws(ModelSettingsError) {
        guard components >= 1 else {
            throw ModelSettingsError(key: "components", "must be an integer >= 1, got \(components)")
        }
        guard nInit >= 1 else {
            throw ModelSettingsError(key: "n_init", "must be an integer >= 1, got \(nInit)")
        }
        guard tolerance.isFinite && tolerance >= 0 else {
            throw ModelSettingsError(key: "tolerance", "must be a finite number >= 0, got \(tolerance)")
        }
        guard maxIterations >= 0 else {
            throw ModelSettingsError(key: "max_iterations", "must be an integer >= 0, got \(maxIterations)")
        }
        guard regularization.isFinite && regularization >= 0 else {
            throw ModelSettingsError(key: "regularization", "must be a finite number >= 0, got \(regularization)")
        }
    }

    /// Fits the mixture to the n × d rows of `data` (see the type's documentation).
    ///
    /// Same settings, data and stream state give a bit-identical fit (with single-threaded BLAS),
    /// on any number of cores: large fits split their EM steps over the cores in a way fixed by the
    /// data's shape alone (see `GaussianMixtureModel.fit(_:startingFrom:)`).
    /// - Throws: `.tooFewRows` when n < K (or n = 0), `.dimensionMismatch` for zero columns,
    ///   `.nonFiniteData` for NaN/inf entries.
    /// - Precondition: `validate()` passes.
    /// - Complexity: `nInit` × (k-means++ `O(n K d)` + iterations × `O(K n d²)`).
    public func fit<R: RandomStream>(_ data: Matrix, using rng: inout R) throws(FitError) -> FittedGaussianMixture {
        try fit(data, using: &rng, parallelism: .automatic)
    }

    /// `fit(_:using:)` with the E- and M-steps' use of the cores forced (the fit is the same).
    func fit<R: RandomStream>(_ data: Matrix, using rng: inout R,
                              parallelism: GaussianMixtureKernel.Parallelism) throws(FitError) -> FittedGaussianMixture {
        try checkFittable(data)
        var engine = GaussianMixtureEM(data: data, components: components, settings: self, parallelism: parallelism)
        var best: (state: GaussianMixtureEM.State, report: GaussianMixtureEM.Report)?
        for _ in 0..<nInit {
            var state = engine.kMeansPlusPlusStart(using: &rng)
            let report = engine.run(&state)
            if best == nil || report.lowerBound > best!.report.lowerBound { best = (state, report) }
        }
        return engine.fittedModel(best!.state, report: best!.report)
    }

    /// The checks shared by both fitting entry points.
    func checkFittable(_ data: Matrix) throws(FitError) {
        do { try validate() } catch { preconditionFailure("GaussianMixtureModel: invalid settings: \(error)") }
        guard data.columns >= 1 else { throw .dimensionMismatch(expected: 1, got: 0) }
        guard data.rows >= components && data.rows >= 1 else { throw .tooFewRows(needed: components, got: data.rows) }
        guard data.isFinite else { throw .nonFiniteData }
    }

    enum CodingKeys: String, CodingKey {
        case components
        case nInit = "n_init"
        case tolerance
        case maxIterations = "max_iterations"
        case regularization
    }

    /// Decodes the config keys `components` (required), `n_init`, `tolerance`, `max_iterations`,
    /// `regularization`; missing optional keys take the defaults of `init`. Ranges are checked by
    /// `validate()`, not here. Other keys are left to the caller (the `model` mapping also holds
    /// `kind`).
    public init(from decoder: any Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        let defaults = GaussianMixtureModel(components: 1)
        self.init(components: try c.decode(Int.self, forKey: .components),
                  nInit: try c.decodeIfPresent(Int.self, forKey: .nInit) ?? defaults.nInit,
                  tolerance: try c.decodeIfPresent(Double.self, forKey: .tolerance) ?? defaults.tolerance,
                  maxIterations: try c.decodeIfPresent(Int.self, forKey: .maxIterations) ?? defaults.maxIterations,
                  regularization: try c.decodeIfPresent(Double.self, forKey: .regularization) ?? defaults.regularization)
    }
}

/// Mixture parameters: K weights, a K × d matrix of means (row k is mu_k) and K covariances.
///
/// The starting point of `GaussianMixtureModel.fit(_:startingFrom:)` (scikit-learn's
/// `weights_init`, `means_init`, `precisions_init`).
public struct GaussianMixtureParameters: Sendable, Codable, Equatable {
    public var weights: [Double]
    public var means: Matrix
    public var covariances: [Matrix]

    /// - Precondition: K >= 1 weights, `means` is K × d with d >= 1, K covariances of d × d.
    public init(weights: [Double], means: Matrix, covariances: [Matrix]) {
        precondition(!weights.isEmpty && means.rows == weights.count && covariances.count == weights.count && means.columns >= 1,
                     "GaussianMixtureParameters: \(weights.count) weights, means \(means.shapeDescription), \(covariances.count) covariances")
        for (k, c) in covariances.enumerated() {
            precondition(c.rows == means.columns && c.columns == means.columns,
                         "GaussianMixtureParameters: covariance \(k) is \(c.shapeDescription), means have \(means.columns) columns")
        }
        self.weights = weights
        self.means = means
        self.covariances = covariances
    }

    /// From precision matrices `P_k = Sigma_k⁻¹` (as scikit-learn's `precisions_init`):
    /// `Sigma_k = P_k⁻¹` by Cholesky (LAPACK dpotrf + dpotri).
    /// - Throws: `LinearAlgebraError` when some precision is not positive definite.
    public init(weights: [Double], means: Matrix, precisions: [Matrix]) throws(LinearAlgebraError) {
        var covariances: [Matrix] = []
        for p in precisions { covariances.append(try Cholesky(p).inverse()) }
        self.init(weights: weights, means: means, covariances: covariances)
    }

    public var componentCount: Int { weights.count }
    public var dimension: Int { means.columns }
}

/// A fitted (or given) Gaussian mixture `p(x) = sum_k w_k N(x | mu_k, Sigma_k)`.
///
/// Every parameter (weights, means, covariances, factors, mixture moments) is finite; only
/// `lowerBound` and its trace may be -inf. Weights are non-negative and sum to 1 (within rounding); a
/// weight of exactly 0 marks an empty component, which keeps finite parameters but is never
/// sampled and adds nothing to densities. Each covariance is the one actually used: it equals
/// `choleskyFactors[k] choleskyFactors[k]ᵀ` up to rounding (including any stabilising jitter).
public struct FittedGaussianMixture: FittedModel, Equatable {
    /// w_k, non-negative, summing to 1.
    public let weights: [Double]
    /// K × d; row k is mu_k.
    public let means: Matrix
    /// Sigma_k, d × d, symmetric positive definite.
    public let covariances: [Matrix]
    /// Lower-triangular L_k with `L_k L_kᵀ = Sigma_k`.
    public let choleskyFactors: [Matrix]
    /// `-(d log 2π + log det Sigma_k) / 2`, the log normalising constant of each component.
    let logNormalisers: [Double]
    /// Per component: `.emptyComponent`, `.singularCovariance` or `nil`.
    public let componentDegeneracies: [Degeneracy?]
    /// `.emptyComponent` if any component is empty, else `.singularCovariance` if any is singular.
    public let degeneracy: Degeneracy?
    /// The mixture's mean `mu = sum_k w_k mu_k`.
    public let mixtureMean: [Double]
    /// The mixture's covariance `sum_k w_k (Sigma_k + mu_k mu_kᵀ) - mu muᵀ`, evaluated without
    /// cancellation as `sum_k w_k (Sigma_k + (mu_k - mu)(mu_k - mu)ᵀ)`.
    public let mixtureCovariance: Matrix
    /// Whether EM stopped by the tolerance rule (false for a model built from given parameters,
    /// and when `maxIterations` M-steps ran out).
    public let converged: Bool
    /// EM iterations (M-steps) of the kept restart; 0 for a model built from given parameters.
    public let iterations: Int
    /// The mean log-likelihood per training row of the final parameters, `(1/n) sum_i log p(x_i)`;
    /// -inf for a model built from given parameters.
    public let lowerBound: Double
    /// `[ℓ(θ_0), ..., ℓ(θ_T)]`: the mean log-likelihood per row of the parameters after each of the
    /// T = `iterations` M-steps (θ_0 = the initial parameters). Its last entry is `lowerBound`;
    /// entries 0 ..< T are scikit-learn's `lower_bounds_`, entry T - 1 its `lower_bound_`. Empty
    /// for a model built from given parameters.
    public let lowerBoundTrace: [Double]

    /// A mixture from given parameters (for example a real source `gmm`).
    ///
    /// Weights are divided by their sum. A zero weight marks the component `emptyComponent`; a
    /// covariance that fails the Cholesky pivot test `L_ii² > d ε max_j Sigma_jj` gets the jitter
    /// described on `GaussianMixtureModel` and is marked `singularCovariance`.
    /// - Precondition: finite entries; non-negative weights with a positive sum; shapes as in
    ///   `GaussianMixtureParameters`.
    /// - Complexity: `O(K d³)`.
    public init(weights: [Double], means: Matrix, covariances: [Matrix]) {
        let parameters = GaussianMixtureParameters(weights: weights, means: means, covariances: covariances)
        let state = GaussianMixtureEM.State(parameters)
        var flags: [Degeneracy?] = []
        for k in 0..<state.componentCount {
            if state.frozen[k] { flags.append(.emptyComponent) } else if state.jittered[k] { flags.append(.singularCovariance) } else { flags.append(nil) }
        }
        self.init(state: state, componentDegeneracies: flags, converged: false, iterations: 0,
                  lowerBound: -.infinity, lowerBoundTrace: [])
    }

    init(state: GaussianMixtureEM.State, componentDegeneracies: [Degeneracy?], converged: Bool, iterations: Int,
         lowerBound: Double, lowerBoundTrace: [Double]) {
        let kCount = state.componentCount, d = state.means.columns
        weights = state.weights
        means = state.means
        covariances = state.covariances
        choleskyFactors = state.lowers
        logNormalisers = state.logNormalisers
        self.componentDegeneracies = componentDegeneracies
        if componentDegeneracies.contains(.emptyComponent) {
            degeneracy = .emptyComponent
        } else if componentDegeneracies.contains(.singularCovariance) {
            degeneracy = .singularCovariance
        } else {
            degeneracy = nil
        }
        var mu = [Double](repeating: 0, count: d)
        for k in 0..<kCount where state.weights[k] > 0 {
            for j in 0..<d { mu[j] += state.weights[k] * state.means[k, j] }
        }
        var sigma = Matrix(rows: d, columns: d)
        for k in 0..<kCount where state.weights[k] > 0 {
            let w = state.weights[k]
            for a in 0..<d {
                let da = state.means[k, a] - mu[a]
                for b in 0..<d {
                    sigma[a, b] += w * (state.covariances[k][a, b] + da * (state.means[k, b] - mu[b]))
                }
            }
        }
        mixtureMean = mu
        mixtureCovariance = sigma
        self.converged = converged
        self.iterations = iterations
        self.lowerBound = lowerBound
        self.lowerBoundTrace = lowerBoundTrace
    }

    public var componentCount: Int { weights.count }
    public var dimension: Int { means.columns }

    /// `count` rows from the mixture under the sampling knobs.
    ///
    /// Algorithm and stream order (deterministic): (1) component counts
    /// `Multinomial.counts(total: count, probabilities: weights)` (O(K)); (2) for each component k
    /// in index order with `c_k > 0`: `c_k × d` standard normals z (row by row); with truncation c,
    /// each row in turn whose `|z|² > (c/τ)²` is redrawn (d fresh normals, repeatedly) before the
    /// next row is checked; then rows `mu_k + τ L_k z`; (3) the rows, grouped by component so far,
    /// are shuffled by Fisher–Yates (`for i in count-1 ... 1: swap(i, rng.nextInt(below: i + 1))`),
    /// so that every prefix of the sample is itself an i.i.d. sample of the mixture.
    ///
    /// Temperature τ draws each component from N(mu_k, τ² Sigma_k). Truncation c keeps only rows
    /// within Mahalanobis radius c of *their own component's* mean under its untempered
    /// covariance (`|τ z| <= c`); each row is then accepted with probability
    /// `P(χ²_d <= (c/τ)²)` (`truncationAcceptance(_:)`) — callers should keep it reasonable.
    /// Component counts are not affected by truncation (weights are kept exactly).
    /// - Precondition: `count >= 0`, `temperature > 0` finite, `truncation > 0` when given.
    /// - Complexity: `count · d` normals (divided by the acceptance with truncation), `count · d²`
    ///   flops, `count` shuffle draws.
    public func sample<R: RandomStream>(count: Int, options: SamplingOptions, using rng: inout R) -> Matrix {
        precondition(count >= 0, "sample count must be non-negative, got \(count)")
        let tau = options.temperature
        precondition(tau > 0 && tau.isFinite, "sampling temperature must be finite and > 0, got \(tau)")
        if let c = options.truncation { precondition(c > 0, "sampling truncation must be > 0, got \(c)") }
        let d = dimension
        var out = Matrix(rows: count, columns: d)
        if count == 0 { return out }
        let counts = Multinomial.counts(total: count, probabilities: weights, using: &rng)
        let limit = options.truncation.map { ($0 / tau) * ($0 / tau) }
        var offset = 0
        for k in 0..<componentCount where counts[k] > 0 {
            let m = counts[k]
            var z = Matrix(rows: m, columns: d)
            z.storage.withUnsafeMutableBufferPointer { p in
                StandardNormal.fill(p, using: &rng)
                guard let limit else { return }
                for i in 0..<m {
                    let row = UnsafeMutableBufferPointer(rebasing: p[(i * d)..<((i + 1) * d)])
                    while true {
                        var r2 = 0.0
                        for j in 0..<d { r2 += row[j] * row[j] }
                        if r2 <= limit { break }
                        StandardNormal.fill(row, using: &rng)
                    }
                }
            }
            Cholesky(uncheckedLower: choleskyFactors[k]).colourRows(&z)
            means.storage.withUnsafeBufferPointer { pm in
                z.storage.withUnsafeBufferPointer { pz in
                    out.storage.withUnsafeMutableBufferPointer { po in
                        let mu = pm.baseAddress! + k * d
                        let base = offset * d
                        for i in 0..<m {
                            for j in 0..<d { po[base + i * d + j] = mu[j] + tau * pz[i * d + j] }
                        }
                    }
                }
            }
            offset += m
        }
        out.storage.withUnsafeMutableBufferPointer { p in
            var i = count - 1
            while i > 0 {
                let j = rng.nextInt(below: i + 1)
                if j != i {
                    for c in 0..<d { p.swapAt(i * d + c, j * d + c) }
                }
                i -= 1
            }
        }
        return out
    }

    /// The probability `P(χ²_d <= (c/τ)²)` that one draw survives truncation (1 without truncation).
    public func truncationAcceptance(_ options: SamplingOptions) -> Double {
        guard let c = options.truncation else { return 1 }
        let r = c / options.temperature
        return SpecialFunctions.chiSquareCDF(r * r, degreesOfFreedom: Double(dimension))
    }

    /// `log p(x) = logsumexp_k (log w_k + log N(x | mu_k, Sigma_k))` for each row, with
    /// `log N = -(d log 2π + log det Sigma_k + |L_k⁻¹(x - mu_k)|²) / 2` (centred copy, BLAS dgemm with `L_k⁻¹`).
    ///
    /// Finite for any finite row whose squared Mahalanobis distances stay below ~1e308 (a row 1e6
    /// standard deviations away gives about -5e11); beyond that -inf; never NaN for finite input.
    /// Untempered and untruncated.
    /// - Complexity: `K n d²` flops, `n K` exponentials, `O(n (d + K))` memory.
    public func logDensities(_ data: Matrix) -> [Double] {
        var terms = weightedLogTerms(data)
        var out = [Double](repeating: 0, count: data.rows)
        out.withUnsafeMutableBufferPointer { p in
            _ = GaussianMixtureKernel.reduceRows(&terms, responsibilities: false, fallbackComponent: fallbackComponent,
                                                  rowTotals: p.baseAddress)
        }
        return out
    }

    /// The n × K posterior component probabilities `r_ik = w_k N(x_i | k) / p(x_i)` (rows sum to 1).
    ///
    /// A row with no finite term (Mahalanobis distance beyond ~1e154 to every component) is given
    /// wholly to the first component of positive weight.
    /// - Complexity: as `logDensities(_:)`.
    public func responsibilities(_ data: Matrix) -> Matrix {
        var terms = weightedLogTerms(data)
        _ = GaussianMixtureKernel.reduceRows(&terms, responsibilities: true, fallbackComponent: fallbackComponent, rowTotals: nil)
        return terms
    }

    /// The most probable component of each row, `argmax_k (log w_k + log N(x_i | k))` (ties to the
    /// lower index; rows with no finite term as in `responsibilities(_:)`).
    /// - Complexity: `K n d²` flops, no exponentials.
    public func predictComponents(_ data: Matrix) -> [Int] {
        let terms = weightedLogTerms(data)
        let kCount = componentCount
        return terms.storage.withUnsafeBufferPointer { p in
            (0..<data.rows).map { i in
                var best = fallbackComponent, bestValue = -Double.infinity
                for k in 0..<kCount where p[i * kCount + k] > bestValue {
                    best = k
                    bestValue = p[i * kCount + k]
                }
                return best
            }
        }
    }

    var fallbackComponent: Int { weights.firstIndex { $0 > 0 } ?? 0 }

    func weightedLogTerms(_ data: Matrix) -> Matrix {
        precondition(data.columns == dimension, "FittedGaussianMixture: model has dimension \(dimension), rows have \(data.columns) columns")
        var terms = Matrix(rows: data.rows, columns: componentCount)
        var workspace = GaussianMixtureKernel.Workspace(rows: data.rows, columns: dimension)
        GaussianMixtureKernel.weightedLogTerms(data.transposed(), weights: weights, means: means,
                                               whiteners: choleskyFactors.map(GaussianMixtureKernel.whitener),
                                               logNormalisers: logNormalisers, workspace: &workspace, into: &terms)
        return terms
    }
}

import CollapseCore

/// A model family's settings (its hyperparameters): what the recursion refits every generation.
///
/// Settings are plain values (`Codable`, `validate()`); fitting returns a separate fitted value,
/// and neither stores a random stream or a seed: `fit` and `sample` take the stream they may use,
/// so a chain's numbers depend only on the streams it is handed.
public protocol GenerativeModel: Sendable, Codable, Equatable {
    /// What the model is fitted to and what it samples: a `Matrix` of rows for continuous
    /// families, symbol counts for `categorical`, (design, labels) for `linear-regression`.
    associatedtype Data
    associatedtype Fitted: FittedModel where Fitted.Data == Data

    /// Checks the settings; the message names the offending setting and the accepted range.
    func validate() throws(ModelSettingsError)

    /// Fits the model to `data`. Fitting is a pure function of (settings, data, stream); families
    /// that need no randomness (closed-form estimators) ignore the stream.
    ///
    /// Degenerate data (zero variance, fewer rows than dimensions, an empty mixture component)
    /// yields a fitted model whose `degeneracy` says so — it is a result of collapse, not an error.
    /// - Throws: `FitError` only when no model at all can be formed (no rows, NaN input).
    func fit<R: RandomStream>(_ data: Data, using rng: inout R) throws(FitError) -> Fitted
}

/// A fitted model: samples, per-row log-densities, and readable parameters for metrics.
public protocol FittedModel: Sendable, Codable {
    associatedtype Data

    /// Draws `count` rows (or tokens) under the sampling knobs.
    func sample<R: RandomStream>(count: Int, options: SamplingOptions, using rng: inout R) -> Data

    /// The natural-log density (or probability mass) of each row of `data` under the model
    /// (untempered, untruncated). May be -inf (outside the support), never NaN for finite input.
    func logDensities(_ data: Data) -> [Double]

    /// Why the fit is degenerate, or `nil` for a regular fit.
    var degeneracy: Degeneracy? { get }
}

/// A fit that is a limit case of the family: the recursion has collapsed something to zero.
public enum Degeneracy: String, Sendable, Codable, Equatable, CaseIterable {
    /// The fitted variance (or every eigenvalue of the covariance) is exactly zero: all rows equal.
    case zeroVariance = "zero_variance"
    /// The fitted covariance is singular (rank < d, e.g. M <= d): the model lives on a subspace.
    case singularCovariance = "singular_covariance"
    /// A mixture component received (numerically) no responsibility and was dropped or frozen.
    case emptyComponent = "empty_component"
    /// Only one symbol keeps non-zero probability.
    case singleSymbol = "single_symbol"
    /// The regression design is rank deficient: coefficients are identified only on its row
    /// space (the minimum-norm least-squares fit).
    case rankDeficientDesign = "rank_deficient_design"
}

/// The sampling-bias and curation knobs of the model-collapse literature.
public struct SamplingOptions: Sendable, Codable, Equatable, Hashable {
    /// Spread multiplier tau > 0: N(mu, tau² Sigma), kernel noise × tau, categorical p^(1/tau) renormalised.
    public var temperature: Double
    /// Keep only samples within this Mahalanobis radius (in standard deviations of the fitted
    /// model, before temperature) of the fitted mean; `nil` keeps everything. Continuous families.
    public var truncation: Double?
    /// Categorical: sample only from the k most probable symbols; `nil` keeps all.
    public var topK: Int?

    public init(temperature: Double = 1, truncation: Double? = nil, topK: Int? = nil) {
        self.temperature = temperature
        self.truncation = truncation
        self.topK = topK
    }

    public static let plain = SamplingOptions()
}

/// A setting out of its range. `key` names the setting (e.g. `estimator`, `components`).
public struct ModelSettingsError: Error, Equatable, Sendable, CustomStringConvertible {
    public let key: String
    public let message: String
    public init(key: String, _ message: String) {
        self.key = key
        self.message = message
    }
    public var description: String { "\(key): \(message)" }
}

/// No model can be formed from the data at all.
public enum FitError: Error, Equatable, Sendable, CustomStringConvertible {
    case tooFewRows(needed: Int, got: Int)
    case nonFiniteData
    case dimensionMismatch(expected: Int, got: Int)
    /// Finite data whose fitted parameters overflow (e.g. a variance of rows beyond ~1e154).
    case nonFiniteFit

    public var description: String {
        switch self {
        case let .tooFewRows(needed, got): return "fitting needs at least \(needed) rows, got \(got)"
        case .nonFiniteData: return "training data contains NaN or infinity"
        case .nonFiniteFit: return "the fitted parameters overflow (the data are finite but too spread out to fit in double precision)"
        case let .dimensionMismatch(expected, got): return "expected \(expected) columns, got \(got)"
        }
    }
}

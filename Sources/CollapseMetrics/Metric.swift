import CollapseCore
import CollapseModels

/// A measurement of one generation of one chain: a number per (chain, generation), with a
/// written definition in docs/METRICS.md, a unit and a direction.
///
/// Metrics are values registered once in `MetricRegistry`; the runner asks each for a number
/// given a `MetricContext`. A metric that draws random numbers uses `context.stream(for:)` with
/// its own purpose, so adding it changes no other number.
public protocol Metric: Sendable {
    /// The config/CSV name, e.g. `variance`.
    var name: String { get }
    /// One line for `collapse list`.
    var summary: String { get }
    /// Unit of the value, e.g. "data units²", "nats", "probability", "ratio".
    var unit: String { get }
    /// What a larger value means for the model, relative to reality.
    var direction: MetricDirection { get }
    /// Why this metric cannot be measured in experiments with these facts, or nil if it can.
    func problem(with facts: ExperimentFacts) -> String?
    /// The value for one generation. Return `.nan` only when the quantity is genuinely undefined
    /// (the docs say when); ±inf is a legitimate value (e.g. nll of a collapsed model).
    func evaluate(_ context: MetricContext) -> Double
    /// The exact expected value at `generation` where a closed form exists (docs/THEORY.md), else nil.
    func theory(_ facts: ExperimentFacts, generation: Int) -> Double?
    /// Whether the value, in experiments with these facts, depends on rows of the generation:
    /// its synthetic sample, its training set or the real training rows (as opposed to the
    /// fitted model, reality, the holdout and provenance counts only). Runs with
    /// `sampling.shortcut: sufficient-statistics` never materialise the rows and accept only
    /// metrics that return false. The default is the conservative `true`.
    func readsRows(_ facts: ExperimentFacts) -> Bool
}

extension Metric {
    public func theory(_ facts: ExperimentFacts, generation: Int) -> Double? { nil }
    public func readsRows(_ facts: ExperimentFacts) -> Bool { true }
}

/// Metrics that read only the fitted model, reality, the holdout or provenance counts.
protocol ModelOnlyMetric: Metric {}

extension ModelOnlyMetric {
    public func readsRows(_ facts: ExperimentFacts) -> Bool { false }
}

public enum MetricDirection: String, Sendable, Codable {
    case higherIsWorse = "higher = worse"
    case lowerIsWorse = "lower = worse"
    case towardReality = "distance from the real value = worse"
    case descriptive = "descriptive"
}

/// What metrics may know about an experiment variant, independent of the runner's config types.
public struct ExperimentFacts: Sendable, Equatable {
    public enum DataKind: String, Sendable { case continuous, categorical, regression }
    public var modelKind: String
    public var dataKind: DataKind
    /// Feature dimension d (1 for 1-D and categorical).
    public var dimension: Int
    /// Rows per training set, M.
    public var samples: Int
    public var generations: Int
    /// `replace`, `accumulate`, `accumulate-subsample`, `mix`, `fresh`.
    public var regime: String
    public var realFraction: Double
    /// `mle` or `unbiased` for gaussian/mvn; nil otherwise.
    public var estimator: String?
    public var temperature: Double
    public var truncation: Double?
    /// The real source is a known distribution (not a dataset).
    public var knownDistribution: Bool
    /// The real source is Gaussian (gaussian or mvn), so Gaussian closed forms describe reality.
    public var gaussianReality: Bool
    /// Class labels exist (class-conditional model).
    public var hasLabels: Bool
    /// For linear regression: label noise known to the model (theory setting) and fixed design.
    public var knownNoise: Bool
    public var fixedDesign: Bool
    public var regularization: Double
    /// tr(Sigma_real) for a known distribution (sigma_0² in 1-D), for theory values.
    public var realTrace: Double?
    /// Categorical: the additive smoothing alpha (0 otherwise).
    public var smoothing: Double = 0
    /// Categorical: `sampling.top_k`, if set.
    public var topK: Int?
    /// Categorical on a known distribution: the real symbol probabilities.
    public var realProbabilities: [Double]?
    /// Linear regression: an intercept is fitted.
    public var intercept = false
    /// Linear regression on a known distribution: the real noise variance s².
    public var realNoiseVariance: Double?
    /// Real share of the originally smallest component/class (gmm source, or labelled dataset with
    /// a class-conditional model), for `minority_share`.
    public var realMinorityShare: Double?
    /// Gaussian reality: log det Sigma_real (2 log sigma_0 in 1-D), for entropy theory.
    public var realLogDeterminant: Double?

    public init(modelKind: String, dataKind: DataKind, dimension: Int, samples: Int, generations: Int, regime: String,
                realFraction: Double, estimator: String?, temperature: Double, truncation: Double?, knownDistribution: Bool,
                gaussianReality: Bool, hasLabels: Bool, knownNoise: Bool = false, fixedDesign: Bool = true, regularization: Double = 0, realTrace: Double? = nil) {
        self.modelKind = modelKind
        self.dataKind = dataKind
        self.dimension = dimension
        self.samples = samples
        self.generations = generations
        self.regime = regime
        self.realFraction = realFraction
        self.estimator = estimator
        self.temperature = temperature
        self.truncation = truncation
        self.knownDistribution = knownDistribution
        self.gaussianReality = gaussianReality
        self.hasLabels = hasLabels
        self.knownNoise = knownNoise
        self.fixedDesign = fixedDesign
        self.regularization = regularization
        self.realTrace = realTrace
    }
}

/// The real distribution's parameters ("reality"): exact for a known distribution, the full
/// dataset's estimates for a dataset source.
public struct RealTruth: Sendable {
    /// Mean vector and covariance matrix (d × d); for categorical, unused (empty).
    public var mean: [Double]
    public var covariance: Matrix
    /// 1-D: the real 1 % and 99 % quantiles (the central 98 % region of `tail_mass`).
    public var centralQuantiles: (low: Double, high: Double)?
    /// d > 1: the squared Mahalanobis radius of the real 98 % ellipsoid (chi²_d 0.98 quantile for
    /// Gaussian reality; the empirical 98 % quantile for a dataset).
    public var tailRadiusSquared: Double?
    /// Categorical: the real symbol probabilities.
    public var probabilities: [Double]?
    /// Regression: the true coefficients and noise standard deviation.
    public var coefficients: [Double]?
    public var noiseStd: Double?
    /// Mass of the originally smallest component/class (for `minority_share`), with its index.
    public var minority: (index: Int, share: Double)?
    /// The real CDF for 1-D sources (for tail masses of non-Gaussian models), if known.
    public var cdf: (@Sendable (Double) -> Double)?
    /// The real log-density of each row (natural log), for a known distribution (gaussian, mvn,
    /// gmm, student-t); nil for a dataset, whose density is unknown.
    public var logDensity: (@Sendable (Matrix) -> [Double])?
    /// Gaussian-mixture reality: its components with their weights (for the Bayes assignment of
    /// `minority_share`), in component order.
    public var mixture: [(weight: Double, component: MultivariateNormal)]?

    public init(mean: [Double], covariance: Matrix) {
        self.mean = mean
        self.covariance = covariance
    }
}

/// Where the rows of one generation's training set came from.
public struct Provenance: Sendable, Equatable {
    /// One origin is kept inline (every training set of `replace` has one): no dictionary is built
    /// per generation unless a metric reads `rowsByOrigin`.
    private enum Storage: Sendable {
        case single(origin: Int, rows: Int)
        case table([Int: Int])
    }
    private var storage: Storage

    /// Rows per origin: -1 = real data, g >= 0 = samples of the model fitted at generation g.
    public var rowsByOrigin: [Int: Int] {
        get {
            switch storage {
            case let .single(origin, rows): return [origin: rows]
            case let .table(table): return table
            }
        }
        set { storage = .table(newValue) }
    }

    public init(rowsByOrigin: [Int: Int]) { storage = .table(rowsByOrigin) }

    /// All `rows` rows from one origin.
    public init(origin: Int, rows: Int) { storage = .single(origin: origin, rows: rows) }

    public var total: Int {
        switch storage {
        case let .single(_, rows): return rows
        case let .table(table): return table.values.reduce(0, +)
        }
    }

    public var realRows: Int {
        switch storage {
        case let .single(origin, rows): return origin == -1 ? rows : 0
        case let .table(table): return table[-1] ?? 0
        }
    }

    public static func == (a: Provenance, b: Provenance) -> Bool { a.rowsByOrigin == b.rowsByOrigin }
}

/// Per-chain values that several generations' metrics reuse (computed on first use).
///
/// One instance per chain: the chain's holdout does not change, so its moments are computed once.
public final class MetricCache: @unchecked Sendable {
    private var moments: (mean: [Double], covariance: Matrix)?
    public init() {}

    /// Mean and covariance (divisor n) of a Matrix holdout; nil for other data or an empty holdout.
    public func holdoutMoments(_ holdout: Any) -> (mean: [Double], covariance: Matrix)? {
        if let moments { return moments }
        guard let rows = holdout as? Matrix, rows.rows > 0 else { return nil }
        let computed = rows.covariance(ddof: 0)
        moments = computed
        return computed
    }
}

/// Everything a metric may look at for one generation of one chain.
///
/// The chain-constant parts (facts, holdout, truth, real training set, stream factory, cache)
/// live in one shared box, copied on write, so a copy of a context costs a few reference counts
/// rather than one per field (the runner's metric calls copy it once per generation).
public struct MetricContext {
    /// The parts of a context that stay the same for a whole chain.
    private final class Constants {
        var facts: ExperimentFacts
        var holdout: Any
        var truth: RealTruth
        var realTraining: Any?
        var stream: @Sendable (StreamPurpose) -> Philox4x32
        var cache: MetricCache

        init(facts: ExperimentFacts, holdout: Any, truth: RealTruth, realTraining: Any?,
             stream: @escaping @Sendable (StreamPurpose) -> Philox4x32, cache: MetricCache) {
            self.facts = facts
            self.holdout = holdout
            self.truth = truth
            self.realTraining = realTraining
            self.stream = stream
            self.cache = cache
        }

        func copy() -> Constants {
            Constants(facts: facts, holdout: holdout, truth: truth, realTraining: realTraining, stream: stream, cache: cache)
        }
    }
    private var constants: Constants

    /// The box of chain-constant parts, made unique before it is written to.
    private var uniqueConstants: Constants {
        mutating get {
            if !isKnownUniquelyReferenced(&constants) { constants = constants.copy() }
            return constants
        }
    }

    public var facts: ExperimentFacts {
        get { constants.facts }
        set { uniqueConstants.facts = newValue }
    }
    public var generation: Int
    /// The model fitted at this generation (cast to the family's fitted type or a capability).
    public var fitted: any FittedModel
    /// The training set the model was fitted on (Matrix, TokenCounts, RegressionData, ...).
    /// A runner that fits without assembling it (fixed-design regression under accumulation)
    /// supplies it on demand (`setTrainingData(deferred:)`); reading it then builds it.
    public var trainingData: Any {
        get {
            switch trainingDataSource {
            case let .value(v): return v
            case let .deferred(make): return make()
            }
        }
        set { trainingDataSource = .value(newValue) }
    }
    enum TrainingDataSource {
        case value(Any)
        case deferred(() -> Any)
    }
    var trainingDataSource: TrainingDataSource
    public var provenance: Provenance
    /// The generation's synthetic sample (the model's rows that feed the next training set).
    public var samples: Any?
    /// The real holdout (same data type as the training set), never trained on.
    public var holdout: Any {
        get { constants.holdout }
        set { uniqueConstants.holdout = newValue }
    }
    public var truth: RealTruth {
        get { constants.truth }
        set { uniqueConstants.truth = newValue }
    }
    /// The chain's generation-0 real training set (same data type as `trainingData`), or nil
    /// where the caller has none.
    public var realTraining: Any? {
        get { constants.realTraining }
        set { uniqueConstants.realTraining = newValue }
    }
    /// A fresh stream for a metric's own purpose at this (variant, replicate, generation).
    public var stream: @Sendable (StreamPurpose) -> Philox4x32 {
        get { constants.stream }
        set { uniqueConstants.stream = newValue }
    }
    /// The chain's cache (holdout moments); a fresh one when the caller has none.
    public var cache: MetricCache {
        get { constants.cache }
        set { uniqueConstants.cache = newValue }
    }

    public init(facts: ExperimentFacts, generation: Int, fitted: any FittedModel, trainingData: Any, provenance: Provenance,
                samples: Any?, holdout: Any, truth: RealTruth, realTraining: Any? = nil,
                stream: @escaping @Sendable (StreamPurpose) -> Philox4x32) {
        self.constants = Constants(facts: facts, holdout: holdout, truth: truth, realTraining: realTraining,
                                   stream: stream, cache: MetricCache())
        self.generation = generation
        self.fitted = fitted
        self.trainingDataSource = .value(trainingData)
        self.provenance = provenance
        self.samples = samples
    }

    public func stream(for purpose: StreamPurpose) -> Philox4x32 { stream(purpose) }

    /// Supplies the training set on demand: `make` runs each time a metric reads `trainingData`.
    public mutating func setTrainingData(deferred make: @escaping () -> Any) {
        trainingDataSource = .deferred(make)
    }
}

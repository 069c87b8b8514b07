import CollapseCore
import CollapseModels
import Foundation

// The resolved, validated form of an experiment config file (schema: DESIGN.md "Config keys").
// `ConfigLoader` (ConfigLoader.swift) turns YAML into these values; everything downstream (the
// engine, the manifest) works only with them. Every default lives in `ConfigDefaults`.

/// Defaults of optional config keys, in one place (documented in docs/CONFIG.md).
public enum ConfigDefaults {
    public static let description = ""
    public static let seed: UInt64 = 0
    public static let replicates = 100
    public static let generations = 10
    public static let samples = 100
    public static let recordEvery = 1
    public static let holdout = 1000
    public static let temperature = 1.0
    /// `sampling.shortcut`: `none` (every synthetic training set is materialised).
    public static let samplingShortcut = "none"
    public static let realFraction = 0.0
    public static let gmmComponents = 2
    public static let gmmRestarts = 1
    public static let gmmTolerance = 1e-3
    public static let gmmMaxIterations = 100
    public static let gmmRegularization = 1e-6
    public static let smoothing = 0.0
    // Added with the config loader (docs/CONFIG.md lists every default):
    /// `real.mean` and `real.std` of `distribution: gaussian`.
    public static let gaussianMean = 0.0
    public static let gaussianStd = 1.0
    /// `real.loc` and `real.scale` of `distribution: student-t`.
    public static let studentTLoc = 0.0
    public static let studentTScale = 1.0
    /// `real.exponent` of `distribution: zipf` (the classic Zipf law).
    public static let zipfExponent = 1.0
    /// `real.noise_std` of `distribution: linear-regression`.
    public static let noiseStd = 1.0
    /// `model.estimator` of gaussian and mvn.
    public static let estimator: CovarianceEstimator = .mle
    /// `model.regularization` of mvn (0: the analysed estimator is exact).
    public static let mvnRegularization = 0.0
    /// `model.bandwidth` of kde.
    public static let bandwidth: ModelConfig.BandwidthSetting = .scott
    /// `model.intercept`, `model.noise: known`, `model.design: fresh` of linear-regression.
    public static let intercept = false
    public static let knownNoise = false
    public static let freshDesign = false
    /// `model.class_conditional`.
    public static let classConditional = false
    /// `regime.kind`.
    public static let regime: RegimeConfig.Kind = .replace
}

/// One fully resolved experiment variant.
public struct ExperimentConfig: Sendable, Codable, Equatable {
    /// Experiment name: the output folder `Results/<name>/`. Letters, digits, `-`, `_`, `.`.
    public var name: String
    public var description: String
    /// Root seed of every random stream.
    public var seed: UInt64
    /// Chains per variant (R).
    public var replicates: Int
    /// Generations after generation 0 (G); generation 0 is the model fitted on real data.
    public var generations: Int
    /// Training rows per generation (M).
    public var samples: Int
    /// Write every k-th generation (0 and the last are always written).
    public var recordEvery: Int
    public var real: RealSourceConfig
    public var model: ModelConfig
    public var regime: RegimeConfig
    public var sampling: SamplingOptions
    /// `sampling.shortcut`: nil (`none`, the default) materialises every synthetic training set.
    public var samplingShortcut: SamplingShortcut?
    /// Metric names, in the order their rows are written.
    public var metrics: [String]
    /// Generations whose training sets are exported to `samples/`.
    public var export: [Int]

    public init(name: String, description: String = ConfigDefaults.description, seed: UInt64 = ConfigDefaults.seed,
                replicates: Int = ConfigDefaults.replicates, generations: Int = ConfigDefaults.generations,
                samples: Int = ConfigDefaults.samples, recordEvery: Int = ConfigDefaults.recordEvery,
                real: RealSourceConfig, model: ModelConfig, regime: RegimeConfig = RegimeConfig(),
                sampling: SamplingOptions = SamplingOptions(), metrics: [String], export: [Int] = []) {
        self.name = name
        self.description = description
        self.seed = seed
        self.replicates = replicates
        self.generations = generations
        self.samples = samples
        self.recordEvery = recordEvery
        self.real = real
        self.model = model
        self.regime = regime
        self.sampling = sampling
        self.metrics = metrics
        self.export = export
    }

    /// Whether generation `g` is written to metrics.csv.
    public func records(generation g: Int) -> Bool {
        g == 0 || g == generations || g % recordEvery == 0
    }
}

/// `sampling.shortcut`: an opt-in, exact-in-distribution way to produce the next generation's fit
/// without its rows (docs/CONFIG.md).
public enum SamplingShortcut: String, Sendable, Codable, Equatable, CaseIterable {
    /// The refit on M synthetic rows is drawn from the exact joint distribution of its sufficient
    /// statistics (1-D Gaussian: normal mean and chi-square sum of squares; mvn: normal mean and
    /// Wishart scatter) — `SufficientStatisticsRefit`. gaussian/mvn, regime replace, no
    /// truncation, and only metrics that read no rows.
    case sufficientStatistics = "sufficient-statistics"
}

/// Where real data come from, and how much of it is held out for external validity.
public struct RealSourceConfig: Sendable, Codable, Equatable {
    public var source: RealSource
    /// Real rows kept aside, never trained on (for a known distribution: drawn fresh once per chain).
    public var holdout: Int

    public init(source: RealSource, holdout: Int = ConfigDefaults.holdout) {
        self.source = source
        self.holdout = holdout
    }
}

/// A known distribution, or a dataset file.
public enum RealSource: Sendable, Codable, Equatable {
    /// `distribution: gaussian` — N(mean, std²).
    case gaussian(mean: Double, std: Double)
    /// `distribution: mvn` — N(mean, covariance), covariance given or `diag(spectrum)`.
    case mvn(mean: [Double], covariance: Matrix)
    /// `distribution: gmm` — mixture; 1-D `stds` become 1 × 1 covariances.
    case gmm(weights: [Double], means: [[Double]], covariances: [Matrix])
    /// `distribution: student-t` — loc + scale · T_df.
    case studentT(df: Double, loc: Double, scale: Double)
    /// `distribution: zipf` — p_k ∝ k^-exponent over `vocabulary` symbols.
    case zipf(vocabulary: Int, exponent: Double)
    /// `distribution: linear-regression` — x ~ N(0, I_d), y = x·w + e, e ~ N(0, noiseStd²).
    case linearRegression(coefficients: [Double], noiseStd: Double)
    /// `dataset:` — a CSV file (path resolved against the config file's folder).
    case dataset(DatasetConfig)

    /// Data dimension d (features; 1 for gaussian/student-t; V for zipf is not a dimension: 1).
    public var dimension: Int {
        switch self {
        case .gaussian, .studentT, .zipf: return 1
        case let .mvn(mean, _): return mean.count
        case let .gmm(_, means, _): return means.first?.count ?? 0
        case let .linearRegression(w, _): return w.count
        case let .dataset(d): return d.featureColumns.count
        }
    }
}

/// A dataset source, already loaded and checked: numeric feature columns and an optional label or
/// target column.
public struct DatasetConfig: Sendable, Codable, Equatable {
    /// The path as written in the config.
    public var path: String
    /// The resolved absolute path (for the manifest; rows below are what the run uses).
    public var resolvedPath: String
    /// SHA-256 of the file's bytes, hex (for the manifest and to detect a changed file on resume).
    public var sha256: String
    public var featureColumns: [String]
    /// `label` column name (class-conditional models, fairness metrics), if any.
    public var labelColumn: String?
    /// `target` column name (linear regression), if any.
    public var targetColumn: String?
    /// Feature rows, n × d.
    public var features: Matrix
    /// Class labels as indices into `classNames`, when `labelColumn` is set.
    public var labels: [Int]?
    /// Distinct label values in order of first appearance.
    public var classNames: [String]?
    /// Targets, when `targetColumn` is set.
    public var targets: [Double]?

    public init(path: String, resolvedPath: String, sha256: String, featureColumns: [String], labelColumn: String?,
                targetColumn: String?, features: Matrix, labels: [Int]?, classNames: [String]?, targets: [Double]?) {
        self.path = path
        self.resolvedPath = resolvedPath
        self.sha256 = sha256
        self.featureColumns = featureColumns
        self.labelColumn = labelColumn
        self.targetColumn = targetColumn
        self.features = features
        self.labels = labels
        self.classNames = classNames
        self.targets = targets
    }
}

/// The model family refitted every generation, with its settings.
public struct ModelConfig: Sendable, Codable, Equatable {
    public enum Family: Sendable, Codable, Equatable {
        case gaussian(estimator: CovarianceEstimator)
        case mvn(estimator: CovarianceEstimator, regularization: Double)
        case gmm(components: Int, restarts: Int, tolerance: Double, maxIterations: Int, regularization: Double)
        /// `bandwidth`: nil = scott, or silverman, or a fixed kernel standard deviation.
        case kde(bandwidth: BandwidthSetting)
        case linearRegression(intercept: Bool, knownNoise: Bool, freshDesign: Bool)
        case categorical(smoothing: Double)
    }

    public enum BandwidthSetting: Sendable, Codable, Equatable {
        case scott, silverman
        case fixed(Double)
    }

    public var family: Family
    /// One model per class label plus class priors (continuous families only).
    public var classConditional: Bool

    public init(family: Family, classConditional: Bool = false) {
        self.family = family
        self.classConditional = classConditional
    }

    /// The config name of the family (`model.kind`).
    public var kind: String {
        switch family {
        case .gaussian: return "gaussian"
        case .mvn: return "mvn"
        case .gmm: return "gmm"
        case .kde: return "kde"
        case .linearRegression: return "linear-regression"
        case .categorical: return "categorical"
        }
    }
}

/// How generation n+1's training set is composed (DESIGN.md regime table).
public struct RegimeConfig: Sendable, Codable, Equatable {
    public enum Kind: String, Sendable, Codable, Equatable, CaseIterable {
        case replace
        case accumulate
        case accumulateSubsample = "accumulate-subsample"
        case mix
        case fresh
    }

    public var kind: Kind
    /// Share of real rows (mix, fresh): m = round(realFraction · M). Ignored by the others.
    public var realFraction: Double

    public init(kind: Kind = .replace, realFraction: Double = ConfigDefaults.realFraction) {
        self.kind = kind
        self.realFraction = realFraction
    }

    /// Real rows per training set under `mix` and `fresh`: m = round(realFraction · M), halves
    /// rounded away from zero (so 0.5 · 5 gives 3). The config loader and the engine both use this.
    public func realRows(samples: Int) -> Int {
        Int((realFraction * Double(samples)).rounded(.toNearestOrAwayFromZero))
    }
}

/// A scalar config value as written in a sweep (for CSV columns and the manifest).
public enum ConfigValue: Sendable, Codable, Equatable, Hashable, CustomStringConvertible {
    case number(Double)
    case integer(Int)
    case string(String)
    case bool(Bool)

    /// The value as it appears in the CSV column of its swept key: shortest round-trip numbers.
    public var description: String {
        switch self {
        case let .number(x): return CSVNumber.format(x)
        case let .integer(i): return String(i)
        case let .string(s): return s
        case let .bool(b): return b ? "true" : "false"
        }
    }
}

/// One point of the sweep grid.
public struct Variant: Sendable, Codable, Equatable {
    /// 0-based index, in grid order (first swept key slowest, last fastest).
    public var index: Int
    /// The swept keys' values, in sweep order (empty without a sweep).
    public var parameters: [SweptValue]
    public var config: ExperimentConfig

    public init(index: Int, parameters: [SweptValue], config: ExperimentConfig) {
        self.index = index
        self.parameters = parameters
        self.config = config
    }
}

public struct SweptValue: Sendable, Codable, Equatable {
    public var keyPath: String
    public var value: ConfigValue
    public init(keyPath: String, value: ConfigValue) {
        self.keyPath = keyPath
        self.value = value
    }
}

/// A loaded experiment: every variant resolved and validated.
public struct Experiment: Sendable, Codable, Equatable {
    /// The config file as given, and the SHA-256 of its bytes.
    public var configPath: String
    public var configSHA256: String
    /// The config file's text (for the manifest: a rerun needs nothing else).
    public var configText: String
    /// Swept key paths, in column order.
    public var sweptKeys: [String]
    /// Command-line overrides applied to every variant (`replicates`, `generations`, `seed`).
    public var overrides: [String: String] = [:]
    public var variants: [Variant]

    public init(configPath: String, configSHA256: String, configText: String, sweptKeys: [String], variants: [Variant]) {
        self.configPath = configPath
        self.configSHA256 = configSHA256
        self.configText = configText
        self.sweptKeys = sweptKeys
        self.variants = variants
    }

    /// The experiment name (shared by every variant; `name` cannot be swept).
    public var name: String { variants.first?.config.name ?? "" }
    public var chainCount: Int { variants.reduce(0) { $0 + $1.config.replicates } }
}

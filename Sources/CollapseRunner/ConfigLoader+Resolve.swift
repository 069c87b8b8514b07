import CollapseCore
import CollapseModels
import Foundation

/// The config keys (DESIGN.md "Config keys"; docs/CONFIG.md documents each).
enum ConfigSchema {
    static let topLevel = ["name", "description", "seed", "replicates", "generations", "samples", "record_every",
                           "real", "model", "regime", "sampling", "metrics", "sweep", "export"]
    static let realCommon = ["distribution", "dataset", "holdout"]
    static let distributions: [(name: String, keys: [String])] = [
        ("gaussian", ["mean", "std"]),
        ("mvn", ["dim", "mean", "covariance", "spectrum"]),
        ("gmm", ["weights", "means", "stds", "covariances"]),
        ("student-t", ["df", "loc", "scale"]),
        ("zipf", ["vocabulary", "exponent"]),
        ("linear-regression", ["dim", "coefficients", "noise_std"]),
    ]
    static let datasetKeys = ["label", "target", "columns"]
    static let modelCommon = ["kind", "class_conditional"]
    static let modelKinds: [(name: String, keys: [String])] = [
        ("gaussian", ["estimator"]),
        ("mvn", ["estimator", "regularization"]),
        ("gmm", ["components", "n_init", "tolerance", "max_iterations", "regularization"]),
        ("kde", ["bandwidth"]),
        ("linear-regression", ["intercept", "noise", "design"]),
        ("categorical", ["smoothing"]),
    ]
    /// Model kinds that may be class-conditional.
    static let continuousKinds = ["gaussian", "mvn", "gmm", "kde"]
    static let regimeKeys = ["kind", "real_fraction"]
    static let samplingKeys = ["temperature", "truncate", "top_k", "shortcut"]
    static let sections = ["real", "model", "regime", "sampling"]

    /// Every key of `real` (all distributions and the dataset keys).
    static var allRealKeys: [String] { unique(realCommon + distributions.flatMap(\.keys) + datasetKeys) }
    /// Every key of `model`.
    static var allModelKeys: [String] { unique(modelCommon + modelKinds.flatMap(\.keys)) }

    /// Scalar keys a sweep may vary, as dotted key paths.
    static var sweepable: [String] {
        ["description", "seed", "replicates", "generations", "samples", "record_every"]
            + ["distribution", "dataset", "holdout", "label", "target", "mean", "std", "dim", "df", "loc", "scale",
               "vocabulary", "exponent", "noise_std"].map { "real." + $0 }
            + unique(modelCommon + modelKinds.flatMap(\.keys)).map { "model." + $0 }
            + regimeKeys.map { "regime." + $0 }
            + samplingKeys.map { "sampling." + $0 }
    }

    /// Keys that hold lists (not sweepable).
    static let listKeys = ["metrics", "export", "real.columns", "real.covariance", "real.spectrum", "real.weights",
                           "real.means", "real.stds", "real.covariances", "real.coefficients"]

    static func unique(_ keys: [String]) -> [String] {
        var seen = Set<String>()
        return keys.filter { seen.insert($0).inserted }
    }
}

/// Loaded datasets of one `load` call, so that sweep variants share one read of each file.
final class DatasetCache {
    private struct Key: Hashable {
        var spec: DatasetSpec
        var directory: String
    }

    private var loaded: [Key: DatasetConfig] = [:]

    func load(_ spec: DatasetSpec, configDirectory: String) throws(DatasetError) -> DatasetConfig {
        let key = Key(spec: spec, directory: configDirectory)
        if let hit = loaded[key] { return hit }
        let data = try DatasetLoader.load(spec, configDirectory: configDirectory)
        loaded[key] = data
        return data
    }
}

/// Resolves one variant's document (sweep values and overrides already substituted) into an
/// `ExperimentConfig`, checking every key and every cross-key rule.
struct VariantResolver {
    let reader: ConfigReader
    let catalog: any MetricCatalog
    let configDirectory: String
    let datasets: DatasetCache
    /// The variant's document.
    let root: ConfigNode

    func resolve() throws(ConfigError) -> ExperimentConfig {
        let top = try reader.section(root, path: "")
        try reader.checkKeys(top, valid: ConfigSchema.topLevel)
        let name = try resolveName(top)
        let description = try reader.string(top, "description", default: ConfigDefaults.description)
        var seed = ConfigDefaults.seed
        if let node = top["seed"] { seed = try reader.uint64(node, "seed") }
        let replicates = try reader.int(top, "replicates", default: ConfigDefaults.replicates, min: 1)
        let generations = try reader.int(top, "generations", default: ConfigDefaults.generations, min: 0)
        let samples = try reader.int(top, "samples", default: ConfigDefaults.samples, min: 1)
        let recordEvery = try reader.int(top, "record_every", default: ConfigDefaults.recordEvery, min: 1)

        guard let realNode = top["real"] else {
            throw reader.missing(top, "real", hint: "for example `real: {distribution: gaussian, mean: 0, std: 1}` or `real: {dataset: data/points.csv}`")
        }
        let realSection = try reader.section(realNode, path: "real", example: "{distribution: gaussian, mean: 0, std: 1}")
        guard let modelNode = top["model"] else {
            throw reader.missing(top, "model", hint: "for example `model: {kind: gaussian}`; kinds: " + ConfigSchema.modelKinds.map(\.name).joined(separator: ", "))
        }
        let modelSection = try reader.section(modelNode, path: "model", example: "{kind: gaussian}")
        let real = try resolveReal(realSection)
        let model = try resolveModel(modelSection)
        let regime = try resolveRegime(top["regime"])
        let (sampling, shortcut) = try resolveSampling(top["sampling"])
        let export = try resolveExport(top["export"], generations: generations)

        var config = ExperimentConfig(name: name, description: description, seed: seed, replicates: replicates,
                                      generations: generations, samples: samples, recordEvery: recordEvery, real: real,
                                      model: model, regime: regime, sampling: sampling, metrics: [], export: export)
        config.samplingShortcut = shortcut
        try crossCheck(config)
        config.metrics = try resolveMetrics(top, config: config)
        return config
    }

    // MARK: Top level

    private func resolveName(_ top: Section) throws(ConfigError) -> String {
        guard let node = top["name"] else {
            throw reader.missing(top, "name", hint: "`name` names the output folder Results/<name>/, e.g. `name: mixing-ratio-gaussian`")
        }
        let expected = "a name of letters, digits, `.`, `_` and `-` (it names the output folder)"
        let name = try reader.string(node, "name", expected: expected)
        let allowed = name.unicodeScalars.allSatisfy { s in
            s.isASCII && (s.properties.isAlphabetic || ("0"..."9").contains(s) || s == "." || s == "_" || s == "-")
        }
        guard allowed, !name.isEmpty, name.utf8.count <= 255, !name.allSatisfy({ $0 == "." }) else {
            throw reader.wrong(node, "name", expected: expected, hint: "for example `name: mixing-ratio-gaussian`")
        }
        return name
    }

    // MARK: real

    private func resolveReal(_ s: Section) throws(ConfigError) -> RealSourceConfig {
        let hasDistribution = s.has("distribution"), hasDataset = s.has("dataset")
        let names = ConfigSchema.distributions.map(\.name)
        // When the kind of source is clear, its own key list checks the keys (better suggestions);
        // otherwise every key of `real` is allowed here and typos are caught first.
        let knownKind = s["distribution"]?.scalar.map { names.contains($0.text) } ?? false
        if !knownKind && !(hasDataset && !hasDistribution) {
            try reader.checkKeys(s, valid: ConfigSchema.allRealKeys)
        }
        if hasDistribution && hasDataset {
            throw reader.error(at: s.keyMark("dataset"), "real.dataset", "`real` takes either `distribution` or `dataset`, not both",
                               hint: "remove one of them")
        }
        if !hasDistribution && !hasDataset {
            throw reader.error(at: s.node.mark, "real", "needs `distribution` (a known distribution) or `dataset` (a CSV file)",
                               hint: "distributions: " + ConfigSchema.distributions.map(\.name).joined(separator: ", ")
                                   + "; for example `real: {distribution: gaussian, mean: 0, std: 1}`")
        }
        let holdout = try reader.int(s, "holdout", default: ConfigDefaults.holdout, min: 1)
        if hasDataset {
            let others = ConfigSchema.distributions.map { ("distribution \($0.name)", $0.keys) }
            try reader.checkKindKeys(s, common: ["dataset", "holdout"], subject: "a dataset source",
                                     kindKeys: ConfigSchema.datasetKeys, others: others)
            return RealSourceConfig(source: .dataset(try resolveDataset(s)), holdout: holdout)
        }
        let kind = try reader.choice(s, "distribution", options: names, default: nil)
        let keys = ConfigSchema.distributions.first(where: { $0.name == kind })!.keys
        let others = ConfigSchema.distributions.filter { $0.name != kind }.map { ("distribution \($0.name)", $0.keys) }
            + [("a dataset source", ConfigSchema.datasetKeys)]
        try reader.checkKindKeys(s, common: ["distribution", "holdout"], subject: "distribution `\(kind)`", kindKeys: keys, others: others)

        let source: RealSource
        switch kind {
        case "gaussian":
            let mean = try reader.number(s, "mean", default: ConfigDefaults.gaussianMean, range: .any)
            let std = try reader.number(s, "std", default: ConfigDefaults.gaussianStd, range: .positive)
            source = .gaussian(mean: mean, std: std)
        case "mvn":
            source = try resolveMVN(s)
        case "gmm":
            source = try resolveGMM(s)
        case "student-t":
            guard s.has("df") else { throw reader.missing(s, "df", hint: "the degrees of freedom (> 0), e.g. `df: 3`") }
            let df = try reader.number(s, "df", default: nil, range: .positive)
            let loc = try reader.number(s, "loc", default: ConfigDefaults.studentTLoc, range: .any)
            let scale = try reader.number(s, "scale", default: ConfigDefaults.studentTScale, range: .positive)
            source = .studentT(df: df, loc: loc, scale: scale)
        case "zipf":
            guard s.has("vocabulary") else { throw reader.missing(s, "vocabulary", hint: "the number of symbols V (>= 2), e.g. `vocabulary: 1000`") }
            let v = try reader.int(s, "vocabulary", default: nil, min: 2, max: ConfigLimits.maxVocabulary)
            let exponent = try reader.number(s, "exponent", default: ConfigDefaults.zipfExponent, range: .positive)
            source = .zipf(vocabulary: v, exponent: exponent)
        default: // linear-regression
            let dim = try reader.optionalInt(s, "dim", min: 1, max: ConfigLimits.maxDimension)
            guard let node = s["coefficients"] else {
                throw reader.missing(s, "coefficients", hint: "the true weights w of y = x·w + e, one per feature, e.g. `coefficients: [1.0, -0.5]`")
            }
            let coefficients = try reader.numbers(node, "real.coefficients", range: .any, count: dim,
                                                  countReason: dim.map { " (dim is \($0))" } ?? "")
            if coefficients.count > ConfigLimits.maxDimension {
                throw reader.error(at: node, "real.coefficients", "at most \(ConfigLimits.maxDimension) coefficients are supported, got \(coefficients.count)")
            }
            let noise = try reader.number(s, "noise_std", default: ConfigDefaults.noiseStd, range: .positive)
            source = .linearRegression(coefficients: coefficients, noiseStd: noise)
        }
        return RealSourceConfig(source: source, holdout: holdout)
    }

    private func resolveMVN(_ s: Section) throws(ConfigError) -> RealSource {
        let dim = try reader.optionalInt(s, "dim", min: 1, max: ConfigLimits.maxDimension)
        // The dimension: `dim`, or the length of the first list given.
        var d = dim
        var reason = dim.map { " (dim is \($0))" } ?? ""
        if d == nil {
            for key in ["mean", "covariance", "spectrum"] {
                if let count = s[key]?.items?.count, count > 0 {
                    d = count
                    reason = " (as many as real.\(key) has)"
                    break
                }
            }
        }
        guard let d else {
            throw reader.missing(s, "dim", hint: "give `dim`, or `mean` / `covariance` / `spectrum` lists from which it follows")
        }
        if d > ConfigLimits.maxDimension {
            throw reader.error(at: s.node.mark, "real.dim", "at most \(ConfigLimits.maxDimension) dimensions are supported, got \(d)")
        }
        var mean = [Double](repeating: 0, count: d)
        if let node = s["mean"] { mean = try reader.numbers(node, "real.mean", range: .any, count: d, countReason: reason) }
        if s.has("covariance") && s.has("spectrum") {
            throw reader.error(at: s.keyMark("spectrum"), "real.spectrum", "give `covariance` or `spectrum`, not both",
                               hint: "`spectrum` lists the eigenvalues of a diagonal covariance")
        }
        var covariance = Matrix.identity(d)
        if let node = s["covariance"] {
            covariance = try reader.covarianceMatrix(node, "real.covariance", order: d, orderReason: reason)
        } else if let node = s["spectrum"] {
            covariance = Matrix.diagonal(try reader.numbers(node, "real.spectrum", range: .positive, count: d, countReason: reason))
        }
        return .mvn(mean: mean, covariance: covariance)
    }

    private func resolveGMM(_ s: Section) throws(ConfigError) -> RealSource {
        guard let weightsNode = s["weights"] else {
            throw reader.missing(s, "weights", hint: "one positive weight per component, summing to 1, e.g. `weights: [0.9, 0.1]`")
        }
        let weights = try reader.numbers(weightsNode, "real.weights", range: .positive)
        let sum = weights.reduce(0, +)
        if abs(sum - 1) > 1e-9 {
            throw reader.error(at: weightsNode, "real.weights", "the weights sum to \(CSVNumber.format(sum)), expected 1 (within 1e-9)",
                               hint: "divide each weight by their sum")
        }
        let k = weights.count
        guard let meansNode = s["means"] else {
            throw reader.missing(s, "means", hint: "one mean per component: numbers for a 1-D mixture, lists for d dimensions")
        }
        let meanNodes = try reader.list(meansNode, "real.means", expected: "a list of \(k) means (one per weight)")
        guard meanNodes.count == k else {
            throw reader.error(at: meansNode, "real.means", "expected a list of \(k) means (one per weight), got \(meanNodes.count)")
        }
        var means: [[Double]] = []
        let vectorForm = meanNodes[0].items != nil
        let d = vectorForm ? (meanNodes[0].items?.count ?? 0) : 1
        if d > ConfigLimits.maxDimension {
            throw reader.error(at: meanNodes[0], "real.means[0]", "at most \(ConfigLimits.maxDimension) dimensions are supported, got \(d)")
        }
        for (i, node) in meanNodes.enumerated() {
            let path = "real.means[\(i)]"
            if vectorForm {
                guard node.items != nil else {
                    throw reader.wrong(node, path, expected: "a list of \(d) numbers like real.means[0]")
                }
                means.append(try reader.numbers(node, path, range: .any, count: d, countReason: " (like real.means[0])"))
            } else {
                guard node.scalar != nil else {
                    throw reader.wrong(node, path, expected: "a number like real.means[0] (1-D mixture)")
                }
                means.append([try reader.number(node, path, range: .any)])
            }
        }
        if s.has("stds") && s.has("covariances") {
            throw reader.error(at: s.keyMark("covariances"), "real.covariances", "give `stds` (1-D) or `covariances`, not both")
        }
        var covariances: [Matrix] = []
        if let node = s["stds"] {
            guard d == 1 else {
                throw reader.error(at: s.keyMark("stds"), "real.stds", "`stds` is for 1-D mixtures; these means have \(d) dimensions",
                                   hint: "give `covariances`: one \(d) x \(d) matrix per component")
            }
            let stds = try reader.numbers(node, "real.stds", range: .positive, count: k, countReason: " (one per weight)")
            covariances = stds.map { Matrix(rows: 1, columns: 1, storage: [$0 * $0]) }
        } else if let node = s["covariances"] {
            let items = try reader.list(node, "real.covariances", expected: "a list of \(k) covariance matrices (one per weight)")
            guard items.count == k else {
                throw reader.error(at: node, "real.covariances", "expected a list of \(k) covariance matrices (one per weight), got \(items.count)")
            }
            for (i, item) in items.enumerated() {
                covariances.append(try reader.covarianceMatrix(item, "real.covariances[\(i)]", order: d, orderReason: " (the dimension of the means)"))
            }
        } else {
            throw reader.missing(s, "stds", hint: "give `stds` (one per component, 1-D) or `covariances` (one d x d matrix per component)")
        }
        return .gmm(weights: weights, means: means, covariances: covariances)
    }

    private func resolveDataset(_ s: Section) throws(ConfigError) -> DatasetConfig {
        let pathNode = s["dataset"]!
        let path = try reader.string(pathNode, "real.dataset", expected: "a CSV file path")
        if path.isEmpty { throw reader.wrong(pathNode, "real.dataset", expected: "a CSV file path") }
        var label: String?
        if let node = s["label"] { label = try reader.string(node, "real.label", expected: "a column name") }
        var target: String?
        if let node = s["target"] { target = try reader.string(node, "real.target", expected: "a column name") }
        if label != nil && target != nil {
            throw reader.error(at: s.keyMark("target"), "real.target", "a dataset takes `label` or `target`, not both",
                               hint: "`label`: class labels (class-conditional models, fairness metrics); `target`: the response of model.kind linear-regression")
        }
        var columns: [String]?
        var columnNodes: [ConfigNode] = []
        if let node = s["columns"] {
            columnNodes = try reader.list(node, "real.columns", expected: "a non-empty list of column names")
            var names: [String] = []
            for (i, item) in columnNodes.enumerated() {
                let name = try reader.string(item, "real.columns[\(i)]", expected: "a column name")
                if let first = names.firstIndex(of: name) {
                    throw reader.error(at: item, "real.columns[\(i)]", "column `\(name)` is already listed at real.columns[\(first)]")
                }
                names.append(name)
            }
            columns = names
        }
        let spec = DatasetSpec(path: path, label: label, target: target, columns: columns)
        do {
            return try datasets.load(spec, configDirectory: configDirectory)
        } catch let e {
            switch e.subject {
            case .file:
                if let line = e.line {
                    throw ConfigError(file: e.file, line: line, keyPath: "real.dataset", message: e.message, hint: e.hint)
                }
                throw reader.error(at: pathNode, "real.dataset", "\(e.file): \(e.message)", hint: e.hint)
            case .label:
                throw reader.error(at: s["label"], "real.label", "\(e.message) (\(e.file))", hint: e.hint)
            case .target:
                throw reader.error(at: s["target"], "real.target", "\(e.message) (\(e.file))", hint: e.hint)
            case let .column(i):
                throw reader.error(at: columnNodes[i], "real.columns[\(i)]", "\(e.message) (\(e.file))", hint: e.hint)
            }
        }
    }

    // MARK: model

    private func resolveModel(_ s: Section) throws(ConfigError) -> ModelConfig {
        let kinds = ConfigSchema.modelKinds.map(\.name)
        if !(s["kind"]?.scalar.map { kinds.contains($0.text) } ?? false) {
            try reader.checkKeys(s, valid: ConfigSchema.allModelKeys)
        }
        let kind = try reader.choice(s, "kind", options: kinds, default: nil)
        let keys = ConfigSchema.modelKinds.first(where: { $0.name == kind })!.keys
        let others = ConfigSchema.modelKinds.filter { $0.name != kind }.map { ("model kind \($0.name)", $0.keys) }
        try reader.checkKindKeys(s, common: ConfigSchema.modelCommon, subject: "model kind `\(kind)`", kindKeys: keys, others: others)
        let classConditional = try reader.bool(s, "class_conditional", default: ConfigDefaults.classConditional)
        if classConditional && !ConfigSchema.continuousKinds.contains(kind) {
            throw reader.error(at: s["class_conditional"], "model.class_conditional",
                               "class-conditional models are a mode of the continuous kinds (\(ConfigSchema.continuousKinds.joined(separator: ", "))), not `\(kind)`",
                               hint: "remove model.class_conditional")
        }
        let estimators = CovarianceEstimator.allCases.map(\.rawValue)
        let family: ModelConfig.Family
        switch kind {
        case "gaussian":
            let estimator = try reader.choice(s, "estimator", options: estimators, default: ConfigDefaults.estimator.rawValue)
            family = .gaussian(estimator: CovarianceEstimator(rawValue: estimator)!)
        case "mvn":
            let estimator = try reader.choice(s, "estimator", options: estimators, default: ConfigDefaults.estimator.rawValue)
            let regularization = try reader.number(s, "regularization", default: ConfigDefaults.mvnRegularization, range: .nonNegative)
            family = .mvn(estimator: CovarianceEstimator(rawValue: estimator)!, regularization: regularization)
        case "gmm":
            let components = try reader.int(s, "components", default: ConfigDefaults.gmmComponents, min: 1)
            let restarts = try reader.int(s, "n_init", default: ConfigDefaults.gmmRestarts, min: 1)
            let tolerance = try reader.number(s, "tolerance", default: ConfigDefaults.gmmTolerance, range: .positive)
            let iterations = try reader.int(s, "max_iterations", default: ConfigDefaults.gmmMaxIterations, min: 1)
            let regularization = try reader.number(s, "regularization", default: ConfigDefaults.gmmRegularization, range: .nonNegative)
            family = .gmm(components: components, restarts: restarts, tolerance: tolerance, maxIterations: iterations,
                          regularization: regularization)
        case "kde":
            var bandwidth = ConfigDefaults.bandwidth
            if let node = s["bandwidth"] {
                let expected = "scott, silverman or a number > 0 (the kernel's standard deviation)"
                guard let scalar = node.scalar, !scalar.isNull else { throw reader.wrong(node, "model.bandwidth", expected: expected) }
                if scalar.text == "scott" {
                    bandwidth = .scott
                } else if scalar.text == "silverman" {
                    bandwidth = .silverman
                } else if let x = scalar.number {
                    guard x.isFinite, x > 0 else { throw reader.wrong(node, "model.bandwidth", expected: expected) }
                    bandwidth = .fixed(x)
                } else {
                    let hint = Suggest.closest(to: scalar.text, in: ["scott", "silverman"]).map { "did you mean `\($0)`?" }
                    throw reader.wrong(node, "model.bandwidth", expected: expected, hint: hint)
                }
            }
            family = .kde(bandwidth: bandwidth)
        case "linear-regression":
            let intercept = try reader.bool(s, "intercept", default: ConfigDefaults.intercept)
            let noise = try reader.choice(s, "noise", options: ["estimated", "known"],
                                          default: ConfigDefaults.knownNoise ? "known" : "estimated")
            let design = try reader.choice(s, "design", options: ["fixed", "fresh"],
                                           default: ConfigDefaults.freshDesign ? "fresh" : "fixed")
            family = .linearRegression(intercept: intercept, knownNoise: noise == "known", freshDesign: design == "fresh")
        default: // categorical
            let smoothing = try reader.number(s, "smoothing", default: ConfigDefaults.smoothing, range: .nonNegative)
            family = .categorical(smoothing: smoothing)
        }
        return ModelConfig(family: family, classConditional: classConditional)
    }

    // MARK: regime, sampling, export

    private func resolveRegime(_ node: ConfigNode?) throws(ConfigError) -> RegimeConfig {
        guard let node else { return RegimeConfig(kind: ConfigDefaults.regime, realFraction: ConfigDefaults.realFraction) }
        let s = try reader.section(node, path: "regime", example: "{kind: mix, real_fraction: 0.1}")
        try reader.checkKeys(s, valid: ConfigSchema.regimeKeys)
        let kinds = RegimeConfig.Kind.allCases.map(\.rawValue)
        let kind = try reader.choice(s, "kind", options: kinds, default: ConfigDefaults.regime.rawValue)
        let fraction = try reader.number(s, "real_fraction", default: ConfigDefaults.realFraction, range: .unitInterval)
        return RegimeConfig(kind: RegimeConfig.Kind(rawValue: kind)!, realFraction: fraction)
    }

    private func resolveSampling(_ node: ConfigNode?) throws(ConfigError) -> (SamplingOptions, SamplingShortcut?) {
        guard let node else { return (SamplingOptions(temperature: ConfigDefaults.temperature), nil) }
        let s = try reader.section(node, path: "sampling", example: "{temperature: 1.0}")
        try reader.checkKeys(s, valid: ConfigSchema.samplingKeys)
        let temperature = try reader.number(s, "temperature", default: ConfigDefaults.temperature, range: .positive)
        let truncate = try reader.optionalNumber(s, "truncate", range: .positive)
        let topK = try reader.optionalInt(s, "top_k", min: 1)
        let shortcut = try reader.choice(s, "shortcut", options: ["none"] + SamplingShortcut.allCases.map(\.rawValue),
                                         default: ConfigDefaults.samplingShortcut)
        return (SamplingOptions(temperature: temperature, truncation: truncate, topK: topK), SamplingShortcut(rawValue: shortcut))
    }

    private func resolveExport(_ node: ConfigNode?, generations: Int) throws(ConfigError) -> [Int] {
        guard let node else { return [] }
        let items = try reader.list(node, "export", expected: "a list of generations, e.g. [0, 10]", allowEmpty: true)
        var result: [Int] = []
        for (i, item) in items.enumerated() {
            let path = "export[\(i)]"
            let g = try reader.int(item, path, min: 0)
            if g > generations {
                throw reader.error(at: item, path, "expected a generation in [0, \(generations)], got \(g)",
                                   hint: "the last generation is `generations`: \(generations)\(note(for: "generations"))")
            }
            if let first = result.firstIndex(of: g) {
                throw reader.error(at: item, path, "generation \(g) is already listed at export[\(first)]")
            }
            result.append(g)
        }
        return result
    }

    // MARK: metrics

    private func resolveMetrics(_ top: Section, config: ExperimentConfig) throws(ConfigError) -> [String] {
        guard let node = top["metrics"] else { return catalog.defaultMetrics(for: config) }
        let items = try reader.list(node, "metrics", expected: "a non-empty list of metric names")
        let known = catalog.metricNames
        var names: [String] = []
        for (i, item) in items.enumerated() {
            let path = "metrics[\(i)]"
            let name = try reader.string(item, path, expected: "a metric name")
            guard known.contains(name) else {
                var message = "unknown metric `\(name)`"
                if let guess = Suggest.closest(to: name, in: known) { message += "; did you mean `\(guess)`?" }
                throw reader.error(at: item, path, message, hint: "metrics: \(known.joined(separator: ", ")) (`collapse list` describes them)")
            }
            if let first = names.firstIndex(of: name) {
                throw reader.error(at: item, path, "metric `\(name)` is already listed at metrics[\(first)]")
            }
            names.append(name)
        }
        var withMetrics = config
        withMetrics.metrics = names
        for (i, name) in names.enumerated() {
            if let problem = catalog.problem(with: name, in: withMetrics) {
                throw reader.error(at: items[i], "metrics[\(i)]", "metric `\(name)` cannot be measured in this experiment: \(problem)",
                                   hint: "remove it from `metrics`")
            }
        }
        return names
    }
}

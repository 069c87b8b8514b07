import CollapseCore
import Foundation

/// Command-line values that replace the config's own (`collapse run --replicates/--generations/--seed`).
///
/// They are applied to every variant before validation, so a bad value is reported like a bad
/// config value (`replicates: expected an integer >= 1, got 0 (from --replicates)`). A key that is
/// swept cannot also be overridden.
public struct ConfigOverrides: Sendable, Equatable {
    public var replicates: Int?
    public var generations: Int?
    public var seed: UInt64?

    public init(replicates: Int? = nil, generations: Int? = nil, seed: UInt64? = nil) {
        self.replicates = replicates
        self.generations = generations
        self.seed = seed
    }

    /// No overrides.
    public static let none = ConfigOverrides()

    /// The overrides as recorded in manifest.json (`--replicates` etc. by key name).
    public var recorded: [String: String] {
        var out: [String: String] = [:]
        if let replicates { out["replicates"] = String(replicates) }
        if let generations { out["generations"] = String(generations) }
        if let seed { out["seed"] = String(seed) }
        return out
    }

    /// The overrides recorded in a manifest; nil when a value does not parse.
    public init?(recorded: [String: String]) {
        self.init()
        for (key, value) in recorded {
            switch key {
            case "replicates": guard let v = Int(value) else { return nil }; replicates = v
            case "generations": guard let v = Int(value) else { return nil }; generations = v
            case "seed": guard let v = UInt64(value) else { return nil }; seed = v
            default: return nil
            }
        }
    }
}

/// Reads an experiment config file (YAML; docs/CONFIG.md) into a validated `Experiment`: every
/// sweep variant resolved into an `ExperimentConfig`.
///
/// Strict by design (STYLE.md rule 7): unknown keys at every level, wrong types, out-of-range
/// values, keys of another model or distribution kind, duplicate keys and inconsistent
/// combinations are errors naming the key path and the line; every default comes from
/// `ConfigDefaults`. Datasets named by `real.dataset` are read and checked here, once per file.
public struct ConfigLoader: Sendable {
    /// The metrics a config may name, and the defaults when it names none.
    public let catalog: any MetricCatalog

    public init(catalog: any MetricCatalog) {
        self.catalog = catalog
    }

    /// Loads the config file at `path` (datasets resolve against its folder).
    ///
    /// - Throws: `ConfigError` for a missing or unreadable file, a file over 1 MB, bytes that are
    ///   not UTF-8, YAML syntax errors (with line:column), and every schema or consistency problem.
    public func load(path: String, overrides: ConfigOverrides = .none) throws(ConfigError) -> Experiment {
        var isDirectory: ObjCBool = false
        guard FileManager.default.fileExists(atPath: path, isDirectory: &isDirectory) else {
            throw ConfigError(file: path, message: "config file not found")
        }
        if isDirectory.boolValue {
            throw ConfigError(file: path, message: "is a folder, not a config file")
        }
        if let size = (try? FileManager.default.attributesOfItem(atPath: path))?[.size] as? Int {
            try ConfigDocument.checkSize(size, file: path)
        }
        guard let data = FileManager.default.contents(atPath: path) else {
            throw ConfigError(file: path, message: "cannot read the file (check its permissions)")
        }
        return try load(bytes: [UInt8](data), path: path, overrides: overrides)
    }

    /// Loads a config from its bytes; `path` names it in errors and locates datasets.
    public func load(bytes: [UInt8], path: String, overrides: ConfigOverrides = .none) throws(ConfigError) -> Experiment {
        let (text, root) = try ConfigDocument.parse(bytes: bytes, file: path)
        return try expand(root, text: text, sha256: SHA256.hexDigest(bytes), path: path, overrides: overrides)
    }

    /// Loads a config from text; `path` names it in errors and locates datasets (its folder).
    public func load(text: String, path: String, overrides: ConfigOverrides = .none) throws(ConfigError) -> Experiment {
        let root = try ConfigDocument.parse(text: text, file: path)
        return try expand(root, text: text, sha256: SHA256.hexDigest(text.utf8), path: path, overrides: overrides)
    }

    // MARK: Sweep expansion

    /// One swept key and its values, in the order written.
    private struct Axis {
        var path: String
        var keyMark: SourceMark?
        var values: [ConfigNode]
    }

    private func expand(_ root: ConfigNode, text: String, sha256: String, path: String,
                        overrides: ConfigOverrides) throws(ConfigError) -> Experiment {
        let reader = ConfigReader(file: path)
        let sweepEntry = root.entries?.first(where: { $0.key == "sweep" })
        let base = root.removing("sweep")
        let axes = try sweepEntry.map { (entry) throws(ConfigError) -> [Axis] in try parseSweep(entry, reader: reader) } ?? []

        let overridden: [(String, String)] = [
            ("replicates", "--replicates"), ("generations", "--generations"), ("seed", "--seed"),
        ].filter { key, _ in
            switch key {
            case "replicates": return overrides.replicates != nil
            case "generations": return overrides.generations != nil
            default: return overrides.seed != nil
            }
        }
        for axis in axes {
            if let (_, option) = overridden.first(where: { $0.0 == axis.path }) {
                throw reader.error(at: axis.keyMark, "sweep.\(axis.path)", "\(option) cannot override a swept key",
                                   hint: "remove \(option), or the sweep of `\(axis.path)`")
            }
        }

        var count = 1
        for axis in axes {
            let (product, overflow) = count.multipliedReportingOverflow(by: axis.values.count)
            if overflow || product > ConfigLimits.maxVariants {
                let sizes = axes.map { String($0.values.count) }.joined(separator: " x ")
                throw reader.error(at: sweepEntry?.keyMark, "sweep", "the sweep has \(sizes) variants, more than the limit of \(ConfigLimits.maxVariants)",
                                   hint: "split the grid over several configs")
            }
            count = product
        }

        let cache = DatasetCache()
        let directory = DatasetLoader.directory(of: path)
        func resolve(_ document: ConfigNode) throws(ConfigError) -> ExperimentConfig {
            try VariantResolver(reader: reader, catalog: catalog, configDirectory: directory, datasets: cache,
                                root: applying(overrides, to: document)).resolve()
        }

        var variants: [Variant] = []
        variants.reserveCapacity(count)
        var baseError: ConfigError??
        for index in 0..<count {
            var document = base
            var parameters: [SweptValue] = []
            var remainder = index
            var choices = [Int](repeating: 0, count: axes.count)
            for a in axes.indices.reversed() {
                choices[a] = remainder % axes[a].values.count
                remainder /= axes[a].values.count
            }
            for (a, axis) in axes.enumerated() {
                let value = axis.values[choices[a]]
                document = document.setting(value, at: axis.path.split(separator: ".").map(String.init))
                parameters.append(SweptValue(keyPath: axis.path, value: value.scalar!.configValue))
            }
            do {
                let config = try resolve(document)
                variants.append(Variant(index: index, parameters: parameters, config: config))
            } catch var error {
                guard !axes.isEmpty else { throw error }
                // A problem the document has without any sweep value is reported without the variant.
                if baseError == nil {
                    do {
                        _ = try resolve(base)
                        baseError = .some(nil)
                    } catch let e {
                        baseError = .some(e)
                    }
                }
                if let b = baseError ?? nil, b.keyPath == error.keyPath, b.message == error.message {
                    throw error
                }
                let values = parameters.map { "\($0.keyPath)=\($0.value)" }.joined(separator: ", ")
                error.variant = "sweep variant \(index) (\(values))"
                throw error
            }
        }
        var experiment = Experiment(configPath: path, configSHA256: sha256, configText: text, sweptKeys: axes.map(\.path),
                                    variants: variants)
        experiment.overrides = overrides.recorded
        if !experiment.overrides.isEmpty {
            // A run with overrides is a different run of the same file: its identity (resume,
            // merge) covers both.
            let tag = experiment.overrides.keys.sorted().map { "\($0)=\(experiment.overrides[$0]!)" }.joined(separator: ",")
            experiment.configSHA256 = SHA256.hexDigest(Array((sha256 + "|overrides:" + tag).utf8))
        }
        return experiment
    }

    /// Reads `sweep`: a mapping from dotted key paths of scalar keys to non-empty lists of scalars.
    private func parseSweep(_ entry: ConfigEntry, reader: ConfigReader) throws(ConfigError) -> [Axis] {
        let example = "regime.real_fraction: [0, 0.1, 0.5]"
        guard let entries = entry.value.entries, !entries.isEmpty else {
            throw reader.wrong(entry.value, "sweep", expected: "a mapping from key paths to lists of values",
                               hint: "for example:\nsweep:\n  \(example)")
        }
        let sweepable = ConfigSchema.sweepable
        var axes: [Axis] = []
        for item in entries {
            let key = item.key
            let path = "sweep.\(key)"
            if key == "name" {
                throw reader.error(at: item.keyMark, path, "`name` cannot be swept: it names the output folder shared by every variant")
            }
            if key == "sweep" {
                throw reader.error(at: item.keyMark, path, "`sweep` cannot be swept")
            }
            if ConfigSchema.listKeys.contains(key) {
                throw reader.error(at: item.keyMark, path, "`\(key)` holds a list; a sweep varies scalar keys only",
                                   hint: "write one config per list, or sweep a scalar key")
            }
            if ConfigSchema.sections.contains(key) {
                let inside = sweepable.filter { $0.hasPrefix(key + ".") }
                throw reader.error(at: item.keyMark, path, "`\(key)` is a section; sweep one of its keys with a dotted key path",
                                   hint: "for example `\(inside.first ?? key + ".kind"): [...]`; keys of `\(key)` that can be swept: " + inside.joined(separator: ", "))
            }
            guard sweepable.contains(key) else {
                var message = "`\(key)` is not a key that can be swept"
                if let guess = Suggest.closest(to: key, in: sweepable) { message += "; did you mean `\(guess)`?" }
                throw reader.error(at: item.keyMark, path, message, hint: "keys that can be swept: " + sweepable.joined(separator: ", "))
            }
            let expected = "a non-empty list of values, e.g. [0, 0.1, 0.5]"
            guard let values = item.value.items, !values.isEmpty else {
                throw reader.wrong(item.value, path, expected: expected)
            }
            for (i, value) in values.enumerated() {
                let valuePath = "\(path)[\(i)]"
                guard let scalar = value.scalar, !scalar.isNull else {
                    throw reader.wrong(value, valuePath, expected: "a single value (number, integer, string or boolean)")
                }
                for j in 0..<i where Self.sameValue(values[j].scalar!, scalar) {
                    throw reader.error(at: value, valuePath, "duplicate value \(scalar.foundDescription) (already at \(path)[\(j)])",
                                       hint: "each value gives one variant; list it once")
                }
            }
            axes.append(Axis(path: key, keyMark: item.keyMark, values: values))
        }
        return axes
    }

    /// Whether two sweep values give the same config (numbers compared by value).
    private static func sameValue(_ a: ConfigScalar, _ b: ConfigScalar) -> Bool {
        if let x = a.number, let y = b.number { return x == y }
        return a.configValue == b.configValue
    }

    /// The document with the command-line values in place (marked as coming from the options).
    private func applying(_ overrides: ConfigOverrides, to document: ConfigNode) -> ConfigNode {
        var result = document
        func set(_ key: String, _ text: String, _ option: String) {
            let node = ConfigNode(.scalar(ConfigScalar(text: text, isPlain: true)), mark: nil, origin: option)
            result = result.setting(node, at: [key])
        }
        if let r = overrides.replicates { set("replicates", String(r), "--replicates") }
        if let g = overrides.generations { set("generations", String(g), "--generations") }
        if let s = overrides.seed { set("seed", String(s), "--seed") }
        return result
    }
}

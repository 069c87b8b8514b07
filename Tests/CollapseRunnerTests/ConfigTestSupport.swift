import CollapseCore
import Foundation
@testable import CollapseRunner

/// A metric catalog double: `variance` and `mean_shift` apply to every model, `tv` to categorical
/// models only. `extra` adds names (the DESIGN.md example names five metrics).
struct TestCatalog: MetricCatalog {
    var extra: [String] = []

    var metricNames: [String] { ["variance", "mean_shift", "tv"] + extra }

    func problem(with name: String, in config: ExperimentConfig) -> String? {
        if name == "tv" && config.model.kind != "categorical" { return "needs a categorical model" }
        return nil
    }

    func defaultMetrics(for config: ExperimentConfig) -> [String] {
        config.model.kind == "categorical" ? ["tv"] : ["variance", "mean_shift"]
    }
}

/// A fresh folder under the system temporary directory, removed by `remove()`.
struct TemporaryFolder {
    let path: String

    init() {
        path = FileManager.default.temporaryDirectory
            .appendingPathComponent("mc-config-tests-\(UUID().uuidString)").path
        try? FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true)
    }

    /// Writes `text` (UTF-8) to `name` inside the folder (creating subfolders) and returns its path.
    @discardableResult
    func write(_ name: String, _ text: String) -> String {
        write(name, bytes: Array(text.utf8))
    }

    @discardableResult
    func write(_ name: String, bytes: [UInt8]) -> String {
        let file = path + "/" + name
        let folder = (file as NSString).deletingLastPathComponent
        try? FileManager.default.createDirectory(atPath: folder, withIntermediateDirectories: true)
        _ = FileManager.default.createFile(atPath: file, contents: Data(bytes))
        return file
    }

    func remove() {
        try? FileManager.default.removeItem(atPath: path)
    }
}

enum ConfigTesting {
    static let loader = ConfigLoader(catalog: TestCatalog())

    /// Loads YAML text as `test.yaml` in the working directory.
    static func load(_ yaml: String, overrides: ConfigOverrides = .none,
                     loader: ConfigLoader = ConfigTesting.loader) throws(ConfigError) -> Experiment {
        try loader.load(text: yaml, path: "test.yaml", overrides: overrides)
    }

    /// The error loading `yaml` gives, or nil if it loads.
    static func error(_ yaml: String, overrides: ConfigOverrides = .none) -> ConfigError? {
        do {
            _ = try load(yaml, overrides: overrides)
            return nil
        } catch {
            return error
        }
    }

    /// A small valid config; lines: 1 name, 2 samples, 3 real, 4 model, then `rest` from line 5.
    static func doc(samples: String = "20", real: String = "{distribution: gaussian}", model: String = "{kind: gaussian}",
                    _ rest: String = "") -> String {
        "name: t\nsamples: \(samples)\nreal: \(real)\nmodel: \(model)\n" + rest
    }
}

import CollapseMetrics
import Foundation
import Testing
@testable import CollapseRunner

/// The experiment library in `Experiments/`: every config loads with the real metric registry,
/// and the quick start runs end to end.
@Suite struct ExperimentsLibraryTests {
    /// `Experiments/` of this checkout, found from this file's path (Tests/CollapseRunnerTests/...).
    static let folder = URL(fileURLWithPath: #filePath)
        .deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
        .appendingPathComponent("Experiments")

    /// The config files directly in `Experiments/` (`*.yaml`, `*.yml`), sorted by name.
    static func configFiles() -> [String] {
        let names = (try? FileManager.default.contentsOfDirectory(atPath: folder.path)) ?? []
        return names.filter { $0.hasSuffix(".yaml") || $0.hasSuffix(".yml") }.sorted()
    }

    static let loader = ConfigLoader(catalog: MetricRegistry.standard)

    @Test func theLibraryHoldsAtLeastTenConfigsIncludingTheQuickStart() {
        let files = Self.configFiles()
        #expect(files.count >= 10, "Experiments/ holds \(files.count) configs: \(files)")
        #expect(files.contains("quickstart.yaml"))
    }

    /// Each config validates now (metrics restricted to those `collapse list` shows) and is named
    /// after its file, so that it writes to `Results/<file name>/`.
    @Test(arguments: ExperimentsLibraryTests.configFiles())
    func configLoadsWithTheStandardRegistry(_ file: String) throws {
        let path = Self.folder.appendingPathComponent(file).path
        let experiment: Experiment
        do {
            experiment = try Self.loader.load(path: path)
        } catch {
            Issue.record("\(file): \(error)")
            return
        }
        #expect(!experiment.variants.isEmpty, "\(file)")
        let stem = (file as NSString).deletingPathExtension
        for variant in experiment.variants {
            #expect(variant.config.name == stem, "\(file): name \(variant.config.name) differs from the file name")
            #expect(!variant.config.metrics.isEmpty, "\(file)")
        }
    }

    /// quickstart.yaml through `Engine` with 3 replicates and 4 generations: metrics.csv,
    /// summary.csv and manifest.json are written, and summary.csv has every variant of the sweep,
    /// generations 0 and 4 (the last is always recorded) and every metric plus `degenerate`.
    @Test func quickstartRunsEndToEndWithReducedSize() throws {
        let path = Self.folder.appendingPathComponent("quickstart.yaml").path
        let replicates = 3, generations = 4
        let experiment = try Self.loader.load(path: path, overrides: ConfigOverrides(replicates: replicates, generations: generations))
        #expect(experiment.variants.count >= 2)
        for variant in experiment.variants {
            #expect(variant.config.replicates == replicates)
            #expect(variant.config.generations == generations)
        }

        let out = FileManager.default.temporaryDirectory.appendingPathComponent("collapse-experiments-quickstart-\(UUID().uuidString)")
        defer { try? FileManager.default.removeItem(at: out) }
        let run = try Engine(experiment: experiment, registry: .standard).run(RunOptions(outputDirectory: out, threads: 2))
        #expect(run.complete)
        #expect(run.chains == experiment.variants.count * replicates)

        for name in ["metrics.csv", "summary.csv", "manifest.json"] {
            #expect(FileManager.default.fileExists(atPath: out.appendingPathComponent(name).path), "\(name) missing")
        }

        let metricNames = experiment.variants[0].config.metrics + ["degenerate"]
        let recorded = [0, generations]

        // metrics.csv: one row per variant x replicate x recorded generation x metric.
        let metricsLines = try String(contentsOf: out.appendingPathComponent("metrics.csv"), encoding: .utf8)
            .split(separator: "\n", omittingEmptySubsequences: true)
        #expect(metricsLines.first.map(String.init)
            == (["variant"] + experiment.sweptKeys + ["replicate", "generation", "metric", "value"]).joined(separator: ","))
        #expect(metricsLines.count == 1 + experiment.variants.count * replicates * recorded.count * metricNames.count)

        // summary.csv: the expected variants, with their swept values, generations and metrics.
        let summaryLines = try String(contentsOf: out.appendingPathComponent("summary.csv"), encoding: .utf8)
            .split(separator: "\n", omittingEmptySubsequences: true)
            .map { $0.split(separator: ",", omittingEmptySubsequences: false).map(String.init) }
        guard let header = summaryLines.first else {
            Issue.record("summary.csv is empty")
            return
        }
        let swept = experiment.sweptKeys
        #expect(Array(header.prefix(3 + swept.count)) == ["variant"] + swept + ["generation", "metric"])
        guard let nColumn = header.firstIndex(of: "n") else {
            Issue.record("summary.csv has no column n: \(header)")
            return
        }
        let rows = summaryLines.dropFirst()
        #expect(rows.count == experiment.variants.count * recorded.count * metricNames.count)

        var expectedVariants: [[String]] = []
        for variant in experiment.variants {
            expectedVariants.append([String(variant.index)] + variant.parameters.map { $0.value.description })
        }
        var seenVariants: [[String]] = []
        for row in rows where !seenVariants.contains(Array(row.prefix(1 + swept.count))) {
            seenVariants.append(Array(row.prefix(1 + swept.count)))
        }
        #expect(seenVariants == expectedVariants)

        for variant in expectedVariants {
            let ofVariant = rows.filter { Array($0.prefix(1 + swept.count)) == variant }
            let generationsSeen = Set(ofVariant.compactMap { Int($0[1 + swept.count]) })
            #expect(generationsSeen == Set(recorded), "variant \(variant[0])")
            for g in recorded {
                let metrics = ofVariant.filter { $0[1 + swept.count] == String(g) }.map { $0[2 + swept.count] }
                #expect(metrics == metricNames, "variant \(variant[0]), generation \(g)")
            }
            // Every chain contributes to the variance rows (finite for a non-degenerate Gaussian).
            for row in ofVariant where row[2 + swept.count] == "variance" {
                #expect(row[nColumn] == String(replicates), "variant \(variant[0]): \(row)")
            }
        }
    }
}

import CollapseCore
import CollapseTestSupport
import Foundation
import Testing
@testable import CollapseMetrics
@testable import CollapseRunner

/// Seeded mutations of the repository's valid configs: the loader must never crash or hang, and
/// must either accept the mutant (which then runs) or reject it with a `ConfigError` whose
/// message names a place (file:line or a key path).
@Suite struct ConfigFuzzTests {
    static let experiments = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
        .deletingLastPathComponent().appendingPathComponent("Experiments")

    @Test func mutatedConfigsAreAcceptedOrRejectedWithAPlace() throws {
        let files = try FileManager.default.contentsOfDirectory(atPath: Self.experiments.path).filter { $0.hasSuffix(".yaml") }.sorted()
        #expect(files.count >= 10)
        let loader = ConfigLoader(catalog: MetricRegistry.standard)
        var rng = Philox4x32(seed: 4242, path: [0xF022])
        var accepted: [(String, Experiment)] = []
        var rejected = 0
        let start = Date()
        for n in 0..<800 {
            let name = files[n % files.count]
            let path = Self.experiments.appendingPathComponent(name).path
            let text = ConfigMutation.mutant(of: try String(contentsOfFile: path, encoding: .utf8), &rng)
            let began = Date()
            do {
                let experiment = try loader.load(text: text, path: path, overrides: ConfigOverrides(replicates: 1, generations: 2))
                if accepted.count < 10 { accepted.append((name, experiment)) }
            } catch {
                rejected += 1
                let message = error.description
                #expect(message.contains(":") && message.count > 10, "unhelpful error for a mutant of \(name): \(message)")
            }
            #expect(Date().timeIntervalSince(began) < 2, "loading a mutant of \(name) took too long")
        }
        #expect(rejected > 200, "the mutations should break most configs; only \(rejected) of 800 were rejected")
        // Accepted mutants run (one replicate, two generations) without crashing.
        for (name, experiment) in accepted {
            let dir = FileManager.default.temporaryDirectory.appendingPathComponent("collapse-fuzz-\(UUID().uuidString)")
            defer { try? FileManager.default.removeItem(at: dir) }
            do {
                _ = try Engine(experiment: experiment).run(RunOptions(outputDirectory: dir, threads: 2))
            } catch {
                Issue.record("accepted mutant of \(name) failed to run: \(error)")
            }
        }
        print("config fuzz: 800 mutants, \(rejected) rejected, \(accepted.count) accepted and run in \(String(format: "%.1f", Date().timeIntervalSince(start))) s")
    }
}

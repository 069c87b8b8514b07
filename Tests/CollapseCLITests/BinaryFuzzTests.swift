import CollapseCore
import CollapseTestSupport
import Foundation
import Testing

/// Seeded mutations of every Experiments config, checked through the real `collapse` binary (the
/// in-process `ConfigFuzzTests` cannot see a crash, a hang or a wrong exit code of the CLI).
/// Each mutant: `collapse validate` must end by itself within the per-case timeout, never by a
/// signal, and exit 0 (accepted: prints the variants) or 2 (rejected: `error: ` and a located
/// message); 6 of the accepted ones must then run (1 replicate, 2 generations) with exit 0.
@Suite struct BinaryFuzzTests {
    static let cases = 3000
    static let workers = 2
    static let perCaseTimeout = 20.0

    struct Outcome: Sendable {
        let index: Int
        let source: String
        let result: Subprocess
    }

    /// Where a rejection must point, as `ConfigError` prints it: the config file (`m<i>.yaml:` then a
    /// line, a sweep variant or key path, or a document-level problem such as an empty file), or
    /// the dataset file the config names (`data/x.csv`).
    static func namesAPlace(_ stderr: String, config: String) -> Bool {
        let text = stderr.dropFirst("error: ".count)
        return text.hasPrefix(config + ":") || text.hasPrefix("data/") || text.contains("/data/")
    }

    @Test func mutatedConfigsThroughTheBinaryExitZeroOrTwoWithAPlace() throws {
        let experiments = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
            .deletingLastPathComponent().appendingPathComponent("Experiments")
        let names = try FileManager.default.contentsOfDirectory(atPath: experiments.path).filter { $0.hasSuffix(".yaml") }.sorted()
        #expect(names.count >= 10)
        let dir = try CLITests.workspace("binary-fuzz")
        defer { try? FileManager.default.removeItem(at: dir) }
        // The datasets sit next to the mutants, where the configs' relative paths find them.
        try FileManager.default.copyItem(at: experiments.appendingPathComponent("data"), to: dir.appendingPathComponent("data"))
        var rng = Philox4x32(seed: 9090, path: [0xF023])
        var sources: [String] = []
        for n in 0..<Self.cases {
            let name = names[n % names.count]
            let text = ConfigMutation.mutant(of: try String(contentsOf: experiments.appendingPathComponent(name), encoding: .utf8), &rng)
            try text.write(to: dir.appendingPathComponent("m\(n).yaml"), atomically: false, encoding: .utf8)
            sources.append(name)
        }

        let start = Date()
        let mutantSources = sources
        let lock = NSLock()
        nonisolated(unsafe) var outcomes: [Outcome] = []
        nonisolated(unsafe) var spawnFailures: [String] = []
        DispatchQueue.concurrentPerform(iterations: Self.workers) { worker in
            for n in stride(from: worker, to: Self.cases, by: Self.workers) {
                do {
                    let r = try Subprocess.collapse(["validate", "m\(n).yaml"], in: dir, timeout: Self.perCaseTimeout)
                    lock.lock(); outcomes.append(Outcome(index: n, source: mutantSources[n], result: r)); lock.unlock()
                } catch {
                    lock.lock(); spawnFailures.append("m\(n).yaml: \(error)"); lock.unlock()
                }
            }
        }
        let seconds = Date().timeIntervalSince(start)
        #expect(spawnFailures.isEmpty, "\(spawnFailures.prefix(5))")
        outcomes.sort { $0.index < $1.index }

        var accepted: [Int] = []
        var rejected = 0
        for o in outcomes {
            let r = o.result, config = "m\(o.index).yaml"
            let label = "\(config) (a mutant of \(o.source))"
            #expect(!r.timedOut, "\(label) hung: no exit within \(Self.perCaseTimeout) s")
            #expect(!r.signalled || r.timedOut, "\(label) crashed: \(r.describe)")
            switch r.status {
            case 0 where !r.signalled:
                accepted.append(o.index)
                #expect(r.stdout.contains("variant(s)"), "\(label) accepted without listing its variants: \(r.stdout)")
            case 2 where !r.signalled:
                rejected += 1
                #expect(r.stderr.hasPrefix("error: ") && Self.namesAPlace(r.stderr, config: config),
                        "\(label) rejected without naming the place: \(r.stderr)")
            default:
                if !r.signalled { Issue.record("\(label): exit \(r.status), expected 0 or 2: \(r.stderr)") }
            }
        }
        #expect(rejected > Self.cases / 4, "the mutations should break many configs; only \(rejected) of \(Self.cases) were rejected")
        #expect(accepted.count > 50, "too few mutants were accepted (\(accepted.count)) to check that they run")

        // Accepted means runnable: 6 of them (the in-process fuzz runs 10 more), spread over the accepted set, run to completion.
        let runStart = Date()
        let sample = stride(from: 0, to: accepted.count, by: max(1, accepted.count / 6)).prefix(6).map { accepted[$0] }
        for n in sample {
            let r = try Subprocess.collapse(["run", "m\(n).yaml", "--replicates", "1", "--generations", "2", "--out", "run-\(n)",
                                             "--quiet", "--threads", "1"], in: dir, timeout: 120)
            #expect(r.status == 0 && !r.signalled, "m\(n).yaml (a mutant of \(sources[n])) passed validate but its run failed: \(r.describe)")
        }
        print(String(format: "binary fuzz: %d mutants through collapse validate in %.1f s (%.0f per second, %d workers): %d accepted, %d rejected; %d accepted ones run in %.1f s",
                     Self.cases, seconds, Double(Self.cases) / seconds, Self.workers, accepted.count, rejected, sample.count,
                     Date().timeIntervalSince(runStart)))
    }
}

import Foundation
import Testing

/// `kill -9` at exact moments of a multi-variant run, through the test hook
/// `COLLAPSE_FAULT=kill:<point>[:<n>]` (Sources/CollapseRunner/FaultInjection.swift): the process
/// sends itself SIGKILL the n-th time it reaches the point. Each kill is followed by `--resume`,
/// whose files must equal an uninterrupted run's: metrics.csv, summary.csv and the exported
/// samples byte for byte, manifest.json except its run-specific lines (timing, resumed-from).
@Suite struct FaultInjectionTests {
    /// 4 variants x 3 replicates = 12 chains of 9 generations x 4 rows; replicate 0 of every
    /// variant exports generation 2's training set.
    static let config = """
        name: faults
        seed: 5
        replicates: 3
        generations: 8
        samples: 30
        real: {distribution: gaussian, mean: 0, std: 1, holdout: 100}
        model: {kind: gaussian}
        regime: {kind: mix, real_fraction: 0}
        metrics: [variance, mean_shift, nll_real]
        export: [2]
        sweep:
          regime.real_fraction: [0, 0.5]
          model.estimator: [mle, unbiased]
        """
    static let chains = 12
    static let rowsPerChain = 9 * 4

    /// A workspace holding the config and an uninterrupted run of it in `whole/`.
    static func workspace(_ name: String) throws -> URL {
        let dir = try CLITests.workspace(name)
        try config.write(to: dir.appendingPathComponent("faults.yaml"), atomically: true, encoding: .utf8)
        let whole = try Subprocess.collapse(["run", "faults.yaml", "--out", "whole", "--quiet", "--threads", "2"], in: dir)
        #expect(whole.status == 0 && !whole.signalled, "\(whole.describe)")
        return dir
    }

    static func state(_ dir: URL) -> (chainsDone: Int, bytes: Int)? {
        guard let data = try? Data(contentsOf: dir.appendingPathComponent("run-state.json")),
              let json = (try? JSONSerialization.jsonObject(with: data)) as? [String: Any],
              let chains = json["chainsDone"] as? Int, let bytes = json["bytes"] as? Int else { return nil }
        return (chains, bytes)
    }

    static func size(_ url: URL) -> Int? {
        (try? FileManager.default.attributesOfItem(atPath: url.path))?[.size] as? Int
    }

    /// The resumed directory `out` holds exactly what `whole` holds, with the same bytes.
    static func expectSameResult(_ dir: URL, _ out: String, _ context: String) throws {
        let whole = dir.appendingPathComponent("whole"), resumed = dir.appendingPathComponent(out)
        #expect(RunFiles.listing(resumed) == RunFiles.listing(whole), "\(context): files left behind or missing")
        for name in ["metrics.csv", "summary.csv", "samples/variant-0-generation-2.csv", "samples/variant-3-generation-2.csv"] {
            #expect(try Data(contentsOf: resumed.appendingPathComponent(name)) == Data(contentsOf: whole.appendingPathComponent(name)),
                    "\(context): \(name) differs from the uninterrupted run")
        }
        #expect(try RunFiles.manifestWithoutRunFields(resumed.appendingPathComponent("manifest.json"))
                == RunFiles.manifestWithoutRunFields(whole.appendingPathComponent("manifest.json")), "\(context): manifest.json differs")
        let blocks = try RunFiles.chainBlocks(resumed.appendingPathComponent("metrics.csv"))
        #expect(blocks.map { "\($0.variant)/\($0.replicate)" } == (0..<chains).map { "\($0 / 3)/\($0 % 3)" },
                "\(context): chains missing, duplicated or out of order")
        #expect(blocks.allSatisfy { $0.rows == rowsPerChain }, "\(context): a chain with a wrong number of rows")
    }

    /// A kill point, what it interrupts, and what the directory must hold right after the kill.
    struct Point: CustomTestStringConvertible, Sendable {
        let fault: String
        let check: @Sendable (URL) -> Void
        var testDescription: String { fault }
    }

    static let points: [Point] = [
        // Directory locked and checked, nothing written: only the lock file.
        Point(fault: "prepared") { out in
            #expect(RunFiles.listing(out) == [".lock"])
        },
        // The partial file holds the header, the state says no chain is done.
        Point(fault: "renamed-run-state.json:1") { out in
            #expect(state(out)?.chainsDone == 0)
            #expect(size(out.appendingPathComponent("metrics.csv.partial")) == state(out)?.bytes)
        },
        // Half of chain 6's rows (variant 1, replicate 2) are in the partial file, past its durable length.
        Point(fault: "mid-append:6") { out in
            let s = state(out)
            #expect(s != nil && s!.chainsDone < 6)
            #expect((size(out.appendingPathComponent("metrics.csv.partial")) ?? 0) > (s?.bytes ?? .max), "no torn tail to truncate")
        },
        // Between chains 7 and 8 (variant 2): rows appended, not necessarily synced.
        Point(fault: "appended:7") { out in
            #expect((state(out)?.chainsDone ?? .max) <= 7)
            #expect(!FileManager.default.fileExists(atPath: out.appendingPathComponent("metrics.csv").path))
        },
        // Variant 2's export is written, its chain's rows are not appended yet.
        Point(fault: "renamed-variant-2-generation-2.csv") { out in
            #expect(FileManager.default.fileExists(atPath: out.appendingPathComponent("samples/variant-2-generation-2.csv").path))
            #expect((state(out)?.chainsDone ?? .max) <= 6)
        },
        // The final write: metrics.csv renamed into place, no summary yet.
        Point(fault: "metrics-renamed") { out in
            #expect(state(out)?.chainsDone == chains)
            #expect(FileManager.default.fileExists(atPath: out.appendingPathComponent("metrics.csv").path))
            #expect(!FileManager.default.fileExists(atPath: out.appendingPathComponent("summary.csv").path))
        },
        // summary.csv written, manifest.json not.
        Point(fault: "renamed-summary.csv") { out in
            #expect(FileManager.default.fileExists(atPath: out.appendingPathComponent("summary.csv").path))
            #expect(!FileManager.default.fileExists(atPath: out.appendingPathComponent("manifest.json").path))
        },
        // manifest.json.tmp created (empty) but not written or renamed.
        Point(fault: "write-manifest.json") { out in
            #expect(size(out.appendingPathComponent("manifest.json.tmp")) == 0)
            #expect(!FileManager.default.fileExists(atPath: out.appendingPathComponent("manifest.json").path))
        },
        // Everything written; only the state file is left to remove.
        Point(fault: "renamed-manifest.json") { out in
            #expect(FileManager.default.fileExists(atPath: out.appendingPathComponent("manifest.json").path))
            #expect(state(out)?.chainsDone == chains)
        },
    ]

    @Test(arguments: points)
    func killedAtAPointResumesToTheSameBytes(point: Point) throws {
        let dir = try Self.workspace("kill-\(point.fault.replacingOccurrences(of: ":", with: "-"))")
        defer { try? FileManager.default.removeItem(at: dir) }
        let out = dir.appendingPathComponent("killed")
        let killed = try Subprocess.collapse(["run", "faults.yaml", "--out", "killed", "--quiet", "--threads", "2"], in: dir,
                                             environment: ["COLLAPSE_FAULT": "kill:\(point.fault)"])
        try #require(killed.signalled && killed.status == SIGKILL, "the run was not killed at \(point.fault): \(killed.describe)")
        point.check(out)
        if Self.state(out) != nil {
            let plain = try Subprocess.collapse(["run", "faults.yaml", "--out", "killed", "--quiet"], in: dir)
            #expect(plain.status == 1 && plain.stderr.contains("--resume"), "\(plain.describe)")
        }
        let resumed = try Subprocess.collapse(["run", "faults.yaml", "--out", "killed", "--resume", "--quiet", "--threads", "2"], in: dir)
        #expect(resumed.status == 0 && !resumed.signalled, "\(resumed.describe)")
        try Self.expectSameResult(dir, "killed", "kill at \(point.fault)")
    }

    /// A history of several kills, each resume with another thread count: still the same bytes.
    @Test func repeatedKillsAndResumesWithOtherThreadCounts() throws {
        let dir = try Self.workspace("kill-history")
        defer { try? FileManager.default.removeItem(at: dir) }
        let history: [(fault: String, threads: Int)] = [("appended:4", 1), ("mid-append:3", 4), ("renamed-run-state.json:2", 3),
                                                        ("renamed-summary.csv", 2)]
        for (step, (fault, threads)) in history.enumerated() {
            var arguments = ["run", "faults.yaml", "--out", "killed", "--quiet", "--threads", String(threads)]
            if step > 0 { arguments.append("--resume") }
            let killed = try Subprocess.collapse(arguments, in: dir, environment: ["COLLAPSE_FAULT": "kill:\(fault)"])
            #expect(killed.signalled && killed.status == SIGKILL, "step \(step) (\(fault)) was not killed: \(killed.describe)")
        }
        // The manifest records the thread count of the process that finished the run: 2, as in `whole`.
        let resumed = try Subprocess.collapse(["run", "faults.yaml", "--out", "killed", "--resume", "--quiet", "--threads", "2"], in: dir)
        #expect(resumed.status == 0, "\(resumed.describe)")
        try Self.expectSameResult(dir, "killed", "after \(history.map(\.fault))")
    }

    /// An unknown action or an empty point disarms the hook: the run completes normally.
    @Test func malformedFaultSpecificationsAreIgnored() throws {
        let dir = try Self.workspace("kill-malformed")
        defer { try? FileManager.default.removeItem(at: dir) }
        for (i, spec) in ["explode:prepared", "kill:", "kill", "kill:prepared:0:1"].enumerated() {
            let r = try Subprocess.collapse(["run", "faults.yaml", "--out", "r\(i)", "--quiet"], in: dir, environment: ["COLLAPSE_FAULT": spec])
            #expect(r.status == 0 && !r.signalled, "\(spec): \(r.describe)")
        }
    }
}

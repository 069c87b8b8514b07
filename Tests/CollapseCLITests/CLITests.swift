import Foundation
import Testing

/// End-to-end tests of the built `collapse` binary: real processes, real files, real signals.
@Suite(.serialized) struct CLITests {
    /// The `collapse` executable next to the test bundle (SwiftPM builds it for this target).
    static let binary: URL = {
        let candidates = [
            URL(fileURLWithPath: CommandLine.arguments[0]).deletingLastPathComponent().appendingPathComponent("collapse"),
            URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
                .appendingPathComponent(".build/debug/collapse"),
        ]
        return candidates.first { FileManager.default.isExecutableFile(atPath: $0.path) } ?? candidates[1]
    }()

    struct Result { let status: Int32; let stdout: String; let stderr: String }

    @discardableResult
    static func collapse(_ args: [String], in dir: URL) throws -> Result {
        let p = Process()
        p.executableURL = binary
        p.arguments = args
        p.currentDirectoryURL = dir
        let out = Pipe(), err = Pipe()
        p.standardOutput = out
        p.standardError = err
        try p.run()
        let o = out.fileHandleForReading.readDataToEndOfFile(), e = err.fileHandleForReading.readDataToEndOfFile()
        p.waitUntilExit()
        return Result(status: p.terminationStatus, stdout: String(decoding: o, as: UTF8.self), stderr: String(decoding: e, as: UTF8.self))
    }

    static func workspace(_ name: String) throws -> URL {
        let url = FileManager.default.temporaryDirectory.appendingPathComponent("collapse-cli-\(name)-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: url, withIntermediateDirectories: true)
        return url
    }

    static let smallConfig = """
        name: small
        seed: 3
        replicates: 6
        generations: 8
        samples: 30
        real: {distribution: gaussian, mean: 0, std: 1, holdout: 100}
        model: {kind: gaussian}
        regime: {kind: mix, real_fraction: 0}
        metrics: [variance, mean_shift, nll_real]
        sweep:
          regime.real_fraction: [0, 0.5]
          model.estimator: [mle, unbiased]
        """

    func read(_ url: URL) throws -> Data { try Data(contentsOf: url) }

    @Test func runWritesParseableTidyCSVAndIsIndependentOfThreads() throws {
        let dir = try Self.workspace("threads")
        defer { try? FileManager.default.removeItem(at: dir) }
        try Self.smallConfig.write(to: dir.appendingPathComponent("small.yaml"), atomically: true, encoding: .utf8)
        let one = try Self.collapse(["run", "small.yaml", "--threads", "1", "--out", "one"], in: dir)
        #expect(one.status == 0, "\(one.stderr)")
        let two = try Self.collapse(["run", "small.yaml", "--threads", "2", "--out", "two", "--quiet"], in: dir)
        #expect(two.status == 0, "\(two.stderr)")
        let a = try read(dir.appendingPathComponent("one/metrics.csv")), b = try read(dir.appendingPathComponent("two/metrics.csv"))
        #expect(a == b)
        let lines = String(decoding: a, as: UTF8.self).split(separator: "\n")
        #expect(lines[0] == "variant,regime.real_fraction,model.estimator,replicate,generation,metric,value")
        // 4 variants x 6 replicates x 9 generations x (3 metrics + degenerate)
        #expect(lines.count == 1 + 4 * 6 * 9 * 4)
        for line in lines.dropFirst() {
            let f = line.split(separator: ",")
            #expect(f.count == 7 && Double(f[6]) != nil, "unparseable row \(line)")
        }
        // The default output folder is Results/<name>.
        let defaultRun = try Self.collapse(["run", "small.yaml", "--quiet"], in: dir)
        #expect(defaultRun.status == 0)
        #expect(try read(dir.appendingPathComponent("Results/small/metrics.csv")) == a)
    }

    @Test func threeShardsMergedEqualTheUnshardedRun() throws {
        let dir = try Self.workspace("shards")
        defer { try? FileManager.default.removeItem(at: dir) }
        try Self.smallConfig.write(to: dir.appendingPathComponent("small.yaml"), atomically: true, encoding: .utf8)
        #expect(try Self.collapse(["run", "small.yaml", "--out", "whole", "--quiet"], in: dir).status == 0)
        for k in 1...3 {
            let r = try Self.collapse(["run", "small.yaml", "--shard", "\(k)/3", "--out", "shard-\(k)", "--quiet"], in: dir)
            #expect(r.status == 0, "\(r.stderr)")
        }
        let incomplete = try Self.collapse(["merge", "shard-1", "shard-3", "--out", "merged"], in: dir)
        #expect(incomplete.status == 1 && incomplete.stderr.contains("missing shard(s) 2/3"))
        let merged = try Self.collapse(["merge", "shard-3", "shard-1", "shard-2", "--out", "merged"], in: dir)
        #expect(merged.status == 0, "\(merged.stderr)")
        #expect(try read(dir.appendingPathComponent("merged/metrics.csv")) == read(dir.appendingPathComponent("whole/metrics.csv")))
        #expect(try read(dir.appendingPathComponent("merged/summary.csv")) == read(dir.appendingPathComponent("whole/summary.csv")))
    }

    /// A real kill -9 of the running process, then --resume: the same bytes as an uninterrupted run.
    @Test func killedRunResumesToTheSameBytes() throws {
        let dir = try Self.workspace("kill")
        defer { try? FileManager.default.removeItem(at: dir) }
        let config = Self.smallConfig.replacingOccurrences(of: "replicates: 6", with: "replicates: 150")
            .replacingOccurrences(of: "generations: 8", with: "generations: 60")
        try config.write(to: dir.appendingPathComponent("big.yaml"), atomically: true, encoding: .utf8)
        #expect(try Self.collapse(["run", "big.yaml", "--out", "whole", "--quiet"], in: dir).status == 0)
        let expected = try read(dir.appendingPathComponent("whole/metrics.csv"))
        var killedMidway = false
        for delay in [0.3, 0.6, 1.0] {
            try? FileManager.default.removeItem(at: dir.appendingPathComponent("killed"))
            let p = Process()
            p.executableURL = Self.binary
            p.arguments = ["run", "big.yaml", "--out", "killed", "--quiet"]
            p.currentDirectoryURL = dir
            try p.run()
            Thread.sleep(forTimeInterval: delay)
            kill(p.processIdentifier, SIGKILL)
            p.waitUntilExit()
            let state = dir.appendingPathComponent("killed/run-state.json")
            guard FileManager.default.fileExists(atPath: state.path) else { continue } // finished before the kill
            killedMidway = true
            let plain = try Self.collapse(["run", "big.yaml", "--out", "killed", "--quiet"], in: dir)
            #expect(plain.status == 1 && plain.stderr.contains("--resume"))
            let resumed = try Self.collapse(["run", "big.yaml", "--out", "killed", "--resume", "--quiet"], in: dir)
            #expect(resumed.status == 0, "\(resumed.stderr)")
            #expect(try read(dir.appendingPathComponent("killed/metrics.csv")) == expected, "after kill at \(delay) s")
        }
        #expect(killedMidway, "every run finished before it could be killed; make the experiment larger")
    }

    /// SIGINT stops the run, says how to resume, and --resume completes it.
    @Test func interruptStopsWithAResumeHint() throws {
        let dir = try Self.workspace("sigint")
        defer { try? FileManager.default.removeItem(at: dir) }
        let config = Self.smallConfig.replacingOccurrences(of: "replicates: 6", with: "replicates: 150")
            .replacingOccurrences(of: "generations: 8", with: "generations: 60")
        try config.write(to: dir.appendingPathComponent("big.yaml"), atomically: true, encoding: .utf8)
        let p = Process()
        p.executableURL = Self.binary
        p.arguments = ["run", "big.yaml", "--out", "stopped"]
        p.currentDirectoryURL = dir
        let err = Pipe()
        p.standardError = err
        p.standardOutput = FileHandle.nullDevice
        try p.run()
        Thread.sleep(forTimeInterval: 0.4)
        kill(p.processIdentifier, SIGINT)
        let message = String(decoding: err.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        p.waitUntilExit()
        if p.terminationStatus == 0 { return } // finished first: nothing to check on this machine
        #expect(p.terminationStatus == 130)
        #expect(message.contains("--resume"), "\(message)")
        #expect(try Self.collapse(["run", "big.yaml", "--out", "stopped", "--resume", "--quiet"], in: dir).status == 0)
    }

    /// A run into a directory whose lock another process holds is refused (flock), not
    /// interleaved; once the holder lets go, the run proceeds. The test holds the lock itself, the
    /// way a running `collapse run` does, so the outcome does not depend on timing.
    @Test func concurrentRunIntoTheSameDirectoryIsRefused() throws {
        let dir = try Self.workspace("lock")
        defer { try? FileManager.default.removeItem(at: dir) }
        try Self.smallConfig.write(to: dir.appendingPathComponent("small.yaml"), atomically: true, encoding: .utf8)
        let out = dir.appendingPathComponent("shared")
        try FileManager.default.createDirectory(at: out, withIntermediateDirectories: true)
        let fd = open(out.appendingPathComponent(".lock").path, O_CREAT | O_RDWR, 0o644)
        #expect(fd >= 0 && flock(fd, LOCK_EX | LOCK_NB) == 0)
        let refused = try Self.collapse(["run", "small.yaml", "--out", "shared", "--quiet"], in: dir)
        #expect(refused.status == 1 && refused.stderr.contains("another collapse run"), "\(refused.stderr)")
        try Data("keep".utf8).write(to: out.appendingPathComponent("manifest.json"))
        let forced = try Self.collapse(["run", "small.yaml", "--out", "shared", "--force", "--quiet"], in: dir)
        #expect(forced.status == 1, "--force must not touch a locked directory")
        #expect(try Data(contentsOf: out.appendingPathComponent("manifest.json")) == Data("keep".utf8))
        try FileManager.default.removeItem(at: out.appendingPathComponent("manifest.json"))
        #expect(!FileManager.default.fileExists(atPath: out.appendingPathComponent("metrics.csv.partial").path))
        flock(fd, LOCK_UN)
        close(fd)
        #expect(try Self.collapse(["run", "small.yaml", "--out", "shared", "--quiet"], in: dir).status == 0)
    }

    @Test func badConfigsExitTwoAndLeaveNoOutput() throws {
        let dir = try Self.workspace("bad")
        defer { try? FileManager.default.removeItem(at: dir) }
        let cases: [(String, String, String)] = [
            ("typo", Self.smallConfig.replacingOccurrences(of: "replicates:", with: "replicats:"), "replicats"),
            ("range", Self.smallConfig.replacingOccurrences(of: "samples: 30", with: "samples: 0"), "samples"),
            ("sweep", Self.smallConfig.replacingOccurrences(of: "model.estimator:", with: "model.estimatr:"), "model.estimatr"),
            ("metric", Self.smallConfig.replacingOccurrences(of: "nll_real]", with: "nll_reel]"), "nll_reel"),
            ("yaml", Self.smallConfig + "\n  : [", "yaml"),
        ]
        for (name, text, fragment) in cases {
            try text.write(to: dir.appendingPathComponent("\(name).yaml"), atomically: true, encoding: .utf8)
            let r = try Self.collapse(["run", "\(name).yaml", "--out", "out-\(name)"], in: dir)
            #expect(r.status == 2, "\(name): exit \(r.status)")
            #expect(r.stderr.lowercased().contains(fragment.lowercased()), "\(name): \(r.stderr)")
            #expect(!FileManager.default.fileExists(atPath: dir.appendingPathComponent("out-\(name)").path), "\(name) left an output directory")
            #expect(try Self.collapse(["validate", "\(name).yaml"], in: dir).status == 2)
        }
        let missing = try Self.collapse(["run", "nowhere.yaml"], in: dir)
        #expect(missing.status == 2 && missing.stderr.contains("nowhere.yaml"))
        let usage = try Self.collapse(["run", "x.yaml", "--shard", "4/3"], in: dir)
        #expect(usage.status == 64)
    }

    /// `collapse demo` prints one CSV row per generation whose mean variance (MLE) lies within 5
    /// standard errors (its own std_error column) of ((M-1)/M)^(g+1); `info` names the BLAS.
    @Test func demoTracksTheoryAndInfoNamesTheBLAS() throws {
        let dir = try Self.workspace("demo")
        defer { try? FileManager.default.removeItem(at: dir) }
        let demo = try Self.collapse(["demo", "--generations", "5", "--samples", "20", "--replicates", "400"], in: dir)
        #expect(demo.status == 0, "\(demo.stderr)")
        let rows = demo.stdout.split(separator: "\n").filter { !$0.hasPrefix("#") }.dropFirst()
        #expect(rows.count == 6)
        for row in rows {
            let f = row.split(separator: ",").compactMap { Double($0) }
            #expect(f.count == 4 && abs(f[3] - pow(0.95, f[0] + 1)) < 1e-6, "theory column of \(row)")
            #expect(abs(f[1] - f[3]) < 5 * f[2], "generation \(Int(f[0])): \(f[1]) vs \(f[3]) (SE \(f[2]))")
        }
        let info = try Self.collapse(["info"], in: dir)
        #expect(info.status == 0 && info.stdout.contains("OpenBLAS"))
        #expect(["avx512", "avx2", "generic"].contains { info.stdout.contains("Philox4x32-10, bulk kernel \($0)") }, "\(info.stdout)")
        #expect(["avx512", "avx2", "generic"].contains { info.stdout.contains("exp/log (mixture E-step): own kernels, \($0);") },
                "\(info.stdout)")
    }

    @Test func summarizeCompareAndListWork() throws {
        let dir = try Self.workspace("compare")
        defer { try? FileManager.default.removeItem(at: dir) }
        try Self.smallConfig.write(to: dir.appendingPathComponent("small.yaml"), atomically: true, encoding: .utf8)
        #expect(try Self.collapse(["run", "small.yaml", "--out", "r", "--quiet"], in: dir).status == 0)
        let summary = try read(dir.appendingPathComponent("r/summary.csv"))
        try FileManager.default.removeItem(at: dir.appendingPathComponent("r/summary.csv"))
        #expect(try Self.collapse(["summarize", "r"], in: dir).status == 0)
        #expect(try read(dir.appendingPathComponent("r/summary.csv")) == summary)
        let compare = try Self.collapse(["compare", "r", "--metric", "variance", "--below", "0.95"], in: dir)
        #expect(compare.status == 0, "\(compare.stderr)")
        #expect(compare.stdout.split(separator: "\n").count == 5) // header + 4 variants
        let unknown = try Self.collapse(["compare", "r", "--metric", "nope"], in: dir)
        #expect(unknown.status == 2 && unknown.stderr.contains("variance"))
        let list = try Self.collapse(["list"], in: dir)
        #expect(list.status == 0 && list.stdout.contains("nll_real") && list.stdout.contains("accumulate-subsample"))
    }

    /// `validate` says when a variant draws its refits from sufficient statistics (no rows).
    @Test func validateNamesTheSamplingShortcut() throws {
        let dir = try Self.workspace("shortcut")
        defer { try? FileManager.default.removeItem(at: dir) }
        let config = """
            name: shortcut
            samples: 20
            real: {distribution: gaussian}
            model: {kind: gaussian}
            metrics: [variance]
            sweep:
              sampling.shortcut: [none, sufficient-statistics]
            """
        try config.write(to: dir.appendingPathComponent("s.yaml"), atomically: true, encoding: .utf8)
        let result = try Self.collapse(["validate", "s.yaml"], in: dir)
        #expect(result.status == 0, "\(result.stderr)")
        let lines = result.stdout.split(separator: "\n")
        #expect(lines.count == 3, "\(result.stdout)")
        #expect(lines.count == 3 && !lines[1].contains("no synthetic rows")
                    && lines[2].contains("regime replace, sampling.shortcut sufficient-statistics (no synthetic rows), metrics variance"),
                "\(result.stdout)")
    }
}

import Foundation
import Testing

/// `collapse slurm`: the job scripts it writes, its errors, and a real sweep on a real one-node
/// SLURM cluster on localhost (Scripts/slurm/local-cluster.sh: munged, slurmctld, slurmd).
@Suite(.serialized) struct SlurmTests {
    static let repository = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
        .deletingLastPathComponent()
    static let clusterScript = repository.appendingPathComponent("Scripts/slurm/local-cluster.sh").path

    /// 2 variants x 6 replicates = 12 chains: 3 per shard with --tasks 4.
    static let sweepConfig = """
        name: slurm-sweep
        seed: 19
        replicates: 6
        generations: 12
        samples: 25
        record_every: 3
        real: {distribution: gaussian, mean: 0, std: 1, holdout: 200}
        model: {kind: gaussian}
        regime: {kind: mix, real_fraction: 0}
        metrics: [variance, mean_shift, nll_real]
        sweep:
          regime.real_fraction: [0, 0.5]
        """

    struct Output { let status: Int32; let stdout: String; let stderr: String }

    /// Runs a program with extra environment variables (through `Subprocess`: output goes through
    /// files, so a chatty program such as apt-get cannot block on a full pipe).
    static func run(_ executable: String, _ arguments: [String], environment extra: [String: String] = [:],
                    in directory: URL? = nil) throws -> Output {
        let cwd = directory ?? URL(fileURLWithPath: FileManager.default.currentDirectoryPath)
        let p = try Subprocess.run(URL(fileURLWithPath: executable), arguments, in: cwd, environment: extra, timeout: 1800)
        return Output(status: p.status, stdout: p.stdout, stderr: p.stderr)
    }

    static func collapse(_ arguments: [String], environment: [String: String] = [:], in directory: URL) throws -> Output {
        try run(CLITests.binary.path, arguments, environment: environment, in: directory)
    }

    static func read(_ url: URL) throws -> Data { try Data(contentsOf: url) }

    /// Every job log under `directory`, for failure messages.
    static func logs(_ directory: URL) -> String {
        let names = ((try? FileManager.default.contentsOfDirectory(atPath: directory.path)) ?? []).sorted()
        return names.map { name in
            "---- \(name)\n" + ((try? String(contentsOf: directory.appendingPathComponent(name), encoding: .utf8)) ?? "(unreadable)")
        }.joined(separator: "\n")
    }

    /// The job id printed after `prefix` ("array job 12: ..."), or nil.
    static func jobID(after prefix: String, in text: String) -> String? {
        for line in text.split(separator: "\n") where line.hasPrefix(prefix) {
            let digits = line.dropFirst(prefix.count).prefix { $0.isNumber }
            if !digits.isEmpty { return String(digits) }
        }
        return nil
    }

    /// Polls squeue until none of `jobs` is pending or running; false after `timeout` seconds.
    static func waitForJobs(_ jobs: [String], environment: [String: String], timeout: Double = 180) throws -> (done: Bool, last: String) {
        let deadline = Date().addingTimeInterval(timeout)
        var last = ""
        while Date() < deadline {
            let q = try run("/usr/bin/env", ["squeue", "-h", "-j", jobs.joined(separator: ","), "-o", "%i %T %r"], environment: environment)
            last = q.stdout + q.stderr
            // squeue lists only jobs that are not finished; it fails once a finished job is purged.
            if q.status != 0 || q.stdout.trimmingCharacters(in: .whitespacesAndNewlines).isEmpty { return (true, last) }
            Thread.sleep(forTimeInterval: 0.5)
        }
        return (false, last)
    }

    // MARK: - Without a cluster

    @Test func writesTheArrayAndMergeScriptsAndExplainsErrors() throws {
        let dir = try CLITests.workspace("slurm-scripts")
        defer { try? FileManager.default.removeItem(at: dir) }
        try Self.sweepConfig.write(to: dir.appendingPathComponent("sweep.yaml"), atomically: true, encoding: .utf8)
        let r = try Self.collapse(["slurm", "sweep.yaml", "--tasks", "4", "--partition", "debug", "--time", "0-00:20",
                                   "--cpus-per-task", "2", "--out", "out", "--sbatch-arg", "--mem=2G"], in: dir)
        #expect(r.status == 0, "\(r.stderr)")
        let out = dir.appendingPathComponent("out").standardizedFileURL.path
        let array = try String(contentsOfFile: out + "/slurm/array.sbatch", encoding: .utf8)
        let merge = try String(contentsOfFile: out + "/slurm/merge.sbatch", encoding: .utf8)
        #expect(r.stdout.contains(out + "/slurm/array.sbatch") && r.stdout.contains("--dependency=afterok:") && r.stdout.contains("--kill-on-invalid-dep=yes"), "\(r.stdout)")
        for line in ["#SBATCH --job-name=slurm-sweep", "#SBATCH --array=1-4", "#SBATCH --cpus-per-task=2", "#SBATCH --partition=debug",
                     "#SBATCH --time=0-00:20", "#SBATCH --mem=2G", "#SBATCH --output=\(out)/slurm-logs/%x-%A_%a.out",
                     "export OPENBLAS_NUM_THREADS=1", "tasks=4",
                     "\"$collapse\" run \"$config\" --shard \"$k/$tasks\" --out \"$shard\" --threads \"$threads\" --quiet"] {
            #expect(array.contains(line + "\n") || array.contains(line + " "), "array.sbatch lacks \(line)")
        }
        #expect(array.contains("threads=\"${SLURM_CPUS_PER_TASK:-1}\""))
        for line in ["#SBATCH --job-name=slurm-sweep-merge", "#SBATCH --partition=debug", "#SBATCH --output=\(out)/slurm-logs/%x-%j.out",
                     "\"$collapse\" merge \"${shards[@]}\" --out \"$out\" --force", "\"$collapse\" summarize \"$out\"",
                     "  \"$out/shard-4\""] {
            #expect(merge.contains(line + "\n"), "merge.sbatch lacks \(line)")
        }
        #expect(!merge.contains("--array"))
        #expect(FileManager.default.fileExists(atPath: out + "/slurm-logs"), "SLURM does not create the log folder: collapse must")
        for script in ["array.sbatch", "merge.sbatch"] {
            let syntax = try Self.run("/bin/bash", ["-n", out + "/slurm/" + script])
            #expect(syntax.status == 0, "\(script): \(syntax.stderr)")
        }

        // Usage errors exit 64, config errors 2, a missing sbatch 1, each with a message.
        let usage: [([String], String)] = [
            (["--tasks", "0"], "--tasks"), (["--tasks", "13"], "12 chains"), (["--time", "1:2:3:4"], "--time"),
            (["--cpus-per-task", "0"], "--cpus-per-task"), (["--collapse", "/nonexistent/collapse"], "--collapse"),
        ]
        for (args, fragment) in usage {
            let bad = try Self.collapse(["slurm", "sweep.yaml", "--out", "bad"] + args, in: dir)
            #expect(bad.status == 64 && bad.stderr.contains(fragment), "\(args): exit \(bad.status), \(bad.stderr)")
        }
        try Self.sweepConfig.replacingOccurrences(of: "samples:", with: "sampels:")
            .write(to: dir.appendingPathComponent("typo.yaml"), atomically: true, encoding: .utf8)
        let typo = try Self.collapse(["slurm", "typo.yaml"], in: dir)
        #expect(typo.status == 2 && typo.stderr.contains("sampels"), "\(typo.stderr)")
        let noSbatch = try Self.collapse(["slurm", "sweep.yaml", "--out", "nosbatch", "--submit"],
                                         environment: ["PATH": dir.appendingPathComponent("no-such-bin").path], in: dir)
        #expect(noSbatch.status == 1 && noSbatch.stderr.contains("sbatch"), "\(noSbatch.stderr)")
        #expect(!FileManager.default.fileExists(atPath: dir.appendingPathComponent("nosbatch").path))

        // Shards of another split in the output folder are refused, not merged into garbage.
        let shard = try Self.collapse(["run", "sweep.yaml", "--shard", "1/2", "--out", "out/shard-1", "--quiet"], in: dir)
        #expect(shard.status == 0, "\(shard.stderr)")
        let foreign = try Self.collapse(["slurm", "sweep.yaml", "--tasks", "4", "--out", "out"], in: dir)
        #expect(foreign.status == 1 && foreign.stderr.contains("shard 1/2"), "\(foreign.stderr)")
    }

    // MARK: - On a real one-node SLURM cluster

    @Test func sweepOnALocalClusterMergesToTheUnshardedBytesAndResubmitsOnlyMissingShards() throws {
        let started = Date()
        let up = try Self.run("/bin/bash", [Self.clusterScript, "up"])
        if up.status == 77 {
            // Cannot run here (not root, no apt-get): say why, and report the test as skipped.
            var reason = up.stdout.trimmingCharacters(in: .whitespacesAndNewlines)
            if reason.hasPrefix("skipped: ") { reason.removeFirst("skipped: ".count) }
            print("skipped: SlurmTests real-cluster test: \(reason)")
            try Test.cancel("skipped: \(reason)")
        }
        try #require(up.status == 0, "local-cluster.sh up failed (exit \(up.status)):\n\(up.stdout)\n\(up.stderr)")
        let confLine = try #require(up.stdout.split(separator: "\n").first { $0.hasPrefix("export SLURM_CONF=") },
                                    "local-cluster.sh up printed no SLURM_CONF: \(up.stdout)")
        let conf = String(confLine.dropFirst("export SLURM_CONF=".count))
        let clusterDirectory = URL(fileURLWithPath: conf).deletingLastPathComponent().path
        defer {
            let down = try? Self.run("/bin/bash", [Self.clusterScript, "down", clusterDirectory])
            if down?.status != 0 { Issue.record("local-cluster.sh down failed: \(down?.stderr ?? "did not start")") }
        }
        let bringUp = Date().timeIntervalSince(started)
        let environment = ["SLURM_CONF": conf]

        let dir = try CLITests.workspace("slurm-cluster")
        defer { try? FileManager.default.removeItem(at: dir) }
        try Self.sweepConfig.write(to: dir.appendingPathComponent("sweep.yaml"), atomically: true, encoding: .utf8)
        let whole = try Self.collapse(["run", "sweep.yaml", "--out", "whole", "--quiet"], in: dir)
        try #require(whole.status == 0, "\(whole.stderr)")
        let expectedMetrics = try Self.read(dir.appendingPathComponent("whole/metrics.csv"))
        let expectedSummary = try Self.read(dir.appendingPathComponent("whole/summary.csv"))
        let out = dir.appendingPathComponent("cluster")
        let logDirectory = out.appendingPathComponent("slurm-logs")
        let submit = ["slurm", "sweep.yaml", "--tasks", "4", "--partition", "debug", "--time", "10", "--out", "cluster", "--submit"]

        // 1. The whole sweep: a 4-task array plus the merge job that depends on it.
        let first = try Self.collapse(submit, environment: environment, in: dir)
        try #require(first.status == 0, "collapse slurm --submit failed: \(first.stderr)")
        let array1 = try #require(Self.jobID(after: "array job ", in: first.stdout), "no array job id in: \(first.stdout)")
        let merge1 = try #require(Self.jobID(after: "merge job ", in: first.stdout), "no merge job id in: \(first.stdout)")
        #expect(first.stdout.contains("shards 1-4 of 4"), "\(first.stdout)")
        let wait1 = try Self.waitForJobs([array1, merge1], environment: environment)
        try #require(wait1.done, "jobs \(array1), \(merge1) still queued after 180 s: \(wait1.last)\n\(Self.logs(logDirectory))")
        let merged = try? Self.read(out.appendingPathComponent("metrics.csv"))
        try #require(merged == expectedMetrics, "merged metrics.csv differs from the unsharded run\n\(Self.logs(logDirectory))")
        #expect(try Self.read(out.appendingPathComponent("summary.csv")) == expectedSummary)
        let arrayLogs1 = try FileManager.default.contentsOfDirectory(atPath: logDirectory.path).filter { $0.hasPrefix("slurm-sweep-\(array1)_") }
        #expect(arrayLogs1.sorted() == (1...4).map { "slurm-sweep-\(array1)_\($0).out" })

        // 2. A lost shard: re-submitting runs only that shard, and the merge gives the same bytes.
        let keptManifest = try Self.read(out.appendingPathComponent("shard-1/manifest.json"))
        try FileManager.default.removeItem(at: out.appendingPathComponent("shard-3"))
        try FileManager.default.removeItem(at: out.appendingPathComponent("metrics.csv"))
        let second = try Self.collapse(submit, environment: environment, in: dir)
        try #require(second.status == 0, "re-submission failed: \(second.stderr)")
        let array2 = try #require(Self.jobID(after: "array job ", in: second.stdout), "no array job id in: \(second.stdout)")
        let merge2 = try #require(Self.jobID(after: "merge job ", in: second.stdout), "no merge job id in: \(second.stdout)")
        #expect(second.stdout.contains("shard 3 of 4"), "\(second.stdout)")
        let script = try String(contentsOf: out.appendingPathComponent("slurm/array.sbatch"), encoding: .utf8)
        #expect(script.contains("#SBATCH --array=3\n"), "the re-submitted array is not just shard 3:\n\(script)")
        let wait2 = try Self.waitForJobs([array2, merge2], environment: environment)
        try #require(wait2.done, "jobs \(array2), \(merge2) still queued after 180 s: \(wait2.last)\n\(Self.logs(logDirectory))")
        let remerged = try? Self.read(out.appendingPathComponent("metrics.csv"))
        #expect(remerged == expectedMetrics, "re-merged metrics.csv differs from the unsharded run\n\(Self.logs(logDirectory))")
        let arrayLogs2 = try FileManager.default.contentsOfDirectory(atPath: logDirectory.path).filter { $0.hasPrefix("slurm-sweep-\(array2)_") }
        #expect(arrayLogs2 == ["slurm-sweep-\(array2)_3.out"], "array \(array2) ran tasks \(arrayLogs2)")
        #expect(try Self.read(out.appendingPathComponent("shard-1/manifest.json")) == keptManifest, "finished shard 1 was rerun")
        print("SlurmTests: cluster up in \(String(format: "%.1f", bringUp)) s, two submissions done in \(String(format: "%.1f", Date().timeIntervalSince(started))) s")
    }
}

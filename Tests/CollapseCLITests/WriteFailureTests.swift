import Foundation
import Testing

/// Output that cannot be written: a file-size limit (works anywhere), a genuinely full or
/// read-only file system (a small tmpfs; needs root), an output path under a regular file, and
/// injected ENOSPC (`COLLAPSE_FAULT=enospc:<point>`) at writes the real mechanisms cannot single
/// out. Every case: exit 1 (not a signal), a message naming the file or directory and saying what
/// to do, no `.tmp` file and no torn result left behind, and `--resume` once the space is back gives
/// the bytes of an uninterrupted run.
@Suite struct WriteFailureTests {
    static let resumeCommand = "collapse run faults.yaml --resume --out "

    /// `collapse ARGS` with `ulimit -f blocks` (512-byte blocks) set in a shell before exec.
    static func collapseWithFileSizeLimit(_ blocks: Int, _ arguments: [String], in dir: URL) throws -> Subprocess {
        try Subprocess.run(URL(fileURLWithPath: "/bin/sh"), ["-c", "ulimit -f \(blocks) && exec \"$0\" \"$@\"", CLITests.binary.path] + arguments,
                           in: dir)
    }

    /// What a failed run may leave: never a temporary file; metrics.csv and summary.csv only with
    /// their final bytes; never a manifest (the run is unfinished); always a resumable state.
    static func expectNoCorruptResult(_ dir: URL, _ out: String, _ context: String) throws {
        let target = dir.appendingPathComponent(out), whole = dir.appendingPathComponent("whole")
        let files = RunFiles.listing(target)
        #expect(!files.contains { $0.hasSuffix(".tmp") }, "\(context): temporary files left: \(files)")
        #expect(!files.contains("manifest.json"), "\(context): a manifest for an unfinished run")
        #expect(files.contains("run-state.json"), "\(context): no resumable state: \(files)")
        for name in ["metrics.csv", "summary.csv"] + files.filter({ $0.hasPrefix("samples/") && $0.hasSuffix(".csv") }) where files.contains(name) {
            #expect(try Data(contentsOf: target.appendingPathComponent(name)) == Data(contentsOf: whole.appendingPathComponent(name)),
                    "\(context): \(name) is there but not complete")
        }
    }

    static func expectResumesToTheSameBytes(_ dir: URL, _ out: String, _ context: String) throws {
        let resumed = try Subprocess.collapse(["run", "faults.yaml", "--out", out, "--resume", "--quiet", "--threads", "2"], in: dir)
        #expect(resumed.status == 0 && !resumed.signalled, "\(context): \(resumed.describe)")
        try FaultInjectionTests.expectSameResult(dir, out, context)
    }

    /// A file-size limit below metrics.csv's size stops the run at the partial file; one between
    /// metrics.csv's size (17,522 bytes) and summary.csv's (19,158) stops it at the summary, after
    /// every chain is done. SIGXFSZ is ignored by `collapse`, so this is an error, not a signal death.
    @Test(arguments: [(20, "metrics.csv.partial"), (35, "summary.csv")])
    func fileSizeLimitFailsWithAMessageAndResumes(blocks: Int, file: String) throws {
        let dir = try FaultInjectionTests.workspace("ulimit-\(blocks)")
        defer { try? FileManager.default.removeItem(at: dir) }
        let out = "limited"
        for attempt in 0..<2 { // failing again on a resumable state changes nothing
            var arguments = ["run", "faults.yaml", "--out", out, "--quiet", "--threads", "2"]
            if attempt == 1 { arguments.append("--resume") }
            let r = try Self.collapseWithFileSizeLimit(blocks, arguments, in: dir)
            #expect(!r.signalled && r.status == 1, "attempt \(attempt): \(r.describe)")
            #expect(r.stderr.contains(dir.appendingPathComponent("\(out)/\(file)").path) && r.stderr.contains("ulimit -f"), "\(r.stderr)")
            #expect(r.stderr.contains(Self.resumeCommand + out), "\(r.stderr)")
            try Self.expectNoCorruptResult(dir, out, "ulimit -f \(blocks), attempt \(attempt)")
        }
        try Self.expectResumesToTheSameBytes(dir, out, "ulimit -f \(blocks)")
    }

    /// `--out` below a regular file, or naming one: refused before anything is written.
    @Test func outputPathThroughARegularFileIsRefused() throws {
        let dir = try FaultInjectionTests.workspace("regular-file")
        defer { try? FileManager.default.removeItem(at: dir) }
        try Data("not a directory".utf8).write(to: dir.appendingPathComponent("file"))
        for out in ["file/out", "file/a/b", "file"] {
            let r = try Subprocess.collapse(["run", "faults.yaml", "--out", out, "--quiet"], in: dir)
            #expect(!r.signalled && r.status == 1, "\(out): \(r.describe)")
            #expect(r.stderr.contains("\(dir.appendingPathComponent("file").path) is a file, not a directory") && r.stderr.contains("--out"),
                    "\(out): \(r.stderr)")
        }
        #expect(try Data(contentsOf: dir.appendingPathComponent("file")) == Data("not a directory".utf8))
    }

    /// ENOSPC injected at writes of every kind: the torn middle of a chain's rows, the run state,
    /// an export, the summary and the manifest.
    @Test(arguments: ["mid-append:5", "write-run-state.json:2", "write-variant-1-generation-2.csv", "write-summary.csv",
                      "write-manifest.json"])
    func injectedDiskFullFailsWithAMessageAndResumes(point: String) throws {
        let dir = try FaultInjectionTests.workspace("enospc-\(point.replacingOccurrences(of: ":", with: "-"))")
        defer { try? FileManager.default.removeItem(at: dir) }
        let r = try Subprocess.collapse(["run", "faults.yaml", "--out", "full", "--quiet", "--threads", "2"], in: dir,
                                        environment: ["COLLAPSE_FAULT": "enospc:\(point)"])
        #expect(!r.signalled && r.status == 1, "\(r.describe)")
        let file = point.hasPrefix("mid-append") ? "metrics.csv.partial"
            : String(point.dropFirst("write-".count).prefix { $0 != ":" })
        #expect(r.stderr.contains("\(file): No space left on device; free space"), "\(r.stderr)")
        #expect(r.stderr.contains(dir.appendingPathComponent("full").path) && r.stderr.contains(Self.resumeCommand + "full"), "\(r.stderr)")
        try Self.expectNoCorruptResult(dir, "full", "enospc at \(point)")
        try Self.expectResumesToTheSameBytes(dir, "full", "enospc at \(point)")
    }

    // MARK: - Real file systems (root only)

    /// Whether this process may mount a tmpfs (root with CAP_SYS_ADMIN); probed once.
    static let canMount: Bool = {
        let probe = FileManager.default.temporaryDirectory.appendingPathComponent("collapse-mount-probe-\(UUID().uuidString)")
        try? FileManager.default.createDirectory(at: probe, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: probe) }
        guard let r = try? Subprocess.run(URL(fileURLWithPath: "/bin/mount"), ["-t", "tmpfs", "-o", "size=64k", "tmpfs", probe.path],
                                          in: FileManager.default.temporaryDirectory), r.status == 0 else {
            print("WriteFailureTests: mount -t tmpfs is not permitted here (needs root); the full-disk and read-only tests are skipped")
            return false
        }
        _ = try? Subprocess.run(URL(fileURLWithPath: "/bin/umount"), [probe.path], in: FileManager.default.temporaryDirectory)
        return true
    }()

    static func mount(_ arguments: [String]) throws {
        let r = try Subprocess.run(URL(fileURLWithPath: "/bin/mount"), arguments, in: FileManager.default.temporaryDirectory)
        try #require(r.status == 0, "mount \(arguments.joined(separator: " ")): \(r.describe)")
    }

    /// Mounts a tmpfs of `size` at `dir/mnt` for `body`, and unmounts it afterwards.
    static func withTmpfs(size: String, in dir: URL, _ body: (URL) throws -> Void) throws {
        let mnt = dir.appendingPathComponent("mnt")
        try FileManager.default.createDirectory(at: mnt, withIntermediateDirectories: true)
        try mount(["-t", "tmpfs", "-o", "size=\(size)", "tmpfs", mnt.path])
        defer { _ = try? Subprocess.run(URL(fileURLWithPath: "/bin/umount"), [mnt.path], in: dir) }
        try body(mnt)
    }

    /// A genuinely full file system (tmpfs): at the partial file (8 KiB: no room for the rows) and
    /// at the summary (52 KiB: room for metrics.csv, the state and the exports, not for
    /// summary.csv). After `mount -o remount,size=1m`, --resume finishes with the same bytes.
    @Test(.enabled(if: canMount, "needs root: mount -t tmpfs"), arguments: [("8k", "metrics.csv.partial"), ("52k", "summary.csv")])
    func fullFileSystemFailsWithAMessageAndResumes(size: String, file: String) throws {
        let dir = try FaultInjectionTests.workspace("tmpfs-\(size)")
        defer { try? FileManager.default.removeItem(at: dir) }
        if file == "metrics.csv.partial" { // without exports the partial file is the first thing to outgrow 8 KiB
            let text = FaultInjectionTests.config.replacingOccurrences(of: "export: [2]\n", with: "")
            try text.write(to: dir.appendingPathComponent("faults.yaml"), atomically: true, encoding: .utf8)
            try FileManager.default.removeItem(at: dir.appendingPathComponent("whole"))
            #expect(try Subprocess.collapse(["run", "faults.yaml", "--out", "whole", "--quiet"], in: dir).status == 0)
        }
        try Self.withTmpfs(size: size, in: dir) { mnt in
            let r = try Subprocess.collapse(["run", "faults.yaml", "--out", "mnt/out", "--quiet", "--threads", "2"], in: dir)
            #expect(!r.signalled && r.status == 1, "\(r.describe)")
            #expect(r.stderr.contains("\(mnt.path)/out/\(file): No space left on device; free space"), "\(r.stderr)")
            #expect(r.stderr.contains(Self.resumeCommand + "mnt/out"), "\(r.stderr)")
            try Self.expectNoCorruptResult(dir, "mnt/out", "tmpfs \(size)")
            try Self.mount(["-o", "remount,size=1m", mnt.path])
            let resumed = try Subprocess.collapse(["run", "faults.yaml", "--out", "mnt/out", "--resume", "--quiet"], in: dir)
            #expect(resumed.status == 0, "\(resumed.describe)")
            for name in ["metrics.csv", "summary.csv"] {
                #expect(try Data(contentsOf: mnt.appendingPathComponent("out/\(name)")) == Data(contentsOf: dir.appendingPathComponent("whole/\(name)")),
                        "\(name) after resuming on the enlarged file system")
            }
            #expect(RunFiles.listing(mnt.appendingPathComponent("out")) == RunFiles.listing(dir.appendingPathComponent("whole")))
        }
    }

    /// A file system remounted read-only under an unfinished run: --resume fails naming the
    /// directory, changes nothing, and succeeds after `remount,rw`. A new run there fails too.
    @Test(.enabled(if: canMount, "needs root: mount -t tmpfs"))
    func readOnlyFileSystemFailsWithAMessageAndResumes() throws {
        let dir = try FaultInjectionTests.workspace("tmpfs-ro")
        defer { try? FileManager.default.removeItem(at: dir) }
        try Self.withTmpfs(size: "1m", in: dir) { mnt in
            let killed = try Subprocess.collapse(["run", "faults.yaml", "--out", "mnt/out", "--quiet"], in: dir,
                                                 environment: ["COLLAPSE_FAULT": "kill:appended:5"])
            #expect(killed.signalled && killed.status == SIGKILL, "\(killed.describe)")
            let out = mnt.appendingPathComponent("out")
            let before = RunFiles.listing(out).map { ($0, try? Data(contentsOf: out.appendingPathComponent($0))) }
            try Self.mount(["-o", "remount,ro", mnt.path])
            let refused = try Subprocess.collapse(["run", "faults.yaml", "--out", "mnt/out", "--resume", "--quiet"], in: dir)
            #expect(!refused.signalled && refused.status == 1, "\(refused.describe)")
            #expect(refused.stderr.contains(out.path) && refused.stderr.contains("Read-only file system; the file system is read-only"),
                    "\(refused.stderr)")
            #expect(refused.stderr.contains(Self.resumeCommand + "mnt/out"), "\(refused.stderr)")
            let after = RunFiles.listing(out).map { ($0, try? Data(contentsOf: out.appendingPathComponent($0))) }
            #expect(before.map(\.0) == after.map(\.0) && zip(before, after).allSatisfy { $0.1 == $1.1 }, "the read-only failure changed files")
            let fresh = try Subprocess.collapse(["run", "faults.yaml", "--out", "mnt/new", "--quiet"], in: dir)
            #expect(fresh.status == 1 && fresh.stderr.contains("mkdir \(mnt.path)/new: Read-only file system"), "\(fresh.describe)")
            try Self.mount(["-o", "remount,rw", mnt.path])
            let resumed = try Subprocess.collapse(["run", "faults.yaml", "--out", "mnt/out", "--resume", "--quiet", "--threads", "2"], in: dir)
            #expect(resumed.status == 0, "\(resumed.describe)")
            for name in ["metrics.csv", "summary.csv"] {
                #expect(try Data(contentsOf: out.appendingPathComponent(name)) == Data(contentsOf: dir.appendingPathComponent("whole/\(name)")))
            }
        }
    }
}

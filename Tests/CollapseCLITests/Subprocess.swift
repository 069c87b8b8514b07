import Foundation

/// One finished child process: how it ended and what it printed.
struct Subprocess {
    let status: Int32
    /// True when the process was ended by a signal (`status` is then the signal number).
    let signalled: Bool
    /// True when it outlived its timeout and was killed by the test.
    let timedOut: Bool
    let stdout: String
    let stderr: String

    var describe: String { "\(signalled ? "signal" : "exit") \(status)\(timedOut ? " (timed out)" : ""); stderr: \(stderr)" }

    /// Runs `executable` with `arguments` in `directory`, the test's environment plus `environment`,
    /// stdin from /dev/null and output through files (a chatty child cannot block on a pipe). A
    /// child still running after `timeout` seconds is killed with SIGKILL and reported `timedOut`.
    static func run(_ executable: URL, _ arguments: [String], in directory: URL, environment: [String: String] = [:],
                    timeout: Double = 120) throws -> Subprocess {
        let scratch = FileManager.default.temporaryDirectory.appendingPathComponent("collapse-io-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: scratch, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: scratch) }
        let outURL = scratch.appendingPathComponent("out"), errURL = scratch.appendingPathComponent("err")
        _ = FileManager.default.createFile(atPath: outURL.path, contents: nil)
        _ = FileManager.default.createFile(atPath: errURL.path, contents: nil)
        let out = try FileHandle(forWritingTo: outURL), err = try FileHandle(forWritingTo: errURL)
        let p = Process()
        p.executableURL = executable
        p.arguments = arguments
        p.currentDirectoryURL = directory
        if !environment.isEmpty { p.environment = ProcessInfo.processInfo.environment.merging(environment) { $1 } }
        p.standardInput = FileHandle.nullDevice
        p.standardOutput = out
        p.standardError = err
        let done = DispatchSemaphore(value: 0)
        p.terminationHandler = { _ in done.signal() }
        try p.run()
        var timedOut = false
        if done.wait(timeout: .now() + timeout) == .timedOut {
            timedOut = true
            kill(p.processIdentifier, SIGKILL)
            done.wait()
        }
        try out.close()
        try err.close()
        return Subprocess(status: p.terminationStatus, signalled: p.terminationReason == .uncaughtSignal, timedOut: timedOut,
                          stdout: try String(contentsOf: outURL, encoding: .utf8),
                          stderr: try String(contentsOf: errURL, encoding: .utf8))
    }

    /// `collapse ARGS` with the built binary.
    static func collapse(_ arguments: [String], in directory: URL, environment: [String: String] = [:],
                         timeout: Double = 120) throws -> Subprocess {
        try run(CLITests.binary, arguments, in: directory, environment: environment, timeout: timeout)
    }
}

/// What the tests compare between an interrupted-and-resumed run and an uninterrupted one.
enum RunFiles {
    /// manifest.json lines that describe one execution rather than the result (docs/OUTPUTS.md).
    static let runSpecificManifestKeys = ["\"finishedAt\"", "\"seconds\"", "\"resumedFromChain\""]

    /// manifest.json without its run-specific lines.
    static func manifestWithoutRunFields(_ url: URL) throws -> String {
        try String(contentsOf: url, encoding: .utf8).split(separator: "\n", omittingEmptySubsequences: false)
            .filter { line in !runSpecificManifestKeys.contains { line.trimmingCharacters(in: .whitespaces).hasPrefix($0) } }
            .joined(separator: "\n")
    }

    /// Every file under `directory` (relative paths, sorted), for "nothing left behind" checks.
    static func listing(_ directory: URL) -> [String] {
        guard let e = FileManager.default.enumerator(atPath: directory.path) else { return [] }
        return e.compactMap { $0 as? String }.sorted()
    }

    /// Each chain's block of rows in metrics.csv, in file order: (variant, replicate) and its row
    /// count. A complete run lists every chain exactly once, contiguously, in chain order.
    static func chainBlocks(_ metrics: URL) throws -> [(variant: Int, replicate: Int, rows: Int)] {
        let text = try String(contentsOf: metrics, encoding: .utf8)
        var lines = text.split(separator: "\n")
        guard let header = lines.first?.split(separator: ",").map(String.init),
              let r = header.firstIndex(of: "replicate") else { return [] }
        lines.removeFirst()
        var blocks: [(variant: Int, replicate: Int, rows: Int)] = []
        for line in lines {
            // Swept values are plain numbers/words here (no quoted commas).
            let f = line.split(separator: ",", omittingEmptySubsequences: false)
            guard let v = Int(f[0]), let rep = Int(f[r]) else { return [] }
            if let last = blocks.last, last.variant == v, last.replicate == rep {
                blocks[blocks.count - 1].rows += 1
            } else {
                blocks.append((v, rep, 1))
            }
        }
        return blocks
    }
}

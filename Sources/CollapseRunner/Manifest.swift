import CollapseCore
import Foundation

/// manifest.json: everything needed to rerun an experiment and get identical metrics.csv bytes,
/// plus a datasheet describing the data (Gebru et al., "Datasheets for Datasets").
struct Manifest {
    let experiment: Experiment
    let identity: RunIdentity
    let threads: Int
    let seconds: Double
    let rows: Int
    let chains: Int
    let resumedFromChain: Int

    func json() throws(RunError) -> Data {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.prettyPrinted, .sortedKeys, .withoutEscapingSlashes]
        do { return try encoder.encode(Document(self)) + Data("\n".utf8) } catch {
            throw RunError.io("cannot encode manifest.json: \(error)")
        }
    }

    struct Document: Encodable {
        struct Tool: Encodable {
            let name = "model-collapse"
            let version = ToolVersion.string
            /// `git rev-parse HEAD` of the repository holding the config file, when it is one.
            let configRepositoryCommit: String?
        }
        struct ConfigFile: Encodable {
            let path: String
            /// SHA-256 of the file bytes (with command-line overrides, of the bytes plus the overrides).
            let sha256: String
            let text: String
            let overrides: [String: String]
        }
        struct VariantEntry: Encodable {
            let index: Int
            let parameters: [String: ConfigValue]
            let chains: Int
            let config: ExperimentConfig
        }
        struct Run: Encodable {
            let threads: Int
            let shard: String?
            let chains: Int
            let resumedFromChain: Int
            let rows: Int
            let seconds: Double
            let finishedAt: String
            let blas: [String: String]
            let randomStreams = "Philox4x32-10 keyed by SeedSequence(seed, [variant, replicate, generation, purpose]); see docs/RANDOM_STREAMS.md"
        }
        struct Datasheet: Encodable {
            let realData: String
            let model: String
            let syntheticData: String
            let labelling: String
            let intendedUse: String
        }
        let tool: Tool
        let config: ConfigFile
        let seed: UInt64
        let sweptKeys: [String]
        let variants: [VariantEntry]
        let run: Run
        let datasheet: Datasheet
        let files: [String: String]

        init(_ m: Manifest) {
            let e = m.experiment
            tool = Tool(configRepositoryCommit: Self.gitCommit(near: e.configPath))
            config = ConfigFile(path: e.configPath, sha256: e.configSHA256, text: e.configText, overrides: e.overrides)
            seed = e.variants.first?.config.seed ?? 0
            sweptKeys = e.sweptKeys
            variants = e.variants.map { v in
                VariantEntry(index: v.index, parameters: Dictionary(v.parameters.map { ($0.keyPath, $0.value) }, uniquingKeysWith: { a, _ in a }),
                             chains: v.config.replicates, config: v.config)
            }
            let formatter = ISO8601DateFormatter()
            run = Run(threads: m.threads, shard: m.identity.shard, chains: m.chains, resumedFromChain: m.resumedFromChain,
                      rows: m.rows, seconds: m.seconds, finishedAt: formatter.string(from: Date()),
                      blas: ["configuration": BLAS.configuration, "core": BLAS.coreName, "threads_per_chain": "1"])
            let first = e.variants.first?.config
            datasheet = Datasheet(
                realData: first.map { Self.describeReal($0) } ?? "",
                model: first.map { "model.kind \($0.model.kind)\($0.model.classConditional ? " (class-conditional)" : ""), refitted every generation" } ?? "",
                syntheticData: first.map { c in
                    "generation n+1 trains on rows composed by regime \(c.regime.kind.rawValue) (real_fraction \(CSVNumber.format(c.regime.realFraction))) from M = \(c.samples) rows; samples drawn with temperature \(CSVNumber.format(c.sampling.temperature))\(c.sampling.truncation.map { ", truncated at \(CSVNumber.format($0)) standard deviations" } ?? "")\(c.sampling.topK.map { ", top-k \($0)" } ?? "")"
                        + (c.samplingShortcut == .sufficientStatistics
                            ? "; sampling.shortcut sufficient-statistics: synthetic rows are never materialised, each refit is drawn from the exact distribution of its sufficient statistics given the previous model (same distribution as fitting M sampled rows, different random numbers)"
                            : "")
                } ?? "",
                labelling: "every training row's origin (real, or the generation of the model that produced it) is tracked; metrics real_fraction_train and synthetic_depth report it, and exported samples carry an origin column",
                intendedUse: "research on model collapse (recursive training on synthetic data): comparing data regimes and real-data mixing ratios. Synthetic rows are not real observations and must not be used as such."
            )
            files = ["metrics.csv": "tidy long format: variant, swept keys, replicate, generation, metric, value",
                     "summary.csv": "per variant x generation x metric over replicates: n, mean, std, 95% CI of the mean, median, q05, q95, theory"]
        }

        static func describeReal(_ c: ExperimentConfig) -> String {
            let source: String
            switch c.real.source {
            case let .gaussian(mean, std): source = "known distribution N(\(CSVNumber.format(mean)), \(CSVNumber.format(std))^2)"
            case let .mvn(mean, _): source = "known distribution: \(mean.count)-dimensional normal"
            case let .gmm(weights, means, _): source = "known distribution: \(weights.count)-component Gaussian mixture in \(means.first?.count ?? 0) dimensions, weights \(weights.map(CSVNumber.format).joined(separator: ", "))"
            case let .studentT(df, loc, scale): source = "known distribution: Student-t (df \(CSVNumber.format(df)), loc \(CSVNumber.format(loc)), scale \(CSVNumber.format(scale)))"
            case let .zipf(v, s): source = "known distribution: Zipf over \(v) symbols, exponent \(CSVNumber.format(s))"
            case let .linearRegression(w, noise): source = "known linear model y = x.w + e in \(w.count) dimensions, noise std \(CSVNumber.format(noise)), x ~ N(0, I)"
            case let .dataset(d): source = "dataset \(d.path) (sha256 \(d.sha256), \(d.features.rows) rows, features \(d.featureColumns.joined(separator: ", "))\(d.labelColumn.map { ", label \($0)" } ?? "")\(d.targetColumn.map { ", target \($0)" } ?? ""))"
            }
            return "\(source); each chain draws M = \(c.samples) real training rows and \(c.real.holdout) holdout rows that are never trained on"
        }

        /// `git -C <config dir> rev-parse HEAD`, or nil when git is missing or fails.
        ///
        /// Spawned with `posix_spawnp` and reaped with `waitpid`: Foundation's
        /// `Process.waitUntilExit` polls in 50 ms steps on Linux, which added ~55 ms to every run.
        static func gitCommit(near path: String) -> String? {
            let dir = URL(fileURLWithPath: path).deletingLastPathComponent().path
            guard let output = ChildProcess.output(of: ["git", "-C", dir.isEmpty ? "." : dir, "rev-parse", "HEAD"]) else { return nil }
            let text = output.trimmingCharacters(in: .whitespacesAndNewlines)
            return text.isEmpty ? nil : text
        }
    }
}

/// Runs a short-lived command found on PATH and returns its standard output.
enum ChildProcess {
    /// The standard output of `arguments[0]` run with `arguments` (stdin and stderr from/to
    /// /dev/null, no other descriptor of ours inherited), or nil when it cannot be started,
    /// cannot be waited for, or does not exit with status 0.
    static func output(of arguments: [String]) -> String? {
        precondition(!arguments.isEmpty, "ChildProcess.output needs a command")
        #if canImport(Glibc)
        var pipe: [Int32] = [0, 0]
        guard Glibc.pipe(&pipe) == 0 else { return nil }
        let (readEnd, writeEnd) = (pipe[0], pipe[1])
        _ = fcntl(readEnd, F_SETFD, FD_CLOEXEC)
        _ = fcntl(writeEnd, F_SETFD, FD_CLOEXEC)
        var actions = posix_spawn_file_actions_t()
        posix_spawn_file_actions_init(&actions)
        defer { posix_spawn_file_actions_destroy(&actions) }
        posix_spawn_file_actions_addopen(&actions, 0, "/dev/null", O_RDONLY, 0)
        posix_spawn_file_actions_adddup2(&actions, writeEnd, 1) // dup2 clears close-on-exec on 1
        posix_spawn_file_actions_addopen(&actions, 2, "/dev/null", O_WRONLY, 0)
        // Nothing else of ours reaches the child (the output directory's lock, partial files):
        // glibc >= 2.34's addclosefrom_np, looked up at run time (not in the Glibc module).
        typealias CloseFrom = @convention(c) (UnsafeMutablePointer<posix_spawn_file_actions_t>, Int32) -> Int32
        if let symbol = dlsym(UnsafeMutableRawPointer(bitPattern: 0), "posix_spawn_file_actions_addclosefrom_np") {
            _ = unsafeBitCast(symbol, to: CloseFrom.self)(&actions, 3)
        }
        let argv: [UnsafeMutablePointer<CChar>?] = arguments.map { strdup($0) } + [nil]
        defer { for a in argv { free(a) } }
        var pid = pid_t()
        let spawned = posix_spawnp(&pid, arguments[0], &actions, nil, argv, environ)
        close(writeEnd)
        guard spawned == 0 else {
            close(readEnd)
            return nil
        }
        var bytes: [UInt8] = []
        var buffer = [UInt8](repeating: 0, count: 4096)
        while true {
            let n = buffer.withUnsafeMutableBytes { read(readEnd, $0.baseAddress, $0.count) }
            if n > 0 {
                bytes.append(contentsOf: buffer[0..<n])
            } else if n == 0 || errno != EINTR {
                break
            }
        }
        close(readEnd) // before waiting: a child still writing gets EPIPE instead of blocking
        var status: Int32 = 0
        var reaped: pid_t
        repeat { reaped = waitpid(pid, &status, 0) } while reaped == -1 && errno == EINTR
        // Reaped, exited normally (low 7 bits 0) with code 0.
        guard reaped == pid, status & 0x7f == 0, (status >> 8) & 0xff == 0 else { return nil }
        return String(decoding: bytes, as: UTF8.self)
        #else
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        process.arguments = arguments
        let pipe = Pipe()
        process.standardOutput = pipe
        process.standardError = FileHandle.nullDevice
        do { try process.run() } catch { return nil }
        let data = pipe.fileHandleForReading.readDataToEndOfFile()
        process.waitUntilExit()
        guard process.terminationStatus == 0 else { return nil }
        return String(decoding: data, as: UTF8.self)
        #endif
    }
}

import CollapseCore
import CollapseMetrics
import CollapseModels
import Foundation

/// How `collapse run` runs an experiment.
public struct RunOptions: Sendable {
    public var outputDirectory: URL
    /// Worker threads running chains in parallel (BLAS stays single-threaded inside chains).
    public var threads: Int
    /// Run only shard `index` (1-based) of `count`: a contiguous block of the chains.
    public var shard: (index: Int, count: Int)?
    public var resume: Bool
    public var force: Bool
    /// Progress on stderr (the CLI turns it off for --quiet or a non-terminal stderr).
    public var progress: Bool
    /// Test hook: stop (as if killed) after this many chains were made durable.
    public var stopAfterChains: Int?

    public init(outputDirectory: URL, threads: Int, shard: (index: Int, count: Int)? = nil, resume: Bool = false,
                force: Bool = false, progress: Bool = false, stopAfterChains: Int? = nil) {
        self.outputDirectory = outputDirectory
        self.threads = threads
        self.shard = shard
        self.resume = resume
        self.force = force
        self.progress = progress
        self.stopAfterChains = stopAfterChains
    }
}

/// What a finished run reports.
public struct RunSummary: Sendable {
    /// Chains whose rows are durable (all of them unless the run was interrupted).
    public var chains: Int
    /// False when the run stopped early (interrupted) and can be finished with --resume.
    public var complete: Bool = true
    public var rows: Int
    public var seconds: Double
    public var resumedFromChain: Int
}

/// Runs chains in parallel and writes their rows in chain order, durably, so that the bytes of
/// metrics.csv depend only on the config and seed.
///
/// Files in the output directory while running: `metrics.csv.partial` (rows of the chains done,
/// in chain order), `run-state.json` (how many chains and bytes of the partial file are durable),
/// `.lock` (held with flock while running). At the end the partial file is renamed to
/// `metrics.csv`, then `summary.csv` and `manifest.json` are written (each via a temporary file
/// and a rename) and the state file is removed.
public struct Engine {
    public let experiment: Experiment
    public let registry: MetricRegistry

    public init(experiment: Experiment, registry: MetricRegistry = .standard) {
        self.experiment = experiment
        self.registry = registry
    }

    /// Global chain list: (variant, replicate) in variant-major order.
    var chains: [(variant: Int, replicate: Int)] {
        experiment.variants.flatMap { v in (0..<v.config.replicates).map { (v.index, $0) } }
    }

    /// The contiguous block of chain indices that shard k of n runs.
    public static func shardRange(chainCount: Int, index k: Int, count n: Int) -> Range<Int> {
        (chainCount * (k - 1) / n)..<(chainCount * k / n)
    }

    /// The CSV header of metrics.csv.
    public var metricsHeader: String {
        (["variant"] + experiment.sweptKeys + ["replicate", "generation", "metric", "value"]).joined(separator: ",") + "\n"
    }

    public func run(_ options: RunOptions) throws(RunError) -> RunSummary {
        let started = Date()
        let out = options.outputDirectory
        let allChains = chains
        let range = options.shard.map { Self.shardRange(chainCount: allChains.count, index: $0.index, count: $0.count) }
            ?? 0..<allChains.count
        let files = OutputFiles(directory: out)
        let identity = RunIdentity(configSHA256: experiment.configSHA256, shard: options.shard.map { "\($0.index)/\($0.count)" },
                                   chainCount: range.count)

        // Executables per variant (model, reality, metrics), before touching the output directory:
        // a problem here leaves nothing behind.
        var built: [any ChainExecutable] = []
        for v in experiment.variants { built.append(try ChainFactory.make(v.config, registry: registry)) }
        let executables = built

        // Lock before looking at (or removing) anything in the directory: a run in progress
        // keeps its files whatever flags a second invocation was given.
        try files.createDirectory()
        let lock = try files.lock()
        defer { lock.release() }
        try files.prepare(identity: identity, resume: options.resume, force: options.force)
        FaultInjection.reach("prepared")

        let prefixes = experiment.variants.map { v in
            ([String(v.index)] + v.parameters.map { csvField($0.value.description) }).joined(separator: ",") + ","
        }
        let metricNames = experiment.variants.map { $0.config.metrics + ["degenerate"] }
        let prefixBytes = prefixes.map { Array($0.utf8) }
        let metricNameBytes = metricNames.map { $0.map { Array(($0 + ",").utf8) } }

        // Killed after metrics.csv was complete but before summary/manifest were written: finish those.
        if options.resume, let saved = files.readState(), saved.identity == identity, saved.chainsDone == range.count,
           FileManager.default.fileExists(atPath: files.metrics.path), !FileManager.default.fileExists(atPath: files.partial.path) {
            let seconds = Date().timeIntervalSince(started)
            ParallelWork.threadLimit = max(1, options.threads)
            try Summarizer(experiment: experiment, registry: registry).write(metrics: files.metrics, to: files.summary)
            let manifest = Manifest(experiment: experiment, identity: identity, threads: options.threads, seconds: seconds,
                                    rows: saved.rows, chains: range.count, resumedFromChain: saved.chainsDone)
            try files.writeAtomically(manifest.json(), to: files.manifest)
            try files.removeState()
            try? FileManager.default.removeItem(at: files.lockFile)
            return RunSummary(chains: range.count, rows: saved.rows, seconds: seconds, resumedFromChain: saved.chainsDone)
        }
        var state = try files.openPartial(identity: identity, header: metricsHeader, resume: options.resume)
        let firstChain = state.chainsDone
        BLAS.setThreadCount(1)

        let work = Array(range)
        let pending = work.dropFirst(firstChain)
        // The parallel parts inside a chain share the threads with the chains running beside it:
        // a single-chain study gives its chain every thread, a study with at least as many chains
        // as threads gives each chain one (the parts then run in order; same bits either way).
        let threads = max(1, options.threads)
        ParallelWork.threadLimit = Self.threadsPerChain(threads: threads, chains: pending.count)
        // The summary's theory column depends on the config alone: computed while the chains run
        // (by the first free worker, within the thread budget), the summary finds it cached. The
        // Wright–Fisher series of a large vocabulary take a tenth of a zipf run. Only when another
        // worker runs chains beside it, only for the variants this run (or shard) writes, and
        // abandoned as soon as the run stops early (the summary then computes what it needs).
        nonisolated(unsafe) let theoryWarmer = Summarizer(experiment: experiment, registry: registry) // read-only
        let pendingVariants = Set(pending.map { allChains[$0].variant })
        let canOverlap = min(max(1, options.threads), pending.count) >= 2
        var prelude: (@Sendable () -> Void)?
        let stopSignal = StopSignal()
        if canOverlap {
            prelude = { theoryWarmer.warmTheory(variants: pendingVariants) { stopSignal.isSet || Interruption.shared.isRequested } }
        }
        let executor = OrderedExecutor(count: pending.count, threads: max(1, options.threads),
                                       prelude: prelude, onCancel: { stopSignal.set() }) { position in
            let chain = allChains[pending[pending.startIndex + position]]
            let result = executables[chain.variant].run(variant: chain.variant, replicate: chain.replicate)
            let rows = result.rows

            var bytes: [UInt8] = []
            bytes.reserveCapacity(rows.count * 48)
            let prefix = prefixBytes[chain.variant] + Array(String(chain.replicate).utf8) + [UInt8(ascii: ",")]
            let names = metricNameBytes[chain.variant]
            for row in rows {
                bytes += prefix
                appendDecimal(row.generation, to: &bytes)
                bytes.append(UInt8(ascii: ","))
                bytes += names[row.metric]
                bytes.append(contentsOf: CSVNumber.format(row.value).utf8)
                bytes.append(UInt8(ascii: "\n"))
            }
            return ChainOutput(bytes: bytes, rows: rows, variant: chain.variant,
                               exports: result.exports.map { (chain.variant, $0.generation, $0.csv) })
        }

        let progress = options.progress ? ProgressReporter(total: range.count, already: firstChain) : nil
        var lastSync = Date()
        var rowsWritten = state.rows
        var stoppedEarly = false
        // A fresh run summarises from the values it wrote; a resumed one reads metrics.csv.
        let collector = firstChain == 0 ? SummaryCollector(experiment: experiment, limit: 8_000_000) : nil
        try executor.drain { position, output throws(RunError) in
            for export in output.exports {
                try files.writeExport(export.csv, variant: export.variant, generation: export.generation)
            }
            try state.append(output.bytes)
            collector?.add(variant: output.variant, rows: output.rows)
            rowsWritten += output.rows.count
            state.chainsDone = firstChain + position + 1
            state.rows = rowsWritten
            progress?.update(done: state.chainsDone)
            let isLast = state.chainsDone == range.count
            if isLast || Date().timeIntervalSince(lastSync) > 0.5 || options.stopAfterChains != nil {
                try state.sync()
                lastSync = Date()
            }
            if !isLast && Interruption.shared.isRequested {
                stoppedEarly = true
                return false
            }
            if let stop = options.stopAfterChains, state.chainsDone >= stop, !isLast {
                stoppedEarly = true
                return false
            }
            return true
        }
        progress?.finish()
        if stoppedEarly {
            try state.sync()
            return RunSummary(chains: state.chainsDone, complete: false, rows: rowsWritten,
                              seconds: Date().timeIntervalSince(started), resumedFromChain: firstChain)
        }
        try state.finish()
        let seconds = Date().timeIntervalSince(started)
        ParallelWork.threadLimit = threads
        let summarizer = Summarizer(experiment: experiment, registry: registry)
        if let collector, collector.isComplete {
            try summarizer.write(collected: collector, to: files.summary)
        } else {
            try summarizer.write(metrics: files.metrics, to: files.summary)
        }
        let manifest = Manifest(experiment: experiment, identity: identity, threads: options.threads, seconds: seconds,
                                rows: rowsWritten, chains: range.count, resumedFromChain: firstChain)
        try files.writeAtomically(manifest.json(), to: files.manifest)
        try files.removeState()
        try? FileManager.default.removeItem(at: files.lockFile) // still held until `defer` releases it
        return RunSummary(chains: range.count, rows: rowsWritten, seconds: seconds, resumedFromChain: firstChain)
    }
}

/// Appends the decimal digits of a non-negative integer.
@inline(__always)
func appendDecimal(_ value: Int, to bytes: inout [UInt8]) {
    precondition(value >= 0, "appendDecimal needs a non-negative integer, got \(value)")
    var digits: (UInt8, UInt8, UInt8, UInt8, UInt8, UInt8, UInt8, UInt8, UInt8, UInt8,
                 UInt8, UInt8, UInt8, UInt8, UInt8, UInt8, UInt8, UInt8, UInt8, UInt8) =
        (0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0)
    var v = value, n = 0
    withUnsafeMutableBytes(of: &digits) { buffer in
        repeat {
            buffer[19 - n] = UInt8(ascii: "0") + UInt8(v % 10)
            v /= 10
            n += 1
        } while v > 0
        bytes.append(contentsOf: buffer[(20 - n)...])
    }
}

/// A CSV field: quoted when it holds a comma, a quote or a line break.
func csvField(_ s: String) -> String {
    if s.contains(where: { $0 == "," || $0 == "\"" || $0 == "\n" || $0 == "\r" }) {
        return "\"" + s.replacingOccurrences(of: "\"", with: "\"\"") + "\""
    }
    return s
}

extension Engine {
    /// Threads the parallel parts of one chain may use when `chains` chains share `threads`:
    /// all of them for a single chain, one each once the chains fill the threads.
    static func threadsPerChain(threads: Int, chains: Int) -> Int {
        let threads = max(1, threads)
        return max(1, threads / max(1, min(threads, chains)))
    }
}

/// Runs `count` jobs on worker threads and hands their results to one consumer in job order.
///
/// Workers never run more than `window` jobs ahead of the consumer, so memory stays bounded
/// whatever the number of jobs.
/// One chain's rendered output.
struct ChainOutput: Sendable {
    var bytes: [UInt8]
    var rows: [ChainRow]
    var variant: Int
    var exports: [(variant: Int, generation: Int, csv: String)]
}

/// A flag set once from any thread.
final class StopSignal: @unchecked Sendable {
    private let lock = NSLock()
    private var value = false
    var isSet: Bool { lock.lock(); defer { lock.unlock() }; return value }
    func set() { lock.lock(); value = true; lock.unlock() }
}

final class OrderedExecutor: @unchecked Sendable {
    typealias Job = @Sendable (Int) -> ChainOutput
    let count: Int
    let threads: Int
    let job: Job
    /// Work done once, by the first worker free, before it takes chains (e.g. the summary's theory,
    /// which needs no chain): it shares the `threads` budget instead of adding a thread.
    let prelude: (@Sendable () -> Void)?
    var preludeTaken = false
    /// Called once when `drain` stops the workers (done, stopped early or failed).
    let onCancel: (@Sendable () -> Void)?
    let window: Int
    let condition = NSCondition()
    var nextToStart = 0
    var nextToConsume = 0
    var results: [Int: ChainOutput] = [:]
    var cancelled = false
    var running = 0

    init(count: Int, threads: Int, prelude: (@Sendable () -> Void)? = nil, onCancel: (@Sendable () -> Void)? = nil,
         job: @escaping Job) {
        self.count = count
        self.threads = threads
        self.prelude = prelude
        self.onCancel = onCancel
        self.job = job
        self.window = max(4 * threads, 8)
    }

    /// Consumes results in order; `consume` returns false to stop early (the workers finish the
    /// jobs in flight and stop).
    func drain(_ consume: (Int, ChainOutput) throws(RunError) -> Bool) throws(RunError) {
        if count == 0 { return }
        var workers: [Thread] = []
        for _ in 0..<min(threads, count) {
            let t = Thread { [self] in self.workLoop() }
            t.stackSize = 8 << 20
            workers.append(t)
            running += 1
            t.start()
        }
        var failure: RunError?
        while true {
            condition.lock()
            while results[nextToConsume] == nil { condition.wait() }
            let output = results.removeValue(forKey: nextToConsume)!
            let position = nextToConsume
            nextToConsume += 1
            condition.broadcast()
            condition.unlock()
            var keepGoing = false
            do { keepGoing = try consume(position, output) } catch { failure = error }
            if failure != nil || !keepGoing || position + 1 == count { break }
        }
        onCancel?()
        condition.lock()
        cancelled = true
        condition.broadcast()
        while running > 0 { condition.wait() }
        condition.unlock()
        if let failure { throw failure }
    }

    private func workLoop() {
        condition.lock()
        let runPrelude = prelude != nil && !preludeTaken && !cancelled
        preludeTaken = true
        condition.unlock()
        if runPrelude, let prelude { prelude() }
        while true {
            condition.lock()
            while !cancelled && nextToStart < count && nextToStart >= nextToConsume + window { condition.wait() }
            if cancelled || nextToStart >= count {
                running -= 1
                condition.broadcast()
                condition.unlock()
                return
            }
            let position = nextToStart
            nextToStart += 1
            condition.unlock()
            let result = job(position)
            condition.lock()
            results[position] = result
            condition.broadcast()
            condition.unlock()
        }
    }
}

/// Chains done, rate and ETA on stderr, redrawn in place.
final class ProgressReporter {
    let total: Int
    let start = Date()
    let already: Int
    var lastDraw = Date.distantPast

    init(total: Int, already: Int) {
        self.total = total
        self.already = already
    }

    func update(done: Int) {
        let now = Date()
        guard now.timeIntervalSince(lastDraw) > 0.2 || done == total else { return }
        lastDraw = now
        let elapsed = now.timeIntervalSince(start)
        let rate = Double(done - already) / max(elapsed, 1e-9)
        let eta = rate > 0 ? Double(total - done) / rate : .infinity
        let line = String(format: "\rchains %d/%d  %.1f/s  ETA %@   ", done, total, rate, eta.isFinite ? formatDuration(eta) : "?")
        FileHandle.standardError.write(Data(line.utf8))
    }

    func finish() {
        FileHandle.standardError.write(Data("\n".utf8))
    }

    func formatDuration(_ s: Double) -> String {
        if s < 60 { return String(format: "%.0fs", s) }
        if s < 3600 { return String(format: "%.0fm%02.0fs", (s / 60).rounded(.down), s.truncatingRemainder(dividingBy: 60)) }
        return String(format: "%.0fh%02.0fm", (s / 3600).rounded(.down), (s / 60).truncatingRemainder(dividingBy: 60))
    }
}

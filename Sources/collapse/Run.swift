import ArgumentParser
import CollapseCore
import CollapseMetrics
import CollapseRunner
import Foundation

/// `collapse run CONFIG`: run every chain of every variant and write metrics.csv, summary.csv
/// and manifest.json.
struct Run: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Run an experiment: every replicate chain of every sweep variant.",
        discussion: """
            Writes metrics.csv (tidy rows), summary.csv (per variant, generation and metric) and
            manifest.json to Results/<name>/ (or --out). Same config and seed give byte-identical
            metrics.csv whatever --threads, --shard or --resume. Ctrl-C stops after the chains in
            flight; finish with the same command plus --resume.
            """
    )

    @Argument(help: "The experiment config (YAML).") var config: String
    @Option(help: "Output directory (default Results/<name>).") var out: String?
    @Option(help: "Override the config's replicates.") var replicates: Int?
    @Option(help: "Override the config's generations.") var generations: Int?
    @Option(help: "Override the config's seed.") var seed: UInt64?
    @Option(help: "Threads in all: chains run side by side, and a study with fewer chains than threads splits the large parts of each chain over the rest (default: all cores).") var threads: Int = ProcessInfo.processInfo.activeProcessorCount
    @Option(help: "Run only shard K of N (1-based), e.g. 2/4; join the shards with `collapse merge`.") var shard: String?
    @Flag(help: "Finish an interrupted run in the output directory.") var resume = false
    @Flag(help: "Replace whatever run is in the output directory.") var force = false
    @Flag(help: "No progress on stderr.") var quiet = false

    func validate() throws {
        guard threads >= 1 else { throw ValidationError("--threads must be at least 1, got \(threads)") }
        if let replicates, replicates < 1 { throw ValidationError("--replicates must be at least 1, got \(replicates)") }
        if let generations, generations < 0 { throw ValidationError("--generations must be at least 0, got \(generations)") }
        if let shard { _ = try Self.parseShard(shard) }
        if resume && force { throw ValidationError("--resume and --force contradict each other: --resume continues the run, --force discards it") }
    }

    static func parseShard(_ text: String) throws -> (index: Int, count: Int) {
        let parts = text.split(separator: "/")
        guard parts.count == 2, let k = Int(parts[0]), let n = Int(parts[1]), n >= 1, k >= 1, k <= n else {
            throw ValidationError("--shard must be K/N with 1 <= K <= N, e.g. 2/4; got \(text)")
        }
        return (k, n)
    }

    func run() throws {
        ProcessTuning.keepLargeAllocationsInHeap()
        let experiment = try loadExperiment(path: config, overrides: ConfigOverrides(replicates: replicates, generations: generations, seed: seed))
        let directory = URL(fileURLWithPath: out ?? "Results/\(experiment.name)")
        let options = RunOptions(outputDirectory: directory, threads: threads, shard: try shard.map(Self.parseShard),
                                 resume: resume, force: force, progress: !quiet && isatty(2) == 1)
        Interruption.shared.install()
        // Single-threaded from here: OpenBLAS's idle pool can be stopped safely (the engine keeps
        // BLAS at one thread per call; an in-process caller running BLAS concurrently could not).
        BLAS.useOneThread()
        var resumeCommand = "collapse run \(config) --resume"
        if let out { resumeCommand += " --out \(out)" }
        if let shard { resumeCommand += " --shard \(shard)" }
        let summary: RunSummary
        do {
            summary = try Engine(experiment: experiment).run(options)
        } catch {
            printError(error.description)
            // A failed write (disk full, read-only, file-size limit) keeps the finished chains.
            if case .io = error, Engine.hasUnfinishedRun(in: directory) {
                FileHandle.standardError.write(Data("""
                    The chains finished so far are kept in \(directory.path).
                    Once it can be written again, finish with: \(resumeCommand)

                    """.utf8))
            }
            throw ExitCode(ExitCodes.runFailure)
        }
        if !summary.complete {
            FileHandle.standardError.write(Data("""
                interrupted: \(summary.chains) chains are saved in \(directory.path).
                Finish with: \(resumeCommand)

                """.utf8))
            throw ExitCode(ExitCodes.interrupted)
        }
        if !quiet {
            let resumed = summary.resumedFromChain > 0 ? " (resumed after \(summary.resumedFromChain))" : ""
            print("\(summary.chains) chains\(resumed), \(summary.rows) rows in \(String(format: "%.1f", summary.seconds)) s -> \(directory.path)")
        }
    }
}

/// `collapse validate CONFIG`: parse and check, print the variants, run nothing.
struct Validate: ParsableCommand {
    static let configuration = CommandConfiguration(abstract: "Check a config and print its expanded sweep variants; runs nothing.")

    @Argument(help: "The experiment config (YAML).") var config: String

    func run() throws {
        let experiment = try loadExperiment(path: config)
        print("\(experiment.name): \(experiment.variants.count) variant(s), \(experiment.chainCount) chains")
        for v in experiment.variants {
            let params = v.parameters.map { "\($0.keyPath)=\($0.value)" }.joined(separator: ", ")
            let c = v.config
            print("  variant \(v.index)\(params.isEmpty ? "" : " (\(params))"): \(c.replicates) replicates x \(c.generations + 1) generations, M = \(c.samples), model \(c.model.kind), regime \(c.regime.kind.rawValue)\(c.samplingShortcut.map { ", sampling.shortcut \($0.rawValue) (no synthetic rows)" } ?? ""), metrics \(c.metrics.joined(separator: " "))")
        }
    }
}

/// `collapse summarize DIR`: rebuild summary.csv from metrics.csv.
struct Summarize: ParsableCommand {
    static let configuration = CommandConfiguration(abstract: "Rebuild summary.csv from a run's metrics.csv.")

    @Argument(help: "An output directory of `collapse run`.") var directory: String

    func run() throws {
        let dir = URL(fileURLWithPath: directory)
        let experiment = try loadRecordedExperiment(directory: dir)
        try runOrExit { () throws(RunError) in
            try Summarizer(experiment: experiment, registry: .standard)
                .write(metrics: dir.appendingPathComponent("metrics.csv"), to: dir.appendingPathComponent("summary.csv"))
        }
    }
}

/// `collapse merge DIR... --out DIR`: join shard outputs.
struct Merge: ParsableCommand {
    static let configuration = CommandConfiguration(abstract: "Join the outputs of `collapse run --shard K/N` into one result.")

    @Argument(help: "The shard output directories, in any order.") var shards: [String]
    @Option(help: "Output directory of the merged result.") var out: String
    @Flag(help: "Replace whatever is in the output directory.") var force = false

    func validate() throws {
        guard !shards.isEmpty else { throw ValidationError("give the shard directories to merge") }
    }

    func run() throws {
        let urls = shards.map { URL(fileURLWithPath: $0) }
        let source = try runOrExit { () throws(RunError) in try Merger.sourceConfig(of: urls) }
        let experiment: Experiment
        guard let overrides = ConfigOverrides(recorded: source.overrides) else {
            printError("the shards record unreadable overrides \(source.overrides)")
            throw ExitCode(ExitCodes.runFailure)
        }
        do {
            experiment = try ConfigLoader(catalog: MetricRegistry.standard).load(text: source.text, path: source.path, overrides: overrides)
        } catch {
            printError("the config recorded in the shards no longer loads: \(error.description)")
            throw ExitCode(ExitCodes.invalidConfig)
        }
        try runOrExit { () throws(RunError) in
            try Merger.merge(shards: urls, into: URL(fileURLWithPath: out), experiment: experiment, force: force)
        }
        print("merged \(shards.count) shard(s) -> \(out)")
    }
}

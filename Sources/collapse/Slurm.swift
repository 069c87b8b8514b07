import ArgumentParser
import CollapseCore
import CollapseRunner
import Foundation
#if canImport(Glibc)
import Glibc
#endif

/// `collapse slurm CONFIG`: run a sweep on a SLURM cluster as an sbatch array of shards plus a
/// dependent job that merges them into the bytes of an unsharded run.
struct Slurm: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Run an experiment on a SLURM cluster: an array job of shards, then a merge job.",
        discussion: """
            Writes two sbatch scripts to <out>/slurm/: array.sbatch, whose task K runs \
            `collapse run CONFIG --shard K/N --out <out>/shard-K`, and merge.sbatch, which runs \
            `collapse merge` of the N shards into <out>, `collapse summarize` and, when the \
            repository's Scripts/plot.py and .venv exist, the plots. Logs go to <out>/slurm-logs/. \
            Without --submit it prints the scripts' paths and the two sbatch commands that submit \
            them; with --submit it submits both (the merge with --dependency=afterok on the array \
            and --kill-on-invalid-dep=yes) and prints the job ids.

            Shards are complete-or-absent: a finished shard directory is never rerun and an \
            unfinished one is resumed. Running the same command again after some array tasks \
            failed (or were killed by the time limit) submits only the shards that are not \
            finished, e.g. --array=2,5, and a new merge job.

            Each task keeps BLAS single-threaded inside chains (OPENBLAS_NUM_THREADS=1) and runs \
            chains in parallel on its --cpus-per-task CPUs (--threads $SLURM_CPUS_PER_TASK): the \
            merged metrics.csv is byte-identical to `collapse run CONFIG` on one machine. The \
            config, the collapse binary and --out must be on a file system that the compute \
            nodes see at the same paths.
            """
    )

    @Argument(help: "The experiment config (YAML).") var config: String
    @Option(help: "Array tasks = shards N (default: 8, or the number of chains if fewer).") var tasks: Int?
    @Option(help: "SLURM partition (default: the cluster's default partition).") var partition: String?
    @Option(help: "Time limit of each job, in SLURM's format: MM, HH:MM:SS, D-HH:MM, ... (default: the partition's).") var time: String?
    @Option(help: "CPUs per array task; chains run in parallel on them.") var cpusPerTask: Int = 1
    @Option(help: "Output directory of the merged result (default Results/<name>); shards go to <out>/shard-K.") var out: String?
    @Option(parsing: .unconditionalSingleValue,
            help: ArgumentHelp("Extra sbatch option for both jobs, e.g. --sbatch-arg --account=lab (repeatable).", valueName: "option"))
    var sbatchArg: [String] = []
    @Flag(help: "Submit the jobs with sbatch and print their ids (default: only write the scripts).") var submit = false
    @Option(help: ArgumentHelp("The collapse executable the jobs run (default: this one).", valueName: "path")) var collapse: String?

    func validate() throws {
        if let tasks, tasks < 1 { throw ValidationError("--tasks must be at least 1, got \(tasks)") }
        guard cpusPerTask >= 1 else { throw ValidationError("--cpus-per-task must be at least 1, got \(cpusPerTask)") }
        if let time, !SlurmScripts.isTimeLimit(time) {
            throw ValidationError("--time '\(time)' is not a SLURM time limit: use minutes, MM:SS, HH:MM:SS, D-HH, D-HH:MM, D-HH:MM:SS or UNLIMITED")
        }
        if let partition, partition.isEmpty || !partition.allSatisfy({ $0.isLetter || $0.isNumber || "_.,-".contains($0) }) {
            throw ValidationError("--partition '\(partition)' is not a partition name (letters, digits, _ . - and commas between names)")
        }
        for arg in sbatchArg where !arg.hasPrefix("-") || arg.contains(where: { $0.isNewline || $0 == "\"" }) {
            throw ValidationError("--sbatch-arg '\(arg)' is not one sbatch option (it must start with '-', be on one line and hold no \")")
        }
        for (name, path) in [("--collapse", collapse), ("CONFIG", config)] {
            if let path, path.contains(where: \.isNewline) {
                throw ValidationError("\(name) '\(path)': a job script cannot use a path holding a line break")
            }
        }
        if let out, out.contains(where: { $0.isNewline || $0 == "%" || $0 == "\"" }) {
            throw ValidationError("--out '\(out)': SLURM log paths cannot hold a line break, % or \"")
        }
    }

    func run() throws {
        let experiment = try loadExperiment(path: config)
        let chains = experiment.chainCount
        let n = tasks ?? min(8, chains)
        guard n <= chains else {
            printError("--tasks \(n) is more than the \(chains) chains of \(experiment.name): every shard needs at least one chain; use --tasks \(chains) or fewer")
            throw ExitCode.validationFailure
        }
        let executable = try resolveExecutable()
        let sbatch: String?
        if submit {
            guard let found = Self.onPath("sbatch") else {
                printError("--submit needs `sbatch` on PATH, and there is none: run this on the cluster's login node (with SLURM's client tools), or leave out --submit to only write the scripts")
                throw ExitCode(ExitCodes.runFailure)
            }
            sbatch = found
        } else {
            sbatch = nil
        }

        let outDirectory = URL(fileURLWithPath: out ?? "Results/\(experiment.name)").standardizedFileURL
        let scripts = SlurmScripts(
            experimentName: experiment.name, configSHA256: experiment.configSHA256, sweptKeys: experiment.sweptKeys,
            chains: chains, tasks: n,
            config: URL(fileURLWithPath: config).standardizedFileURL.path, collapse: executable, out: outDirectory.path,
            partition: partition, time: time, cpusPerTask: cpusPerTask, extra: sbatchArg, plot: Self.plotSetup())

        // Which shards still have to run (complete-or-absent), and whether the directory is ours.
        let survey = ShardSurvey(out: outDirectory, tasks: n, configSHA256: experiment.configSHA256)
        if !survey.problems.isEmpty {
            printError("cannot schedule into \(outDirectory.path):\n  " + survey.problems.joined(separator: "\n  "))
            throw ExitCode(ExitCodes.runFailure)
        }
        let pending = survey.pending
        if let sbatch, let active = Self.activeJobs(scripts: [scripts.arrayScriptPath, scripts.mergeScriptPath], near: sbatch), !active.isEmpty {
            let ids = active.joined(separator: ",")
            printError("""
                job(s) \(ids) from an earlier `collapse slurm --submit` into \(outDirectory.path) are still queued or running.
                Wait for them (squeue -j \(ids)) or cancel them (scancel \(active.joined(separator: " "))), then submit again.
                """)
            throw ExitCode(ExitCodes.runFailure)
        }

        // The scripts, and the log folder SLURM writes into (it does not create folders).
        let arrayText = scripts.arrayScript(indices: pending.isEmpty ? Array(1...n) : pending)
        let mergeText = scripts.mergeScript()
        do {
            try FileManager.default.createDirectory(atPath: scripts.logDirectory, withIntermediateDirectories: true)
            try FileManager.default.createDirectory(atPath: scripts.scriptDirectory, withIntermediateDirectories: true)
            try Data(arrayText.utf8).write(to: URL(fileURLWithPath: scripts.arrayScriptPath), options: .atomic)
            try Data(mergeText.utf8).write(to: URL(fileURLWithPath: scripts.mergeScriptPath), options: .atomic)
        } catch {
            printError("cannot write the job scripts under \(outDirectory.path): \(error.localizedDescription). Choose another directory with --out.")
            throw ExitCode(ExitCodes.runFailure)
        }

        let finished = n - pending.count
        let shardText = "\(pending.count == 1 ? "shard" : "shards") \(SlurmScripts.ranges(pending)) of \(n)"
        guard let sbatch else {
            print("wrote \(scripts.arrayScriptPath)")
            print("wrote \(scripts.mergeScriptPath)")
            if pending.isEmpty {
                print("all \(n) shards are finished in \(outDirectory.path); only the merge job is needed:")
                print("  sbatch \(shellQuote(scripts.mergeScriptPath))")
            } else {
                print("array: \(shardText), \(cpusPerTask) CPU(s) each\(finished > 0 ? " (\(finished) finished shard(s) are not rerun)" : ""); submit with:")
                print("  array=$(sbatch --parsable \(shellQuote(scripts.arrayScriptPath)))")
                print("  sbatch --dependency=afterok:${array%;*} --kill-on-invalid-dep=yes \(shellQuote(scripts.mergeScriptPath))")
                print("or let collapse submit both: the same command with --submit")
            }
            return
        }

        var arrayID: String?
        if !pending.isEmpty {
            arrayID = try Self.sbatch(sbatch, ["--parsable", scripts.arrayScriptPath], what: "the array job")
            print("array job \(arrayID!): \(shardText), \(cpusPerTask) CPU(s) each -> \(outDirectory.path)/shard-K\(finished > 0 ? " (\(finished) finished shard(s) are not rerun)" : "")")
        } else {
            print("all \(n) shards are finished in \(outDirectory.path): submitting only the merge job")
        }
        let dependency = arrayID.map { ["--dependency=afterok:\($0)", "--kill-on-invalid-dep=yes"] } ?? []
        let mergeID: String
        do {
            mergeID = try Self.sbatch(sbatch, ["--parsable"] + dependency + [scripts.mergeScriptPath], what: "the merge job")
        } catch {
            if let arrayID {
                printError("the array job \(arrayID) is submitted, the merge job is not; when the array has finished, run: sbatch \(shellQuote(scripts.mergeScriptPath)) (or this command again)")
            }
            throw error
        }
        print("merge job \(mergeID): \(arrayID.map { "after job \($0) succeeds, " } ?? "")merges into \(outDirectory.path)")
        print("logs: \(scripts.logDirectory)/; watch with: squeue -j \(([arrayID, mergeID].compactMap { $0 }).joined(separator: ","))")
    }

    /// The collapse binary the jobs run: --collapse, or this process's own executable.
    func resolveExecutable() throws -> String {
        let path: String
        if let collapse {
            path = URL(fileURLWithPath: collapse).standardizedFileURL.path
        } else if let own = try? FileManager.default.destinationOfSymbolicLink(atPath: "/proc/self/exe") {
            path = own
        } else {
            path = URL(fileURLWithPath: CommandLine.arguments[0]).standardizedFileURL.path
        }
        guard FileManager.default.isExecutableFile(atPath: path) else {
            printError("--collapse \(path) is not an executable file: give the path of the collapse binary the compute nodes should run")
            throw ExitCode.validationFailure
        }
        return path
    }

    /// Where the plotting script and its venv are: the repository that holds the current
    /// directory or the collapse binary (which SwiftPM builds under <repo>/.build/).
    static func plotSetup() -> (script: String, python: String)? {
        var candidates = [URL(fileURLWithPath: FileManager.default.currentDirectoryPath)]
        if let own = try? FileManager.default.destinationOfSymbolicLink(atPath: "/proc/self/exe") {
            var dir = URL(fileURLWithPath: own).deletingLastPathComponent()
            for _ in 0..<4 {
                candidates.append(dir)
                dir = dir.deletingLastPathComponent()
            }
        }
        for dir in candidates {
            let script = dir.appendingPathComponent("Scripts/plot.py").path
            if FileManager.default.fileExists(atPath: script) {
                return (script, dir.appendingPathComponent(".venv/bin/python").path)
            }
        }
        return nil
    }

    static func onPath(_ name: String) -> String? {
        let path = ProcessInfo.processInfo.environment["PATH"] ?? "/usr/local/bin:/usr/bin:/bin"
        for dir in path.split(separator: ":") where !dir.isEmpty {
            let candidate = "\(dir)/\(name)"
            if FileManager.default.isExecutableFile(atPath: candidate) { return candidate }
        }
        return nil
    }

    /// Runs sbatch and returns the job id it prints with --parsable ("id" or "id;cluster").
    static func sbatch(_ sbatch: String, _ arguments: [String], what: String) throws -> String {
        let result: (status: Int32, out: String, err: String)
        do { result = try runTool(sbatch, arguments) } catch {
            printError("cannot start \(sbatch): \(error)")
            throw ExitCode(ExitCodes.runFailure)
        }
        let id = result.out.split(whereSeparator: \.isNewline).last.map { String($0.split(separator: ";").first ?? "") } ?? ""
        guard result.status == 0, !id.isEmpty, id.allSatisfy(\.isNumber) else {
            let detail = result.err.trimmingCharacters(in: .whitespacesAndNewlines)
            printError("sbatch refused \(what) (exit \(result.status)): \(detail.isEmpty ? result.out : detail)")
            throw ExitCode(ExitCodes.runFailure)
        }
        return id
    }

    /// Ids of this user's queued or running jobs whose batch script is one of `scripts` (an
    /// earlier submission into the same directory); nil when squeue cannot tell.
    static func activeJobs(scripts: [String], near sbatch: String) -> [String]? {
        let squeue = URL(fileURLWithPath: sbatch).deletingLastPathComponent().appendingPathComponent("squeue").path
        guard FileManager.default.isExecutableFile(atPath: squeue) || onPath("squeue") != nil,
              let result = try? runTool(FileManager.default.isExecutableFile(atPath: squeue) ? squeue : onPath("squeue")!,
                                        ["-h", "--me", "-o", "%F|%o"]),
              result.status == 0 else { return nil }
        var ids: [String] = []
        for line in result.out.split(whereSeparator: \.isNewline) {
            let parts = line.split(separator: "|", maxSplits: 1).map(String.init)
            guard parts.count == 2, scripts.contains(parts[1].trimmingCharacters(in: .whitespaces)) else { continue }
            if !ids.contains(parts[0]) { ids.append(parts[0]) }
        }
        return ids
    }

    static func runTool(_ executable: String, _ arguments: [String]) throws -> (status: Int32, out: String, err: String) {
        let p = Process()
        p.executableURL = URL(fileURLWithPath: executable)
        p.arguments = arguments
        let out = Pipe(), err = Pipe()
        p.standardOutput = out
        p.standardError = err
        p.standardInput = FileHandle.nullDevice
        try p.run()
        let o = out.fileHandleForReading.readDataToEndOfFile()
        let e = err.fileHandleForReading.readDataToEndOfFile()
        p.waitUntilExit()
        return (p.terminationStatus, String(decoding: o, as: UTF8.self), String(decoding: e, as: UTF8.self))
    }
}

/// The state of the shard directories <out>/shard-1 ... <out>/shard-N.
struct ShardSurvey {
    /// Shards that are not finished (absent, empty or unfinished), in order.
    var pending: [Int] = []
    /// Directories that hold something this split cannot use, described for a human.
    var problems: [String] = []

    init(out: URL, tasks n: Int, configSHA256: String) {
        let fm = FileManager.default
        for k in 1...n {
            let dir = out.appendingPathComponent("shard-\(k)")
            let manifest = dir.appendingPathComponent("manifest.json"), state = dir.appendingPathComponent("run-state.json")
            if fm.fileExists(atPath: state.path) {
                // Unfinished: the array task resumes it, if it is this shard of this config and no job is writing it.
                if let json = Self.json(state), let identity = json["identity"] as? [String: Any] {
                    let shard = identity["shard"] as? String, sha = identity["configSHA256"] as? String
                    if shard != "\(k)/\(n)" || sha != configSHA256 {
                        problems.append("\(dir.path) holds an unfinished run of shard \(shard ?? "none") of config \(sha?.prefix(12) ?? "?"), not shard \(k)/\(n) of config \(configSHA256.prefix(12)): remove it, or choose another --out")
                        continue
                    }
                }
                if Self.isLocked(dir.appendingPathComponent(".lock")) {
                    problems.append("\(dir.path) is being written by a running `collapse run` (its .lock is held): wait for that job to finish")
                    continue
                }
                pending.append(k)
            } else if fm.fileExists(atPath: manifest.path) {
                // Finished: it must be shard k/n of this very config, or the merge would refuse it.
                guard let json = Self.json(manifest), let run = json["run"] as? [String: Any],
                      let config = json["config"] as? [String: Any] else {
                    problems.append("\(dir.path)/manifest.json is unreadable: remove \(dir.path) to rerun that shard")
                    continue
                }
                let shard = run["shard"] as? String, sha = config["sha256"] as? String
                let overrides = config["overrides"] as? [String: Any] ?? [:]
                if shard != "\(k)/\(n)" || sha != configSHA256 || !overrides.isEmpty {
                    problems.append("\(dir.path) holds shard \(shard ?? "none (an unsharded run)") of config \(sha?.prefix(12) ?? "?")\(overrides.isEmpty ? "" : " with overrides"), not shard \(k)/\(n) of config \(configSHA256.prefix(12)): remove the old shard directories, or choose another --out")
                }
            } else {
                pending.append(k)
            }
        }
    }

    static func json(_ url: URL) -> [String: Any]? {
        guard let data = try? Data(contentsOf: url) else { return nil }
        return (try? JSONSerialization.jsonObject(with: data)) as? [String: Any]
    }

    /// True when another process holds the flock of a run directory's .lock.
    static func isLocked(_ lock: URL) -> Bool {
        let fd = open(lock.path, O_RDONLY)
        guard fd >= 0 else { return false }
        defer { close(fd) }
        if flock(fd, LOCK_SH | LOCK_NB) != 0 { return errno == EWOULDBLOCK }
        flock(fd, LOCK_UN)
        return false
    }
}

/// The text of the two sbatch scripts.
struct SlurmScripts {
    let experimentName: String
    let configSHA256: String
    let sweptKeys: [String]
    let chains: Int
    let tasks: Int
    let config: String
    let collapse: String
    let out: String
    let partition: String?
    let time: String?
    let cpusPerTask: Int
    let extra: [String]
    let plot: (script: String, python: String)?

    var scriptDirectory: String { out + "/slurm" }
    var logDirectory: String { out + "/slurm-logs" }
    var arrayScriptPath: String { scriptDirectory + "/array.sbatch" }
    var mergeScriptPath: String { scriptDirectory + "/merge.sbatch" }

    /// The job name: the experiment name, in characters every SLURM tool shows unchanged.
    var jobName: String {
        String(experimentName.map { $0.isASCII && ($0.isLetter || $0.isNumber || "_.-".contains($0)) ? $0 : "_" })
    }

    func directives(jobName: String, output: String, array: String?) -> [String] {
        var lines = ["--job-name=\(jobName)"]
        if let array { lines.append("--array=\(array)") }
        lines += ["--ntasks=1", "--cpus-per-task=\(array == nil ? 1 : cpusPerTask)"]
        if let partition { lines.append("--partition=\(partition)") }
        if let time { lines.append("--time=\(time)") }
        lines.append("--output=\(Self.directiveValue(output))")
        lines += extra.map { option in
            // --comment=a b -> --comment="a b": sbatch splits #SBATCH lines at white space outside quotes.
            guard option.contains(where: \.isWhitespace), let equals = option.firstIndex(of: "=") else { return option }
            return String(option[...equals]) + Self.directiveValue(String(option[option.index(after: equals)...]))
        }
        return lines.map { "#SBATCH " + $0 }
    }

    func header(_ purpose: String) -> String {
        """
        #!/bin/bash
        # Generated by `collapse slurm` (model-collapse \(ToolVersion.string)) for experiment \(experimentName):
        #   config \(config) (sha256 \(configSHA256.prefix(16))), \(chains) chains in \(tasks) shard(s)
        #   output \(out)
        # \(purpose)
        """
    }

    func arrayScript(indices: [Int]) -> String {
        header("""
            Array task K runs shard K/\(tasks) into \(out)/shard-K. Shards are complete-or-absent:
            # a finished shard directory (manifest.json, no run-state.json) is left as it is, an unfinished one
            # (run-state.json) is resumed with --resume. The runner keeps BLAS single-threaded inside each chain
            # (OPENBLAS_NUM_THREADS=1) and runs chains in parallel on the task's CPUs (--threads
            # $SLURM_CPUS_PER_TASK), so metrics.csv has the same bytes whatever the CPU count.
            """) + "\n"
            + directives(jobName: jobName, output: logDirectory + "/%x-%A_%a.out", array: Self.ranges(indices)).joined(separator: "\n")
            + "\n\n" + """
            set -euo pipefail
            export OPENBLAS_NUM_THREADS=1
            collapse=\(shellQuote(collapse))
            config=\(shellQuote(config))
            out=\(shellQuote(out))
            tasks=\(tasks)
            k="${SLURM_ARRAY_TASK_ID:?not an array task: submit this script with sbatch}"
            shard="$out/shard-$k"
            threads="${SLURM_CPUS_PER_TASK:-1}"

            if [ -f "$shard/manifest.json" ] && [ ! -e "$shard/run-state.json" ]; then
              echo "shard $k/$tasks: already finished in $shard; not rerun"
              exit 0
            fi
            resume=()
            if [ -e "$shard/run-state.json" ]; then
              resume=(--resume)
              echo "shard $k/$tasks: resuming the unfinished run in $shard"
            fi
            echo "shard $k/$tasks: on $(hostname) with $threads thread(s), started $(date -Iseconds)"
            "$collapse" run "$config" --shard "$k/$tasks" --out "$shard" --threads "$threads" --quiet ${resume[@]+"${resume[@]}"}
            echo "shard $k/$tasks: finished $(date -Iseconds)"

            """
    }

    func mergeScript() -> String {
        let plotStep: String
        if let plot {
            plotStep = """
                plot=\(shellQuote(plot.script))
                python=\(shellQuote(plot.python))
                if [ -f "$plot" ] && [ -x "$python" ]; then
                  "$python" "$plot" "$out"\(plotArguments) || echo "warning: plotting failed; the merged result is complete" >&2
                else
                  echo "no plots: $plot or $python is missing (Scripts/setup.sh --plot makes the venv)"
                fi

                """
        } else {
            plotStep = "# No plots: Scripts/plot.py was not found next to the current directory or the collapse binary.\n"
        }
        var shardList = ""
        for k in 1...tasks { shardList += "  \"$out/shard-\(k)\"\n" }
        return header("""
            The merge job: submitted with --dependency=afterok:<array job> --kill-on-invalid-dep=yes, it runs
            # only when every array task succeeded. `collapse merge` joins the shards into the bytes of an
            # unsharded run and writes summary.csv and manifest.json; `collapse summarize` rebuilds summary.csv
            # from the merged metrics.csv (the same bytes), then the plots are drawn when the venv exists.
            """) + "\n"
            + directives(jobName: jobName + "-merge", output: logDirectory + "/%x-%j.out", array: nil).joined(separator: "\n")
            + "\n\n" + """
            set -euo pipefail
            export OPENBLAS_NUM_THREADS=1
            collapse=\(shellQuote(collapse))
            out=\(shellQuote(out))
            shards=(
            \(shardList))
            "$collapse" merge "${shards[@]}" --out "$out" --force
            "$collapse" summarize "$out"

            """ + plotStep
    }

    /// `--by KEY` when there is exactly one swept key (one colour per value of it).
    var plotArguments: String { sweptKeys.count == 1 ? " --by " + shellQuote(sweptKeys[0]) : "" }

    /// "1-3,5,7-8": SLURM's --array syntax for sorted indices.
    static func ranges(_ indices: [Int]) -> String {
        var parts: [String] = []
        var i = 0
        while i < indices.count {
            var j = i
            while j + 1 < indices.count && indices[j + 1] == indices[j] + 1 { j += 1 }
            parts.append(i == j ? "\(indices[i])" : "\(indices[i])-\(indices[j])")
            i = j + 1
        }
        return parts.joined(separator: ",")
    }

    /// A value in an #SBATCH line: quoted when it holds white space.
    static func directiveValue(_ s: String) -> String {
        s.contains(where: \.isWhitespace) ? "\"\(s)\"" : s
    }

    /// SLURM time formats: minutes, MM:SS, HH:MM:SS, D-HH, D-HH:MM, D-HH:MM:SS, or unlimited.
    static func isTimeLimit(_ s: String) -> Bool {
        if ["UNLIMITED", "INFINITE"].contains(s.uppercased()) { return true }
        func numbers(_ t: Substring, _ counts: ClosedRange<Int>) -> Bool {
            let parts = t.split(separator: ":", omittingEmptySubsequences: false)
            return counts.contains(parts.count) && parts.allSatisfy { !$0.isEmpty && $0.allSatisfy(\.isASCII) && $0.allSatisfy(\.isNumber) }
        }
        let day = s.split(separator: "-", maxSplits: 1, omittingEmptySubsequences: false)
        if day.count == 2 { return numbers(day[0], 1...1) && numbers(day[1], 1...3) }
        return numbers(Substring(s), 1...3)
    }
}

/// A string as one single-quoted shell word.
func shellQuote(_ s: String) -> String {
    "'" + s.replacingOccurrences(of: "'", with: "'\\''") + "'"
}

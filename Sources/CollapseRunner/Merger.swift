import CollapseMetrics
import Foundation

/// Joins the outputs of `collapse run --shard K/N` into the result of an unsharded run: the same
/// metrics.csv bytes, then summary.csv and manifest.json.
public enum Merger {
    struct ShardInfo {
        let url: URL
        let index: Int
        let count: Int
        let configSHA256: String
        let configPath: String
        let configText: String
        let rows: Int
        let seconds: Double
        let overrides: [String: String]
    }

    /// Reads a shard directory's manifest; errors say which directory and what is wrong.
    static func shardInfo(_ url: URL) throws(RunError) -> ShardInfo {
        let files = OutputFiles(directory: url)
        if FileManager.default.fileExists(atPath: files.state.path) {
            throw RunError.merge("\(url.path) holds an unfinished run; finish it with `collapse run ... --shard K/N --resume --out \(url.path)` first")
        }
        guard let data = try? Data(contentsOf: files.manifest),
              let json = (try? JSONSerialization.jsonObject(with: data)) as? [String: Any],
              let run = json["run"] as? [String: Any], let config = json["config"] as? [String: Any],
              let sha = config["sha256"] as? String, let text = config["text"] as? String, let path = config["path"] as? String else {
            throw RunError.merge("\(url.path) has no readable manifest.json: is it the output directory of a finished `collapse run --shard`?")
        }
        guard let shard = run["shard"] as? String else {
            throw RunError.merge("\(url.path) is not a shard (its run had no --shard); merge takes the directories of `--shard K/N` runs")
        }
        let parts = shard.split(separator: "/").compactMap { Int($0) }
        guard parts.count == 2 else { throw RunError.merge("\(url.path): unreadable shard \(shard) in manifest.json") }
        guard FileManager.default.fileExists(atPath: files.metrics.path) else {
            throw RunError.merge("\(url.path) has no metrics.csv")
        }
        return ShardInfo(url: url, index: parts[0], count: parts[1], configSHA256: sha, configPath: path, configText: text,
                         rows: run["rows"] as? Int ?? 0, seconds: run["seconds"] as? Double ?? 0,
                         overrides: config["overrides"] as? [String: String] ?? [:])
    }

    /// The config (path and text) the shards were made from, after checking they agree.
    public static func sourceConfig(of shards: [URL]) throws(RunError) -> (path: String, text: String, overrides: [String: String]) {
        guard let first = shards.first else { throw RunError.merge("merge needs at least one shard directory") }
        let info = try shardInfo(first)
        return (info.configPath, info.configText, info.overrides)
    }

    public static func merge(shards: [URL], into out: URL, experiment: Experiment, registry: MetricRegistry = .standard,
                             force: Bool) throws(RunError) {
        var infos: [ShardInfo] = []
        for url in shards { infos.append(try shardInfo(url)) }
        guard let n = infos.first?.count else { throw RunError.merge("merge needs at least one shard directory") }
        for info in infos {
            guard info.configSHA256 == experiment.configSHA256 else {
                throw RunError.merge("\(info.url.path) was made from a different config (sha256 \(info.configSHA256.prefix(12)), expected \(experiment.configSHA256.prefix(12)))")
            }
            guard info.count == n else {
                throw RunError.merge("\(info.url.path) is shard \(info.index)/\(info.count), but others are out of \(n)")
            }
        }
        let indices = infos.map(\.index)
        let duplicates = Set(indices.filter { i in indices.filter { $0 == i }.count > 1 })
        let missing = Set(1...n).subtracting(indices)
        guard duplicates.isEmpty, missing.isEmpty else {
            var problems: [String] = []
            if !missing.isEmpty { problems.append("missing shard(s) \(missing.sorted().map { "\($0)/\(n)" }.joined(separator: ", "))") }
            if !duplicates.isEmpty { problems.append("shard(s) given twice: \(duplicates.sorted().map { "\($0)/\(n)" }.joined(separator: ", "))") }
            throw RunError.merge("the shards do not cover every chain exactly once: " + problems.joined(separator: "; "))
        }
        infos.sort { $0.index < $1.index }

        let files = OutputFiles(directory: out)
        let identity = RunIdentity(configSHA256: experiment.configSHA256, shard: nil, chainCount: experiment.chainCount)
        try files.createDirectory()
        let lock = try files.lock()
        defer { lock.release() }
        try files.prepare(identity: identity, resume: false, force: force)

        // Concatenate in shard order (shards are contiguous blocks of the chain order), streaming
        // 1 MiB at a time into metrics.csv.partial, then rename.
        guard FileManager.default.createFile(atPath: files.partial.path, contents: nil),
              let output = try? FileHandle(forWritingTo: files.partial) else {
            throw RunError.io("cannot write \(files.partial.path)")
        }
        var header: Data?
        var rows = 0
        do {
            for info in infos {
                let input = try FileHandle(forReadingFrom: OutputFiles(directory: info.url).metrics)
                defer { try? input.close() }
                var head = Data()
                var rest = Data()
                while true {
                    let chunk = input.readData(ofLength: 1 << 16)
                    if chunk.isEmpty { break }
                    head.append(chunk)
                    if let newline = head.firstIndex(of: UInt8(ascii: "\n")) {
                        rest = Data(head[(newline + 1)...])
                        head = Data(head[head.startIndex...newline])
                        break
                    }
                }
                guard head.last == UInt8(ascii: "\n") else { throw RunError.merge("\(info.url.path)/metrics.csv has no header line") }
                if let header, header != head {
                    throw RunError.merge("\(info.url.path)/metrics.csv has a different header from the first shard")
                }
                if header == nil {
                    header = head
                    try output.write(contentsOf: head)
                }
                try output.write(contentsOf: rest)
                while true {
                    let chunk = input.readData(ofLength: 1 << 20)
                    if chunk.isEmpty { break }
                    try output.write(contentsOf: chunk)
                }
                rows += info.rows
            }
            try output.synchronize()
            try output.close()
        } catch let error as RunError {
            throw error
        } catch {
            throw RunError.io("merging into \(files.partial.path) failed: \(error.localizedDescription)")
        }
        guard rename(files.partial.path, files.metrics.path) == 0 else {
            throw RunError.io("cannot rename \(files.partial.path) to metrics.csv")
        }
        try Summarizer(experiment: experiment, registry: registry).write(metrics: files.metrics, to: files.summary)
        let manifest = Manifest(experiment: experiment, identity: identity, threads: 0, seconds: infos.reduce(0) { $0 + $1.seconds },
                                rows: rows, chains: experiment.chainCount, resumedFromChain: 0)
        try files.writeAtomically(manifest.json(), to: files.manifest)
        // Exported samples come from replicate 0 of each variant: copy them from whichever shard ran it.
        for info in infos {
            let source = OutputFiles(directory: info.url).samples
            guard let names = try? FileManager.default.contentsOfDirectory(atPath: source.path) else { continue }
            for name in names.sorted() {
                guard let data = try? Data(contentsOf: source.appendingPathComponent(name)) else { continue }
                do { try FileManager.default.createDirectory(at: files.samples, withIntermediateDirectories: true) } catch {
                    throw RunError.io("cannot create \(files.samples.path)")
                }
                try files.writeAtomically(data, to: files.samples.appendingPathComponent(name))
            }
        }
    }
}

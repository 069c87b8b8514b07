import ArgumentParser
import CollapseRunner
import Foundation

/// `collapse compare DIR --metric M`: the variants side by side at one generation, and how many
/// generations each takes to cross a collapse threshold.
struct Compare: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Compare a run's variants (e.g. real-data mixing ratios) on one metric.",
        discussion: """
            Reads summary.csv. For each variant prints its swept values, the mean with its 95 % \
            confidence interval at --generation (default: the last), and, with --below or --above, \
            the first generation at which the variant's mean crosses that fraction of its \
            generation-0 mean (e.g. --below 0.1: variance under 10 % of where it started).
            """
    )

    @Argument(help: "An output directory of `collapse run`.") var directory: String
    @Option(help: "The metric to compare (a name in summary.csv).") var metric: String
    @Option(help: "Generation to compare at (default: the last recorded).") var generation: Int?
    @Option(help: "Collapse threshold: first generation whose mean is below this fraction of generation 0's.") var below: Double?
    @Option(help: "Collapse threshold: first generation whose mean is above this multiple of generation 0's.") var above: Double?

    func validate() throws {
        if below != nil && above != nil { throw ValidationError("give --below or --above, not both") }
        if let below, !(below > 0) { throw ValidationError("--below must be positive, got \(below)") }
        if let above, !(above > 0) { throw ValidationError("--above must be positive, got \(above)") }
    }

    func run() throws {
        let url = URL(fileURLWithPath: directory).appendingPathComponent("summary.csv")
        guard let text = try? String(contentsOf: url, encoding: .utf8) else {
            printError("cannot read \(url.path): is \(directory) the output directory of a finished `collapse run`?")
            throw ExitCode(ExitCodes.runFailure)
        }
        let table = try CompareTable(summaryCSV: text, metric: metric)
        print(table.render(generation: generation, below: below, above: above))
    }
}

/// summary.csv rows of one metric, grouped by variant.
struct CompareTable {
    struct Row { let generation: Int; let n: Int; let mean: Double; let low: Double; let high: Double }
    var sweptKeys: [String]
    var variants: [(label: [String], rows: [Row])] = []

    init(summaryCSV text: String, metric: String) throws {
        let lines = text.split(separator: "\n")
        guard let header = lines.first.map({ $0.split(separator: ",", omittingEmptySubsequences: false).map(String.init) }),
              let g = header.firstIndex(of: "generation") else {
            printError("summary.csv has no header")
            throw ExitCode(ExitCodes.runFailure)
        }
        sweptKeys = Array(header[1..<g])
        var byVariant: [Int: (label: [String], rows: [Row])] = [:]
        var metrics = Set<String>()
        for line in lines.dropFirst() {
            let f = line.split(separator: ",", omittingEmptySubsequences: false).map(String.init)
            guard f.count == header.count, let v = Int(f[0]), let gen = Int(f[g]) else { continue }
            metrics.insert(f[g + 1])
            guard f[g + 1] == metric else { continue }
            let row = Row(generation: gen, n: Int(f[g + 2]) ?? 0, mean: Double(f[g + 3]) ?? .nan,
                          low: Double(f[g + 5]) ?? .nan, high: Double(f[g + 6]) ?? .nan)
            byVariant[v, default: (Array(f[1..<g]), [])].rows.append(row)
        }
        guard !byVariant.isEmpty else {
            printError("metric \(metric) is not in this run; it has: \(metrics.sorted().joined(separator: ", "))")
            throw ExitCode(ExitCodes.invalidConfig)
        }
        variants = byVariant.keys.sorted().map { byVariant[$0]! }
    }

    func render(generation: Int?, below: Double?, above: Double?) -> String {
        var header = ["variant"] + sweptKeys + ["generation", "n", "mean", "95% CI"]
        if let below { header.append("generations to < \(CSVNumber.format(below)) x gen 0") }
        if let above { header.append("generations to > \(CSVNumber.format(above)) x gen 0") }
        var rows: [[String]] = []
        for (i, v) in variants.enumerated() {
            let target = generation ?? (v.rows.map(\.generation).max() ?? 0)
            guard let r = v.rows.first(where: { $0.generation == target }) else {
                rows.append([String(i)] + v.label + [String(target), "-", "not recorded", ""])
                continue
            }
            var cells = [String(i)] + v.label + [String(r.generation), String(r.n), format(r.mean), "[\(format(r.low)), \(format(r.high))]"]
            if below != nil || above != nil {
                let start = v.rows.first { $0.generation == 0 }?.mean ?? .nan
                let crossed = v.rows.sorted { $0.generation < $1.generation }.first { row in
                    if let below { return row.mean < below * start }
                    if let above { return row.mean > above * start }
                    return false
                }
                cells.append(crossed.map { String($0.generation) } ?? "not within the run")
            }
            rows.append(cells)
        }
        let widths = header.indices.map { c in ([header[c]] + rows.map { c < $0.count ? $0[c] : "" }).map(\.count).max() ?? 0 }
        func line(_ cells: [String]) -> String {
            cells.enumerated().map { $1.padding(toLength: widths[$0], withPad: " ", startingAt: 0) }.joined(separator: "  ")
        }
        return ([line(header)] + rows.map(line)).joined(separator: "\n")
    }

    func format(_ x: Double) -> String {
        x.isFinite ? String(format: "%.6g", x) : CSVNumber.format(x)
    }
}

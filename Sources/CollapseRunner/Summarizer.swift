import CollapseCore
import CollapseMetrics
import Foundation

/// Builds summary.csv from metrics.csv: per (variant, generation, metric), over replicates,
/// n, mean, std, the 95 % confidence interval of the mean, median, 5 % and 95 % quantiles, and
/// the theory value where a closed form exists.
///
/// Definitions (docs/CSV.md): NaN values (undefined metrics) are left out and `n` counts the
/// rest; `std` has divisor n - 1; the interval is mean ± t(0.975, n - 1) std / sqrt(n) with the
/// exact Student quantile; quantiles use numpy's default "linear" rule. With fewer than two
/// values std and the interval are `nan`; with an infinite value the mean is ±inf (or nan when
/// both signs occur) and std and the interval are `nan`.
///
/// Memory is bounded: values are gathered for a batch of groups at a time (at most
/// `valuesPerPass` doubles), with one pass over metrics.csv per batch.
public struct Summarizer {
    public let experiment: Experiment
    public let registry: MetricRegistry
    public var valuesPerPass = 8_000_000

    public init(experiment: Experiment, registry: MetricRegistry) {
        self.experiment = experiment
        self.registry = registry
    }

    public static let columns = ["n", "mean", "std", "ci_low", "ci_high", "median", "q05", "q95", "theory"]

    struct GroupKey: Hashable {
        let variant: Int
        let generation: Int
        /// Index into the variant's metric names (`config.metrics + ["degenerate"]`).
        let metricIndex: Int
    }

    /// The metric names of each variant, in row order.
    var metricNames: [[String]] { experiment.variants.map { $0.config.metrics + ["degenerate"] } }

    /// Computes the theory of every (variant in `variants`, recorded generation, metric) once, so
    /// that the caches behind it (the Wright–Fisher series) are filled before the summary asks;
    /// the values are pure functions of the config, so when they are computed changes nothing.
    /// Returns early, between generations, once `stop()` is true.
    func warmTheory(variants: Set<Int>, stop: () -> Bool) {
        let renderer = Renderer(self)
        for (v, variant) in experiment.variants.enumerated() where variants.contains(v) {
            let config = variant.config
            for g in 0...max(config.generations, 0) where config.records(generation: g) {
                if stop() { return }
                for k in renderer.names[v].indices {
                    _ = renderer.theory(GroupKey(variant: v, generation: g, metricIndex: k))
                }
            }
        }
    }

    public func write(metrics: URL, to summary: URL) throws(RunError) {
        let files = OutputFiles(directory: summary.deletingLastPathComponent())
        // Pass 1: the groups and their sizes.
        var counts: [GroupKey: Int] = [:]
        try forEachRow(metrics) { key, _ in counts[key, default: 0] += 1 }
        let groups = counts.keys.sorted { a, b in
            (a.variant, a.generation, a.metricIndex) < (b.variant, b.generation, b.metricIndex)
        }
        var text = header
        let renderer = Renderer(self)
        var start = 0
        while start < groups.count {
            var end = start, budget = 0
            while end < groups.count && (end == start || budget + counts[groups[end]]! <= valuesPerPass) {
                budget += counts[groups[end]]!
                end += 1
            }
            let batch = Dictionary(uniqueKeysWithValues: groups[start..<end].enumerated().map { ($1, $0) })
            var values = [[Double]](repeating: [], count: end - start)
            try forEachRow(metrics) { key, value in
                if let i = batch[key] { values[i].append(value) }
            }
            for (i, key) in groups[start..<end].enumerated() { text += renderer.line(key, values[i]) }
            start = end
        }
        try files.writeAtomically(Data(text.utf8), to: summary)
    }

    /// Writes summary.csv from values gathered in memory while the run wrote metrics.csv: the
    /// same bytes as `write(metrics:to:)` on that file (same groups, same values in the same
    /// order; CSV numbers read back exactly), without reading it again.
    func write(collected: SummaryCollector, to summary: URL) throws(RunError) {
        let files = OutputFiles(directory: summary.deletingLastPathComponent())
        var text = header
        let renderer = Renderer(self)
        var groups: [(GroupKey, [Double])] = []
        collected.forEachGroup { key, values in groups.append((key, values)) }
        // Lines are independent: render them on every core, then join in group order.
        let chunks = min(16, max(1, groups.count / 64))
        nonisolated(unsafe) let lines = UnsafeMutableBufferPointer<String>.allocate(capacity: chunks)
        lines.initialize(repeating: "")
        defer { lines.deinitialize(); lines.deallocate() }
        let all = groups
        // Theory first, in group order: some closed forms (Wright-Fisher) are computed once per
        // series and parallelise internally; rendering the lines then needs no locks.
        let theories = all.map { renderer.theory($0.0) }
        nonisolated(unsafe) let render = renderer // read-only while rendering
        ParallelWork.forEach(chunks) { c in
            var part = ""
            for i in (all.count * c / chunks)..<(all.count * (c + 1) / chunks) {
                part += render.line(all[i].0, all[i].1, theory: theories[i])
            }
            lines[c] = part // each chunk writes only its own slot
        }
        for part in lines { text += part }
        try files.writeAtomically(Data(text.utf8), to: summary)
    }

    var header: String {
        (["variant"] + experiment.sweptKeys + ["generation", "metric"] + Self.columns).joined(separator: ",") + "\n"
    }

    /// Formats one summary line per group.
    struct Renderer {
        let summarizer: Summarizer
        let names: [[String]]
        let facts: [ExperimentFacts]
        let prefixes: [String]

        init(_ summarizer: Summarizer) {
            self.summarizer = summarizer
            names = summarizer.metricNames
            facts = summarizer.experiment.variants.map { v in
                ChainFactory.facts(for: v.config, truth: try? summarizer.truth(for: v.config))
            }
            prefixes = summarizer.experiment.variants.map { v in
                ([String(v.index)] + v.parameters.map { csvField($0.value.description) }).joined(separator: ",") + ","
            }
        }

        /// The closed-form value of the group's metric, where one exists.
        func theory(_ key: GroupKey) -> Double? {
            summarizer.registry.metric(named: names[key.variant][key.metricIndex])?.theory(facts[key.variant], generation: key.generation)
        }

        func line(_ key: GroupKey, _ values: [Double]) -> String {
            line(key, values, theory: theory(key))
        }

        func line(_ key: GroupKey, _ values: [Double], theory: Double?) -> String {
            let stats = Summarizer.statistics(values)
            let metric = names[key.variant][key.metricIndex]
            var fields = [String(key.generation), metric, String(stats.n)]
            fields += [stats.mean, stats.std, stats.ciLow, stats.ciHigh, stats.median, stats.q05, stats.q95].map(CSVNumber.format)
            fields.append(theory.map(CSVNumber.format) ?? "")
            return prefixes[key.variant] + fields.joined(separator: ",") + "\n"
        }
    }

    func truth(for config: ExperimentConfig) throws -> RealTruth? {
        switch config.model.family {
        case .gaussian, .mvn, .gmm, .kde: return try ContinuousWorld(config.real.source).truth
        default: return nil
        }
    }

    public struct Statistics: Equatable {
        public var n: Int
        public var mean, std, ciLow, ciHigh, median, q05, q95: Double
    }

    /// The summary statistics of one group's values (definitions in the type's documentation).
    public static func statistics(_ raw: [Double]) -> Statistics {
        let xs = raw.filter { !$0.isNaN }
        let n = xs.count
        guard n > 0 else { return Statistics(n: 0, mean: .nan, std: .nan, ciLow: .nan, ciHigh: .nan, median: .nan, q05: .nan, q95: .nan) }
        let q = Descriptive.quantiles(of: xs, [0.5, 0.05, 0.95])
        let mean: Double
        var std = Double.nan, low = Double.nan, high = Double.nan
        if xs.contains(where: { $0.isInfinite }) {
            let pos = xs.contains(.infinity), neg = xs.contains(-.infinity)
            mean = pos && neg ? .nan : (pos ? .infinity : -.infinity)
        } else {
            mean = Descriptive.mean(xs)
            if n >= 2 {
                std = Descriptive.standardDeviation(xs, ddof: 1)
                let half = StudentQuantile.twoSided95(degreesOfFreedom: n - 1) * std / Double(n).squareRoot()
                low = mean - half
                high = mean + half
            }
        }
        return Statistics(n: n, mean: mean, std: std, ciLow: low, ciHigh: high, median: q[0], q05: q[1], q95: q[2])
    }

    /// Calls `body(key, value)` for every data row of metrics.csv.
    ///
    /// Parses bytes directly: the variant is the first field; generation, metric and value are
    /// the last three (swept values in between may be quoted and hold commas; these cannot).
    func forEachRow(_ url: URL, _ body: (GroupKey, Double) -> Void) throws(RunError) {
        let reader: LineReader
        do { reader = try LineReader(url: url) } catch { throw RunError.io("cannot read \(url.path): \(error)") }
        let names = metricNames.map { $0.map { Array($0.utf8) } }
        var lineNumber = 0
        var failure: RunError?
        reader.forEachLine { line in
            lineNumber += 1
            if lineNumber == 1 || line.isEmpty { return true }
            func malformed(_ why: String) -> Bool {
                failure = RunError.io("\(url.path):\(lineNumber): \(why): \(String(decoding: line, as: UTF8.self))")
                return false
            }
            guard let firstComma = line.firstIndex(of: UInt8(ascii: ",")) else { return malformed("malformed metrics row") }
            var commas: [Int] = []
            var i = line.endIndex - 1
            while i > firstComma && commas.count < 3 {
                if line[i] == UInt8(ascii: ",") { commas.append(i) }
                i -= 1
            }
            if i == firstComma && commas.count < 3 && line[i] == UInt8(ascii: ",") { commas.append(i) }
            guard commas.count == 3, let variant = parseInt(line[line.startIndex..<firstComma]),
                  let generation = parseInt(line[(commas[2] + 1)..<commas[1]]),
                  let value = parseNumber(line[(commas[0] + 1)...]) else { return malformed("malformed metrics row") }
            guard variant >= 0 && variant < names.count else {
                return malformed("variant \(variant) is not in this experiment (it has \(names.count))")
            }
            let metric = line[(commas[1] + 1)..<commas[0]]
            guard let index = names[variant].firstIndex(where: { $0.elementsEqual(metric) }) else {
                return malformed("metric not measured by variant \(variant)")
            }
            body(GroupKey(variant: variant, generation: generation, metricIndex: index), value)
            return true
        }
        if let failure { throw failure }
        if let error = reader.error { throw RunError.io("cannot read \(url.path): \(error)") }
    }
}

/// The metric values of a fresh run, gathered as the engine writes its rows (in chain order,
/// the order of metrics.csv), so that the summary needs no second reading of the file.
/// Gathering stops (and `isComplete` turns false) beyond `limit` values; the engine then
/// summarises from the file, whose reading is bounded in memory.
final class SummaryCollector {
    private let offsets: [Int]
    private let widths: [Int]
    private var values: [[Double]]
    private var count = 0
    private let limit: Int
    private(set) var isComplete = true

    init(experiment: Experiment, limit: Int) {
        var offsets: [Int] = [], widths: [Int] = [], total = 0
        for v in experiment.variants {
            offsets.append(total)
            widths.append(v.config.metrics.count + 1)
            total += (v.config.generations + 1) * (v.config.metrics.count + 1)
        }
        self.offsets = offsets
        self.widths = widths
        self.limit = limit
        values = [[Double]](repeating: [], count: total)
    }

    func add(variant: Int, rows: [ChainRow]) {
        guard isComplete else { return }
        count += rows.count
        if count > limit {
            isComplete = false
            values = []
            return
        }
        let base = offsets[variant], width = widths[variant]
        for row in rows { values[base + row.generation * width + row.metric].append(row.value) }
    }

    /// Calls `body` for each non-empty group in (variant, generation, metric) order.
    func forEachGroup(_ body: (Summarizer.GroupKey, [Double]) -> Void) {
        precondition(isComplete, "the collector gave up after \(limit) values; summarise from metrics.csv")
        for (variant, base) in offsets.enumerated() {
            let width = widths[variant]
            let end = variant + 1 < offsets.count ? offsets[variant + 1] : values.count
            for i in base..<end where !values[i].isEmpty {
                let k = i - base
                body(Summarizer.GroupKey(variant: variant, generation: k / width, metricIndex: k % width), values[i])
            }
        }
    }
}

/// A non-negative decimal integer from ASCII bytes.
func parseInt(_ bytes: ArraySlice<UInt8>) -> Int? {
    guard !bytes.isEmpty, bytes.count < 19 else { return nil }
    var v = 0
    for b in bytes {
        guard b >= 48 && b <= 57 else { return nil }
        v = v * 10 + Int(b - 48)
    }
    return v
}

/// A number as `CSVNumber.format` writes it (decimal, `inf`, `-inf`, `nan`), from ASCII bytes.
func parseNumber(_ bytes: ArraySlice<UInt8>) -> Double? {
    guard !bytes.isEmpty, bytes.count < 64 else { return nil }
    return withUnsafeTemporaryAllocation(of: CChar.self, capacity: bytes.count + 1) { buffer -> Double? in
        var n = 0
        for b in bytes {
            buffer[n] = CChar(bitPattern: b)
            n += 1
        }
        buffer[n] = 0
        let text = UnsafePointer(buffer.baseAddress!)
        if strcmp(text, "nan") == 0 { return .nan }
        if strcmp(text, "inf") == 0 { return .infinity }
        if strcmp(text, "-inf") == 0 { return -.infinity }
        var end: UnsafeMutablePointer<CChar>?
        let v = strtod(text, &end)
        guard let end, end == buffer.baseAddress! + n, v.isFinite else { return nil }
        return v
    }
}

/// Splits one CSV line into fields, honouring double-quoted fields with doubled quotes.
func splitCSV(_ line: Substring) -> [String] {
    var fields: [String] = []
    var current = ""
    var quoted = false
    var i = line.startIndex
    while i < line.endIndex {
        let c = line[i]
        if quoted {
            if c == "\"" {
                let next = line.index(after: i)
                if next < line.endIndex && line[next] == "\"" { current.append("\""); i = next } else { quoted = false }
            } else { current.append(c) }
        } else if c == "\"" {
            quoted = true
        } else if c == "," {
            fields.append(current)
            current = ""
        } else {
            current.append(c)
        }
        i = line.index(after: i)
    }
    fields.append(current)
    return fields
}

/// Reads a file line by line in 1 MiB chunks (memory bounded by the chunk and the longest line),
/// handing each line's bytes (without the line break; a trailing CR is dropped) to a closure.
final class LineReader {
    let handle: FileHandle
    var error: (any Error)?

    init(url: URL) throws {
        handle = try FileHandle(forReadingFrom: url)
    }

    deinit { try? handle.close() }

    /// Calls `body` per line until it returns false or the file ends.
    func forEachLine(_ body: (ArraySlice<UInt8>) -> Bool) {
        var buffer: [UInt8] = []
        var start = 0
        while true {
            let chunk: Data
            do { chunk = try handle.read(upToCount: 1 << 20) ?? Data() } catch {
                self.error = error
                return
            }
            let atEnd = chunk.isEmpty
            if start > 0 {
                buffer.removeSubrange(0..<start)
                start = 0
            }
            buffer.append(contentsOf: chunk)
            var i = start
            let n = buffer.count
            while i < n {
                if buffer[i] == UInt8(ascii: "\n") {
                    var end = i
                    if end > start && buffer[end - 1] == UInt8(ascii: "\r") { end -= 1 }
                    if !body(buffer[start..<end]) { return }
                    start = i + 1
                }
                i += 1
            }
            if atEnd {
                if start < n {
                    var end = n
                    if buffer[end - 1] == UInt8(ascii: "\r") { end -= 1 }
                    _ = body(buffer[start..<end])
                }
                return
            }
        }
    }
}

/// Two-sided 95 % quantiles of Student's t distribution with integer degrees of freedom.
public enum StudentQuantile {
    nonisolated(unsafe) private static var cache: [Int: Double] = [:]
    private static let lock = NSLock()

    /// t such that P(|T_nu| <= t) = 0.95, exact to double precision: bisection on the closed-form
    /// CDF of integer nu (Abramowitz & Stegun 26.7.3–4). nu > 10^6 uses the normal limit
    /// corrected to O(1/nu²) (Cornish–Fisher), below 1e-12 relative there.
    public static func twoSided95(degreesOfFreedom nu: Int) -> Double {
        precondition(nu >= 1, "Student t needs at least 1 degree of freedom, got \(nu)")
        lock.lock()
        if let t = cache[nu] { lock.unlock(); return t }
        lock.unlock()
        let t: Double
        if nu > 1_000_000 {
            let z = 1.959963984540054, n = Double(nu)
            let g1 = (z * z * z + z) / 4
            let g2 = (5 * pow(z, 5) + 16 * z * z * z + 3 * z) / 96
            t = z + g1 / n + g2 / (n * n)
        } else {
            var lo = 0.0, hi = 20.0
            while centralMass(hi, nu) < 0.95 { hi *= 2 }
            while true {
                let mid = 0.5 * (lo + hi)
                if mid <= lo || mid >= hi { break }
                if centralMass(mid, nu) < 0.95 { lo = mid } else { hi = mid }
            }
            t = 0.5 * (lo + hi)
        }
        lock.lock()
        cache[nu] = t
        lock.unlock()
        return t
    }

    /// P(|T_nu| <= t) for integer nu, A&S 26.7.3 (odd) and 26.7.4 (even).
    static func centralMass(_ t: Double, _ nu: Int) -> Double {
        let theta = atan(t / Double(nu).squareRoot())
        let c2 = cos(theta) * cos(theta), s = sin(theta)
        if nu % 2 == 0 {
            var term = 1.0, sum = 1.0
            var k = 2
            while k <= nu - 2 {
                term *= c2 * Double(k - 1) / Double(k)
                sum += term
                k += 2
            }
            return s * sum
        } else {
            if nu == 1 { return 2 * theta / Double.pi }
            var term = cos(theta), sum = cos(theta)
            var k = 3
            while k <= nu - 2 {
                term *= c2 * Double(k - 1) / Double(k)
                sum += term
                k += 2
            }
            return 2 / Double.pi * (theta + s * sum)
        }
    }
}

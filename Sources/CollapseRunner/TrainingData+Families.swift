import CollapseCore
import CollapseModels

// Training-set operations for the non-matrix data types. Rows are: tokens in symbol order
// (categorical), (x, y) pairs (regression), (features, label) pairs (class-conditional).

extension TokenCounts: TrainingData {
    public var rowCount: Int { total }

    public func subsample<R: RandomStream>(_ k: Int, using rng: inout R) -> TokenCounts {
        // k distinct token positions, mapped back to symbols through the cumulative counts.
        selecting(rowsAt: sampleIndices(k, of: total, using: &rng))
    }

    public static func concatenate(_ parts: [TokenCounts]) -> TokenCounts {
        precondition(!parts.isEmpty, "concatenate needs at least one part")
        var out = parts[0].counts
        for p in parts.dropFirst() {
            precondition(p.counts.count == out.count, "concatenate: vocabularies of \(out.count) and \(p.counts.count) symbols")
            for v in out.indices { out[v] += p.counts[v] }
        }
        return TokenCounts(counts: out)
    }

    public func prefix(_ k: Int) -> TokenCounts { rows(from: 0, count: k) }

    public func rows(from start: Int, count k: Int) -> TokenCounts {
        precondition(start >= 0 && k >= 0 && start + k <= total, "rows(from: \(start), count: \(k)) out of \(total) tokens")
        var out = [Int](repeating: 0, count: counts.count)
        var position = 0
        for v in counts.indices {
            let lo = max(position, start), hi = min(position + counts[v], start + k)
            if hi > lo { out[v] = hi - lo }
            position += counts[v]
            if position >= start + k { break }
        }
        return TokenCounts(counts: out)
    }

    public func selecting(rowsAt indices: [Int]) -> TokenCounts {
        var starts = [Int](repeating: 0, count: counts.count + 1)
        for v in counts.indices { starts[v + 1] = starts[v] + counts[v] }
        var out = [Int](repeating: 0, count: counts.count)
        for position in indices {
            var lo = 0, hi = counts.count
            while hi - lo > 1 {
                let mid = (lo + hi) / 2
                if starts[mid] <= position { lo = mid } else { hi = mid }
            }
            out[lo] += 1
        }
        return TokenCounts(counts: out)
    }

    public var csvColumns: [String] { ["symbol"] }

    public func csvLines() -> [String] {
        var lines: [String] = []
        lines.reserveCapacity(total)
        for (v, c) in counts.enumerated() where c > 0 { lines += repeatElement(String(v), count: c) }
        return lines
    }
}

extension RegressionData: TrainingData {
    public var rowCount: Int { count }

    public func subsample<R: RandomStream>(_ k: Int, using rng: inout R) -> RegressionData {
        let idx = sampleIndices(k, of: count, using: &rng)
        return RegressionData(design: design.selectingRows(idx), targets: idx.map { targets[$0] })
    }

    public static func concatenate(_ parts: [RegressionData]) -> RegressionData {
        precondition(!parts.isEmpty, "concatenate needs at least one part")
        if parts.count == 1 { return parts[0] }
        return RegressionData(design: Matrix.concatenate(parts.map(\.design)), targets: parts.flatMap(\.targets))
    }

    public func prefix(_ k: Int) -> RegressionData { rows(from: 0, count: k) }

    public func rows(from start: Int, count k: Int) -> RegressionData {
        RegressionData(design: design.rows(from: start, count: k), targets: Array(targets[start..<(start + k)]))
    }

    public func selecting(rowsAt indices: [Int]) -> RegressionData {
        RegressionData(design: design.selectingRows(indices), targets: indices.map { targets[$0] })
    }

    public var csvColumns: [String] { design.csvColumns + ["y"] }

    public func csvLines() -> [String] {
        zip(design.csvLines(), targets).map { $0 + "," + CSVNumber.format($1) }
    }
}

extension LabelledData: TrainingData {
    public var rowCount: Int { count }

    public func subsample<R: RandomStream>(_ k: Int, using rng: inout R) -> LabelledData {
        let idx = sampleIndices(k, of: count, using: &rng)
        return LabelledData(features: features.selectingRows(idx), labels: idx.map { labels[$0] })
    }

    public static func concatenate(_ parts: [LabelledData]) -> LabelledData {
        precondition(!parts.isEmpty, "concatenate needs at least one part")
        if parts.count == 1 { return parts[0] }
        return LabelledData(features: Matrix.concatenate(parts.map(\.features)), labels: parts.flatMap(\.labels))
    }

    public func prefix(_ k: Int) -> LabelledData { rows(from: 0, count: k) }

    public func rows(from start: Int, count k: Int) -> LabelledData {
        LabelledData(features: features.rows(from: start, count: k), labels: Array(labels[start..<(start + k)]))
    }

    public func selecting(rowsAt indices: [Int]) -> LabelledData {
        LabelledData(features: features.selectingRows(indices), labels: indices.map { labels[$0] })
    }

    public var csvColumns: [String] { features.csvColumns + ["label"] }

    public func csvLines() -> [String] {
        zip(features.csvLines(), labels).map { $0 + "," + String($1) }
    }
}

import CollapseCore

/// Data a chain can compose into training sets: count rows, subsample rows without replacement,
/// and concatenate parts. Rows are exchangeable observations (for categorical data: tokens).
public protocol TrainingData: Sendable {
    var rowCount: Int { get }
    /// `k` rows drawn uniformly without replacement, in the order drawn.
    func subsample<R: RandomStream>(_ k: Int, using rng: inout R) -> Self
    /// The rows of `parts`, in order. - Precondition: at least one part.
    static func concatenate(_ parts: [Self]) -> Self
    /// The first `k` rows.
    func prefix(_ k: Int) -> Self
    /// Rows `from ..< from + k`.
    func rows(from start: Int, count k: Int) -> Self
    /// The rows at `indices`, in that order (no repeats needed, any order).
    func selecting(rowsAt indices: [Int]) -> Self
    /// Column names of the exported CSV (before the `origin` column).
    var csvColumns: [String] { get }
    /// The rows as CSV lines (without the `origin` column, no line breaks).
    func csvLines() -> [String]
}

/// `k` distinct indices of `0 ..< n`, uniformly, by a partial Fisher–Yates shuffle.
/// - Complexity: O(n) memory for the index table, O(k) swaps.
func sampleIndices<R: RandomStream>(_ k: Int, of n: Int, using rng: inout R) -> [Int] {
    precondition(k >= 0 && k <= n, "cannot draw \(k) of \(n) rows without replacement")
    var table = Array(0..<n)
    for i in 0..<k {
        let j = i + rng.nextInt(below: n - i)
        table.swapAt(i, j)
    }
    return Array(table[0..<k])
}

/// A uniformly random permutation of `0 ..< n` (Fisher–Yates).
func permutation<R: RandomStream>(_ n: Int, using rng: inout R) -> [Int] {
    sampleIndices(n, of: n, using: &rng)
}

extension Matrix: TrainingData {
    public var rowCount: Int { rows }

    public func subsample<R: RandomStream>(_ k: Int, using rng: inout R) -> Matrix {
        selectingRows(sampleIndices(k, of: rows, using: &rng))
    }

    public static func concatenate(_ parts: [Matrix]) -> Matrix {
        precondition(!parts.isEmpty, "concatenate needs at least one part")
        if parts.count == 1 { return parts[0] }
        let d = parts[0].columns
        let total = parts.reduce(0) { $0 + $1.rows }
        return Matrix(rows: total, columns: d) { out in
            var offset = 0
            for p in parts {
                precondition(p.columns == d, "concatenate: parts have \(d) and \(p.columns) columns")
                p.storage.withUnsafeBufferPointer { src in
                    if let base = src.baseAddress { (out.baseAddress! + offset).update(from: base, count: src.count) }
                }
                offset += p.storage.count
            }
        }
    }

    public func prefix(_ k: Int) -> Matrix { rows(from: 0, count: k) }

    public func selecting(rowsAt indices: [Int]) -> Matrix { selectingRows(indices) }

    public var csvColumns: [String] { columns == 1 ? ["x"] : (1...columns).map { "x\($0)" } }

    public func csvLines() -> [String] {
        (0..<rows).map { i in (0..<columns).map { CSVNumber.format(storage[i * columns + $0]) }.joined(separator: ",") }
    }

    public func rows(from start: Int, count k: Int) -> Matrix {
        precondition(start >= 0 && k >= 0 && start + k <= rows, "rows(from: \(start), count: \(k)) out of \(rows)")
        if start == 0 && k == rows { return self } // shares the storage (copy on write)
        return Matrix(rows: k, columns: columns, storage: Array(storage[(start * columns)..<((start + k) * columns)]))
    }
}

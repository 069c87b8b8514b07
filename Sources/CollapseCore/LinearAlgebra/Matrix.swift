/// A dense matrix of `Double`, stored row-major in one contiguous array.
///
/// Element (i, j) lives at `storage[i * columns + j]`. The struct has value semantics with
/// copy-on-write through its array, so passing a matrix around is cheap and mutation never
/// aliases. A data set of n rows with d features is an n × d matrix: one observation per row.
///
/// Shape mismatches are programmer errors and stop with a `precondition` that prints both shapes.
/// BLAS- and LAPACK-backed operations live in `Matrix+BLAS.swift`, `Cholesky.swift`,
/// `SymmetricEigen.swift` and `LeastSquares.swift`.
public struct Matrix: Sendable, Equatable, Hashable {
    public let rows: Int
    public let columns: Int
    @usableFromInline var elements: [Double]

    /// Row-major elements; `storage.count == rows * columns` always holds.
    ///
    /// Mutating it in place (`m.storage[k] = x`, `m.storage.withUnsafeMutableBufferPointer`) works
    /// on the matrix's own buffer without a copy; changing its length stops with a precondition.
    public var storage: [Double] {
        get { elements }
        _modify {
            yield &elements
            precondition(elements.count == rows * columns,
                         "Matrix storage must keep \(rows) x \(columns) = \(rows * columns) elements, got \(elements.count)")
        }
        set {
            precondition(newValue.count == rows * columns,
                         "Matrix storage must keep \(rows) x \(columns) = \(rows * columns) elements, got \(newValue.count)")
            elements = newValue
        }
    }

    /// A `rows` × `columns` matrix with every element equal to `value`.
    public init(rows: Int, columns: Int, repeating value: Double = 0) {
        precondition(rows >= 0 && columns >= 0, "Matrix shape must be non-negative, got \(rows) x \(columns)")
        self.rows = rows
        self.columns = columns
        self.elements = [Double](repeating: value, count: rows * columns)
    }

    /// A matrix over existing row-major storage.
    ///
    /// - Precondition: `storage.count == rows * columns`.
    public init(rows: Int, columns: Int, storage: [Double]) {
        precondition(rows >= 0 && columns >= 0, "Matrix shape must be non-negative, got \(rows) x \(columns)")
        precondition(storage.count == rows * columns,
                     "Matrix \(rows) x \(columns) needs \(rows * columns) elements, got \(storage.count)")
        self.rows = rows
        self.columns = columns
        self.elements = storage
    }

    /// A `rows` × `columns` matrix whose elements `body` writes, without zero-filling first.
    ///
    /// `body` must initialise every element of the buffer it is given (row-major).
    @inlinable
    public init(rows: Int, columns: Int, initializingWith body: (UnsafeMutableBufferPointer<Double>) throws -> Void) rethrows {
        precondition(rows >= 0 && columns >= 0, "Matrix shape must be non-negative, got \(rows) x \(columns)")
        self.rows = rows
        self.columns = columns
        self.elements = try [Double](unsafeUninitializedCapacity: rows * columns) { buffer, initialized in
            try body(buffer)
            initialized = rows * columns
        }
    }

    /// A matrix from an array of equally long rows. `[]` gives the 0 × 0 matrix.
    public init(_ rowArrays: [[Double]]) {
        let columns = rowArrays.first?.count ?? 0
        for (i, row) in rowArrays.enumerated() {
            precondition(row.count == columns, "Matrix rows must have equal length: row 0 has \(columns), row \(i) has \(row.count)")
        }
        self.init(rows: rowArrays.count, columns: columns, storage: rowArrays.flatMap { $0 })
    }

    /// A single-column matrix (n × 1) holding `values`.
    public init(column values: [Double]) {
        self.init(rows: values.count, columns: 1, storage: values)
    }

    /// The n × n identity matrix.
    public static func identity(_ n: Int) -> Matrix {
        diagonal([Double](repeating: 1, count: n))
    }

    /// The square matrix with `values` on its diagonal and zeros elsewhere.
    public static func diagonal(_ values: [Double]) -> Matrix {
        var m = Matrix(rows: values.count, columns: values.count)
        for (i, v) in values.enumerated() { m.storage[i * values.count + i] = v }
        return m
    }

    public var isSquare: Bool { rows == columns }
    public var isEmpty: Bool { rows == 0 || columns == 0 }
    public var shapeDescription: String { "\(rows) x \(columns)" }

    /// Element (i, j). Bounds are checked.
    @inlinable
    public subscript(row: Int, column: Int) -> Double {
        get {
            precondition(row >= 0 && row < rows && column >= 0 && column < columns,
                         "Matrix index (\(row), \(column)) out of bounds for \(rows) x \(columns)")
            return storage[row * columns + column]
        }
        set {
            precondition(row >= 0 && row < rows && column >= 0 && column < columns,
                         "Matrix index (\(row), \(column)) out of bounds for \(rows) x \(columns)")
            storage[row * columns + column] = newValue
        }
    }

    /// Row `i` as a new array.
    public func row(_ i: Int) -> [Double] {
        precondition(i >= 0 && i < rows, "Row \(i) out of bounds for \(rows) x \(columns)")
        return Array(storage[(i * columns)..<((i + 1) * columns)])
    }

    /// Column `j` as a new array.
    public func column(_ j: Int) -> [Double] {
        precondition(j >= 0 && j < columns, "Column \(j) out of bounds for \(rows) x \(columns)")
        return (0..<rows).map { storage[$0 * columns + j] }
    }

    /// The rows whose indices are given, in that order (indices may repeat).
    public func selectingRows<S: Sequence<Int>>(_ indices: S) -> Matrix {
        var out: [Double] = []
        out.reserveCapacity(indices.underestimatedCount * columns)
        var count = 0
        storage.withUnsafeBufferPointer { src in
            for i in indices {
                precondition(i >= 0 && i < rows, "Row \(i) out of bounds for \(rows) x \(columns)")
                out.append(contentsOf: src[(i * columns)..<((i + 1) * columns)])
                count += 1
            }
        }
        return Matrix(rows: count, columns: columns, storage: out)
    }

    /// This matrix with `other`'s rows appended below.
    ///
    /// - Precondition: equal column counts (an empty 0 × 0 matrix adopts the other's width).
    public func appendingRows(_ other: Matrix) -> Matrix {
        if rows == 0 && columns == 0 { return other }
        if other.rows == 0 && other.columns == 0 { return self }
        precondition(columns == other.columns, "appendingRows needs equal column counts: \(shapeDescription) and \(other.shapeDescription)")
        return Matrix(rows: rows + other.rows, columns: columns, storage: storage + other.storage)
    }

    /// The transpose, by a cache-blocked copy.
    public func transposed() -> Matrix {
        var out = Matrix(rows: columns, columns: rows)
        let block = 32
        storage.withUnsafeBufferPointer { src in
            out.storage.withUnsafeMutableBufferPointer { dst in
                var i0 = 0
                while i0 < rows {
                    var j0 = 0
                    while j0 < columns {
                        for i in i0..<min(i0 + block, rows) {
                            for j in j0..<min(j0 + block, columns) {
                                dst[j * rows + i] = src[i * columns + j]
                            }
                        }
                        j0 += block
                    }
                    i0 += block
                }
            }
        }
        return out
    }

    /// The rows as nested arrays (for printing and tests).
    public var rowArrays: [[Double]] { (0..<rows).map(row) }

    /// Whether every element is finite (no NaN, no ±inf).
    public var isFinite: Bool { storage.allSatisfy { $0.isFinite } }

    /// The trace, sum of the diagonal. - Precondition: square.
    public var trace: Double {
        precondition(isSquare, "trace needs a square matrix, got \(shapeDescription)")
        var s = 0.0
        for i in 0..<rows { s += storage[i * columns + i] }
        return s
    }

    /// Approximate equality, element-wise: `|a - b| <= absoluteTolerance + relativeTolerance * max(|a|, |b|)`.
    ///
    /// Shapes must match exactly. `==` compares bit patterns of the values; use this for numerics.
    public func isApproximatelyEqual(to other: Matrix, relativeTolerance: Double = 1e-12,
                                     absoluteTolerance: Double = 0) -> Bool {
        guard rows == other.rows && columns == other.columns else { return false }
        for (a, b) in zip(storage, other.storage) {
            if !(abs(a - b) <= absoluteTolerance + relativeTolerance * max(abs(a), abs(b))) { return false }
        }
        return true
    }

    /// The largest absolute element difference; +inf when shapes differ.
    public func maxAbsoluteDifference(to other: Matrix) -> Double {
        guard rows == other.rows && columns == other.columns else { return .infinity }
        return zip(storage, other.storage).reduce(0.0) { max($0, abs($1.0 - $1.1)) }
    }
}

extension Matrix: Codable {
    private enum CodingKeys: String, CodingKey { case rows, columns, storage }

    /// Decodes `{"rows": r, "columns": c, "storage": [...]}`, checking that the shape and the
    /// element count agree.
    public init(from decoder: any Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        let rows = try c.decode(Int.self, forKey: .rows)
        let columns = try c.decode(Int.self, forKey: .columns)
        let storage = try c.decode([Double].self, forKey: .storage)
        guard rows >= 0, columns >= 0, storage.count == rows * columns else {
            throw DecodingError.dataCorruptedError(forKey: .storage, in: c,
                debugDescription: "a \(rows) x \(columns) matrix needs \(max(0, rows * columns)) elements, got \(storage.count)")
        }
        self.init(rows: rows, columns: columns, storage: storage)
    }

    public func encode(to encoder: any Encoder) throws {
        var c = encoder.container(keyedBy: CodingKeys.self)
        try c.encode(rows, forKey: .rows)
        try c.encode(columns, forKey: .columns)
        try c.encode(elements, forKey: .storage)
    }
}

extension Matrix: CustomStringConvertible {
    public var description: String {
        "Matrix(\(shapeDescription)) " + rowArrays.map { "[" + $0.map { String($0) }.joined(separator: ", ") + "]" }.joined(separator: " ")
    }
}

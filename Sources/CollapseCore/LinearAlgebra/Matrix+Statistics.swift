import CKernels
import Dispatch

/// Column statistics of a data matrix (one observation per row).
extension Matrix {
    /// The column means `mu_j = (1/n) sum_i x_ij`.
    ///
    /// Summed row by row in a fixed order (vectorised across columns), so the result is
    /// deterministic; the rounding error is at most about `n ε sum_i |x_ij| / n`, and the centred
    /// covariance below corrects for it.
    /// - Returns: d zeros for an empty matrix (n = 0) — callers that need n > 0 check it themselves.
    public func columnMeans() -> [Double] {
        var sums = [Double](repeating: 0, count: columns)
        if rows == 0 { return sums }
        storage.withUnsafeBufferPointer { p in
            sums.withUnsafeMutableBufferPointer { s in
                _ = collapse_column_sums_path(-1, p.baseAddress!, rows, columns, s.baseAddress!)
            }
        }
        let inv = 1.0 / Double(rows)
        for j in 0..<columns { sums[j] *= inv }
        return sums
    }

    /// The sample covariance `S = (1 / (n - ddof)) sum_i (x_i - mu)(x_i - mu)ᵀ` and the mean.
    ///
    /// Numerically careful ("corrected two-pass"): rows are centred on the computed mean, the Gram
    /// matrix of the centred rows is accumulated by BLAS dsyrk, and the rounding residue of the
    /// centring (the column sums of the centred rows, zero in exact arithmetic) is subtracted as
    /// `r rᵀ / (n (n - ddof))`. The one-pass formula `E[xxᵀ] - mu muᵀ` is never used: it cancels
    /// catastrophically when the mean is large against the spread. Rows are centred in blocks that
    /// stay in cache (no centred copy of the whole data set). The result is exactly symmetric.
    /// `ddof = 0` is the maximum-likelihood estimator, `ddof = 1` the unbiased one.
    ///
    /// Large inputs (`n d² >= parallelGramWork`) are split into `parallelGramGroups` contiguous
    /// row ranges whose Gram matrices and residues are accumulated in parallel and then added in
    /// range order: the split depends on n only, so the result does not depend on the core count.
    ///
    /// - Precondition: `rows > ddof` (with the row count and ddof in the message).
    /// - Complexity: n d² flops (dsyrk) plus two passes over the data.
    public func covariance(ddof: Int = 0) -> (mean: [Double], covariance: Matrix) {
        let work = Double(rows) * Double(columns) * Double(columns)
        return covariance(ddof: ddof, groups: work >= Self.parallelGramWork ? Self.parallelGramGroups : 1)
    }

    /// `covariance(ddof:)` with the rows split into `groups` ranges (see there).
    func covariance(ddof: Int, groups requested: Int) -> (mean: [Double], covariance: Matrix) {
        precondition(ddof >= 0, "covariance ddof must be non-negative, got \(ddof)")
        precondition(rows > ddof, "covariance needs more than ddof = \(ddof) rows, got \(rows) x \(columns)")
        let mean = columnMeans()
        let d = columns
        var gram = Matrix(rows: d, columns: d)
        if d == 0 { return (mean, gram) }
        let groups = max(1, min(requested, rows))
        var residue = [Double](repeating: 0, count: d)
        if groups == 1 {
            centredGram(rows: 0..<rows, mean: mean, gram: &gram, residue: &residue)
        } else {
            // Distinct buffers per range (not `repeating:` copies of one, which the parallel
            // writers would each copy on write at the same moment).
            var grams = (0..<groups).map { _ in Matrix(rows: d, columns: d) }
            var residues = (0..<groups).map { _ in [Double](repeating: 0, count: d) }
            grams.withUnsafeMutableBufferPointer { gp in
                residues.withUnsafeMutableBufferPointer { rp in
                    nonisolated(unsafe) let gramParts = gp, residueParts = rp
                    ParallelWork.forEach(groups) { k in
                        centredGram(rows: rows * k / groups ..< rows * (k + 1) / groups, mean: mean,
                                    gram: &gramParts[k], residue: &residueParts[k])
                    }
                }
            }
            gram = grams[0]
            residue = residues[0]
            for k in 1..<groups {
                gram.storage.withUnsafeMutableBufferPointer { g in
                    grams[k].storage.withUnsafeBufferPointer { part in
                        for e in 0..<(d * d) { g[e] += part[e] }
                    }
                }
                for j in 0..<d { residue[j] += residues[k][j] }
            }
        }
        gram.symmetrizeFromLower()
        let n = Double(rows), denominator = n - Double(ddof)
        let correction = 1.0 / (n * denominator)
        gram.storage.withUnsafeMutableBufferPointer { g in
            residue.withUnsafeBufferPointer { r in
                for a in 0..<d {
                    for b in 0..<d { g[a * d + b] = g[a * d + b] / denominator - r[a] * r[b] * correction }
                }
            }
        }
        return (mean, gram)
    }

    /// Work (n d² flops) from which `covariance` accumulates row ranges in parallel.
    static let parallelGramWork = Double(1 << 21)
    /// Row ranges of a parallel covariance (fixed, so results do not depend on the core count).
    static let parallelGramGroups = 4

    /// Adds the lower triangle of `sum_i (x_i - mu)(x_i - mu)ᵀ` over `range` to `gram` and the
    /// centred rows' column sums to `residue`, centring blocks of about 1 MiB at a time.
    private func centredGram(rows range: Range<Int>, mean: [Double], gram: inout Matrix, residue: inout [Double]) {
        let d = columns
        let blockRows = max(1, min(range.count, (1 << 17) / d)) // about 1 MiB of centred rows per block
        // Not zero-filled: each block's rows are written by the centring before dsyrk reads them.
        var block = [Double](unsafeUninitializedCapacity: blockRows * d) { _, initialized in initialized = blockRows * d }
        storage.withUnsafeBufferPointer { src in
            mean.withUnsafeBufferPointer { mu in
                residue.withUnsafeMutableBufferPointer { r in
                    block.withUnsafeMutableBufferPointer { out in
                        gram.storage.withUnsafeMutableBufferPointer { g in
                            var start = range.lowerBound
                            while start < range.upperBound {
                                let count = min(blockRows, range.upperBound - start)
                                _ = collapse_centre_rows_path(-1, src.baseAddress! + start * d, count, d, mu.baseAddress!,
                                                              out.baseAddress!, r.baseAddress!)
                                GramBLAS.accumulate(out.baseAddress!, rows: count, columns: d, into: g.baseAddress!)
                                start += count
                            }
                        }
                    }
                }
            }
        }
    }
}

extension Matrix {
    /// `x_i <- offset + scale * x_i` for every row: adds a row vector (e.g. a mean) after an
    /// optional scaling (e.g. a sampling temperature), in one pass.
    public mutating func addRowVector(_ offset: [Double], scalingRowsBy scale: Double = 1) {
        precondition(offset.count == columns, "addRowVector: vector has \(offset.count) entries, matrix is \(shapeDescription)")
        storage.withUnsafeMutableBufferPointer { Matrix.addRowVector(offset, scalingRowsBy: scale, to: $0) }
    }

    /// `addRowVector` on rows stored in a buffer (row-major, `offset.count` numbers a row).
    /// - Precondition: `rows.count` is a multiple of `offset.count`.
    public static func addRowVector(_ offset: [Double], scalingRowsBy scale: Double = 1, to rows: UnsafeMutableBufferPointer<Double>) {
        let d = offset.count
        if rows.isEmpty { return }
        precondition(d > 0 && rows.count % d == 0, "addRowVector: \(rows.count) numbers are not rows of \(d)")
        let n = rows.count / d
        // offset + 1 * x = x + offset exactly: one formula serves scale 1 too.
        offset.withUnsafeBufferPointer { mu in
            _ = collapse_scale_add_rows_path(-1, rows.baseAddress!, n, d, mu.baseAddress!, scale)
        }
    }
}

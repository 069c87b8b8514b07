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
                for i in 0..<rows {
                    let base = i * columns
                    for j in 0..<columns { s[j] += p[base + j] }
                }
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
    /// - Precondition: `rows > ddof` (with the row count and ddof in the message).
    /// - Complexity: n d² flops (dsyrk) plus two passes over the data.
    public func covariance(ddof: Int = 0) -> (mean: [Double], covariance: Matrix) {
        precondition(ddof >= 0, "covariance ddof must be non-negative, got \(ddof)")
        precondition(rows > ddof, "covariance needs more than ddof = \(ddof) rows, got \(rows) x \(columns)")
        let mean = columnMeans()
        let d = columns
        var residue = [Double](repeating: 0, count: d)
        var gram = Matrix(rows: d, columns: d)
        if d == 0 { return (mean, gram) }
        let blockRows = max(1, min(rows, (1 << 17) / d)) // about 1 MiB of centred rows per block
        var block = [Double](repeating: 0, count: blockRows * d)
        storage.withUnsafeBufferPointer { src in
            mean.withUnsafeBufferPointer { mu in
                residue.withUnsafeMutableBufferPointer { r in
                    block.withUnsafeMutableBufferPointer { out in
                        gram.storage.withUnsafeMutableBufferPointer { g in
                            var start = 0
                            while start < rows {
                                let count = min(blockRows, rows - start)
                                for i in 0..<count {
                                    let from = (start + i) * d, to = i * d
                                    for j in 0..<d {
                                        let v = src[from + j] - mu[j]
                                        out[to + j] = v
                                        r[j] += v
                                    }
                                }
                                GramBLAS.accumulate(out.baseAddress!, rows: count, columns: d, into: g.baseAddress!)
                                start += count
                            }
                        }
                    }
                }
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
}

extension Matrix {
    /// `x_i <- offset + scale * x_i` for every row: adds a row vector (e.g. a mean) after an
    /// optional scaling (e.g. a sampling temperature), in one pass.
    public mutating func addRowVector(_ offset: [Double], scalingRowsBy scale: Double = 1) {
        precondition(offset.count == columns, "addRowVector: vector has \(offset.count) entries, matrix is \(shapeDescription)")
        let d = columns, n = rows
        offset.withUnsafeBufferPointer { mu in
            storage.withUnsafeMutableBufferPointer { p in
                if scale == 1 {
                    for i in 0..<n { let base = i * d; for j in 0..<d { p[base + j] += mu[j] } }
                } else {
                    for i in 0..<n { let base = i * d; for j in 0..<d { p[base + j] = mu[j] + scale * p[base + j] } }
                }
            }
        }
    }
}

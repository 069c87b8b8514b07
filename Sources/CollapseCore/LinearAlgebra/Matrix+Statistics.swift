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
    /// Numerically careful ("corrected two-pass"): the rows are centred on the computed mean, the
    /// Gram matrix of the centred data is formed by BLAS dsyrk, and the rounding residue of the
    /// centring (the column sums of the centred data, zero in exact arithmetic) is subtracted as
    /// `r rᵀ / n`. The result is exactly symmetric. `ddof = 0` is the maximum-likelihood estimator,
    /// `ddof = 1` the unbiased one.
    ///
    /// - Precondition: `rows > ddof` (with the row count and ddof in the message).
    /// - Complexity: n d² flops (the syrk) plus O(n d).
    public func covariance(ddof: Int = 0) -> (mean: [Double], covariance: Matrix) {
        precondition(ddof >= 0, "covariance ddof must be non-negative, got \(ddof)")
        precondition(rows > ddof, "covariance needs more than ddof = \(ddof) rows, got \(rows) x \(columns)")
        let mean = columnMeans()
        var centred = self
        var residue = [Double](repeating: 0, count: columns)
        centred.storage.withUnsafeMutableBufferPointer { p in
            for i in 0..<rows {
                let base = i * columns
                for j in 0..<columns {
                    let v = p[base + j] - mean[j]
                    p[base + j] = v
                    residue[j] += v
                }
            }
        }
        let n = Double(rows)
        var cov = centred.gram(alpha: 1.0 / (n - Double(ddof)))
        let scale = 1.0 / (n * (n - Double(ddof)))
        for a in 0..<columns {
            for b in 0..<columns { cov.storage[a * columns + b] -= residue[a] * residue[b] * scale }
        }
        return (mean, cov)
    }
}

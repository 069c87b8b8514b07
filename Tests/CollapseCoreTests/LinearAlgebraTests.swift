import Testing
import Foundation
@testable import CollapseCore

/// BLAS/LAPACK wrappers against hand-computed cases and algebraic identities.
@Suite struct LinearAlgebraTests {
    let a = Matrix([[1, 2, 3], [4, 5, 6]])          // 2 x 3
    let b = Matrix([[7, 8], [9, 10], [11, 12]])     // 3 x 2

    @Test func gemmMatchesHandComputedProducts() {
        #expect(a * b == Matrix([[58, 64], [139, 154]]))
        #expect(Matrix.product(a, .transpose, a, .none) == Matrix([[17, 22, 27], [22, 29, 36], [27, 36, 45]]))
        #expect(Matrix.product(b, .transpose, a, .transpose, alpha: 2) == Matrix([[116, 278], [128, 308]]))
        var c = Matrix(rows: 2, columns: 2, repeating: 1)
        Matrix.gemm(a, .none, b, .none, alpha: 1, beta: 3, into: &c)
        #expect(c == Matrix([[61, 67], [142, 157]]))
    }

    @Test func emptyShapesReturnEarly() throws {
        let empty = Matrix(rows: 3, columns: 0)
        #expect(Matrix.product(empty, .none, Matrix(rows: 0, columns: 2), .none) == Matrix(rows: 3, columns: 2))
        #expect(Matrix(rows: 0, columns: 4).gram() == Matrix(rows: 4, columns: 4))
        #expect(Matrix(rows: 0, columns: 0).multiplied(by: []) == [])
        #expect(try Cholesky(Matrix(rows: 0, columns: 0)).logDeterminant == 0)
        #expect(try SymmetricEigen(Matrix(rows: 0, columns: 0)).values == [])
    }

    @Test func gemvMatchesHandComputedProducts() {
        #expect(a.multiplied(by: [1, 0, -1]) == [-2, -2])
        #expect(a.multiplied(by: [1, 1], transpose: .transpose) == [5, 7, 9])
    }

    @Test func gramIsExactlySymmetricAndEqualsTransposeProduct() {
        let g = b.gram()
        #expect(g == Matrix([[251, 278], [278, 308]]))
        #expect(g == g.transposed())
    }

    /// Pivoted Cholesky of a full-rank matrix: rank n, the largest diagonal entry eliminated
    /// first, L lower triangular, and F Fᵀ = A to rounding (|F Fᵀ - A| <= 8 n ε max A_ii).
    @Test func pivotedCholeskyOfAFullRankMatrixReconstructsIt() throws {
        let spd = Matrix([[4, 12, -16], [12, 37, -43], [-16, -43, 98]])
        let p = try PivotedCholesky(spd, tolerance: 3 * Double.ulpOfOne * 98)
        #expect(p.rank == 3)
        #expect(p.permutation.first == 2 && p.permutation.sorted() == [0, 1, 2])
        for i in 0..<3 { for j in (i + 1)..<3 { #expect(p.lower[i, j] == 0) } }
        let f = p.factor
        let error = (Matrix.product(f, .none, f, .transpose) - spd).storage.map(abs).max()!
        #expect(error <= 8 * 3 * Double.ulpOfOne * 98)
    }

    /// A = B Bᵀ with B 9 x 3 (rank 3): the factorisation stops at rank 3, L's columns 3 ..< 9 are
    /// zero, the permutation is one, and F Fᵀ = A to rounding; a zero matrix has rank 0 and a
    /// zero factor; NaN input throws.
    @Test func pivotedCholeskyRevealsTheRankOfASingularMatrix() throws {
        var rng = Philox4x32(seed: testSeed, path: [0x21])
        let b = Matrix(rows: 9, columns: 3) { StandardNormal.fill($0, using: &rng) }
        let a = Matrix.product(b, .none, b, .transpose)
        let scale = (0..<9).map { a[$0, $0] }.max()!
        let p = try PivotedCholesky(a, tolerance: 9 * Double.ulpOfOne * scale)
        #expect(p.rank == 3)
        #expect(p.permutation.sorted() == Array(0..<9))
        for i in 0..<9 { for j in 3..<9 { #expect(p.lower[i, j] == 0) } }
        let f = p.factor
        let error = (Matrix.product(f, .none, f, .transpose) - a).storage.map(abs).max()!
        #expect(error <= 8 * 9 * Double.ulpOfOne * scale, "|F Fᵀ - A| = \(error)")
        let zero = try PivotedCholesky(Matrix(rows: 4, columns: 4), tolerance: 0)
        #expect(zero.rank == 0 && zero.factor == Matrix(rows: 4, columns: 4))
        var bad = a
        bad[5, 2] = .nan
        #expect(throws: LinearAlgebraError.self) { try PivotedCholesky(bad, tolerance: 0) }
    }

    /// `colourRows(in:)` (a triangular product, then each row's entries moved to their
    /// coordinates) is Z Fᵀ to rounding; with a shift and scale fused in, it is exactly the
    /// colouring followed by `addRowVector`.
    @Test func pivotedCholeskyColoursRowsByItsFactor() throws {
        var rng = Philox4x32(seed: testSeed, path: [0x22])
        let b = Matrix(rows: 6, columns: 4) { StandardNormal.fill($0, using: &rng) }
        let p = try PivotedCholesky(Matrix.product(b, .none, b, .transpose), tolerance: 1e-12)
        #expect(p.rank == 4 && p.permutation != Array(0..<6))
        let z = Matrix(rows: 50, columns: 6) { StandardNormal.fill($0, using: &rng) }
        var coloured = z
        coloured.storage.withUnsafeMutableBufferPointer { p.colourRows(in: $0) }
        let expected = Matrix.product(z, .none, p.factor, .transpose)
        let error = (coloured - expected).storage.map(abs).max()!
        #expect(error <= 1e-13, "|colourRows - Z Fᵀ| = \(error)")
        // With the shift fused into the permutation: the bits of colouring, then addRowVector.
        let offset = (0..<6).map { Double($0) * 1.5 - 2 }
        for scale in [1.0, 0.7] {
            var fused = z, separate = coloured
            fused.storage.withUnsafeMutableBufferPointer { p.colourRows(in: $0, thenAdd: offset, scalingRowsBy: scale) }
            separate.storage.withUnsafeMutableBufferPointer { Matrix.addRowVector(offset, scalingRowsBy: scale, to: $0) }
            #expect(fused.storage.map(\.bitPattern) == separate.storage.map(\.bitPattern))
        }
    }

    @Test func choleskyReconstructsAndSolves() throws {
        let spd = Matrix([[4, 12, -16], [12, 37, -43], [-16, -43, 98]])
        let chol = try Cholesky(spd)
        #expect(chol.lower == Matrix([[2, 0, 0], [6, 1, 0], [-8, 5, 3]]))
        #expect(chol.reconstructed() == spd)
        // det = (2 * 1 * 3)^2 = 36
        #expect(abs(chol.logDeterminant - Foundation.log(36.0)) < 1e-15 * 4)
        let x = chol.solve([1, 2, 3])
        let back = spd.multiplied(by: x)
        for (u, v) in zip(back, [1.0, 2, 3]) { #expect(abs(u - v) < 1e-10) }
        let inv = chol.inverse()
        #expect((spd * inv).isApproximatelyEqual(to: .identity(3), relativeTolerance: 0, absoluteTolerance: 1e-10))
        #expect(inv == inv.transposed())
        let solved = chol.solve(Matrix([[1, 0], [2, 1], [3, 0]]))
        #expect((spd * solved).isApproximatelyEqual(to: Matrix([[1, 0], [2, 1], [3, 0]]), relativeTolerance: 0, absoluteTolerance: 1e-10))
    }

    @Test func choleskyWhitensAndColoursRows() throws {
        let spd = Matrix([[4, 2], [2, 3]])
        let chol = try Cholesky(spd)
        var z = Matrix([[1, 0], [0, 1], [1, 1]])
        let original = z
        chol.colourRows(&z)
        // Row z becomes L z with L = [[2, 0], [1, sqrt 2]].
        #expect(z.isApproximatelyEqual(to: Matrix([[2, 1], [0, 2.0.squareRoot()], [2, 1 + 2.0.squareRoot()]]), relativeTolerance: 1e-15))
        chol.whitenRows(&z)
        #expect(z.isApproximatelyEqual(to: original, relativeTolerance: 0, absoluteTolerance: 1e-15))
    }

    @Test func nonPositiveDefiniteInputThrowsTypedError() {
        #expect(throws: LinearAlgebraError.notPositiveDefinite(order: 2, failingMinor: 2)) {
            try Cholesky(Matrix([[1, 2], [2, 1]]))
        }
        #expect(throws: LinearAlgebraError.notPositiveDefinite(order: 2, failingMinor: 2)) {
            try Cholesky(Matrix([[1, 1], [1, 1]])) // singular: identical rows' covariance
        }
        #expect(throws: LinearAlgebraError.nonFinite(operation: "Cholesky")) {
            try Cholesky(Matrix([[1, 0], [.nan, 1]]))
        }
        #expect(throws: LinearAlgebraError.singular(order: 2, pivot: 2)) {
            try Matrix([[1, 2], [2, 4]]).inverse()
        }
    }

    @Test func inverseTimesMatrixIsIdentity() throws {
        let m = Matrix([[0, 2, 1], [1, 1, 0], [3, 0, 1]]) // needs pivoting, non-symmetric
        let inv = try m.inverse()
        #expect((m * inv).isApproximatelyEqual(to: .identity(3), relativeTolerance: 0, absoluteTolerance: 1e-14))
        #expect((inv * m).isApproximatelyEqual(to: .identity(3), relativeTolerance: 0, absoluteTolerance: 1e-14))
    }

    @Test func symmetricEigenDecomposesKnownMatrix() throws {
        // [[2, 1], [1, 2]] has eigenvalues 1 and 3 with eigenvectors (1, -1)/sqrt2 and (1, 1)/sqrt2.
        let e = try SymmetricEigen(Matrix([[2, 1], [1, 2]]))
        #expect(abs(e.values[0] - 1) < 1e-15 && abs(e.values[1] - 3) < 4e-15)
        let v = e.vectors
        #expect(abs(abs(v[0, 1]) - 0.5.squareRoot()) < 1e-15 && abs(v[0, 1] - v[1, 1]) < 1e-15)
        #expect(abs(v[0, 0] + v[1, 0]) < 1e-15)
        // A V = V diag(lambda) on a larger matrix, and V orthonormal.
        let m = Matrix([[4, 1, 0.5, 0], [1, 3, 0.2, 0.1], [0.5, 0.2, 2, 0.3], [0, 0.1, 0.3, 1]])
        let f = try SymmetricEigen(m)
        let av = m * f.vectors
        var vl = f.vectors
        for i in 0..<4 { for j in 0..<4 { vl[i, j] *= f.values[j] } }
        #expect(av.isApproximatelyEqual(to: vl, relativeTolerance: 0, absoluteTolerance: 1e-14))
        #expect(Matrix.product(f.vectors, .transpose, f.vectors, .none).isApproximatelyEqual(to: .identity(4), relativeTolerance: 0, absoluteTolerance: 1e-15))
        #expect(f.values == f.values.sorted())
        #expect(try SymmetricEigen(m, computeVectors: false).values.enumerated().allSatisfy { abs($1 - f.values[$0]) < 1e-14 })
    }

    @Test func leastSquaresSolvesConsistentSystemExactly() throws {
        // y = 1 + 2 x1 - 3 x2 exactly.
        let x = Matrix([[1, 0, 0], [1, 1, 0], [1, 0, 1], [1, 2, 3], [1, -1, 4]])
        let w = [1.0, 2, -3]
        let y = x.multiplied(by: w)
        let ls = try LeastSquares(design: x)
        let fit = ls.solve(y)
        for (u, v) in zip(fit.coefficients, w) { #expect(abs(u - v) < 1e-13) }
        #expect(fit.residualSumOfSquares < 1e-25)
        let multi = ls.solve(Matrix(rows: 5, columns: 2, storage: zip(y, y.map { 2 * $0 }).flatMap { [$0.0, $0.1] }))
        for i in 0..<3 { #expect(abs(multi[i, 0] - w[i]) < 1e-13 && abs(multi[i, 1] - 2 * w[i]) < 1e-13) }
    }

    @Test func leastSquaresMatchesNormalEquationsOnNoisyData() throws {
        // Inconsistent system: compare with the hand-solved normal equations of a line fit.
        // Points (0, 1), (1, 3), (2, 4), (3, 4): slope 1, intercept 1.5, residuals ±0.5, RSS 1 (hand-computed).
        let x = Matrix([[1, 0], [1, 1], [1, 2], [1, 3]])
        let fit = try LeastSquares(design: x).solve([1, 3, 4, 4])
        #expect(abs(fit.coefficients[0] - 1.5) < 1e-14 && abs(fit.coefficients[1] - 1) < 1e-14)
        #expect(abs(fit.residualSumOfSquares - 1) < 1e-13)
    }

    @Test func rankDeficientDesignThrows() {
        #expect(throws: LinearAlgebraError.rankDeficient(rows: 3, columns: 2, column: 1)) {
            try LeastSquares(design: Matrix([[1, 2], [2, 4], [3, 6]]))
        }
        #expect(throws: LinearAlgebraError.rankDeficient(rows: 1, columns: 2, column: 1)) {
            try LeastSquares(design: Matrix([[1, 2]]))
        }
    }

    @Test func covarianceMatchesDefinitionAndIsShiftInvariant() {
        let x = Matrix([[1, 2], [3, 5], [4, 4], [0, 1]])
        // means (2, 3); deviations (-1,-1), (1,2), (2,1), (-2,-2)
        // sums: xx = 1+1+4+4 = 10, xy = 1+2+2+4 = 9, yy = 1+4+1+4 = 10
        let (mean, mle) = x.covariance(ddof: 0)
        #expect(mean == [2, 3])
        #expect(mle.isApproximatelyEqual(to: Matrix([[2.5, 2.25], [2.25, 2.5]]), relativeTolerance: 1e-15))
        let (_, unbiased) = x.covariance(ddof: 1)
        #expect(unbiased.isApproximatelyEqual(to: Matrix([[10.0 / 3, 3], [3, 10.0 / 3]]), relativeTolerance: 1e-15))
        // A shift by 1e9 loses nothing beyond the shifted values' own rounding (they are exact here).
        let shifted = Matrix(rows: 4, columns: 2, storage: x.storage.map { $0 + 1e9 })
        #expect(shifted.covariance(ddof: 0).covariance.isApproximatelyEqual(to: mle, relativeTolerance: 1e-12))
        // Constant data: exactly zero covariance.
        let constant = Matrix(rows: 5, columns: 2, repeating: 0.1)
        #expect(constant.covariance().covariance == Matrix(rows: 2, columns: 2))
    }

    /// Rows are centred in cache-sized blocks (2048 rows at d = 64): several blocks must give the
    /// plain two-pass covariance, computed here element by element.
    @Test func blockedCovarianceMatchesNaiveTwoPass() {
        let n = 5000, d = 64
        var rng = Philox4x32(seed: testSeed, path: [0x11])
        let x = Matrix(rows: n, columns: d) { StandardNormal.fill($0, using: &rng) }
        let (mean, cov) = x.covariance(ddof: 1)
        var worst = 0.0
        for a in 0..<d {
            let ma = (0..<n).reduce(0.0) { $0 + x[$1, a] } / Double(n)
            #expect(abs(ma - mean[a]) < 1e-15)
            for b in 0...a {
                let mb = (0..<n).reduce(0.0) { $0 + x[$1, b] } / Double(n)
                var s = 0.0
                for i in 0..<n { s += (x[i, a] - ma) * (x[i, b] - mb) }
                worst = max(worst, abs(s / Double(n - 1) - cov[a, b]))
            }
        }
        // Entries are O(1) sums of 5000 products: rounding differences stay below ~n ε.
        #expect(worst < 1e-12, "largest difference \(worst)")
        #expect(cov == cov.transposed())
    }

    /// Large inputs accumulate four fixed row ranges in parallel: the public call equals the
    /// explicit four-range computation bit for bit (whatever the core count), and any split agrees
    /// with one range to rounding, also with a mean far from the origin.
    @Test func rowRangeSplitsOfTheCovarianceAgree() {
        let n = 3001, d = 80
        var rng = Philox4x32(seed: testSeed, path: [0x12])
        let x = Matrix(rows: n, columns: d) { buffer in
            StandardNormal.fill(buffer, using: &rng)
            for i in buffer.indices { buffer[i] = 1e3 + buffer[i] * Double(1 + i % 7) }
        }
        #expect(Double(n * d * d) >= Matrix.parallelGramWork)
        let whole = x.covariance(ddof: 1, groups: 1)
        let four = x.covariance(ddof: 1, groups: Matrix.parallelGramGroups)
        let seven = x.covariance(ddof: 1, groups: 7)
        let published = x.covariance(ddof: 1)
        #expect(published.mean == four.mean && published.covariance == four.covariance)
        #expect(four.mean == whole.mean)
        // Only the order of the n-term sums differs: |difference| <= n ε max|entry| (the bound of
        // recursive summation on the centred products, whose sums are n-fold the entries).
        let scale = whole.covariance.storage.map(abs).max()!
        for split in [four.covariance, seven.covariance] {
            let worst = zip(split.storage, whole.covariance.storage).map { abs($0 - $1) }.max()!
            #expect(worst <= Double(n) * Double.ulpOfOne * scale, "largest difference \(worst) (scale \(scale))")
            #expect(split == split.transposed())
        }
        // More ranges than rows: one row each, still the same covariance.
        let small = Matrix(rows: 3, columns: 2, storage: [1, 2, 3, 5, 4, 4])
        let perRow = small.covariance(ddof: 0, groups: 8).covariance.storage, plain = small.covariance(ddof: 0).covariance.storage
        #expect(zip(perRow, plain).allSatisfy { abs($0 - $1) <= 1e-15 * 4 }, "\(perRow) vs \(plain)")
    }

    @Test func matrixDecodingChecksTheShape() throws {
        let good = try JSONDecoder().decode(Matrix.self, from: Data(#"{"rows":1,"columns":2,"storage":[1,2]}"#.utf8))
        #expect(good == Matrix([[1, 2]]))
        #expect(throws: DecodingError.self) {
            try JSONDecoder().decode(Matrix.self, from: Data(#"{"rows":2,"columns":2,"storage":[1,2]}"#.utf8))
        }
        let roundTrip = try JSONDecoder().decode(Matrix.self, from: JSONEncoder().encode(a))
        #expect(roundTrip == a)
    }

    @Test func blasReportsVendorAndThreads() {
        #expect(BLAS.vendor.name == "OpenBLAS")
        #expect(BLAS.configuration.hasPrefix("OpenBLAS"))
        let before = BLAS.threadCount
        BLAS.setThreadCount(1)
        #expect(BLAS.threadCount == 1)
        BLAS.setThreadCount(before)
    }

    /// `useOneThread` stops OpenBLAS's idle pool and nothing the runner does afterwards (setting
    /// one thread again, single-threaded BLAS calls) restarts it: a restarted pool spins on a
    /// core for ~0.1 s, which every `collapse run` paid before `setThreadCount` skipped no-op
    /// calls (OpenBLAS 0.3.21 restarts it inside every openblas_set_num_threads). In a child process
    /// (an exit test), since stopping the pool while another test is inside BLAS could hang. A
    /// serial OpenBLAS (no pool to stop) passes trivially.
    @Test func oneThreadKeepsThePoolStopped() async {
        await #expect(processExitsWith: .success) {
            guard BLAS.threadPoolRunning != nil else { exit(0) } // a serial OpenBLAS build: nothing to stop
            BLAS.useOneThread()
            guard BLAS.threadPoolRunning == false, BLAS.threadCount == 1 else { exit(2) }
            BLAS.setThreadCount(1)
            let a = Matrix(rows: 300, columns: 300, repeating: 1)
            let product = a * a
            guard BLAS.threadPoolRunning == false, product[0, 0] == 300 else { exit(3) }
            exit(0)
        }
    }
}

import CollapseCore
import Foundation
import Testing
@testable import CollapseModels

/// Stream paths of this suite start with 0x4B44 ("KD").
private func kdeStream(_ code: UInt32) -> Philox4x32 {
    Philox4x32(seed: modelTestSeed, path: [0x4B44, code])
}

/// n rows of 0.7 N(0, 1) + 0.3 N(3, 0.5²) (1-D, skewed) from the given stream.
private func skewedRows(_ n: Int, using rng: inout Philox4x32) -> Matrix {
    Matrix(column: (0..<n).map { _ in
        let z = StandardNormal.next(using: &rng)
        return rng.nextDouble() < 0.7 ? z : 3 + 0.5 * z
    })
}

/// n rows in 3-D: correlated normals with a quadratic bend in the third coordinate.
private func bentRows(_ n: Int, using rng: inout Philox4x32) -> Matrix {
    var m = Matrix(rows: n, columns: 3)
    for i in 0..<n {
        let a = StandardNormal.next(using: &rng), b = StandardNormal.next(using: &rng), c = StandardNormal.next(using: &rng)
        m[i, 0] = 1 + a
        m[i, 1] = 0.6 * a + 0.8 * b
        m[i, 2] = 0.5 * c + 0.4 * a * a
    }
    return m
}

/// log((1/n) sum_i N(q | x_i, H)) by explicit differences (no BLAS, no vectorised exponential).
private func directLogDensity(_ fit: FittedKernelDensity, _ q: [Double]) -> Double {
    let d = fit.dimension, n = fit.trainingRows.rows
    let chol = try! Cholesky(fit.kernelCovariance)
    var exponents = [Double](repeating: 0, count: n)
    for i in 0..<n {
        let diff = (0..<d).map { q[$0] - fit.trainingRows[i, $0] }
        let w = chol.kdeSolveLower(diff)
        exponents[i] = -0.5 * w.reduce(0) { $0 + $1 * $1 }
    }
    return SpecialFunctions.logSumExp(exponents) - 0.5 * Double(d) * Foundation.log(2 * Double.pi)
        - 0.5 * chol.logDeterminant - Foundation.log(Double(n))
}

private extension Cholesky {
    /// L⁻¹ b by forward substitution.
    func kdeSolveLower(_ b: [Double]) -> [Double] {
        var x = b
        for i in 0..<order {
            var s = x[i]
            for j in 0..<i { s -= lower[i, j] * x[j] }
            x[i] = s / lower[i, i]
        }
        return x
    }
}

private func squaredRadii(_ rows: Matrix, mean: [Double], covariance: Matrix) throws -> [Double] {
    var centred = rows
    for i in 0..<rows.rows { for j in 0..<rows.columns { centred[i, j] -= mean[j] } }
    try Cholesky(covariance).whitenRows(&centred)
    return (0..<rows.rows).map { i in centred.row(i).reduce(0) { $0 + $1 * $1 } }
}

private func normalDensity(_ z: Double) -> Double { Foundation.exp(SpecialFunctions.normalLogDensity(z)) }

@Suite struct KernelDensityTests {
    // MARK: References

    /// scipy.stats.gaussian_kde (scott, silverman; d = 1, 3) and scikit-learn KernelDensity
    /// (fixed h; d = 2), fixtures from Scripts/fixtures/kernel_density.py. Where the reference is
    /// finite: relative error <= 1e-10 (achieved ~1e-15). Where scipy's pdf underflows but its
    /// logpdf does not, ours is finite too. Where the reference is not finite (the query 1e200
    /// kernel standard deviations out: scipy NaN, scikit-learn -inf), ours is -inf, never NaN.
    /// Along the ray of far queries the log-density strictly decreases.
    @Test func logDensitiesMatchScipyAndScikitLearn() throws {
        var rng = kdeStream(1)
        for c in KernelDensityFixtures.cases {
            let d = c.dimension
            let training = Matrix(rows: c.training.count / d, columns: d, storage: c.training)
            let queries = Matrix(rows: c.queries.count / d, columns: d, storage: c.queries)
            let bandwidth: KernelBandwidth = c.rule == "scott" ? .scott : c.rule == "silverman" ? .silverman : .fixed(c.width)
            let fit = try KernelDensityModel(bandwidth: bandwidth).fit(training, using: &rng)
            #expect(fit.degeneracy == nil)
            #expect(abs(fit.bandwidthFactor - c.factor) <= 1e-14 * c.factor, "\(c.label): factor \(fit.bandwidthFactor) vs \(c.factor)")
            let scale = c.kernelCovariance.map(abs).max()!
            for k in 0..<(d * d) {
                #expect(abs(fit.kernelCovariance.storage[k] - c.kernelCovariance[k]) <= 1e-13 * scale,
                        "\(c.label): H[\(k)] = \(fit.kernelCovariance.storage[k]) vs \(c.kernelCovariance[k])")
            }
            let ours = fit.logDensities(queries)
            var worst = 0.0
            let finiteReferences = c.logDensities.filter { $0.isFinite }
            for (i, reference) in c.logDensities.enumerated() {
                if reference.isFinite {
                    let error = abs(ours[i] - reference) / max(abs(reference), 1)
                    worst = max(worst, error)
                    #expect(error <= 1e-10, "\(c.label): query \(i): \(ours[i]) vs reference \(reference)")
                } else {
                    #expect(!ours[i].isNaN && ours[i] <= finiteReferences.min()!, "\(c.label): query \(i) (reference \(reference)) gave \(ours[i])")
                }
            }
            for i in c.underflow { #expect(ours[i].isFinite, "\(c.label): query \(i) where scipy's pdf underflows gave \(ours[i])") }
            let ray = ours.suffix(6)
            #expect(zip(ray, ray.dropFirst()).allSatisfy { $0 > $1 }, "\(c.label): log-density must fall along the ray: \(Array(ray))")
            #expect(worst <= 1e-10, "\(c.label): worst relative error \(worst)")
        }
    }

    /// Queries in several blocks against several training tiles (the last one padded) agree with
    /// the direct per-pair sum; the overflow-safe scalar path (|w| > 2^500 bandwidths) and the
    /// overflow itself (-inf) and NaN input behave as documented.
    @Test func blockedKernelSumsMatchTheDirectSum() throws {
        var rng = kdeStream(2)
        let n = 2 * FittedKernelDensity.maxTileRows + 37, m = 2 * FittedKernelDensity.queryBlockRows + 5
        var training = Matrix(rows: n, columns: 2)
        training.storage.withUnsafeMutableBufferPointer { StandardNormal.fill($0, using: &rng) }
        for i in 0..<n { training[i, 1] = 0.5 * training[i, 1] + 0.3 * training[i, 0] + 2 }
        let fit = try KernelDensityModel(bandwidth: .silverman).fit(training, using: &rng)
        #expect(fit.whitenedTiles.count == 3 && fit.tileRows % 8 == 0 && 3 * fit.tileRows > n)
        var queries = Matrix(rows: m, columns: 2)
        queries.storage.withUnsafeMutableBufferPointer { StandardNormal.fill($0, using: &rng) }
        for i in 0..<m { queries[i, 0] *= 3; queries[i, 1] = 2 + 2 * queries[i, 1] }
        let ours = fit.logDensities(queries)
        for i in 0..<m {
            let want = directLogDensity(fit, queries.row(i))
            #expect(abs(ours[i] - want) <= 1e-12 * max(abs(want), 1), "query \(i): \(ours[i]) vs direct \(want)")
        }
        // 1e152 kernel standard deviations out (along the first axis): the scalar path, finite,
        // dominated by -|w - v_nearest|²/2; 1e160 out the squared distance overflows: -inf.
        let sd = fit.kernelCovariance[0, 0].squareRoot()
        let far = fit.logDensities(Matrix([[fit.mean[0] + 1e152 * sd, fit.mean[1]], [fit.mean[0] + 1e160 * sd, fit.mean[1]], [.nan, 0]]))
        let want = directLogDensity(fit, [fit.mean[0] + 1e152 * sd, fit.mean[1]])
        #expect(far[0].isFinite && abs(far[0] - want) <= 1e-12 * abs(want), "scalar path: \(far[0]) vs \(want)")
        #expect(far[1] == -.infinity && far[2].isNaN, "overflow / NaN: \(far)")
    }

    /// Large evaluations split their query blocks over the cores; each block is computed
    /// as when it is evaluated alone (below the parallel threshold), so the bits are the same.
    @Test func parallelQueryBlocksGiveTheSequentialBits() throws {
        var rng = kdeStream(9)
        var training = Matrix(rows: 3000, columns: 2)
        training.storage.withUnsafeMutableBufferPointer { StandardNormal.fill($0, using: &rng) }
        let fit = try KernelDensityModel(bandwidth: .scott).fit(training, using: &rng)
        // Enough blocks of queries to pass the parallel threshold, the last one partial.
        let blockRows = FittedKernelDensity.queryBlockRows
        let m = (Int(FittedKernelDensity.parallelWork) / (3000 * 2) / blockRows + 2) * blockRows + 7
        var queries = Matrix(rows: m, columns: 2)
        queries.storage.withUnsafeMutableBufferPointer { StandardNormal.fill($0, using: &rng) }
        #expect(Double(m * 3000 * 2) >= FittedKernelDensity.parallelWork)
        let all = fit.logDensities(queries)
        var blockwise: [Double] = []
        for start in stride(from: 0, to: m, by: FittedKernelDensity.queryBlockRows) {
            let rows = min(FittedKernelDensity.queryBlockRows, m - start)
            #expect(Double(rows * 3000 * 2) < FittedKernelDensity.parallelWork)
            blockwise += fit.logDensities(Matrix(rows: rows, columns: 2, storage: Array(queries.storage[(2 * start)..<(2 * (start + rows))])))
        }
        #expect(all == blockwise)
    }

    /// The vectorised exponential against Foundation.exp: relative error <= 4 ulp over
    /// [-708, 0] (interval grid, random points and reduction boundaries), 0 below the flush bound.
    @Test func vectorisedExponentialIsAccurate() {
        var rng = kdeStream(3)
        var points: [Double] = [0, -0.0, -Double.leastNonzeroMagnitude, -1e-300, -1e-10, -708, -708.39]
        for k in 0...1000 { points.append(-708 * Double(k) / 1000) }
        for _ in 0..<20_000 { points.append(-708 * rng.nextDouble()) }
        for j in 1...200 { // boundaries of the reduction, k ln2/64 ± (ln2/128)
            let centre = -Double(j * 113) * M_LN2 / 64
            points += [centre + M_LN2 / 128, centre - M_LN2 / 128, centre.nextUp, centre.nextDown]
        }
        while points.count % 8 != 0 { points.append(-1) }
        var worst = 0.0
        KernelSum.table.withUnsafeBufferPointer { table in
            for start in stride(from: 0, to: points.count, by: 8) {
                let t = KernelSum.Vector(points[start..<(start + 8)])
                let e = KernelSum.exp(t, table: table.baseAddress!)
                for lane in 0..<8 {
                    let want = Foundation.exp(t[lane])
                    worst = max(worst, abs(e[lane] - want) / want)
                }
            }
            let flushed = KernelSum.exp(KernelSum.Vector(-709.08, -709.5, -745, -800, -1e300, -.infinity, -708.5, -709), table: table.baseAddress!)
            #expect((0..<6).allSatisfy { flushed[$0] == 0 }, "below the flush bound: \(flushed)")
            #expect(flushed[6] >= 0 && flushed[6] <= 0x1p-1021 && flushed[7] >= 0 && flushed[7] <= 0x1p-1021)
        }
        #expect(worst <= 4 * Double.ulpOfOne, "worst relative error \(worst / Double.ulpOfOne) ulp")
    }

    // MARK: Sampling

    /// 1-D, Scott. A draw is x_J + h Z (J uniform, Z standard normal): mean mu (training mean),
    /// variance sigma² = s² + h² (s² the training MLE variance). Over m draws the sample mean has
    /// SE sigma / sqrt(m); the sample variance has SE ≈ sqrt((mu4 - sigma⁴) / m), with the
    /// mixture's fourth central moment mu4 = mean_j(a_j⁴) + 6 h² mean_j(a_j²) + 3 h⁴,
    /// a_j = x_j - mu (E(a + hZ)⁴ = a⁴ + 6 a² h² + 3 h⁴). Require z < 5.
    @Test func sampleMomentsMatchTheMixture1D() throws {
        var rng = kdeStream(4)
        let training = skewedRows(300, using: &rng)
        let fit = try KernelDensityModel().fit(training, using: &rng)
        let mu = Descriptive.mean(training.storage), s2 = Descriptive.variance(training.storage, ddof: 0)
        let h2 = fit.kernelCovariance[0, 0]
        #expect(abs(fit.variance - (s2 + h2)) <= 1e-14 * fit.variance && abs(fit.mean[0] - mu) <= 1e-14 * abs(mu))
        #expect(abs(h2 - fit.bandwidthFactor * fit.bandwidthFactor * Descriptive.variance(training.storage, ddof: 1)) <= 1e-14 * h2)
        for (tau, m) in [(1.0, 40_000), (0.5, 40_000)] {
            let draws = fit.sample(count: m, options: SamplingOptions(temperature: tau), using: &rng).storage
            let k2 = tau * tau * h2
            let sigma2 = s2 + k2
            let a = training.storage.map { $0 - mu }
            let mu4 = a.map { $0 * $0 * $0 * $0 }.reduce(0, +) / Double(a.count) + 6 * k2 * s2 + 3 * k2 * k2
            let zMean = (Descriptive.mean(draws) - mu) / (sigma2 / Double(m)).squareRoot()
            let varianceSE = ((mu4 - sigma2 * sigma2) / Double(m)).squareRoot()
            let zVariance = (Descriptive.variance(draws, ddof: 1) - sigma2) / varianceSE
            #expect(abs(zMean) < 5 && abs(zVariance) < 5, "tau \(tau): z(mean) = \(zMean), z(variance) = \(zVariance)")
        }
    }

    /// Temperature scales the kernel noise only: with a fixed h = 0.8 and tau = 0.5 the variance
    /// is s² + tau² h² (same SE as above), and it is clearly not s² + h² (> 10 SE away: the two
    /// differ by 0.48, the SE is ≈ 0.02 for these data).
    @Test func temperatureScalesTheKernelNoiseOnly() throws {
        var rng = kdeStream(5)
        let training = skewedRows(300, using: &rng)
        let fit = try KernelDensityModel(bandwidth: .fixed(0.8)).fit(training, using: &rng)
        let m = 40_000, tau = 0.5
        let draws = fit.sample(count: m, options: SamplingOptions(temperature: tau), using: &rng).storage
        let mu = Descriptive.mean(training.storage), s2 = Descriptive.variance(training.storage, ddof: 0)
        let k2 = tau * tau * 0.64, sigma2 = s2 + k2
        let a = training.storage.map { $0 - mu }
        let mu4 = a.map { $0 * $0 * $0 * $0 }.reduce(0, +) / Double(a.count) + 6 * k2 * s2 + 3 * k2 * k2
        let se = ((mu4 - sigma2 * sigma2) / Double(m)).squareRoot()
        let v = Descriptive.variance(draws, ddof: 1)
        #expect(abs(v - sigma2) < 5 * se, "variance \(v) vs s² + tau² h² = \(sigma2), SE \(se)")
        #expect(abs(v - (s2 + 0.64)) > 10 * se, "variance \(v) should not be s² + h² = \(s2 + 0.64)")
        // tau = 0 resamples training rows exactly.
        let cold = fit.sample(count: 50, options: SamplingOptions(temperature: 0), using: &rng).storage
        #expect(cold.allSatisfy { training.storage.contains($0) })
    }

    /// d = 3, Silverman: sample mean and covariance equal the training mean and the training MLE
    /// covariance + H. With Y = a_J + e, e ~ N(0, H), the product (Y_a - mu_a)(Y_b - mu_b) has
    /// variance E[Y_a² Y_b²] - C_ab², where E[Y_a² Y_b²] = mean_j(a_a² a_b² + a_a² H_bb + a_b² H_aa
    /// + 4 a_a a_b H_ab) + H_aa H_bb + 2 H_ab²; the sample covariance entry has SE sqrt(that / m)
    /// (centring on the sample mean adds O(1/m)). Means: SE sqrt(C_aa / m). Require z < 5.
    @Test func sampleMomentsMatchTheMixture3D() throws {
        var rng = kdeStream(6)
        let training = bentRows(200, using: &rng)
        let fit = try KernelDensityModel(bandwidth: .silverman).fit(training, using: &rng)
        let (mu, mle) = training.covariance(ddof: 0)
        let h = fit.kernelCovariance, c = fit.covariance
        #expect(c.isApproximatelyEqual(to: mle + h, relativeTolerance: 1e-14))
        let m = 30_000
        let draws = fit.sample(count: m, options: .plain, using: &rng)
        let (sampleMean, sampleCovariance) = draws.covariance(ddof: 1)
        for a in 0..<3 {
            let z = (sampleMean[a] - mu[a]) / (c[a, a] / Double(m)).squareRoot()
            #expect(abs(z) < 5, "mean \(a): \(sampleMean[a]) vs \(mu[a]), z = \(z)")
        }
        for a in 0..<3 {
            for b in a..<3 {
                var fourth = 0.0
                for j in 0..<training.rows {
                    let xa = training[j, a] - mu[a], xb = training[j, b] - mu[b]
                    fourth += xa * xa * xb * xb + xa * xa * h[b, b] + xb * xb * h[a, a] + 4 * xa * xb * h[a, b]
                }
                fourth = fourth / Double(training.rows) + h[a, a] * h[b, b] + 2 * h[a, b] * h[a, b]
                let se = ((fourth - c[a, b] * c[a, b]) / Double(m)).squareRoot()
                let z = (sampleCovariance[a, b] - c[a, b]) / se
                #expect(abs(z) < 5, "covariance (\(a), \(b)): \(sampleCovariance[a, b]) vs \(c[a, b]), z = \(z)")
            }
        }
    }

    /// Truncation keeps rows within the Mahalanobis radius c of the mean under the estimate's
    /// covariance, and (1-D) gives the estimate restricted to [mu - c sigma, mu + c sigma]: a
    /// whole-draw rejection, so the truncated mean is sum_j w_j E[X | X in I, X ~ N(x_j, h²)]
    /// with weights w_j ∝ P_j(I), in closed form from the normal CDF and density (SE from the
    /// truncated variance, also in closed form). Require z < 5.
    @Test func truncationKeepsRowsInsideTheRadius() throws {
        var rng = kdeStream(7)
        let training = skewedRows(200, using: &rng)
        let fit = try KernelDensityModel().fit(training, using: &rng)
        let c = 1.0, m = 20_000
        let cut = fit.sample(count: m, options: SamplingOptions(truncation: c), using: &rng)
        let radii = try squaredRadii(cut, mean: fit.mean, covariance: fit.covariance)
        #expect(radii.allSatisfy { $0 <= c * c * (1 + 1e-12) })
        let mu = fit.mean[0], sigma = fit.variance.squareRoot(), h = fit.kernelCovariance[0, 0].squareRoot()
        let lo = mu - c * sigma, hi = mu + c * sigma
        var mass = 0.0, first = 0.0, second = 0.0
        for x in training.storage {
            let alpha = (lo - x) / h, beta = (hi - x) / h
            let p = SpecialFunctions.normalCDF(beta) - SpecialFunctions.normalCDF(alpha)
            let phiA = normalDensity(alpha), phiB = normalDensity(beta)
            mass += p
            first += x * p + h * (phiA - phiB)
            second += x * x * p + 2 * x * h * (phiA - phiB) + h * h * (p + alpha * phiA - beta * phiB)
        }
        let mean = first / mass, variance = second / mass - mean * mean
        let z = (Descriptive.mean(cut.storage) - mean) / (variance / Double(m)).squareRoot()
        #expect(abs(z) < 5, "truncated mean \(Descriptive.mean(cut.storage)) vs \(mean): z = \(z)")

        // 3-D, with temperature: every row inside the radius.
        let rows3 = bentRows(150, using: &rng)
        let fit3 = try KernelDensityModel().fit(rows3, using: &rng)
        let cut3 = fit3.sample(count: 2_000, options: SamplingOptions(temperature: 1.5, truncation: 1.5), using: &rng)
        let radii3 = try squaredRadii(cut3, mean: fit3.mean, covariance: fit3.covariance)
        #expect(radii3.allSatisfy { $0 <= 2.25 * (1 + 1e-12) })
    }

    // MARK: Degenerate inputs

    @Test func identicalRowsGiveAPointMassWithDataDrivenBandwidths() throws {
        for bandwidth in [KernelBandwidth.scott, .silverman] {
            var rng = kdeStream(8)
            let same = Matrix([[Double]](repeating: [0.3, -1.7], count: 6))
            let fit = try KernelDensityModel(bandwidth: bandwidth).fit(same, using: &rng)
            #expect(fit.degeneracy == .zeroVariance)
            #expect(fit.mean == [0.3, -1.7] && fit.kernelCovariance.storage.allSatisfy { $0 == 0 } && fit.covariance.storage.allSatisfy { $0 == 0 })
            let before = rng
            let s = fit.sample(count: 5, options: SamplingOptions(temperature: 2, truncation: 1), using: &rng)
            #expect(s == Matrix(rows: 5, columns: 2, storage: [0.3, -1.7, 0.3, -1.7, 0.3, -1.7, 0.3, -1.7, 0.3, -1.7]))
            #expect(rng == before, "a point mass consumes no randomness")
            let logs = fit.logDensities(Matrix([[0.3, -1.7], [0.3, -1.6], [.nan, -1.7]]))
            #expect(logs[0] == .infinity && logs[1] == -.infinity && logs[2].isNaN)
        }
    }

    /// With a fixed bandwidth identical rows are a regular fit: log N(q | x, h² I).
    @Test func identicalRowsWithAFixedBandwidthAreOneGaussianKernel() throws {
        var rng = kdeStream(9)
        let fit = try KernelDensityModel(bandwidth: .fixed(0.5)).fit(Matrix([[1, 2], [1, 2], [1, 2]]), using: &rng)
        #expect(fit.degeneracy == nil)
        // log N((2, 2.5); (1, 2), 0.25 I) = -log(2 pi) - 2 log(0.5) - (4 + 1)/2
        let want = -Foundation.log(2 * Double.pi) - 2 * Foundation.log(0.5) - 2.5
        #expect(abs(fit.logDensities(Matrix([[2, 2.5]]))[0] - want) <= 1e-14 * abs(want))
        // One row is enough for a fixed bandwidth.
        let one = try KernelDensityModel(bandwidth: .fixed(0.5)).fit(Matrix([[1, 2]]), using: &rng)
        #expect(abs(one.logDensities(Matrix([[2, 2.5]]))[0] - want) <= 1e-14 * abs(want))
        #expect(one.covariance == Matrix([[0.25, 0], [0, 0.25]]))
    }

    /// Collinear rows (a line in 3-D) and n <= d (3 rows span a plane) give a singular S: the
    /// fit is flagged, samples stay on the rows' affine span (also under truncation), and the
    /// log-density is -inf.
    @Test func singularCovarianceStillSamplesOnTheSubspace() throws {
        var rng = kdeStream(10)
        var line = Matrix(rows: 20, columns: 3)
        for i in 0..<20 {
            let t = Double(i) * 0.37 - 2
            line[i, 0] = 1 + t; line[i, 1] = 2 - 2 * t; line[i, 2] = 0.5 * t
        }
        let fit = try KernelDensityModel().fit(line, using: &rng)
        #expect(fit.degeneracy == .singularCovariance)
        for options in [SamplingOptions.plain, SamplingOptions(temperature: 2, truncation: 0.8)] {
            let s = fit.sample(count: 200, options: options, using: &rng)
            #expect(s.isFinite)
            // On the line: (x - mean) is parallel to (1, -2, 0.5): both cross-product components vanish.
            for i in 0..<200 {
                let y = (0..<3).map { s[i, $0] - fit.mean[$0] }
                #expect(abs(y[1] + 2 * y[0]) < 1e-12 && abs(y[2] - 0.5 * y[0]) < 1e-12, "row \(i) leaves the line: \(y)")
            }
        }
        #expect(fit.logDensities(line).allSatisfy { $0 == -.infinity })

        let plane = Matrix([[1, 2, 3], [2, 1, 0], [0, 0, 1]])
        let flat = try KernelDensityModel(bandwidth: .silverman).fit(plane, using: &rng)
        #expect(flat.degeneracy == .singularCovariance)
        let normal = [-4.0, 5, -3] // orthogonal to the centred rows (see the mvn test)
        let s = flat.sample(count: 100, options: .plain, using: &rng)
        for i in 0..<100 {
            let dot = (0..<3).map { (s[i, $0] - flat.mean[$0]) * normal[$0] }.reduce(0, +)
            #expect(abs(dot) < 1e-12)
        }
        #expect(flat.logDensities(plane).allSatisfy { $0 == -.infinity })
    }

    @Test func unusableDataThrows() {
        var rng = kdeStream(11)
        #expect(throws: FitError.tooFewRows(needed: 2, got: 1)) { try KernelDensityModel().fit(Matrix([[1, 2]]), using: &rng) }
        #expect(throws: FitError.tooFewRows(needed: 2, got: 1)) { try KernelDensityModel(bandwidth: .silverman).fit(Matrix([[1]]), using: &rng) }
        #expect(throws: FitError.tooFewRows(needed: 1, got: 0)) { try KernelDensityModel(bandwidth: .fixed(1)).fit(Matrix(rows: 0, columns: 2), using: &rng) }
        #expect(throws: FitError.nonFiniteData) { try KernelDensityModel().fit(Matrix(column: [1, .infinity, 2]), using: &rng) }
        #expect(throws: FitError.dimensionMismatch(expected: 1, got: 0)) { try KernelDensityModel().fit(Matrix(rows: 4, columns: 0), using: &rng) }
    }

    @Test func zeroCountSamplesAreEmptyAndDrawNothing() throws {
        var rng = kdeStream(12)
        let fits = [
            try KernelDensityModel().fit(bentRows(30, using: &rng), using: &rng),
            try KernelDensityModel().fit(Matrix([[1, 2, 3], [2, 1, 0], [0, 0, 1]]), using: &rng),
            try KernelDensityModel().fit(Matrix([[1, 2, 3], [1, 2, 3]]), using: &rng),
        ]
        for fit in fits {
            let before = rng
            let s = fit.sample(count: 0, options: SamplingOptions(truncation: 2), using: &rng)
            #expect(s.rows == 0 && s.columns == 3 && rng == before)
            #expect(fit.logDensities(s).isEmpty)
        }
    }

    // MARK: Settings, Codable, determinism

    @Test func bandwidthSettingsDecodeValidateAndRoundTrip() throws {
        let encoder = JSONEncoder(), decoder = JSONDecoder()
        encoder.outputFormatting = [.sortedKeys]
        #expect(String(decoding: try encoder.encode(KernelDensityModel()), as: UTF8.self) == #"{"bandwidth":"scott"}"#)
        #expect(String(decoding: try encoder.encode(KernelDensityModel(bandwidth: .fixed(0.5))), as: UTF8.self) == #"{"bandwidth":0.5}"#)
        #expect(try decoder.decode(KernelDensityModel.self, from: Data(#"{"bandwidth":"silverman"}"#.utf8)) == KernelDensityModel(bandwidth: .silverman))
        #expect(try decoder.decode(KernelDensityModel.self, from: Data(#"{"bandwidth":0.5}"#.utf8)) == KernelDensityModel(bandwidth: .fixed(0.5)))
        #expect(try decoder.decode(KernelDensityModel.self, from: Data(#"{"bandwidth":"0.25"}"#.utf8)) == KernelDensityModel(bandwidth: .fixed(0.25)))
        #expect(try decoder.decode(KernelDensityModel.self, from: Data("{}".utf8)) == KernelDensityModel())
        #expect(throws: DecodingError.self) { try decoder.decode(KernelDensityModel.self, from: Data(#"{"bandwidth":"scot"}"#.utf8)) }
        #expect(throws: DecodingError.self) { try decoder.decode(KernelDensityModel.self, from: Data(#"{"bandwidth":[1]}"#.utf8)) }
        for model in [KernelDensityModel(), KernelDensityModel(bandwidth: .silverman), KernelDensityModel(bandwidth: .fixed(0.125))] {
            #expect(try decoder.decode(KernelDensityModel.self, from: encoder.encode(model)) == model)
            try model.validate()
        }
        for bad in [0.0, -1, .nan, .infinity] {
            #expect(throws: ModelSettingsError.self) { try KernelDensityModel(bandwidth: .fixed(bad)).validate() }
            do { try KernelDensityModel(bandwidth: .fixed(bad)).validate() } catch { #expect(error.key == "bandwidth") }
        }
    }

    /// The conformance contract: fitting is pure, the fitted model survives JSON bit for bit
    /// (and refits to identical log-densities and samples), the same stream gives the same
    /// sample, different streams differ, and own samples have finite log-densities.
    @Test func fittedModelRoundTripsAndSamplingIsAFunctionOfTheStream() throws {
        let encoder = JSONEncoder(), decoder = JSONDecoder()
        encoder.outputFormatting = [.sortedKeys]
        var rng = kdeStream(13)
        let data = bentRows(80, using: &rng)
        for model in [KernelDensityModel(), KernelDensityModel(bandwidth: .silverman), KernelDensityModel(bandwidth: .fixed(0.3))] {
            var a = kdeStream(14), b = a
            let fitA = try model.fit(data, using: &a), fitB = try model.fit(data, using: &b)
            let bytes = try encoder.encode(fitA)
            let bytesB = try encoder.encode(fitB)
            #expect(bytes == bytesB && a == b)
            let decoded = try decoder.decode(FittedKernelDensity.self, from: bytes)
            let reencoded = try encoder.encode(decoded)
            #expect(decoded == fitA && reencoded == bytes)
            #expect(decoded.kernelCovariance == fitA.kernelCovariance && decoded.covariance == fitA.covariance)
            var r1 = kdeStream(15), r2 = r1, r3 = kdeStream(16)
            let s1 = fitA.sample(count: 40, options: SamplingOptions(truncation: 1.5), using: &r1)
            let s2 = decoded.sample(count: 40, options: SamplingOptions(truncation: 1.5), using: &r2)
            let s3 = fitA.sample(count: 40, options: SamplingOptions(truncation: 1.5), using: &r3)
            #expect(s1 == s2 && r1 == r2 && s1 != s3)
            let l1 = fitA.logDensities(s1), l2 = decoded.logDensities(s1)
            #expect(l1 == l2 && l1.allSatisfy { $0.isFinite })
        }
        let json = String(decoding: try encoder.encode(try KernelDensityModel(bandwidth: .fixed(0.5)).fit(Matrix([[1], [2]]), using: &rng)), as: UTF8.self)
        #expect(json.hasPrefix(#"{"bandwidth":0.5,"trainingRows":"#), "\(json)")
    }
}

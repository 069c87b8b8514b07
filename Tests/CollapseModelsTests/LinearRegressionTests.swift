import CollapseCore
import Foundation
import Testing
@testable import CollapseModels

/// Stream paths of this suite start with 3200 + test number.
@Suite struct LinearRegressionTests {
    typealias Reference = LinearRegressionReferenceValues

    private var referenceData: RegressionData {
        RegressionData(design: Matrix(rows: Reference.rows, columns: Reference.columns, storage: Reference.design),
                       targets: Reference.targets)
    }

    private func relativeError(_ a: Double, _ b: Double) -> Double {
        a == b ? 0 : abs(a - b) / max(abs(a), abs(b))
    }

    private func gaussianDesign(rows: Int, columns: Int, using rng: inout Philox4x32) -> Matrix {
        Matrix(rows: rows, columns: columns, storage: StandardNormal.sample(count: rows * columns, using: &rng))
    }

    /// Against scikit-learn / numpy lstsq / scipy on the same 25 x 3 data. QR and SVD solutions of a
    /// well-conditioned problem (kappa ~ 3) agree to a few ulps of the largest coefficient; allow
    /// 1e-13 relative (about 450 ulps) for the coefficients and s², 1e-12 for log-densities.
    @Test func fitMatchesReferenceImplementations() throws {
        var rng = Philox4x32(seed: modelTestSeed, path: [3201])
        let withIntercept = try LinearRegressionModel(intercept: true).fit(referenceData, using: &rng)
        for j in 0..<3 {
            #expect(relativeError(withIntercept.coefficients[j], Reference.coefficientsWithIntercept[j]) < 1e-13)
        }
        #expect(relativeError(withIntercept.intercept, Reference.interceptWithIntercept) < 1e-13)
        #expect(relativeError(withIntercept.noiseVariance, Reference.noiseVarianceWithIntercept) < 1e-13)
        #expect(withIntercept.degeneracy == nil)
        let logs = withIntercept.logDensities(referenceData)
        for i in logs.indices {
            #expect(abs(logs[i] - Reference.logDensitiesWithIntercept[i]) < 1e-12 * max(1, abs(logs[i])))
        }

        let plain = try LinearRegressionModel().fit(referenceData, using: &rng)
        #expect(plain.intercept == 0)
        for j in 0..<3 {
            #expect(relativeError(plain.coefficients[j], Reference.coefficientsWithoutIntercept[j]) < 1e-13)
        }
        #expect(relativeError(plain.noiseVariance, Reference.noiseVarianceWithoutIntercept) < 1e-13)
    }

    /// y = X w + b exactly: least squares returns w and b up to rounding (kappa(X) ~ 3 here, so
    /// a few hundred ulps at most), and the residual variance is round-off of zero.
    @Test func noiselessDataAreRecoveredExactly() throws {
        var rng = Philox4x32(seed: modelTestSeed, path: [3202])
        let w = [0.5, -1.25, 3, 0.125], b = -2.5
        let x = gaussianDesign(rows: 40, columns: 4, using: &rng)
        let truth = FittedLinearRegression(coefficients: w, intercept: b, noiseVariance: 0)
        #expect(truth.degeneracy == .zeroVariance)
        let data = truth.labels(for: x, options: .plain, using: &rng)
        #expect(data.targets == truth.predict(x))
        let fit = try LinearRegressionModel(intercept: true).fit(data, using: &rng)
        for j in 0..<4 { #expect(abs(fit.coefficients[j] - w[j]) < 1e-13) }
        #expect(abs(fit.intercept - b) < 1e-13)
        #expect(fit.noiseVariance < 1e-26)
    }

    /// Fixed design Z (with intercept column), labels redrawn: theta_hat - theta = (ZᵀZ)⁻¹Zᵀe ~
    /// N(0, sigma² (ZᵀZ)⁻¹), so Q = |theta_hat - theta|² has E[Q] = sigma² tr((ZᵀZ)⁻¹) and, as a
    /// weighted sum of chi²_1 with weights sigma² lambda_i((ZᵀZ)⁻¹), Var[Q] = 2 sigma⁴ tr((ZᵀZ)⁻²).
    /// Over K redraws z = (mean Q - E[Q]) / sqrt(Var[Q] / K) < 5. Refits reuse one factorisation.
    @Test func fixedDesignCoefficientErrorMatchesTraceFormula() throws {
        var rng = Philox4x32(seed: modelTestSeed, path: [3203])
        let n = 20, d = 3, k = 4_000, sigma2 = 2.25
        let x = gaussianDesign(rows: n, columns: d, using: &rng)
        let truth = FittedLinearRegression(coefficients: [1, -1, 0.5], intercept: 0.3, noiseVariance: sigma2)
        let model = LinearRegressionModel(intercept: true)
        let factorization = try #require(try model.factorize(design: x))
        var total = 0.0
        for rep in 0..<k {
            var stream = Philox4x32(seed: modelTestSeed, path: [3203, UInt32(rep)])
            let data = truth.labels(for: x, options: .plain, using: &stream)
            let fit = try model.fit(targets: data.targets, using: factorization)
            var q = (fit.intercept - truth.intercept) * (fit.intercept - truth.intercept)
            for j in 0..<d { q += (fit.coefficients[j] - truth.coefficients[j]) * (fit.coefficients[j] - truth.coefficients[j]) }
            total += q
        }
        let inverse = try Cholesky(model.augmented(x).gram()).inverse()
        let traceSquare = (inverse * inverse).trace
        let expected = sigma2 * inverse.trace
        let se = (2 * sigma2 * sigma2 * traceSquare / Double(k)).squareRoot()
        let z = (total / Double(k) - expected) / se
        #expect(abs(z) < 5, "mean |theta_hat - theta|² \(total / Double(k)) vs \(expected), z = \(z)")
    }

    /// Gaussian design, fresh each time, no intercept: E|w_hat - w|² = sigma² E tr((XᵀX)⁻¹) =
    /// sigma² d / (T - d - 1) (inverse-Wishart mean). The SE comes from the empirical standard
    /// deviation of the K replicates (Var is finite for T - d > 3); z < 5.
    @Test func gaussianDesignCoefficientErrorMatchesInverseWishartMean() throws {
        let t = 12, d = 3, k = 4_000, sigma2 = 0.5
        let truth = FittedLinearRegression(coefficients: [2, 0, -1], noiseVariance: sigma2)
        var errors: [Double] = []
        for rep in 0..<k {
            var rng = Philox4x32(seed: modelTestSeed, path: [3204, UInt32(rep)])
            let data = truth.sample(count: t, options: .plain, using: &rng)
            let fit = try LinearRegressionModel().fit(data, using: &rng)
            errors.append(zip(fit.coefficients, truth.coefficients).reduce(0) { $0 + ($1.0 - $1.1) * ($1.0 - $1.1) })
        }
        let expected = sigma2 * Double(d) / Double(t - d - 1)
        let se = Descriptive.standardDeviation(errors, ddof: 1) / Double(k).squareRoot()
        let z = (Descriptive.mean(errors) - expected) / se
        #expect(abs(z) < 5, "mean |w_hat - w|² \(Descriptive.mean(errors)) vs \(expected), z = \(z)")
    }

    /// s² = RSS / (n - p) with RSS ~ sigma² chi²_{n-p}: E[s²] = sigma², SD of one s² is
    /// sigma² sqrt(2 / (n - p)); over K redraws z < 5. Also the mean fitted coefficients are
    /// unbiased: Cov(theta_hat) = sigma² (ZᵀZ)⁻¹, so the SE of the K-mean of coefficient j is
    /// sqrt(sigma² [(ZᵀZ)⁻¹]_jj / K).
    @Test func estimatedNoiseVarianceIsUnbiased() throws {
        var rng = Philox4x32(seed: modelTestSeed, path: [3205])
        let n = 15, d = 2, k = 5_000, sigma2 = 4.0
        let x = gaussianDesign(rows: n, columns: d, using: &rng)
        let truth = FittedLinearRegression(coefficients: [0.7, -0.2], intercept: 1, noiseVariance: sigma2)
        let model = LinearRegressionModel(intercept: true)
        let factorization = try #require(try model.factorize(design: x))
        var sumS2 = 0.0
        var sumTheta = [Double](repeating: 0, count: d + 1)
        for rep in 0..<k {
            var stream = Philox4x32(seed: modelTestSeed, path: [3205, UInt32(rep)])
            let fit = try model.fit(targets: truth.labels(for: x, options: .plain, using: &stream).targets, using: factorization)
            sumS2 += fit.noiseVariance
            for j in 0..<d { sumTheta[j] += fit.coefficients[j] }
            sumTheta[d] += fit.intercept
        }
        let dof = Double(n - d - 1)
        let z = (sumS2 / Double(k) - sigma2) / (sigma2 * (2 / dof).squareRoot() / Double(k).squareRoot())
        #expect(abs(z) < 5, "mean s² \(sumS2 / Double(k)) vs \(sigma2), z = \(z)")
        let inverse = try Cholesky(model.augmented(x).gram()).inverse()
        let theta = truth.coefficients + [truth.intercept]
        for j in 0...d {
            let zj = (sumTheta[j] / Double(k) - theta[j]) / (sigma2 * inverse[j, j] / Double(k)).squareRoot()
            #expect(abs(zj) < 5, "coefficient \(j): z = \(zj)")
        }
    }

    /// The reuse path (one QR of the design with Q formed explicitly) and a fresh fit (reflectors
    /// applied to y) agree to rounding: coefficients and s² within 1e-13 relative on this kappa ~ 3
    /// design, with and without intercept, estimated and known noise.
    @Test func factorizationReuseAgreesWithFreshFits() throws {
        var rng = Philox4x32(seed: modelTestSeed, path: [3206])
        let x = gaussianDesign(rows: 30, columns: 4, using: &rng)
        let truth = FittedLinearRegression(coefficients: [1, 2, 3, 4], intercept: -1, noiseVariance: 1)
        for model in [LinearRegressionModel(), LinearRegressionModel(intercept: true), LinearRegressionModel(intercept: true, noise: .known(standardDeviation: 0.5))] {
            let factorization = try #require(try model.factorize(design: x))
            for _ in 0..<5 {
                let data = truth.labels(for: x, options: .plain, using: &rng)
                let reused = try model.fit(targets: data.targets, using: factorization)
                let fresh = try model.fit(data, using: &rng)
                for (a, b) in zip(reused.coefficients + [reused.intercept], fresh.coefficients + [fresh.intercept]) {
                    #expect(relativeError(a, b) < 1e-13, "\(a) vs \(b)")
                }
                #expect(relativeError(reused.noiseVariance, fresh.noiseVariance) < 1e-13)
                #expect(reused.degeneracy == fresh.degeneracy)
            }
        }
    }

    /// Fixed-design accumulation: the design stacked k times with k label vectors. The mean-label
    /// shortcut equals a QR fit of the stacked (k T) x p problem to rounding: coefficients and s²
    /// within 1e-12 relative (both are backward stable on a kappa ~ 3 design); k = 1 is the
    /// single-vector fit bit for bit; too few stacked rows and non-finite labels are rejected.
    @Test func stackedTargetsEqualTheStackedFit() throws {
        var rng = Philox4x32(seed: modelTestSeed, path: [3213])
        let x = gaussianDesign(rows: 12, columns: 3, using: &rng)
        let truth = FittedLinearRegression(coefficients: [0.5, -2, 1], intercept: 3, noiseVariance: 2)
        for model in [LinearRegressionModel(), LinearRegressionModel(intercept: true), LinearRegressionModel(noise: .known(standardDeviation: 1.5))] {
            let factorization = try #require(try model.factorize(design: x))
            let labels = (0..<6).map { _ in truth.labels(for: x, options: .plain, using: &rng).targets }
            #expect(try model.fit(stackedTargets: [labels[0]], using: factorization) == model.fit(targets: labels[0], using: factorization))
            for k in 2...6 {
                let stacked = RegressionData(design: Matrix(rows: k * 12, columns: 3, storage: Array(repeating: x.storage, count: k).flatMap { $0 }),
                                             targets: labels[0..<k].flatMap { $0 })
                let direct = try model.fit(stacked, using: &rng)
                let shortcut = try model.fit(stackedTargets: Array(labels[0..<k]), using: factorization)
                for (a, b) in zip(direct.coefficients + [direct.intercept], shortcut.coefficients + [shortcut.intercept]) {
                    #expect(relativeError(a, b) < 1e-12, "k = \(k): \(a) vs \(b)")
                }
                #expect(relativeError(direct.noiseVariance, shortcut.noiseVariance) < 1e-12, "k = \(k)")
            }
        }
        let few = try #require(try LinearRegressionModel().factorize(design: Matrix(rows: 3, columns: 3, storage: Array(x.storage[0..<9]))))
        #expect(throws: FitError.nonFiniteData) {
            try LinearRegressionModel().fit(stackedTargets: [[1, 2, 3], [1, .nan, 3]], using: few)
        }
        // Estimated noise needs n > p: 3 rows x 1 copy is too few for p = 3, 2 copies suffice.
        #expect(throws: FitError.tooFewRows(needed: 4, got: 3)) { try LinearRegressionModel().fit(stackedTargets: [[1, 2, 3]], using: few) }
        #expect(try LinearRegressionModel().fit(stackedTargets: [[1, 2, 3], [2, 3, 4]], using: few).noiseVariance > 0)
    }

    /// Known noise: sigma² is the given value whatever the data; estimated: RSS / (n - p). Sampled
    /// labels have residual variance tau² sigma² around x·w + b; the sample variance of n residuals
    /// has SE ≈ tau² sigma² sqrt(2 / n); z < 5. Truncation bounds every residual by c sigma.
    @Test func knownAndEstimatedNoiseDriveSampling() throws {
        var rng = Philox4x32(seed: modelTestSeed, path: [3207])
        let known = try LinearRegressionModel(noise: .known(standardDeviation: 2)).fit(referenceData, using: &rng)
        #expect(known.noiseVariance == 4)
        #expect(known.coefficients == (try LinearRegressionModel().fit(referenceData, using: &rng)).coefficients)
        let estimated = try LinearRegressionModel().fit(referenceData, using: &rng)
        let residuals = zip(referenceData.targets, estimated.predict(referenceData.design)).map { $0 - $1 }
        #expect(relativeError(estimated.noiseVariance, residuals.reduce(0) { $0 + $1 * $1 } / 22) < 1e-13)

        let n = 40_000
        for (fit, tau) in [(known, 1.0), (known, 0.5), (estimated, 1.7)] {
            let data = fit.sample(count: n, options: SamplingOptions(temperature: tau), using: &rng)
            #expect(data.design.rows == n && data.design.columns == 3)
            let r = zip(data.targets, fit.predict(data.design)).map { $0 - $1 }
            let want = tau * tau * fit.noiseVariance
            let z = (Descriptive.variance(r, ddof: 0) - want) / (want * (2.0 / Double(n)).squareRoot())
            #expect(abs(z) < 5, "tau \(tau): residual variance \(Descriptive.variance(r, ddof: 0)) vs \(want), z = \(z)")
            // The fresh design is N(0, I): column variances 1 within 5 SE.
            let v = Descriptive.variance(data.design.column(0), ddof: 0)
            #expect(abs(v - 1) < 5 * (2.0 / Double(n)).squareRoot())
        }
        let cut = known.sample(count: 2_000, options: SamplingOptions(truncation: 0.5), using: &rng)
        #expect(zip(cut.targets, known.predict(cut.design)).allSatisfy { abs($0 - $1) <= 1 })
    }

    /// Degenerate designs give a flagged minimum-norm fit (numpy lstsq's SVD solution), never NaN;
    /// fits with no model at all throw.
    @Test func rankDeficientDesignsGiveFlaggedMinimumNormFits() throws {
        var rng = Philox4x32(seed: modelTestSeed, path: [3208])
        // A duplicated column: the two copies share the weight equally; s² divides by n - rank.
        let x = referenceData.design
        var duplicated = [Double]()
        for i in 0..<x.rows { duplicated += x.row(i) + [x[i, 0]] }
        let data = RegressionData(design: Matrix(rows: x.rows, columns: 4, storage: duplicated), targets: referenceData.targets)
        let model = LinearRegressionModel(intercept: true)
        #expect(try model.factorize(design: data.design) == nil)
        let fit = try model.fit(data, using: &rng)
        #expect(fit.degeneracy == .rankDeficientDesign)
        let want = Reference.minimumNormWithDuplicatedColumn
        // The eigen route squares kappa(Z) ~ 3: agreement to ~1e-13 absolute on O(1) values.
        for j in 0..<4 { #expect(abs(fit.coefficients[j] - want[j]) < 1e-12) }
        #expect(abs(fit.intercept - want[4]) < 1e-12)
        #expect(relativeError(fit.noiseVariance, Reference.noiseVarianceWithDuplicatedColumn) < 1e-12)
        #expect(fit.logDensities(data).allSatisfy { $0.isFinite })
        #expect(fit.sample(count: 10, options: .plain, using: &rng).targets.allSatisfy { $0.isFinite })

        // Fewer rows than coefficients with known noise: the minimum-norm interpolant.
        let few = RegressionData(design: Matrix([[1, 0, 0], [0, 1, 1]]), targets: [2, 4])
        let interpolant = try LinearRegressionModel(noise: .known(standardDeviation: 1)).fit(few, using: &rng)
        #expect(interpolant.degeneracy == .rankDeficientDesign && interpolant.noiseVariance == 1)
        for (got, want) in zip(interpolant.coefficients, [2.0, 2, 2]) { #expect(abs(got - want) < 1e-14) }
        // An all-zero design: rank 0, coefficients 0, s² = |y|² / n.
        let zero = RegressionData(design: Matrix(rows: 4, columns: 2), targets: [1, -1, 2, 0])
        let flat = try LinearRegressionModel().fit(zero, using: &rng)
        #expect(flat.coefficients == [0, 0] && flat.noiseVariance == 1.5 && flat.degeneracy == .rankDeficientDesign)
        // Estimated noise needs n > p; no coefficients at all, no rows, NaN: errors.
        #expect(throws: FitError.tooFewRows(needed: 4, got: 3)) {
            try LinearRegressionModel(intercept: true).fit(RegressionData(design: Matrix([[1, 2], [3, 1], [0, 5]]), targets: [1, 2, 3]), using: &rng)
        }
        #expect(throws: FitError.tooFewRows(needed: 1, got: 0)) {
            try LinearRegressionModel(noise: .known(standardDeviation: 1)).fit(RegressionData(design: Matrix(rows: 0, columns: 2), targets: []), using: &rng)
        }
        #expect(throws: FitError.dimensionMismatch(expected: 1, got: 0)) {
            try LinearRegressionModel().fit(RegressionData(design: Matrix(rows: 3, columns: 0), targets: [1, 2, 3]), using: &rng)
        }
        #expect(throws: FitError.nonFiniteData) {
            try LinearRegressionModel().fit(RegressionData(design: Matrix([[1], [2], [.nan]]), targets: [1, 2, 3]), using: &rng)
        }
        #expect(throws: FitError.nonFiniteData) {
            try LinearRegressionModel().fit(RegressionData(design: Matrix([[1], [2], [3]]), targets: [1, .infinity, 3]), using: &rng)
        }
        // An intercept-only model (d = 0) is the sample mean and unbiased variance.
        let meanOnly = try LinearRegressionModel(intercept: true).fit(RegressionData(design: Matrix(rows: 4, columns: 0), targets: [1, 2, 3, 6]), using: &rng)
        #expect(abs(meanOnly.intercept - 3) < 1e-15 && abs(meanOnly.noiseVariance - 14.0 / 3) < 1e-14)
        #expect(meanOnly.sample(count: 3, options: .plain, using: &rng).design.shapeDescription == "3 x 0")
    }

    /// A known noise of 0 is the collapsed limit: `.zeroVariance`, point-mass densities, labels
    /// without noise (no stream use, whatever the knobs).
    @Test func zeroNoiseIsAFlaggedPointMass() throws {
        var rng = Philox4x32(seed: modelTestSeed, path: [3209])
        let data = RegressionData(design: Matrix([[1], [2], [4]]), targets: [2, 4, 8])
        let fit = try LinearRegressionModel(noise: .known(standardDeviation: 0)).fit(data, using: &rng)
        #expect(abs(fit.coefficients[0] - 2) < 1e-15 && fit.noiseVariance == 0 && fit.degeneracy == .zeroVariance)
        let mean = fit.predict(Matrix([[1]]))[0]
        #expect(fit.logDensities(RegressionData(design: Matrix([[1], [1]]), targets: [mean, 3])) == [.infinity, -.infinity])
        let before = rng
        let relabelled = fit.labels(for: data.design, options: SamplingOptions(temperature: 2, truncation: 1), using: &rng)
        #expect(relabelled.targets == fit.predict(data.design) && rng == before)
    }

    @Test func conformance() throws {
        var rng = Philox4x32(seed: modelTestSeed, path: [3210])
        let model = LinearRegressionModel(intercept: true, noise: .estimated, design: .fresh)
        let fit = try model.fit(referenceData, using: &rng)
        #expect(try model.fit(referenceData, using: &rng) == fit)
        let before = rng
        let empty = fit.sample(count: 0, options: .plain, using: &rng)
        #expect(empty.count == 0 && empty.design.columns == 3 && rng == before)
        #expect(fit.labels(for: Matrix(rows: 0, columns: 3), options: .plain, using: &rng).count == 0)
        var a = Philox4x32(seed: modelTestSeed, path: [3210, 1]), b = a
        #expect(fit.sample(count: 50, options: .plain, using: &a) == fit.sample(count: 50, options: .plain, using: &b))
        let own = fit.sample(count: 200, options: .plain, using: &rng)
        #expect(fit.logDensities(own).allSatisfy { $0.isFinite })
        // Codable: settings (both noise models), fit, data; strict noise decoding.
        let encoder = JSONEncoder(), decoder = JSONDecoder()
        for settings in [model, LinearRegressionModel(noise: .known(standardDeviation: 0.3), design: .fixed)] {
            #expect(try decoder.decode(LinearRegressionModel.self, from: encoder.encode(settings)) == settings)
        }
        #expect(String(decoding: try encoder.encode(NoiseModel.estimated), as: UTF8.self) == #""estimated""#)
        #expect(try decoder.decode(NoiseModel.self, from: Data(#"{"known":1.5}"#.utf8)) == .known(standardDeviation: 1.5))
        #expect(throws: DecodingError.self) { try decoder.decode(NoiseModel.self, from: Data(#""estimate""#.utf8)) }
        #expect(try decoder.decode(FittedLinearRegression.self, from: encoder.encode(fit)) == fit)
        #expect(try decoder.decode(RegressionData.self, from: encoder.encode(own)) == own)
        // Settings validation.
        #expect(throws: ModelSettingsError.self) { try LinearRegressionModel(noise: .known(standardDeviation: -1)).validate() }
        #expect(throws: ModelSettingsError.self) { try LinearRegressionModel(noise: .known(standardDeviation: .nan)).validate() }
        try LinearRegressionModel(noise: .known(standardDeviation: 0)).validate()
        // Refitting on a huge own sample recovers the parameters (SE ~ sigma / sqrt(n) per coefficient).
        let n = 20_000
        let big = try model.fit(fit.sample(count: n, options: .plain, using: &rng), using: &rng)
        let se = fit.noiseStandardDeviation / Double(n).squareRoot()
        for j in 0..<3 { #expect(abs(big.coefficients[j] - fit.coefficients[j]) < 5 * se) }
        #expect(abs(big.intercept - fit.intercept) < 5 * se)
        #expect(abs(big.noiseVariance - fit.noiseVariance) < 5 * fit.noiseVariance * (2.0 / Double(n)).squareRoot())
    }
}

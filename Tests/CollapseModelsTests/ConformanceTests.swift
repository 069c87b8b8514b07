import CollapseCore
import Foundation
import Testing
@testable import CollapseModels

/// The contract every model family must keep (STYLE.md's conformance suite):
/// - settings survive a JSON round-trip;
/// - fitting is a pure function of (settings, data, stream): the same stream gives the same fit;
/// - a fitted model survives a JSON round-trip bit for bit;
/// - `sample(count: k)` returns k rows, `sample(count: 0)` returns none;
/// - log-densities of the model's own samples are finite (regular fits).
struct Conformance<Model: GenerativeModel> {
    let model: Model
    let data: Model.Data
    let rowCount: (Model.Data) -> Int

    func check(_ label: String, sourceLocation: SourceLocation = #_sourceLocation) throws {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys]
        let decoder = JSONDecoder()

        #expect(try decoder.decode(Model.self, from: encoder.encode(model)) == model, "\(label): settings round-trip", sourceLocation: sourceLocation)
        try model.validate()

        let start = Philox4x32(seed: modelTestSeed, path: [0xC0F, 1])
        var rngA = start, rngB = start
        let fitA = try model.fit(data, using: &rngA)
        let fitB = try model.fit(data, using: &rngB)
        let bytesA = try encoder.encode(fitA), bytesB = try encoder.encode(fitB)
        #expect(bytesA == bytesB, "\(label): fitting twice with the same stream differs", sourceLocation: sourceLocation)
        #expect(rngA == rngB, "\(label): fitting consumed the stream differently", sourceLocation: sourceLocation)

        let decoded = try decoder.decode(Model.Fitted.self, from: bytesA)
        #expect(try encoder.encode(decoded) == bytesA, "\(label): fitted model round-trip", sourceLocation: sourceLocation)

        var rng = Philox4x32(seed: modelTestSeed, path: [0xC0F, 2])
        for count in [0, 1, 7, 200] {
            let s = fitA.sample(count: count, options: .plain, using: &rng)
            #expect(rowCount(s) == count, "\(label): sample(count: \(count)) gave \(rowCount(s)) rows", sourceLocation: sourceLocation)
            if fitA.degeneracy == nil {
                let logs = fitA.logDensities(s)
                #expect(logs.count == count, "\(label): one log-density per row", sourceLocation: sourceLocation)
                #expect(logs.allSatisfy { $0.isFinite }, "\(label): non-finite log-density on own samples", sourceLocation: sourceLocation)
            }
        }
        // The same stream state gives the same sample.
        var r1 = Philox4x32(seed: modelTestSeed, path: [0xC0F, 3]), r2 = r1
        let s1 = try encoder.encode(ShapeBox(fitA.logDensities(fitA.sample(count: 5, options: .plain, using: &r1))))
        let s2 = try encoder.encode(ShapeBox(fitA.logDensities(fitA.sample(count: 5, options: .plain, using: &r2))))
        #expect(s1 == s2, "\(label): sampling is not a function of the stream", sourceLocation: sourceLocation)
    }
}

private struct ShapeBox: Encodable {
    let values: [String]
    init(_ xs: [Double]) { values = xs.map { String($0) } }
}

func gaussianRows(_ n: Int, dimension d: Int, path: UInt32) -> Matrix {
    var rng = Philox4x32(seed: modelTestSeed, path: [0xC0F, path])
    var m = Matrix(rows: n, columns: d)
    m.storage.withUnsafeMutableBufferPointer { StandardNormal.fill($0, using: &rng) }
    return m
}

@Suite struct ConformanceTests {
    @Test func gaussianConforms() throws {
        for estimator in CovarianceEstimator.allCases {
            try Conformance(model: GaussianModel(estimator: estimator), data: gaussianRows(50, dimension: 1, path: 10),
                            rowCount: { $0.rows }).check("gaussian \(estimator)")
        }
    }

    @Test func multivariateGaussianConforms() throws {
        try Conformance(model: MultivariateGaussianModel(), data: gaussianRows(60, dimension: 4, path: 11),
                        rowCount: { $0.rows }).check("mvn")
        try Conformance(model: MultivariateGaussianModel(estimator: .unbiased, regularization: 1e-3),
                        data: gaussianRows(3, dimension: 4, path: 12), rowCount: { $0.rows }).check("mvn regularised, M < d")
        try Conformance(model: MultivariateGaussianModel(), data: gaussianRows(3, dimension: 4, path: 13),
                        rowCount: { $0.rows }).check("mvn singular")
    }

    @Test func kernelDensityConforms() throws {
        try Conformance(model: KernelDensityModel(bandwidth: .scott), data: gaussianRows(80, dimension: 2, path: 20), rowCount: { $0.rows }).check("kde scott")
        try Conformance(model: KernelDensityModel(bandwidth: .silverman), data: gaussianRows(80, dimension: 1, path: 21), rowCount: { $0.rows }).check("kde silverman")
        try Conformance(model: KernelDensityModel(bandwidth: .fixed(0.4)), data: gaussianRows(1, dimension: 3, path: 22), rowCount: { $0.rows }).check("kde fixed, one row")
        try Conformance(model: KernelDensityModel(bandwidth: .scott), data: gaussianRows(2, dimension: 3, path: 23), rowCount: { $0.rows }).check("kde singular")
        try Conformance(model: KernelDensityModel(bandwidth: .scott), data: Matrix(rows: 5, columns: 2, repeating: 0.5), rowCount: { $0.rows }).check("kde point mass")
    }

    @Test func categoricalConforms() throws {
        var rng = Philox4x32(seed: modelTestSeed, path: [0xC0F, 30])
        let tokens = TokenCounts(counts: Multinomial.counts(total: 500, probabilities: Zipf.probabilities(vocabulary: 40, exponent: 1.1), using: &rng))
        try Conformance(model: CategoricalModel(smoothing: 0.5), data: tokens, rowCount: { $0.total }).check("categorical smoothed")
        try Conformance(model: CategoricalModel(), data: tokens, rowCount: { $0.total }).check("categorical")
    }

    @Test func linearRegressionConforms() throws {
        var rng = Philox4x32(seed: modelTestSeed, path: [0xC0F, 31])
        let truth = FittedLinearRegression(coefficients: [1, -2, 0.5], intercept: 0.3, noiseVariance: 0.25)
        let data = truth.sample(count: 60, options: .plain, using: &rng)
        try Conformance(model: LinearRegressionModel(intercept: true, noise: .known(standardDeviation: 0.5)), data: data, rowCount: { $0.count }).check("linear-regression known noise")
        try Conformance(model: LinearRegressionModel(), data: data, rowCount: { $0.count }).check("linear-regression")
    }

    @Test func classConditionalConforms() throws {
        let features = gaussianRows(90, dimension: 2, path: 32)
        let labels = (0..<90).map { $0 % 3 == 0 ? 1 : 0 }
        try Conformance(model: ClassConditionalModel(base: MultivariateGaussianModel(), classCount: 2),
                        data: LabelledData(features: features, labels: labels), rowCount: { $0.count }).check("class-conditional mvn")
        try Conformance(model: ClassConditionalModel(base: KernelDensityModel(), classCount: 3),
                        data: LabelledData(features: features, labels: labels), rowCount: { $0.count }).check("class-conditional kde, extinct class")
    }

    @Test func gaussianMixtureConforms() throws {
        try Conformance(model: GaussianMixtureModel(components: 3, nInit: 2), data: gaussianRows(120, dimension: 2, path: 40), rowCount: { $0.rows }).check("gmm")
        try Conformance(model: GaussianMixtureModel(components: 2), data: Matrix(rows: 20, columns: 3, repeating: 0.25), rowCount: { $0.rows }).check("gmm identical rows")
        try Conformance(model: GaussianMixtureModel(components: 5), data: gaussianRows(5, dimension: 2, path: 41), rowCount: { $0.rows }).check("gmm K = n")
        try Conformance(model: GaussianMixtureModel(components: 2, regularization: 0),
                        data: gaussianRows(40, dimension: 1, path: 42).appendingRows(Matrix(rows: 10, columns: 1, repeating: 7.1)),
                        rowCount: { $0.rows }).check("gmm 1-D identical cluster, no regularisation")
        let features = gaussianRows(90, dimension: 2, path: 43), labels = (0..<90).map { $0 % 3 == 0 ? 1 : 0 }
        try Conformance(model: ClassConditionalModel(base: GaussianMixtureModel(components: 2), classCount: 2),
                        data: LabelledData(features: features, labels: labels), rowCount: { $0.count }).check("class-conditional gmm")
    }
}

import CollapseCore
import CollapseMetrics
import CollapseModels
import Foundation
import Testing
@testable import CollapseRunner

/// One config that must be rejected: the message must contain `fragment` (which includes the key
/// path) and, where given, point at `line`.
struct BadConfig: Sendable, CustomTestStringConvertible {
    var yaml: String
    var fragment: String
    var line: Int?
    var testDescription: String { fragment }

    init(_ yaml: String, _ fragment: String, line: Int? = nil) {
        self.yaml = yaml
        self.fragment = fragment
        self.line = line
    }
}

private typealias T = ConfigTesting

@Suite struct ConfigLoaderTests {
    // MARK: Valid configs

    static let designExample = """
        name: mixing-ratio-gaussian
        description: How much real data stops a 1-D Gaussian from collapsing?
        seed: 7
        replicates: 500
        generations: 100
        samples: 100                 # M, training rows per generation
        real: {distribution: gaussian, mean: 0, std: 1, holdout: 10000}
        model: {kind: gaussian, estimator: mle}
        regime: {kind: mix, real_fraction: 0.1}
        sampling: {temperature: 1.0}
        metrics: [variance, tail_mass, mean_shift, w2, nll_real]
        sweep:                       # grid: each combination is one variant
          regime.real_fraction: [0, 0.01, 0.1, 0.5]
        """

    @Test func designDocumentExampleLoadsVerbatim() throws {
        let loader = ConfigLoader(catalog: TestCatalog(extra: ["tail_mass", "w2", "nll_real"]))
        let experiment = try T.load(Self.designExample, loader: loader)
        #expect(experiment.name == "mixing-ratio-gaussian")
        #expect(experiment.sweptKeys == ["regime.real_fraction"])
        #expect(experiment.variants.map(\.index) == [0, 1, 2, 3])
        #expect(experiment.variants.map(\.config.regime.realFraction) == [0, 0.01, 0.1, 0.5])
        #expect(experiment.variants.map { $0.parameters[0].value } == [.integer(0), .number(0.01), .number(0.1), .number(0.5)])
        #expect(experiment.configSHA256 == SHA256.hexDigest(Self.designExample.utf8))
        #expect(experiment.configText == Self.designExample)
        #expect(experiment.chainCount == 2000)
        let c = experiment.variants[2].config
        #expect(c.description == "How much real data stops a 1-D Gaussian from collapsing?")
        #expect(c.seed == 7)
        #expect(c.replicates == 500)
        #expect(c.generations == 100)
        #expect(c.samples == 100)
        #expect(c.real == RealSourceConfig(source: .gaussian(mean: 0, std: 1), holdout: 10000))
        #expect(c.model == ModelConfig(family: .gaussian(estimator: .mle)))
        #expect(c.regime == RegimeConfig(kind: .mix, realFraction: 0.1))
        #expect(c.sampling == SamplingOptions(temperature: 1))
        #expect(c.metrics == ["variance", "tail_mass", "mean_shift", "w2", "nll_real"])
    }

    @Test func defaultsComeFromConfigDefaults() throws {
        let experiment = try T.load("name: minimal\nreal: {distribution: gaussian}\nmodel: {kind: gaussian}\n")
        #expect(experiment.sweptKeys.isEmpty)
        #expect(experiment.variants.count == 1)
        #expect(experiment.variants[0].parameters.isEmpty)
        let c = experiment.variants[0].config
        #expect(c.description == ConfigDefaults.description)
        #expect(c.seed == ConfigDefaults.seed)
        #expect(c.replicates == ConfigDefaults.replicates)
        #expect(c.generations == ConfigDefaults.generations)
        #expect(c.samples == ConfigDefaults.samples)
        #expect(c.recordEvery == ConfigDefaults.recordEvery)
        #expect(c.real.holdout == ConfigDefaults.holdout)
        #expect(c.real.source == .gaussian(mean: ConfigDefaults.gaussianMean, std: ConfigDefaults.gaussianStd))
        #expect(c.model == ModelConfig(family: .gaussian(estimator: ConfigDefaults.estimator), classConditional: false))
        #expect(c.regime == RegimeConfig(kind: ConfigDefaults.regime, realFraction: ConfigDefaults.realFraction))
        #expect(c.sampling == SamplingOptions(temperature: ConfigDefaults.temperature, truncation: nil, topK: nil))
        #expect(c.metrics == TestCatalog().defaultMetrics(for: c))
        #expect(c.export == [])
    }

    @Test func everyModelKindResolvesWithItsDefaults() throws {
        func family(_ real: String, _ model: String) throws -> ModelConfig.Family {
            try T.load(T.doc(real: real, model: model)).variants[0].config.model.family
        }
        #expect(try family("{distribution: gaussian}", "{kind: gaussian, estimator: unbiased}") == .gaussian(estimator: .unbiased))
        #expect(try family("{distribution: mvn, dim: 2}", "{kind: mvn}")
            == .mvn(estimator: .mle, regularization: ConfigDefaults.mvnRegularization))
        #expect(try family("{distribution: mvn, dim: 2}", "{kind: mvn, estimator: unbiased, regularization: 0.01}")
            == .mvn(estimator: .unbiased, regularization: 0.01))
        #expect(try family("{distribution: gaussian}", "{kind: gmm}")
            == .gmm(components: ConfigDefaults.gmmComponents, restarts: ConfigDefaults.gmmRestarts, tolerance: ConfigDefaults.gmmTolerance,
                    maxIterations: ConfigDefaults.gmmMaxIterations, regularization: ConfigDefaults.gmmRegularization))
        #expect(try family("{distribution: gaussian}", "{kind: gmm, components: 3, n_init: 4, tolerance: 1e-6, max_iterations: 50, regularization: 0}")
            == .gmm(components: 3, restarts: 4, tolerance: 1e-6, maxIterations: 50, regularization: 0))
        #expect(try family("{distribution: student-t, df: 3}", "{kind: kde}") == .kde(bandwidth: .scott))
        #expect(try family("{distribution: student-t, df: 3}", "{kind: kde, bandwidth: silverman}") == .kde(bandwidth: .silverman))
        #expect(try family("{distribution: student-t, df: 3}", "{kind: kde, bandwidth: 0.25}") == .kde(bandwidth: .fixed(0.25)))
        #expect(try family("{distribution: linear-regression, coefficients: [1, 2]}", "{kind: linear-regression}")
            == .linearRegression(intercept: false, knownNoise: false, freshDesign: false))
        #expect(try family("{distribution: linear-regression, coefficients: [1, 2]}",
                           "{kind: linear-regression, intercept: true, noise: known, design: fresh}")
            == .linearRegression(intercept: true, knownNoise: true, freshDesign: true))
        #expect(try family("{distribution: zipf, vocabulary: 50}", "{kind: categorical}") == .categorical(smoothing: 0))
        #expect(try family("{distribution: zipf, vocabulary: 50}", "{kind: categorical, smoothing: 0.5}") == .categorical(smoothing: 0.5))
    }

    @Test func everyKnownDistributionResolves() throws {
        func source(_ real: String, model: String = "{kind: kde}") throws -> RealSource {
            try T.load(T.doc(real: real, model: model)).variants[0].config.real.source
        }
        #expect(try source("{distribution: gaussian, mean: -2, std: 0.5}") == .gaussian(mean: -2, std: 0.5))
        #expect(try source("{distribution: mvn, dim: 2}") == .mvn(mean: [0, 0], covariance: .identity(2)))
        #expect(try source("{distribution: mvn, mean: [1, 2], covariance: [[2, 0.5], [0.5, 1]]}")
            == .mvn(mean: [1, 2], covariance: Matrix([[2, 0.5], [0.5, 1]])))
        #expect(try source("{distribution: mvn, dim: 3, spectrum: [3, 2, 1]}")
            == .mvn(mean: [0, 0, 0], covariance: .diagonal([3, 2, 1])))
        #expect(try source("{distribution: gmm, weights: [0.9, 0.1], means: [0, 5], stds: [1, 2]}")
            == .gmm(weights: [0.9, 0.1], means: [[0], [5]], covariances: [Matrix([[1]]), Matrix([[4]])]))
        #expect(try source("{distribution: gmm, weights: [0.5, 0.5], means: [[0, 0], [3, 3]], covariances: [[[1, 0], [0, 1]], [[2, 1], [1, 2]]]}")
            == .gmm(weights: [0.5, 0.5], means: [[0, 0], [3, 3]], covariances: [.identity(2), Matrix([[2, 1], [1, 2]])]))
        #expect(try source("{distribution: student-t, df: 2.5}") == .studentT(df: 2.5, loc: 0, scale: 1))
        #expect(try source("{distribution: student-t, df: 4, loc: 1, scale: 3}") == .studentT(df: 4, loc: 1, scale: 3))
        #expect(try source("{distribution: zipf, vocabulary: 1000, exponent: 1.1}", model: "{kind: categorical}")
            == .zipf(vocabulary: 1000, exponent: 1.1))
        #expect(try source("{distribution: zipf, vocabulary: 10}", model: "{kind: categorical}")
            == .zipf(vocabulary: 10, exponent: ConfigDefaults.zipfExponent))
        #expect(try source("{distribution: linear-regression, dim: 2, coefficients: [0.5, -1], noise_std: 0.1}",
                           model: "{kind: linear-regression}")
            == .linearRegression(coefficients: [0.5, -1], noiseStd: 0.1))
    }

    @Test func datasetSourcesWithLabelAndWithTargetLoadRelativeToTheConfig() throws {
        let folder = TemporaryFolder()
        defer { folder.remove() }
        folder.write("data/groups.csv", "x,y,group\n1,2,a\n3,4,b\n5,6,a\n7,8,c\n9,10,b\n11,12,a\n")
        folder.write("data/reg.csv", "x1,x2,y\n1,0,1.5\n0,1,2.5\n1,1,4\n2,1,5.5\n1,2,6.5\n3,3,12\n")
        let labelled = folder.write("configs/labelled.yaml", """
            name: labelled
            samples: 3
            real: {dataset: ../data/groups.csv, label: group, holdout: 2}
            model: {kind: mvn, class_conditional: true}
            """)
        let experiment = try T.loader.load(path: labelled)
        guard case let .dataset(d) = experiment.variants[0].config.real.source else {
            Issue.record("expected a dataset source")
            return
        }
        #expect(d.path == "../data/groups.csv")
        #expect(d.resolvedPath == URL(fileURLWithPath: folder.path + "/data/groups.csv").standardizedFileURL.path)
        #expect(d.featureColumns == ["x", "y"])
        #expect(d.labelColumn == "group")
        #expect(d.classNames == ["a", "b", "c"])
        #expect(d.labels == [0, 1, 0, 2, 1, 0])
        #expect(d.features == Matrix([[1, 2], [3, 4], [5, 6], [7, 8], [9, 10], [11, 12]]))
        let bytes = try [UInt8](Data(contentsOf: URL(fileURLWithPath: folder.path + "/data/groups.csv")))
        #expect(d.sha256 == SHA256.hexDigest(bytes))
        #expect(experiment.configSHA256 == SHA256.hexDigest(try Data(contentsOf: URL(fileURLWithPath: labelled))))

        let regression = folder.write("reg.yaml", """
            name: regression
            samples: 3
            real: {dataset: data/reg.csv, target: y, columns: [x2, x1], holdout: 3}
            model: {kind: linear-regression}
            """)
        let r = try T.loader.load(path: regression).variants[0].config
        guard case let .dataset(rd) = r.real.source else {
            Issue.record("expected a dataset source")
            return
        }
        #expect(rd.featureColumns == ["x2", "x1"])
        #expect(rd.targetColumn == "y")
        #expect(rd.targets == [1.5, 2.5, 4, 5.5, 6.5, 12])
        #expect(rd.features.row(0) == [0, 1])
        #expect(rd.labels == nil)
    }

    // MARK: Sweeps

    @Test func sweepVariantsAreTheCartesianProductWithTheLastKeyFastest() throws {
        let experiment = try T.load(T.doc("""
            regime: {kind: mix}
            sweep:
              regime.kind: [mix, fresh]
              regime.real_fraction: [0, 0.5, 1]
            """))
        #expect(experiment.sweptKeys == ["regime.kind", "regime.real_fraction"])
        #expect(experiment.variants.map(\.index) == Array(0..<6))
        #expect(experiment.variants.map(\.config.regime.kind) == [.mix, .mix, .mix, .fresh, .fresh, .fresh])
        #expect(experiment.variants.map(\.config.regime.realFraction) == [0, 0.5, 1, 0, 0.5, 1])
        #expect(experiment.variants[4].parameters == [
            SweptValue(keyPath: "regime.kind", value: .string("fresh")),
            SweptValue(keyPath: "regime.real_fraction", value: .number(0.5)),
        ])
        #expect(experiment.variants[5].parameters[1].value == .integer(1))
    }

    @Test func sweptValuesKeepTheirWrittenTypeAndMayAddAbsentKeys() throws {
        let experiment = try T.load(T.doc(model: "{kind: gmm}", """
            sweep:
              model.components: [1, 2]
              model.class_conditional: [false]
              sampling.temperature: [0.5, 1.0]
              description: ["a", b]
            """))
        #expect(experiment.variants.count == 8)
        let p = experiment.variants[7].parameters.map(\.value)
        #expect(p == [.integer(2), .bool(false), .number(1), .string("b")])
        #expect(experiment.variants[7].config.sampling.temperature == 1)
        #expect(experiment.variants[1].config.sampling.temperature == 0.5)
        #expect(experiment.variants.map(\.config.description) == ["a", "b", "a", "b", "a", "b", "a", "b"])
        if case let .gmm(components, _, _, _, _) = experiment.variants[7].config.model.family {
            #expect(components == 2)
        } else {
            Issue.record("expected a gmm")
        }
    }

    @Test func sweepErrorsNameTheVariantAndItsValues() {
        let error = T.error(T.doc("""
            regime: {kind: mix}
            sweep:
              regime.kind: [mix, fresh]
              regime.real_fraction: [0.5, 2]
            """))
        #expect(error?.variant == "sweep variant 1 (regime.kind=mix, regime.real_fraction=2)")
        #expect(error?.description == "test.yaml:8:31: sweep variant 1 (regime.kind=mix, regime.real_fraction=2): regime.real_fraction: expected a number in [0, 1], got 2")
    }

    @Test func problemsOutsideTheSweepAreReportedWithoutAVariant() {
        let error = T.error(T.doc("replicats: 3\nsweep: {samples: [10, 20]}\n"))
        #expect(error?.variant == nil)
        #expect(error?.keyPath == "replicats")
        #expect(error?.line == 5)
    }

    // MARK: Overrides

    @Test func overridesReplaceTheConfigValuesInEveryVariant() throws {
        let overrides = ConfigOverrides(replicates: 3, generations: 4, seed: UInt64.max)
        let experiment = try T.load(T.doc("replicates: 100\ngenerations: 50\nseed: 1\nsweep: {regime.real_fraction: [0, 1]}\n"),
                                    overrides: overrides)
        for variant in experiment.variants {
            #expect(variant.config.replicates == 3)
            #expect(variant.config.generations == 4)
            #expect(variant.config.seed == UInt64.max)
        }
    }

    @Test func badOverridesAreReportedLikeConfigValues() {
        let error = T.error(T.doc(), overrides: ConfigOverrides(replicates: 0))
        #expect(error?.description == "test.yaml: replicates: expected an integer >= 1, got 0 (from --replicates)")
        let conflict = T.error(T.doc("sweep: {generations: [1, 2]}\n"), overrides: ConfigOverrides(generations: 5))
        #expect(conflict?.keyPath == "sweep.generations")
        #expect(conflict?.message == "--generations cannot override a swept key")
        let export = T.error(T.doc("generations: 10\nexport: [0, 10]\n"), overrides: ConfigOverrides(generations: 5))
        #expect(export?.description.contains("export[1]: expected a generation in [0, 5], got 10") == true)
    }

    // MARK: YAML features

    @Test func anchorsAliasesAndMergeKeysWork() throws {
        let experiment = try T.load("""
            name: anchors
            real: &src {distribution: gaussian, std: 2}
            model: {kind: gaussian}
            sweep: {real.std: [1, 2]}
            """)
        #expect(experiment.variants[1].config.real.source == .gaussian(mean: 0, std: 2))
        let merged = try T.load("""
            name: merged
            samples: &m 20
            real: {distribution: gmm, weights: [0.5, 0.5], means: [0, 4], stds: [1, 1]}
            model:
              <<: {kind: gmm, components: 5}
              components: *m
            """)
        if case let .gmm(components, _, _, _, _) = merged.variants[0].config.model.family {
            #expect(components == 20)
        } else {
            Issue.record("expected a gmm")
        }
    }

    @Test func aUTF8ByteOrderMarkAndWindowsLineEndingsAreFine() throws {
        let text = "name: bom\r\nreal: {distribution: gaussian}\r\nmodel: {kind: gaussian}\r\n"
        let experiment = try T.loader.load(bytes: [0xEF, 0xBB, 0xBF] + Array(text.utf8), path: "bom.yaml")
        #expect(experiment.name == "bom")
    }

    // MARK: Bad configs

    static let badConfigs: [BadConfig] = [
        // Typos at every level.
        BadConfig(T.doc("replicats: 5\n"), "test.yaml:5:1: replicats: unknown key; did you mean `replicates`?", line: 5),
        BadConfig(T.doc(real: "{distribution: gaussian, sdt: 2}"), "real.sdt: unknown key; did you mean `std`?\n  valid keys in `real`: distribution, holdout, mean, std", line: 3),
        BadConfig(T.doc(real: "{distrbution: gaussian}"), "real.distrbution: unknown key; did you mean `distribution`?", line: 3),
        BadConfig(T.doc(model: "{kind: gmm, compnents: 3}"), "model.compnents: unknown key; did you mean `components`?", line: 4),
        BadConfig(T.doc("regime:\n  knd: mix\n"), "test.yaml:6:3: regime.knd: unknown key; did you mean `kind`?", line: 6),
        BadConfig(T.doc("sampling:\n  temprature: 0.5\n"), "sampling.temprature: unknown key; did you mean `temperature`?", line: 6),
        BadConfig(T.doc("colour: blue\n"), "colour: unknown key\n  valid keys in the top level: name, description, seed", line: 5),
        BadConfig(T.doc(model: "{kind: gausian}"), "model.kind: expected one of gaussian, mvn, gmm, kde, linear-regression, categorical, got gausian\n  did you mean `gaussian`?", line: 4),
        BadConfig(T.doc("regime: {kind: mixx}\n"), "regime.kind: expected one of replace, accumulate, accumulate-subsample, mix, fresh, got mixx", line: 5),
        BadConfig(T.doc(model: "{kind: gaussian, estimator: unbaised}"), "model.estimator: expected one of mle, unbiased, got unbaised\n  did you mean `unbiased`?", line: 4),
        // Keys of another kind.
        BadConfig(T.doc(model: "{kind: gaussian, components: 3}"), "model.components: `components` does not apply to model kind `gaussian`", line: 4),
        BadConfig(T.doc(real: "{distribution: gaussian, dim: 3}"), "real.dim: `dim` does not apply to distribution `gaussian`", line: 3),
        BadConfig(T.doc(real: "{distribution: gaussian, label: g}"), "real.label: `label` does not apply to distribution `gaussian`", line: 3),
        // Wrong types.
        BadConfig(T.doc(samples: "many"), "test.yaml:2:10: samples: expected an integer >= 1, got many", line: 2),
        BadConfig(T.doc(samples: "2.5"), "samples: expected an integer >= 1, got 2.5", line: 2),
        BadConfig(T.doc(samples: "\"20\""), "samples: expected an integer >= 1, got \"20\"\n  remove the quotes", line: 2),
        BadConfig(T.doc(samples: "1e3"), "samples: expected an integer >= 1, got 1e3\n  write it as an integer: 1000", line: 2),
        BadConfig(T.doc(samples: ""), "samples: expected an integer >= 1, got nothing (null)", line: 2),
        BadConfig(T.doc(samples: "[1, 2]"), "samples: expected an integer >= 1, got a list", line: 2),
        BadConfig(T.doc(real: "gaussian"), "real: expected a mapping of keys, got gaussian", line: 3),
        BadConfig(T.doc(model: "{kind: linear-regression, intercept: yes}", ).replacingOccurrences(of: "{distribution: gaussian}", with: "{distribution: linear-regression, coefficients: [1]}"),
                  "model.intercept: expected true or false, got yes\n  YAML 1.2 booleans are `true` and `false`", line: 4),
        BadConfig(T.doc("metrics: variance\n"), "metrics: expected a non-empty list of metric names, got variance", line: 5),
        BadConfig(T.doc(real: "{distribution: gaussian, std: .inf}"), "real.std: expected a number > 0, got .inf", line: 3),
        BadConfig(T.doc("seed: -1\n"), "seed: expected a non-negative integer below 2^64, got -1", line: 5),
        BadConfig(T.doc("seed: 18446744073709551616\n"), "seed: expected a non-negative integer below 2^64, got 18446744073709551616", line: 5),
        BadConfig(T.doc(samples: "!foo 3"), "samples: YAML tag `!foo` is not supported", line: 2),
        BadConfig("- a\n- b\n", "expected a mapping of config keys at the top level, got a list", line: 1),
        BadConfig("# nothing here\n", "test.yaml: the config is empty"),
        // Out of range.
        BadConfig(T.doc(samples: "0"), "samples: expected an integer >= 1, got 0", line: 2),
        BadConfig(T.doc(samples: "-5"), "samples: expected an integer >= 1, got -5", line: 2),
        BadConfig(T.doc("replicates: 0\n"), "replicates: expected an integer >= 1, got 0", line: 5),
        BadConfig(T.doc("generations: -1\n"), "generations: expected an integer >= 0, got -1", line: 5),
        BadConfig(T.doc("record_every: 0\n"), "record_every: expected an integer >= 1, got 0", line: 5),
        BadConfig(T.doc("regime: {kind: mix, real_fraction: 1.5}\n"), "test.yaml:5:36: regime.real_fraction: expected a number in [0, 1], got 1.5", line: 5),
        BadConfig(T.doc("regime: {kind: mix, real_fraction: -0.1}\n"), "regime.real_fraction: expected a number in [0, 1], got -0.1", line: 5),
        BadConfig(T.doc("sampling: {temperature: 0}\n"), "sampling.temperature: expected a number > 0, got 0", line: 5),
        BadConfig(T.doc("sampling: {temperature: -1}\n"), "sampling.temperature: expected a number > 0, got -1", line: 5),
        BadConfig(T.doc("sampling: {truncate: 0}\n"), "sampling.truncate: expected a number > 0, got 0", line: 5),
        BadConfig(T.doc(real: "{distribution: gaussian, std: 0}"), "real.std: expected a number > 0, got 0", line: 3),
        BadConfig(T.doc(real: "{distribution: gaussian, holdout: 0}"), "real.holdout: expected an integer >= 1, got 0", line: 3),
        BadConfig(T.doc(samples: "3", model: "{kind: gmm, components: 5}"), "model.components: 5 components exceed samples (M = 3)", line: 4),
        BadConfig(T.doc(samples: "1", model: "{kind: gaussian, estimator: unbiased}"), "samples: expected an integer >= 2 for the unbiased estimator (it divides by M - 1), got 1", line: 2),
        BadConfig(T.doc(samples: "2", real: "{distribution: linear-regression, coefficients: [1, 2]}", model: "{kind: linear-regression}"),
                  "samples: expected an integer >= 3 to estimate 2 coefficients and the noise variance, got 2", line: 2),
        BadConfig(T.doc("generations: 5\nexport: [0, 6]\n"), "export[1]: expected a generation in [0, 5], got 6", line: 6),
        BadConfig(T.doc("export: [1, 1]\n"), "export[1]: generation 1 is already listed at export[0]", line: 5),
        // Distribution parameters.
        BadConfig(T.doc(real: "{distribution: mvn, dim: 2, covariance: [[1, 2], [2, 1]]}", model: "{kind: mvn}"),
                  "real.covariance: expected a symmetric positive definite matrix", line: 3),
        BadConfig(T.doc(real: "{distribution: mvn, covariance: [[1, 0.5], [0.4, 1]]}", model: "{kind: mvn}"),
                  "real.covariance[1][0]: the matrix is not symmetric", line: 3),
        BadConfig(T.doc(real: "{distribution: mvn, dim: 2, mean: [0, 0, 0]}", model: "{kind: mvn}"),
                  "real.mean: expected a list of 2 numbers (dim is 2), got 3 values", line: 3),
        BadConfig(T.doc(real: "{distribution: mvn, dim: 2, spectrum: [1, 0]}", model: "{kind: mvn}"),
                  "real.spectrum[1]: expected a number > 0, got 0", line: 3),
        BadConfig(T.doc(real: "{distribution: mvn, covariance: [[1]], spectrum: [1]}", model: "{kind: mvn}"),
                  "real.spectrum: give `covariance` or `spectrum`, not both", line: 3),
        BadConfig(T.doc(real: "{distribution: mvn}", model: "{kind: mvn}"), "real.dim: required key is missing from `real`", line: 3),
        BadConfig(T.doc(real: "{distribution: gmm, weights: [0.5, 0.4], means: [0, 1], stds: [1, 1]}"),
                  "real.weights: the weights sum to 0.9, expected 1 (within 1e-9)", line: 3),
        BadConfig(T.doc(real: "{distribution: gmm, weights: [0.5, 0.5], means: [[0, 0], [1, 1]], stds: [1, 1]}", model: "{kind: mvn}"),
                  "real.stds: `stds` is for 1-D mixtures; these means have 2 dimensions", line: 3),
        BadConfig(T.doc(real: "{distribution: gmm, weights: [0.5, 0.5], means: [0, [1]], stds: [1, 1]}"),
                  "real.means[1]: expected a number like real.means[0] (1-D mixture), got a list", line: 3),
        BadConfig(T.doc(real: "{distribution: student-t}"), "real.df: required key is missing from `real`", line: 3),
        BadConfig(T.doc(real: "{distribution: zipf, vocabulary: 1}", model: "{kind: categorical}"),
                  "real.vocabulary: expected an integer in [2, 10000000], got 1", line: 3),
        BadConfig(T.doc(real: "{distribution: linear-regression, dim: 3, coefficients: [1, 2]}", model: "{kind: linear-regression}"),
                  "real.coefficients: expected a list of 3 numbers (dim is 3), got 2 values", line: 3),
        BadConfig(T.doc(real: "{distribution: gaussian, dataset: x.csv}"), "real.dataset: `real` takes either `distribution` or `dataset`, not both", line: 3),
        BadConfig(T.doc(real: "{holdout: 10}"), "real: needs `distribution` (a known distribution) or `dataset` (a CSV file)", line: 3),
        BadConfig(T.doc(real: "{distribution: normal}"), "real.distribution: expected one of gaussian, mvn, gmm, student-t, zipf, linear-regression, got normal", line: 3),
        // Model against data.
        BadConfig(T.doc(real: "{distribution: mvn, dim: 3}"), "model.kind: model gaussian is 1-D but the real data have 3 dimensions", line: 4),
        BadConfig(T.doc(real: "{distribution: zipf, vocabulary: 10}"), "model.kind: real.distribution zipf produces categorical tokens; model `gaussian` cannot fit them", line: 4),
        BadConfig(T.doc(model: "{kind: categorical}"), "model.kind: model categorical needs categorical tokens (real.distribution zipf)", line: 4),
        BadConfig(T.doc(model: "{kind: linear-regression}"), "model.kind: model linear-regression needs (x, y) pairs", line: 4),
        BadConfig(T.doc(real: "{distribution: linear-regression, coefficients: [1]}"), "model.kind: real.distribution linear-regression produces (x, y) pairs", line: 4),
        BadConfig(T.doc(model: "{kind: gaussian, class_conditional: true}"), "model.class_conditional: class-conditional models need class labels", line: 4),
        BadConfig(T.doc(real: "{distribution: zipf, vocabulary: 10}", model: "{kind: categorical, class_conditional: true}"),
                  "model.class_conditional: class-conditional models are a mode of the continuous kinds", line: 4),
        BadConfig(T.doc("sampling: {top_k: 5}\n"), "sampling.top_k: `top_k` applies to model categorical only, not `gaussian`", line: 5),
        BadConfig(T.doc(real: "{distribution: zipf, vocabulary: 10}", model: "{kind: categorical}", "sampling: {truncate: 2}\n"),
                  "sampling.truncate: `truncate` cuts the tails of continuous models", line: 5),
        BadConfig(T.doc(real: "{distribution: zipf, vocabulary: 10}", model: "{kind: categorical}", "sampling: {top_k: 11}\n"),
                  "sampling.top_k: expected an integer in [1, 10] (the vocabulary), got 11", line: 5),
        // sampling.shortcut (sufficient statistics): gaussian/mvn, replace, no truncation, no rows read or exported.
        BadConfig(T.doc("sampling: {shortcut: sufficient}\n"), "sampling.shortcut: expected one of none, sufficient-statistics", line: 5),
        BadConfig(T.doc(model: "{kind: kde}", "sampling: {shortcut: sufficient-statistics}\n"),
                  "sampling.shortcut: `sufficient-statistics` draws the refit of a gaussian or mvn model from its sufficient statistics; it does not apply to model kde", line: 5),
        BadConfig(T.doc(real: "{distribution: gmm, weights: [0.5, 0.5], means: [0, 3], stds: [1, 1]}", model: "{kind: gaussian, class_conditional: true}",
                        "sampling: {shortcut: sufficient-statistics}\n"),
                  "it does not apply to a class-conditional gaussian model", line: 5),
        BadConfig(T.doc("regime: {kind: mix, real_fraction: 0.5}\nsampling: {shortcut: sufficient-statistics}\n"),
                  "sampling.shortcut: `sufficient-statistics` needs regime replace (each training set exactly M rows of the last model); regime is mix", line: 6),
        BadConfig(T.doc("sampling: {shortcut: sufficient-statistics, truncate: 2}\n"),
                  "sampling.shortcut: `sufficient-statistics` has no closed form for truncated samples", line: 5),
        BadConfig(T.doc("generations: 3\nexport: [0, 2]\nsampling: {shortcut: sufficient-statistics}\n"),
                  "export: generation 2's training set is never materialised under sampling.shortcut sufficient-statistics", line: 6),
        // Metrics.
        BadConfig(T.doc("metrics: [varaince]\n"), "metrics[0]: unknown metric `varaince`; did you mean `variance`?", line: 5),
        BadConfig(T.doc("metrics: [variance, tv]\n"), "metrics[1]: metric `tv` cannot be measured in this experiment: needs a categorical model", line: 5),
        BadConfig(T.doc("metrics: [variance, variance]\n"), "metrics[1]: metric `variance` is already listed at metrics[0]", line: 5),
        BadConfig(T.doc("metrics: []\n"), "metrics: expected a non-empty list of metric names, got an empty list", line: 5),
        // Name.
        BadConfig("real: {distribution: gaussian}\nmodel: {kind: gaussian}\n", "name: required key is missing from the top level"),
        BadConfig(T.doc().replacingOccurrences(of: "name: t", with: "name: my experiment"), "name: expected a name of letters, digits", line: 1),
        BadConfig(T.doc().replacingOccurrences(of: "name: t", with: "name: .."), "name: expected a name of letters, digits", line: 1),
        // Sweeps.
        BadConfig(T.doc("sweep:\n  regime.real_fraction: []\n"), "sweep.regime.real_fraction: expected a non-empty list of values, e.g. [0, 0.1, 0.5], got an empty list", line: 6),
        BadConfig(T.doc("sweep:\n  regime.knd: [mix]\n"), "sweep.regime.knd: `regime.knd` is not a key that can be swept; did you mean `regime.kind`?", line: 6),
        BadConfig(T.doc("sweep:\n  name: [a, b]\n"), "sweep.name: `name` cannot be swept", line: 6),
        // A section that only the sweep creates: the error points at the swept value (found by BinaryFuzzTests).
        BadConfig("name: t\nsamples: 20\nreal: {distribution: gaussian}\nsweep:\n  model.bandwidth: [scott, 0.1]\n",
                  "test.yaml:5:21: sweep variant 0 (model.bandwidth=scott): model.kind: required key is missing from `model`", line: 5),
        BadConfig(T.doc("sweep:\n  metrics: [[variance]]\n"), "sweep.metrics: `metrics` holds a list; a sweep varies scalar keys only", line: 6),
        BadConfig(T.doc("sweep:\n  regime: [{kind: mix}]\n"), "sweep.regime: `regime` is a section; sweep one of its keys with a dotted key path", line: 6),
        BadConfig(T.doc("sweep:\n  samples: [10, [20]]\n"), "sweep.samples[1]: expected a single value (number, integer, string or boolean), got a list", line: 6),
        BadConfig(T.doc("sweep:\n  samples: [10, 20, 10.0]\n"), "sweep.samples[2]: duplicate value 10.0 (already at sweep.samples[0])", line: 6),
        BadConfig(T.doc("sweep: [samples]\n"), "sweep: expected a mapping from key paths to lists of values, got a list", line: 5),
        BadConfig(T.doc("sweep:\n  model.components: [2, 3]\n"), "sweep variant 0 (model.components=2): model.components: `components` does not apply to model kind `gaussian`", line: 6),
        // Duplicate keys.
        BadConfig(T.doc("samples: 30\n"), "test.yaml:5:1: samples: duplicate key: `samples` is already set at line 2, column 1", line: 5),
        BadConfig(T.doc("\"samples\": 30\n"), "test.yaml:5:1: samples: duplicate key: `samples` is already set at line 2, column 1", line: 5),
        BadConfig(T.doc(model: "{kind: gaussian, kind: mvn}"), "test.yaml:4:25: model.kind: duplicate key: `kind` is already set at line 4, column 9", line: 4),
        BadConfig(T.doc("regime:\n  kind: mix\n  real_fraction: 0.1\n  kind: fresh\n"), "regime.kind: duplicate key: `kind` is already set at line 6, column 3", line: 8),
        // YAML syntax.
        BadConfig("name: t\nreal: {distribution: gaussian\nmodel: {kind: gaussian}\n", "YAML syntax error", line: 3),
        BadConfig("name: t\nsamples: 20\n  real: x\n", "test.yaml:3:7: YAML syntax error: mapping values are not allowed in this context", line: 3),
        BadConfig("name: t\nreal:\n\tdistribution: gaussian\n", "YAML does not allow tabs for indentation", line: 3),
        BadConfig("name: t\ndescription: \"unterminated\nmodel: {kind: gaussian}\n", "YAML syntax error", line: 4),
        BadConfig("name: t\nreal: [a, b\n", "YAML syntax error", line: 3),
        BadConfig(T.doc("---\nname: u\n"), "test.yaml:5:1: a config is one YAML document; a second document starts here", line: 5),
        // Nesting.
        BadConfig(T.doc("model2: " + String(repeating: "[", count: 40) + String(repeating: "]", count: 40) + "\n"),
                  "lists and mappings nested more than 16 levels deep", line: 5),
        BadConfig("name: t\nreal: " + String(repeating: "[", count: 5000) + String(repeating: "]", count: 5000) + "\n",
                  "YAML nesting is deeper than the parser allows (1000 levels)", line: 2),
        BadConfig(T.doc(real: "{distribution: gaussian, mean: {a: {b: [1]}}}"), "real.mean: expected a finite number, got a mapping", line: 3),
    ]

    @Test(arguments: badConfigs)
    func badConfigIsRejectedWithKeyPathAndLine(_ bad: BadConfig) {
        guard let error = T.error(bad.yaml) else {
            Issue.record("accepted: \(bad.yaml)")
            return
        }
        #expect(error.description.contains(bad.fragment), "\(error.description)")
        if let line = bad.line {
            #expect(error.line == line, "\(error.description)")
        }
    }

    /// With the real metric registry: under `sampling.shortcut` only metrics that read no rows
    /// are accepted, and the default list keeps just those.
    @Test func shortcutAcceptsOnlyMetricsThatReadNoRows() throws {
        let loader = ConfigLoader(catalog: MetricRegistry.standard)
        func error(_ yaml: String) -> String? {
            do { _ = try T.load(yaml, loader: loader); return nil } catch { return error.description }
        }
        let shortcut = "sampling: {shortcut: sufficient-statistics}\n"
        let kurtosis = error(T.doc(shortcut + "metrics: [variance, kurtosis]\n"))
        #expect(kurtosis?.contains("test.yaml:6:21: metrics[1]: metric `kurtosis` cannot be measured in this experiment: kurtosis reads the generation's rows, which sampling.shortcut sufficient-statistics never materialises") == true,
                "\(kurtosis ?? "accepted")")
        // w2 has a closed form only against known Gaussian reality.
        #expect(error(T.doc(real: "{distribution: student-t, df: 5}", shortcut + "metrics: [w2]\n"))?.contains("w2 reads the generation's rows") == true)
        #expect(error(T.doc(shortcut + "metrics: [w2, kl_real_model, tail_mass, nll_real, synthetic_depth]\n")) == nil)
        let experiment = try T.load(T.doc(real: "{distribution: mvn, dim: 3}", model: "{kind: mvn}", shortcut), loader: loader)
        let c = experiment.variants[0].config
        let facts = ChainFactory.facts(for: c, truth: nil)
        #expect(!c.metrics.isEmpty)
        #expect(c.metrics.allSatisfy { MetricRegistry.standard.metric(named: $0)?.readsRows(facts) == false }, "\(c.metrics)")
        var rows = c
        rows.samplingShortcut = nil
        #expect(Set(MetricRegistry.standard.defaultMetrics(for: rows)).isStrictSuperset(of: c.metrics))
    }

    @Test func theBadConfigTableCoversAtLeastFortyCases() {
        #expect(Self.badConfigs.count >= 40)
    }

    @Test func unknownKeysListTheValidKeysOfTheirSection() {
        let error = T.error(T.doc("sampling: {temprature: 2}\n"))
        #expect(error?.hint == "valid keys in `sampling`: temperature, truncate, top_k, shortcut")
        #expect(error?.description == """
            test.yaml:5:12: sampling.temprature: unknown key; did you mean `temperature`?
              valid keys in `sampling`: temperature, truncate, top_k, shortcut
            """)
    }

    @Test func nonUTF8BytesAreRejectedWithTheirPosition() {
        var bytes = Array("name: t\ndescription: caf".utf8)
        bytes.append(0xE9) // Latin-1 "é"
        bytes += Array("\nreal: {distribution: gaussian}\nmodel: {kind: gaussian}\n".utf8)
        do {
            _ = try T.loader.load(bytes: bytes, path: "latin1.yaml")
            Issue.record("accepted non-UTF-8 bytes")
        } catch {
            #expect(error.line == 2)
            #expect(error.column == 17)
            #expect(error.description.hasPrefix("latin1.yaml:2:17: the file is not valid UTF-8 (byte 0xE9 at offset 24)"))
        }
    }

    @Test func aTwoMegabyteConfigIsRejectedForItsSize() {
        let padding = String(repeating: "# padding line of a config that is far too large\n", count: 2 * 1024 * 1024 / 50 + 10)
        let text = T.doc() + padding
        #expect(text.utf8.count > 2_000_000)
        let error = T.error(text)
        #expect(error?.description.contains("test.yaml: the config is \(text.utf8.count) bytes; the limit is 1048576 bytes (1 MB)") == true)

        let folder = TemporaryFolder()
        defer { folder.remove() }
        let path = folder.write("big.yaml", text)
        do {
            _ = try T.loader.load(path: path)
            Issue.record("accepted a 2 MB file")
        } catch {
            #expect(error.message.contains("the limit is 1048576 bytes"))
        }
    }

    @Test func aMissingConfigFileIsReported() {
        do {
            _ = try T.loader.load(path: "/nonexistent/config.yaml")
            Issue.record("loaded a missing file")
        } catch {
            #expect(error.description == "/nonexistent/config.yaml: config file not found")
        }
    }

    @Test func aFolderIsNotAConfigFile() {
        let folder = TemporaryFolder()
        defer { folder.remove() }
        do {
            _ = try T.loader.load(path: folder.path)
            Issue.record("loaded a folder")
        } catch {
            #expect(error.message == "is a folder, not a config file")
        }
    }

    @Test func aliasBombsAreStoppedByTheNodeBudget() {
        var yaml = "name: t\nreal: {distribution: gaussian}\nmodel: {kind: gaussian}\n"
        yaml += "a0: &a0 [1, 1, 1, 1, 1, 1, 1, 1, 1, 1]\n"
        for i in 1...7 {
            yaml += "a\(i): &a\(i) [" + Array(repeating: "*a\(i - 1)", count: 10).joined(separator: ", ") + "]\n"
        }
        let error = T.error(yaml)
        #expect(error?.message.contains("the config expands to more than 1000000 values") == true, "\(String(describing: error))")
    }

    @Test func suggestionsToleratePlausibleSlipsOnly() {
        #expect(Suggest.closest(to: "replicats", in: ConfigSchema.topLevel) == "replicates")
        #expect(Suggest.closest(to: "Samples", in: ConfigSchema.topLevel) == "samples")
        #expect(Suggest.closest(to: "record-every", in: ConfigSchema.topLevel) == "record_every")
        #expect(Suggest.closest(to: "sedd", in: ConfigSchema.topLevel) == "seed")
        #expect(Suggest.closest(to: "colour", in: ConfigSchema.topLevel) == nil)
    }
}

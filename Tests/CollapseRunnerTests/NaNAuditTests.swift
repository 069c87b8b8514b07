import Foundation
import Testing
@testable import CollapseMetrics
@testable import CollapseRunner

/// "No NaN reaches a CSV unless the metric is truly undefined" (DESIGN.md), checked on every
/// metric of `MetricRegistry.standard` that applies, over every model family, real source and
/// regime, with sampling knobs and small sizes that drive chains into degenerate fits. Each `nan`
/// in metrics.csv must match a case that docs/METRICS.md or docs/metrics/*.md lists as undefined.
@Suite struct NaNAuditTests {
    /// (scenario, YAML after `name`/`seed`): kept small so the whole audit runs in seconds.
    static let scenarios: [(name: String, yaml: String)] = [
        ("gaussian regimes", """
            replicates: 2
            generations: 4
            samples: 20
            real: {distribution: gaussian, mean: 1, std: 2, holdout: 60}
            model: {kind: gaussian}
            regime: {kind: mix, real_fraction: 0}
            sweep:
              regime.kind: [replace, accumulate, accumulate-subsample, mix, fresh]
              regime.real_fraction: [0, 0.5, 1]
              model.estimator: [mle, unbiased]
            """),
        ("gaussian collapse", """
            replicates: 3
            generations: 40
            samples: 2
            record_every: 10
            real: {distribution: gaussian, mean: 0, std: 1, holdout: 50}
            model: {kind: gaussian}
            regime: {kind: replace}
            sweep:
              sampling.temperature: [1, 0.2]
            """),
        ("gaussian truncated", """
            replicates: 2
            generations: 6
            samples: 15
            real: {distribution: gaussian, mean: 0, std: 1, holdout: 50}
            model: {kind: gaussian}
            regime: {kind: replace}
            sampling: {truncate: 0.5, temperature: 0.5}
            """),
        ("student-t", """
            replicates: 2
            generations: 3
            samples: 30
            real: {distribution: student-t, df: 5, loc: 1, scale: 2, holdout: 60}
            model: {kind: gaussian}
            regime: {kind: replace}
            sweep:
              real.df: [0.8, 2, 5]
              model.kind: [gaussian, kde, gmm]
            """),
        ("mvn", """
            replicates: 1
            generations: 3
            samples: 12
            real: {distribution: mvn, mean: [1, 0, -1], spectrum: [4, 1, 0.25], holdout: 40}
            model: {kind: mvn}
            regime: {kind: replace}
            sampling: {temperature: 0.5}
            sweep:
              regime.kind: [replace, accumulate, accumulate-subsample, mix, fresh]
              regime.real_fraction: [0.5, 1]
            """),
        ("mvn singular", """
            replicates: 2
            generations: 3
            samples: 3
            real: {distribution: mvn, dim: 3, holdout: 40}
            model: {kind: mvn}
            regime: {kind: replace}
            sweep:
              model.estimator: [mle, unbiased]
            """),
        ("gmm 1-D", """
            replicates: 2
            generations: 4
            samples: 40
            real: {distribution: gmm, weights: [0.9, 0.1], means: [0, 4], stds: [1, 0.5], holdout: 80}
            model: {kind: gmm}
            regime: {kind: replace}
            sweep:
              model.kind: [gaussian, gmm, kde]
              regime.kind: [replace, mix]
              regime.real_fraction: [0.25, 1]
            """),
        // One 2-D gmm reality for all kinds, plain and class-conditional (its tail radius costs
        // 200 000 draws per variant in a debug build).
        ("gmm 2-D", """
            replicates: 1
            generations: 2
            samples: 40
            real: {distribution: gmm, weights: [0.85, 0.15], means: [[0, 0], [2.5, 2.5]], covariances: [[[1, 0.2], [0.2, 1]], [[0.5, 0.2], [0.2, 0.5]]], holdout: 40}
            model: {kind: gmm}
            regime: {kind: mix, real_fraction: 0.25}
            sampling: {truncate: 1.5}
            sweep:
              model.kind: [mvn, gmm, kde]
              model.class_conditional: [false, true]
            """),
        ("class-conditional 1-D", """
            replicates: 2
            generations: 4
            samples: 30
            real: {distribution: gmm, weights: [0.8, 0.2], means: [0, 3], stds: [1, 0.5], holdout: 60}
            model: {kind: gaussian, class_conditional: true}
            regime: {kind: replace}
            """),
        ("categorical", """
            replicates: 2
            generations: 20
            samples: 15
            record_every: 5
            real: {distribution: zipf, vocabulary: 20, exponent: 1.3, holdout: 100}
            model: {kind: categorical}
            regime: {kind: replace}
            sweep:
              model.smoothing: [0, 0.5]
              sampling.top_k: [3, 20]
              regime.kind: [replace, accumulate, mix]
              regime.real_fraction: [0.2]
            """),
        ("categorical temperature", """
            replicates: 2
            generations: 6
            samples: 30
            real: {distribution: zipf, vocabulary: 30, exponent: 1.1, holdout: 60}
            model: {kind: categorical}
            regime: {kind: fresh, real_fraction: 0.3}
            sampling: {temperature: 0.5}
            """),
        ("regression", """
            replicates: 2
            generations: 4
            samples: 12
            real: {distribution: linear-regression, coefficients: [1, -2, 0.5], noise_std: 0.5, holdout: 40}
            model: {kind: linear-regression}
            regime: {kind: replace}
            sweep:
              model.intercept: [true, false]
              model.noise: [known, estimated]
              model.design: [fixed, fresh]
              regime.kind: [replace, accumulate, mix]
              regime.real_fraction: [0.5]
            """),
        ("regression minimal", """
            replicates: 2
            generations: 4
            samples: 5
            real: {distribution: linear-regression, coefficients: [1, -2, 0.5], noise_std: 0.5, holdout: 40}
            model: {kind: linear-regression, intercept: true, noise: estimated}
            regime: {kind: replace}
            """),
        ("wine", """
            replicates: 1
            generations: 2
            samples: 80
            real: {dataset: data/wine.csv, label: label, holdout: 30}
            model: {kind: mvn}
            regime: {kind: fresh, real_fraction: 0.2}
            sweep:
              model.class_conditional: [false, true]
              model.kind: [mvn, kde]
            """),
        ("breast cancer", """
            replicates: 1
            generations: 1
            samples: 60
            real: {dataset: data/breast_cancer.csv, label: label, holdout: 30}
            model: {kind: mvn}
            regime: {kind: accumulate-subsample}
            sweep:
              model.kind: [mvn, kde]
            """),
        ("diabetes", """
            replicates: 2
            generations: 3
            samples: 100
            real: {dataset: data/diabetes.csv, target: target, holdout: 60}
            model: {kind: linear-regression, intercept: true}
            regime: {kind: replace}
            sweep:
              regime.kind: [replace, mix, fresh]
              regime.real_fraction: [0.3]
            """),
    ]

    /// One `nan` cell of metrics.csv.
    struct Finding: Hashable, CustomStringConvertible {
        let scenario: String
        let variant: String
        let metric: String
        var description: String { "\(scenario) [\(variant)]: \(metric)" }
    }

    /// The documented reason `metric` is undefined in this variant, or nil if it should be a number.
    static func documentedReason(_ metric: String, _ config: ExperimentConfig, degenerate: Bool) -> String? {
        let noSyntheticRows = [RegimeConfig.Kind.mix, .fresh].contains(config.regime.kind) && config.regime.realFraction == 1
        var dataset = false, studentDF: Double?
        switch config.real.source {
        case .dataset: dataset = true
        case let .studentT(df, _, _): studentDF = df
        default: break
        }
        // (A `case a, b where c` applies `where` to `b` only, hence the sets.)
        if dataset && metric == "kl_real_model" {
            return "continuous.md kl_real_model: dataset sources, the real density is unknown"
        }
        if dataset && ["param_error", "excess_risk"].contains(metric) {
            return "discrete.md: no true coefficients / unknown noise (dataset source)"
        }
        if noSyntheticRows && ["sample_tail_fraction", "kurtosis", "mmd", "dcr", "copy_rate", "minority_share", "w2"].contains(metric) {
            return "no synthetic rows (mix/fresh with real_fraction 1)"
        }
        if let df = studentDF, df <= 2, ["logdet_ratio", "mean_shift_std", "min_eig_ratio"].contains(metric) {
            return "continuous.md: reality's covariance not finite (student-t df <= 2)"
        }
        if let df = studentDF, df <= 1, ["mean_shift", "mean_shift_sq", "trace_ratio", "w2", "kl_real_model"].contains(metric) {
            return "reality's mean undefined (student-t df <= 1)"
        }
        if metric == "kurtosis" && degenerate {
            return "continuous.md kurtosis: the samples have zero variance (a collapsed model)"
        }
        return nil
    }

    @Test func everyApplicableMetricIsANumberUnlessDocumentedUndefined() throws {
        let experiments = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
            .deletingLastPathComponent().appendingPathComponent("Experiments")
        let registry = MetricRegistry.standard
        let loader = ConfigLoader(catalog: registry)
        var measured: [String: Int] = [:] // metric -> scenarios measuring it
        var unexpected: [Finding: Int] = [:]
        var documented: [String: Set<String>] = [:]
        var times: [String] = []
        let start = Date()
        for (index, scenario) in Self.scenarios.enumerated() {
            let text = "name: nan-audit-\(index)\nseed: \(100 + index)\n" + scenario.yaml
            var experiment = try loader.load(text: text, path: experiments.appendingPathComponent("nan-audit.yaml").path)
            for v in experiment.variants.indices {
                let config = experiment.variants[v].config
                experiment.variants[v].config.metrics = registry.names.filter { registry.problem(with: $0, in: config) == nil }
            }
            for name in Set(experiment.variants.flatMap(\.config.metrics)) { measured[name, default: 0] += 1 }
            let dir = FileManager.default.temporaryDirectory.appendingPathComponent("collapse-nan-audit-\(UUID().uuidString)")
            defer { try? FileManager.default.removeItem(at: dir) }
            let began = Date()
            _ = try Engine(experiment: experiment).run(RunOptions(outputDirectory: dir, threads: 2))
            times.append("\(scenario.name) \(String(format: "%.1f", Date().timeIntervalSince(began)))s")
            let lines = try String(contentsOf: dir.appendingPathComponent("metrics.csv"), encoding: .utf8).split(separator: "\n")
            // The degenerate flag of every (variant, replicate, generation).
            var degenerate = Set<Substring>()
            for line in lines.dropFirst() where line.hasSuffix(",degenerate,1") {
                degenerate.insert(line.dropLast(",degenerate,1".count))
            }
            for line in lines.dropFirst() where line.hasSuffix(",nan") {
                let f = line.split(separator: ",", omittingEmptySubsequences: false)
                let variant = experiment.variants[Int(f[0])!]
                let metric = String(f[f.count - 2])
                let label = variant.parameters.map { "\($0.keyPath)=\($0.value)" }.joined(separator: ", ")
                let chainGeneration = f.dropLast(2).joined(separator: ",")
                if let reason = Self.documentedReason(metric, variant.config, degenerate: degenerate.contains(Substring(chainGeneration))) {
                    documented[reason, default: []].insert("\(scenario.name)/\(metric)")
                } else {
                    unexpected[Finding(scenario: scenario.name, variant: label, metric: metric), default: 0] += 1
                }
            }
        }
        // Every metric of the registry was measured somewhere.
        let unmeasured = registry.names.filter { measured[$0] == nil }
        #expect(unmeasured.isEmpty, "metrics no scenario measured: \(unmeasured)")
        for (finding, count) in unexpected.sorted(by: { $0.key.description < $1.key.description }) {
            Issue.record("undocumented nan: \(finding) (\(count) rows)")
        }
        print("NaN audit: \(Self.scenarios.count) scenarios, \(registry.names.count) metrics in \(String(format: "%.1f", Date().timeIntervalSince(start))) s; documented nan: \(documented.map { "\($0.key): \($0.value.sorted())" }.sorted()); times: \(times)")
    }
}

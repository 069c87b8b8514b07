import Foundation
import Testing

/// Same config and seed => the same metrics.csv and summary.csv bytes, for `--threads` 1, 2 and 4
/// and for two separate processes, across every model family (including the metrics that draw
/// random numbers: Monte Carlo tail mass, sliced W2, MMD bandwidth rows). Release against debug
/// builds is checked by Scripts/determinism.sh (building release inside the suite is too slow).
@Suite struct DeterminismTests {
    static let configs: [(name: String, text: String)] = [
        ("gaussian", """
            name: d-gaussian
            seed: 31
            replicates: 5
            generations: 6
            samples: 40
            real: {distribution: student-t, df: 5, loc: 0, scale: 1, holdout: 300}
            model: {kind: gaussian}
            regime: {kind: mix, real_fraction: 0}
            sampling: {truncate: 2.5}
            sweep:
              regime.kind: [replace, accumulate, accumulate-subsample, mix, fresh]
              regime.real_fraction: [0, 0.3]
            """),
        ("mvn", """
            name: d-mvn
            seed: 32
            replicates: 4
            generations: 3
            samples: 30
            real: {distribution: mvn, spectrum: [3, 1, 0.5], holdout: 150}
            model: {kind: mvn, estimator: unbiased}
            regime: {kind: replace}
            sampling: {temperature: 0.9}
            metrics: [trace_ratio, logdet_ratio, min_eig_ratio, tail_mass, w2, kl_real_model, mmd, nll_real]
            """),
        ("shortcut", """
            name: d-shortcut
            seed: 35
            replicates: 6
            generations: 5
            samples: 30
            real: {distribution: mvn, spectrum: [2, 1, 0.25], holdout: 100}
            model: {kind: mvn}
            sampling: {shortcut: sufficient-statistics, temperature: 0.95}
            metrics: [trace_ratio, logdet_ratio, tail_mass, w2, kl_real_model, nll_real, synthetic_depth]
            sweep:
              samples: [2, 30]
            """),
        ("gmm", """
            name: d-gmm
            seed: 33
            replicates: 4
            generations: 3
            samples: 80
            real: {distribution: gmm, weights: [0.8, 0.2], means: [[0, 0], [3, 3]], covariances: [[[1, 0], [0, 1]], [[0.5, 0.1], [0.1, 0.5]]], holdout: 150}
            model: {kind: gmm, components: 2, n_init: 2}
            regime: {kind: fresh, real_fraction: 0.2}
            metrics: [trace_ratio, minority_share, w2, kl_real_model, nll_real]
            """),
        ("kde", """
            name: d-kde
            seed: 34
            replicates: 4
            generations: 3
            samples: 50
            real: {distribution: gmm, weights: [0.5, 0.5], means: [-2, 2], stds: [0.5, 1], holdout: 150}
            model: {kind: kde}
            regime: {kind: accumulate-subsample}
            metrics: [variance, tail_mass, kurtosis, w2, kl_real_model, mmd, dcr, copy_rate, nll_real]
            sweep:
              model.bandwidth: [scott, silverman, 0.2]
            """),
        ("categorical", """
            name: d-categorical
            seed: 35
            replicates: 6
            generations: 6
            samples: 200
            real: {distribution: zipf, vocabulary: 50, exponent: 1.1, holdout: 500}
            model: {kind: categorical, smoothing: 0}
            regime: {kind: replace}
            sweep:
              sampling.top_k: [10, 50]
            """),
        ("regression", """
            name: d-regression
            seed: 36
            replicates: 6
            generations: 5
            samples: 40
            real: {distribution: linear-regression, coefficients: [1, -0.5, 2], noise_std: 0.7, holdout: 200}
            model: {kind: linear-regression, intercept: true, noise: estimated, design: fresh}
            regime: {kind: mix, real_fraction: 0.25}
            """),
        ("class-conditional dataset", """
            name: d-wine
            seed: 37
            replicates: 4
            generations: 3
            samples: 100
            real: {dataset: data/wine.csv, label: label, holdout: 50}
            model: {kind: mvn, estimator: mle, regularization: 1e-6, class_conditional: true}
            regime: {kind: accumulate}
            metrics: [accuracy_real, worst_group_accuracy_real, minority_share, nll_real, logdet_ratio, sample_tail_fraction, w2]
            """),
    ]

    @Test(arguments: configs.map(\.name))
    func sameBytesForAnyThreadCountAndProcess(family: String) throws {
        let text = try #require(Self.configs.first { $0.name == family }).text
        let dir = try CLITests.workspace("determinism")
        defer { try? FileManager.default.removeItem(at: dir) }
        let experiments = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
            .deletingLastPathComponent().appendingPathComponent("Experiments")
        try FileManager.default.copyItem(at: experiments.appendingPathComponent("data"), to: dir.appendingPathComponent("data"))
        try text.write(to: dir.appendingPathComponent("c.yaml"), atomically: true, encoding: .utf8)
        let runs = [("t1", 1), ("t2", 2), ("t4", 4), ("t4-again", 4)]
        for (out, threads) in runs {
            let r = try Subprocess.collapse(["run", "c.yaml", "--out", out, "--threads", String(threads), "--quiet"], in: dir)
            try #require(r.status == 0, "\(family), --threads \(threads): \(r.describe)")
        }
        for name in ["metrics.csv", "summary.csv"] {
            let reference = try Data(contentsOf: dir.appendingPathComponent("t1/\(name)"))
            for (out, threads) in runs.dropFirst() {
                #expect(try Data(contentsOf: dir.appendingPathComponent("\(out)/\(name)")) == reference,
                        "\(family): \(name) with --threads \(threads) (\(out)) differs from --threads 1")
            }
        }
        let blocks = try RunFiles.chainBlocks(dir.appendingPathComponent("t1/metrics.csv"))
        #expect(blocks.count >= 4 && Set(blocks.map { "\($0.variant)/\($0.replicate)" }).count == blocks.count)
    }
}

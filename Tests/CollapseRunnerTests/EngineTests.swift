import CollapseCore
import CollapseModels
import Foundation
import Testing
@testable import CollapseMetrics
@testable import CollapseRunner

/// An experiment built directly (no YAML): 1-D Gaussian, two variants over the regime.
func gaussianExperiment(replicates: Int = 12, generations: Int = 6, samples: Int = 20,
                        regimes: [RegimeConfig] = [RegimeConfig(kind: .replace), RegimeConfig(kind: .mix, realFraction: 0.5)],
                        metrics: [String] = ["variance", "trace_ratio", "mean_shift", "nll_real", "real_fraction_train", "synthetic_depth"]) -> Experiment {
    let variants = regimes.enumerated().map { i, regime in
        Variant(index: i, parameters: [SweptValue(keyPath: "regime.kind", value: .string(regime.kind.rawValue))],
                config: ExperimentConfig(name: "engine-test", seed: 11, replicates: replicates, generations: generations,
                                         samples: samples, real: RealSourceConfig(source: .gaussian(mean: 1, std: 2), holdout: 50),
                                         model: ModelConfig(family: .gaussian(estimator: .mle)), regime: regime, metrics: metrics))
    }
    return Experiment(configPath: "inline.yaml", configSHA256: "test", configText: "inline", sweptKeys: ["regime.kind"], variants: variants)
}

func temporaryDirectory(_ name: String) -> URL {
    let url = FileManager.default.temporaryDirectory.appendingPathComponent("collapse-tests-\(name)-\(UUID().uuidString)")
    return url
}

@Suite struct EngineTests {
    @Test func metricsBytesDoNotDependOnThreadCount() throws {
        let e = Engine(experiment: gaussianExperiment())
        let a = temporaryDirectory("t1"), b = temporaryDirectory("t2")
        defer { try? FileManager.default.removeItem(at: a); try? FileManager.default.removeItem(at: b) }
        _ = try e.run(RunOptions(outputDirectory: a, threads: 1))
        _ = try e.run(RunOptions(outputDirectory: b, threads: 2))
        let bytesA = try Data(contentsOf: a.appendingPathComponent("metrics.csv"))
        let bytesB = try Data(contentsOf: b.appendingPathComponent("metrics.csv"))
        #expect(bytesA == bytesB)
        #expect(try Data(contentsOf: a.appendingPathComponent("summary.csv")) == Data(contentsOf: b.appendingPathComponent("summary.csv")))
        // 2 variants x 12 replicates x 7 generations x (6 metrics + degenerate) rows + header.
        let lines = String(decoding: bytesA, as: UTF8.self).split(separator: "\n")
        #expect(lines.count == 1 + 2 * 12 * 7 * 7)
        #expect(lines[0] == "variant,regime.kind,replicate,generation,metric,value")
        #expect(FileManager.default.fileExists(atPath: a.appendingPathComponent("manifest.json").path))
        #expect(!FileManager.default.fileExists(atPath: a.appendingPathComponent("run-state.json").path))
    }

    /// `sampling.shortcut: sufficient-statistics`: no rows after generation 0, yet provenance
    /// counts as under replace, the manifest says so, and the bytes do not depend on threads.
    @Test func sufficientStatisticsShortcutRunsWithoutRows() throws {
        var experiment = gaussianExperiment(regimes: [RegimeConfig(kind: .replace)],
                                            metrics: ["variance", "w2", "nll_real", "real_fraction_train", "synthetic_depth"])
        experiment.variants[0].config.samplingShortcut = .sufficientStatistics
        let e = Engine(experiment: experiment)
        let a = temporaryDirectory("ss1"), b = temporaryDirectory("ss2")
        defer { try? FileManager.default.removeItem(at: a); try? FileManager.default.removeItem(at: b) }
        _ = try e.run(RunOptions(outputDirectory: a, threads: 1))
        _ = try e.run(RunOptions(outputDirectory: b, threads: 2))
        let bytes = try Data(contentsOf: a.appendingPathComponent("metrics.csv"))
        #expect(bytes == (try Data(contentsOf: b.appendingPathComponent("metrics.csv"))))
        var seen = 0
        for line in String(decoding: bytes, as: UTF8.self).split(separator: "\n").dropFirst() {
            let f = line.split(separator: ",").map(String.init)
            let g = Int(f[3])!, value = Double(f[5])!
            #expect(value.isFinite, "\(line)")
            if f[4] == "real_fraction_train" { #expect(value == (g == 0 ? 1 : 0)); seen += 1 }
            if f[4] == "synthetic_depth" { #expect(value == Double(g)); seen += 1 }
        }
        #expect(seen == 2 * 12 * 7)
        let manifest = try String(contentsOf: a.appendingPathComponent("manifest.json"), encoding: .utf8)
        #expect(manifest.contains("\"samplingShortcut\" : \"sufficient-statistics\""))
        #expect(manifest.contains("synthetic rows are never materialised"))
        // Without the shortcut the config encodes no such key (older manifests stay as they were).
        _ = try Engine(experiment: gaussianExperiment(replicates: 1, generations: 1)).run(RunOptions(outputDirectory: b, threads: 1, force: true))
        #expect(!(try String(contentsOf: b.appendingPathComponent("manifest.json"), encoding: .utf8)).contains("samplingShortcut"))
    }

    /// `--threads` bounds the parallel parts inside chains: a single chain gets every thread,
    /// chains that fill the threads get one each, `--threads 1` is one thread.
    @Test func threadsPerChainShareTheThreadBudget() {
        #expect(Engine.threadsPerChain(threads: 1, chains: 1) == 1)
        #expect(Engine.threadsPerChain(threads: 8, chains: 1) == 8)
        #expect(Engine.threadsPerChain(threads: 8, chains: 3) == 2)
        #expect(Engine.threadsPerChain(threads: 8, chains: 100) == 1)
        #expect(Engine.threadsPerChain(threads: 2, chains: 0) == 2)
        #expect(Engine.threadsPerChain(threads: 0, chains: 5) == 1)
    }

    @Test func stoppedRunResumesToTheSameBytes() throws {
        let e = Engine(experiment: gaussianExperiment())
        let full = temporaryDirectory("full"), partial = temporaryDirectory("partial")
        defer { try? FileManager.default.removeItem(at: full); try? FileManager.default.removeItem(at: partial) }
        _ = try e.run(RunOptions(outputDirectory: full, threads: 2))
        let stopped = try e.run(RunOptions(outputDirectory: partial, threads: 2, stopAfterChains: 5))
        #expect(!stopped.complete && stopped.chains == 5)
        #expect(throws: RunError.self) { try e.run(RunOptions(outputDirectory: partial, threads: 2)) } // needs --resume
        let resumed = try e.run(RunOptions(outputDirectory: partial, threads: 1, resume: true))
        #expect(resumed.resumedFromChain == 5 && resumed.complete)
        #expect(try Data(contentsOf: full.appendingPathComponent("metrics.csv")) == Data(contentsOf: partial.appendingPathComponent("metrics.csv")))
        #expect(throws: RunError.self) { try e.run(RunOptions(outputDirectory: partial, threads: 1)) } // finished: needs --force
        _ = try e.run(RunOptions(outputDirectory: partial, threads: 1, force: true))
    }

    /// A fresh run summarises from the values it gathered while writing; `collapse summarize`
    /// and resumed runs read metrics.csv. Both must give the same bytes (here for a sweep that
    /// records every other generation); special values must reach the statistics unchanged, in
    /// order; and the collector must give up past its limit.
    @Test func summaryFromMemoryEqualsSummaryFromTheFile() throws {
        var experiment = gaussianExperiment(replicates: 9, generations: 7, samples: 3)
        for i in experiment.variants.indices { experiment.variants[i].config.recordEvery = 2 }
        let dir = temporaryDirectory("summary-memory")
        defer { try? FileManager.default.removeItem(at: dir) }
        let registry = MetricRegistry.standard
        _ = try Engine(experiment: experiment, registry: registry).run(RunOptions(outputDirectory: dir, threads: 2))
        let fromMemory = try Data(contentsOf: dir.appendingPathComponent("summary.csv"))
        let again = dir.appendingPathComponent("again.csv")
        try Summarizer(experiment: experiment, registry: registry).write(metrics: dir.appendingPathComponent("metrics.csv"), to: again)
        #expect(try Data(contentsOf: again) == fromMemory)
        let recorded = (0...7).filter { experiment.variants[0].config.records(generation: $0) }.count
        #expect(recorded < 8)
        #expect(String(decoding: fromMemory, as: UTF8.self).split(separator: "\n").count == 1 + 2 * recorded * 7)

        // Special values keep their order and groups: the statistics see exactly the values given.
        let collector = SummaryCollector(experiment: experiment, limit: 100)
        collector.add(variant: 1, rows: [ChainRow(generation: 2, metric: 0, value: .nan), ChainRow(generation: 0, metric: 3, value: .infinity)])
        collector.add(variant: 0, rows: [ChainRow(generation: 7, metric: 6, value: -0.0)])
        collector.add(variant: 1, rows: [ChainRow(generation: 2, metric: 0, value: 2.5)])
        var seen: [(Summarizer.GroupKey, [Double])] = []
        collector.forEachGroup { seen.append(($0, $1)) }
        #expect(seen.map(\.0) == [Summarizer.GroupKey(variant: 0, generation: 7, metricIndex: 6),
                                   Summarizer.GroupKey(variant: 1, generation: 0, metricIndex: 3),
                                   Summarizer.GroupKey(variant: 1, generation: 2, metricIndex: 0)])
        #expect(seen[2].1.count == 2 && seen[2].1[0].isNaN && seen[2].1[1] == 2.5)
        #expect(seen[0].1[0].sign == .minus && seen[1].1 == [.infinity])
        collector.add(variant: 0, rows: Array(repeating: ChainRow(generation: 0, metric: 0, value: 1), count: 100))
        #expect(!collector.isComplete)
    }

    /// Several interruptions, each resumed with another thread count (and one resume with no
    /// chain left to run): the bytes of an uninterrupted run.
    @Test func resumeHistoryWithChangingThreadCountsGivesTheSameBytes() throws {
        let e = Engine(experiment: gaussianExperiment(replicates: 7))
        let full = temporaryDirectory("history-full"), dir = temporaryDirectory("history")
        defer { try? FileManager.default.removeItem(at: full); try? FileManager.default.removeItem(at: dir) }
        _ = try e.run(RunOptions(outputDirectory: full, threads: 2))
        var done = 0
        for (step, (stop, threads)) in [(3, 1), (9, 4), (10, 2), (13, 3)].enumerated() {
            let s = try e.run(RunOptions(outputDirectory: dir, threads: threads, resume: step > 0, stopAfterChains: stop))
            #expect(!s.complete && s.chains == stop && s.resumedFromChain == done)
            done = stop
        }
        let last = try e.run(RunOptions(outputDirectory: dir, threads: 4, resume: true))
        #expect(last.complete && last.resumedFromChain == 13)
        for name in ["metrics.csv", "summary.csv"] {
            #expect(try Data(contentsOf: full.appendingPathComponent(name)) == Data(contentsOf: dir.appendingPathComponent(name)), "\(name)")
        }
    }

    /// Fixed-design regression refits from one factorisation per chain and adds each accumulated
    /// label vector once (StackedState). Against the general path (segments joined, a new QR
    /// every generation) every recorded value agrees to rounding (1e-9 relative leaves room for
    /// 12 generations of feedback on ~1e-15 per fit), for replace and accumulate, known and
    /// estimated noise, with and without intercept.
    @Test func regressionRefitsFromOneFactorisationMatchTheGeneralFit() throws {
        let cases: [(RegimeConfig.Kind, Bool, Bool)] = [(.replace, false, true), (.accumulate, false, true), (.accumulate, true, false)]
        for (regime, intercept, known) in cases {
            let config = ExperimentConfig(
                name: "fit-paths", seed: 17, replicates: 3, generations: 12, samples: 15,
                real: RealSourceConfig(source: .linearRegression(coefficients: [1, -0.5, 2], noiseStd: 0.7), holdout: 50),
                model: ModelConfig(family: .linearRegression(intercept: intercept, knownNoise: known, freshDesign: false)),
                regime: RegimeConfig(kind: regime), metrics: ["param_error", "test_mse_real"])
            let made = try ChainFactory.make(config, registry: .standard)
            let fast = try #require(made as? SpecializedChain<LinearRegressionModel, RegressionWorld>).runner
            #expect(fast.makeSegmentFitter != nil)
            var general = fast
            general.makeSegmentFitter = nil
            for replicate in 0..<3 {
                let a = fast.run(variant: 0, replicate: replicate).rows, b = general.run(variant: 0, replicate: replicate).rows
                #expect(a.count == b.count && a.count == 13 * 3)
                for (x, y) in zip(a, b) {
                    #expect(x.generation == y.generation && x.metric == y.metric)
                    #expect(abs(x.value - y.value) <= 1e-9 * abs(y.value), "\(regime) g\(x.generation) metric \(x.metric): \(x.value) vs \(y.value)")
                }
            }
        }
    }

    /// The segment fitter applies only to segments on the chain's own design storage, and its
    /// accumulated labels follow the segments: appending adds one vector, anything else restarts.
    @Test func regressionSegmentFitterChecksItsSegments() throws {
        var rng = Philox4x32(seed: 3, path: [0xE61])
        let x = Matrix(rows: 10, columns: 2, storage: StandardNormal.sample(count: 20, using: &rng))
        let model = LinearRegressionModel(noise: .estimated)
        let fitter = try #require(regressionSegmentFitter(model, design: x))
        let labels = (0..<3).map { _ in StandardNormal.sample(count: 10, using: &rng) }
        let parts = labels.enumerated().map { (origin: $0.offset - 1, data: RegressionData(design: x, targets: $0.element)) }
        let factorization = try #require(try model.factorize(design: x))
        for k in 1...3 { // growing, as under accumulate
            let fit = try #require(try fitter.fit(Array(parts[0..<k])))
            #expect(fit == (try model.fit(stackedTargets: Array(labels[0..<k]), using: factorization)))
        }
        // A different set (as under replace) restarts the accumulation.
        let single = try #require(try fitter.fit([parts[2]]))
        #expect(single == (try model.fit(targets: labels[2], using: factorization)))
        // Equal values in other storage are not the chain's design: the general fit takes over.
        let copy = Matrix(rows: 10, columns: 2, storage: x.storage.map { $0 + 0 })
        #expect(try fitter.fit([(origin: -1, data: RegressionData(design: copy, targets: labels[0]))]) == nil)
    }

    /// A metric context built without its training set assembles it on demand, each time it is read.
    @Test func deferredTrainingDataIsBuiltWhenRead() {
        let facts = ExperimentFacts(modelKind: "gaussian", dataKind: .continuous, dimension: 1, samples: 1, generations: 0, regime: "replace",
                                    realFraction: 0, estimator: "mle", temperature: 1, truncation: nil, knownDistribution: true,
                                    gaussianReality: true, hasLabels: false)
        var context = MetricContext(facts: facts, generation: 0, fitted: FittedGaussian(mean: 0, variance: 1),
                                    trainingData: Matrix(rows: 1, columns: 1), provenance: Provenance(rowsByOrigin: [:]),
                                    samples: nil, holdout: Matrix(rows: 1, columns: 1), truth: RealTruth(mean: [], covariance: Matrix(rows: 0, columns: 0)),
                                    stream: { _ in Philox4x32(seed: 0, path: []) })
        nonisolated(unsafe) var built = 0
        context.setTrainingData { built += 1; return Matrix(rows: 2, columns: 1, storage: [1, 2]) }
        #expect(built == 0)
        #expect((context.trainingData as? Matrix)?.storage == [1, 2] && built == 1)
        context.trainingData = Matrix(rows: 1, columns: 1, storage: [5])
        #expect((context.trainingData as? Matrix)?.storage == [5] && built == 1)
    }

    /// Killed between the rename of metrics.csv and the summary/manifest: --resume writes them.
    @Test func resumeAfterTheFinalRenameWritesSummaryAndManifest() throws {
        let e = Engine(experiment: gaussianExperiment())
        let dir = temporaryDirectory("final")
        defer { try? FileManager.default.removeItem(at: dir) }
        _ = try e.run(RunOptions(outputDirectory: dir, threads: 2))
        let summary = try Data(contentsOf: dir.appendingPathComponent("summary.csv"))
        let metrics = try Data(contentsOf: dir.appendingPathComponent("metrics.csv"))
        // Recreate the state a kill at that moment leaves: complete state file, no summary/manifest.
        let state = RunState(identity: RunIdentity(configSHA256: "test", shard: nil, chainCount: 24), chainsDone: 24,
                             bytes: metrics.count, rows: 0)
        try JSONEncoder().encode(state).write(to: dir.appendingPathComponent("run-state.json"))
        try FileManager.default.removeItem(at: dir.appendingPathComponent("summary.csv"))
        try FileManager.default.removeItem(at: dir.appendingPathComponent("manifest.json"))
        let resumed = try e.run(RunOptions(outputDirectory: dir, threads: 1, resume: true))
        #expect(resumed.complete)
        #expect(try Data(contentsOf: dir.appendingPathComponent("summary.csv")) == summary)
        #expect(try Data(contentsOf: dir.appendingPathComponent("metrics.csv")) == metrics)
        #expect(FileManager.default.fileExists(atPath: dir.appendingPathComponent("manifest.json").path))
        #expect(!FileManager.default.fileExists(atPath: dir.appendingPathComponent("run-state.json").path))
    }

    @Test func regimesComposeTrainingSetsWithTheirProvenance() throws {
        // real_fraction_train and synthetic_depth are exact functions of the regime.
        let regimes = [RegimeConfig(kind: .replace), RegimeConfig(kind: .accumulate), RegimeConfig(kind: .mix, realFraction: 0.25),
                       RegimeConfig(kind: .fresh, realFraction: 0.5), RegimeConfig(kind: .accumulateSubsample)]
        let e = Engine(experiment: gaussianExperiment(replicates: 2, generations: 3, regimes: regimes,
                                                      metrics: ["real_fraction_train", "synthetic_depth"]))
        let dir = temporaryDirectory("regimes")
        defer { try? FileManager.default.removeItem(at: dir) }
        _ = try e.run(RunOptions(outputDirectory: dir, threads: 2))
        var values: [String: Double] = [:]
        for line in try String(contentsOf: dir.appendingPathComponent("metrics.csv"), encoding: .utf8).split(separator: "\n").dropFirst() {
            let f = line.split(separator: ",")
            values["\(f[0])/\(f[2])/\(f[3])/\(f[4])"] = Double(f[5])
        }
        for r in 0..<2 {
            // replace: generation g trains on model g-1's samples only (depth g).
            #expect(values["0/\(r)/3/real_fraction_train"] == 0 && values["0/\(r)/3/synthetic_depth"] == 3)
            // accumulate: real + one batch from each earlier model: real share 1/(g+1), depth mean (1+...+g)/(g+1).
            #expect(values["1/\(r)/3/real_fraction_train"] == 0.25 && values["1/\(r)/3/synthetic_depth"] == 1.5)
            // mix 0.25 of M = 20: 5 real rows + 15 from model g-1 (depth g).
            #expect(values["2/\(r)/2/real_fraction_train"] == 0.25 && values["2/\(r)/2/synthetic_depth"] == 0.75 * 2)
            // fresh 0.5: 10 new real rows + 10 from model g-1.
            #expect(values["3/\(r)/1/real_fraction_train"] == 0.5 && values["3/\(r)/1/synthetic_depth"] == 0.5)
            // generation 0 is always all real.
            for v in 0..<5 { #expect(values["\(v)/\(r)/0/real_fraction_train"] == 1 && values["\(v)/\(r)/0/synthetic_depth"] == 0) }
        }
    }

    /// The executor's prelude runs exactly once, on a worker, before that worker takes jobs; the
    /// jobs' results still come back in order, for one thread and for several.
    @Test(arguments: [1, 3])
    func executorRunsItsPreludeOnceAndKeepsTheOrder(threads: Int) throws {
        final class Count: @unchecked Sendable {
            let lock = NSLock()
            var value = 0
            func increment() { lock.lock(); value += 1; lock.unlock() }
        }
        let preludes = Count(), cancels = Count()
        let executor = OrderedExecutor(count: 20, threads: threads, prelude: { preludes.increment() },
                                       onCancel: { cancels.increment() }) { position in
            ChainOutput(bytes: Array(String(position).utf8), rows: [], variant: 0, exports: [])
        }
        var seen: [Int] = []
        try executor.drain { position, output in
            #expect(String(decoding: output.bytes, as: UTF8.self) == String(position))
            seen.append(position)
            return true
        }
        #expect(seen == Array(0..<20))
        #expect(preludes.value == 1 && cancels.value == 1)
    }

    /// The summary's theory warm-up visits only the given variants, one stop check per recorded
    /// generation, and returns at the first true one.
    @Test func theoryWarmUpIsScopedAndStoppable() {
        let summarizer = Summarizer(experiment: gaussianExperiment(generations: 6), registry: .standard)
        var checks = 0
        summarizer.warmTheory(variants: []) { checks += 1; return false }
        #expect(checks == 0)
        summarizer.warmTheory(variants: [1]) { checks += 1; return false }
        #expect(checks == 7) // generations 0 ... 6 of variant 1
        checks = 0
        summarizer.warmTheory(variants: [0, 1]) { checks += 1; return true }
        #expect(checks == 1)
    }

    /// A copy of a metric context shares its chain-constant box until one of them writes to it:
    /// writes through a copy never show in the original, and the cache stays shared.
    @Test func metricContextCopiesOnWrite() throws {
        let truth = try continuousWorld(.gaussian(mean: 0, std: 1)).truth
        let original = continuousContext(fitted: FittedGaussian(mean: 0, variance: 1), truth: truth, dimension: 1,
                                         holdout: Matrix([[1], [2]]))
        var copy = original
        copy.facts.samples = 99
        copy.holdout = Matrix([[5]])
        copy.realTraining = Matrix([[7]])
        #expect(original.facts.samples == 10 && (original.holdout as? Matrix) == Matrix([[1], [2]]) && original.realTraining == nil)
        #expect(copy.facts.samples == 99 && (copy.holdout as? Matrix) == Matrix([[5]]))
        #expect(copy.cache === original.cache)
        var unique = continuousContext(fitted: FittedGaussian(mean: 0, variance: 1), truth: truth, dimension: 1)
        let cache = unique.cache
        unique.facts.samples = 3 // the only owner: written in place
        #expect(unique.facts.samples == 3 && unique.cache === cache)
    }

    /// A one-origin provenance (kept inline) reads, counts and compares like the table.
    @Test func oneOriginProvenanceEqualsTheTable() {
        for (origin, rows) in [(-1, 20), (4, 15), (0, 0)] {
            let inline = Provenance(origin: origin, rows: rows), table = Provenance(rowsByOrigin: [origin: rows])
            #expect(inline == table && inline.rowsByOrigin == [origin: rows])
            #expect(inline.total == table.total && inline.realRows == table.realRows)
        }
        #expect(Provenance(origin: -1, rows: 20).realRows == 20 && Provenance(origin: 3, rows: 20).realRows == 0)
        var p = Provenance(origin: 2, rows: 5)
        p.rowsByOrigin[-1] = 7
        #expect(p.total == 12 && p.realRows == 7 && p != Provenance(origin: 2, rows: 5))
    }

    /// The replace/MLE variance theory: replicate mean within 5 standard errors of sigma² r^(g+1).
    @Test func replaceVarianceFollowsTheory() throws {
        let e = Engine(experiment: gaussianExperiment(replicates: 400, generations: 5, samples: 10, regimes: [RegimeConfig(kind: .replace)],
                                                      metrics: ["variance"]))
        let dir = temporaryDirectory("theory")
        defer { try? FileManager.default.removeItem(at: dir) }
        _ = try e.run(RunOptions(outputDirectory: dir, threads: 2))
        let summary = try String(contentsOf: dir.appendingPathComponent("summary.csv"), encoding: .utf8).split(separator: "\n")
        #expect(summary[0] == "variant,regime.kind,generation,metric,n,mean,std,ci_low,ci_high,median,q05,q95,theory")
        for line in summary.dropFirst() where line.contains(",variance,") {
            let f = line.split(separator: ",", omittingEmptySubsequences: false)
            let g = Int(f[2])!, n = Double(f[4])!, mean = Double(f[5])!, std = Double(f[6])!, theory = Double(f[12])!
            #expect(abs(theory - 4 * pow(0.9, Double(g + 1))) < 1e-12)
            #expect(abs(mean - theory) < 5 * std / n.squareRoot(), "generation \(g): \(mean) vs \(theory)")
        }
    }

    @Test(arguments: [1, 2, 3, 7])
    func mergedShardsEqualAnUnshardedRun(shards: Int) throws {
        let experiment = gaussianExperiment(replicates: 5)
        let e = Engine(experiment: experiment)
        let whole = temporaryDirectory("whole"), merged = temporaryDirectory("merged")
        let parts = (1...shards).map { temporaryDirectory("shard\($0)") }
        defer { for d in [whole, merged] + parts { try? FileManager.default.removeItem(at: d) } }
        _ = try e.run(RunOptions(outputDirectory: whole, threads: 2))
        for (k, dir) in parts.enumerated() {
            _ = try e.run(RunOptions(outputDirectory: dir, threads: 1, shard: (k + 1, shards)))
        }
        // Missing or duplicated shards are refused.
        if shards > 2 {
            #expect(throws: RunError.self) { try Merger.merge(shards: Array(parts.dropLast()), into: merged, experiment: experiment, force: false) }
            #expect(throws: RunError.self) { try Merger.merge(shards: parts + [parts[0]], into: merged, experiment: experiment, force: false) }
        }
        try Merger.merge(shards: parts.reversed(), into: merged, experiment: experiment, force: false)
        #expect(try Data(contentsOf: whole.appendingPathComponent("metrics.csv")) == Data(contentsOf: merged.appendingPathComponent("metrics.csv")))
        #expect(try Data(contentsOf: whole.appendingPathComponent("summary.csv")) == Data(contentsOf: merged.appendingPathComponent("summary.csv")))
    }

    @Test func exportedTrainingSetsCarryTheirOrigin() throws {
        var experiment = gaussianExperiment(replicates: 2, generations: 2, regimes: [RegimeConfig(kind: .mix, realFraction: 0.25)])
        experiment.variants[0].config.export = [0, 2]
        let dir = temporaryDirectory("export")
        defer { try? FileManager.default.removeItem(at: dir) }
        _ = try Engine(experiment: experiment).run(RunOptions(outputDirectory: dir, threads: 2))
        let g0 = try String(contentsOf: dir.appendingPathComponent("samples/variant-0-generation-0.csv"), encoding: .utf8)
        let g2 = try String(contentsOf: dir.appendingPathComponent("samples/variant-0-generation-2.csv"), encoding: .utf8)
        let lines0 = g0.split(separator: "\n"), lines2 = g2.split(separator: "\n")
        #expect(lines0.first == "x,origin" && lines0.count == 21 && lines0.dropFirst().allSatisfy { $0.hasSuffix(",real") })
        #expect(lines2.dropFirst().filter { $0.hasSuffix(",real") }.count == 5)
        #expect(lines2.dropFirst().filter { $0.hasSuffix(",generation-1") }.count == 15)
        #expect(!FileManager.default.fileExists(atPath: dir.appendingPathComponent("samples/variant-0-generation-1.csv").path))
    }

    @Test func studentQuantileMatchesTables() {
        // Reference values: scipy.stats.t.ppf(0.975, df).
        #expect(abs(StudentQuantile.twoSided95(degreesOfFreedom: 1) - 12.706204736174694) < 1e-11)
        #expect(abs(StudentQuantile.twoSided95(degreesOfFreedom: 2) - 4.302652729749462) < 1e-12)
        #expect(abs(StudentQuantile.twoSided95(degreesOfFreedom: 9) - 2.262157162798205) < 1e-12)
        #expect(abs(StudentQuantile.twoSided95(degreesOfFreedom: 999) - 1.9623414611334493) < 1e-12)
    }
}

@Suite struct NLLShortcutTests {
    /// The holdout-moment identity equals the row-by-row mean NLL (both are exact formulas;
    /// differences are rounding, well below 1e-12 relative here).
    @Test func gaussianShortcutEqualsRowByRowMean() throws {
        var rng = Philox4x32(seed: 5, path: [77])
        let holdout = Matrix(rows: 500, columns: 3) { StandardNormal.fill($0, using: &rng) }
        let mvn = FittedMultivariateGaussian(mean: [0.3, -0.2, 1], covariance: Matrix([[2, 0.3, 0], [0.3, 1, 0.2], [0, 0.2, 0.5]]))
        let oneD = FittedGaussian(mean: 0.4, variance: 1.7)
        let oneHoldout = Matrix(column: holdout.column(0))
        for (fitted, rows) in [(mvn as any FittedModel, holdout), (oneD, oneHoldout)] {
            let context = MetricContext(facts: ExperimentFacts(modelKind: "mvn", dataKind: .continuous, dimension: rows.columns, samples: 10,
                                                               generations: 1, regime: "replace", realFraction: 0, estimator: "mle",
                                                               temperature: 1, truncation: nil, knownDistribution: true,
                                                               gaussianReality: true, hasLabels: false),
                                        generation: 0, fitted: fitted, trainingData: rows, provenance: Provenance(rowsByOrigin: [-1: 10]),
                                        samples: nil, holdout: rows, truth: RealTruth(mean: [0], covariance: Matrix([[1]])),
                                        stream: { Philox4x32(seed: 1, path: [$0.rawValue]) })
            let shortcut = try #require(NLLRealMetric.gaussianShortcut(context))
            let logs = try #require(logDensities(fitted, rows))
            let direct = -logs.reduce(0, +) / Double(logs.count)
            #expect(abs(shortcut - direct) <= 1e-12 * abs(direct), "\(shortcut) vs \(direct)")
            #expect(abs(NLLRealMetric().evaluate(context) - direct) <= 1e-12 * abs(direct))
        }
    }
}

@Suite struct MixTheoryTests {
    /// `mix` with no real rows composes exactly `replace`'s training sets, so it has its theory.
    @Test func mixWithoutRealRowsHasTheReplaceTheory() {
        func facts(_ regime: String, _ a: Double) -> ExperimentFacts {
            ExperimentFacts(modelKind: "gaussian", dataKind: .continuous, dimension: 1, samples: 100, generations: 10, regime: regime,
                            realFraction: a, estimator: "mle", temperature: 1, truncation: nil, knownDistribution: true,
                            gaussianReality: true, hasLabels: false, realTrace: 1)
        }
        for g in [0, 3, 10] {
            #expect(VarianceMetric().theory(facts("mix", 0), generation: g) == VarianceMetric().theory(facts("replace", 0), generation: g))
            #expect(VarianceMetric().theory(facts("mix", 0.004), generation: g) == VarianceMetric().theory(facts("replace", 0), generation: g))
        }
        #expect(VarianceMetric().theory(facts("mix", 0.1), generation: 3) == nil)
    }
}

/// The manifest's `tool.configRepositoryCommit` comes from `git rev-parse HEAD`, run through
/// `ChildProcess` (posix_spawnp + waitpid, not Foundation's 50 ms-polling `waitUntilExit`).
@Suite struct ChildProcessTests {
    @Test func returnsStandardOutputOrNil() {
        #expect(ChildProcess.output(of: ["sh", "-c", "printf 'a\\nb'; echo ignored >&2"]) == "a\nb")
        #expect(ChildProcess.output(of: ["sh", "-c", "echo partial; exit 3"]) == nil)
        #expect(ChildProcess.output(of: ["sh", "-c", "kill -9 $$"]) == nil)
        #expect(ChildProcess.output(of: ["/nonexistent/command-\(getpid())"]) == nil)
        // Descriptors of ours (here one opened without close-on-exec, like a lock file) do not
        // reach the child: it sees only its standard input, output and error.
        let extra = open("/dev/null", O_RDONLY)
        defer { close(extra) }
        let seen = ChildProcess.output(of: ["sh", "-c", "ls /proc/$$/fd"])?.split(separator: "\n").map(String.init)
        #expect(extra > 2 && seen == ["0", "1", "2"], "child descriptors \(seen ?? [])")
        // Output larger than a pipe's buffer is read while the child runs.
        #expect(ChildProcess.output(of: ["sh", "-c", "yes x | head -c 200000"])?.count == 200_000)
    }

    @Test func commitOfTheRepositoryHoldingTheConfig() throws {
        guard ChildProcess.output(of: ["git", "--version"]) != nil else { return } // no git here: nothing to find
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("mc-git-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: dir) }
        let config = dir.appendingPathComponent("study.yaml").path
        // Not a repository yet (unless the temporary directory itself lies inside one).
        if ChildProcess.output(of: ["git", "-C", dir.path, "rev-parse", "--is-inside-work-tree"]) == nil {
            #expect(Manifest.Document.gitCommit(near: config) == nil)
        }
        let git = ["git", "-C", dir.path, "-c", "user.name=t", "-c", "user.email=t@example.org", "-c", "commit.gpgsign=false"]
        #expect(ChildProcess.output(of: git + ["init", "-q"]) != nil)
        #expect(ChildProcess.output(of: git + ["commit", "-q", "--allow-empty", "-m", "x"]) != nil)
        let commit = try #require(Manifest.Document.gitCommit(near: config))
        #expect(commit.count == 40 && commit.allSatisfy(\.isHexDigit))
        #expect(ChildProcess.output(of: ["git", "-C", dir.path, "log", "--format=%H", "-1"]) == commit + "\n")
    }
}

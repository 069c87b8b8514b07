import CollapseCore
import CollapseModels
import Foundation
import Testing
@testable import CollapseMetrics
@testable import CollapseRunner

// Tests of the categorical, regression, fairness and differential-entropy metrics
// (docs/metrics/discrete.md) and of their theory (docs/metrics/discrete-theory.md):
// 1. hand-computed values on tiny MetricContexts built directly;
// 2. the categorical theory against an exact enumeration of the whole Markov chain (tiny V, M);
// 3. every theory against simulation through the real Engine (z < 5).

/// Seed of the engine simulations: COLLAPSE_TEST_SEED or 20261129.
private let discreteTestSeed: UInt64 = {
    if let text = ProcessInfo.processInfo.environment["COLLAPSE_TEST_SEED"], let value = UInt64(text) { return value }
    return 20261129
}()

/// The metrics of this group, in `collapse list` order.
let discreteMetrics: [any Metric] = [
    SupportSizeMetric(), TailTokenMassMetric(), TotalVariationMetric(), OOVRateRealMetric(), EntropyMetric(),
    GiniSimpsonMetric(), DifferentialEntropyMetric(), ParameterErrorMetric(), TestMSERealMetric(), ExcessRiskMetric(),
    MinorityShareMetric(), AccuracyRealMetric(), WorstGroupAccuracyRealMetric(),
]

/// The standard registry plus this group's metrics (those not registered there yet).
func discreteRegistry() -> MetricRegistry {
    let standard = MetricRegistry.standard
    return MetricRegistry(metrics: standard.metrics + discreteMetrics.filter { standard.metric(named: $0.name) == nil })
}

private func facts(_ kind: String, _ data: ExperimentFacts.DataKind, dimension: Int = 1, samples: Int = 10, regime: String = "replace",
                   realFraction: Double = 0, labels: Bool = false) -> ExperimentFacts {
    ExperimentFacts(modelKind: kind, dataKind: data, dimension: dimension, samples: samples, generations: 3, regime: regime,
                    realFraction: realFraction, estimator: nil, temperature: 1, truncation: nil, knownDistribution: true,
                    gaussianReality: false, hasLabels: labels)
}

private func context(_ fitted: any FittedModel, holdout: Any, truth: RealTruth, samples: Any? = nil,
                     facts: ExperimentFacts) -> MetricContext {
    MetricContext(facts: facts, generation: 0, fitted: fitted, trainingData: holdout, provenance: Provenance(rowsByOrigin: [-1: 1]),
                  samples: samples, holdout: holdout, truth: truth,
                  stream: { Philox4x32(seed: 1, id: StreamID(variant: 0, replicate: 0, generation: 0, purpose: $0)) })
}

private func close(_ a: Double, _ b: Double, _ tolerance: Double = 1e-14) -> Bool {
    abs(a - b) <= tolerance * max(1, abs(b))
}

// MARK: - Hand-computed values

@Suite struct DiscreteMetricValueTests {
    /// Model q = (.5, .2, .2, .1, 0), reality p = (.4, .3, .15, .1, .05), holdout counts (3, 2, 1, 1, 3).
    @Test func categoricalMetricsOnAHandComputedExample() {
        let q = FittedCategorical(probabilities: [0.5, 0.2, 0.2, 0.1, 0])
        var truth = RealTruth(mean: [], covariance: Matrix(rows: 0, columns: 0))
        truth.probabilities = [0.4, 0.3, 0.15, 0.1, 0.05]
        let holdout = TokenCounts(counts: [3, 2, 1, 1, 3])
        let c = context(q, holdout: holdout, truth: truth, facts: facts("categorical", .categorical))
        #expect(SupportSizeMetric().evaluate(c) == 4)
        // Rarest first: symbol 4 (.05), then symbol 3 (.1): .15 >= .1, so T = {4, 3}; q mass .1 + 0.
        #expect(TailTokenMassMetric.tailSymbols(of: truth.probabilities!) == [4, 3])
        #expect(close(TailTokenMassMetric().evaluate(c), 0.1))
        // (|.1| + |-.1| + |.05| + 0 + |-.05|) / 2 = .15.
        #expect(close(TotalVariationMetric().evaluate(c), 0.15))
        // Symbol 4 has q = 0 and 3 of the 10 holdout tokens.
        #expect(OOVRateRealMetric().evaluate(c) == 0.3)
        // -(.5 log .5 + 2 (.2 log .2) + .1 log .1) = .5 log 2 + .4 log 5 + .1 log 10.
        let handEntropy: Double = 0.5 * log(2.0) + 0.4 * log(5.0) + 0.1 * log(10.0)
        #expect(close(EntropyMetric().evaluate(c), handEntropy))
        // 1 - (.25 + .04 + .04 + .01) = .66.
        #expect(close(GiniSimpsonMetric().evaluate(c), 0.66))
        // A holdout token of symbol 4 has probability 0: nll = +inf.
        #expect(NLLRealMetric().evaluate(c) == .infinity)
        // Without those tokens: (3 log 2 + 2 log 5 + log 5 + log 10) / 7.
        let seen = context(q, holdout: TokenCounts(counts: [3, 2, 1, 1, 0]), truth: truth, facts: facts("categorical", .categorical))
        let handNLL: Double = (3 * log(2.0) + 3 * log(5.0) + log(10.0)) / 7
        #expect(close(NLLRealMetric().evaluate(seen), handNLL))
        #expect(OOVRateRealMetric().evaluate(seen) == 0)
        // An empty holdout leaves the holdout metrics undefined.
        let empty = context(q, holdout: TokenCounts(counts: [0, 0, 0, 0, 0]), truth: truth, facts: facts("categorical", .categorical))
        #expect(OOVRateRealMetric().evaluate(empty).isNaN && NLLRealMetric().evaluate(empty).isNaN)
    }

    @Test func tailSetBreaksTiesTowardTheHigherSymbolAndStopsAtTenPercent() {
        // Uniform: all tied; the highest index is the rarest, and one symbol (.25) already reaches 10 %.
        #expect(TailTokenMassMetric.tailSymbols(of: [0.25, 0.25, 0.25, 0.25]) == [3])
        // Not monotone: .05 at symbols 0 and 2 (2 first); .05 + .05 == .1 in doubles reaches the cut.
        #expect(TailTokenMassMetric.tailSymbols(of: [0.05, 0.5, 0.05, 0.4]) == [2, 0])
        // Zipf order (non-increasing): a suffix, rarest first.
        #expect(TailTokenMassMetric.tailSymbols(of: [0.6, 0.3, 0.06, 0.04]) == [3, 2])
    }

    /// w* = (1, -2), s = .5; model w = (1.5, -2), b = .5, sigma² = 1; holdout rows (1,0), (0,1), (1,1) with y = 1, -1, 0.
    @Test func regressionMetricsOnAHandComputedExample() {
        let model = FittedLinearRegression(coefficients: [1.5, -2], intercept: 0.5, noiseVariance: 1)
        var truth = RealTruth(mean: [0, 0], covariance: .identity(2))
        truth.coefficients = [1, -2]
        truth.noiseStd = 0.5
        let holdout = RegressionData(design: Matrix([[1, 0], [0, 1], [1, 1]]), targets: [1, -1, 0])
        let c = context(model, holdout: holdout, truth: truth, facts: facts("linear-regression", .regression, dimension: 2))
        // Intercept excluded: (1.5 - 1)² = .25.
        #expect(ParameterErrorMetric().evaluate(c) == 0.25)
        // Predictions 2, -1.5, 0: residuals -1, .5, 0 -> (1 + .25 + 0) / 3.
        #expect(close(TestMSERealMetric().evaluate(c), 1.25 / 3))
        #expect(close(ExcessRiskMetric().evaluate(c), 1.25 / 3 - 0.25))
        // Conditional nll with sigma = 1: (1/2) log 2 pi + mean residual² / 2.
        #expect(close(NLLRealMetric().evaluate(c), 0.5 * log(2 * Double.pi) + 1.25 / 6))
        // A dataset source has no true coefficients.
        var dataset = truth
        dataset.coefficients = nil
        dataset.noiseStd = nil
        let d = context(model, holdout: holdout, truth: dataset, facts: facts("linear-regression", .regression, dimension: 2))
        #expect(ParameterErrorMetric().evaluate(d).isNaN && ExcessRiskMetric().evaluate(d).isNaN)
    }

    /// Priors (.6, .3, .1), classes N(0, 1), N(2, 1), N(10, 1): the 0/1 boundary is 1 + log(2)/2 ≈ 1.347.
    @Test func classifierMetricsOnAHandComputedExample() {
        let model = FittedClassConditional<FittedGaussian>(
            priors: [0.6, 0.3, 0.1], models: [FittedGaussian(mean: 0, variance: 1), FittedGaussian(mean: 2, variance: 1),
                                              FittedGaussian(mean: 10, variance: 1)], dimension: 1)
        var truth = RealTruth(mean: [0], covariance: Matrix([[1]]))
        truth.minority = (2, 0.1)
        let x: [Double] = [-1, 0.5, 1.3, 1.5, 3, 2.5, 5]
        let holdout = LabelledData(features: Matrix(column: x), labels: [0, 0, 1, 0, 1, 1, 1])
        let c = context(model, holdout: holdout, truth: truth, facts: facts("gaussian", .continuous, labels: true))
        // Predictions 0, 0, 0, 1, 1, 1, 1: rows 2 and 3 wrong -> 5/7; class 0: 2/3, class 1: 3/4;
        // class 2 is absent from the holdout and skipped.
        #expect(close(AccuracyRealMetric().evaluate(c), 5.0 / 7))
        #expect(close(WorstGroupAccuracyRealMetric().evaluate(c), 2.0 / 3))
        #expect(MinorityShareMetric().evaluate(c) == 0.1)
        // Marginal nll: -mean log sum_c w_c phi(x - mu_c).
        let means: [Double] = [0, 2, 10], w = [0.6, 0.3, 0.1]
        var nll = 0.0
        for xi in x {
            var density = 0.0
            for k in 0..<3 { density += w[k] * exp(-0.5 * (xi - means[k]) * (xi - means[k])) / (2 * Double.pi).squareRoot() }
            nll -= log(density)
        }
        #expect(close(NLLRealMetric().evaluate(c), nll / 7, 1e-13))
    }

    /// Real mixture .8 N(0, 1) + .2 N(3, 1): the Bayes boundary is 1.5 + log(4)/3 ≈ 1.962.
    @Test func minorityShareOfAnUnlabelledModelUsesTheRealBayesAssignment() throws {
        let truth = ContinuousWorld.mixtureTruth(weights: [0.8, 0.2], means: [[0], [3]], covariances: [Matrix([[1]]), Matrix([[1]])])
        #expect(truth.minority?.index == 1 && truth.mixture?.count == 2)
        let samples = Matrix(column: [0, 1.9, 2.0, 3, 5, -2])
        var f = facts("gaussian", .continuous)
        f.realMinorityShare = 0.2
        let c = context(FittedGaussian(mean: 0, variance: 1), holdout: Matrix(column: [0]), truth: truth, samples: samples, facts: f)
        #expect(MinorityShareMetric().evaluate(c) == 0.5) // 2.0, 3 and 5 are assigned to the minority
        #expect(MinorityShareMetric().problem(with: f) == nil)
        let none = context(FittedGaussian(mean: 0, variance: 1), holdout: Matrix(column: [0]), truth: truth,
                           samples: Matrix(rows: 0, columns: 1), facts: f)
        #expect(MinorityShareMetric().evaluate(none).isNaN)
    }

    @Test func differentialEntropyOfGaussianModels() {
        let truth = RealTruth(mean: [0], covariance: Matrix([[1]]))
        let f = facts("gaussian", .continuous)
        let one = context(FittedGaussian(mean: 1, variance: 4), holdout: Matrix(column: [0]), truth: truth, facts: f)
        #expect(close(DifferentialEntropyMetric().evaluate(one), 0.5 * log(2 * Double.pi * M_E * 4)))
        // det [[2, .5], [.5, 1]] = 1.75: h = log(2 pi e) + log(1.75)/2.
        let mvn = FittedMultivariateGaussian(mean: [0, 0], covariance: Matrix([[2, 0.5], [0.5, 1]]))
        let two = context(mvn, holdout: Matrix([[0, 0]]), truth: truth, facts: facts("mvn", .continuous, dimension: 2))
        #expect(close(DifferentialEntropyMetric().evaluate(two), log(2 * Double.pi * M_E) + 0.5 * log(1.75), 1e-13))
        let singular = FittedMultivariateGaussian(mean: [0, 0], covariance: Matrix([[1, 1], [1, 1]]), rankDeficient: true)
        let flat = context(singular, holdout: Matrix([[0, 0]]), truth: truth, facts: facts("mvn", .continuous, dimension: 2))
        #expect(DifferentialEntropyMetric().evaluate(flat) == -.infinity)
        let zero = context(FittedGaussian(mean: 1, variance: 0), holdout: Matrix(column: [0]), truth: truth, facts: f)
        #expect(DifferentialEntropyMetric().evaluate(zero) == -.infinity)
    }

    @Test func metricsNameTheModelsTheyNeed() {
        let categoricalFacts = facts("categorical", .categorical)
        let regression = facts("linear-regression", .regression)
        var datasetRegression = regression
        datasetRegression.knownDistribution = false
        #expect(SupportSizeMetric().problem(with: categoricalFacts) == nil && SupportSizeMetric().problem(with: regression) != nil)
        #expect(EntropyMetric().problem(with: facts("gaussian", .continuous)) != nil)
        #expect(DifferentialEntropyMetric().problem(with: facts("kde", .continuous)) != nil)
        #expect(ParameterErrorMetric().problem(with: datasetRegression) != nil && TestMSERealMetric().problem(with: datasetRegression) == nil)
        #expect(AccuracyRealMetric().problem(with: facts("gaussian", .continuous)) != nil)
        #expect(MinorityShareMetric().problem(with: facts("gaussian", .continuous)) != nil) // no gmm reality
        #expect(NLLRealMetric().problem(with: categoricalFacts) == nil && NLLRealMetric().problem(with: regression) == nil)
    }
}

// MARK: - Categorical theory against exact enumeration

/// The exact distribution of a categorical refit chain for tiny V and M, by enumerating every
/// training set: an independent reference for the recursions of `CategoricalTheory`.
private struct ExactCategoricalChain {
    enum Regime { case replace, accumulate, accumulateSubsample, mix(Int), fresh(Int) }
    let p: [Double]
    let m: Int
    let alpha: Double
    let regime: Regime

    /// (E support, E oov, E gini-simpson, E tail mass) for generations 0 ... g.
    func expectations(through g: Int) -> [[Double]] {
        let v = p.count
        var states: [[Int]: Double] = [:]
        for (c, pr) in multinomial(m, p) {
            switch regime {
            case .mix, .accumulateSubsample: states[c + c, default: 0] += pr // (real or pool, training)
            default: states[c, default: 0] += pr
            }
        }
        let tail = TailTokenMassMetric.tailSymbols(of: p)
        var out: [[Double]] = []
        for generation in 0...g {
            var e = [0.0, 0, 0, 0]
            for (state, pr) in states {
                let q = model(state)
                e[0] += pr * Double(q.filter { $0 > 0 }.count)
                e[1] += pr * (0..<v).reduce(0) { $0 + (q[$1] == 0 ? p[$1] : 0) }
                e[2] += pr * (1 - q.reduce(0) { $0 + $1 * $1 })
                e[3] += pr * tail.reduce(0) { $0 + q[$1] }
            }
            out.append(e)
            if generation == g { break }
            var next: [[Int]: Double] = [:]
            for (state, pr) in states {
                let q = model(state)
                switch regime {
                case .replace:
                    for (x, a) in multinomial(m, q) { next[x, default: 0] += pr * a }
                case .accumulate:
                    for (x, a) in multinomial(m, q) { next[zip(state, x).map(+), default: 0] += pr * a }
                case let .fresh(r):
                    for (x, a) in multinomial(r, p) { for (y, b) in multinomial(m - r, q) { next[zip(x, y).map(+), default: 0] += pr * a * b } }
                case let .mix(r):
                    let real = Array(state[0..<v])
                    for (x, a) in hypergeometric(r, from: real) {
                        for (y, b) in multinomial(m - r, q) { next[real + zip(x, y).map(+), default: 0] += pr * a * b }
                    }
                case .accumulateSubsample:
                    for (x, a) in multinomial(m, q) {
                        let pool = zip(state[0..<v], x).map(+)
                        for (t, b) in hypergeometric(m, from: pool) { next[pool + t, default: 0] += pr * a * b }
                    }
                }
            }
            states = next
        }
        return out
    }

    /// The fitted probabilities (c + alpha) / (n + V alpha) of a state's training counts.
    func model(_ state: [Int]) -> [Double] {
        let v = p.count
        let counts: [Int]
        switch regime {
        case .mix, .accumulateSubsample: counts = Array(state[v...])
        default: counts = state
        }
        let n = Double(counts.reduce(0, +))
        return counts.map { (Double($0) + alpha) / (n + Double(v) * alpha) }
    }

    func choose(_ n: Int, _ k: Int) -> Double {
        guard k >= 0 && k <= n else { return 0 }
        var r = 1.0
        for i in 0..<k { r = r * Double(n - i) / Double(i + 1) }
        return r
    }

    func compositions(_ n: Int, _ parts: Int) -> [[Int]] {
        if parts == 1 { return [[n]] }
        return (0...n).flatMap { first in compositions(n - first, parts - 1).map { [first] + $0 } }
    }

    func multinomial(_ n: Int, _ q: [Double]) -> [([Int], Double)] {
        compositions(n, q.count).compactMap { c in
            var pr = 1.0, left = n
            for (k, q) in zip(c, q) {
                pr *= choose(left, k) * (k == 0 ? 1 : pow(q, Double(k)))
                left -= k
            }
            return pr > 0 ? (c, pr) : nil
        }
    }

    func hypergeometric(_ k: Int, from pool: [Int]) -> [([Int], Double)] {
        let total = choose(pool.reduce(0, +), k)
        return compositions(k, pool.count).compactMap { c in
            let pr = zip(c, pool).reduce(1.0) { $0 * choose($1.1, $1.0) } / total
            return pr > 0 ? (c, pr) : nil
        }
    }
}

@Suite struct CategoricalTheoryExactTests {
    let p = [0.5, 0.3, 0.2]
    let m = 4

    func theoryFacts(_ regime: String, realFraction: Double = 0, smoothing: Double = 0) -> ExperimentFacts {
        var f = facts("categorical", .categorical, samples: m, regime: regime, realFraction: realFraction)
        f.realProbabilities = p
        f.smoothing = smoothing
        return f
    }

    /// Checks each metric's theory (where it claims one) against the exact chain, generations 0 ... 3.
    fileprivate func check(_ regime: ExactCategoricalChain.Regime, _ f: ExperimentFacts, expectTheory names: [String]) {
        let exact = ExactCategoricalChain(p: p, m: m, alpha: f.smoothing, regime: regime).expectations(through: 3)
        let metrics: [any Metric] = [SupportSizeMetric(), OOVRateRealMetric(), GiniSimpsonMetric(), TailTokenMassMetric()]
        for (i, metric) in metrics.enumerated() {
            for g in 0...3 {
                let theory = metric.theory(f, generation: g)
                if names.contains(metric.name) || g == 0 {
                    guard let theory else {
                        Issue.record("\(metric.name) \(f.regime) alpha \(f.smoothing): no theory at generation \(g)")
                        continue
                    }
                    #expect(close(theory, exact[g][i], 1e-12), "\(metric.name) \(f.regime) g \(g): \(theory) vs exact \(exact[g][i])")
                } else {
                    #expect(theory == nil, "\(metric.name) \(f.regime) g \(g) claims theory \(String(describing: theory))")
                }
            }
        }
    }

    @Test func replaceMatchesTheExactChain() {
        check(.replace, theoryFacts("replace"), expectTheory: ["support_size", "oov_rate_real", "gini_simpson", "tail_token_mass"])
        check(.replace, theoryFacts("replace", smoothing: 0.5), expectTheory: ["support_size", "oov_rate_real", "gini_simpson", "tail_token_mass"])
    }

    @Test func accumulateMatchesTheExactChain() {
        check(.accumulate, theoryFacts("accumulate"), expectTheory: ["support_size", "oov_rate_real", "gini_simpson", "tail_token_mass"])
        check(.accumulate, theoryFacts("accumulate", smoothing: 0.5), expectTheory: ["support_size", "oov_rate_real", "gini_simpson", "tail_token_mass"])
    }

    @Test func mixFreshAndSubsampleMatchTheExactChain() {
        check(.mix(2), theoryFacts("mix", realFraction: 0.5), expectTheory: ["gini_simpson", "tail_token_mass"])
        check(.fresh(1), theoryFacts("fresh", realFraction: 0.25), expectTheory: ["gini_simpson", "tail_token_mass"])
        check(.mix(2), theoryFacts("mix", realFraction: 0.5, smoothing: 0.5), expectTheory: ["support_size", "oov_rate_real", "tail_token_mass"])
        check(.accumulateSubsample, theoryFacts("accumulate-subsample"), expectTheory: ["tail_token_mass"])
        check(.accumulateSubsample, theoryFacts("accumulate-subsample", smoothing: 0.5),
              expectTheory: ["support_size", "oov_rate_real", "tail_token_mass"])
    }

    @Test func samplingKnobsLeaveOnlyGenerationZeroAndAccumulateSupport() {
        var f = theoryFacts("replace")
        f.temperature = 0.8
        #expect(SupportSizeMetric().theory(f, generation: 0) != nil && SupportSizeMetric().theory(f, generation: 1) == nil)
        #expect(GiniSimpsonMetric().theory(f, generation: 1) == nil && TailTokenMassMetric().theory(f, generation: 1) == nil)
        f.temperature = 1
        f.topK = 2
        #expect(SupportSizeMetric().theory(f, generation: 1) == nil)
        f.topK = 3 // top-k >= V changes nothing
        #expect(SupportSizeMetric().theory(f, generation: 1) != nil)
        var a = theoryFacts("accumulate")
        a.temperature = 0.5
        #expect(SupportSizeMetric().theory(a, generation: 3) == SupportSizeMetric().theory(a, generation: 0))
    }
}

// MARK: - Theory against simulation through the real Engine

/// One summary.csv row.
private struct SummaryRow {
    let label: String
    let generation: Int
    let metric: String
    let n: Double
    let mean: Double
    let std: Double
    let theory: Double?
}

/// An experiment of named variants (swept key `case`).
private func inlineExperiment(_ cases: [(String, ExperimentConfig)]) -> Experiment {
    let variants = cases.enumerated().map { i, c in
        Variant(index: i, parameters: [SweptValue(keyPath: "case", value: .string(c.0))], config: c.1)
    }
    return Experiment(configPath: "inline.yaml", configSHA256: "test", configText: "inline", sweptKeys: ["case"], variants: variants)
}

private func runSummary(_ experiment: Experiment, _ name: String) throws -> [SummaryRow] {
    let dir = temporaryDirectory(name)
    defer { try? FileManager.default.removeItem(at: dir) }
    _ = try Engine(experiment: experiment, registry: discreteRegistry()).run(RunOptions(outputDirectory: dir, threads: 2))
    let lines = try String(contentsOf: dir.appendingPathComponent("summary.csv"), encoding: .utf8).split(separator: "\n")
    let header = lines[0].split(separator: ",").map(String.init)
    func column(_ name: String) -> Int { header.firstIndex(of: name)! }
    return lines.dropFirst().map { line in
        let f = line.split(separator: ",", omittingEmptySubsequences: false).map(String.init)
        return SummaryRow(label: f[column("case")], generation: Int(f[column("generation")])!, metric: f[column("metric")],
                          n: Double(f[column("n")])!, mean: Double(f[column("mean")])!, std: Double(f[column("std")])!,
                          theory: Double(f[column("theory")]))
    }
}

/// Every row with a theory value: |mean - theory| < 5 std / sqrt(n) (the replicate mean's standard
/// error; chains are independent), or equality up to rounding when every chain gave the same value.
/// Returns the largest z seen and the number of comparisons.
@discardableResult
private func expectTheoryHolds(_ rows: [SummaryRow], metrics: Set<String>, expected: Int) -> Double {
    var worst = 0.0, compared = 0, resolution = 0.0
    for row in rows where metrics.contains(row.metric) {
        guard let theory = row.theory else { continue }
        compared += 1
        if theory != 0 { resolution = max(resolution, row.std / row.n.squareRoot() / abs(theory)) }
        if row.std == 0 {
            #expect(abs(row.mean - theory) <= 1e-9 * max(1, abs(theory)), "\(row.label) g\(row.generation) \(row.metric): \(row.mean) vs \(theory)")
            continue
        }
        let z = abs(row.mean - theory) / (row.std / row.n.squareRoot())
        worst = max(worst, z)
        #expect(z < 5, "\(row.label) g\(row.generation) \(row.metric): mean \(row.mean), theory \(theory), z \(z)")
    }
    #expect(compared == expected, "compared \(compared) theory values, expected \(expected)")
    print("theory vs engine: \(compared) comparisons, max z \(worst), largest standard error / theory \(resolution)"
          + " (\(metrics.sorted().joined(separator: ", ")))")
    return worst
}

@Suite struct DiscreteTheorySimulationTests {
    let seed = discreteTestSeed

    /// Zipf(V = 30, s = 1.1), M = 40, 300 chains, 5 generations, six regimes.
    @Test func categoricalTheoryMatchesTheEngine() throws {
        func config(_ regime: RegimeConfig, smoothing: Double = 0) -> ExperimentConfig {
            ExperimentConfig(name: "discrete-categorical", seed: seed, replicates: 300, generations: 5, samples: 40,
                             real: RealSourceConfig(source: .zipf(vocabulary: 30, exponent: 1.1), holdout: 100),
                             model: ModelConfig(family: .categorical(smoothing: smoothing)), regime: regime,
                             metrics: ["support_size", "tail_token_mass", "tv", "oov_rate_real", "entropy", "gini_simpson", "nll_real"])
        }
        let experiment = inlineExperiment([
            ("replace", config(RegimeConfig(kind: .replace))),
            ("accumulate", config(RegimeConfig(kind: .accumulate))),
            ("mix", config(RegimeConfig(kind: .mix, realFraction: 0.5))),
            ("fresh", config(RegimeConfig(kind: .fresh, realFraction: 0.25))),
            ("subsample", config(RegimeConfig(kind: .accumulateSubsample))),
            ("smoothed", config(RegimeConfig(kind: .replace), smoothing: 0.5)),
        ])
        let rows = try runSummary(experiment, "categorical")
        // 6 generations: replace and accumulate 4 metrics each, mix and fresh 2 (gini, tail) + support
        // and oov at generation 0, subsample tail + 3 at generation 0, smoothed 4.
        expectTheoryHolds(rows, metrics: ["support_size", "oov_rate_real", "gini_simpson", "tail_token_mass"],
                          expected: 4 * 6 + 4 * 6 + (2 * 6 + 2) + (2 * 6 + 2) + (6 + 3) + 4 * 6)
        // Replace without smoothing loses symbols: the mean support shrinks every generation.
        let support = rows.filter { $0.label == "replace" && $0.metric == "support_size" }.sorted { $0.generation < $1.generation }
        #expect(zip(support, support.dropFirst()).allSatisfy { $0.mean > $1.mean })
    }

    /// d = 5, T = 14 rows, s = .7, 300 chains, 4 generations, 250 holdout rows.
    @Test func regressionTheoryMatchesTheEngine() throws {
        func config(_ regime: RegimeConfig, intercept: Bool = false, known: Bool = true, fresh: Bool = false,
                    sampling: SamplingOptions = SamplingOptions()) -> ExperimentConfig {
            ExperimentConfig(name: "discrete-regression", seed: seed, replicates: 300, generations: 4, samples: 14,
                             real: RealSourceConfig(source: .linearRegression(coefficients: [1, -0.5, 2, 0, 0.3], noiseStd: 0.7),
                                                    holdout: 250),
                             model: ModelConfig(family: .linearRegression(intercept: intercept, knownNoise: known, freshDesign: fresh)),
                             regime: regime, sampling: sampling, metrics: ["param_error", "test_mse_real", "excess_risk"])
        }
        let experiment = inlineExperiment([
            ("replace-known", config(RegimeConfig(kind: .replace))),
            ("accumulate-known", config(RegimeConfig(kind: .accumulate))),
            ("replace-estimated-intercept", config(RegimeConfig(kind: .replace), intercept: true, known: false)),
            ("replace-fresh-tempered", config(RegimeConfig(kind: .replace), fresh: true, sampling: SamplingOptions(temperature: 1.3))),
            ("accumulate-truncated", config(RegimeConfig(kind: .accumulate), sampling: SamplingOptions(truncation: 1))),
        ])
        let rows = try runSummary(experiment, "regression")
        expectTheoryHolds(rows, metrics: ["param_error", "test_mse_real", "excess_risk"], expected: 5 * 5 * 3)
        // The formulas' values at generation 3: s² d / (T - d - 1) (g + 1) and s² d / (T - d - 1) sum_{i<=4} 1/i².
        let g3 = rows.first { $0.label == "replace-known" && $0.generation == 3 && $0.metric == "param_error" }!
        #expect(close(g3.theory!, 0.49 * 5.0 / 8 * 4, 1e-13))
        let acc = rows.first { $0.label == "accumulate-known" && $0.generation == 3 && $0.metric == "param_error" }!
        #expect(close(acc.theory!, 0.49 * 5.0 / 8 * (1 + 1.0 / 4 + 1.0 / 9 + 1.0 / 16), 1e-13))
    }

    /// Real .75 N(0, 1) + .25 N(2.5, .49) with labels; class-conditional Gaussian MLE, M = 20, 400 chains.
    @Test func minorityShareTheoryMatchesTheEngine() throws {
        func config(_ regime: RegimeConfig) -> ExperimentConfig {
            ExperimentConfig(name: "discrete-fairness", seed: seed, replicates: 400, generations: 5, samples: 20,
                             real: RealSourceConfig(source: .gmm(weights: [0.75, 0.25], means: [[0], [2.5]],
                                                                covariances: [Matrix([[1]]), Matrix([[0.49]])]), holdout: 100),
                             model: ModelConfig(family: .gaussian(estimator: .mle), classConditional: true), regime: regime,
                             metrics: ["minority_share", "accuracy_real", "worst_group_accuracy_real"])
        }
        let rows = try runSummary(inlineExperiment([("replace", config(RegimeConfig(kind: .replace))),
                                                    ("mix", config(RegimeConfig(kind: .mix, realFraction: 0.5)))]), "fairness")
        expectTheoryHolds(rows, metrics: ["minority_share"], expected: 2 * 6)
        for row in rows where row.metric == "accuracy_real" || row.metric == "worst_group_accuracy_real" {
            #expect(row.mean > 0 && row.mean <= 1 && row.n == 400)
        }
    }

    /// 1-D N(1, 4) (MLE, M = 10) and 2-D mvn (unbiased, M = 8, temperature .9), replace, 400 chains.
    @Test func differentialEntropyTheoryMatchesTheEngine() throws {
        let gaussian = ExperimentConfig(name: "discrete-entropy", seed: seed, replicates: 400, generations: 5, samples: 10,
                                        real: RealSourceConfig(source: .gaussian(mean: 1, std: 2), holdout: 10),
                                        model: ModelConfig(family: .gaussian(estimator: .mle)), metrics: ["differential_entropy"])
        let mvn = ExperimentConfig(name: "discrete-entropy", seed: seed, replicates: 400, generations: 5, samples: 8,
                                   real: RealSourceConfig(source: .mvn(mean: [0, 1], covariance: Matrix([[2, 0.6], [0.6, 1]])), holdout: 10),
                                   model: ModelConfig(family: .mvn(estimator: .unbiased, regularization: 0)),
                                   sampling: SamplingOptions(temperature: 0.9), metrics: ["differential_entropy"])
        let rows = try runSummary(inlineExperiment([("gaussian", gaussian), ("mvn", mvn)]), "entropy")
        expectTheoryHolds(rows, metrics: ["differential_entropy"], expected: 2 * 6)
        // Closed form at generation 0, 1-D MLE: h_real + (psi((M-1)/2) + log(2/M)) / 2.
        let g0 = rows.first { $0.label == "gaussian" && $0.generation == 0 }!
        let expected = 0.5 * log(2 * Double.pi * M_E * 4) + 0.5 * (SpecialFunctions.digamma(4.5) + log(0.2))
        #expect(close(g0.theory!, expected, 1e-13))
    }
}

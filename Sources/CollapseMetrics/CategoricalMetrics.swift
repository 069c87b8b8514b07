import CollapseCore
import CollapseModels
import Foundation

// Metrics of categorical models (FittedCategorical over V symbols, TokenCounts data) against a
// known real distribution `truth.probabilities` (Zipf). Definitions: docs/metrics/discrete.md;
// theory: docs/metrics/discrete-theory.md. None of them draws random numbers.

private func categoricalOnly(_ facts: ExperimentFacts) -> String? {
    facts.dataKind == .categorical ? nil : "needs a categorical model (model.kind categorical)"
}

/// The fitted categorical model of a context, or nil for other families.
private func categorical(_ context: MetricContext) -> FittedCategorical? { context.fitted as? FittedCategorical }

/// Neumaier-compensated sum.
private func compensatedSum<S: Sequence<Double>>(_ values: S) -> Double {
    var sum = 0.0, compensation = 0.0
    for x in values {
        let t = sum + x
        compensation += abs(sum) >= abs(x) ? (sum - t) + x : (x - t) + sum
        sum = t
    }
    return sum + compensation
}

// MARK: - Support

/// `support_size`: the number of symbols with non-zero model probability.
public struct SupportSizeMetric: ModelOnlyMetric {
    public init() {}
    public let name = "support_size"
    public let summary = "number of symbols with non-zero model probability (reality: V)"
    public let unit = "symbols"
    public let direction = MetricDirection.lowerIsWorse
    public func problem(with facts: ExperimentFacts) -> String? { categoricalOnly(facts) }
    public func evaluate(_ context: MetricContext) -> Double {
        guard let model = categorical(context) else { return .nan }
        return Double(model.supportSize)
    }
    /// sum_v (1 - (1 - p_v)^M) at generation 0 and under `accumulate`; the exact Wright–Fisher
    /// recursion under `replace` (neutral sampling); V with smoothing.
    public func theory(_ facts: ExperimentFacts, generation: Int) -> Double? {
        guard let t = CategoricalTheory(facts) else { return nil }
        return t.support(generation)
    }
}

// MARK: - Tail

/// `tail_token_mass`: model mass on the rarest real symbols that together hold 10 % of the real mass.
///
/// The tail set T: symbols sorted by real probability ascending (ties: the higher symbol index
/// first, i.e. the later Zipf rank counts as rarer), the shortest prefix whose real mass,
/// accumulated with compensated summation, is >= 0.1. The value is sum_{v in T} q_v.
public struct TailTokenMassMetric: ModelOnlyMetric {
    public init() {}
    public let name = "tail_token_mass"
    public let summary = "model mass on the rarest real symbols holding 10 % of the real mass (reality: >= 0.1)"
    public let unit = "probability"
    public let direction = MetricDirection.towardReality
    /// The real mass that defines the tail set.
    public static let tailMass = 0.1

    public func problem(with facts: ExperimentFacts) -> String? { categoricalOnly(facts) }
    public func evaluate(_ context: MetricContext) -> Double {
        guard let model = categorical(context), let p = context.truth.probabilities,
              p.count == model.vocabularySize else { return .nan }
        return compensatedSum(Self.tailSymbols(of: p).map { model.probabilities[$0] })
    }
    /// The expected tail mass: an exact affine recursion for every regime under neutral sampling
    /// (the real tail mass itself without smoothing).
    public func theory(_ facts: ExperimentFacts, generation: Int) -> Double? {
        guard let t = CategoricalTheory(facts) else { return nil }
        return t.tailMass(generation)
    }

    /// The tail set T of real probabilities `p` (see the type), rarest first.
    ///
    /// - Complexity: O(V) when `p` is non-increasing in the index (Zipf), else O(V log V).
    public static func tailSymbols(of p: [Double], mass: Double = tailMass) -> [Int] {
        var monotone = true
        for v in p.indices.dropFirst() where p[v] > p[v - 1] {
            monotone = false
            break
        }
        let order: [Int] = monotone ? Array(p.indices.reversed())
            : p.indices.sorted { p[$0] < p[$1] || (p[$0] == p[$1] && $0 > $1) }
        var sum = 0.0, compensation = 0.0
        var out: [Int] = []
        for v in order {
            out.append(v)
            let t = sum + p[v]
            compensation += abs(sum) >= abs(p[v]) ? (sum - t) + p[v] : (p[v] - t) + sum
            sum = t
            if sum + compensation >= mass { break }
        }
        return out
    }
}

// MARK: - Distance to reality

/// `tv`: total variation distance (1/2) sum_v |q_v - p_v| between model and real probabilities.
public struct TotalVariationMetric: ModelOnlyMetric {
    public init() {}
    public let name = "tv"
    public let summary = "total variation distance between model and real symbol probabilities"
    public let unit = "probability"
    public let direction = MetricDirection.higherIsWorse
    public func problem(with facts: ExperimentFacts) -> String? { categoricalOnly(facts) }
    public func evaluate(_ context: MetricContext) -> Double {
        guard let model = categorical(context), let p = context.truth.probabilities,
              p.count == model.vocabularySize else { return .nan }
        return 0.5 * compensatedSum(zip(model.probabilities, p).lazy.map { abs($0 - $1) })
    }
}

/// `oov_rate_real`: share of real holdout tokens whose symbol has zero model probability.
public struct OOVRateRealMetric: ModelOnlyMetric {
    public init() {}
    public let name = "oov_rate_real"
    public let summary = "share of real holdout tokens the model gives probability 0"
    public let unit = "fraction"
    public let direction = MetricDirection.higherIsWorse
    public func problem(with facts: ExperimentFacts) -> String? { categoricalOnly(facts) }
    public func evaluate(_ context: MetricContext) -> Double {
        guard let model = categorical(context), let holdout = context.holdout as? TokenCounts,
              holdout.vocabularySize == model.vocabularySize, holdout.total > 0 else { return .nan }
        var missing = 0
        for (v, c) in holdout.counts.enumerated() where model.probabilities[v] == 0 { missing += c }
        return Double(missing) / Double(holdout.total)
    }
    /// sum_v p_v (1 - p_v)^M at generation 0 and under `accumulate`; Wright–Fisher under `replace`; 0 with smoothing.
    public func theory(_ facts: ExperimentFacts, generation: Int) -> Double? {
        guard let t = CategoricalTheory(facts) else { return nil }
        return t.oov(generation)
    }
}

// MARK: - Diversity

/// `entropy`: Shannon entropy of the categorical model, -sum_v q_v log q_v, in nats.
///
/// Continuous models have no Shannon entropy: their entropy is `differential_entropy`, a different
/// quantity (it can be negative and depends on the data's unit), hence the separate name.
public struct EntropyMetric: ModelOnlyMetric {
    public init() {}
    public let name = "entropy"
    public let summary = "Shannon entropy of the categorical model (reality: the real entropy)"
    public let unit = "nats"
    public let direction = MetricDirection.towardReality
    public func problem(with facts: ExperimentFacts) -> String? {
        facts.dataKind == .categorical ? nil : "is the Shannon entropy of a categorical model (use differential_entropy for gaussian/mvn)"
    }
    public func evaluate(_ context: MetricContext) -> Double {
        guard let model = categorical(context) else { return .nan }
        return model.entropy
    }
}

/// `gini_simpson`: 1 - sum_v q_v², the probability that two model draws are different symbols.
public struct GiniSimpsonMetric: ModelOnlyMetric {
    public init() {}
    public let name = "gini_simpson"
    public let summary = "1 - sum of squared model probabilities (chance that two draws differ)"
    public let unit = "probability"
    public let direction = MetricDirection.towardReality
    public func problem(with facts: ExperimentFacts) -> String? { categoricalOnly(facts) }
    public func evaluate(_ context: MetricContext) -> Double {
        guard let model = categorical(context) else { return .nan }
        return 1 - compensatedSum(model.probabilities.lazy.map { $0 * $0 })
    }
    /// Exact moment recursions (Wright–Fisher heterozygosity): generation 0 always; replace and
    /// accumulate with any smoothing, mix and fresh without, under neutral sampling.
    public func theory(_ facts: ExperimentFacts, generation: Int) -> Double? {
        guard let t = CategoricalTheory(facts) else { return nil }
        return t.giniSimpson(generation)
    }
}

// MARK: - Theory

/// Closed forms and exact recursions for categorical refits (docs/metrics/discrete-theory.md).
///
/// Generation g's model is fitted on generation g's training set; generation 0 on M real tokens.
/// "Neutral" sampling: temperature 1 and no effective top-k, so the model samples its own p-hat.
private struct CategoricalTheory {
    let p: [Double]
    let m: Int
    let alpha: Double
    let regime: String
    /// Real tokens per training set under mix / fresh.
    let realCount: Int
    let neutral: Bool

    init?(_ facts: ExperimentFacts) {
        guard facts.dataKind == .categorical, facts.modelKind == "categorical", facts.knownDistribution,
              let p = facts.realProbabilities, !p.isEmpty, facts.samples >= 1 else { return nil }
        self.p = p
        m = facts.samples
        alpha = facts.smoothing
        regime = facts.regime
        realCount = Int((facts.realFraction * Double(facts.samples)).rounded())
        neutral = facts.temperature == 1 && (facts.topK.map { $0 >= p.count } ?? true)
    }

    var v: Double { Double(p.count) }
    var tokens: Double { Double(m) }

    func support(_ g: Int) -> Double? {
        if alpha > 0 { return v }
        if g == 0 || regime == "accumulate" {
            return compensatedSum(p.lazy.map { -Foundation.expm1(Double(self.m) * Foundation.log1p(-$0)) })
        }
        guard regime == "replace", neutral else { return nil }
        return WrightFisherTheory.shared.expectations(probabilities: p, population: m, generation: g)?.support
    }

    func oov(_ g: Int) -> Double? {
        if alpha > 0 { return 0 }
        if g == 0 || regime == "accumulate" {
            return compensatedSum(p.lazy.map { $0 * Foundation.exp(Double(self.m) * Foundation.log1p(-$0)) })
        }
        guard regime == "replace", neutral else { return nil }
        return WrightFisherTheory.shared.expectations(probabilities: p, population: m, generation: g)?.oov
    }

    /// E[sum_v q_v²] of a fit with smoothing alpha to M tokens whose E[sum_v c_v²] is `u` (N tokens).
    func squaredMass(countSquares u: Double, tokens n: Double) -> Double {
        let d = n + v * alpha
        return (u + 2 * alpha * n + v * alpha * alpha) / (d * d)
    }

    func giniSimpson(_ g: Int) -> Double? {
        let s = compensatedSum(p.lazy.map { $0 * $0 })
        let mm = tokens
        // E[sum c_v²] for M real tokens: M (1 - S) + M² S.
        let u0 = mm * (1 - s) + mm * mm * s
        let t0 = squaredMass(countSquares: u0, tokens: mm)
        if g == 0 { return 1 - t0 }
        guard neutral else { return nil }
        switch regime {
        case "replace":
            var t = t0
            for _ in 0..<g { t = squaredMass(countSquares: mm * (1 - t) + mm * mm * t, tokens: mm) }
            return 1 - t
        case "accumulate":
            // Pool of N = (j + 1) M counts C; the batch x ~ Mult(M, q), q = (C + alpha) / (N + V alpha):
            // E sum (C + x)² = U + 2 M (U + alpha N) / D + M (1 - Q) + M² Q, Q = E sum q².
            var u = u0, n = mm
            for _ in 0..<g {
                let d = n + v * alpha
                let q = squaredMass(countSquares: u, tokens: n)
                u = u + 2 * mm * (u + alpha * n) / d + mm * (1 - q) + mm * mm * q
                n += mm
            }
            return 1 - squaredMass(countSquares: u, tokens: n)
        case "fresh" where alpha == 0:
            // M² T' = r (1 - S) + r² S + 2 r (M - r) S + (M - r)(1 - T) + (M - r)² T, r = real tokens.
            let r = Double(realCount), k = mm - r
            var t = t0
            for _ in 0..<g { t = (r * (1 - s) + r * r * s + 2 * r * k * s + k * (1 - t) + k * k * t) / (mm * mm) }
            return 1 - t
        case "mix" where alpha == 0:
            // A = sum R², B = sum R q, C = sum q², R the real training proportions (fixed per chain),
            // r real tokens drawn without replacement from the M real tokens.
            let r = Double(realCount), k = mm - r
            let finite = m > 1 ? r * k / (mm - 1) : 0
            let a = t0
            var b = a, c = a
            for _ in 0..<g {
                let c2 = (finite * (1 - a) + r * r * a + 2 * r * k * b + k * (1 - c) + k * k * c) / (mm * mm)
                b = (r * a + k * b) / mm
                c = c2
            }
            return 1 - c
        default:
            return nil
        }
    }

    func tailMass(_ g: Int) -> Double? {
        let tail = TailTokenMassMetric.tailSymbols(of: p)
        let a = compensatedSum(tail.lazy.map { self.p[$0] })
        let k = Double(tail.count), mm = tokens
        let d = mm + v * alpha
        // Generation 0: E[(c_T + |T| alpha) / D] with E c_T = M a.
        var mu = (mm * a + k * alpha) / d
        if g == 0 { return mu }
        guard neutral else { return nil }
        switch regime {
        case "replace", "mix", "fresh":
            let r = regime == "replace" ? 0 : Double(realCount)
            for _ in 0..<g { mu = (r * a + (mm - r) * mu + k * alpha) / d }
            return mu
        case "accumulate":
            var pool = mm * a, n = mm
            for _ in 0..<g {
                pool += mm * mu
                n += mm
                mu = (pool + k * alpha) / (n + v * alpha)
            }
            return mu
        case "accumulate-subsample":
            var pool = mm * a, n = mm
            for _ in 0..<g {
                pool += mm * mu
                n += mm
                mu = (mm * pool / n + k * alpha) / d
            }
            return mu
        default:
            return nil
        }
    }
}

import CollapseCore
import CollapseModels
import Foundation

// Fairness and labelled external validity: the minority component's share, and the Bayes
// classifier of class-conditional models on the real labelled holdout. Definitions:
// docs/metrics/discrete.md. No random numbers drawn.

/// A fitted model with class labels: its class weights and Bayes classifier (the class-conditional
/// mode, `FittedClassConditional`), readable without knowing the per-class family.
public protocol LabelledModel {
    /// The generative mixture weights of the classes (0 for classes without a model).
    var classWeights: [Double] { get }
    /// The Bayes classifier's class for each feature row.
    func classify(_ features: Matrix) -> [Int]
}

extension FittedClassConditional: LabelledModel {
    public var classWeights: [Double] { weights }
}

/// `minority_share`: the model's mass on the originally smallest real component/class.
///
/// - Class-conditional models: the model's weight of the minority class (`weights`, the class
///   frequencies of its training set renormalised over the classes that have a model).
/// - Other continuous models on a gmm reality: the share of the generation's synthetic rows whose
///   Bayes assignment under the REAL mixture, argmax_k log w_k + log N(x | mu_k, Sigma_k) (ties to
///   the lower k), is the minority component.
/// Reality's value is the real minority weight.
public struct MinorityShareMetric: Metric {
    public init() {}
    public let name = "minority_share"
    public let summary = "model mass on the originally smallest component/class (reality: its real weight)"
    public let unit = "fraction"
    public let direction = MetricDirection.towardReality
    public func problem(with facts: ExperimentFacts) -> String? {
        if facts.hasLabels { return facts.realMinorityShare == nil ? "needs labelled real data" : nil }
        guard facts.dataKind == .continuous, facts.knownDistribution, facts.realMinorityShare != nil else {
            return "needs a class-conditional model or real.distribution gmm"
        }
        return nil
    }
    public func evaluate(_ context: MetricContext) -> Double {
        guard let minority = context.truth.minority else { return .nan }
        if let model = context.fitted as? any LabelledModel {
            let w = model.classWeights
            return minority.index < w.count ? w[minority.index] : .nan
        }
        guard let mixture = context.truth.mixture, let rows = featureRows(context.samples), rows.rows > 0,
              rows.columns == mixture.first?.component.dimension else { return .nan }
        let assigned = Self.bayesAssignment(rows, mixture: mixture)
        return Double(assigned.lazy.filter { $0 == minority.index }.count) / Double(rows.rows)
    }
    /// Class-conditional gaussian/mvn MLE: the class counts follow a neutral Wright–Fisher chain,
    /// so E[weight] stays the real minority share at every generation, under every regime.
    public func theory(_ facts: ExperimentFacts, generation: Int) -> Double? {
        guard facts.hasLabels, ["gaussian", "mvn"].contains(facts.modelKind), facts.estimator == "mle" else { return nil }
        return facts.realMinorityShare
    }

    /// argmax_k (log w_k + log N(x_i | mu_k, Sigma_k)) for each row; ties go to the lower k.
    public static func bayesAssignment(_ rows: Matrix, mixture: [(weight: Double, component: MultivariateNormal)]) -> [Int] {
        var best = [Int](repeating: 0, count: rows.rows)
        var score = [Double](repeating: -.infinity, count: rows.rows)
        for (k, part) in mixture.enumerated() {
            let logWeight = Foundation.log(part.weight)
            let densities = part.component.logDensities(rows)
            for i in 0..<rows.rows where logWeight + densities[i] > score[i] {
                score[i] = logWeight + densities[i]
                best[i] = k
            }
        }
        return best
    }
}

/// Per-class counts of holdout rows and of correct Bayes-classifier predictions.
private func holdoutPredictions(_ context: MetricContext) -> (total: [Int], correct: [Int])? {
    guard let model = context.fitted as? any LabelledModel, let holdout = context.holdout as? LabelledData,
          holdout.count > 0 else { return nil }
    let predicted = model.classify(holdout.features)
    let k = max(model.classWeights.count, (holdout.labels.max() ?? 0) + 1)
    var total = [Int](repeating: 0, count: k), correct = total
    for (y, yHat) in zip(holdout.labels, predicted) {
        total[y] += 1
        if y == yHat { correct[y] += 1 }
    }
    return (total, correct)
}

private func labelsOnly(_ facts: ExperimentFacts) -> String? {
    facts.hasLabels ? nil : "needs a class-conditional model (model.class_conditional)"
}

/// `accuracy_real`: accuracy of the class-conditional model's Bayes classifier on the real holdout.
public struct AccuracyRealMetric: ModelOnlyMetric {
    public init() {}
    public let name = "accuracy_real"
    public let summary = "accuracy of the model's Bayes classifier on the real labelled holdout"
    public let unit = "fraction"
    public let direction = MetricDirection.lowerIsWorse
    public func problem(with facts: ExperimentFacts) -> String? { labelsOnly(facts) }
    public func evaluate(_ context: MetricContext) -> Double {
        guard let p = holdoutPredictions(context) else { return .nan }
        return Double(p.correct.reduce(0, +)) / Double(p.total.reduce(0, +))
    }
}

/// `worst_group_accuracy_real`: the smallest per-class accuracy of the Bayes classifier on the real
/// holdout, over the classes present in the holdout.
public struct WorstGroupAccuracyRealMetric: ModelOnlyMetric {
    public init() {}
    public let name = "worst_group_accuracy_real"
    public let summary = "lowest per-class accuracy of the model's Bayes classifier on the real holdout"
    public let unit = "fraction"
    public let direction = MetricDirection.lowerIsWorse
    public func problem(with facts: ExperimentFacts) -> String? { labelsOnly(facts) }
    public func evaluate(_ context: MetricContext) -> Double {
        guard let p = holdoutPredictions(context) else { return .nan }
        var worst = Double.nan
        for (n, c) in zip(p.total, p.correct) where n > 0 {
            let a = Double(c) / Double(n)
            worst = worst.isNaN ? a : min(worst, a)
        }
        return worst
    }
}

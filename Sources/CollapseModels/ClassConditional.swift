import CollapseCore
import Foundation

/// Feature rows with a class label each: the data of the class-conditional mode.
///
/// Invariants a caller may rely on: `features.rows == labels.count`, every label `>= 0`
/// (checked on init and decoding). The model's class count bounds the labels from above.
public struct LabelledData: Sendable, Hashable {
    /// The n × d feature rows.
    public let features: Matrix
    /// `labels[i]`, the class of row i, in `0 ..< classCount`.
    public let labels: [Int]

    /// - Precondition: `features.rows == labels.count`; every label `>= 0`.
    public init(features: Matrix, labels: [Int]) {
        precondition(features.rows == labels.count,
                     "LabelledData: features are \(features.shapeDescription) but there are \(labels.count) labels")
        if let bad = labels.firstIndex(where: { $0 < 0 }) {
            preconditionFailure("LabelledData: labels must be >= 0, got \(labels[bad]) at row \(bad)")
        }
        self.features = features
        self.labels = labels
    }

    /// n, the number of rows.
    public var count: Int { labels.count }

    /// How many rows carry each label `0 ..< classCount`.
    ///
    /// - Precondition: every label `< classCount`.
    /// - Complexity: O(n + classCount).
    public func classCounts(classCount: Int) -> [Int] {
        var counts = [Int](repeating: 0, count: classCount)
        for (i, label) in labels.enumerated() {
            precondition(label < classCount, "label \(label) at row \(i) is outside 0 ..< \(classCount)")
            counts[label] += 1
        }
        return counts
    }
}

extension LabelledData: Codable {
    private enum CodingKeys: String, CodingKey { case features, labels }

    public func encode(to encoder: any Encoder) throws {
        var container = encoder.container(keyedBy: CodingKeys.self)
        try container.encode(features, forKey: .features)
        try container.encode(labels, forKey: .labels)
    }

    /// Decodes `{"features": ..., "labels": [...]}`, rejecting mismatched counts and negative labels.
    public init(from decoder: any Decoder) throws {
        let container = try decoder.container(keyedBy: CodingKeys.self)
        let features = try container.decode(Matrix.self, forKey: .features)
        let labels = try container.decode([Int].self, forKey: .labels)
        guard features.rows == labels.count, labels.allSatisfy({ $0 >= 0 }) else {
            throw DecodingError.dataCorruptedError(forKey: .labels, in: container, debugDescription:
                "need one label >= 0 per feature row: \(features.rows) rows, \(labels.count) labels")
        }
        self.init(features: features, labels: labels)
    }
}

/// Class-conditional mode (config `model.class_conditional`): one `Base` model per class plus
/// class priors, i.e. the mixture `p(x, y) = pi_y p_y(x)` with a Bayes classifier downstream.
///
/// Fitting, for n rows of which n_c carry label c:
/// - priors `pi_c = n_c / n` (exact empirical frequencies);
/// - class c with n_c = 0 (the class went extinct in the recursion — a key outcome of the
///   fairness studies): prior 0, no model, listed in `extinctClasses`;
/// - class c whose rows are too few for the base family (the base throws `tooFewRows`, e.g. one
///   row for an unbiased variance): prior kept, no model, listed in `unfittedClasses`;
/// - otherwise `Base.fit` on that class's rows (in row order), classes in order 0, 1, ..., all
///   drawing on the one stream in that order.
///
/// The generative distribution (sampling, densities, classifier) is the mixture over the classes
/// that have a model, with weights `pi_c / sum_{modelled} pi` (`FittedClassConditional.weights`;
/// equal to the priors when no class is unfitted).
public struct ClassConditionalModel<Base: GenerativeModel>: GenerativeModel where Base.Data == Matrix {
    /// The per-class family (e.g. `GaussianModel`, `MultivariateGaussianModel`).
    public var base: Base
    /// K: labels run over `0 ..< classCount`.
    public var classCount: Int

    public init(base: Base, classCount: Int) {
        self.base = base
        self.classCount = classCount
    }

    /// - Throws: `class_count` unless it is `>= 1`; then the base settings' own errors.
    public func validate() throws(ModelSettingsError) {
        guard classCount >= 1 else {
            throw ModelSettingsError(key: "class_count", "must be at least 1, got \(classCount)")
        }
        try base.validate()
    }

    /// Fits priors and one base model per class (see the type's documentation).
    ///
    /// - Throws: `.tooFewRows(needed: 1, got: 0)` for no rows; `.nonFiniteData`; the base's
    ///   `.dimensionMismatch`; and, when no class at all can be modelled, the base's
    ///   `.tooFewRows(needed:got:)` with `got` the largest class's row count.
    /// - Precondition: every label `< classCount`.
    /// - Complexity: O(n d) to split the rows plus the K base fits.
    public func fit<R: RandomStream>(_ data: LabelledData, using rng: inout R) throws(FitError) -> FittedClassConditional<Base.Fitted> {
        precondition(classCount >= 1, "ClassConditionalModel.classCount must be >= 1, got \(classCount)")
        let n = data.count
        guard n >= 1 else { throw .tooFewRows(needed: 1, got: 0) }
        guard data.features.isFinite else { throw .nonFiniteData }
        let counts = data.classCounts(classCount: classCount)
        var rowsOfClass = [[Int]](repeating: [], count: classCount)
        for (i, label) in data.labels.enumerated() { rowsOfClass[label].append(i) }

        var models: [Base.Fitted?] = []
        var unfitted: [Int] = []
        var shortfall: FitError?
        for c in 0..<classCount {
            guard counts[c] > 0 else {
                models.append(nil)
                continue
            }
            do {
                models.append(try base.fit(data.features.selectingRows(rowsOfClass[c]), using: &rng))
            } catch {
                guard case let .tooFewRows(needed, _) = error else { throw error }
                models.append(nil)
                unfitted.append(c)
                shortfall = .tooFewRows(needed: needed, got: counts.max() ?? 0)
            }
        }
        if let shortfall, models.allSatisfy({ $0 == nil }) { throw shortfall }
        let priors = counts.map { Double($0) / Double(n) }
        return FittedClassConditional(priors: priors, models: models, classCounts: counts,
                                      unfittedClasses: unfitted, dimension: data.features.columns)
    }
}

/// A fitted class-conditional model: priors, one fitted model per class (or none), and the
/// Bayes classifier.
///
/// A caller may rely on: `priors.count == models.count == K`; `extinctClasses` are exactly the
/// classes with prior 0 and `unfittedClasses` those with a positive prior and no model; at least
/// one class has a model; no NaN in any density (a class without a model contributes -inf).
public struct FittedClassConditional<Model: FittedModel>: FittedModel where Model.Data == Matrix {
    /// `pi_c`: the class frequencies of the training data, `n_c / n` (kept for unfitted classes).
    public let priors: [Double]
    /// The fitted model of each class; `nil` for extinct and unfitted classes.
    public let models: [Model?]
    /// The mixture weights the generative distribution uses: `pi_c / sum_{c' modelled} pi_c'` for
    /// modelled classes, 0 for the others (computed as `n_c / sum_{modelled} n_c'` when fitted).
    public let weights: [Double]
    /// Classes with no training rows: prior 0, no model.
    public let extinctClasses: [Int]
    /// Classes with rows but too few for the base family: prior kept, no model.
    public let unfittedClasses: [Int]
    /// d, the feature dimension.
    public let dimension: Int

    /// A model from priors and per-class models (e.g. the real data process).
    ///
    /// - Precondition: equal counts of priors and models (K >= 1); priors finite, `>= 0`, with a
    ///   positive sum over the classes that have a model; a class with prior 0 has no model.
    public init(priors: [Double], models: [Model?], dimension: Int) {
        self.init(priors: priors, models: models, classCounts: nil,
                  unfittedClasses: priors.indices.filter { priors[$0] > 0 && models[$0] == nil }, dimension: dimension)
    }

    init(priors: [Double], models: [Model?], classCounts: [Int]?, unfittedClasses: [Int], dimension: Int) {
        precondition(!priors.isEmpty && priors.count == models.count,
                     "FittedClassConditional needs one model slot per prior, got \(priors.count) priors and \(models.count) models")
        precondition(priors.allSatisfy { $0.isFinite && $0 >= 0 }, "FittedClassConditional needs finite non-negative priors, got \(priors)")
        precondition(dimension >= 0, "FittedClassConditional needs a non-negative dimension, got \(dimension)")
        let extinct = priors.indices.filter { priors[$0] == 0 }
        precondition(extinct.allSatisfy { models[$0] == nil }, "FittedClassConditional: classes \(extinct) have prior 0 but a model")
        self.priors = priors
        self.models = models
        self.extinctClasses = extinct
        self.unfittedClasses = unfittedClasses
        self.dimension = dimension
        if let counts = classCounts {
            let modelled = models.indices.reduce(0) { $0 + (models[$1] == nil ? 0 : counts[$1]) }
            precondition(modelled > 0, "FittedClassConditional needs at least one modelled class")
            weights = models.indices.map { models[$0] == nil ? 0 : Double(counts[$0]) / Double(modelled) }
        } else {
            let modelled = FittedCategorical.compensatedSum(models.indices.map { models[$0] == nil ? 0 : priors[$0] })
            precondition(modelled > 0 && modelled.isFinite, "FittedClassConditional needs a positive prior on some modelled class, got priors \(priors)")
            weights = models.indices.map { models[$0] == nil ? 0 : priors[$0] / modelled }
        }
    }

    /// K, the number of classes.
    public var classCount: Int { priors.count }

    /// `.emptyComponent` when some class is extinct or unfitted; otherwise the first degeneracy
    /// among the class models, in class order; `nil` when all is regular.
    public var degeneracy: Degeneracy? {
        if !extinctClasses.isEmpty || !unfittedClasses.isEmpty { return .emptyComponent }
        for case let model? in models { if let d = model.degeneracy { return d } }
        return nil
    }

    /// `count` labelled rows: class counts by one `Multinomial.counts` draw over `weights`, then,
    /// for each class in order 0, 1, ..., its rows from its model under `options`. Rows come out
    /// grouped by class in class order, labels attached. Nothing is drawn when `count == 0`.
    ///
    /// - Precondition: `count >= 0`.
    /// - Complexity: O(K) plus the per-class sampling.
    public func sample<R: RandomStream>(count: Int, options: SamplingOptions, using rng: inout R) -> LabelledData {
        precondition(count >= 0, "sample count must be non-negative, got \(count)")
        if count == 0 { return LabelledData(features: Matrix(rows: 0, columns: dimension), labels: []) }
        let classCounts = Multinomial.counts(total: count, probabilities: weights, using: &rng)
        var storage: [Double] = []
        storage.reserveCapacity(count * dimension)
        var labels: [Int] = []
        labels.reserveCapacity(count)
        for (c, m) in classCounts.enumerated() where m > 0 {
            // A class with weight 0 gets exactly 0 rows, so the model exists here.
            guard let model = models[c] else { preconditionFailure("class \(c) drew \(m) rows without a model") }
            let rows = model.sample(count: m, options: options, using: &rng)
            precondition(rows.rows == m && rows.columns == dimension,
                         "class \(c)'s model returned \(rows.shapeDescription) rows, expected \(m) x \(dimension)")
            storage.append(contentsOf: rows.storage)
            labels.append(contentsOf: repeatElement(c, count: m))
        }
        return LabelledData(features: Matrix(rows: count, columns: dimension, storage: storage), labels: labels)
    }

    /// The n × K matrix of `log w_c + log p_c(x_i)` (w = `weights`); -inf in the columns of classes
    /// without a model. Entries may be +inf under a point-mass class model, never NaN for finite input.
    ///
    /// - Precondition: `features.columns == dimension`.
    /// - Complexity: K base log-density evaluations.
    public func classLogDensities(_ features: Matrix) -> Matrix {
        precondition(features.columns == dimension,
                     "classLogDensities: model has dimension \(dimension), features are \(features.shapeDescription)")
        let n = features.rows, k = classCount
        var out = Matrix(rows: n, columns: k, repeating: -.infinity)
        for c in 0..<k {
            guard let model = models[c], n > 0 else { continue }
            let logWeight = Foundation.log(weights[c])
            let densities = model.logDensities(features)
            for i in 0..<n { out[i, c] = logWeight + densities[i] }
        }
        return out
    }

    /// The marginal log-density of each row's features, `log sum_c w_c p_c(x)` (logsumexp over the
    /// modelled classes); the labels are not used. See `jointLogDensities(_:)` for the joint.
    ///
    /// - Complexity: as `classLogDensities`, plus O(n K).
    public func logDensities(_ data: LabelledData) -> [Double] {
        marginalLogDensities(data.features)
    }

    /// The marginal log-density of each feature row, `log sum_c w_c p_c(x_i)`, by logsumexp over
    /// the modelled classes (so a dominant class keeps full accuracy). -inf when every class gives
    /// -inf, +inf under a point-mass class at its atom, never NaN for finite input.
    ///
    /// - Precondition: `features.columns == dimension`.
    /// - Complexity: K base log-density evaluations plus O(n K).
    public func marginalLogDensities(_ features: Matrix) -> [Double] {
        let scores = classLogDensities(features)
        let k = classCount
        return scores.storage.withUnsafeBufferPointer { p in
            (0..<features.rows).map { i in
                SpecialFunctions.logSumExp(UnsafeBufferPointer(rebasing: p[(i * k)..<((i + 1) * k)]))
            }
        }
    }

    /// The joint log-density of each (row, label), `log w_y + log p_y(x)`; -inf for a label whose
    /// class has no model.
    ///
    /// - Precondition: every label `< classCount`; `features.columns == dimension`.
    /// - Complexity: as `classLogDensities`.
    public func jointLogDensities(_ data: LabelledData) -> [Double] {
        let scores = classLogDensities(data.features)
        return data.labels.enumerated().map { i, y in
            precondition(y < classCount, "label \(y) at row \(i) is outside 0 ..< \(classCount)")
            return scores[i, y]
        }
    }

    /// The Bayes classifier `argmax_c (log w_c + log p_c(x))` for each row: ties go to the lowest
    /// class (also when every modelled class scores -inf); a class without a model is never predicted.
    ///
    /// - Precondition: `features.columns == dimension`.
    /// - Complexity: as `classLogDensities`, plus O(n K).
    public func classify(_ features: Matrix) -> [Int] {
        let scores = classLogDensities(features)
        let modelled = models.indices.filter { models[$0] != nil }
        return (0..<features.rows).map { i in
            var best = modelled[0]
            for c in modelled.dropFirst() where scores[i, c] > scores[i, best] { best = c }
            return best
        }
    }
}

extension FittedClassConditional: Equatable where Model: Equatable {}
extension FittedClassConditional: Hashable where Model: Hashable {}

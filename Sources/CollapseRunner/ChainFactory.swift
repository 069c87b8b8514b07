import CollapseCore
import CollapseMetrics
import CollapseModels
import Foundation

/// A chain ready to run for any (variant, replicate) of its variant.
protocol ChainExecutable: Sendable {
    func run(variant: Int, replicate: Int) -> ChainResult
}

extension ChainRunner: ChainExecutable {}
extension ChainRunner: @unchecked Sendable {} // immutable settings, worlds and metric values only

/// A chain whose `run` is the runner's, specialised for its model and world where it was made
/// (`ChainFactory`, with concrete types). An existential made straight from the generic
/// `ChainRunner` calls `run` through the conformance, i.e. the unspecialised generic code: generic
/// metadata at run time, existential casts and extra retains on every generation (~15 % of a
/// 1-D Gaussian study's CPU). Same computation, same bytes.
struct SpecializedChain<Model: GenerativeModel, World: RealWorld>: ChainExecutable where Model.Data == World.Data {
    let runner: ChainRunner<Model, World>
    private let body: @Sendable (Int, Int) -> ChainResult

    init(_ runner: ChainRunner<Model, World>) {
        self.runner = runner
        body = { runner.run(variant: $0, replicate: $1) }
    }

    func run(variant: Int, replicate: Int) -> ChainResult { body(variant, replicate) }
}

/// Builds the chain of a variant from its resolved config: the model family, reality, the facts
/// metrics see, and the selected metrics.
enum ChainFactory {
    static func facts(for config: ExperimentConfig, truth: RealTruth?) -> ExperimentFacts {
        let estimator: String?
        var regularization = 0.0
        var knownNoise = false, fixedDesign = true
        let dataKind: ExperimentFacts.DataKind
        switch config.model.family {
        case let .gaussian(e): estimator = e.rawValue; dataKind = .continuous
        case let .mvn(e, reg): estimator = e.rawValue; regularization = reg; dataKind = .continuous
        case let .gmm(_, _, _, _, reg): estimator = nil; regularization = reg; dataKind = .continuous
        case .kde: estimator = nil; dataKind = .continuous
        case let .linearRegression(_, known, fresh):
            estimator = nil; knownNoise = known; fixedDesign = !fresh; dataKind = .regression
        case .categorical: estimator = nil; dataKind = .categorical
        }
        let known: Bool
        let gaussian: Bool
        switch config.real.source {
        case .dataset: known = false; gaussian = false
        case .gaussian, .mvn: known = true; gaussian = true
        default: known = true; gaussian = false
        }
        var facts = ExperimentFacts(
            modelKind: config.model.kind, dataKind: dataKind, dimension: config.real.source.dimension,
            samples: config.samples, generations: config.generations, regime: config.regime.kind.rawValue,
            realFraction: config.regime.realFraction, estimator: estimator, temperature: config.sampling.temperature,
            truncation: config.sampling.truncation, knownDistribution: known, gaussianReality: gaussian,
            hasLabels: config.model.classConditional, knownNoise: knownNoise, fixedDesign: fixedDesign,
            regularization: regularization, realTrace: known ? truth?.covariance.trace : nil)
        // Theory inputs read from the config itself (the summarizer has no truth for these families).
        facts.topK = config.sampling.topK
        switch config.model.family {
        case let .categorical(smoothing): facts.smoothing = smoothing
        case let .linearRegression(intercept, _, _): facts.intercept = intercept
        default: break
        }
        switch config.real.source {
        case let .zipf(vocabulary, exponent): facts.realProbabilities = Zipf.probabilities(vocabulary: vocabulary, exponent: exponent)
        case let .linearRegression(_, noiseStd): facts.realNoiseVariance = noiseStd * noiseStd
        case let .gmm(weights, _, _): facts.realMinorityShare = weights.min()
        case let .dataset(d) where config.model.classConditional:
            if let labels = d.labels, let names = d.classNames, !labels.isEmpty {
                var counts = [Int](repeating: 0, count: names.count)
                for l in labels { counts[l] += 1 }
                facts.realMinorityShare = counts.min().map { Double($0) / Double(labels.count) }
            }
        case let .gaussian(_, std): facts.realLogDeterminant = 2 * Foundation.log(std)
        case let .mvn(_, covariance): facts.realLogDeterminant = (try? Cholesky(covariance))?.logDeterminant
        default: break
        }
        return facts
    }

    static func make(_ config: ExperimentConfig, registry: MetricRegistry) throws(RunError) -> any ChainExecutable {
        let metrics = try config.metrics.map { name throws(RunError) -> any Metric in
            guard let m = registry.metric(named: name) else { throw RunError.invalidReality("unknown metric \(name)") }
            return m
        }
        if config.model.classConditional {
            switch config.model.family {
            case let .gaussian(estimator): return try labelled(GaussianModel(estimator: estimator), config, metrics)
            case let .mvn(estimator, regularization):
                return try labelled(MultivariateGaussianModel(estimator: estimator, regularization: regularization), config, metrics)
            case let .kde(bandwidth): return try labelled(KernelDensityModel(bandwidth: kernelBandwidth(bandwidth)), config, metrics)
            case let .gmm(components, restarts, tolerance, maxIterations, regularization):
                return try labelled(GaussianMixtureModel(components: components, nInit: restarts, tolerance: tolerance,
                                                         maxIterations: maxIterations, regularization: regularization), config, metrics)
            default:
                throw RunError.invalidReality("model.class_conditional is not available for model.kind \(config.model.kind)")
            }
        }
        switch config.model.family {
        case let .gaussian(estimator):
            return try shortcutCapable(GaussianModel(estimator: estimator), config, metrics)
        case let .mvn(estimator, regularization):
            return try shortcutCapable(MultivariateGaussianModel(estimator: estimator, regularization: regularization), config, metrics)
        case let .kde(bandwidth):
            return SpecializedChain(try continuous(KernelDensityModel(bandwidth: kernelBandwidth(bandwidth)), config, metrics))
        case let .gmm(components, restarts, tolerance, maxIterations, regularization):
            return SpecializedChain(try continuous(GaussianMixtureModel(components: components, nInit: restarts, tolerance: tolerance,
                                                                        maxIterations: maxIterations, regularization: regularization),
                                                   config, metrics))
        case let .categorical(smoothing):
            guard case let .zipf(vocabulary, exponent) = config.real.source else {
                throw RunError.invalidReality("model.kind categorical needs real.distribution zipf")
            }
            let world = ZipfWorld(vocabulary: vocabulary, exponent: exponent)
            return SpecializedChain(ChainRunner(model: CategoricalModel(smoothing: smoothing), world: world, config: config,
                                                facts: facts(for: config, truth: world.truth), metrics: metrics,
                                                needsSamplesAtLastGeneration: true))
        case let .linearRegression(intercept, knownNoise, freshDesign):
            let world = try RegressionWorld(config.real.source)
            var noise = NoiseModel.estimated
            if knownNoise {
                guard let s = world.truth.noiseStd else {
                    throw RunError.invalidReality("model.noise known needs real.distribution linear-regression (a dataset's noise is unknown)")
                }
                noise = .known(standardDeviation: s)
            }
            let model = LinearRegressionModel(intercept: intercept, noise: noise, design: freshDesign ? .fresh : .fixed)
            var runner = ChainRunner(model: model, world: world, config: config, facts: facts(for: config, truth: world.truth),
                                     metrics: metrics, needsSamplesAtLastGeneration: true)
            if !freshDesign {
                // Fixed design: labels are regenerated on the chain's real design rows.
                runner.draw = { fitted, count, options, rng, reality in
                    fitted.labels(for: reality.training.design.rows(from: 0, count: count), options: options, using: &rng)
                }
                if config.regime.kind == .replace || config.regime.kind == .accumulate {
                    runner.makeSegmentFitter = { reality in regressionSegmentFitter(model, design: reality.training.design) }
                }
            }
            return SpecializedChain(runner)
        }
    }

    static func kernelBandwidth(_ b: ModelConfig.BandwidthSetting) -> KernelBandwidth {
        switch b {
        case .scott: return .scott
        case .silverman: return .silverman
        case let .fixed(h): return .fixed(h)
        }
    }

    static func labelled<M: GenerativeModel>(_ base: M, _ config: ExperimentConfig, _ metrics: [any Metric])
        throws(RunError) -> any ChainExecutable where M.Data == Matrix
    {
        let world = try LabelledWorld(config.real.source)
        return SpecializedChain(ChainRunner(model: ClassConditionalModel(base: base, classCount: world.classCount), world: world,
                                            config: config, facts: facts(for: config, truth: world.truth), metrics: metrics,
                                            needsSamplesAtLastGeneration: true))
    }

    static func continuous<M: GenerativeModel>(_ model: M, _ config: ExperimentConfig, _ metrics: [any Metric])
        throws(RunError) -> ChainRunner<M, ContinuousWorld> where M.Data == Matrix
    {
        let world = try ContinuousWorld(config.real.source)
        return ChainRunner(model: model, world: world, config: config, facts: facts(for: config, truth: world.truth),
                           metrics: metrics, needsSamplesAtLastGeneration: true)
    }

    /// A continuous chain whose refits are drawn from their sufficient statistics when the config
    /// asks for it (`sampling.shortcut: sufficient-statistics`; validated by the config loader).
    static func shortcutCapable<M: SufficientStatisticsRefit>(_ model: M, _ config: ExperimentConfig, _ metrics: [any Metric])
        throws(RunError) -> any ChainExecutable where M.Data == Matrix
    {
        var runner = try continuous(model, config, metrics)
        if config.samplingShortcut == .sufficientStatistics {
            runner.refit = { fitted, count, options, rng throws(FitError) in
                try model.refit(fitted, samples: count, options: options, using: &rng)
            }
        }
        return SpecializedChain(runner)
    }
}

/// Fixed-design regression under replace or accumulate: every segment of a training set labels
/// the chain's real design X (the very same storage), so each generation is fitted from one QR
/// factorisation of X per chain (`fit(stackedTargets:using:)`) instead of a new factorisation of
/// the stacked k T x p design. Segments on other rows (never produced by these regimes) and
/// rank-deficient designs fall back to the general fit.
func regressionSegmentFitter(_ model: LinearRegressionModel, design: Matrix) -> SegmentFitter<LinearRegressionModel>? {
    guard design.rows > 0, let factorization = try? model.factorize(design: design) else { return nil }
    let base = design.storage.withUnsafeBufferPointer { $0.baseAddress }
    let state = StackedState(rows: design.rows)
    return SegmentFitter { parts throws(FitError) in
        for part in parts {
            let same = part.data.design.storage.withUnsafeBufferPointer { $0.baseAddress == base && $0.count == design.storage.count }
            if !same { return nil }
        }
        try state.update(parts.map { ($0.origin, $0.data.targets) })
        return try model.fit(stacked: state.labels, using: factorization)
    }
}

/// One chain's gathered labels. Under accumulate a training set is the previous one plus one
/// segment, so only the new segment is added (O(T) per generation instead of O(k T)); any
/// other change starts over. Segments are matched by origin and by the identity of their label
/// storage, which the state keeps alive (so an address cannot be reused by a newer array).
final class StackedState: @unchecked Sendable {
    private(set) var labels: StackedLabels
    private var consumed: [(origin: Int, targets: [Double])] = []

    init(rows: Int) { labels = StackedLabels(rows: rows) }

    func update(_ parts: [(origin: Int, targets: [Double])]) throws(FitError) {
        var prefix = consumed.count <= parts.count
        if prefix {
            for (old, new) in zip(consumed, parts) where old.origin != new.origin || !sameStorage(old.targets, new.targets) {
                prefix = false
                break
            }
        }
        if !prefix {
            labels = StackedLabels(rows: labels.rows)
            consumed = []
        }
        for part in parts[consumed.count...] {
            try labels.append(part.targets)
            consumed.append(part)
        }
    }

    private func sameStorage(_ a: [Double], _ b: [Double]) -> Bool {
        a.withUnsafeBufferPointer { pa in b.withUnsafeBufferPointer { pb in pa.baseAddress == pb.baseAddress && pa.count == pb.count } }
    }
}

import CollapseCore
import CollapseMetrics
import CollapseModels

/// A chain ready to run for any (variant, replicate) of its variant.
protocol ChainExecutable: Sendable {
    func run(variant: Int, replicate: Int) -> ChainResult
}

extension ChainRunner: ChainExecutable {}
extension ChainRunner: @unchecked Sendable {} // immutable settings, worlds and metric values only

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
        return ExperimentFacts(
            modelKind: config.model.kind, dataKind: dataKind, dimension: config.real.source.dimension,
            samples: config.samples, generations: config.generations, regime: config.regime.kind.rawValue,
            realFraction: config.regime.realFraction, estimator: estimator, temperature: config.sampling.temperature,
            truncation: config.sampling.truncation, knownDistribution: known, gaussianReality: gaussian,
            hasLabels: config.model.classConditional, knownNoise: knownNoise, fixedDesign: fixedDesign,
            regularization: regularization, realTrace: known ? truth?.covariance.trace : nil)
    }

    static func make(_ config: ExperimentConfig, registry: MetricRegistry) throws(RunError) -> any ChainExecutable {
        let metrics = try config.metrics.map { name throws(RunError) -> any Metric in
            guard let m = registry.metric(named: name) else { throw RunError.invalidReality("unknown metric \(name)") }
            return m
        }
        switch config.model.family {
        case let .gaussian(estimator):
            return try continuous(GaussianModel(estimator: estimator), config, metrics)
        case let .mvn(estimator, regularization):
            return try continuous(MultivariateGaussianModel(estimator: estimator, regularization: regularization), config, metrics)
        default:
            throw RunError.invalidReality("model.kind \(config.model.kind) is not available in this build yet")
        }
    }

    static func continuous<M: GenerativeModel>(_ model: M, _ config: ExperimentConfig, _ metrics: [any Metric])
        throws(RunError) -> any ChainExecutable where M.Data == Matrix
    {
        let world = try ContinuousWorld(config.real.source)
        return ChainRunner(model: model, world: world, config: config, facts: facts(for: config, truth: world.truth),
                           metrics: metrics, needsSamplesAtLastGeneration: true)
    }
}

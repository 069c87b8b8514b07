import CollapseMetrics

extension MetricRegistry: MetricCatalog {
    public var metricNames: [String] { names }

    public func problem(with name: String, in config: ExperimentConfig) -> String? {
        guard let metric = metric(named: name) else {
            return "unknown metric \(name); known metrics: \(names.joined(separator: ", ")) (see `collapse list`)"
        }
        return metric.problem(with: ChainFactory.facts(for: config, truth: nil)).map { "\(name) \($0)" }
    }

    public func defaultMetrics(for config: ExperimentConfig) -> [String] {
        defaults(for: ChainFactory.facts(for: config, truth: nil))
    }
}

import CollapseMetrics

extension MetricRegistry: MetricCatalog {
    public var metricNames: [String] { names }

    public func problem(with name: String, in config: ExperimentConfig) -> String? {
        guard let metric = metric(named: name) else {
            return "unknown metric \(name); known metrics: \(names.joined(separator: ", ")) (see `collapse list`)"
        }
        let facts = ChainFactory.facts(for: config, truth: nil)
        if let problem = metric.problem(with: facts) { return "\(name) \(problem)" }
        if let shortcut = config.samplingShortcut, metric.readsRows(facts) {
            return "\(name) reads the generation's rows, which sampling.shortcut \(shortcut.rawValue) never materialises"
        }
        return nil
    }

    public func defaultMetrics(for config: ExperimentConfig) -> [String] {
        let facts = ChainFactory.facts(for: config, truth: nil)
        let names = defaults(for: facts)
        guard config.samplingShortcut != nil else { return names }
        return names.filter { metric(named: $0).map { !$0.readsRows(facts) } ?? false }
    }
}

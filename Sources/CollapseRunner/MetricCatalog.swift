/// What the config loader needs to know about metrics, without depending on their implementation:
/// which names exist, which apply to a given experiment, and the default list.
///
/// `MetricRegistry.standard` (the metric implementations) conforms; tests may pass their own.
public protocol MetricCatalog: Sendable {
    /// Every metric name, in `collapse list` order.
    var metricNames: [String] { get }
    /// Why `name` cannot be measured in `config` (e.g. "needs a categorical model"), or nil if it can.
    func problem(with name: String, in config: ExperimentConfig) -> String?
    /// The metrics measured when a config has no `metrics` key.
    func defaultMetrics(for config: ExperimentConfig) -> [String]
}

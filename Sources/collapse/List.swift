import ArgumentParser
import CollapseMetrics
import CollapseRunner

/// `collapse list`: what configs can name.
struct List: ParsableCommand {
    static let configuration = CommandConfiguration(abstract: "List model kinds, regimes and metrics with one-line descriptions.")

    static let models: [(String, String)] = [
        ("gaussian", "1-D normal; estimator mle (divide by M) or unbiased (M - 1)"),
        ("mvn", "d-dimensional normal with full covariance; estimator, regularization"),
        ("gmm", "mixture of K full-covariance normals fitted by EM (k-means++ start)"),
        ("kde", "Gaussian kernel density; bandwidth scott, silverman or a number"),
        ("linear-regression", "y = Xw + e refitted by least squares; labels regenerated each generation"),
        ("categorical", "distribution over V symbols from counts (Zipf tokens); additive smoothing"),
    ]

    static let regimes: [(String, String)] = [
        ("replace", "each generation trains on M samples of the previous model only"),
        ("accumulate", "real data plus every synthetic batch so far"),
        ("accumulate-subsample", "M rows drawn without replacement from everything accumulated"),
        ("mix", "round(real_fraction M) rows of the original real data plus model samples"),
        ("fresh", "round(real_fraction M) newly drawn real rows plus model samples"),
    ]

    func run() {
        print("models (model.kind):")
        for (name, text) in Self.models { print("  \(name.padding(toLength: 22, withPad: " ", startingAt: 0))\(text)") }
        print("\nregimes (regime.kind):")
        for (name, text) in Self.regimes { print("  \(name.padding(toLength: 22, withPad: " ", startingAt: 0))\(text)") }
        print("\nmetrics (metrics: [...]); definitions in docs/METRICS.md:")
        for m in MetricRegistry.standard.metrics {
            print("  \(m.name.padding(toLength: 22, withPad: " ", startingAt: 0))\(m.summary) [\(m.unit); \(m.direction.rawValue)]")
        }
    }
}

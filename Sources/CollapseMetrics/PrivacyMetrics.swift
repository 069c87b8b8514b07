import CollapseCore
import CollapseModels
import Foundation

// Memorisation of the real training set (docs/metrics/continuous.md).

/// Nearest-neighbour distances of a generation: from each synthetic row to the chain's real
/// training set, and the real rows' leave-one-out nearest-neighbour distances; rows centred on the
/// real training mean (so the dgemm distance form loses little to cancellation). nil when the
/// context has no synthetic rows, no real training matrix, fewer than 2 real rows, or widths differ.
func realNeighbourDistances(_ context: MetricContext) -> (synthetic: [Double], realMedian: Double)? {
    guard let samples = sampleMatrix(context), let real = featureRows(context.realTraining), real.rows >= 2,
          real.columns == samples.columns else { return nil }
    let centre = real.columnMeans()
    let r = subtractingRowVector(real, centre)
    let s = subtractingRowVector(samples, centre)
    let realNN = nearestNeighbourDistances(r, r, excludeSelf: true)
    let syntheticNN = nearestNeighbourDistances(s, r, excludeSelf: false)
    return (syntheticNN, Descriptive.median(of: realNN))
}

/// Relative distance below which a synthetic row counts as a copy of a real training row.
let copyDistanceFactor = 1e-8

/// `dcr`: distance to closest record — the median over the generation's synthetic rows of the
/// Euclidean distance to the nearest row of the chain's real (generation-0) training set, divided
/// by the median leave-one-out nearest-neighbour distance within that real set. About 1 for a
/// model that generalises like fresh real data; near 0 for one that reproduces its training rows.
///
/// nan when the median real nearest-neighbour distance is 0 (duplicated real rows), there are
/// fewer than 2 real rows, or the generation has no synthetic rows.
public struct DistanceToClosestRecordMetric: Metric {
    public init() {}
    public let name = "dcr"
    public let summary = "median distance of synthetic rows to the closest real training row, over the real rows' median NN distance"
    public let unit = "ratio"
    public let direction = MetricDirection.lowerIsWorse
    public func problem(with facts: ExperimentFacts) -> String? { continuousOnly(facts) }
    public func evaluate(_ context: MetricContext) -> Double {
        guard let nn = realNeighbourDistances(context), nn.realMedian > 0 else { return .nan }
        return Descriptive.median(of: nn.synthetic) / nn.realMedian
    }
}

/// `copy_rate`: the share of the generation's synthetic rows within `1e-8 ×` (median real
/// leave-one-out nearest-neighbour distance) of a real training row — exact copies up to
/// rounding. Distances are exact (see `nearestNeighbourDistances`), so the threshold is not
/// blurred by cancellation. With a zero median real NN distance only exact duplicates count.
///
/// nan when there are fewer than 2 real rows or the generation has no synthetic rows.
public struct CopyRateMetric: Metric {
    public init() {}
    public let name = "copy_rate"
    public let summary = "share of synthetic rows that copy a real training row (within 1e-8 x the real median NN distance)"
    public let unit = "fraction"
    public let direction = MetricDirection.higherIsWorse
    public func problem(with facts: ExperimentFacts) -> String? { continuousOnly(facts) }
    public func evaluate(_ context: MetricContext) -> Double {
        guard let nn = realNeighbourDistances(context) else { return .nan }
        let threshold = copyDistanceFactor * nn.realMedian
        let copies = nn.synthetic.filter { $0 <= threshold }.count
        return Double(copies) / Double(nn.synthetic.count)
    }
}

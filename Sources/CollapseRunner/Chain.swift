import CollapseCore
import CollapseMetrics
import CollapseModels

/// One recorded observation of a chain: (generation, metric index, value). Metric index
/// `metrics.count` is the `degenerate` status row.
public struct ChainRow: Sendable, Equatable {
    public var generation: Int
    public var metric: Int
    public var value: Double
}

/// What one chain produced: its recorded rows and, for exported generations, the training set
/// as CSV text with an `origin` column.
public struct ChainResult: Sendable {
    public var rows: [ChainRow]
    public var exports: [(generation: Int, csv: String)]
}

/// A training set with the origin of its rows: -1 for real data, g for samples of the model
/// fitted at generation g.
struct Segments<Data: TrainingData> {
    var parts: [(origin: Int, data: Data)]

    var provenance: Provenance {
        if parts.count == 1 { return Provenance(origin: parts[0].origin, rows: parts[0].data.rowCount) }
        var counts: [Int: Int] = [:]
        for p in parts { counts[p.origin, default: 0] += p.data.rowCount }
        return Provenance(rowsByOrigin: counts)
    }

    var rowCount: Int {
        var n = 0
        for p in parts { n += p.data.rowCount }
        return n
    }

    /// The training set as CSV with an `origin` column: `real`, or `generation-k` for rows
    /// sampled from the model fitted at generation k.
    func exportCSV() -> String {
        guard let first = parts.first else { return "" }
        var text = (first.data.csvColumns + ["origin"]).joined(separator: ",") + "\n"
        for p in parts {
            let origin = p.origin < 0 ? "real" : "generation-\(p.origin)"
            for line in p.data.csvLines() { text += line + "," + origin + "\n" }
        }
        return text
    }

    /// The rows of all segments in order. (A closure, not a key path: a key path in this generic
    /// context is instantiated at run time on every call, which once cost 15 % of a 1-D study.)
    func joined() -> Data {
        if parts.count == 1 { return parts[0].data }
        return Data.concatenate(parts.map { $0.data })
    }

    /// `k` rows drawn uniformly without replacement from all segments, keeping provenance:
    /// the row indices are drawn over the concatenation, then split back by segment.
    func subsample<R: RandomStream>(_ k: Int, using rng: inout R) -> Segments {
        let total = rowCount
        let chosen = sampleIndices(k, of: total, using: &rng).sorted()
        var out: [(origin: Int, data: Data)] = []
        var start = 0, cursor = 0
        for p in parts {
            let n = p.data.rowCount
            var local: [Int] = []
            while cursor < chosen.count && chosen[cursor] < start + n {
                local.append(chosen[cursor] - start)
                cursor += 1
            }
            if !local.isEmpty { out.append((p.origin, p.data.selecting(local))) }
            start += n
        }
        return Segments(parts: out)
    }
}

extension TrainingData {
    /// The rows at `indices` (ascending), via contiguous runs.
    func selecting(_ indices: [Int]) -> Self {
        var runs: [Self] = []
        var i = 0
        while i < indices.count {
            var j = i
            while j + 1 < indices.count && indices[j + 1] == indices[j] + 1 { j += 1 }
            runs.append(rows(from: indices[i], count: j - i + 1))
            i = j + 1
        }
        return Self.concatenate(runs)
    }
}

/// The generation a chain's metric context currently describes (read by its stream factory).
final class GenerationBox: @unchecked Sendable {
    var value = 0
}

/// The stream `Philox4x32(seed:id:)`, keyed on first use: most fits (Gaussian, MVN,
/// regression, categorical) draw nothing, and keying costs a SeedSequence hash.
struct DeferredStream: RandomStream {
    let seed: UInt64
    let id: StreamID
    var stream: Philox4x32?

    init(seed: UInt64, id: StreamID) {
        self.seed = seed
        self.id = id
    }

    @inline(__always)
    mutating func nextUInt64() -> UInt64 {
        if stream == nil { stream = Philox4x32(seed: seed, id: id) }
        return stream!.nextUInt64()
    }

    mutating func fill(_ words: UnsafeMutableBufferPointer<UInt64>) {
        if stream == nil { stream = Philox4x32(seed: seed, id: id) }
        stream!.fill(words)
    }
}

/// Fits a generation's model from the segments of its training set (see
/// `ChainRunner.makeSegmentFitter`); `fit` returns nil where it does not apply.
struct SegmentFitter<Model: GenerativeModel> {
    let fit: ([(origin: Int, data: Model.Data)]) throws(FitError) -> Model.Fitted?
}

/// Appends each metric's value for `context` at `generation` to `rows`. The context is borrowed
/// from the pointer's memory for all metrics (reading `pointee` per call made a copy of the whole
/// context, retaining and releasing its every reference, once per metric and generation).
func evaluate(_ metrics: [any Metric], _ context: UnsafeMutablePointer<MetricContext>, generation g: Int, into rows: inout [ChainRow]) {
    func each(_ borrowed: borrowing MetricContext) {
        for k in metrics.indices {
            rows.append(ChainRow(generation: g, metric: k, value: metrics[k].evaluate(borrowed)))
        }
    }
    each(context.pointee)
}

/// A fresh existential box holding a copy of `metric`.
func rebox(_ metric: some Metric) -> any Metric { metric }

/// Runs one chain — generation 0 fitted on real data, then G refits under the regime — and
/// returns its recorded rows in (generation, metric) order.
struct ChainRunner<Model: GenerativeModel, World: RealWorld> where Model.Data == World.Data {
    let model: Model
    let world: World
    let config: ExperimentConfig
    let facts: ExperimentFacts
    let metrics: [any Metric]
    let needsSamplesAtLastGeneration: Bool
    /// How the fitted model produces a generation's synthetic rows (default: `sample(count:)`;
    /// fixed-design regression regenerates labels on the chain's real design instead).
    var draw: @Sendable (Model.Fitted, Int, SamplingOptions, inout Philox4x32, ChainReality<Model.Data>) -> Model.Data = {
        fitted, count, options, rng, _ in fitted.sample(count: count, options: options, using: &rng)
    }

    /// Where a family can fit a training set from its segments without assembling it (fixed-design
    /// regression under replace/accumulate: one factorisation per chain), a factory of such a
    /// fitter per chain; it returns nil to fall back to joining the segments and `model.fit`.
    var makeSegmentFitter: (@Sendable (ChainReality<Model.Data>) -> SegmentFitter<Model>?)?

    /// `sampling.shortcut: sufficient-statistics` (regime replace only): the next generation's fit
    /// drawn from the exact distribution of a fit to M rows of this one
    /// (`SufficientStatisticsRefit.refit`, stream purpose `modelSample`), so no synthetic rows
    /// exist: metrics see no samples, and the training set of generation g >= 1 is never built.
    var refit: (@Sendable (Model.Fitted, Int, SamplingOptions, inout Philox4x32) throws(FitError) -> Model.Fitted)?

    func run(variant: Int, replicate: Int) -> ChainResult {
        let seed = config.seed
        func stream(_ generation: Int, _ purpose: StreamPurpose) -> Philox4x32 {
            Philox4x32(seed: seed, id: StreamID(variant: variant, replicate: replicate, generation: generation, purpose: purpose))
        }
        let m = config.samples
        let realCount = Int((config.regime.realFraction * Double(m)).rounded())
        let reality = world.chainReality(variant: variant, replicate: replicate, seed: seed, samples: m, holdout: config.real.holdout)
        var training = Segments<Model.Data>(parts: [(-1, reality.training)])
        var pool = training // accumulate-subsample's ever-growing pool
        var rows: [ChainRow] = []
        var exports: [(generation: Int, csv: String)] = []
        let exported = replicate == 0 ? Set(config.export) : []
        rows.reserveCapacity((config.generations / config.recordEvery + 2) * (metrics.count + 1))
        let statusIndex = metrics.count
        let cache = MetricCache()
        // This chain's own boxes of the metrics: evaluating through boxes shared with the other
        // worker threads made their reference counts a point of contention.
        let metrics = self.metrics.map { rebox($0) }
        // One metric context per chain, updated in place per generation: the chain-constant
        // parts (truth, holdout, stream factory, cache) are set once, and the metrics read it
        // through the pointer without copying (a copy retains every field, and some of those
        // objects are shared with the other worker threads).
        let context = UnsafeMutablePointer<MetricContext>.allocate(capacity: 1)
        var contextIsSet = false
        defer {
            if contextIsSet { context.deinitialize(count: 1) }
            context.deallocate()
        }
        let contextGeneration = GenerationBox()

        let segmentFitter = makeSegmentFitter?(reality)
        var drawnFit: Result<Model.Fitted, FitError>?
        for g in 0...config.generations {
            var data: Model.Data?
            var fitRng = DeferredStream(seed: seed, id: StreamID(variant: variant, replicate: replicate, generation: g, purpose: .fit))
            let fitted: Model.Fitted
            do {
                if let drawnFit {
                    fitted = try drawnFit.get()
                } else if let segmentFitter, let fit = try segmentFitter.fit(training.parts) {
                    fitted = fit
                } else {
                    data = training.joined()
                    fitted = try model.fit(data!, using: &fitRng)
                }
            } catch {
                // No model can be formed: the chain ends here; its remaining recorded generations
                // say so (metrics undefined, status degenerate).
                for later in g...config.generations where config.records(generation: later) {
                    for k in 0..<metrics.count { rows.append(ChainRow(generation: later, metric: k, value: .nan)) }
                    rows.append(ChainRow(generation: later, metric: statusIndex, value: 1))
                }
                return ChainResult(rows: rows, exports: exports)
            }
            if exported.contains(g) { exports.append((g, training.exportCSV())) }
            let last = g == config.generations
            let synthetic = config.regime.kind == .mix || config.regime.kind == .fresh ? m - realCount : m
            var sample: Model.Data?
            if let refit {
                if !last {
                    var sampleRng = stream(g, .modelSample)
                    do { drawnFit = .success(try refit(fitted, synthetic, config.sampling, &sampleRng)) } catch { drawnFit = .failure(error) }
                }
            } else if !last || needsSamplesAtLastGeneration {
                var sampleRng = stream(g, .modelSample)
                sample = draw(fitted, synthetic, config.sampling, &sampleRng, reality)
            }
            if config.records(generation: g) {
                if contextIsSet {
                    context.pointee.generation = g
                    context.pointee.fitted = fitted
                    if refit != nil {
                        // Validation admits only metrics that read no rows (`Metric.readsRows`).
                        context.pointee.setTrainingData { preconditionFailure("no training rows exist under sampling.shortcut") }
                        context.pointee.provenance = Provenance(origin: g - 1, rows: m)
                    } else if let data {
                        context.pointee.trainingData = data
                        context.pointee.provenance = training.provenance
                    } else {
                        let snapshot = training
                        context.pointee.setTrainingData { snapshot.joined() }
                        context.pointee.provenance = training.provenance
                    }
                    context.pointee.samples = sample
                } else {
                    let snapshot = training
                    context.initialize(to: MetricContext(
                        facts: facts, generation: g, fitted: fitted, trainingData: data ?? snapshot.joined(), provenance: training.provenance,
                        samples: sample, holdout: reality.holdout, truth: world.truth, realTraining: reality.training,
                        stream: { purpose in
                            Philox4x32(seed: seed, id: StreamID(variant: variant, replicate: replicate, generation: contextGeneration.value, purpose: purpose))
                        }))
                    context.pointee.cache = cache
                    contextIsSet = true
                }
                contextGeneration.value = g
                evaluate(metrics, context, generation: g, into: &rows)
                rows.append(ChainRow(generation: g, metric: statusIndex, value: fitted.degeneracy == nil ? 0 : 1))
            }
            if last || refit != nil { continue }
            let newRows = sample!
            switch config.regime.kind {
            case .replace:
                training = Segments(parts: [(g, newRows)])
            case .accumulate:
                training.parts.append((g, newRows))
            case .accumulateSubsample:
                var regimeRng = stream(g, .regime)
                pool.parts.append((g, newRows))
                training = pool.subsample(m, using: &regimeRng)
            case .mix:
                var regimeRng = stream(g, .regime)
                let real = Segments(parts: [(-1, reality.training)]).subsample(realCount, using: &regimeRng)
                training = Segments(parts: real.parts + [(g, newRows)])
            case .fresh:
                var parts: [(origin: Int, data: Model.Data)] = []
                if realCount > 0 { parts.append((-1, reality.fresh(realCount, g))) }
                parts.append((g, newRows))
                training = Segments(parts: parts)
            }
        }
        return ChainResult(rows: rows, exports: exports)
    }
}

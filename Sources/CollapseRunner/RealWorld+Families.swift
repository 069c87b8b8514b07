import CollapseCore
import CollapseMetrics
import CollapseModels

/// Draws of a known distribution, or a dataset's rows split per chain: the shared mechanics of
/// every real world. `draw(count, rng)` must consume the stream deterministically.
struct RealRows<Data: TrainingData>: Sendable {
    enum Source: Sendable {
        case distribution(@Sendable (Int, inout Philox4x32) -> Data)
        case dataset(Data)
    }
    let source: Source

    func chainReality(variant: Int, replicate: Int, seed: UInt64, samples: Int, holdout: Int) -> ChainReality<Data> {
        func stream(_ purpose: StreamPurpose, _ generation: Int = 0) -> Philox4x32 {
            Philox4x32(seed: seed, id: StreamID(variant: variant, replicate: replicate, generation: generation, purpose: purpose))
        }
        switch source {
        case let .distribution(draw):
            var realRng = stream(.realData), holdoutRng = stream(.holdout)
            let training = draw(samples, &realRng)
            let held = draw(holdout, &holdoutRng)
            return ChainReality(training: training, holdout: held) { count, generation in
                var rng = stream(.freshReal, generation)
                return draw(count, &rng)
            }
        case let .dataset(rows):
            // One permutation per chain: holdout rows first, then the real training set, then the
            // unused rows that `fresh` consumes in order (the config loader checks they suffice).
            var rng = stream(.realData)
            let order = permutation(rows.rowCount, using: &rng)
            let shuffled = rows.selecting(rowsAt: order)
            let held = shuffled.rows(from: 0, count: holdout)
            let training = shuffled.rows(from: holdout, count: samples)
            let box = FreshCursor()
            let firstUnused = holdout + samples
            return ChainReality(training: training, holdout: held) { count, _ in
                let start = firstUnused + box.next
                box.next += count
                return shuffled.rows(from: start, count: count)
            }
        }
    }
}

/// `distribution: zipf`: tokens over V symbols with p_k ∝ k^-s.
struct ZipfWorld: RealWorld {
    let rows: RealRows<TokenCounts>
    let truth: RealTruth

    init(vocabulary: Int, exponent: Double) {
        let p = Zipf.probabilities(vocabulary: vocabulary, exponent: exponent)
        rows = RealRows(source: .distribution { count, rng in TokenCounts(counts: Multinomial.counts(total: count, probabilities: p, using: &rng)) })
        var t = RealTruth(mean: [], covariance: Matrix(rows: 0, columns: 0))
        t.probabilities = p
        truth = t
    }

    func chainReality(variant: Int, replicate: Int, seed: UInt64, samples: Int, holdout: Int) -> ChainReality<TokenCounts> {
        rows.chainReality(variant: variant, replicate: replicate, seed: seed, samples: samples, holdout: holdout)
    }
}

/// `distribution: linear-regression` (x ~ N(0, I), y = x·w + e) or a dataset with a target column.
struct RegressionWorld: RealWorld {
    let rows: RealRows<RegressionData>
    let truth: RealTruth

    init(_ source: RealSource) throws(RunError) {
        switch source {
        case let .linearRegression(w, noise):
            let truthModel = FittedLinearRegression(coefficients: w, intercept: 0, noiseVariance: noise * noise)
            rows = RealRows(source: .distribution { count, rng in truthModel.sample(count: count, options: .plain, using: &rng) })
            var t = RealTruth(mean: [Double](repeating: 0, count: w.count), covariance: .identity(w.count))
            t.coefficients = w
            t.noiseStd = noise
            truth = t
        case let .dataset(d):
            guard let targets = d.targets else { throw RunError.invalidReality("real.dataset needs a `target` column for linear regression") }
            let data = RegressionData(design: d.features, targets: targets)
            rows = RealRows(source: .dataset(data))
            let (mean, cov) = d.features.covariance(ddof: 0)
            truth = RealTruth(mean: mean, covariance: cov)
        default:
            throw RunError.invalidReality("linear-regression needs a linear-regression distribution or a dataset with a target column")
        }
    }

    func chainReality(variant: Int, replicate: Int, seed: UInt64, samples: Int, holdout: Int) -> ChainReality<RegressionData> {
        rows.chainReality(variant: variant, replicate: replicate, seed: seed, samples: samples, holdout: holdout)
    }
}

/// Labelled rows: a Gaussian mixture whose component is the label, or a dataset with a label column.
struct LabelledWorld: RealWorld {
    let rows: RealRows<LabelledData>
    let truth: RealTruth
    let classCount: Int

    init(_ source: RealSource) throws(RunError) {
        switch source {
        case let .gmm(weights, means, covariances):
            var parts: [MultivariateNormal] = []
            for (k, (mu, sigma)) in zip(means, covariances).enumerated() {
                do { parts.append(try MultivariateNormal(mean: mu, covariance: sigma)) } catch {
                    throw RunError.invalidReality("real.covariances[\(k)] is not positive definite: \(error)")
                }
            }
            let components = parts
            rows = RealRows(source: .distribution { count, rng in
                let counts = Multinomial.counts(total: count, probabilities: weights, using: &rng)
                let blocks = zip(components, counts).map { $0.sample(count: $1, using: &rng) }
                let labels = counts.enumerated().flatMap { repeatElement($0.offset, count: $0.element) }
                return LabelledData(features: Matrix.concatenate(blocks), labels: labels)
            })
            // Reality's parameters as for unlabelled rows (moments, tail region, density, mixture).
            truth = try ContinuousWorld(source).truth
            classCount = weights.count
        case let .dataset(d):
            guard let labels = d.labels, let names = d.classNames else {
                throw RunError.invalidReality("class_conditional needs a dataset with a `label` column")
            }
            rows = RealRows(source: .dataset(LabelledData(features: d.features, labels: labels)))
            var t = try ContinuousWorld(source).truth
            var counts = [Int](repeating: 0, count: names.count)
            for l in labels { counts[l] += 1 }
            if let minority = counts.indices.min(by: { counts[$0] < counts[$1] }) {
                t.minority = (minority, Double(counts[minority]) / Double(labels.count))
            }
            truth = t
            classCount = names.count
        default:
            throw RunError.invalidReality("class_conditional needs a gmm distribution (component = label) or a dataset with a `label` column")
        }
    }

    func chainReality(variant: Int, replicate: Int, seed: UInt64, samples: Int, holdout: Int) -> ChainReality<LabelledData> {
        rows.chainReality(variant: variant, replicate: replicate, seed: seed, samples: samples, holdout: holdout)
    }
}

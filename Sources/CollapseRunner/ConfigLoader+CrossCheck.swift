import CollapseCore
import CollapseModels

// Rules that involve more than one key: which model fits which data, enough rows per training set,
// sampling knobs that apply to the model, enough dataset rows for the holdout and the regime.

extension VariantResolver {
    /// The node at a dotted key path of this variant's document.
    func node(at path: String) -> ConfigNode? {
        root.value(at: path.split(separator: ".").map(String.init))
    }

    /// The position to report for a key path: its value, else the nearest written ancestor.
    func mark(for path: String) -> SourceMark? {
        var parts = path.split(separator: ".").map(String.init)
        while !parts.isEmpty {
            if let found = root.value(at: parts), let mark = found.mark { return mark }
            parts.removeLast()
        }
        return nil
    }

    /// How a value got into the config, for messages: `, the default`, `, from --generations` or "".
    func note(for path: String) -> String {
        guard let found = node(at: path) else { return ", the default" }
        if let origin = found.origin { return ", from \(origin)" }
        return ""
    }

    func fail(_ path: String, _ message: String, hint: String? = nil) -> ConfigError {
        reader.error(at: mark(for: path), path, message, hint: hint)
    }

    func failValue(_ path: String, expected: String, found: String, hint: String? = nil) -> ConfigError {
        let mark = mark(for: path)
        return ConfigError.wrongValue(file: reader.file, line: mark?.line, column: mark?.column, keyPath: path,
                                      expected: expected, found: found + note(for: path), hint: hint)
    }

    /// The real source in words, for messages.
    func describe(_ source: RealSource) -> String {
        switch source {
        case .gaussian: return "real.distribution gaussian, 1-D"
        case .studentT: return "real.distribution student-t, 1-D"
        case let .mvn(mean, _): return "real.distribution mvn with \(mean.count) dimension\(mean.count == 1 ? "" : "s")"
        case let .gmm(_, means, _):
            let d = means.first?.count ?? 0
            return "real.distribution gmm with \(d) dimension\(d == 1 ? "" : "s")"
        case .zipf: return "real.distribution zipf, categorical tokens"
        case .linearRegression: return "real.distribution linear-regression, (x, y) pairs"
        case let .dataset(d):
            let n = d.featureColumns.count
            return "real.dataset \(d.path) with \(n) feature column\(n == 1 ? "" : "s")"
        }
    }

    func crossCheck(_ c: ExperimentConfig) throws(ConfigError) {
        let kind = c.model.kind
        let source = c.real.source

        // Which model fits which data.
        switch source {
        case .zipf:
            guard kind == "categorical" else {
                throw fail("model.kind", "real.distribution zipf produces categorical tokens; model `\(kind)` cannot fit them",
                           hint: "use model.kind categorical")
            }
        case .linearRegression:
            guard kind == "linear-regression" else {
                throw fail("model.kind", "real.distribution linear-regression produces (x, y) pairs for a regression; model `\(kind)` cannot fit them",
                           hint: "use model.kind linear-regression")
            }
        case let .dataset(d) where d.targetColumn != nil:
            guard kind == "linear-regression" else {
                throw fail("real.target", "a `target` column is the response of a regression; model `\(kind)` does not use it",
                           hint: "use model.kind linear-regression, or remove `target` (`columns` chooses the features, `label` names classes)")
            }
        default:
            if kind == "categorical" {
                throw fail("model.kind", "model categorical needs categorical tokens (real.distribution zipf); the real data are \(describe(source))",
                           hint: "use model.kind gaussian, mvn, gmm or kde for continuous data")
            }
            if kind == "linear-regression" {
                throw fail("model.kind", "model linear-regression needs (x, y) pairs: real.distribution linear-regression, or a dataset with a `target` column; the real data are \(describe(source))")
            }
        }

        // The model's dimension against the data's.
        if kind == "gaussian" && source.dimension != 1 {
            throw fail("model.kind", "model gaussian is 1-D but the real data have \(source.dimension) dimensions (\(describe(source)))",
                       hint: "use model.kind mvn, gmm or kde for multivariate data" + (source.isDataset ? ", or pick one column with real.columns" : ""))
        }

        // Class-conditional models need at least two classes.
        if c.model.classConditional {
            switch source {
            case let .gmm(weights, _, _):
                if weights.count < 2 {
                    throw fail("model.class_conditional", "class-conditional models need at least 2 classes; this mixture has 1 component (component = class)")
                }
            case let .dataset(d):
                guard let classes = d.classNames, let column = d.labelColumn else {
                    throw fail("model.class_conditional", "class-conditional models need class labels: name the label column with real.label")
                }
                if classes.count < 2 {
                    throw fail("real.label", "column `\(column)` has a single class (`\(classes.first ?? "")`); model.class_conditional needs at least 2",
                               hint: "choose another label column, or set model.class_conditional: false")
                }
            default:
                throw fail("model.class_conditional", "class-conditional models need class labels: real.distribution gmm (component = class) or a dataset with real.label; \(describe(source)) has none")
            }
        }

        // Enough training rows for the model to be fitted at all.
        let m = c.samples
        switch c.model.family {
        case let .gmm(components, _, _, _, _):
            if components > m {
                throw fail("model.components", "\(components) components exceed samples (M = \(m)\(note(for: "samples"))): every component needs at least one training row",
                           hint: "lower model.components to at most \(m), or raise samples")
            }
        case let .gaussian(estimator), let .mvn(estimator, _):
            if estimator == .unbiased && m < 2 {
                throw failValue("samples", expected: "an integer >= 2 for the unbiased estimator (it divides by M - 1)", found: "\(m)")
            }
        case let .kde(bandwidth):
            var ruleOfThumb = true
            if case .fixed = bandwidth { ruleOfThumb = false }
            if ruleOfThumb && m < 2 {
                throw failValue("samples", expected: "an integer >= 2 for a rule-of-thumb bandwidth (it needs a sample standard deviation)", found: "\(m)",
                                hint: "or give model.bandwidth as a number")
            }
        case let .linearRegression(intercept, knownNoise, _):
            let p = source.dimension + (intercept ? 1 : 0)
            let needed = knownNoise ? p : p + 1
            if m < needed {
                let why = knownNoise ? "\(p) coefficients" : "\(p) coefficients and the noise variance"
                throw failValue("samples", expected: "an integer >= \(needed) to estimate \(why)", found: "\(m)")
            }
        case .categorical:
            break
        }

        // Sampling knobs that apply to the model.
        if c.sampling.truncation != nil && kind == "categorical" {
            throw fail("sampling.truncate", "`truncate` cuts the tails of continuous models; it does not apply to model categorical",
                       hint: "use sampling.top_k to keep only the k most probable symbols")
        }
        if let k = c.sampling.topK {
            guard kind == "categorical" else {
                throw fail("sampling.top_k", "`top_k` applies to model categorical only, not `\(kind)`",
                           hint: "use sampling.truncate to cut the tails of a continuous model")
            }
            if case let .zipf(vocabulary, _) = source, k > vocabulary {
                throw failValue("sampling.top_k", expected: "an integer in [1, \(vocabulary)] (the vocabulary)", found: "\(k)")
            }
        }

        if let shortcut = c.samplingShortcut { try checkShortcut(shortcut, c) }

        // Enough dataset rows for the holdout, the training set and (fresh) the new real rows.
        if case let .dataset(d) = source {
            let rows = d.features.rows
            let holdout = c.real.holdout
            if holdout > rows - m {
                let hint = rows - m >= 1
                    ? "lower real.holdout to at most \(rows - m), or lower samples"
                    : "lower samples below \(rows) and real.holdout to fit"
                throw fail("real.holdout", "the dataset has \(rows) rows, fewer than holdout (\(holdout)\(note(for: "real.holdout"))) + samples (\(m)\(note(for: "samples"))) = \(holdout + m)",
                           hint: hint)
            }
            if c.regime.kind == .fresh {
                let fresh = c.regime.realRows(samples: m)
                let (perChain, overflow1) = c.generations.multipliedReportingOverflow(by: fresh)
                let (needed, overflow2) = perChain.addingReportingOverflow(m + holdout)
                if overflow1 || overflow2 || needed > rows {
                    let neededText = overflow1 || overflow2 ? "more than \(Int.max)" : "\(needed)"
                    throw fail("regime.kind", "regime fresh draws \(fresh) unused real rows every generation: samples (\(m)) + holdout (\(holdout)) + generations (\(c.generations)) x round(real_fraction x samples) (\(fresh)) = \(neededText) rows needed, the dataset has \(rows)",
                               hint: "lower generations or regime.real_fraction, or use regime mix (it reuses the real training set)")
                }
            }
        }
    }
}

extension VariantResolver {
    /// `sampling.shortcut: sufficient-statistics` needs a family with that refit, synthetic
    /// training sets that are exactly M rows of the last model, and nothing that reads the rows
    /// (the metric rule is in `MetricRegistry.problem(with:in:)`).
    func checkShortcut(_ shortcut: SamplingShortcut, _ c: ExperimentConfig) throws(ConfigError) {
        let path = "sampling.shortcut", value = shortcut.rawValue
        let off = "remove sampling.shortcut (or set it to none) to sample every training set row by row"
        let kind = c.model.kind
        guard (kind == "gaussian" || kind == "mvn") && !c.model.classConditional else {
            let what = c.model.classConditional ? "a class-conditional \(kind) model" : "model \(kind)"
            throw fail(path, "`\(value)` draws the refit of a gaussian or mvn model from its sufficient statistics; it does not apply to \(what)",
                       hint: off)
        }
        guard c.regime.kind == .replace else {
            throw fail(path, "`\(value)` needs regime replace (each training set exactly M rows of the last model); regime is \(c.regime.kind.rawValue)\(note(for: "regime.kind"))",
                       hint: off)
        }
        guard c.sampling.truncation == nil else {
            throw fail(path, "`\(value)` has no closed form for truncated samples (sampling.truncate is set)",
                       hint: "remove sampling.truncate, or " + off)
        }
        if let g = c.export.first(where: { $0 >= 1 }) {
            throw fail("export", "generation \(g)'s training set is never materialised under sampling.shortcut \(value); only generation 0 (the real rows) can be exported",
                       hint: "export only generation 0, or " + off)
        }
    }
}

extension RealSource {
    var isDataset: Bool {
        if case .dataset = self { return true }
        return false
    }
}

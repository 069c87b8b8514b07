import CollapseCore
import Foundation

/// Symbol counts over a vocabulary of V symbols: the data of the `categorical` family.
///
/// A bag of tokens is stored as `counts[v]`, the number of tokens equal to symbol `v`, for
/// `v = 0 ..< V`; the order of the tokens carries no information for an i.i.d. categorical model,
/// so counts are a sufficient statistic and keep fitting and sampling O(V) instead of O(tokens).
/// Where one value per token is needed (`FittedCategorical.logDensities`), tokens are taken in
/// symbol order, as `tokens` lists them.
///
/// Invariants a caller may rely on: `V >= 1`, every count `>= 0`, `total == counts.reduce(0, +)`
/// (checked for overflow). Decoding enforces the same invariants.
public struct TokenCounts: Sendable, Hashable {
    /// `counts[v]`: how many tokens are symbol `v`; `counts.count` is the vocabulary size V.
    public let counts: [Int]
    /// The number of tokens, `sum_v counts[v]`.
    public let total: Int

    /// Counts given per symbol.
    ///
    /// - Precondition: at least one symbol; every count `>= 0`; the total fits in `Int`.
    /// - Complexity: O(V).
    public init(counts: [Int]) {
        precondition(!counts.isEmpty, "TokenCounts needs a vocabulary of at least one symbol, got an empty count list")
        var total = 0
        for (v, c) in counts.enumerated() {
            precondition(c >= 0, "TokenCounts needs non-negative counts, got \(c) for symbol \(v)")
            let (sum, overflow) = total.addingReportingOverflow(c)
            precondition(!overflow, "TokenCounts total overflows Int at symbol \(v)")
            total = sum
        }
        self.counts = counts
        self.total = total
    }

    /// Counts already known to be valid with this total (a multinomial draw of `total` tokens):
    /// no O(V) validating pass (checked in debug builds).
    init(drawn counts: [Int], total: Int) {
        assert(!counts.isEmpty && counts.allSatisfy { $0 >= 0 } && counts.reduce(0, +) == total,
               "TokenCounts(drawn:total:): counts that are not a draw of \(total) tokens")
        self.counts = counts
        self.total = total
    }

    /// Counts of a token list: `counts[v]` = number of occurrences of `v` in `tokens`.
    ///
    /// - Precondition: `vocabularySize >= 1`; every token in `0 ..< vocabularySize`.
    /// - Complexity: O(V + number of tokens).
    public init<S: Sequence<Int>>(tokens: S, vocabularySize: Int) {
        precondition(vocabularySize >= 1, "TokenCounts needs a vocabulary of at least one symbol, got \(vocabularySize)")
        var counts = [Int](repeating: 0, count: vocabularySize)
        for token in tokens {
            precondition(token >= 0 && token < vocabularySize,
                         "token \(token) is outside the vocabulary 0 ..< \(vocabularySize)")
            counts[token] += 1
        }
        self.init(counts: counts)
    }

    /// V, the number of symbols (including those with count 0).
    public var vocabularySize: Int { counts.count }

    /// The tokens in symbol order: `counts[0]` zeros, then `counts[1]` ones, and so on.
    ///
    /// - Complexity: O(V + total) time and memory.
    public var tokens: [Int] {
        var out: [Int] = []
        out.reserveCapacity(total)
        for (v, c) in counts.enumerated() where c > 0 {
            out.append(contentsOf: repeatElement(v, count: c))
        }
        return out
    }
}

extension TokenCounts: Codable {
    private enum CodingKeys: String, CodingKey { case counts }

    /// Encodes `{"counts": [...]}`; `total` is derived, not stored.
    public func encode(to encoder: any Encoder) throws {
        var container = encoder.container(keyedBy: CodingKeys.self)
        try container.encode(counts, forKey: .counts)
    }

    /// Decodes `{"counts": [...]}`, rejecting an empty list or a negative count with the offending value.
    public init(from decoder: any Decoder) throws {
        let container = try decoder.container(keyedBy: CodingKeys.self)
        let counts = try container.decode([Int].self, forKey: .counts)
        guard !counts.isEmpty else {
            throw DecodingError.dataCorruptedError(forKey: .counts, in: container,
                                                   debugDescription: "counts must list at least one symbol")
        }
        var total = 0
        for (v, c) in counts.enumerated() {
            let (sum, overflow) = total.addingReportingOverflow(c)
            guard c >= 0, !overflow else {
                throw DecodingError.dataCorruptedError(forKey: .counts, in: container,
                                                       debugDescription: "counts must be non-negative with a total that fits in Int; symbol \(v) has \(c)")
            }
            total = sum
        }
        self.init(counts: counts)
    }
}

/// `categorical`: a distribution over V symbols (e.g. Zipf-distributed tokens), fitted by counts
/// with optional additive (Lidstone) smoothing.
///
/// Estimator: `p_v = (c_v + alpha) / (M + V alpha)` for counts `c_v` of M tokens, `alpha = smoothing`.
/// With `alpha = 0` (the default) this is the MLE `c_v / M`: a symbol that draws no token in one
/// generation has probability 0 for ever after, so refitting on own samples loses the tail
/// symbol by symbol until one symbol is left (`Degeneracy.singleSymbol`). Any `alpha > 0` keeps
/// every symbol alive.
public struct CategoricalModel: GenerativeModel {
    /// The additive pseudo-count alpha added to every symbol (config key `smoothing`, default 0).
    public var smoothing: Double

    public init(smoothing: Double = 0) {
        self.smoothing = smoothing
    }

    /// - Throws: `smoothing` unless it is finite and `>= 0`.
    public func validate() throws(ModelSettingsError) {
        guard smoothing.isFinite && smoothing >= 0 else {
            throw ModelSettingsError(key: "smoothing", "must be a finite number >= 0, got \(smoothing)")
        }
    }

    /// Fits `p_v = (c_v + alpha) / (M + V alpha)`, each a single correctly rounded division.
    ///
    /// The probabilities sum to 1 up to V roundings. The stream is not used.
    /// - Throws: `FitError.tooFewRows(needed: 1, got: 0)` for no tokens without smoothing (0 / 0).
    /// - Precondition: validated settings (`smoothing` finite, `>= 0`).
    /// - Complexity: O(V).
    public func fit<R: RandomStream>(_ data: TokenCounts, using rng: inout R) throws(FitError) -> FittedCategorical {
        precondition(smoothing.isFinite && smoothing >= 0, "CategoricalModel.smoothing must be finite and >= 0, got \(smoothing)")
        if data.total == 0 && smoothing == 0 { throw .tooFewRows(needed: 1, got: 0) }
        let alpha = smoothing
        let denominator = Double(data.total) + Double(data.vocabularySize) * alpha
        let v = data.vocabularySize
        var support = 0
        let probabilities = [Double](unsafeUninitializedCapacity: v) { buffer, initialized in
            support = data.counts.withUnsafeBufferPointer { counts in
                guard let c = counts.baseAddress, let out = buffer.baseAddress else { return 0 }
                var positive = 0
                if alpha == 0 {
                    // A symbol without tokens gets 0 / denominator = +0 exactly: skip the division
                    // (most symbols of a collapsing model have none), eight at a time where all are.
                    var i = 0
                    while i < v {
                        if i + 8 <= v {
                            var any = 0
                            for k in 0..<8 { any |= c[i + k] }
                            if any == 0 {
                                for k in 0..<8 { out[i + k] = 0 }
                                i += 8
                                continue
                            }
                        }
                        for j in i..<min(i + 8, v) {
                            if c[j] == 0 {
                                out[j] = 0
                            } else {
                                let q = Double(c[j]) / denominator
                                out[j] = q
                                positive &+= q > 0 ? 1 : 0
                            }
                        }
                        i += 8
                    }
                } else {
                    for i in 0..<v {
                        let q = (Double(c[i]) + alpha) / denominator
                        out[i] = q
                        positive &+= q > 0 ? 1 : 0
                    }
                }
                return positive
            }
            initialized = v
        }
        return FittedCategorical(unchecked: probabilities, supportSize: support)
    }
}

/// A fitted distribution over V symbols, `probabilities[v] = P(symbol v)`.
///
/// A caller may rely on: every probability finite and `>= 0`, at least one positive, the sum 1 up
/// to rounding (V ulps). Sampling never returns a token of a zero-probability symbol.
public struct FittedCategorical: FittedModel, Hashable {
    /// `p_v` for `v = 0 ..< V`.
    public let probabilities: [Double]

    /// A distribution from non-negative weights, stored divided by their sum (left bit for bit as
    /// given when the sum is exactly 1).
    ///
    /// - Precondition: at least one weight; all finite and `>= 0`; a positive finite sum.
    /// - Complexity: O(V).
    public init(probabilities weights: [Double]) {
        precondition(!weights.isEmpty, "FittedCategorical needs at least one symbol")
        for (v, w) in weights.enumerated() {
            precondition(w.isFinite && w >= 0, "FittedCategorical needs finite non-negative weights, got \(w) for symbol \(v)")
        }
        let sum = Self.compensatedSum(weights)
        precondition(sum > 0 && sum.isFinite, "FittedCategorical needs weights with a positive finite sum, got \(sum)")
        self.init(unchecked: sum == 1 ? weights : weights.map { $0 / sum })
    }

    /// Already normalised probabilities (from `fit`), with their support size when known.
    init(unchecked probabilities: [Double], supportSize: Int? = nil) {
        self.probabilities = probabilities
        self.supportSize = supportSize ?? Self.countPositive(probabilities)
        assert(self.supportSize == Self.countPositive(probabilities), "FittedCategorical: wrong support size")
    }

    /// V, the number of symbols.
    public var vocabularySize: Int { probabilities.count }

    /// The number of symbols with `p_v > 0` (counted once, when the model is made).
    public let supportSize: Int

    static func countPositive(_ p: [Double]) -> Int {
        p.withUnsafeBufferPointer { buffer in
            var n = 0
            for x in buffer { n &+= x > 0 ? 1 : 0 }
            return n
        }
    }

    /// Shannon entropy in nats, `H = -sum_{p_v > 0} p_v log p_v` (0 for a single symbol, at most log V).
    ///
    /// - Complexity: O(V).
    public var entropy: Double {
        var h = 0.0
        probabilities.withUnsafeBufferPointer { buffer in
            let p = buffer.baseAddress!, v = buffer.count
            var i = 0
            while i < v {
                // Eight zero probabilities at a time are skipped in one test (same terms, same order).
                if i + 8 <= v {
                    var bits: UInt64 = 0
                    for k in 0..<8 { bits |= p[i + k].bitPattern }
                    if bits & 0x7FFF_FFFF_FFFF_FFFF == 0 {
                        i += 8
                        continue
                    }
                }
                for j in i..<min(i + 8, v) where p[j] > 0 { h -= p[j] * Foundation.log(p[j]) }
                i += 8
            }
        }
        return max(h, 0)
    }

    /// `.singleSymbol` when exactly one symbol has positive probability, else `nil`.
    public var degeneracy: Degeneracy? { supportSize == 1 ? .singleSymbol : nil }

    /// The distribution that `sample` draws from under `options`.
    ///
    /// - `topK = k`: only the k most probable symbols are kept (ties in probability go to the
    ///   lower symbol index), the rest get 0;
    /// - `temperature = tau`: `q_v ∝ p_v^(1/tau)` over the kept symbols, computed as
    ///   `exp((log p_v - log p_max) / tau)` so that no term overflows or underflows as a whole:
    ///   as tau -> 0 the distribution tends to uniform over the most probable symbols (the argmax),
    ///   and at tau = +inf it is uniform over the kept support.
    ///
    /// The result is normalised (sum 1 up to rounding), zero exactly where `p_v = 0` or the symbol
    /// is cut by top-k, positive at every most probable kept symbol. With `tau == 1` and no top-k
    /// (or `topK >= V`) it is `probabilities` itself, bit for bit. `options.truncation` does not apply to this family.
    /// - Precondition: `temperature > 0` (not NaN); `topK >= 1` when given.
    /// - Complexity: O(V) without top-k, O(V log V) with it.
    public func samplingProbabilities(_ options: SamplingOptions) -> [Double] {
        let tau = options.temperature
        precondition(tau > 0, "sampling temperature must be > 0, got \(tau)")
        var kept = probabilities
        var cut = false
        if let k = options.topK {
            precondition(k >= 1, "sampling top_k must be >= 1, got \(k)")
            if k < kept.count {
                cut = true
                // The k-th largest value; keep everything above it, then the lowest indices equal to it.
                let threshold = probabilities.sorted(by: >)[k - 1]
                var slots = k - probabilities.reduce(0) { $0 + ($1 > threshold ? 1 : 0) }
                for v in kept.indices {
                    if kept[v] > threshold { continue }
                    if kept[v] == threshold && slots > 0 {
                        slots -= 1
                    } else {
                        kept[v] = 0
                    }
                }
            }
        }
        if tau == 1 && !cut { return kept }
        let maximum = kept.max() ?? 0
        if tau != 1 {
            let logMaximum = Foundation.log(maximum)
            for v in kept.indices where kept[v] > 0 {
                // (log p - log p_max) is in [-745, 0]; the quotient may be -inf, never NaN.
                kept[v] = Foundation.exp((Foundation.log(kept[v]) - logMaximum) / tau)
            }
        }
        let sum = Self.compensatedSum(kept)
        return kept.map { $0 / sum }
    }

    /// Draws `count` tokens as counts: one multinomial draw over `samplingProbabilities(options)`.
    ///
    /// Consumes the stream only through `Multinomial.counts` (nothing when `count == 0`).
    /// - Precondition: `count >= 0`; see `samplingProbabilities(_:)`.
    /// - Complexity: O(V) (O(V log V) with top-k), independent of `count`.
    public func sample<R: RandomStream>(count: Int, options: SamplingOptions, using rng: inout R) -> TokenCounts {
        precondition(count >= 0, "sample count must be non-negative, got \(count)")
        let q = samplingProbabilities(options)
        if count == 0 { return TokenCounts(counts: [Int](repeating: 0, count: q.count)) }
        return TokenCounts(drawn: Multinomial.counts(total: count, probabilities: q, using: &rng), total: count)
    }

    /// `log p_v` once per token: the result has `data.total` entries, tokens in symbol order
    /// (all tokens of symbol 0 first, then symbol 1, ...: the order of `data.tokens`).
    /// A token of a zero-probability symbol gives `-inf`; never NaN.
    ///
    /// Metrics that only need averages should use `meanLogProbability(of:)`, which does not expand tokens.
    /// - Precondition: `data.vocabularySize == vocabularySize`.
    /// - Complexity: O(V + data.total) time and memory.
    public func logDensities(_ data: TokenCounts) -> [Double] {
        precondition(data.vocabularySize == vocabularySize,
                     "logDensities: model has \(vocabularySize) symbols, data has \(data.vocabularySize)")
        var out: [Double] = []
        out.reserveCapacity(data.total)
        for (v, c) in data.counts.enumerated() where c > 0 {
            out.append(contentsOf: repeatElement(Foundation.log(probabilities[v]), count: c))
        }
        return out
    }

    /// The log-likelihood of the tokens, `sum_{c_v > 0} c_v log p_v` (0 for no tokens; -inf when a
    /// token's symbol has probability 0).
    ///
    /// - Precondition: `data.vocabularySize == vocabularySize`.
    /// - Complexity: O(V).
    public func logLikelihood(of data: TokenCounts) -> Double {
        precondition(data.vocabularySize == vocabularySize,
                     "logLikelihood: model has \(vocabularySize) symbols, data has \(data.vocabularySize)")
        var sum = 0.0
        for (v, c) in data.counts.enumerated() where c > 0 {
            sum += Double(c) * Foundation.log(probabilities[v])
        }
        return sum
    }

    /// The mean log-probability per token, `sum_v c_v log p_v / total`: the mean of
    /// `logDensities(data)` without expanding the tokens (negated, the cross-entropy in nats).
    ///
    /// - Precondition: `data.total > 0`; equal vocabulary sizes.
    /// - Complexity: O(V).
    public func meanLogProbability(of data: TokenCounts) -> Double {
        precondition(data.total > 0, "meanLogProbability needs at least one token")
        return logLikelihood(of: data) / Double(data.total)
    }

    /// Neumaier-compensated sum of non-negative values.
    static func compensatedSum(_ x: [Double]) -> Double {
        var sum = 0.0
        var compensation = 0.0
        for value in x {
            let t = sum + value
            if abs(sum) >= abs(value) {
                compensation += (sum - t) + value
            } else {
                compensation += (value - t) + sum
            }
            sum = t
        }
        return sum + compensation
    }
}

extension FittedCategorical: Codable {
    private enum CodingKeys: String, CodingKey { case probabilities }

    public func encode(to encoder: any Encoder) throws {
        var container = encoder.container(keyedBy: CodingKeys.self)
        try container.encode(probabilities, forKey: .probabilities)
    }

    /// Decodes `{"probabilities": [...]}` exactly as stored (no renormalisation), rejecting an
    /// empty list, negative or non-finite entries, or a zero sum.
    public init(from decoder: any Decoder) throws {
        let container = try decoder.container(keyedBy: CodingKeys.self)
        let p = try container.decode([Double].self, forKey: .probabilities)
        guard !p.isEmpty, p.allSatisfy({ $0.isFinite && $0 >= 0 }), p.contains(where: { $0 > 0 }) else {
            throw DecodingError.dataCorruptedError(forKey: .probabilities, in: container,
                                                   debugDescription: "probabilities must be finite, >= 0, at least one positive")
        }
        self.init(unchecked: p)
    }
}

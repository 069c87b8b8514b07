import CollapseCore
import Foundation
import Synchronization

/// Exact survival of symbols in the neutral Wright–Fisher chain that a categorical MLE refitted on
/// its own samples (`replace`, temperature 1, no top-k, no smoothing) runs: the counts of M tokens
/// at generation g are Multinomial(M, c_{g-1} / M), so one symbol's count alone is the Markov chain
/// `k -> Binomial(M, k / M)` on `0 ... M`, absorbed at 0 (the symbol is lost for ever).
///
/// With `s_g(k)` = P(the symbol's count is still positive g steps after it was k):
/// `s_0(k) = [k > 0]`, `s_g(k) = sum_j Binomial(j; M, k/M) s_{g-1}(j)`, and for the real start
/// `c_0 ~ Binomial(M, p_v)`:
/// - E[support_g] = sum_k w(k) s_g(k), with `w(k) = sum_v Binomial(k; M, p_v)`;
/// - E[oov_rate_g] = sum_k w'(k) (1 - s_g(k)), with `w'(k) = sum_v p_v Binomial(k; M, p_v)`.
///
/// Binomial rows are evaluated by the ratio recurrence outward from the mode and normalised, and
/// cut where a term falls below 1e-18 of the mode's (the neglected mass is below 1e-16 per row),
/// so a full step costs O(M^1.5). Rows whose terms all land where `s` is exactly 1 are exactly 1
/// and are not summed (`summedRows`): a symbol with many tokens cannot be lost within a few
/// generations, so a step costs O(M) plus the sums of its low rows. Results are cached per (M, p)
/// and extended generation by generation, so asking for every generation 0 ... G costs G steps in all.
final class WrightFisherTheory: Sendable {
    static let shared = WrightFisherTheory()

    /// The largest work (terms summed plus M per step, `stepCost`, added over the steps) a series
    /// may cost; the generations beyond it (and beyond (g + 1) M w <= workLimit, the earlier
    /// per-step bound) have no theory. The cost depends on (M, p) only, so which generations have
    /// a theory never depends on the order of the requests.
    static let workLimit = 1.5e9

    private struct Key: Hashable {
        let population: Int
        let probabilities: [Double]

        /// Hashes M, V and at most 16 evenly spaced probabilities (equality still compares them
        /// all): a summary asks once per generation and metric, and V may be 10^5 or more.
        func hash(into hasher: inout Hasher) {
            hasher.combine(population)
            hasher.combine(probabilities.count)
            let stride = max(probabilities.count / 16, 1)
            for i in Swift.stride(from: 0, to: probabilities.count, by: stride) {
                hasher.combine(probabilities[i])
            }
        }
    }

    private struct Series {
        var factors: RatioFactors
        var survival: [Double]
        var weights: [Double]
        var oovWeights: [Double]
        var support: [Double] = []
        var oov: [Double] = []
        var work = 0.0
        var exhausted = false
    }

    private let cache = Mutex<[Key: Series]>([:])

    /// (E[support_size], E[oov_rate_real]) at `generation` for real probabilities `p` and M tokens
    /// per generation; nil when reaching it would exceed `workLimit`.
    func expectations(probabilities p: [Double], population m: Int, generation g: Int) -> (support: Double, oov: Double)? {
        precondition(m >= 1 && g >= 0, "WrightFisherTheory needs M >= 1 and g >= 0, got M \(m), g \(g)")
        // Every step passes over all M + 1 entries: bound that before building anything.
        guard Double(g + 1) * Double(m + 1) <= Self.workLimit else { return nil }
        let key = Key(population: m, probabilities: p)
        return cache.withLock { table -> (support: Double, oov: Double)? in
            // Taken out and stored back under the caller's key: an equal array from another
            // caller (another summary of the same config) is compared element by element once,
            // then its own buffer makes later lookups an identity check.
            var series = table.removeValue(forKey: key) ?? Self.start(p, m)
            while series.support.count <= g && !series.exhausted {
                if !series.support.isEmpty {
                    let rows = Self.summedRows(series.survival)
                    let cost = Self.stepCost(population: m, summedRows: rows)
                    guard Self.generationAllowed(series.support.count, population: m, work: series.work + cost) else {
                        series.exhausted = true
                        break
                    }
                    series.work += cost
                    series.survival = Self.step(series.survival, summedRows: rows, factors: series.factors)
                }
                var support = 0.0, oov = 0.0
                for k in 0...m {
                    support += series.weights[k] * series.survival[k]
                    oov += series.oovWeights[k] * (1 - series.survival[k])
                }
                series.support.append(support)
                series.oov.append(oov)
            }
            if table.count >= 16 && table[key] == nil { table.removeAll() }
            table[key] = series
            return g < series.support.count ? (series.support[g], series.oov[g]) : nil
        }
    }

    /// Whether generation `g` gets a theory when the series has cost `work` up to it: within
    /// `workLimit`, or within the earlier per-step bound (g + 1) M w (w the widest row), so that
    /// no theory cell produced before is dropped (the work count is slightly larger when every
    /// row is summed, at small M). Both are prefixes of the generations, so is their union.
    static func generationAllowed(_ g: Int, population m: Int, work: Double) -> Bool {
        let widest = min(Double(m + 1), 9.2 * Double(m).squareRoot() + 2)
        return work <= workLimit || Double(g + 1) * Double(m) * widest <= workLimit
    }

    /// The estimated work of a step that sums rows 1 ..< `summedRows`: their terms (each row at most
    /// the width of the widest row, near M/2, and about 18.4 sqrt(k) for a row k) plus one pass over M.
    static func stepCost(population m: Int, summedRows rows: Int) -> Double {
        let width = min(Double(m + 1), 9.2 * Double(m).squareRoot() + 2, 18.4 * Double(rows).squareRoot() + 2)
        return Double(max(rows - 1, 0)) * width + Double(m + 1)
    }

    /// The first row from which `step` may set every row to exactly 1 without summing it (M when
    /// there is none): rows `k >= summedRows(s)` have all their terms where `s` is exactly 1.
    ///
    /// With L the last index where `s` is not exactly 1, a row k whose mode k is above L + 1 sums
    /// `total` and `acc = sum value * s[j]` over the same terms in the same order, hence the same
    /// bits, and `acc / total` is exactly 1, as long as its downward recurrence stops before L + 1,
    /// i.e. the recurrence's value there, Binomial(L + 1; M, k/M) / Binomial(k; M, k/M), is below
    /// the cutoff. The Chernoff bound Binomial(j; M, p) <= exp(-M D(j/M || p)) for j <= Mp, and
    /// Binomial(k; M, k/M) >= 1/(M + 1) for the mode, bound that ratio by
    /// (M + 1) exp(-M D((L + 1)/M || k/M)); rows are taken once the bound is below the cutoff by
    /// a further factor (M + 1) e, far beyond the rounding of the recurrence (relative ~1e-10).
    /// D(a || p) grows with p for p > a, so the bound holds for every row above the first.
    static func summedRows(_ s: [Double]) -> Int {
        let m = s.count - 1
        guard m >= 2 else { return max(m, 0) }
        // Over the whole vector: rows near M read s[M] too (a survival vector has s[M] = 1).
        guard let last = s.lastIndex(where: { $0 != 1 }) else { return 1 }
        if last >= m - 1 { return m }
        let a = Double(last + 1) / Double(m)
        let threshold = Foundation.log(rowCutoff) - 1 - 2 * Foundation.log(Double(m + 1))
        var k = last + 2
        while k < m {
            let p = Double(k) / Double(m)
            let divergence = a * Foundation.log(a / p) + (1 - a) * Foundation.log((1 - a) / (1 - p))
            if -Double(m) * divergence < threshold { return k }
            k += 1
        }
        return m
    }

    private static func start(_ p: [Double], _ m: Int) -> Series {
        var w = [Double](repeating: 0, count: m + 1), w1 = w
        for pv in p {
            let (first, row) = binomialRow(trials: m, probability: pv)
            for (offset, value) in row.enumerated() {
                w[first + offset] += value
                w1[first + offset] += pv * value
            }
        }
        var s = [Double](repeating: 1, count: m + 1)
        s[0] = 0
        return Series(factors: RatioFactors(population: m), survival: s, weights: w, oovWeights: w1)
    }

    /// The row-independent factors of the ratio recurrence for M tokens, rounded exactly as the
    /// per-term products (M - j) (1 / (j + 1)) and j (1 / (M - j + 1)) would be, so precomputing
    /// them changes no bit: upward[j] = (M - j) / (j + 1), downward[j] = j / (M - j + 1).
    struct RatioFactors {
        let upward: [Double]
        let downward: [Double]

        init(population m: Int) {
            guard m >= 1 else {
                upward = [0]
                downward = [0]
                return
            }
            let reciprocal = [0.0] + (1...m).map { 1 / Double($0) }
            upward = (0..<m).map { Double(m - $0) * reciprocal[$0 + 1] } + [0]
            downward = [0.0] + (1...m).map { Double($0) * reciprocal[m - $0 + 1] }
        }
    }

    /// One resampling step backwards: `s'(k) = sum_j Binomial(j; M, k/M) s(j)`, each row
    /// generated by the ratio recurrence outward from its mode and normalised on the fly; rows from
    /// `summedRows` (default: `summedRows(s)`) up are exactly 1 and are set without summing.
    static func step(_ s: [Double], summedRows: Int? = nil, factors: RatioFactors? = nil) -> [Double] {
        let m = s.count - 1
        var out = [Double](repeating: 0, count: m + 1)
        out[m] = s[m]
        guard m >= 2 else { return out }
        let rows = summedRows ?? Self.summedRows(s)
        if rows < m { for k in max(rows, 1)..<m { out[k] = 1 } }
        guard rows > 1 else { return out }
        let factors = factors ?? RatioFactors(population: m)
        precondition(factors.upward.count == m + 1, "WrightFisherTheory.step: factors for M = \(factors.upward.count - 1), survival for M = \(m)")
        let upward = factors.upward, downward = factors.downward
        let cutoff = rowCutoff
        // Rows are independent: large steps are split over the cores (each entry is computed the
        // same way whatever the split, so the result does not depend on it).
        let chunks = stepCost(population: m, summedRows: rows) >= 262_144 ? 16 : 1
        out.withUnsafeMutableBufferPointer { outBuffer in
            nonisolated(unsafe) let output = outBuffer
            s.withUnsafeBufferPointer { sBuffer in
                nonisolated(unsafe) let s = sBuffer
                upward.withUnsafeBufferPointer { upBuffer in
                    downward.withUnsafeBufferPointer { downBuffer in
                        nonisolated(unsafe) let up = upBuffer, down = downBuffer
                        ParallelWork.forEach(chunks) { c in
                            let lower = 1 + (rows - 1) * c / chunks, upper = 1 + (rows - 1) * (c + 1) / chunks
                            for k in lower..<upper {
                                let p = Double(k) / Double(m)
                                let odds = p / (1 - p), inverseOdds = (1 - p) / p
                                let mode = min(m, Int((Double(m + 1) * p).rounded(.down)))
                                var total = 1.0, acc = s[mode]
                                var value = 1.0, j = mode
                                while j < m {
                                    value *= up[j] * odds
                                    if value < cutoff { break }
                                    j += 1
                                    total += value
                                    acc += value * s[j]
                                }
                                value = 1
                                j = mode
                                while j > 0 {
                                    value *= down[j] * inverseOdds
                                    if value < cutoff { break }
                                    j -= 1
                                    total += value
                                    acc += value * s[j]
                                }
                                output[k] = acc / total // each chunk writes only its own rows
                            }
                        }
                    }
                }
            }
        }
        return out
    }

    /// Terms below this fraction of a row's mode are dropped (their total is below 1e-16).
    static let rowCutoff = 1e-18

    /// The Binomial(n, p) probabilities of `first ..< first + row.count`, all others below 1e-18
    /// of the mode's: ratio recurrence from the mode, normalised to sum 1.
    static func binomialRow(trials n: Int, probability p: Double) -> (first: Int, row: [Double]) {
        if p <= 0 { return (0, [1]) }
        if p >= 1 { return (n, [1]) }
        let mode = min(n, Int((Double(n + 1) * p).rounded(.down)))
        let odds = p / (1 - p)
        let cutoff = rowCutoff
        var up: [Double] = [], down: [Double] = []
        var value = 1.0
        var j = mode
        while j < n {
            value *= Double(n - j) / Double(j + 1) * odds
            if value < cutoff { break }
            up.append(value)
            j += 1
        }
        value = 1
        j = mode
        while j > 0 {
            value *= Double(j) / Double(n - j + 1) / odds
            if value < cutoff { break }
            down.append(value)
            j -= 1
        }
        var row = Array(down.reversed())
        row.append(1)
        row.append(contentsOf: up)
        var total = 0.0
        for x in row { total += x }
        for i in row.indices { row[i] /= total }
        return (mode - down.count, row)
    }
}

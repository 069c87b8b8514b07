import CollapseCore
import Foundation
import Testing
@testable import CollapseMetrics

/// `WrightFisherTheory.step` precomputes the row-independent factors of its ratio recurrence and
/// sets the rows it can prove are exactly 1 without summing them (`summedRows`); every row must
/// keep exactly the value of the recurrence with the factors formed per term over every row (the
/// algorithm as first written, below), bit for bit, for small and large M (4096 summed rows or
/// more also split the rows over the cores).
@Suite struct WrightFisherStepTests {
    static func referenceStep(_ s: [Double]) -> [Double] {
        let m = s.count - 1
        var out = [Double](repeating: 0, count: m + 1)
        out[m] = s[m]
        guard m >= 2 else { return out }
        let inv = [0.0] + (1...m).map { 1 / Double($0) }
        let cutoff = WrightFisherTheory.rowCutoff
        for k in 1..<m {
            let p = Double(k) / Double(m)
            let odds = p / (1 - p), inverseOdds = (1 - p) / p
            let mode = min(m, Int((Double(m + 1) * p).rounded(.down)))
            var total = 1.0, acc = s[mode]
            var value = 1.0, j = mode
            while j < m {
                value *= Double(m - j) * inv[j + 1] * odds
                if value < cutoff { break }
                j += 1
                total += value
                acc += value * s[j]
            }
            value = 1
            j = mode
            while j > 0 {
                value *= Double(j) * inv[m - j + 1] * inverseOdds
                if value < cutoff { break }
                j -= 1
                total += value
                acc += value * s[j]
            }
            out[k] = acc / total
        }
        return out
    }

    @Test(arguments: [1, 2, 3, 4, 10, 101, 4096, 20_011])
    func precomputedFactorsGiveTheSameBits(m: Int) {
        var rng = Philox4x32(seed: 20_261_129, path: [0x3F, UInt32(m)])
        var s = (0...m).map { _ in rng.nextDouble() }
        s[0] = 0
        #expect(WrightFisherTheory.step(s) == Self.referenceStep(s))
        // No entry of s is exactly 1, so every row is summed.
        #expect(WrightFisherTheory.summedRows(s) == max(m, 0))
        // And along real steps from the survival start s_0(k) = [k > 0], where the upper rows are
        // exactly 1 and are set, not summed (checked: rows are skipped at the first step for
        // M >= 101 and at every step for M >= 4096; at M = 101 every row is summed from step 6).
        var a = [0.0] + [Double](repeating: 1, count: m), b = a
        for step in 0..<(m > 5000 ? 4 : 12) {
            let rows = WrightFisherTheory.summedRows(a)
            if m >= 4096 || (m >= 101 && step == 0) { #expect(rows < m, "step \(step): no row skipped at M = \(m)") }
            a = WrightFisherTheory.step(a)
            b = Self.referenceStep(b)
            #expect(a == b, "step \(step + 1), M = \(m), summed rows \(rows)")
        }
    }

    /// A vector that is exactly 1 except near the bottom: the rows proven to be 1 start above the
    /// last entry that is not 1, and the result equals the full sums bit for bit.
    @Test func rowsAboveTheLastNonOneEntry() {
        let m = 3000
        var s = [Double](repeating: 1, count: m + 1)
        for j in 0...40 { s[j] = Double(j) / 41 }
        s[700] = 0.5 // an isolated entry far up: rows whose terms reach it are summed
        let rows = WrightFisherTheory.summedRows(s)
        #expect(rows > 702 && rows < 1200, "summed rows \(rows)")
        #expect(WrightFisherTheory.step(s) == Self.referenceStep(s))
        #expect(WrightFisherTheory.summedRows([Double](repeating: 1, count: m + 1)) == 1)
    }

    /// A generation has a theory while the series' work is within the limit, and also wherever
    /// the earlier per-step bound (g + 1) M w <= 1.5e9 allowed one (M = 300: w = 161.3, up to
    /// g = 30,987), so long series at small M keep the cells they had.
    @Test func generationsAllowedByEitherBound() {
        let limit = WrightFisherTheory.workLimit
        #expect(WrightFisherTheory.generationAllowed(30_000, population: 300, work: 2 * limit))
        #expect(WrightFisherTheory.generationAllowed(30_987, population: 300, work: 2 * limit))
        #expect(!WrightFisherTheory.generationAllowed(30_988, population: 300, work: 2 * limit))
        #expect(WrightFisherTheory.generationAllowed(40_000, population: 300, work: limit))
        #expect(!WrightFisherTheory.generationAllowed(40_000, population: 300, work: limit.nextUp))
    }

    /// With the rows that are exactly 1 skipped, a long horizon at M = 10^5 tokens costs a
    /// fraction of the work limit (before, the theory stopped at generation 4 there): the series
    /// reaches generation 40, the support falls, and stays between 1 and V.
    @Test func longHorizonAtLargePopulation() throws {
        let v = 500
        let weights = (1...v).map { Foundation.pow(Double($0), -1.1) }
        let total = weights.reduce(0, +)
        let p = weights.map { $0 / total }
        let theory = WrightFisherTheory()
        let early = try #require(theory.expectations(probabilities: p, population: 100_000, generation: 1))
        let late = try #require(theory.expectations(probabilities: p, population: 100_000, generation: 40))
        #expect(late.support < early.support && late.support >= 1 && early.support <= Double(v))
        #expect(late.oov > early.oov && late.oov < 1)
    }
}

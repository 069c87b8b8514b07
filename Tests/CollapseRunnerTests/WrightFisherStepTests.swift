import CollapseCore
import Foundation
import Testing
@testable import CollapseMetrics

/// `WrightFisherTheory.step` precomputes the row-independent factors of its ratio recurrence;
/// every row must keep exactly the value of the recurrence with the factors formed per term (the
/// algorithm as first written, below), bit for bit, for small and large M (M >= 4096 also splits
/// the rows over the cores).
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
        // And along a few real steps from the survival start s_0(k) = [k > 0].
        var a = [0.0] + [Double](repeating: 1, count: m), b = a
        for _ in 0..<3 {
            a = WrightFisherTheory.step(a)
            b = Self.referenceStep(b)
        }
        #expect(a == b)
    }
}

import Foundation
import Testing

/// Helpers shared by the special-function, descriptive-statistics and goodness-of-fit tests.
enum StatisticsTestSupport {
    /// ε = 2^-52, the spacing of doubles at 1.
    static let epsilon = Double.ulpOfOne

    /// The seeds of the statistical tests in this file group: `COLLAPSE_TEST_SEED` from the
    /// environment when set, else a fixed default. The assertions hold for any seed (their
    /// tolerances are 5-sigma bounds), so CI may loop over seeds.
    static let seed: UInt64 = {
        if let text = ProcessInfo.processInfo.environment["COLLAPSE_TEST_SEED"], let value = UInt64(text) {
            return value
        }
        return 20_261_129
    }()

    /// When `COLLAPSE_PRINT_ACCURACY` is set, accuracy tests print their worst observed error.
    static let printsAccuracy = ProcessInfo.processInfo.environment["COLLAPSE_PRINT_ACCURACY"] != nil
}

/// SplitMix64 (Steele, Lea & Flood 2014): a tiny, well-mixed 64-bit generator, used here only to
/// make test samples that the fixture script (`Scripts/fixtures/special_functions.py`)
/// reproduces bit for bit. Production code draws from `RandomStream`s.
struct TestSplitMix64 {
    var state: UInt64

    mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }

    /// A uniform double in [0, 1): `(z >> 11) · 2^-53`.
    mutating func nextUniform() -> Double {
        Double(next() >> 11) * 0x1p-53
    }

    /// A standard normal deviate by the Box–Muller transform (the cosine branch).
    mutating func nextNormal() -> Double {
        let u = (Double(next() >> 11) + 0.5) * 0x1p-53  // in (0, 1): log(u) is finite
        let v = nextUniform()
        return (-2 * log(u)).squareRoot() * cos(2 * Double.pi * v)
    }
}

/// Tracks the worst error of a batch of comparisons against reference values and records one
/// test issue per comparison that breaks its bound, with both values in the message.
struct AccuracyCheck {
    let name: String
    private(set) var worstError = 0.0
    private(set) var worstCase = "no comparisons"
    private(set) var comparisons = 0

    init(_ name: String) {
        self.name = name
    }

    /// Expects `|got - want| ≤ tolerance · |want|`; non-finite references must match exactly.
    mutating func relative(
        _ got: Double, _ want: Double, tolerance: Double, at input: String,
        sourceLocation: SourceLocation = #_sourceLocation
    ) {
        comparisons += 1
        if !want.isFinite {
            #expect(got == want || (got.isNaN && want.isNaN),
                    "\(name)(\(input)): got \(got), want \(want)", sourceLocation: sourceLocation)
            return
        }
        let error = want == 0 ? abs(got) : abs(got - want) / abs(want)
        note(error, "\(name)(\(input)): got \(got), want \(want), relative error \(error)")
        #expect(abs(got - want) <= tolerance * abs(want),
                "\(name)(\(input)): got \(got), want \(want), relative error \(error) > \(tolerance)",
                sourceLocation: sourceLocation)
    }

    /// Expects `|got - want| ≤ tolerance`.
    mutating func absolute(
        _ got: Double, _ want: Double, tolerance: Double, at input: String,
        sourceLocation: SourceLocation = #_sourceLocation
    ) {
        comparisons += 1
        let error = abs(got - want)
        note(error, "\(name)(\(input)): got \(got), want \(want), absolute error \(error)")
        #expect(error <= tolerance,
                "\(name)(\(input)): got \(got), want \(want), absolute error \(error) > \(tolerance)",
                sourceLocation: sourceLocation)
    }

    private mutating func note(_ error: Double, _ description: String) {
        if error > worstError || comparisons == 1 {
            worstError = max(error, worstError)
            worstCase = description
        }
    }

    /// Prints the worst case when `COLLAPSE_PRINT_ACCURACY` is set.
    func report() {
        if StatisticsTestSupport.printsAccuracy {
            print("[accuracy] \(name): \(comparisons) points, worst: \(worstCase)")
        }
    }
}

/// Splits a flat fixture array into rows of `width` values.
func fixtureRows(_ flat: [Double], width: Int) -> [[Double]] {
    precondition(flat.count % width == 0, "fixture of \(flat.count) values is not a multiple of \(width)")
    return stride(from: 0, to: flat.count, by: width).map { Array(flat[$0 ..< $0 + width]) }
}

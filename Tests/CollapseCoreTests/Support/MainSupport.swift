import Foundation
@testable import CollapseCore

/// The seed of every statistical test: `COLLAPSE_TEST_SEED` from the environment, else a fixed
/// default. Tests must pass for any seed; CI may widen the set by looping over seeds.
let testSeed: UInt64 = {
    if let text = ProcessInfo.processInfo.environment["COLLAPSE_TEST_SEED"], let value = UInt64(text) { return value }
    return 20_261_129
}()

/// A deliberately bad stream that returns the same 64 bits forever (all zeros, all ones...).
struct ConstantStream: RandomStream {
    var value: UInt64
    mutating func nextUInt64() -> UInt64 { value }
}

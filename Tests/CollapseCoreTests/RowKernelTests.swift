import CKernels
@testable import CollapseCore
import Testing

/// The row passes of CKernels/rows.c (column sums, centring with residue, scale-and-add of a row
/// vector): on every instruction-set path this CPU has, bit for bit the scalar loops they
/// replace (rows in order, no fused multiply-adds), on shapes that leave vector remainders and
/// on data whose sums depend on the order of addition.
@Suite struct RowKernelTests {
    static let shapes = [(0, 3), (1, 1), (7, 1), (5, 3), (9, 8), (33, 17), (100, 64), (3, 100), (640, 64)]

    /// Values spanning 2^-60 ... 2^60 of both signs (so reordered sums round differently), with
    /// zeros of both signs.
    static func data(_ count: Int, path: UInt32) -> [Double] {
        var rng = Philox4x32(seed: testSeed, path: [0x20, path])
        return (0..<count).map { i in
            if i % 29 == 0 { return i % 2 == 0 ? 0.0 : -0.0 }
            let sign: Double = rng.nextDouble() < 0.5 ? -1 : 1
            return sign * (1 + rng.nextDouble()) * Double(sign: .plus, exponent: Int(rng.nextDouble() * 120) - 60, significand: 1)
        }
    }

    static var paths: [Int32] { Array(0...collapse_vector_path()) }

    static func bits(_ x: [Double]) -> [UInt64] { x.map(\.bitPattern) }

    @Test func columnSumsAreTheRowOrderLoopOnEveryPath() {
        for (n, d) in Self.shapes {
            let x = Self.data(n * d, path: 1), start = Self.data(d, path: 2)
            var expected = start
            for i in 0..<n { for j in 0..<d { expected[j] += x[i * d + j] } }
            for path in Self.paths {
                var sums = start
                #expect(collapse_column_sums_path(path, x, n, d, &sums) == path)
                #expect(Self.bits(sums) == Self.bits(expected), "n \(n) d \(d) path \(path)")
            }
        }
    }

    @Test func centringIsTheRowOrderLoopOnEveryPath() {
        for (n, d) in Self.shapes {
            let x = Self.data(n * d, path: 3), mean = Self.data(d, path: 4), start = Self.data(d, path: 5)
            var expectedOut = [Double](repeating: 0, count: n * d), expectedResidue = start
            for i in 0..<n {
                for j in 0..<d {
                    let v = x[i * d + j] - mean[j]
                    expectedOut[i * d + j] = v
                    expectedResidue[j] += v
                }
            }
            for path in Self.paths {
                var out = [Double](repeating: .nan, count: n * d), residue = start
                #expect(collapse_centre_rows_path(path, x, n, d, mean, &out, &residue) == path)
                #expect(Self.bits(out) == Self.bits(expectedOut), "n \(n) d \(d) path \(path)")
                #expect(Self.bits(residue) == Self.bits(expectedResidue), "n \(n) d \(d) path \(path)")
            }
        }
    }

    @Test(arguments: [1.0, 0.75, -3.0])
    func scaleAndAddIsTheElementwiseFormulaOnEveryPath(scale: Double) {
        for (n, d) in Self.shapes {
            let x = Self.data(n * d, path: 6), offset = Self.data(d, path: 7)
            var expected = x
            for i in 0..<n { for j in 0..<d { expected[i * d + j] = offset[j] + scale * x[i * d + j] } }
            for path in Self.paths {
                var y = x
                #expect(collapse_scale_add_rows_path(path, &y, n, d, offset, scale) == path)
                #expect(Self.bits(y) == Self.bits(expected), "n \(n) d \(d) path \(path)")
            }
            if scale == 1 { // the Swift loop this replaced added x + offset: the same bits
                #expect(Self.bits(expected) == Self.bits(x.indices.map { x[$0] + offset[$0 % d] }))
            }
            // The Swift entry point: the same bits.
            var viaMatrix = x
            viaMatrix.withUnsafeMutableBufferPointer { Matrix.addRowVector(offset, scalingRowsBy: scale, to: $0) }
            #expect(Self.bits(viaMatrix) == Self.bits(expected))
        }
    }

    @Test func aPathThisCPULacksWritesNothing() {
        guard collapse_vector_path() < 2 else { return }
        var sums = [1.0]
        #expect(collapse_column_sums_path(2, [2.0], 1, 1, &sums) == -1)
        #expect(sums == [1.0])
    }
}

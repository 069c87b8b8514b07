@testable import CollapseCore
import Foundation
import Testing
#if canImport(Glibc)
import Glibc
#endif

/// `VectorMath.exp` / `log`: below 1 ulp against an 80-bit reference (glibc's `expl` / `logl`,
/// 64-bit significands: their own error, ~2^-64 relative, is far below a double's ulp), the
/// documented special values, and the same bits on every instruction-set path this CPU has.
@Suite struct VectorMathTests {
    /// |got - reference| in units of the double nearest the reference's ulp (the subnormal ulp
    /// below 2^-1022).
    static func ulpError(_ got: Double, _ reference: Float80) -> Double {
        let nearest = Double(reference)
        if nearest.isInfinite || nearest == 0 { return got == nearest ? 0 : .infinity }
        let ulp = abs(nearest) < Double.leastNormalMagnitude ? Double.leastNonzeroMagnitude : nearest.ulp
        return Double(abs(Float80(got) - reference) / Float80(ulp)) // in Float80: a subnormal difference would round
    }

    /// Arguments drawn to cover every binade the functions see in use and their edges.
    static func arguments(_ function: VectorMath.Function, count: Int) -> [Double] {
        var rng = Philox4x32(seed: testSeed, path: [0x7E, function == .exp ? 1 : 2])
        return (0..<count).map { i in
            let u = rng.nextDouble()
            switch (function, i % 5) {
            case (.exp, 0), (.exp, 3): return -750 + 760 * u // the whole range, subnormal results and overflow
            case (.exp, 1), (.exp, 4): return -40 + 40 * u   // where mixtures and kernel sums live
            case (.exp, _): return (u - 0.5) * 1e-3          // around 0
            case (.log, 0): return exp2(-1074 + 2098 * u)    // every binade, subnormals too
            case (.log, 1): return 1 + 7 * u                 // 1 + sum of the other terms of a logsumexp
            case (.log, 2): return 1 + (u - 0.5) * 1e-6      // around 1
            // Just below sqrt(1/2) and sqrt(2): e ln 2 and log(1 + f) cancel, the largest errors.
            case (.log, 3): return 0.7060 + 0.0012 * u
            case (.log, _): return 1.4135 + 0.0012 * u
            }
        }
    }

    @Test(arguments: [VectorMath.Function.exp, .log])
    func errorIsBelowOneUlpAgainstAnEightyBitReference(_ function: VectorMath.Function) {
        let x = Self.arguments(function, count: 300_000)
        let y = function == .exp ? VectorMath.exp(x) : VectorMath.log(x)
        var worst = 0.0, at = 0.0
        for (xi, yi) in zip(x, y) {
            let reference = function == .exp ? expl(Float80(xi)) : logl(Float80(xi))
            let error = Self.ulpError(yi, reference)
            if error > worst { (worst, at) = (error, xi) }
        }
        #expect(worst < 1, "\(function): \(worst) ulp at \(at)")
    }

    @Test func specialValues() {
        let inf = Double.infinity
        let exps: [(Double, Double)] = [(0, 1), (-0.0, 1), (-inf, 0), (inf, inf), (-746, 0), (-745.2, 0), (710, inf),
                                        (709.7827128933841, inf), (-1e-300, 1)]
        for (x, want) in exps { #expect(VectorMath.exp([x]) == [want], "exp(\(x))") }
        let big = VectorMath.exp([709.782712893384])[0]
        #expect(big.isFinite && big > 1.79e308)
        let tiny = VectorMath.exp([-745.1332191019411])[0]
        #expect(tiny == Double.leastNonzeroMagnitude)
        #expect(VectorMath.exp([.nan])[0].isNaN)
        let logs: [(Double, Double)] = [(1, 0), (0, -inf), (-0.0, -inf), (inf, inf), (2, M_LN2),
                                        (Double.leastNonzeroMagnitude, -744.4400719213812)]
        for (x, want) in logs { #expect(VectorMath.log([x]) == [want], "log(\(x))") }
        for x in [-1.0, -inf, -Double.leastNonzeroMagnitude, .nan] { #expect(VectorMath.log([x])[0].isNaN, "log(\(x))") }
        // In place, and empty buffers.
        var values = [0.0, 1.0]
        values.withUnsafeMutableBufferPointer { VectorMath.exp(inPlace: $0) }
        #expect(values[0] == 1 && abs(values[1] - M_E) <= M_E.ulp) // e rounds 0.33 ulp from M_E: within 1 ulp
        #expect(VectorMath.exp([]) == [] && VectorMath.log([]) == [])
    }

    /// The kernels on every path the CPU has (generic, AVX2, AVX-512) give the same bits: the
    /// paths differ in vector width only, with no fused multiply-adds anywhere.
    @Test(arguments: [VectorMath.Function.exp, .log])
    func everyInstructionSetGivesTheSameBits(_ function: VectorMath.Function) {
        let x = Self.arguments(function, count: 20_003) + [0, -0.0, .infinity, -.infinity, .nan, -1, 0x1p-1030]
        var generic = [Double](repeating: 0, count: x.count)
        let ran = x.withUnsafeBufferPointer { px in
            generic.withUnsafeMutableBufferPointer { VectorMath.apply(function, path: 0, px, into: $0) }
        }
        #expect(ran)
        var paths = 1
        for path in 1...2 {
            var y = [Double](repeating: 0, count: x.count)
            let supported = x.withUnsafeBufferPointer { px in
                y.withUnsafeMutableBufferPointer { VectorMath.apply(function, path: path, px, into: $0) }
            }
            guard supported else { continue }
            paths += 1
            #expect(y.map(\.bitPattern) == generic.map(\.bitPattern), "path \(path)")
        }
        let expected = ["generic": 1, "avx2": 2, "avx512": 3][VectorMath.kernelPath]
        #expect(paths == expected)
    }

    /// `logSumExpRows` against the scalar definition built from `VectorMath.exp` / `log`, bit for
    /// bit: a tie, -inf terms, all--inf rows (mass on the fallback), a NaN
    /// term, K = 1, rows beyond one 256-row chunk, a stride wider than the rows; on every path.
    @Test func logSumExpRowsIsTheScalarDefinitionOnEveryPath() {
        var rng = Philox4x32(seed: testSeed, path: [0x7F])
        for (kCount, count) in [(4, 700), (1, 9), (7, 300)] {
            let stride = count + 3
            var terms = [Double](repeating: .nan, count: kCount * stride)
            for k in 0..<kCount {
                for t in 0..<count { terms[k * stride + t] = -40 * rng.nextDouble() - Double(k) }
            }
            if kCount > 1 {
                for k in 0..<kCount { terms[k * stride + 1] = -.infinity }        // row 1: no mass anywhere
                terms[0 * stride + 2] = -3; terms[1 * stride + 2] = -3             // row 2: a tie
                terms[1 * stride + 3] = -.infinity                                 // row 3: one zero term
                terms[1 * stride + 4] = .nan                                       // row 4: a NaN term
            }
            let fallback = kCount - 1
            // The definition, one row at a time.
            var wantLse = [Double](repeating: 0, count: count), want = [Double](repeating: 0, count: count * kCount)
            for t in 0..<count {
                var top = -Double.infinity, arg = -1
                for k in 0..<kCount where terms[k * stride + t] > top { (top, arg) = (terms[k * stride + t], k) }
                guard arg >= 0 else {
                    wantLse[t] = -.infinity
                    want[t * kCount + fallback] = 1
                    continue
                }
                let e = VectorMath.exp((0..<kCount).map { terms[$0 * stride + t] - top })
                var rest = 0.0
                for k in 0..<kCount where k != arg { rest += e[k] }
                wantLse[t] = top + VectorMath.log([1 + rest])[0]
                for k in 0..<kCount { want[t * kCount + k] = k == arg ? 1 / (1 + rest) : e[k] * (1 / (1 + rest)) }
            }
            var paths = 0
            for path in 0...2 {
                var lse = [Double](repeating: 7, count: count), resp = [Double](repeating: 7, count: count * kCount)
                var lseOnly = [Double](repeating: 7, count: count)
                let ran = terms.withUnsafeBufferPointer { pt in
                    lse.withUnsafeMutableBufferPointer { pl in
                        resp.withUnsafeMutableBufferPointer { pr in
                            VectorMath.logSumExpRows(componentMajor: pt.baseAddress!, components: kCount, stride: stride, count: count,
                                                     into: pl.baseAddress!, responsibilities: pr.baseAddress!, fallback: fallback,
                                                     path: path)
                        }
                    }
                }
                guard ran else { continue }
                paths += 1
                terms.withUnsafeBufferPointer { pt in
                    lseOnly.withUnsafeMutableBufferPointer { pl in
                        _ = VectorMath.logSumExpRows(componentMajor: pt.baseAddress!, components: kCount, stride: stride,
                                                     count: count, into: pl.baseAddress!, responsibilities: nil,
                                                     fallback: fallback, path: path)
                    }
                }
                #expect(lse.map(\.bitPattern) == wantLse.map(\.bitPattern), "K \(kCount), path \(path)")
                #expect(lseOnly.map(\.bitPattern) == wantLse.map(\.bitPattern), "K \(kCount), path \(path)")
                #expect(resp.map(\.bitPattern) == want.map(\.bitPattern), "K \(kCount), path \(path)")
            }
            #expect(paths >= 1)
            if kCount > 1 {
                #expect(wantLse[1] == -.infinity && wantLse[4].isNaN && wantLse[3].isFinite)
                #expect(want[2 * kCount + 0] == want[2 * kCount + 1]) // a tie: equal responsibilities
            }
        }
    }

    /// `gaussianLogTerms` equals its definition computed here one row at a time (same order, no
    /// fused multiply-adds), bit for bit, for d = 1 ... 8, on every path; rows past one 256-row
    /// chunk, an offset row range, a stride; an overflowing row gives -inf (q NaN counts as +inf).
    @Test func gaussianLogTermsIsItsDefinitionOnEveryPath() {
        var rng = Philox4x32(seed: testSeed, path: [0x80])
        for d in 1...VectorMath.smallGaussianDimension {
            let n = 700, rows = 3..<(3 + 600), outStride = 3
            var columns = (0..<(d * n)).map { _ in 10 * rng.nextDouble() - 5 }
            columns[0 * n + 10] = 1e300 // row 10: its whitened coordinates overflow (q = +inf)
            if d >= 2 { // row 11: y_1 = 2 (+1.7e308) + 2 (-1.7e308) = inf - inf, q NaN, counted as +inf
                columns[0 * n + 11] = 1.7e308
                columns[1 * n + 11] = -1.7e308
            }
            let mean = (0..<d).map { _ in rng.nextDouble() - 0.5 }
            var whitener = [Double](repeating: 0, count: d * d)
            for l in 0..<d { for j in l..<d { whitener[l * d + j] = l == j ? 1 + rng.nextDouble() : rng.nextDouble() - 0.5 } }
            whitener[0] = d == 1 ? 1e10 : whitener[0]
            if d >= 2 { (whitener[1], whitener[d + 1]) = (2, 2) }
            let offset = -1.25
            var want = [Double](repeating: .nan, count: rows.count * outStride)
            for (t, i) in rows.enumerated() {
                var q = 0.0
                for j in 0..<d {
                    var y = whitener[j] * (columns[i] - mean[0])
                    for l in stride(from: 1, through: j, by: 1) { y = y + whitener[l * d + j] * (columns[l * n + i] - mean[l]) }
                    q = q + y * y
                }
                want[t * outStride] = offset - 0.5 * (q.isNaN ? .infinity : q)
            }
            #expect(want[(10 - rows.lowerBound) * outStride] == -.infinity) // the overflowing rows
            if d >= 2 { #expect(want[(11 - rows.lowerBound) * outStride] == -.infinity) }
            var paths = 0
            for path in 0...2 {
                var out = [Double](repeating: .nan, count: rows.count * outStride)
                let ran = columns.withUnsafeBufferPointer { pc in
                    mean.withUnsafeBufferPointer { pm in
                        whitener.withUnsafeBufferPointer { pw in
                            out.withUnsafeMutableBufferPointer { po in
                                VectorMath.gaussianLogTerms(columns: pc.baseAddress!, rowCount: n, dimension: d, rows: rows,
                                                            mean: pm.baseAddress!, whitener: pw.baseAddress!, offset: offset,
                                                            into: po.baseAddress!, stride: outStride, path: path)
                            }
                        }
                    }
                }
                guard ran else { continue }
                paths += 1
                #expect(out.map(\.bitPattern) == want.map(\.bitPattern), "d \(d), path \(path)")
            }
            #expect(paths >= 1)
        }
    }
}

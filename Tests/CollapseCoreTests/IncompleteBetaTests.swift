import CollapseCore
import Foundation
import Testing

/// Accuracy of the regularized incomplete beta function, the Student-t CDF and quantile, and the
/// chi-square quantile against mpmath (50 digits) values in
/// `Fixtures/IncompleteBetaReferenceValues.swift` (`Scripts/fixtures/incomplete_beta.py`). The
/// tolerances are the bounds in the doc comments.
@Suite struct IncompleteBetaTests {
    typealias Reference = IncompleteBetaReferenceValues

    @Test func incompleteBetaMatchesMpmathRelative5e12DirectAndAbsolute1e12ByReflection() {
        var relative = AccuracyCheck("I_x(a, b) (relative, continued fraction side)")
        var absolute = AccuracyCheck("I_x(a, b) (absolute, reflected side)")
        for row in fixtureRows(Reference.incompleteBeta, width: 4) {
            let (a, b, x, want) = (row[0], row[1], row[2], row[3])
            let got = SpecialFunctions.regularizedIncompleteBeta(a, b, x)
            if x < (a + 1) / (a + b + 2) {
                relative.relative(got, want, tolerance: 5e-12, at: "a=\(a) b=\(b) x=\(x)")
            } else {
                absolute.absolute(got, want, tolerance: 1e-12, at: "a=\(a) b=\(b) x=\(x)")
            }
        }
        relative.report()
        absolute.report()
    }

    @Test func incompleteBetaEdgesAndSymmetry() {
        #expect(SpecialFunctions.regularizedIncompleteBeta(2, 3, 0) == 0)
        #expect(SpecialFunctions.regularizedIncompleteBeta(2, 3, 1) == 1)
        #expect(SpecialFunctions.regularizedIncompleteBeta(.nan, 3, 0.5).isNaN)
        // I_x(1, 1) = x, I_x(a, 1) = x^a, I_x(1, b) = 1 - (1 - x)^b (exact closed forms).
        for x in [0.001, 0.1, 0.37, 0.5, 0.9] {
            #expect(abs(SpecialFunctions.regularizedIncompleteBeta(1, 1, x) - x) <= 4e-16)
            #expect(abs(SpecialFunctions.regularizedIncompleteBeta(2.5, 1, x) - pow(x, 2.5)) <= 1e-15)
            #expect(abs(SpecialFunctions.regularizedIncompleteBeta(1, 3, x) - (1 - pow(1 - x, 3))) <= 1e-15)
            // I_x(a, b) + I_{1-x}(b, a) = 1.
            let s = SpecialFunctions.regularizedIncompleteBeta(3.3, 0.7, x) + SpecialFunctions.regularizedIncompleteBeta(0.7, 3.3, 1 - x)
            #expect(abs(s - 1) <= 1e-14)
        }
    }

    @Test func studentCDFMatchesMpmathRelative1e11InTheSmallerTail() {
        var check = AccuracyCheck("Student-t CDF")
        for row in fixtureRows(Reference.studentCDF, width: 3) {
            let (df, t, want) = (row[0], row[1], row[2])
            let got = StudentT(degreesOfFreedom: df).cdf(t)
            // The lower tail (t < 0) to 1e-11 relative; F to 5e-13 absolute everywhere. (The upper
            // tail 1 - F is cdf(-t) by symmetry, as accurate as the lower one.)
            if t < 0 {
                check.relative(got, want, tolerance: 1e-11, at: "df=\(df) t=\(t)")
            } else {
                check.absolute(got, want, tolerance: 5e-13, at: "df=\(df) t=\(t)")
            }
        }
        check.report()
        #expect(StudentT(degreesOfFreedom: 4, location: 1, scale: 2).cdf(1) == 0.5)
        // Location-scale: F_{mu,s}(x) = F((x - mu)/s).
        #expect(abs(StudentT(degreesOfFreedom: 4, location: 1, scale: 2).cdf(5) - StudentT(degreesOfFreedom: 4).cdf(2)) <= 1e-16)
    }

    @Test func studentQuantileInvertsTheCDFToTheMpmathRoot() {
        for row in fixtureRows(Reference.studentQuantile, width: 3) {
            let (df, p, want) = (row[0], row[1], row[2])
            let got = StudentT(degreesOfFreedom: df).quantile(p)
            // Root of a CDF accurate to 1e-12 relative: |dx| <= 1e-12 p / density(x) ~ 1e-12 |x| here; 1e-10 relative is safe.
            #expect(abs(got - want) <= 1e-10 * abs(want), "df=\(df) p=\(p): \(got) vs \(want)")
        }
    }

    @Test func chiSquareQuantileMatchesMpmath() {
        for row in fixtureRows(Reference.chiSquareQuantile, width: 3) {
            let (d, p, want) = (row[0], row[1], row[2])
            let got = ChiSquared(degreesOfFreedom: d).quantile(p)
            #expect(abs(got - want) <= 1e-11 * want, "d=\(d) p=\(p): \(got) vs \(want)")
        }
    }

    @Test func studentLogDensityIntegratesAndMatchesTheClosedFormAtTheCentre() {
        // Cauchy (df = 1): density 1/(pi s) at the location.
        let cauchy = StudentT(degreesOfFreedom: 1, location: 2, scale: 3)
        #expect(abs(cauchy.logDensity(2) - (-log(3 * Double.pi))) <= 1e-15)
        // df = 5: the density's midpoint-rule integral over [-200, 200] is 1 minus the tail
        // 2 (1 - F(200)); step 1e-3 gives quadrature error < 1e-9.
        let t = StudentT(degreesOfFreedom: 5)
        var sum = 0.0
        let h = 1e-3
        var x = -200 + h / 2
        while x < 200 { sum += exp(t.logDensity(x)) * h; x += h }
        #expect(abs(sum - (1 - 2 * (1 - t.cdf(200)))) < 1e-8)
    }
}

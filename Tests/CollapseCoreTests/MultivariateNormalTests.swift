import Foundation
import Testing
@testable import CollapseCore

@Suite struct MultivariateNormalTests {
    static let sigma = Matrix([[2, 0.8, -0.4], [0.8, 1, 0.3], [-0.4, 0.3, 0.7]])
    static let mu = [1.0, -2, 0.5]

    /// Each coordinate is N(mu_j, Sigma_jj) (normal: fourth central moment 3 sigma⁴), and each
    /// pairwise product of centred coordinates has mean Sigma_ab with variance
    /// Sigma_aa Sigma_bb + Sigma_ab² (Isserlis), so the sample cross-moment's SE is
    /// sqrt((Sigma_aa Sigma_bb + Sigma_ab²)/n) (the mean's own estimation error is O(1/n)).
    @Test func samplesHaveTheRequestedMeanAndCovariance() throws {
        let dist = try MultivariateNormal(mean: Self.mu, covariance: Self.sigma)
        var rng = Philox4x32(seed: testSeed, path: [0x4D56, 1])
        let n = 40_000
        let x = dist.sample(count: n, using: &rng)
        for j in 0..<3 {
            expectMoments(x.column(j), mean: Self.mu[j], variance: Self.sigma[j, j],
                          fourthCentralMoment: 3 * Self.sigma[j, j] * Self.sigma[j, j], "coordinate \(j)")
        }
        for a in 0..<3 {
            for b in (a + 1)..<3 {
                var s = 0.0
                for i in 0..<n { s += (x[i, a] - Self.mu[a]) * (x[i, b] - Self.mu[b]) }
                let se = ((Self.sigma[a, a] * Self.sigma[b, b] + Self.sigma[a, b] * Self.sigma[a, b]) / Double(n)).squareRoot()
                #expect(abs(s / Double(n) - Self.sigma[a, b]) < 5 * se, "cross moment (\(a), \(b)): \(s / Double(n)) vs \(Self.sigma[a, b])")
            }
        }
    }

    /// The squared Mahalanobis radius of an N(mu, Sigma) row is chi-square with d degrees of
    /// freedom: a KS test of the radii against chiSquareCDF checks the whole joint law's shape
    /// (colouring, not just moments). p > 1e-4.
    @Test func mahalanobisRadiiAreChiSquare() throws {
        let dist = try MultivariateNormal(mean: Self.mu, covariance: Self.sigma)
        var rng = Philox4x32(seed: testSeed, path: [0x4D56, 2])
        var x = dist.sample(count: 5000, using: &rng)
        for i in 0..<x.rows { for j in 0..<3 { x[i, j] -= Self.mu[j] } }
        dist.factor.whitenRows(&x)
        let radii = (0..<x.rows).map { i in (0..<3).reduce(0.0) { $0 + x[i, $1] * x[i, $1] } }
        let test = kolmogorovSmirnovTest(radii) { SpecialFunctions.chiSquareCDF($0, degreesOfFreedom: 3) }
        #expect(test.pValue > 1e-4, "KS statistic \(test.statistic), p = \(test.pValue)")
    }

    @Test func logDensityMatchesClosedFormAndIsFiniteFarAway() throws {
        let dist = try MultivariateNormal(mean: [0, 0], covariance: Matrix([[1, 0.5], [0.5, 1]]))
        // det = 0.75; quadratic form of (1, 1) under the inverse [[4/3, -2/3], [-2/3, 4/3]] is 4/3.
        let want = -Foundation.log(2 * Double.pi) - 0.5 * Foundation.log(0.75) - 0.5 * 4.0 / 3.0
        #expect(abs(dist.logDensities(Matrix([[1, 1]]))[0] - want) < 1e-14)
        let far = dist.logDensities(Matrix([[1e6, -1e6]]))[0]
        #expect(far.isFinite && far < -1e12)
    }

    @Test func prefixOfALargerSampleEqualsASmallerSample() throws {
        let dist = try MultivariateNormal(mean: Self.mu, covariance: Self.sigma)
        var a = Philox4x32(seed: testSeed, path: [0x4D56, 3])
        var b = a
        let big = dist.sample(count: 10, using: &a)
        let small = dist.sample(count: 4, using: &b)
        #expect(Array(big.storage[0..<12]) == small.storage)
        #expect(dist.sample(count: 0, using: &a).rows == 0)
    }
}

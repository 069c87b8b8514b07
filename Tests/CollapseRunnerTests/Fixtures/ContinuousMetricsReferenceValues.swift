// GENERATED FILE - do not edit by hand.
// Generator: Scripts/fixtures/continuous_metrics.py (run from the package root with `python3`).
// numpy 2.4.6, scipy 1.17.1, mpmath 1.3.0. The inputs are written in
// the script and repeated in ContinuousMetricsTests.swift.

enum ContinuousMetricsReferenceValues {
    /// W2 between N((1, -0.5), [[2, 0.3], [0.3, 0.5]]) and N((0, 0.5), [[1, -0.2], [-0.2, 1.5]]).
    static let w2Gaussians2D: Double = 0x1.9959f70f450dbp+0 // 1.5990290081290854
    /// Unbiased squared MMD of MMD_X vs MMD_Y (median-heuristic RBF).
    static let mmdTinySample: Double = -0x1.393acb2418448p-3 // -0.1529441709890611
    /// scipy.stats.kurtosis of KURTOSIS_SAMPLE.
    static let kurtosisSample: Double = -0x1.e24e5758cc5cp-4 // -0.11775049323912068
    /// Mass of N(TAIL_MODEL_MU, TAIL_MODEL_S) outside the real 98 % ellipsoid (Imhof).
    static let tailMass3D: Double = 0x1.53192856a8c36p-5 // 0.04139383200278994
    /// scipy.stats.chi2.ppf(0.98, 3).
    static let chiSquare3At98: Double = 0x1.3acc0e9c9e04bp+3 // 9.837409311192593
    /// KL(N(0, 1) || N(0.5, 1.5²)) by quadrature.
    static let klNormalNormal: Double = 0x1.77480bd0d697bp-3 // 0.18324288588594215
    /// KL(t_5 || N(0.2, 1.3²)) by quadrature.
    static let klStudentNormal: Double = 0x1.e12006c740fb1p-5 // 0.058731091727195824
    /// Mass of the 1-D kde (rows KDE_ROWS, bandwidth 0.7) outside N(0.3, 1.2²)'s 1 %/99 % quantiles.
    static let kdeTailMass1D: Double = 0x1.8d3ad8a6af2ebp-4 // 0.09697994832363192
}

// GENERATED FILE - do not edit by hand.
// Generator: Scripts/fixtures/categorical.py (run from the package root with `python3`).
// numpy 2.4.6, scipy 1.17.1.
// Values are hexadecimal float literals (exact), with the decimals in the trailing comments.

enum CategoricalReferenceValues {
    static let counts = [50, 20, 0, 13, 7, 7, 2, 1]
    static let heldOut = [40, 25, 3, 10, 9, 8, 4, 1]
    static let smoothing: Double = 0x1p-1 // 0.5
    /// The smoothed fit (c + alpha) / (M + V alpha).
    static let smoothedProbabilities: [Double] =
        [0x1.f13b13b13b13bp-2, 0x1.93b13b13b13b1p-3, 0x1.3b13b13b13b14p-8, 0x1.09d89d89d89d9p-3, 0x1.2762762762762p-4, 0x1.2762762762762p-4, 0x1.89d89d89d89d9p-6, 0x1.d89d89d89d89ep-7] // 0.4855769230769231, 0.1971153846153846, 0.004807692307692308, 0.12980769230769232, 0.07211538461538461, 0.07211538461538461, 0.02403846153846154, 0.014423076923076924
    /// scipy.stats.entropy of the unsmoothed (MLE) fit and of the smoothed fit, nats.
    static let entropyMLE: Double = 0x1.6e26ba74ad4ep+0 // 1.4302784476142776
    static let entropySmoothed: Double = 0x1.7dd94c3b2a6bdp+0 // 1.4915969509551552
    /// Mean log-probability of the held-out counts under the smoothed fit.
    static let heldOutMeanLogProbability: Double = -0x1.b2a1c67e17a21p+0 // -1.6977809961168833
    /// (temperature, softmax(log p_MLE / temperature)) for the unsmoothed fit.
    static let tempered: [(temperature: Double, probabilities: [Double])] = [
        (0x1p-1, // 0.5
         [0x1.9387e8c1b1e04p-1, 0x1.0242807bf6f5fp-3, 0x0p+0, 0x1.b47582192e29ep-5, 0x1.fa306c78173e7p-7, 0x1.fa306c78173e7p-7, 0x1.4a928ffad5b5cp-10, 0x1.4a928ffad5b61p-12]), // 0.7881462799495584, 0.12610340479192936, 0.0, 0.053278688524590154, 0.015447667087011353, 0.015447667087011353, 0.0012610340479192938, 0.0003152585119798237
        (0x1.999999999999ap-1, // 0.8
         [0x1.2d18bcc76f6c3p-1, 0x1.7f2016356c7b2p-3, 0x0p+0, 0x1.bf360a2e43b25p-4, 0x1.9c8f11b979c6ap-5, 0x1.9c8f11b979c6ap-5, 0x1.58b72d72ecb18p-7, 0x1.21debc3909943p-8]), // 0.5880793565226771, 0.187072919373859, 0.0, 0.10918239571422513, 0.05036118947810382, 0.05036118947810382, 0.010519883338792321, 0.004423066094238873
        (0x1p+1, // 2.0
         [0x1.3cd2247bfe341p-2, 0x1.90c00e99c0454p-3, 0x0p+0, 0x1.43185c55154c3p-3, 0x1.da2c8f145e959p-4, 0x1.da2c8f145e959p-4, 0x1.fae9d3f996b9cp-5, 0x1.66712019a708bp-5]), // 0.3093953800849257, 0.19567881972037304, 0.0, 0.15776130804684926, 0.11576515093284935, 0.11576515093284935, 0.06187907601698514, 0.04375511426516806
        (0x1.999999999999ap-5, // 0.05
         [0x1.ffffffa18919fp-1, 0x1.79ca1083704d8p-27, 0x0p+0, 0x1.1876b8ecac3edp-39, 0x1.34ae6ea1742f5p-57, 0x1.34ae6ea1742f5p-57, 0x1.16c26244070e4p-93, 0x1.16c26244070fep-113]), // 0.9999999890028909, 1.0995116156845499e-08, 0.0, 1.9928148676057423e-12, 8.366825450517613e-18, 8.366825450517613e-18, 1.0995116156845529e-28, 1.048575988468703e-34
    ]
    /// (k, temperature, distribution) for the unsmoothed fit: top-k (ties to the lower index), then tempered.
    static let topK: [(k: Int, temperature: Double, probabilities: [Double])] = [
        (3, 0x1p+0, // 1.0
         [0x1.346f0940c565dp-1, 0x1.ed7e75346f095p-3, 0x0p+0, 0x1.40c565c87b5fap-3, 0x0p+0, 0x0p+0, 0x0p+0, 0x0p+0]), // 0.6024096385542169, 0.24096385542168677, 0.0, 0.1566265060240964, 0.0, 0.0, 0.0, 0.0
        (4, 0x1p-1, // 0.5
         [0x1.9a8502227bcffp-1, 0x1.06bb867c78333p-3, 0x0p+0, 0x1.bc04990aac6bp-5, 0x1.017a55b76b8e7p-6, 0x0p+0, 0x0p+0, 0x0p+0]), // 0.8017960230917253, 0.12828736369467605, 0.0, 0.054201411161000634, 0.015715202052597823, 0.0, 0.0, 0.0
        (2, 0x1p+1, // 2.0
         [0x1.39a3506dcdb91p-1, 0x1.8cb95f24648dcp-2, 0x0p+0, 0x0p+0, 0x0p+0, 0x0p+0, 0x0p+0, 0x0p+0]), // 0.6125741132772068, 0.3874258867227931, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0
    ]
}

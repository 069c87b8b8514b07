import CollapseCore

/// The runner's stream purposes (registry: docs/RANDOM_STREAMS.md). A stream is keyed by
/// (seed, variant, replicate, generation, purpose); codes never change once published.
extension StreamPurpose {
    /// Generation 0's real training set (a draw from a known distribution, or a dataset's split).
    public static let realData = StreamPurpose(rawValue: 1)
    /// The real holdout of a known distribution.
    public static let holdout = StreamPurpose(rawValue: 2)
    /// Samples drawn from the model fitted at a generation.
    public static let modelSample = StreamPurpose(rawValue: 3)
    /// Randomness inside fitting (k-means++ seeding, restarts).
    public static let fit = StreamPurpose(rawValue: 4)
    /// Subsampling by a regime (mix's real rows, accumulate-subsample's pool draw).
    public static let regime = StreamPurpose(rawValue: 5)
    /// Fresh real rows for the `fresh` regime.
    public static let freshReal = StreamPurpose(rawValue: 6)
}

import CollapseCore
import Foundation

extension GaussianMixtureModel {
    /// Runs EM on the n × d rows of `data` from the given initial parameters (no randomness): the
    /// driver behind `fit(_:using:)`, exposed so that a fit can be reproduced from a known start
    /// (scikit-learn's `weights_init` / `means_init` / `precisions_init`).
    ///
    /// ## Iteration (scikit-learn's `GaussianMixture`, `covariance_type='full'`)
    /// With ℓ(θ) = (1/n) sum_i log p(x_i | θ), for t = 1, 2, ..., `maxIterations`:
    /// - **E-step** at θ_{t-1}: `log ρ_ik = log w_k - (d log 2π + log det Sigma_k + |L_k⁻¹(x_i - mu_k)|²)/2`
    ///   (blocks of rows centred and whitened with `L_k⁻¹`: one fused vectorised pass for d <= 8,
    ///   `VectorMath.gaussianLogTerms`; a centred copy and a BLAS dgemm above), then per row
    ///   `log p(x_i) = logsumexp_k log ρ_ik` and `r_ik = exp(log ρ_ik - log p(x_i))`
    ///   (`VectorMath.logSumExpRows`, across many rows at once); this gives ℓ(θ_{t-1}).
    /// - **M-step** to θ_t: `N_k = sum_i r_ik`, `w_k = N_k / sum_j N_j`, `mu_k = (Rᵀ X)_k / N_k`
    ///   (BLAS dgemm), `Sigma_k = (1/N_k) sum_i r_ik (x_i - mu_k)(x_i - mu_k)ᵀ + regularization · I`
    ///   (per block of rows, one BLAS dgemm of the d × B centred block, columns scaled by r_ik,
    ///   with the unscaled block, accumulated per group of blocks, the groups' sums then added in
    ///   group order; the lower triangle is mirrored, so Sigma_k is exactly symmetric).
    /// - **Stop** after the M-step when `|ℓ(θ_{t-1}) - ℓ(θ_{t-2})| < tolerance` (ℓ(θ_{-1}) = -inf):
    ///   `converged = true`, `iterations = t`. This is scikit-learn's rule, so iteration counts agree.
    /// A last E-step gives `lowerBound = ℓ(θ_T)` of the returned parameters.
    ///
    /// ## Cores
    /// The rows are cut into blocks of B consecutive rows and the blocks into at most 8 contiguous
    /// groups (`GaussianMixtureKernel.Workspace`), by n and d alone. For large fits (n K (d² + 16)
    /// >= 1e6) the groups of the E-step and of the M-step's Gram matrices run on all cores, each
    /// computed exactly as on one thread (single-threaded BLAS, same shapes); per-row results are
    /// written to their rows and sums are taken in row or group order. So a fit is a function of
    /// the data and the start alone, bit for bit the same on any number of cores or `--threads`.
    ///
    /// Without regularisation each iteration cannot decrease ℓ (up to rounding); regularisation
    /// (the M-step then is not the exact maximiser) and freezing an empty component may lower it
    /// by amounts of order `regularization · |ΔSigma|` and `w_k max_i r_ik` respectively.
    ///
    /// Degenerate components are handled as described on `GaussianMixtureModel`: a component with
    /// `N_k < emptyComponentWeight · n` (or an initial weight of 0) is frozen with weight 0; a
    /// covariance that fails the pivot test `L_ii² > d ε max_j Sigma_jj` is jittered. Initial
    /// weights are divided by their sum.
    ///
    /// - Throws: `.dimensionMismatch` when `data.columns != initial.dimension`, `.tooFewRows`
    ///   when n < K, `.nonFiniteData` for NaN/inf data.
    /// - Precondition: `validate()` passes; `initial.componentCount == components`; the initial
    ///   parameters are finite with non-negative weights of positive sum.
    /// - Complexity: per iteration `2 K n d²` flops + `n K` exponentials; `O(n (d + K))` memory.
    public func fit(_ data: Matrix, startingFrom initial: GaussianMixtureParameters) throws(FitError) -> FittedGaussianMixture {
        precondition(initial.componentCount == components,
                     "fit(startingFrom:): settings have \(components) components, initial parameters \(initial.componentCount)")
        guard data.columns == initial.dimension else { throw .dimensionMismatch(expected: initial.dimension, got: data.columns) }
        try checkFittable(data)
        var engine = GaussianMixtureEM(data: data, components: components, settings: self)
        var state = GaussianMixtureEM.State(initial)
        let report = engine.run(&state)
        return engine.fittedModel(state, report: report)
    }
}

/// The EM engine: the data, the settings and workspaces reused across iterations and restarts
/// (no allocation per row; per iteration only O(K d²) for the new covariances and factors).
///
/// Layout: besides the n × d rows, the engine keeps their transpose (d × n), so that every
/// elementwise pass (centring, scaling by r_ik, squared norms, k-means++ distances) runs over
/// contiguous runs of rows and vectorises whatever d is; the E- and M-steps work through blocks
/// of B consecutive rows (`GaussianMixtureKernel.Workspace`), whose d × B buffers stay in cache
/// for all K components, and their products are BLAS dgemm calls on those d × B blocks (for
/// small d several times faster than on n × d ones; the E-step's whitening for d <= 8 is a fused
/// vectorised pass instead). Fixed groups of blocks, each with its own
/// buffers, may run on different cores without changing a bit (see `fit(_:startingFrom:)`).
struct GaussianMixtureEM {
    /// Mixture parameters during EM, with their factorisations.
    struct State {
        var weights: [Double]
        var means: Matrix
        /// Regularised (and, if needed, jittered) covariances: the ones in use.
        var covariances: [Matrix]
        /// The weighted covariances before regularisation (for the singularity flag).
        var rawCovariances: [Matrix]
        var lowers: [Matrix]
        /// `L_k⁻ᵀ`, for the E-step's whitening (dgemm above d = 8, a fused pass at and below).
        var whiteners: [Matrix]
        var logNormalisers: [Double]
        /// The covariance failed the pivot test even after regularisation and was jittered.
        var jittered: [Bool]
        /// Empty: weight 0, parameters frozen.
        var frozen: [Bool]

        var componentCount: Int { weights.count }

        /// The state for given parameters (weights normalised, covariances factorised).
        init(_ p: GaussianMixtureParameters) {
            let total = p.weights.reduce(0, +)
            precondition(p.weights.allSatisfy { $0 >= 0 && $0.isFinite } && total > 0 && total.isFinite,
                         "Gaussian mixture weights must be finite, non-negative, with a positive sum, got \(p.weights)")
            precondition(p.means.isFinite, "Gaussian mixture means must be finite, got \(p.means)")
            weights = p.weights.map { $0 / total }
            means = p.means
            covariances = []
            rawCovariances = p.covariances
            lowers = []
            whiteners = []
            logNormalisers = []
            jittered = []
            frozen = weights.map { $0 == 0 }
            for (k, c) in p.covariances.enumerated() {
                precondition(c.isFinite, "Gaussian mixture covariance \(k) must be finite, got \(c)")
                let f = GaussianMixtureKernel.factorise(c, meanScale: GaussianMixtureKernel.squaredScale(of: p.means, row: k))
                covariances.append(f.covariance)
                lowers.append(f.lower)
                whiteners.append(GaussianMixtureKernel.whitener(f.lower))
                logNormalisers.append(f.logNormaliser)
                jittered.append(f.jittered)
            }
        }

        /// The first component with positive weight: where a row with no finite term goes.
        var fallbackComponent: Int { weights.firstIndex { $0 > 0 } ?? 0 }
    }

    /// What one EM run reports.
    struct Report {
        var converged: Bool
        var iterations: Int
        var lowerBound: Double
        var trace: [Double]
    }

    /// n × d.
    let data: Matrix
    /// d × n, the transpose of `data`.
    let columns: Matrix
    let n: Int
    let d: Int
    let componentCount: Int
    let settings: GaussianMixtureModel
    /// n × K: log ρ_ik after the first half of the E-step, r_ik after it.
    var responsibilities: Matrix
    /// Block buffers shared by the E- and M-steps.
    var workspace: GaussianMixtureKernel.Workspace
    /// n numbers of scratch (k-means++ distances; each row's log-likelihood in the E-step).
    var scratch: [Double]
    /// Whether the E- and M-steps may split their blocks over the cores.
    let parallelism: GaussianMixtureKernel.Parallelism
    /// K × d: Rᵀ X.
    var weightedSums: Matrix
    /// N_k.
    var totals: [Double]
    /// G × K d × d: each group's part of each component's weighted Gram matrix (index g K + k).
    var groupGrams: [Matrix]

    init(data: Matrix, components: Int, settings: GaussianMixtureModel, parallelism: GaussianMixtureKernel.Parallelism = .automatic) {
        self.data = data
        self.parallelism = parallelism
        columns = data.transposed()
        n = data.rows
        d = data.columns
        componentCount = components
        self.settings = settings
        responsibilities = Matrix(rows: n, columns: components)
        workspace = GaussianMixtureKernel.Workspace(rows: n, columns: d)
        scratch = [Double](repeating: 0, count: n)
        weightedSums = Matrix(rows: components, columns: d)
        totals = [Double](repeating: 0, count: components)
        // Distinct buffers (written by the groups in parallel; `repeating:` would share one).
        let dimension = data.columns, gramCount = workspace.groups.count * components
        groupGrams = (0..<gramCount).map { _ in Matrix(rows: dimension, columns: dimension) }
    }

    // MARK: - Initialisation

    /// k-means++ centres (D² sampling), hard assignment to the nearest centre, and the groups'
    /// weights, means and covariances (+ regularisation) — see `GaussianMixtureModel`.
    mutating func kMeansPlusPlusStart<R: RandomStream>(using rng: inout R) -> State {
        let centres = kMeansPlusPlusCentres(using: &rng)
        let kCount = componentCount, n = self.n
        // One-hot responsibilities of the nearest centre (ties to the lower index).
        var nearest = [Int](repeating: 0, count: n)
        var best = [Double](repeating: .infinity, count: n)
        for (k, c) in centres.enumerated() {
            squaredDistances(toRow: c, into: &scratch)
            for i in 0..<n where scratch[i] < best[i] {
                best[i] = scratch[i]
                nearest[i] = k
            }
        }
        responsibilities.storage.withUnsafeMutableBufferPointer { pr in
            pr.update(repeating: 0)
            for i in 0..<n { pr[i &* kCount &+ nearest[i]] = 1 }
        }
        // Empty groups keep mean = centre and the pooled covariance (+ regularisation); the
        // covariance of a non-empty group is replaced by the M-step below.
        var occupied = [Bool](repeating: false, count: kCount)
        for k in nearest { occupied[k] = true }
        var pooled = Matrix.identity(d)
        if occupied.contains(false) {
            pooled = data.covariance(ddof: 0).covariance
            for j in 0..<d { pooled[j, j] += settings.regularization }
        }
        let means = data.selectingRows(centres)
        let parameters = GaussianMixtureParameters(weights: [Double](repeating: 1, count: kCount), means: means,
                                                   covariances: [Matrix](repeating: pooled, count: kCount))
        var state = State(parameters)
        mStep(&state)
        return state
    }

    /// `out[i] = |x_i - x_c|²`, summed over j = 0 ..< d in order.
    func squaredDistances(toRow c: Int, into out: inout [Double]) {
        let n = self.n, d = self.d
        columns.storage.withUnsafeBufferPointer { pt in
            data.storage.withUnsafeBufferPointer { px in
                out.withUnsafeMutableBufferPointer { po in
                    po.update(repeating: 0)
                    for j in 0..<d {
                        let centre = px[c * d + j]
                        let column = pt.baseAddress! + j * n
                        for i in 0..<n {
                            let t = column[i] - centre
                            po[i] += t * t
                        }
                    }
                }
            }
        }
    }

    /// The row indices of the k-means++ centres (see `GaussianMixtureModel` for the exact rule).
    mutating func kMeansPlusPlusCentres<R: RandomStream>(using rng: inout R) -> [Int] {
        let n = self.n
        var centres = [rng.nextInt(below: n)]
        if componentCount == 1 { return centres }
        var distance = [Double](repeating: 0, count: n)
        squaredDistances(toRow: centres[0], into: &distance)
        while centres.count < componentCount {
            var total = 0.0
            for i in 0..<n { total += distance[i] }
            var chosen: Int
            if total > 0 {
                let u = rng.nextDouble() * total
                // Fallback for rounding (running sum never exceeding u): the last row with D² > 0.
                chosen = distance.lastIndex { $0 > 0 }!
                var running = 0.0
                for i in 0..<n {
                    running += distance[i]
                    if running > u {
                        chosen = i
                        break
                    }
                }
            } else {
                chosen = rng.nextInt(below: n)
            }
            centres.append(chosen)
            squaredDistances(toRow: chosen, into: &scratch)
            for i in 0..<n { distance[i] = min(distance[i], scratch[i]) }
        }
        return centres
    }

    // MARK: - EM

    /// Iterates E- and M-steps on `state` as documented on `fit(_:startingFrom:)`.
    mutating func run(_ state: inout State) -> Report {
        var trace: [Double] = []
        trace.reserveCapacity(settings.maxIterations + 1)
        var previous = -Double.infinity
        var converged = false
        var iterations = 0
        if settings.maxIterations >= 1 {
            for t in 1...settings.maxIterations {
                let current = eStep(state)
                trace.append(current)
                mStep(&state)
                iterations = t
                if abs(current - previous) < settings.tolerance {
                    converged = true
                    break
                }
                previous = current
            }
        }
        let final = eStep(state)
        trace.append(final)
        return Report(converged: converged, iterations: iterations, lowerBound: final, trace: trace)
    }

    /// Fills `responsibilities` with r_ik for `state`; returns ℓ(state), the mean log-likelihood per row.
    ///
    /// Per block of rows, the log-terms (component-major, K × B) and then their reduction across
    /// components (`VectorMath.logSumExpRows`, vectorised across the block's rows, the same
    /// arithmetic as `reduceRows`) while the block is in cache, the groups of blocks in parallel
    /// when large enough; each row's lse goes to
    /// `scratch`, summed afterwards in row order, so ℓ has the same bits on any number of cores.
    mutating func eStep(_ state: State) -> Double {
        let columns = self.columns, weights = state.weights, means = state.means, whiteners = state.whiteners
        let offsets = GaussianMixtureKernel.offsets(weights: weights, logNormalisers: state.logNormalisers)
        let kCount = componentCount, fallback = state.fallbackComponent
        let parallel = workspace.isParallel(components: kCount, parallelism)
        responsibilities.storage.withUnsafeMutableBufferPointer { pr in
            scratch.withUnsafeMutableBufferPointer { ps in
                nonisolated(unsafe) let output = pr.baseAddress!, rowTotals = ps.baseAddress!
                workspace.forEachBlock(parallel: parallel) { _, _, rows, buffers in
                    // The block's terms component-major (K × count), reduced across components
                    // for many rows at once; responsibilities written row-major.
                    let count = rows.count
                    var terms: [Double] = [] // moved out of the buffers while they are lent to logTerms
                    swap(&terms, &buffers.terms)
                    defer { swap(&terms, &buffers.terms) }
                    if terms.count < kCount * count { terms = [Double](repeating: 0, count: kCount * count) }
                    terms.withUnsafeMutableBufferPointer { pt in
                        GaussianMixtureKernel.logTerms(columns, rows: rows, weights: weights, offsets: offsets, means: means,
                                                       whiteners: whiteners, buffers: &buffers, into: pt.baseAddress!,
                                                       rowStride: 1, componentStride: count)
                        VectorMath.logSumExpRows(componentMajor: pt.baseAddress!, components: kCount, stride: count, count: count,
                                                 into: rowTotals + rows.lowerBound,
                                                 responsibilities: output + rows.lowerBound * kCount, fallback: fallback)
                    }
                }
            }
        }
        var sum = 0.0
        for i in 0..<n { sum += scratch[i] }
        return sum / Double(n)
    }

    /// The M-step from the current `responsibilities` (frozen components keep their parameters).
    mutating func mStep(_ state: inout State) {
        let n = self.n, d = self.d, kCount = componentCount
        totals.withUnsafeMutableBufferPointer { pt in
            responsibilities.storage.withUnsafeBufferPointer { pr in
                pt.update(repeating: 0)
                var row = pr.baseAddress!
                for _ in 0..<n {
                    for k in 0..<kCount { pt[k] += row[k] }
                    row += kCount
                }
            }
        }
        let floor = GaussianMixtureModel.emptyComponentWeight * Double(n)
        var active = 0.0
        for k in 0..<kCount {
            if state.frozen[k] || !(totals[k] >= floor) { state.frozen[k] = true } else { active += totals[k] }
        }
        Matrix.gemm(responsibilities, .transpose, data, .none, into: &weightedSums)
        for k in 0..<kCount {
            if state.frozen[k] {
                state.weights[k] = 0
                continue
            }
            state.weights[k] = totals[k] / active
            for j in 0..<d { state.means[k, j] = weightedSums[k, j] / totals[k] }
        }
        // Weighted Gram matrices sum_i r_ik (x_i - mu_k)(x_i - mu_k)ᵀ / N_k, accumulated over blocks
        // of columns of the d × n data: per block and component, the centred block Cᵀ and the same
        // block with column i scaled by r_ik, multiplied by one dgemm (no square roots), added up
        // per group of blocks (the groups possibly in parallel); then the groups' sums are added
        // in group order. The groups depend on n and d alone, so the bits do not depend on the cores.
        let columns = self.columns, means = state.means, frozen = state.frozen, scales = totals.map { 1 / $0 }
        let firstBlocks = workspace.groups.map(\.lowerBound)
        let parallel = workspace.isParallel(components: kCount, parallelism)
        groupGrams.withUnsafeMutableBufferPointer { pg in
            responsibilities.storage.withUnsafeBufferPointer { pr in
                nonisolated(unsafe) let grams = pg.baseAddress!, r = pr.baseAddress!
                workspace.forEachBlock(parallel: parallel) { g, b, rows, buffers in
                    let count = rows.count
                    for k in 0..<kCount where !frozen[k] {
                        buffers.vector.withUnsafeMutableBufferPointer { pv in
                            var source = r + rows.lowerBound * kCount + k
                            for t in 0..<count {
                                pv[t] = source.pointee
                                source += kCount
                            }
                        }
                        columns.storage.withUnsafeBufferPointer { pt in
                            buffers.vector.withUnsafeBufferPointer { pv in
                                buffers.centred.storage.withUnsafeMutableBufferPointer { pc in
                                    buffers.product.storage.withUnsafeMutableBufferPointer { pw in
                                        for j in 0..<d {
                                            let mu = means[k, j]
                                            let source = pt.baseAddress! + j * n + rows.lowerBound
                                            let centred = pc.baseAddress! + j * count, weighted = pw.baseAddress! + j * count
                                            for t in 0..<count {
                                                let c = source[t] - mu
                                                centred[t] = c
                                                weighted[t] = pv[t] * c
                                            }
                                        }
                                    }
                                }
                            }
                        }
                        Matrix.gemm(buffers.product, .none, buffers.centred, .transpose, alpha: scales[k],
                                    beta: b == firstBlocks[g] ? 0 : 1, into: &grams[g * kCount + k])
                    }
                }
            }
        }
        var grams = [Matrix](repeating: Matrix(rows: d, columns: d), count: kCount)
        for k in 0..<kCount where !state.frozen[k] {
            grams[k] = groupGrams[k]
            for g in 1..<max(firstBlocks.count, 1) { grams[k].add(groupGrams[g * kCount + k]) }
        }
        for k in 0..<kCount where !state.frozen[k] {
            var raw = grams[k]
            raw.symmetrizeFromLower()
            var covariance = raw
            for j in 0..<d { covariance[j, j] += settings.regularization }
            let f = GaussianMixtureKernel.factorise(covariance, meanScale: GaussianMixtureKernel.squaredScale(of: state.means, row: k))
            state.rawCovariances[k] = raw
            state.covariances[k] = f.covariance
            state.lowers[k] = f.lower
            state.whiteners[k] = GaussianMixtureKernel.whitener(f.lower)
            state.logNormalisers[k] = f.logNormaliser
            state.jittered[k] = f.jittered
        }
    }

    /// The fitted value for a final state: flags each component (empty; jittered or with a
    /// numerically singular unregularised covariance).
    func fittedModel(_ state: State, report: Report) -> FittedGaussianMixture {
        var flags: [Degeneracy?] = []
        for k in 0..<state.componentCount {
            if state.frozen[k] {
                flags.append(.emptyComponent)
            } else if state.jittered[k]
                        || GaussianMixtureKernel.isNumericallySingular(state.rawCovariances[k], means: state.means, row: k, rowCount: n) {
                flags.append(.singularCovariance)
            } else {
                flags.append(nil)
            }
        }
        return FittedGaussianMixture(state: state, componentDegeneracies: flags, converged: report.converged,
                                     iterations: report.iterations, lowerBound: report.lowerBound, lowerBoundTrace: report.trace)
    }
}

/// The numerical kernels shared by EM and the fitted model.
enum GaussianMixtureKernel {
    static let logTwoPi = Foundation.log(2 * Double.pi)

    /// Whether the block loops of the E- and M-steps may run on several cores.
    enum Parallelism: Sendable {
        /// In parallel when the work is at least `parallelWork` (and there are at least two groups).
        case automatic
        /// Always on the calling thread.
        case never
        /// In parallel whenever there are at least two groups (for tests).
        case always
    }

    /// Work per E- or M-step, `n K (d² + 16)` (the whitening's d² flops plus about 16 for
    /// centring, norms and an exponential per row and component), from which the block groups run
    /// in parallel. With Dispatch's sleeping workers it was 1e7: waking them twice per EM iteration
    /// cost more than a sub-millisecond step saved (gmm-k4-d2, K = 4, d = 2, n = 20,000, work
    /// 1.6e6: 0.38 s serial against 0.42-0.46 s parallel over its 50 generations). With
    /// `ParallelWork`'s spinning helpers the same benchmark runs 0.40 -> 0.31 s in parallel
    /// (2026-11-30, alternating runs), so the groups go parallel from 1e6. Which thread runs a
    /// group never changes a bit (see `Workspace`).
    static let parallelWork = 1e6

    /// Buffers for the E- and M-steps, which work on blocks of `blockSize` consecutive rows (the
    /// last block may be shorter): a block's d × B buffers stay in cache while every component
    /// uses them, instead of streaming n × d arrays through memory once per component.
    ///
    /// The blocks form `G = min(blocks, maxGroups)` groups of consecutive blocks, each with its own
    /// buffers, so groups can run concurrently. Blocks and groups depend on n and d alone (never
    /// on the number of cores), and every block is computed the same way wherever it runs
    /// (single-threaded BLAS on the same shapes): which thread runs a group cannot change a bit.
    struct Workspace {
        /// One block's buffers.
        struct Buffers {
            /// d × B: the block's rows minus a component's mean, as columns.
            var centred: Matrix
            /// d × B: `L_k⁻¹ (x_i - mu_k)` (E-step) or the centred columns scaled by r_ik (M-step).
            var product: Matrix
            /// B numbers: squared Mahalanobis distances (E-step) or r_ik (M-step).
            var vector: [Double]
            /// K × B: the E-step's log-terms, component-major (allocated at first use).
            var terms: [Double] = []

            init(columns d: Int, count: Int) {
                centred = Matrix(rows: d, columns: count)
                product = Matrix(rows: d, columns: count)
                vector = [Double](repeating: 0, count: count)
            }
        }

        /// One group's buffers: `full` for its blocks of B rows, `tail` (last group only) for a
        /// shorter last block.
        struct Slot {
            var full: Buffers
            var tail: Buffers?
        }

        /// Rows per block, `B = min(n, max(128, 4096 / d))`: about 32 KiB per d × B buffer (L1/L2
        /// resident), at least 128 rows so that each dgemm call has work to amortise its overhead.
        let blockSize: Int
        /// d, the number of columns.
        let dimension: Int
        /// (first row, row count) of each block, in order.
        let blocks: [(start: Int, count: Int)]
        /// The indices into `blocks` of each group: G contiguous runs, group g holding blocks
        /// `g b / G ..< (g + 1) b / G` of the b blocks.
        let groups: [Range<Int>]
        /// One slot of buffers per group.
        var slots: [Slot]

        /// At most this many groups: enough for the dynamic scheduling of `concurrentPerform` to
        /// balance a few cores, few enough that each group has several blocks of work.
        static let maxGroups = 8

        init(rows n: Int, columns d: Int) {
            let blockSize = max(1, min(n, max(128, 4_096 / max(d, 1))))
            self.blockSize = blockSize
            dimension = d
            var blocks: [(start: Int, count: Int)] = []
            var start = 0
            while start < n {
                blocks.append((start, min(blockSize, n - start)))
                start += blockSize
            }
            self.blocks = blocks
            let groupCount = min(blocks.count, Self.maxGroups)
            groups = (0..<groupCount).map { g in (g * blocks.count / groupCount)..<((g + 1) * blocks.count / groupCount) }
            let rest = n % blockSize
            slots = (0..<groupCount).map { g in
                Slot(full: Buffers(columns: d, count: blockSize),
                     tail: rest != 0 && g == groupCount - 1 ? Buffers(columns: d, count: rest) : nil)
            }
        }

        /// Whether the block loops run in parallel for K components under `parallelism`.
        func isParallel(components kCount: Int, _ parallelism: Parallelism) -> Bool {
            guard groups.count > 1 else { return false }
            switch parallelism {
            case .never: return false
            case .always: return true
            case .automatic:
                let n = blocks.last.map { $0.start + $0.count } ?? 0
                return Double(n) * Double(kCount) * Double(dimension * dimension + 16) >= GaussianMixtureKernel.parallelWork
            }
        }

        /// Runs `body(g, b, rows, &buffers)` for every block b (rows `rows`) of every group g on group g's buffers:
        /// the blocks of a group in order; with `parallel`, the groups concurrently
        /// (`DispatchQueue.concurrentPerform`), else one after the other. `body` may write only
        /// what belongs to its block or its group.
        mutating func forEachBlock(parallel: Bool, _ body: @Sendable (_ group: Int, _ block: Int, _ rows: Range<Int>, _ buffers: inout Buffers) -> Void) {
            let blocks = self.blocks, groups = self.groups, blockSize = self.blockSize
            slots.withUnsafeMutableBufferPointer { buffer in
                nonisolated(unsafe) let slots = buffer.baseAddress!
                @Sendable func run(_ g: Int) {
                    for b in groups[g] {
                        let rows = blocks[b].start..<(blocks[b].start + blocks[b].count)
                        if rows.count == blockSize { body(g, b, rows, &slots[g].full) } else { body(g, b, rows, &slots[g].tail!) }
                    }
                }
                if parallel {
                    ParallelWork.forEach(groups.count) { g in run(g) }
                } else {
                    for g in groups.indices { run(g) }
                }
            }
        }
    }

    /// `L⁻ᵀ` for a lower-triangular factor L (upper triangular): the identity whitened by BLAS dtrsm.
    static func whitener(_ lower: Matrix) -> Matrix {
        var w = Matrix.identity(lower.rows)
        Cholesky(uncheckedLower: lower).whitenRows(&w)
        return w
    }

    /// `out[i, k] = log w_k + logNormalisers[k] - |L_k⁻¹(x_i - mu_k)|² / 2`, or -inf when w_k = 0,
    /// for the data given as its d × n transpose `columns`.
    ///
    /// Per block of rows and component (`logTerms`): a centred copy `Cᵀ = Xᵀ - mu_k 1ᵀ` (the
    /// subtraction comes first, so rows far from the origin lose no accuracy), one BLAS dgemm
    /// `Y = L_k⁻¹ Cᵀ` with the explicit triangular inverse (`whiteners[k] = L_k⁻ᵀ`, as scikit-learn's
    /// precision Cholesky factor; a right-side dtrsm on n × d rows is about five times slower than
    /// this dgemm for small d), then the squared column norms of Y, summed over j = 0 ..< d in
    /// order. For d <= `VectorMath.smallGaussianDimension` (8) the same quantities in one fused
    /// pass instead (`VectorMath.gaussianLogTerms`: y_j over the triangle, l ascending, no fused
    /// multiply-adds; the BLAS calls and buffer passes cost more than these flops). A NaN
    /// quadratic form (possible only once whitened entries overflow) counts as +inf.
    /// Rows do not interact, so the groups of blocks may run in parallel (`parallelism`) with the
    /// same bits.
    static func weightedLogTerms(_ columns: Matrix, weights: [Double], means: Matrix, whiteners: [Matrix], logNormalisers: [Double],
                                 workspace: inout Workspace, parallelism: Parallelism = .automatic, into out: inout Matrix) {
        let d = columns.rows, n = columns.columns, kCount = weights.count
        precondition(workspace.dimension == d && (workspace.blocks.last.map { $0.start + $0.count } ?? 0) == n
                        && out.rows == n && out.columns == kCount,
                     "weightedLogTerms: data (transposed) \(columns.shapeDescription), workspace for \(workspace.dimension) columns, output \(out.shapeDescription) for \(kCount) components")
        if n == 0 { return }
        let offsets = self.offsets(weights: weights, logNormalisers: logNormalisers)
        let parallel = workspace.isParallel(components: kCount, parallelism)
        out.storage.withUnsafeMutableBufferPointer { po in
            nonisolated(unsafe) let terms = po.baseAddress!
            workspace.forEachBlock(parallel: parallel) { _, _, rows, buffers in
                logTerms(columns, rows: rows, weights: weights, offsets: offsets, means: means, whiteners: whiteners,
                         buffers: &buffers, into: terms + rows.lowerBound * kCount, rowStride: kCount, componentStride: 1)
            }
        }
    }

    /// `log w_k + logNormalisers[k]`, or -inf when w_k = 0.
    static func offsets(weights: [Double], logNormalisers: [Double]) -> [Double] {
        (0..<weights.count).map { weights[$0] > 0 ? Foundation.log(weights[$0]) + logNormalisers[$0] : -.infinity }
    }

    /// Rows `rows` (one block) of `weightedLogTerms`: term (t, k) of the block's row t goes to
    /// `out[t * rowStride + k * componentStride]` (row-major n × K from the block's first row:
    /// (K, 1); component-major K × count: (1, count)).
    static func logTerms(_ columns: Matrix, rows: Range<Int>, weights: [Double], offsets: [Double], means: Matrix,
                         whiteners: [Matrix], buffers: inout Workspace.Buffers, into out: UnsafeMutablePointer<Double>,
                         rowStride: Int, componentStride: Int) {
        let d = columns.rows, n = columns.columns, kCount = weights.count, count = rows.count
        for k in 0..<kCount {
            guard weights[k] > 0 else {
                for t in 0..<count { out[t &* rowStride &+ k &* componentStride] = -.infinity }
                continue
            }
            if d >= 1 && d <= VectorMath.smallGaussianDimension {
                // Small d: one fused pass per row (centre, whiten, square), vectorised across rows;
                // a d × d dgemm per block costs more in calls and passes than its flops.
                columns.storage.withUnsafeBufferPointer { pt in
                    means.storage.withUnsafeBufferPointer { pm in
                        whiteners[k].storage.withUnsafeBufferPointer { pw in
                            VectorMath.gaussianLogTerms(columns: pt.baseAddress!, rowCount: n, dimension: d, rows: rows,
                                                        mean: pm.baseAddress! + k * d, whitener: pw.baseAddress!,
                                                        offset: offsets[k], into: out + k * componentStride, stride: rowStride)
                        }
                    }
                }
                continue
            }
            columns.storage.withUnsafeBufferPointer { pt in
                buffers.centred.storage.withUnsafeMutableBufferPointer { pc in
                    for j in 0..<d {
                        let mu = means[k, j]
                        let source = pt.baseAddress! + j * n + rows.lowerBound, target = pc.baseAddress! + j * count
                        for t in 0..<count { target[t] = source[t] - mu }
                    }
                }
            }
            Matrix.gemm(whiteners[k], .transpose, buffers.centred, .none, into: &buffers.product)
            buffers.product.storage.withUnsafeBufferPointer { py in
                buffers.vector.withUnsafeMutableBufferPointer { pq in
                    for t in 0..<count { pq[t] = py[t] * py[t] }
                    for j in 1..<max(d, 1) {
                        let row = py.baseAddress! + j * count
                        for t in 0..<count { pq[t] += row[t] * row[t] }
                    }
                    var target = out + k * componentStride
                    let offset = offsets[k]
                    for t in 0..<count {
                        let q = pq[t].isNaN ? Double.infinity : pq[t]
                        target.pointee = offset - 0.5 * q
                        target += rowStride
                    }
                }
            }
        }
    }

    /// Per row of the n × K log-terms `m`: `lse_i = max + log(1 + sum_{k≠argmax} exp(m_ik - max))`;
    /// with `responsibilities`, the row becomes `exp(m_ik - lse_i)` (one exponential per entry
    /// besides the maximum's). `log(1 + s)` rather than `log1p(s)`: its absolute error is at most
    /// about ε (s < ε is lost in `1 + s`), far below the rounding of `max` itself. The
    /// exponentials and logarithms are taken in bulk by `VectorMath` (below 1 ulp; same bits on
    /// every CPU), for up to `reduceChunk` rows at a time.
    /// A row whose terms are all -inf has lse -inf and (with `responsibilities`) all mass on
    /// `fallbackComponent`. Writes lse_i to `rowTotals` when given.
    /// - Returns: `sum_i lse_i`, in row order.
    static func reduceRows(_ m: inout Matrix, responsibilities: Bool, fallbackComponent: Int,
                           rowTotals: UnsafeMutablePointer<Double>?) -> Double {
        let n = m.rows, kCount = m.columns
        return m.storage.withUnsafeMutableBufferPointer { p in
            guard let base = p.baseAddress else { return 0 }
            return reduceRows(base, rows: 0..<n, components: kCount, responsibilities: responsibilities,
                              fallbackComponent: fallbackComponent, rowTotals: rowTotals)
        }
    }

    /// `reduceRows` on rows `rows` of the n × K row-major matrix at `m` (lse_i to `rowTotals[i]`).
    /// - Returns: `sum_{i in rows} lse_i`, in row order from 0.
    static func reduceRows(_ m: UnsafeMutablePointer<Double>, rows: Range<Int>, components kCount: Int, responsibilities: Bool,
                           fallbackComponent: Int, rowTotals: UnsafeMutablePointer<Double>?) -> Double {
        if rows.isEmpty || kCount == 0 { return 0 }
        let chunk = min(rows.count, reduceChunk)
        // Per chunk: the terms transposed to component-major, then `VectorMath.logSumExpRows`
        // (the E-step's reduction, so both give the same bits), the responsibilities in place.
        return withUnsafeTemporaryAllocation(of: Double.self, capacity: chunk * (kCount + 1)) { scratch in
            let transposed = scratch.baseAddress!, lse = transposed + chunk * kCount
            var sum = 0.0
            var start = rows.lowerBound
            while start < rows.upperBound {
                let count = min(chunk, rows.upperBound - start)
                let block = m + start * kCount
                for t in 0..<count {
                    for k in 0..<kCount { transposed[k * count + t] = block[t * kCount + k] }
                }
                VectorMath.logSumExpRows(componentMajor: transposed, components: kCount, stride: count, count: count,
                                         into: lse, responsibilities: responsibilities ? block : nil,
                                         fallback: fallbackComponent)
                for t in 0..<count {
                    rowTotals?[start + t] = lse[t]
                    sum += lse[t]
                }
                start += count
            }
            return sum
        }
    }

    /// Rows per chunk of `reduceRows` (its scratch, K + 1 numbers a row, stays in cache).
    static let reduceChunk = 512

    /// The largest squared coordinate of row `row` of `means` (a scale for jitter).
    static func squaredScale(of means: Matrix, row: Int) -> Double {
        var s = 0.0
        for j in 0..<means.columns { s = max(s, means[row, j] * means[row, j]) }
        return s
    }

    /// The Cholesky factor of `m` if it passes the pivot test `L_ii² > d ε max_j m_jj` (with a
    /// positive finite largest diagonal entry), else `nil`.
    static func regularFactor(_ m: Matrix) -> Matrix? {
        let d = m.rows
        var scale = 0.0
        for j in 0..<d { scale = max(scale, m[j, j]) }
        guard scale > 0 && scale.isFinite, let chol = try? Cholesky(m) else { return nil }
        let threshold = Double(d) * Double.ulpOfOne * scale
        for j in 0..<d where !(chol.lower[j, j] * chol.lower[j, j] > threshold) { return nil }
        return chol.lower
    }

    /// Whether an unregularised weighted covariance is singular up to its rounding errors.
    ///
    /// Its entries come from sums over n rows, with rounding errors up to about `n ε` of their
    /// size (and the centring mean is itself off by up to about `n ε |mu_j|`). So it is singular
    /// when some variance `S_jj <= (n ε mu_j)²` (zero, up to the rounding of the mean), or when
    /// the correlation matrix `D^-1/2 S D^-1/2` (scale-free: units of the features do not matter)
    /// fails Cholesky or has a pivot `L_ii² <= (n + d) ε`.
    static func isNumericallySingular(_ s: Matrix, means: Matrix, row: Int, rowCount n: Int) -> Bool {
        let d = s.rows
        var roots = [Double](repeating: 0, count: d)
        for j in 0..<d {
            let noise = Double(n) * Double.ulpOfOne * means[row, j]
            guard s[j, j] > noise * noise && s[j, j].isFinite else { return true }
            roots[j] = s[j, j].squareRoot()
        }
        var correlation = s
        for a in 0..<d { for b in 0..<d { correlation[a, b] = s[a, b] / (roots[a] * roots[b]) } }
        guard let chol = try? Cholesky(correlation) else { return true }
        let threshold = Double(n + d) * Double.ulpOfOne
        for j in 0..<d where !(chol.lower[j, j] * chol.lower[j, j] > threshold) { return true }
        return false
    }

    /// Factorises a component covariance for densities and sampling.
    ///
    /// If `c` fails `regularFactor`, adds `δ_m = d ε s 10^m` to its diagonal for m = 0, 1, ..., 39
    /// until it passes, with `s = max(max_j c_jj, meanScale, 1e-200)` (a scale in the data's units
    /// when the covariance is exactly zero; the floor keeps δ a normal number); if even that fails
    /// (non-finite input), uses `max(s, 1) I`. `jittered` says whether the covariance was changed.
    static func factorise(_ c: Matrix, meanScale: Double) -> (covariance: Matrix, lower: Matrix, logNormaliser: Double, jittered: Bool) {
        let d = c.rows
        func normaliser(_ lower: Matrix) -> Double {
            -0.5 * (Double(d) * logTwoPi + Cholesky(uncheckedLower: lower).logDeterminant)
        }
        if let lower = regularFactor(c) { return (c, lower, normaliser(lower), false) }
        var scale = 0.0
        for j in 0..<d where c[j, j].isFinite { scale = max(scale, abs(c[j, j])) }
        scale = max(scale, meanScale.isFinite ? meanScale : 0, 1e-200)
        if c.isFinite {
            var jitter = Double(d) * Double.ulpOfOne * scale
            for _ in 0..<40 {
                var candidate = c
                for j in 0..<d { candidate[j, j] += jitter }
                if let lower = regularFactor(candidate) { return (candidate, lower, normaliser(lower), true) }
                jitter *= 10
            }
        }
        let fallback = Matrix.diagonal([Double](repeating: max(scale, 1), count: d))
        let lower = Matrix.diagonal([Double](repeating: max(scale, 1).squareRoot(), count: d))
        return (fallback, lower, normaliser(lower), true)
    }
}

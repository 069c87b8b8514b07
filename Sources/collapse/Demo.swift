import ArgumentParser
import CollapseCore
import Foundation

/// `collapse demo`: the 1-D Gaussian refit loop of Shumailov et al. (2024), in miniature.
///
/// Generation 0 fits N(mu, sigma^2) to M real N(0, 1) draws; generation g+1 fits M draws from
/// generation g's model. Over R replicate chains it prints the mean fitted variance with its
/// standard error next to the exact expectation: ((M-1)/M)^(g+1) for the MLE, 1 for the unbiased
/// estimator. Every number comes from counter-based streams keyed by (seed, replicate, generation,
/// purpose), so the output is identical on every run and machine.
struct Demo: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Refit a 1-D Gaussian on its own samples and print the variance per generation next to theory."
    )

    enum Estimator: String, ExpressibleByArgument, CaseIterable {
        case mle, unbiased
    }

    @Option(help: "Generations after generation 0.") var generations = 20
    @Option(help: "Training rows M per generation.") var samples = 100
    @Option(help: "Replicate chains R.") var replicates = 1000
    @Option(help: "Root seed of all random streams.") var seed: UInt64 = 7
    @Option(help: "Variance estimator: mle (divide by M) or unbiased (divide by M - 1).") var estimator = Estimator.mle

    func validate() throws {
        guard generations >= 0 else { throw ValidationError("--generations must be at least 0, got \(generations)") }
        guard samples >= 2 else { throw ValidationError("--samples must be at least 2 (a variance needs two rows), got \(samples)") }
        guard replicates >= 2 else { throw ValidationError("--replicates must be at least 2 (a standard error needs two chains), got \(replicates)") }
    }

    static let realData = StreamPurpose(rawValue: 1)
    static let modelSample = StreamPurpose(rawValue: 3)

    func run() {
        ProcessTuning.keepLargeAllocationsInHeap()
        let g = generations, m = samples
        let ddof = estimator == .mle ? 0 : 1
        var sum = [Double](repeating: 0, count: g + 1)
        var sumSquares = [Double](repeating: 0, count: g + 1)
        var data = [Double](repeating: 0, count: m)
        for r in 0..<replicates {
            var rng = Philox4x32(seed: seed, id: StreamID(variant: 0, replicate: r, generation: 0, purpose: Self.realData))
            data.withUnsafeMutableBufferPointer { StandardNormal.fill($0, using: &rng) }
            for gen in 0...g {
                let mean = Descriptive.mean(data)
                let variance = Descriptive.variance(data, ddof: ddof)
                sum[gen] += variance
                sumSquares[gen] += variance * variance
                if gen == g { break }
                var sampler = Philox4x32(seed: seed, id: StreamID(variant: 0, replicate: r, generation: gen, purpose: Self.modelSample))
                let sd = variance.squareRoot()
                data.withUnsafeMutableBufferPointer { buffer in
                    StandardNormal.fill(buffer, using: &sampler)
                    for i in buffer.indices { buffer[i] = mean + sd * buffer[i] }
                }
            }
        }
        let n = Double(replicates)
        let ratio = Double(m - 1) / Double(m)
        print("# 1-D Gaussian refit loop: real N(0, 1), M = \(m), \(replicates) chains, estimator \(estimator.rawValue), seed \(seed)")
        print("generation,mean_variance,std_error,theory")
        for gen in 0...g {
            let mean = sum[gen] / n
            let sampleVariance = max(0, (sumSquares[gen] - n * mean * mean) / (n - 1))
            let theory = estimator == .mle ? Foundation.pow(ratio, Double(gen + 1)) : 1
            print("\(gen),\(format(mean)),\(format((sampleVariance / n).squareRoot())),\(format(theory))")
        }
    }

    private func format(_ x: Double) -> String {
        String(format: "%.6f", x)
    }
}

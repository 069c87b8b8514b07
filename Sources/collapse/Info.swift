import ArgumentParser
import CollapseCore

/// `collapse info`: the numeric back end this binary runs on (what manifests record).
struct Info: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Print the tool version, the BLAS/LAPACK library in use and the vector kernels' instruction set."
    )

    func run() {
        print("model-collapse \(ToolVersion.string)")
        print("BLAS: \(BLAS.configuration)")
        print("BLAS core: \(BLAS.coreName)")
        print("BLAS threads: \(BLAS.threadCount)")
        print("Random bits: Philox4x32-10, bulk kernel \(Philox4x32.bulkKernel)")
        print("exp/log (mixture E-step): own kernels, \(VectorMath.kernelPath); same bits on every path")
    }
}

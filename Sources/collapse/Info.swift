import ArgumentParser
import CollapseCore

/// `collapse info`: the numeric back end this binary runs on (what manifests record).
struct Info: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Print the tool version and the BLAS/LAPACK library in use."
    )

    func run() {
        print("model-collapse \(ToolVersion.string)")
        print("BLAS: \(BLAS.configuration)")
        print("BLAS core: \(BLAS.coreName)")
        print("BLAS threads: \(BLAS.threadCount)")
    }
}

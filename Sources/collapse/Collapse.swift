import ArgumentParser
import CollapseCore
import Foundation

/// The `collapse` command-line tool.
@main
struct Collapse: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "collapse",
        abstract: "Measure the curse of recursion: refit generative models on their own samples, generation after generation.",
        version: ToolVersion.string,
        subcommands: [Run.self, Validate.self, Summarize.self, Merge.self, Slurm.self, Compare.self, List.self, Demo.self, Info.self]
    )

    static func main() {
        // Past a file-size limit (ulimit -f) the kernel sends SIGXFSZ, whose default action kills
        // the process without a word. Ignored, the write fails with EFBIG instead and the run
        // reports which file and what to do, like a full disk.
        signal(SIGXFSZ, SIG_IGN)
        main(nil)
    }
}

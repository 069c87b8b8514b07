import ArgumentParser
import CollapseCore

/// The `collapse` command-line tool.
@main
struct Collapse: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "collapse",
        abstract: "Measure the curse of recursion: refit generative models on their own samples, generation after generation.",
        version: ToolVersion.string,
        subcommands: [Run.self, Validate.self, Summarize.self, Merge.self, Slurm.self, Compare.self, List.self, Demo.self, Info.self]
    )
}

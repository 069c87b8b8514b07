import ArgumentParser
import CollapseMetrics
import CollapseRunner
import Foundation

/// Exit codes of `collapse` (README "Exit codes").
enum ExitCodes {
    static let runFailure: Int32 = 1
    static let invalidConfig: Int32 = 2
    static let interrupted: Int32 = 130
}

func printError(_ message: String) {
    FileHandle.standardError.write(Data(("error: " + message + "\n").utf8))
}

/// Loads a config, or prints the error and exits 2.
func loadExperiment(path: String, overrides: ConfigOverrides = .none) throws -> Experiment {
    do {
        return try ConfigLoader(catalog: MetricRegistry.standard).load(path: path, overrides: overrides)
    } catch {
        printError(error.description)
        throw ExitCode(ExitCodes.invalidConfig)
    }
}

/// Loads the experiment recorded in an output directory's manifest.json.
func loadRecordedExperiment(directory: URL) throws -> Experiment {
    let manifest = directory.appendingPathComponent("manifest.json")
    guard let data = try? Data(contentsOf: manifest),
          let json = (try? JSONSerialization.jsonObject(with: data)) as? [String: Any],
          let config = json["config"] as? [String: Any], let text = config["text"] as? String,
          let path = config["path"] as? String else {
        printError("\(manifest.path) is missing or unreadable: is \(directory.path) the output directory of `collapse run`?")
        throw ExitCode(ExitCodes.runFailure)
    }
    let recorded = (config["overrides"] as? [String: String]) ?? [:]
    guard let overrides = ConfigOverrides(recorded: recorded) else {
        printError("\(manifest.path) records unreadable overrides \(recorded)")
        throw ExitCode(ExitCodes.runFailure)
    }
    do {
        return try ConfigLoader(catalog: MetricRegistry.standard).load(text: text, path: path, overrides: overrides)
    } catch {
        printError("the config recorded in \(manifest.path) no longer loads: \(error.description)")
        throw ExitCode(ExitCodes.invalidConfig)
    }
}

func runOrExit<T>(_ body: () throws(RunError) -> T) throws -> T {
    do {
        return try body()
    } catch {
        printError(error.description)
        throw ExitCode(ExitCodes.runFailure)
    }
}

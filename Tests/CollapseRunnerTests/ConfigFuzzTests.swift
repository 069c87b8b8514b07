import CollapseCore
import Foundation
import Testing
@testable import CollapseMetrics
@testable import CollapseRunner

/// Seeded mutations of the repository's valid configs: the loader must never crash or hang, and
/// must either accept the mutant (which then runs) or reject it with a `ConfigError` whose
/// message names a place (file:line or a key path).
@Suite struct ConfigFuzzTests {
    static let experiments = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
        .deletingLastPathComponent().appendingPathComponent("Experiments")

    static let replacements = ["-1", "0", "1e400", "nan", ".inf", "3.5", "\"x\"", "[]", "{}", "true", "null", "999999999999999999999",
                               "[1, 2", "{a: 1}", "-0.0", "1e-320", "replace", "gmm", "\u{00e9}"]

    /// One random edit of the text: delete/duplicate/swap a line, change a value, a key, the
    /// indentation, insert garbage, or truncate.
    static func mutate(_ text: String, _ rng: inout Philox4x32) -> String {
        var lines = text.components(separatedBy: "\n")
        guard !lines.isEmpty else { return text }
        let i = rng.nextInt(below: lines.count)
        switch rng.nextInt(below: 8) {
        case 0: lines.remove(at: i)
        case 1: lines.insert(lines[i], at: i)
        case 2:
            let j = rng.nextInt(below: lines.count)
            lines.swapAt(i, j)
        case 3:
            // Replace the value after the first ": " (or the whole line) with a hostile value.
            let value = replacements[rng.nextInt(below: replacements.count)]
            if let colon = lines[i].range(of: ": ") {
                lines[i] = String(lines[i][..<colon.upperBound]) + value
            } else {
                lines[i] = value
            }
        case 4:
            // Flip one character of a key.
            var chars = Array(lines[i])
            if !chars.isEmpty {
                let k = rng.nextInt(below: chars.count)
                chars[k] = Character(UnicodeScalar(UInt8(97 + rng.nextInt(below: 26))))
            }
            lines[i] = String(chars)
        case 5: lines[i] = String(repeating: " ", count: rng.nextInt(below: 5)) + lines[i].trimmingCharacters(in: .whitespaces)
        case 6: lines.insert(["- - -", ":::", "{{", "]]", "&a *a", "!!binary x", "\t"][rng.nextInt(below: 7)], at: i)
        default:
            let cut = rng.nextInt(below: max(text.count, 1))
            return String(text.prefix(cut))
        }
        return lines.joined(separator: "\n")
    }

    @Test func mutatedConfigsAreAcceptedOrRejectedWithAPlace() throws {
        let files = try FileManager.default.contentsOfDirectory(atPath: Self.experiments.path).filter { $0.hasSuffix(".yaml") }.sorted()
        #expect(files.count >= 10)
        let loader = ConfigLoader(catalog: MetricRegistry.standard)
        var rng = Philox4x32(seed: 4242, path: [0xF022])
        var accepted: [(String, Experiment)] = []
        var rejected = 0
        let start = Date()
        for n in 0..<800 {
            let name = files[n % files.count]
            let path = Self.experiments.appendingPathComponent(name).path
            var text = try String(contentsOfFile: path, encoding: .utf8)
            for _ in 0...rng.nextInt(below: 3) { text = Self.mutate(text, &rng) }
            let began = Date()
            do {
                let experiment = try loader.load(text: text, path: path, overrides: ConfigOverrides(replicates: 1, generations: 2))
                if accepted.count < 10 { accepted.append((name, experiment)) }
            } catch {
                rejected += 1
                let message = error.description
                #expect(message.contains(":") && message.count > 10, "unhelpful error for a mutant of \(name): \(message)")
            }
            #expect(Date().timeIntervalSince(began) < 2, "loading a mutant of \(name) took too long")
        }
        #expect(rejected > 200, "the mutations should break most configs; only \(rejected) of 800 were rejected")
        // Accepted mutants run (one replicate, two generations) without crashing.
        for (name, experiment) in accepted {
            let dir = FileManager.default.temporaryDirectory.appendingPathComponent("collapse-fuzz-\(UUID().uuidString)")
            defer { try? FileManager.default.removeItem(at: dir) }
            do {
                _ = try Engine(experiment: experiment).run(RunOptions(outputDirectory: dir, threads: 2))
            } catch {
                Issue.record("accepted mutant of \(name) failed to run: \(error)")
            }
        }
        print("config fuzz: 800 mutants, \(rejected) rejected, \(accepted.count) accepted and run in \(String(format: "%.1f", Date().timeIntervalSince(start))) s")
    }
}

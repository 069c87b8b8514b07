import Foundation
import Testing

/// Scripts/plot.py on real and synthetic results. Skipped, with the reason printed, when no
/// Python with matplotlib and pandas is available (Scripts/setup.sh --plot installs them).
@Suite(.serialized) struct PlotTests {
    static let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
    static var python: URL { root.appendingPathComponent(".venv/bin/python") }

    static func run(_ executable: String, _ args: [String], in dir: URL) throws -> (Int32, String) {
        let p = Process()
        p.executableURL = URL(fileURLWithPath: executable)
        p.arguments = args
        p.currentDirectoryURL = dir
        let out = Pipe()
        p.standardOutput = out
        p.standardError = out
        try p.run()
        let text = String(decoding: out.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        p.waitUntilExit()
        return (p.terminationStatus, text)
    }

    @Test func plotSelfTestPasses() throws {
        let (status, output) = try Self.run("/bin/bash", [Self.root.appendingPathComponent("Scripts/plot_selftest.sh").path], in: Self.root)
        if status == 77 {
            print("PlotTests.plotSelfTestPasses \(output.trimmingCharacters(in: .whitespacesAndNewlines))")
            return
        }
        #expect(status == 0, "\(output)")
    }

    @Test func plotsARealRunAsNonEmptyPNGs() throws {
        guard FileManager.default.isExecutableFile(atPath: Self.python.path),
              (try? Self.run(Self.python.path, ["-c", "import matplotlib, pandas"], in: Self.root).0) == 0 else {
            print("PlotTests.plotsARealRunAsNonEmptyPNGs skipped: no .venv with matplotlib and pandas (run Scripts/setup.sh --plot)")
            return
        }
        let dir = try CLITests.workspace("plot")
        defer { try? FileManager.default.removeItem(at: dir) }
        try CLITests.smallConfig.write(to: dir.appendingPathComponent("small.yaml"), atomically: true, encoding: .utf8)
        #expect(try CLITests.collapse(["run", "small.yaml", "--out", "r", "--quiet"], in: dir).status == 0)
        let (status, output) = try Self.run(Self.python.path, [Self.root.appendingPathComponent("Scripts/plot.py").path, "r", "--by", "regime.real_fraction"], in: dir)
        #expect(status == 0, "\(output)")
        for metric in ["variance", "mean_shift", "nll_real", "degenerate"] {
            let png = dir.appendingPathComponent("r/figures/\(metric).png")
            let size = (try? FileManager.default.attributesOfItem(atPath: png.path)[.size] as? Int) ?? 0
            #expect(size > 1000, "\(png.path) missing or empty")
        }
    }
}

import CollapseCore
import Foundation
import Testing
@testable import CollapseRunner

private typealias T = ConfigTesting

@Suite struct DatasetLoaderTests {
    /// Loads CSV text through the loader's byte entry point.
    func load(_ csv: String, label: String? = nil, target: String? = nil,
              columns: [String]? = nil) throws(DatasetError) -> DatasetConfig {
        try DatasetLoader.load(DatasetSpec(path: "d.csv", label: label, target: target, columns: columns),
                               bytes: Array(csv.utf8), displayPath: "d.csv", resolvedPath: "/tmp/d.csv")
    }

    func error(_ csv: String, label: String? = nil, target: String? = nil, columns: [String]? = nil) -> DatasetError? {
        do {
            _ = try load(csv, label: label, target: target, columns: columns)
            return nil
        } catch {
            return error
        }
    }

    // MARK: What works

    @Test func windowsAndUnixLineEndingsReadTheSame() throws {
        let unix = try load("a,b\n1,2\n3,4\n")
        let windows = try load("a,b\r\n1,2\r\n3,4\r\n")
        let noFinalNewline = try load("a,b\r\n1,2\r\n3,4")
        #expect(unix.features == Matrix([[1, 2], [3, 4]]))
        #expect(windows.features == unix.features)
        #expect(noFinalNewline.features == unix.features)
        #expect(windows.featureColumns == ["a", "b"])
    }

    @Test func quotedFieldsMayHoldCommasQuotesAndLineBreaks() throws {
        let csv = "\"x, first\",\"label \"\"quoted\"\"\",y\n1.5,\"a, b\",2\n\"3\",\"say \"\"hi\"\"\",4\n5,\"two\nlines\",6\n7,plain,8\n"
        let table = try DatasetLoader.parseCSV(Array(csv.utf8), file: "q.csv")
        #expect(table.header == ["x, first", "label \"quoted\"", "y"])
        #expect(table.rows[0] == ["1.5", "a, b", "2"])
        #expect(table.rows[1] == ["3", "say \"hi\"", "4"])
        #expect(table.rows[2] == ["5", "two\nlines", "6"])
        #expect(table.rowLines == [2, 3, 4, 6])
        let d = try load(csv, label: "label \"quoted\"")
        #expect(d.featureColumns == ["x, first", "y"])
        #expect(d.classNames == ["a, b", "say \"hi\"", "two\nlines", "plain"])
        #expect(d.features == Matrix([[1.5, 2], [3, 4], [5, 6], [7, 8]]))
    }

    @Test func aByteOrderMarkBlankLinesAndPaddedCellsAreTolerated() throws {
        let csv = [0xEF, 0xBB, 0xBF] + Array(" a , b \n\n 1 ,\t2\n   \n3,4\n\n".utf8)
        let d = try DatasetLoader.load(DatasetSpec(path: "d.csv"), bytes: csv, displayPath: "d.csv", resolvedPath: "/d.csv")
        #expect(d.featureColumns == ["a", "b"])
        #expect(d.features == Matrix([[1, 2], [3, 4]]))
        #expect(d.sha256 == SHA256.hexDigest(csv))
    }

    @Test func labelsAreNumberedInOrderOfFirstAppearanceAndColumnsFollowTheConfig() throws {
        let d = try load("g,x,y,z\nb,1,2,3\na,4,5,6\nb,7,8,9\n", label: "g", columns: ["z", "x"])
        #expect(d.classNames == ["b", "a"])
        #expect(d.labels == [0, 1, 0])
        #expect(d.featureColumns == ["z", "x"])
        #expect(d.features == Matrix([[3, 1], [6, 4], [9, 7]]))
        let r = try load("x,y\n1,-2.5e-1\n2,+3\n", target: "y")
        #expect(r.targets == [-0.25, 3])
        #expect(r.featureColumns == ["x"])
    }

    // MARK: What fails

    struct BadCSV: Sendable, CustomTestStringConvertible {
        var csv: String
        var label: String?
        var fragment: String
        var line: Int?
        var testDescription: String { fragment }
    }

    static let badFiles: [BadCSV] = [
        BadCSV(csv: "", fragment: "d.csv: the file is empty"),
        BadCSV(csv: "\n\n", fragment: "d.csv: the file is empty"),
        BadCSV(csv: "a,b\n", fragment: "d.csv:1: the file has a header but no data rows", line: 1),
        BadCSV(csv: "a,b,c\n1,2,3\n4,5\n", fragment: "d.csv:3: line 3 has 2 fields, expected 3 (as many as the header)", line: 3),
        BadCSV(csv: "a,b\n1,2\n3,4,5\n", fragment: "d.csv:3: line 3 has 3 fields, expected 2", line: 3),
        BadCSV(csv: "a,b\n1,2\n3,x7\n", fragment: "d.csv:3: column `b` (2): expected a number, got `x7`", line: 3),
        BadCSV(csv: "a,b\n1,2\n3,0x10\n", fragment: "d.csv:3: column `b` (2): expected a number, got `0x10`", line: 3),
        BadCSV(csv: "a,b\n1,NaN\n", fragment: "d.csv:2: column `b` (2): `NaN` is not a finite number", line: 2),
        BadCSV(csv: "a,b\n1,-inf\n", fragment: "d.csv:2: column `b` (2): `-inf` is not a finite number", line: 2),
        BadCSV(csv: "a,b\n1,1e999\n", fragment: "d.csv:2: column `b` (2): `1e999` is out of the range of a double", line: 2),
        BadCSV(csv: "a,b\n1,\n", fragment: "d.csv:2: column `b` (2): empty cell", line: 2),
        BadCSV(csv: "a,b,a\n1,2,3\n", fragment: "d.csv:1: duplicate column name `a` (columns 1 and 3)", line: 1),
        BadCSV(csv: "a,,c\n1,2,3\n", fragment: "d.csv:1: column 2 of the header has no name", line: 1),
        BadCSV(csv: "a,b\n1,\"2\n", fragment: "d.csv:2: a quoted field opened on this line is never closed", line: 2),
        BadCSV(csv: "a,b\n1,\"2\"x\n", fragment: "d.csv:2: unexpected text after the closing quote of field 2", line: 2),
        BadCSV(csv: "a,b\n1,2\"\n", fragment: "d.csv:2: a quote inside unquoted field 2", line: 2),
        BadCSV(csv: "a,g\n1,x\n2,\n", label: "g", fragment: "d.csv:3: label column `g` is empty on this row", line: 3),
        BadCSV(csv: "a,b\n1,2\n", label: "group", fragment: "d.csv:1: label column `group` is not in the file\n  the columns are: a, b", line: 1),
        BadCSV(csv: "g\nx\ny\n", label: "g", fragment: "no feature columns: the file has only the label column", line: 1),
    ]

    @Test(arguments: badFiles)
    func badFileIsRejectedWithFileAndLine(_ bad: BadCSV) {
        guard let error = error(bad.csv, label: bad.label) else {
            Issue.record("accepted: \(bad.csv)")
            return
        }
        #expect(error.description.contains(bad.fragment), "\(error.description)")
        #expect(error.line == bad.line, "\(error.description)")
    }

    @Test func invalidUTF8InADatasetIsReportedWithItsLine() {
        let bytes = Array("a,b\n1,2\n".utf8) + [0xFF] + Array(",3\n".utf8)
        do {
            _ = try DatasetLoader.parseCSV(bytes, file: "bad.csv")
            Issue.record("accepted invalid UTF-8")
        } catch {
            #expect(error.line == 3)
            #expect(error.message == "the file is not valid UTF-8")
        }
    }

    // MARK: Through the config

    /// Writes `csv` and a config naming it, and returns the config's load error.
    func configError(csv: String?, real: String, model: String = "{kind: mvn}", samples: Int = 3, rest: String = "") -> ConfigError? {
        let folder = TemporaryFolder()
        defer { folder.remove() }
        if let csv { folder.write("data.csv", csv) }
        let path = folder.write("exp.yaml", "name: d\nsamples: \(samples)\nreal: \(real)\nmodel: \(model)\n" + rest)
        do {
            _ = try T.loader.load(path: path)
            return nil
        } catch {
            return error
        }
    }

    static let tenRows = "x,y,g\n" + (0..<10).map { "\($0),\($0 * $0),\($0 % 2 == 0 ? "even" : "odd")" }.joined(separator: "\n") + "\n"

    @Test func aMissingDatasetNamesTheResolvedPathAndTheConfigLine() {
        let error = configError(csv: nil, real: "{dataset: data.csv, holdout: 2}")
        #expect(error?.keyPath == "real.dataset")
        #expect(error?.line == 3)
        #expect(error?.message.hasSuffix("data.csv: dataset file not found") == true)
        #expect(error?.hint?.hasPrefix("real.dataset is a path relative to the config file's folder") == true)
    }

    @Test func problemsInsideTheCSVPointAtTheCSVLine() {
        let error = configError(csv: "x,y\n1,2\n3,oops\n", real: "{dataset: data.csv, holdout: 1}", samples: 1)
        #expect(error?.keyPath == "real.dataset")
        #expect(error?.file?.hasSuffix("/data.csv") == true)
        #expect(error?.line == 3)
        #expect(error?.description.hasSuffix("data.csv:3: real.dataset: column `y` (2): expected a number, got `oops`\n  use `label` for a text column, or `columns` to choose the numeric columns") == true)
    }

    @Test func emptyAndHeaderOnlyDatasetsAreRejectedThroughTheConfig() {
        #expect(configError(csv: "", real: "{dataset: data.csv}")?.message.contains("the file is empty") == true)
        #expect(configError(csv: "x,y\n", real: "{dataset: data.csv}")?.message == "the file has a header but no data rows")
    }

    @Test func holdoutPlusSamplesMustFitInTheDataset() {
        let error = configError(csv: Self.tenRows, real: "{dataset: data.csv, label: g, holdout: 8}")
        #expect(error?.keyPath == "real.holdout")
        #expect(error?.line == 3)
        #expect(error?.message == "the dataset has 10 rows, fewer than holdout (8) + samples (3) = 11")
        #expect(error?.hint == "lower real.holdout to at most 7, or lower samples")
        let byDefault = configError(csv: Self.tenRows, real: "{dataset: data.csv, label: g}")
        #expect(byDefault?.message == "the dataset has 10 rows, fewer than holdout (1000, the default) + samples (3) = 1003")
    }

    @Test func freshNeedsEnoughUnusedRows() {
        // samples 3 + holdout 2 + generations 3 x round(0.5 x 3) = 2 -> 11 > 10 rows.
        let error = configError(csv: Self.tenRows, real: "{dataset: data.csv, label: g, holdout: 2}",
                                rest: "generations: 3\nregime: {kind: fresh, real_fraction: 0.5}\n")
        #expect(error?.keyPath == "regime.kind")
        #expect(error?.message.contains("= 11 rows needed, the dataset has 10") == true)
        // Two generations fit: 3 + 2 + 2 x 2 = 9.
        #expect(configError(csv: Self.tenRows, real: "{dataset: data.csv, label: g, holdout: 2}",
                            rest: "generations: 2\nregime: {kind: fresh, real_fraction: 0.5}\n") == nil)
    }

    @Test func aSingleClassLabelIsRejectedForClassConditionalModels() {
        let csv = "x,g\n1,a\n2,a\n3,a\n4,a\n"
        let error = configError(csv: csv, real: "{dataset: data.csv, label: g, holdout: 1}",
                                model: "{kind: gaussian, class_conditional: true}")
        #expect(error?.keyPath == "real.label")
        #expect(error?.message == "column `g` has a single class (`a`); model.class_conditional needs at least 2")
        #expect(configError(csv: csv, real: "{dataset: data.csv, label: g, holdout: 1}", model: "{kind: gaussian}") == nil)
    }

    @Test func namedColumnsMustExist() {
        let label = configError(csv: Self.tenRows, real: "{dataset: data.csv, label: G, holdout: 2}")
        #expect(label?.keyPath == "real.label")
        #expect(label?.line == 3)
        #expect(label?.message.hasPrefix("label column `G` is not in the file; did you mean `g`?") == true)
        #expect(label?.hint == "the columns are: x, y, g")
        let column = configError(csv: Self.tenRows, real: "{dataset: data.csv, columns: [x, z], holdout: 2}")
        #expect(column?.keyPath == "real.columns[1]")
        let target = configError(csv: Self.tenRows, real: "{dataset: data.csv, target: g, holdout: 2}", model: "{kind: linear-regression}")
        #expect(target?.description.contains("column `g` (3): expected a number, got `even`") == true)
    }

    @Test func theDatasetMustSuitTheModel() {
        let target = configError(csv: Self.tenRows, real: "{dataset: data.csv, target: y, columns: [x], holdout: 2}")
        #expect(target?.keyPath == "real.target")
        let gaussian = configError(csv: Self.tenRows, real: "{dataset: data.csv, label: g, holdout: 2}", model: "{kind: gaussian}")
        #expect(gaussian?.message == "model gaussian is 1-D but the real data have 2 dimensions (real.dataset data.csv with 2 feature columns)")
        #expect(configError(csv: Self.tenRows, real: "{dataset: data.csv, label: g, columns: [y], holdout: 2}", model: "{kind: gaussian}") == nil)
    }
}

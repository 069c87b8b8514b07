import CollapseCore
import Foundation

/// A problem with a dataset CSV file, or with a column the config names in it.
///
/// `description`: `data/adult.csv:14: line 14 has 3 fields, expected 4 (as many as the header)`.
public struct DatasetError: Error, Sendable, Equatable, CustomStringConvertible {
    /// Which part of the request is at fault: the file's content, or a column named in the config.
    public enum Subject: Sendable, Equatable {
        /// The file itself (missing, unreadable, malformed, bad cell): see `line`.
        case file
        /// The `label` column name.
        case label
        /// The `target` column name.
        case target
        /// The `columns` entry at this index.
        case column(Int)
    }

    /// The file as the user can open it (the config's folder joined with the written path).
    public var file: String
    /// 1-based line of the CSV file, when the problem is on one line.
    public var line: Int?
    public var subject: Subject
    public var message: String
    public var hint: String?

    public init(file: String, line: Int? = nil, subject: Subject = .file, message: String, hint: String? = nil) {
        self.file = file
        self.line = line
        self.subject = subject
        self.message = message
        self.hint = hint
    }

    public var description: String {
        var text = file + (line.map { ":\($0)" } ?? "") + ": " + message
        if let hint { text += "\n  " + hint }
        return text
    }
}

/// What a config asks of a dataset: the file (as written, relative to the config's folder) and
/// which columns play which role.
public struct DatasetSpec: Sendable, Hashable {
    public var path: String
    /// Class label column (any text; classes numbered in order of first appearance).
    public var label: String?
    /// Regression target column (numeric).
    public var target: String?
    /// Feature columns, in this order; nil = every column except `label` / `target`, in file order.
    public var columns: [String]?

    public init(path: String, label: String? = nil, target: String? = nil, columns: [String]? = nil) {
        self.path = path
        self.label = label
        self.target = target
        self.columns = columns
    }
}

/// A parsed CSV file: the header, the data rows (as text) and the line each row starts on.
public struct CSVTable: Sendable, Equatable {
    public var header: [String]
    public var rows: [[String]]
    /// 1-based line number of the start of each row (rows may span lines inside quotes).
    public var rowLines: [Int]
}

/// Reads dataset CSV files (docs/CONFIG.md, "Dataset files").
///
/// Format: UTF-8 (a leading byte-order mark is skipped), a header row of unique column names,
/// comma-separated fields, RFC 4180 quoting (a field starting with `"` ends at the next lone `"`;
/// `""` inside is one quote; commas and line breaks inside quotes are data), records ending in LF
/// or CRLF, blank lines ignored. Numeric cells are trimmed of spaces and tabs and must be finite
/// decimal numbers (`Double(text)`; no NaN, no infinity, no hexadecimal, no empty cells).
public enum DatasetLoader {
    /// Loads the file `spec.path`, resolved against `configDirectory` (the config file's folder;
    /// "" for the working directory; absolute paths are used as they are).
    public static func load(_ spec: DatasetSpec, configDirectory: String) throws(DatasetError) -> DatasetConfig {
        let display = displayPath(spec.path, configDirectory: configDirectory)
        let resolved = absolutePath(display)
        var isDirectory: ObjCBool = false
        guard FileManager.default.fileExists(atPath: resolved, isDirectory: &isDirectory) else {
            let base = configDirectory.isEmpty ? "the working directory" : "the config file's folder (\(configDirectory))"
            throw DatasetError(file: display, message: "dataset file not found",
                               hint: "real.dataset is a path relative to \(base)")
        }
        if isDirectory.boolValue {
            throw DatasetError(file: display, message: "is a folder, not a CSV file")
        }
        guard let data = FileManager.default.contents(atPath: resolved) else {
            throw DatasetError(file: display, message: "cannot read the file (check its permissions)")
        }
        return try load(spec, bytes: [UInt8](data), displayPath: display, resolvedPath: resolved)
    }

    /// Builds the dataset from a file's bytes (`displayPath` names it in errors).
    public static func load(_ spec: DatasetSpec, bytes: [UInt8], displayPath: String,
                            resolvedPath: String) throws(DatasetError) -> DatasetConfig {
        let table = try parseCSV(bytes, file: displayPath)
        let header = table.header
        func columnIndex(_ name: String, subject: DatasetError.Subject, role: String) throws(DatasetError) -> Int {
            guard let index = header.firstIndex(of: name) else {
                var message = "\(role) column `\(name)` is not in the file"
                if let guess = Suggest.closest(to: name, in: header) { message += "; did you mean `\(guess)`?" }
                throw DatasetError(file: displayPath, line: 1, subject: subject, message: message,
                                   hint: "the columns are: " + header.joined(separator: ", "))
            }
            return index
        }
        let labelIndex: Int?
        if let label = spec.label { labelIndex = try columnIndex(label, subject: .label, role: "label") } else { labelIndex = nil }
        let targetIndex: Int?
        if let target = spec.target { targetIndex = try columnIndex(target, subject: .target, role: "target") } else { targetIndex = nil }
        var featureIndices: [Int] = []
        if let columns = spec.columns {
            for (i, name) in columns.enumerated() {
                let index = try columnIndex(name, subject: .column(i), role: "feature")
                if index == labelIndex || index == targetIndex {
                    throw DatasetError(file: displayPath, line: 1, subject: .column(i),
                                       message: "`\(name)` is the \(index == labelIndex ? "label" : "target") column; it cannot also be a feature")
                }
                if featureIndices.contains(index) {
                    throw DatasetError(file: displayPath, line: 1, subject: .column(i), message: "feature column `\(name)` is listed twice")
                }
                featureIndices.append(index)
            }
        } else {
            featureIndices = header.indices.filter { $0 != labelIndex && $0 != targetIndex }
        }
        guard !featureIndices.isEmpty else {
            throw DatasetError(file: displayPath, line: 1, message: "no feature columns: the file has only the \(labelIndex != nil ? "label" : "target") column")
        }

        let d = featureIndices.count
        var storage = [Double]()
        storage.reserveCapacity(table.rows.count * d)
        var targets: [Double]? = targetIndex == nil ? nil : []
        var labels: [Int]? = labelIndex == nil ? nil : []
        var classNames: [String] = []
        var classIndex: [String: Int] = [:]
        for (r, row) in table.rows.enumerated() {
            let line = table.rowLines[r]
            for j in featureIndices {
                storage.append(try number(row[j], line: line, column: j, header: header, file: displayPath))
            }
            if let t = targetIndex {
                targets!.append(try number(row[t], line: line, column: t, header: header, file: displayPath))
            }
            if let l = labelIndex {
                let value = trimmed(row[l])
                guard !value.isEmpty else {
                    throw DatasetError(file: displayPath, line: line, message: "label column `\(header[l])` is empty on this row",
                                       hint: "every row needs a class label")
                }
                if let k = classIndex[value] {
                    labels!.append(k)
                } else {
                    classIndex[value] = classNames.count
                    labels!.append(classNames.count)
                    classNames.append(value)
                }
            }
        }
        return DatasetConfig(path: spec.path, resolvedPath: resolvedPath, sha256: SHA256.hexDigest(bytes),
                             featureColumns: featureIndices.map { header[$0] },
                             labelColumn: labelIndex.map { header[$0] }, targetColumn: targetIndex.map { header[$0] },
                             features: Matrix(rows: table.rows.count, columns: d, storage: storage),
                             labels: labels, classNames: labelIndex == nil ? nil : classNames, targets: targets)
    }

    // MARK: CSV

    /// Parses CSV bytes into a header and rows of equal width.
    public static func parseCSV(_ bytes: [UInt8], file: String) throws(DatasetError) -> CSVTable {
        var start = 0
        if bytes.count >= 3 && bytes[0] == 0xEF && bytes[1] == 0xBB && bytes[2] == 0xBF { start = 3 }
        if let bad = ConfigDocument.firstInvalidUTF8Offset(Array(bytes[start...])) {
            let (line, _) = ConfigDocument.position(ofByte: bad + start, in: bytes)
            throw DatasetError(file: file, line: line, message: "the file is not valid UTF-8", hint: "save the CSV as UTF-8")
        }
        let quote = UInt8(ascii: "\""), comma = UInt8(ascii: ","), cr = UInt8(ascii: "\r"), lf = UInt8(ascii: "\n")
        let space = UInt8(ascii: " "), tab = UInt8(ascii: "\t")
        let n = bytes.count
        var i = start
        var line = 1
        var records: [[String]] = []
        var recordLines: [Int] = []

        func isEndOfLine(_ k: Int) -> Bool { k >= n || bytes[k] == cr || bytes[k] == lf }

        while i < n {
            // Blank (or whitespace-only) lines are skipped.
            var k = i
            while k < n && (bytes[k] == space || bytes[k] == tab) { k += 1 }
            if isEndOfLine(k) {
                i = k
                if i < n {
                    if bytes[i] == cr && i + 1 < n && bytes[i + 1] == lf { i += 1 }
                    i += 1
                    line += 1
                }
                continue
            }
            let recordLine = line
            var fields: [String] = []
            while true {
                var k = i
                while k < n && (bytes[k] == space || bytes[k] == tab) { k += 1 }
                if k < n && bytes[k] == quote {
                    let quoteLine = line
                    i = k + 1
                    var buffer: [UInt8] = []
                    while true {
                        guard i < n else {
                            throw DatasetError(file: file, line: quoteLine, message: "a quoted field opened on this line is never closed",
                                               hint: "close it with `\"`; write a quote inside a quoted field as `\"\"`")
                        }
                        let b = bytes[i]
                        if b == quote {
                            if i + 1 < n && bytes[i + 1] == quote {
                                buffer.append(quote)
                                i += 2
                                continue
                            }
                            i += 1
                            break
                        }
                        if b == lf { line += 1 }
                        buffer.append(b)
                        i += 1
                    }
                    while i < n && (bytes[i] == space || bytes[i] == tab) { i += 1 }
                    if i < n && bytes[i] != comma && bytes[i] != cr && bytes[i] != lf {
                        throw DatasetError(file: file, line: line, message: "unexpected text after the closing quote of field \(fields.count + 1)",
                                           hint: "a quoted field must end right before a comma or the end of the line; write a quote inside it as `\"\"`")
                    }
                    fields.append(String(decoding: buffer, as: UTF8.self))
                } else {
                    let fieldStart = i
                    while i < n && bytes[i] != comma && bytes[i] != cr && bytes[i] != lf {
                        if bytes[i] == quote {
                            throw DatasetError(file: file, line: line, message: "a quote inside unquoted field \(fields.count + 1)",
                                               hint: "quote the whole field and double the quotes inside it: \"say \"\"hi\"\"\"")
                        }
                        i += 1
                    }
                    fields.append(String(decoding: bytes[fieldStart..<i], as: UTF8.self))
                }
                if i < n && bytes[i] == comma {
                    i += 1
                    continue
                }
                break
            }
            if i < n {
                if bytes[i] == cr && i + 1 < n && bytes[i + 1] == lf { i += 1 }
                i += 1
                line += 1
            }
            records.append(fields)
            recordLines.append(recordLine)
        }

        guard let header = records.first else {
            throw DatasetError(file: file, message: "the file is empty", hint: "a dataset needs a header row and at least one data row")
        }
        let names = header.map(trimmed)
        for (j, name) in names.enumerated() where name.isEmpty {
            throw DatasetError(file: file, line: recordLines[0], message: "column \(j + 1) of the header has no name",
                               hint: "the first row must name every column")
        }
        for (j, name) in names.enumerated() {
            if let first = names[..<j].firstIndex(of: name) {
                throw DatasetError(file: file, line: recordLines[0],
                                   message: "duplicate column name `\(name)` (columns \(first + 1) and \(j + 1))",
                                   hint: "column names must be unique")
            }
        }
        guard records.count > 1 else {
            throw DatasetError(file: file, line: recordLines[0], message: "the file has a header but no data rows")
        }
        for r in 1..<records.count where records[r].count != names.count {
            throw DatasetError(file: file, line: recordLines[r],
                               message: "line \(recordLines[r]) has \(records[r].count) field\(records[r].count == 1 ? "" : "s"), expected \(names.count) (as many as the header)",
                               hint: "a field containing a comma must be quoted: \"1,5\"")
        }
        return CSVTable(header: names, rows: Array(records.dropFirst()), rowLines: Array(recordLines.dropFirst()))
    }

    /// A numeric cell: trimmed, then a finite decimal number.
    static func number(_ cell: String, line: Int, column: Int, header: [String], file: String) throws(DatasetError) -> Double {
        let text = trimmed(cell)
        let name = "column `\(header[column])` (\(column + 1))"
        if text.isEmpty {
            throw DatasetError(file: file, line: line, message: "\(name): empty cell",
                               hint: "every feature and target cell needs a number; drop or impute rows with missing values")
        }
        let lower = text.lowercased()
        let unsigned = (lower.first == "+" || lower.first == "-") ? String(lower.dropFirst()) : lower
        if ["nan", "inf", "infinity", "snan"].contains(unsigned) {
            throw DatasetError(file: file, line: line, message: "\(name): `\(text)` is not a finite number",
                               hint: "NaN and infinite values are not allowed in datasets")
        }
        let allowed = Set("0123456789+-.eE")
        guard text.allSatisfy({ allowed.contains($0) }), let x = Double(text) else {
            throw DatasetError(file: file, line: line, message: "\(name): expected a number, got `\(text)`",
                               hint: "use `label` for a text column, or `columns` to choose the numeric columns")
        }
        guard x.isFinite else {
            throw DatasetError(file: file, line: line, message: "\(name): `\(text)` is out of the range of a double",
                               hint: "NaN and infinite values are not allowed in datasets")
        }
        return x
    }

    static func trimmed(_ s: String) -> String {
        var sub = Substring(s)
        while let c = sub.first, c == " " || c == "\t" { sub = sub.dropFirst() }
        while let c = sub.last, c == " " || c == "\t" { sub = sub.dropLast() }
        return String(sub)
    }

    // MARK: Paths

    /// The config's folder joined with the written path (absolute paths unchanged).
    static func displayPath(_ written: String, configDirectory: String) -> String {
        if written.hasPrefix("/") || configDirectory.isEmpty { return written }
        return configDirectory.hasSuffix("/") ? configDirectory + written : configDirectory + "/" + written
    }

    /// An absolute, standardised path (`.` and `..` removed).
    static func absolutePath(_ path: String) -> String {
        let absolute = path.hasPrefix("/") ? path : FileManager.default.currentDirectoryPath + "/" + path
        return URL(fileURLWithPath: absolute).standardizedFileURL.path
    }

    /// The folder of a file path ("" for a bare file name).
    static func directory(of path: String) -> String {
        guard let slash = path.lastIndex(of: "/") else { return "" }
        if slash == path.startIndex { return "/" }
        return String(path[..<slash])
    }
}

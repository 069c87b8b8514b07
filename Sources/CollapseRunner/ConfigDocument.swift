import Foundation
import Yams

// The config file as a small tree of mappings, lists and scalars that remembers where every node was
// written. Yams composes the YAML (keeping line/column marks); `ConfigDocument.parse` copies that tree
// into `ConfigNode`s, rejecting what the schema can never accept (duplicate keys, non-string keys,
// custom tags, absurd nesting or alias expansion) before the schema reader walks it.

/// Hard limits of config files (not defaults: nothing below can be changed by a config).
public enum ConfigLimits {
    /// Largest config file accepted: 1 MiB. A config describes an experiment; data belong in a CSV.
    public static let maxConfigBytes = 1 << 20
    /// Deepest nesting of lists and mappings accepted while reading (the schema itself needs 5:
    /// top level > `real` > `covariances` > one matrix > one row).
    public static let maxNesting = 16
    /// Most nodes a config may expand to (aliases are copied where they are used).
    public static let maxNodes = 1_000_000
    /// Largest data dimension d of a distribution (a d x d covariance is held per variant).
    public static let maxDimension = 1024
    /// Largest Zipf vocabulary V.
    public static let maxVocabulary = 10_000_000
    /// Most variants a sweep may expand to.
    public static let maxVariants = 100_000
}

/// A position in a config file: 1-based line and column (columns count Unicode scalars).
struct SourceMark: Sendable, Equatable {
    var line: Int
    var column: Int
}

/// One node of the config tree.
struct ConfigNode: Sendable {
    enum Content: Sendable {
        case scalar(ConfigScalar)
        case mapping([ConfigEntry])
        case sequence([ConfigNode])
    }

    var content: Content
    /// Where the node was written; nil for values that come from the command line.
    var mark: SourceMark?
    /// Where a value without a mark came from, e.g. `--replicates`.
    var origin: String?

    init(_ content: Content, mark: SourceMark?, origin: String? = nil) {
        self.content = content
        self.mark = mark
        self.origin = origin
    }

    var scalar: ConfigScalar? {
        if case let .scalar(s) = content { return s }
        return nil
    }

    var entries: [ConfigEntry]? {
        if case let .mapping(e) = content { return e }
        return nil
    }

    var items: [ConfigNode]? {
        if case let .sequence(i) = content { return i }
        return nil
    }

    /// How the node reads in an error message: a scalar as written (quoted if it was quoted), or
    /// `a list` / `a mapping`.
    var foundDescription: String {
        var text: String
        switch content {
        case let .scalar(s): text = s.foundDescription
        case let .mapping(e): text = e.isEmpty ? "an empty mapping" : "a mapping"
        case let .sequence(i): text = i.isEmpty ? "an empty list" : "a list"
        }
        if let origin { text += " (from \(origin))" }
        return text
    }

    /// The value at a dotted path of mapping keys (no list indices), if every step exists.
    func value(at path: [String]) -> ConfigNode? {
        guard let first = path.first else { return self }
        guard let entry = entries?.first(where: { $0.key == first }) else { return nil }
        return entry.value.value(at: Array(path.dropFirst()))
    }

    /// A copy with `value` at `path`, creating mappings for missing sections (located at `value`,
    /// so an error in a section that only a sweep creates points at the swept value) and
    /// replacing whatever stood there. Steps through non-mappings are left alone (the schema reader
    /// reports them).
    func setting(_ value: ConfigNode, at path: [String]) -> ConfigNode {
        guard let first = path.first else { return value }
        guard var entries = entries else { return self }
        if let i = entries.firstIndex(where: { $0.key == first }) {
            entries[i].value = entries[i].value.setting(value, at: Array(path.dropFirst()))
        } else {
            let empty = ConfigNode(.mapping([]), mark: value.mark)
            entries.append(ConfigEntry(key: first, keyMark: value.mark, value: empty.setting(value, at: Array(path.dropFirst()))))
        }
        var copy = self
        copy.content = .mapping(entries)
        return copy
    }

    /// A copy without the top-level key `key`.
    func removing(_ key: String) -> ConfigNode {
        guard let entries else { return self }
        var copy = self
        copy.content = .mapping(entries.filter { $0.key != key })
        return copy
    }
}

/// A key and its value in a mapping.
struct ConfigEntry: Sendable {
    var key: String
    var keyMark: SourceMark?
    var value: ConfigNode
}

/// A scalar as written. `isPlain` is false for quoted and block scalars (and `!!str`): those are
/// always strings, never numbers, booleans or null.
struct ConfigScalar: Sendable {
    var text: String
    var isPlain: Bool

    /// YAML 1.2 core-schema null: `~`, `null`, `Null`, `NULL` or nothing at all.
    var isNull: Bool { isPlain && ["", "~", "null", "Null", "NULL"].contains(text) }

    /// YAML 1.2 core-schema booleans only (`yes`, `on` and friends are strings).
    var bool: Bool? {
        guard isPlain else { return nil }
        switch text {
        case "true", "True", "TRUE": return true
        case "false", "False", "FALSE": return false
        default: return nil
        }
    }

    /// Whether the text is a decimal integer literal (`[-+]?[0-9]+`), whatever its size.
    var isIntegerLiteral: Bool {
        guard isPlain else { return false }
        var digits = Substring(text)
        if digits.first == "-" || digits.first == "+" { digits = digits.dropFirst() }
        return !digits.isEmpty && digits.allSatisfy { $0.isASCII && $0.isNumber }
    }

    /// Whether the text is a decimal number literal: `[-+]?(.[0-9]+|[0-9]+(.[0-9]*)?)([eE][-+]?[0-9]+)?`
    /// or one of the YAML spellings of infinity and NaN (`.inf`, `-.inf`, `.nan`, ...).
    var isNumberLiteral: Bool {
        guard isPlain else { return false }
        if Self.specialNumber(text) != nil { return true }
        var rest = Substring(text)
        if rest.first == "-" || rest.first == "+" { rest = rest.dropFirst() }
        let mantissaEnd = rest.firstIndex(where: { $0 == "e" || $0 == "E" }) ?? rest.endIndex
        let mantissa = rest[..<mantissaEnd]
        let parts = mantissa.split(separator: ".", maxSplits: 1, omittingEmptySubsequences: false)
        let isDigits: (Substring) -> Bool = { $0.allSatisfy { $0.isASCII && $0.isNumber } }
        guard parts.allSatisfy(isDigits), parts.contains(where: { !$0.isEmpty }) else { return false }
        if mantissaEnd < rest.endIndex {
            var exponent = rest[rest.index(after: mantissaEnd)...]
            if exponent.first == "-" || exponent.first == "+" { exponent = exponent.dropFirst() }
            guard !exponent.isEmpty, isDigits(exponent) else { return false }
        }
        return true
    }

    /// The integer value, when the text is an integer literal that fits an `Int`.
    var int: Int? { isIntegerLiteral ? Int(text) : nil }

    /// The numeric value of an integer or number literal (may be infinite or NaN).
    var number: Double? {
        guard isNumberLiteral else { return nil }
        if let special = Self.specialNumber(text) { return special }
        return Double(text)
    }

    private static func specialNumber(_ text: String) -> Double? {
        switch text {
        case ".inf", ".Inf", ".INF", "+.inf", "+.Inf", "+.INF": return .infinity
        case "-.inf", "-.Inf", "-.INF": return -.infinity
        case ".nan", ".NaN", ".NAN": return .nan
        default: return nil
        }
    }

    /// The value as a sweep column shows it, keeping its written type.
    var configValue: ConfigValue {
        if let b = bool { return .bool(b) }
        if isIntegerLiteral {
            // An integer too large for Int (a seed near 2^64) keeps its exact spelling.
            if let i = Int(text) { return .integer(i) }
            return .string(text)
        }
        if let x = number { return .number(x) }
        return .string(text)
    }

    var foundDescription: String {
        if isNull { return "nothing (null)" }
        let shown = text.count > 60 ? String(text.prefix(57)) + "..." : text
        if isPlain { return shown }
        return "\"" + shown.replacingOccurrences(of: "\\", with: "\\\\").replacingOccurrences(of: "\"", with: "\\\"")
            .replacingOccurrences(of: "\n", with: "\\n") + "\""
    }
}

enum ConfigDocument {
    /// Checks size and encoding, then parses. `file` is the name used in error messages.
    static func parse(bytes: [UInt8], file: String) throws(ConfigError) -> (text: String, root: ConfigNode) {
        try checkSize(bytes.count, file: file)
        if let offset = firstInvalidUTF8Offset(bytes) {
            let (line, column) = position(ofByte: offset, in: bytes)
            throw ConfigError(file: file, line: line, column: column,
                              message: "the file is not valid UTF-8 (byte 0x\(String(bytes[offset], radix: 16, uppercase: true)) at offset \(offset))",
                              hint: "save the config as UTF-8 text")
        }
        let text = String(decoding: bytes, as: UTF8.self)
        return (text, try parse(text: text, file: file))
    }

    static func checkSize(_ byteCount: Int, file: String) throws(ConfigError) {
        if byteCount > ConfigLimits.maxConfigBytes {
            throw ConfigError(file: file, message: "the config is \(byteCount) bytes; the limit is \(ConfigLimits.maxConfigBytes) bytes (1 MB)",
                              hint: "a config describes an experiment; put data in a CSV file and name it with real.dataset")
        }
    }

    /// Parses YAML text into the config tree; the root must be a mapping.
    static func parse(text: String, file: String) throws(ConfigError) -> ConfigNode {
        try checkSize(text.utf8.count, file: file)
        // A UTF-8 byte-order mark is not part of the text (libyaml would read it as a character).
        let text = text.hasPrefix("\u{FEFF}") ? String(text.dropFirst()) : text
        let composed: Node?
        do {
            composed = try Yams.compose(yaml: text)
        } catch let error as YamlError {
            throw translate(error, text: text, file: file)
        } catch {
            throw ConfigError(file: file, message: "cannot read the YAML: \(error)")
        }
        guard let composed else {
            throw ConfigError(file: file, message: "the config is empty", hint: "a config needs at least `name`, `real` and `model`")
        }
        var converter = Converter(file: file)
        let root = try converter.convert(composed, path: "", depth: 0)
        guard root.entries != nil else {
            throw ConfigError(file: file, line: root.mark?.line, column: root.mark?.column,
                              message: "expected a mapping of config keys at the top level, got \(root.foundDescription)",
                              expected: "a mapping of config keys", found: root.foundDescription,
                              hint: "a config starts like `name: my-experiment` on its first line")
        }
        return root
    }

    /// Copies Yams nodes into `ConfigNode`s with the checks no schema rule could express.
    private struct Converter {
        let file: String
        var nodeCount = 0

        mutating func convert(_ node: Node, path: String, depth: Int) throws(ConfigError) -> ConfigNode {
            let mark = node.mark.map { SourceMark(line: $0.line, column: $0.column) }
            nodeCount += 1
            if nodeCount > ConfigLimits.maxNodes {
                throw ConfigError(file: file, line: mark?.line, column: mark?.column, keyPath: path,
                                  message: "the config expands to more than \(ConfigLimits.maxNodes) values",
                                  hint: "aliases (*name) are copied where they are used; no config needs this many values")
            }
            if depth > ConfigLimits.maxNesting {
                throw ConfigError(file: file, line: mark?.line, column: mark?.column, keyPath: path,
                                  message: "lists and mappings nested more than \(ConfigLimits.maxNesting) levels deep; no config key nests like this",
                                  hint: "the deepest key, real.covariances, is a list of matrices (lists of rows)")
            }
            switch node {
            case let .scalar(s):
                return ConfigNode(.scalar(try scalar(s, path: path, mark: mark)), mark: mark)
            case let .alias(a):
                // Yams resolves aliases while composing; keep a clear message should one remain.
                throw ConfigError(file: file, line: mark?.line, column: mark?.column, keyPath: path,
                                  message: "unresolved alias *\(a.anchor)")
            case let .sequence(seq):
                var items: [ConfigNode] = []
                items.reserveCapacity(seq.count)
                for (i, item) in seq.enumerated() {
                    items.append(try convert(item, path: "\(path)[\(i)]", depth: depth + 1))
                }
                return ConfigNode(.sequence(items), mark: mark)
            case let .mapping(map):
                var entries: [ConfigEntry] = []
                var merged: [ConfigEntry] = []
                for (keyNode, valueNode) in map {
                    let keyMark = keyNode.mark.map { SourceMark(line: $0.line, column: $0.column) }
                    guard case let .scalar(keyScalar) = keyNode else {
                        throw ConfigError(file: file, line: keyMark?.line, column: keyMark?.column, keyPath: path,
                                          message: "a key must be a plain name, got \(keyNode.sequence != nil ? "a list" : "a mapping") as a key")
                    }
                    let key = keyScalar.string
                    if keyScalar.style == .plain && key == "<<" {
                        // YAML merge key: `<<: *defaults` copies the keys the mapping does not set itself.
                        merged.append(contentsOf: try mergeEntries(valueNode, path: path, depth: depth, mark: keyMark))
                        continue
                    }
                    let childPath = path.isEmpty ? key : "\(path).\(key)"
                    if let first = entries.first(where: { $0.key == key }) {
                        throw ConfigNode.duplicateKeyError(file: file, path: childPath, first: first.keyMark, second: keyMark)
                    }
                    let value = try convert(valueNode, path: childPath, depth: depth + 1)
                    entries.append(ConfigEntry(key: key, keyMark: keyMark, value: value))
                }
                for entry in merged where !entries.contains(where: { $0.key == entry.key }) {
                    entries.append(entry)
                }
                return ConfigNode(.mapping(entries), mark: mark)
            }
        }

        private mutating func mergeEntries(_ node: Node, path: String, depth: Int, mark: SourceMark?) throws(ConfigError) -> [ConfigEntry] {
            let sources: [Node]
            switch node {
            case .mapping: sources = [node]
            case let .sequence(seq) where seq.allSatisfy({ $0.mapping != nil }): sources = Array(seq)
            default:
                throw ConfigError(file: file, line: mark?.line, column: mark?.column, keyPath: path.isEmpty ? "<<" : "\(path).<<",
                                  message: "a merge key `<<` takes a mapping or a list of mappings (e.g. `<<: *defaults`)")
            }
            var result: [ConfigEntry] = []
            for source in sources {
                // Earlier mappings win over later ones, as in YAML's merge-key rules.
                let converted = try convert(source, path: path, depth: depth)
                for entry in converted.entries ?? [] where !result.contains(where: { $0.key == entry.key }) {
                    result.append(entry)
                }
            }
            return result
        }

        private func scalar(_ s: Node.Scalar, path: String, mark: SourceMark?) throws(ConfigError) -> ConfigScalar {
            let tag = s.tag.description
            let plainStyle = s.style == .plain || s.style == .any
            switch tag {
            case "":
                return ConfigScalar(text: s.string, isPlain: plainStyle)
            case "!", Tag.Name.str.rawValue:
                // A non-specific tag on a quoted scalar, or an explicit `!!str`: a string.
                return ConfigScalar(text: s.string, isPlain: tag == "!" ? plainStyle : false)
            case Tag.Name.int.rawValue, Tag.Name.float.rawValue, Tag.Name.bool.rawValue, Tag.Name.null.rawValue:
                return ConfigScalar(text: s.string, isPlain: true)
            default:
                throw ConfigError(file: file, line: mark?.line, column: mark?.column, keyPath: path,
                                  message: "YAML tag `\(tag)` is not supported",
                                  hint: "write the value without a tag; quote it to make it a string")
            }
        }
    }

    // MARK: YAML errors

    /// Turns a Yams error into a config error with the line and column of the problem.
    static func translate(_ error: YamlError, text: String, file: String) -> ConfigError {
        switch error {
        case let .scanner(context, problem, mark, _), let .parser(context, problem, mark, _),
             let .composer(context, problem, mark, _):
            var message = "YAML syntax error: \(problem)"
            if let context {
                message += " (\(context.text) at line \(context.mark.line), column \(context.mark.column))"
            }
            var hint: String?
            let line = lineText(mark.line, in: text)
            if problem.contains("undefined alias") {
                hint = "an alias *name needs an anchor &name earlier in the file"
            } else if problem.contains("another document") {
                message = "a config is one YAML document; a second document starts here"
                hint = "remove the `---` line and everything after it, or merge the documents"
            } else if problem.contains("Maximum nesting level") {
                message = "YAML nesting is deeper than the parser allows (1000 levels); no config key nests like this"
            } else if line.contains("\t") {
                hint = "YAML does not allow tabs for indentation; indent with spaces"
            } else if problem.contains("mapping values are not allowed") {
                hint = "a value containing `: ` must be quoted, and each `key: value` needs its own line"
            } else if problem.contains("could not find expected ':'") {
                hint = "every line inside a mapping needs `key: value`"
            } else if context?.text.contains("quoted scalar") == true {
                hint = "a quoted value needs its closing quote"
            } else if problem.contains("flow") || problem.contains("expected ',' or ']'") || problem.contains("expected ',' or '}'") {
                hint = "check the brackets: every `[` needs a `]` and every `{` a `}`"
            }
            return ConfigError(file: file, line: mark.line, column: mark.column, message: message, hint: hint)
        case let .reader(problem, offset, value, _):
            var line: Int?
            var column: Int?
            if let offset, let index = text.index(text.startIndex, offsetBy: offset, limitedBy: text.endIndex) {
                let before = text[..<index]
                line = before.reduce(1) { $1 == "\n" ? $0 + 1 : $0 }
                let lineStart = before.lastIndex(of: "\n").map { before.index(after: $0) } ?? before.startIndex
                column = before[lineStart...].unicodeScalars.count + 1
            }
            let character = value >= 0 ? " (U+\(String(value, radix: 16, uppercase: true)))" : ""
            return ConfigError(file: file, line: line, column: column, message: "YAML cannot read the text: \(problem)\(character)",
                               hint: "control characters other than tab and newline are not allowed in YAML")
        case let .duplicatedKeysInMapping(duplicates, context):
            return duplicateKeyError(duplicates: duplicates, firstMark: context.mark, text: text, file: file)
        default:
            return ConfigError(file: file, message: "cannot read the YAML: \(error)")
        }
    }

    /// Yams rejects duplicate keys without saying where the second one is or under which key
    /// path. To report both, the first occurrence is renamed and the text composed again: the
    /// renamed key gives the path, its namesake the second position.
    private static func duplicateKeyError(duplicates: [String], firstMark: Mark, text: String, file: String) -> ConfigError {
        let key = duplicates.sorted().first ?? "?"
        let fallback = ConfigError(file: file, line: firstMark.line, column: firstMark.column, keyPath: key,
                                   message: "duplicate key: `\(key)` appears more than once in the same mapping",
                                   hint: "keep one of them (YAML would otherwise use only one value)")
        let prefix = "mc-duplicate-key-"
        var lines = text.split(separator: "\n", omittingEmptySubsequences: false).map(String.init)
        guard firstMark.line >= 1, firstMark.line <= lines.count else { return fallback }
        var scalars = Array(lines[firstMark.line - 1].unicodeScalars)
        var at = firstMark.column - 1
        guard at >= 0, at < scalars.count else { return fallback }
        if scalars[at] == "\"" || scalars[at] == "'" { at += 1 }
        scalars.insert(contentsOf: prefix.unicodeScalars, at: at)
        var rewritten = String.UnicodeScalarView()
        rewritten.append(contentsOf: scalars)
        lines[firstMark.line - 1] = String(rewritten)
        guard let recomposed = try? Yams.compose(yaml: lines.joined(separator: "\n")),
              let found = findKey(prefix + key, in: recomposed, path: "") else { return fallback }
        guard let sibling = found.sibling else { return fallback }
        var second = SourceMark(line: sibling.line, column: sibling.column)
        if second.line == firstMark.line && second.column > firstMark.column {
            second.column -= prefix.unicodeScalars.count
        }
        let path = found.path.isEmpty ? key : "\(found.path).\(key)"
        return ConfigError(file: file, line: second.line, column: second.column, keyPath: path,
                           message: "duplicate key: `\(key)` is already set at line \(firstMark.line), column \(firstMark.column)",
                           hint: "keep one of them (YAML would otherwise use only one value)")
    }

    /// Finds the mapping holding key `renamed`: its key path and the mark of the original key.
    private static func findKey(_ renamed: String, in node: Node, path: String) -> (path: String, sibling: Mark?)? {
        switch node {
        case let .mapping(map):
            if map.contains(where: { $0.key.string == renamed }) {
                let original = String(renamed.dropFirst("mc-duplicate-key-".count))
                return (path, map.first(where: { $0.key.string == original })?.key.mark)
            }
            for (k, v) in map {
                let child = path.isEmpty ? (k.string ?? "?") : "\(path).\(k.string ?? "?")"
                if let hit = findKey(renamed, in: v, path: child) { return hit }
            }
            return nil
        case let .sequence(seq):
            for (i, v) in seq.enumerated() {
                if let hit = findKey(renamed, in: v, path: "\(path)[\(i)]") { return hit }
            }
            return nil
        default:
            return nil
        }
    }

    private static func lineText(_ line: Int, in text: String) -> Substring {
        var current = 1
        var start = text.startIndex
        while current < line, let newline = text[start...].firstIndex(of: "\n") {
            start = text.index(after: newline)
            current += 1
        }
        guard current == line else { return "" }
        let end = text[start...].firstIndex(of: "\n") ?? text.endIndex
        return text[start..<end]
    }

    // MARK: UTF-8

    /// The offset of the first byte that breaks UTF-8 well-formedness (Unicode table 3-7), or nil.
    static func firstInvalidUTF8Offset(_ bytes: [UInt8]) -> Int? {
        var i = 0
        let n = bytes.count
        while i < n {
            let b = bytes[i]
            if b < 0x80 { i += 1; continue }
            let length: Int
            var low: UInt8 = 0x80, high: UInt8 = 0xBF // allowed range of the second byte
            switch b {
            case 0xC2...0xDF: length = 2
            case 0xE0: length = 3; low = 0xA0
            case 0xE1...0xEC, 0xEE...0xEF: length = 3
            case 0xED: length = 3; high = 0x9F
            case 0xF0: length = 4; low = 0x90
            case 0xF1...0xF3: length = 4
            case 0xF4: length = 4; high = 0x8F
            default: return i
            }
            guard i + 1 < n, bytes[i + 1] >= low, bytes[i + 1] <= high else { return i }
            for k in 2..<length {
                guard i + k < n, bytes[i + k] & 0xC0 == 0x80 else { return i }
            }
            i += length
        }
        return nil
    }

    /// 1-based line and column (in characters of the valid text before it) of byte `offset`.
    static func position(ofByte offset: Int, in bytes: [UInt8]) -> (line: Int, column: Int) {
        var line = 1
        var lineStart = 0
        for i in 0..<offset where bytes[i] == UInt8(ascii: "\n") {
            line += 1
            lineStart = i + 1
        }
        let prefix = String(decoding: bytes[lineStart..<offset], as: UTF8.self)
        return (line, prefix.unicodeScalars.count + 1)
    }
}

extension ConfigNode {
    static func duplicateKeyError(file: String, path: String, first: SourceMark?, second: SourceMark?) -> ConfigError {
        let key = path.split(separator: ".").last.map(String.init) ?? path
        let firstAt = first.map { " at line \($0.line), column \($0.column)" } ?? ""
        return ConfigError(file: file, line: second?.line, column: second?.column, keyPath: path,
                           message: "duplicate key: `\(key)` is already set\(firstAt)",
                           hint: "keep one of them (YAML would otherwise use only one value)")
    }
}

import CollapseCore
import Foundation

// Strict, typed reads from the config tree. Every read knows its key path and the position of the
// node it reads, so every error names both; nothing is coerced (a quoted "5" is not a number, `yes`
// is not a boolean, 2.0 is not an integer).

/// The accepted range of a number key.
enum NumberRange: Sendable {
    case any
    case positive
    case nonNegative
    case unitInterval

    func contains(_ x: Double) -> Bool {
        switch self {
        case .any: return x.isFinite
        case .positive: return x.isFinite && x > 0
        case .nonNegative: return x.isFinite && x >= 0
        case .unitInterval: return x >= 0 && x <= 1
        }
    }

    var expectation: String {
        switch self {
        case .any: return "a finite number"
        case .positive: return "a number > 0"
        case .nonNegative: return "a number >= 0"
        case .unitInterval: return "a number in [0, 1]"
        }
    }
}

/// A mapping of the config with its key path, read key by key.
struct Section {
    let path: String
    let node: ConfigNode
    let entries: [ConfigEntry]

    subscript(key: String) -> ConfigNode? { entries.first(where: { $0.key == key })?.value }

    func has(_ key: String) -> Bool { entries.contains(where: { $0.key == key }) }

    func childPath(_ key: String) -> String { path.isEmpty ? key : "\(path).\(key)" }

    /// The position of a key (where it was written), or of the section if the key is absent.
    func keyMark(_ key: String) -> SourceMark? {
        entries.first(where: { $0.key == key })?.keyMark ?? node.mark
    }

    /// How the section is named in messages: `the top level`, `` `real` ``.
    var displayName: String { path.isEmpty ? "the top level" : "`\(path)`" }
}

struct ConfigReader {
    /// The config file's name as the user gave it.
    let file: String

    // MARK: Errors

    func error(at node: ConfigNode?, _ path: String, _ message: String, hint: String? = nil) -> ConfigError {
        ConfigError(file: file, line: node?.mark?.line, column: node?.mark?.column, keyPath: path, message: message, hint: hint)
    }

    func error(at mark: SourceMark?, _ path: String, _ message: String, hint: String? = nil) -> ConfigError {
        ConfigError(file: file, line: mark?.line, column: mark?.column, keyPath: path, message: message, hint: hint)
    }

    /// `expected <expected>, got <what the node holds>`, with a hint for the usual slips.
    func wrong(_ node: ConfigNode, _ path: String, expected: String, hint: String? = nil) -> ConfigError {
        var hint = hint
        if hint == nil, let s = node.scalar {
            let wantsNumber = expected.contains("number") || expected.contains("integer")
            if !s.isPlain && wantsNumber && ConfigScalar(text: s.text, isPlain: true).isNumberLiteral {
                hint = "remove the quotes: a quoted value is a string"
            } else if expected.contains("integer"), !s.isIntegerLiteral, let x = s.number, x.isFinite, x == x.rounded(), abs(x) < 1e15 {
                hint = "write it as an integer: \(Int(x))"
            } else if expected.contains("true or false"), s.isPlain, ["yes", "no", "on", "off", "y", "n"].contains(s.text.lowercased()) {
                hint = "YAML 1.2 booleans are `true` and `false`"
            }
        }
        if hint == nil, node.scalar?.isNull == true {
            hint = "give a value, or remove the key to use the default"
        }
        return ConfigError.wrongValue(file: file, line: node.mark?.line, column: node.mark?.column, keyPath: path,
                                      expected: expected, found: node.foundDescription, hint: hint)
    }

    func missing(_ s: Section, _ key: String, hint: String? = nil) -> ConfigError {
        error(at: s.node.mark, s.childPath(key), "required key is missing from \(s.displayName)", hint: hint)
    }

    // MARK: Sections and keys

    /// The node as a mapping section.
    func section(_ node: ConfigNode, path: String, example: String? = nil) throws(ConfigError) -> Section {
        guard let entries = node.entries else {
            throw wrong(node, path, expected: "a mapping of keys", hint: example.map { "for example `\(path): \($0)`" })
        }
        return Section(path: path, node: node, entries: entries)
    }

    /// Rejects keys outside `valid`, suggesting the closest valid key and listing them all.
    func checkKeys(_ s: Section, valid: [String]) throws(ConfigError) {
        for entry in s.entries where !valid.contains(entry.key) {
            throw unknownKey(entry, in: s, valid: valid)
        }
    }

    func unknownKey(_ entry: ConfigEntry, in s: Section, valid: [String]) -> ConfigError {
        var message = "unknown key"
        if let guess = Suggest.closest(to: entry.key, in: valid) { message += "; did you mean `\(guess)`?" }
        let hint = "valid keys in \(s.displayName): " + valid.joined(separator: ", ")
        return error(at: entry.keyMark, s.childPath(entry.key), message, hint: hint)
    }

    /// For sections whose keys depend on a kind (`real.distribution`, `model.kind`): keys of the
    /// schema that belong to another kind get a message saying so. `subject` names the kind in
    /// words (`distribution \`mvn\``); `others` pairs the other kinds, in words, with their keys.
    func checkKindKeys(_ s: Section, common: [String], subject: String, kindKeys: [String],
                       others: [(String, [String])]) throws(ConfigError) {
        let valid = common + kindKeys
        for entry in s.entries where !valid.contains(entry.key) {
            let owners = others.filter { $0.1.contains(entry.key) }.map { $0.0 }
            if owners.isEmpty { throw unknownKey(entry, in: s, valid: valid) }
            let takes = kindKeys.isEmpty ? "no keys of its own" : kindKeys.joined(separator: ", ")
            throw error(at: entry.keyMark, s.childPath(entry.key), "`\(entry.key)` does not apply to \(subject)",
                        hint: "`\(entry.key)` belongs to \(owners.joined(separator: ", ")); \(subject) takes: \(takes) (besides \(common.joined(separator: ", ")))")
        }
    }

    // MARK: Scalars

    func scalar(_ node: ConfigNode, _ path: String, expected: String) throws(ConfigError) -> ConfigScalar {
        guard let s = node.scalar, !s.isNull else { throw wrong(node, path, expected: expected) }
        return s
    }

    func int(_ node: ConfigNode, _ path: String, min: Int? = nil, max: Int? = nil) throws(ConfigError) -> Int {
        let expected = Self.intExpectation(min: min, max: max)
        guard let s = node.scalar, s.isIntegerLiteral else { throw wrong(node, path, expected: expected) }
        guard let value = s.int else {
            throw wrong(node, path, expected: expected, hint: "the value is too large for this key")
        }
        if let min, value < min { throw wrong(node, path, expected: expected) }
        if let max, value > max { throw wrong(node, path, expected: expected) }
        return value
    }

    static func intExpectation(min: Int?, max: Int?) -> String {
        switch (min, max) {
        case let (lo?, hi?): return "an integer in [\(lo), \(hi)]"
        case let (lo?, nil): return "an integer >= \(lo)"
        case let (nil, hi?): return "an integer <= \(hi)"
        case (nil, nil): return "an integer"
        }
    }

    func number(_ node: ConfigNode, _ path: String, range: NumberRange) throws(ConfigError) -> Double {
        guard let s = node.scalar, let x = s.number else { throw wrong(node, path, expected: range.expectation) }
        guard x.isFinite else {
            throw wrong(node, path, expected: range.expectation, hint: "infinity and NaN are not allowed here")
        }
        guard range.contains(x) else { throw wrong(node, path, expected: range.expectation) }
        return x
    }

    func bool(_ node: ConfigNode, _ path: String) throws(ConfigError) -> Bool {
        guard let b = node.scalar?.bool else { throw wrong(node, path, expected: "true or false") }
        return b
    }

    /// Any non-null scalar, as text (free text, names, paths).
    func string(_ node: ConfigNode, _ path: String, expected: String = "a string") throws(ConfigError) -> String {
        try scalar(node, path, expected: expected).text
    }

    /// One of a fixed set of words; a close miss is suggested.
    func choice(_ node: ConfigNode, _ path: String, options: [String]) throws(ConfigError) -> String {
        let expected = "one of " + options.joined(separator: ", ")
        let s = try scalar(node, path, expected: expected)
        guard options.contains(s.text) else {
            let hint = Suggest.closest(to: s.text, in: options).map { "did you mean `\($0)`?" }
            throw wrong(node, path, expected: expected, hint: hint)
        }
        return s.text
    }

    // MARK: Keys of a section (with defaults)

    func int(_ s: Section, _ key: String, default value: Int?, min: Int? = nil, max: Int? = nil) throws(ConfigError) -> Int {
        guard let node = s[key] else {
            if let value { return value }
            throw missing(s, key)
        }
        return try int(node, s.childPath(key), min: min, max: max)
    }

    func optionalInt(_ s: Section, _ key: String, min: Int? = nil, max: Int? = nil) throws(ConfigError) -> Int? {
        guard let node = s[key] else { return nil }
        return try int(node, s.childPath(key), min: min, max: max)
    }

    func number(_ s: Section, _ key: String, default value: Double?, range: NumberRange) throws(ConfigError) -> Double {
        guard let node = s[key] else {
            if let value { return value }
            throw missing(s, key)
        }
        return try number(node, s.childPath(key), range: range)
    }

    func optionalNumber(_ s: Section, _ key: String, range: NumberRange) throws(ConfigError) -> Double? {
        guard let node = s[key] else { return nil }
        return try number(node, s.childPath(key), range: range)
    }

    func bool(_ s: Section, _ key: String, default value: Bool) throws(ConfigError) -> Bool {
        guard let node = s[key] else { return value }
        return try bool(node, s.childPath(key))
    }

    func string(_ s: Section, _ key: String, default value: String?) throws(ConfigError) -> String {
        guard let node = s[key] else {
            if let value { return value }
            throw missing(s, key)
        }
        return try string(node, s.childPath(key))
    }

    func choice(_ s: Section, _ key: String, options: [String], default value: String?) throws(ConfigError) -> String {
        guard let node = s[key] else {
            if let value { return value }
            throw missing(s, key, hint: "one of " + options.joined(separator: ", "))
        }
        return try choice(node, s.childPath(key), options: options)
    }

    /// A non-negative integer below 2^64 (seeds).
    func uint64(_ node: ConfigNode, _ path: String) throws(ConfigError) -> UInt64 {
        let expected = "a non-negative integer below 2^64"
        guard let s = node.scalar, s.isIntegerLiteral else { throw wrong(node, path, expected: expected) }
        let digits = s.text.hasPrefix("+") ? String(s.text.dropFirst()) : s.text
        guard let value = UInt64(digits) else { throw wrong(node, path, expected: expected) }
        return value
    }

    // MARK: Lists

    func list(_ node: ConfigNode, _ path: String, expected: String, allowEmpty: Bool = false) throws(ConfigError) -> [ConfigNode] {
        guard let items = node.items else { throw wrong(node, path, expected: expected) }
        if items.isEmpty && !allowEmpty { throw wrong(node, path, expected: expected) }
        return items
    }

    /// A non-empty list of numbers in `range`, optionally of a fixed length.
    func numbers(_ node: ConfigNode, _ path: String, range: NumberRange, count: Int? = nil,
                 countReason: String = "") throws(ConfigError) -> [Double] {
        let what = range == .any ? "numbers" : range.expectation.replacingOccurrences(of: "a number", with: "numbers")
        let expected = count.map { "a list of \($0) \(what)\(countReason)" } ?? "a non-empty list of \(what)"
        let items = try list(node, path, expected: expected)
        if let count, items.count != count {
            throw error(at: node, path, "expected \(expected), got \(items.count) value\(items.count == 1 ? "" : "s")")
        }
        var values: [Double] = []
        values.reserveCapacity(items.count)
        for (i, item) in items.enumerated() {
            values.append(try number(item, "\(path)[\(i)]", range: range))
        }
        return values
    }

    /// A symmetric positive definite `order` x `order` matrix written as a list of rows.
    func covarianceMatrix(_ node: ConfigNode, _ path: String, order: Int, orderReason: String) throws(ConfigError) -> Matrix {
        let expected = "a \(order) x \(order) matrix written as a list of \(order) rows\(orderReason)"
        let rowNodes = try list(node, path, expected: expected)
        guard rowNodes.count == order else {
            throw error(at: node, path, "expected \(expected), got \(rowNodes.count) row\(rowNodes.count == 1 ? "" : "s")")
        }
        var storage: [Double] = []
        storage.reserveCapacity(order * order)
        for (i, rowNode) in rowNodes.enumerated() {
            let rowPath = "\(path)[\(i)]"
            guard rowNode.items != nil else {
                throw wrong(rowNode, rowPath, expected: "a row of \(order) numbers", hint: order == 1 ? "write a 1 x 1 matrix as [[v]]" : nil)
            }
            storage += try numbers(rowNode, rowPath, range: .any, count: order)
        }
        let m = Matrix(rows: order, columns: order, storage: storage)
        for i in 0..<order {
            if m[i, i] <= 0 {
                throw error(at: rowNodes[i], "\(path)[\(i)][\(i)]",
                            "expected a positive variance on the diagonal, got \(CSVNumber.format(m[i, i]))",
                            hint: "a covariance matrix is symmetric positive definite")
            }
            for j in 0..<i {
                let a = m[i, j], b = m[j, i]
                if abs(a - b) > 1e-12 * max(abs(a), abs(b)) {
                    throw error(at: rowNodes[i], "\(path)[\(i)][\(j)]",
                                "the matrix is not symmetric: entry [\(i)][\(j)] = \(CSVNumber.format(a)) but [\(j)][\(i)] = \(CSVNumber.format(b))",
                                hint: "a covariance matrix is symmetric positive definite")
                }
            }
        }
        do {
            _ = try Cholesky(m)
        } catch let failure {
            var detail = ""
            if case let .notPositiveDefinite(_, minor) = failure {
                detail = " (the leading \(minor) x \(minor) block has a non-positive eigenvalue)"
            }
            throw error(at: node, path, "expected a symmetric positive definite matrix; this one is not\(detail)",
                        hint: "variances must be positive and every correlation strictly between -1 and 1; use real.spectrum for a diagonal covariance")
        }
        return m
    }
}

/// "Did you mean" suggestions: the candidate nearest in edit distance (optimal string alignment:
/// insertions, deletions, substitutions and transpositions of neighbours), ignoring case and
/// `-` versus `_`, if it is near enough to be a plausible slip.
enum Suggest {
    static func closest(to word: String, in candidates: [String]) -> String? {
        let w = normalized(word)
        var best: (String, Int)?
        for candidate in candidates {
            let d = distance(w, normalized(candidate))
            if best == nil || d < best!.1 { best = (candidate, d) }
        }
        guard let (candidate, d) = best else { return nil }
        let allowed = w.count <= 3 ? 1 : (w.count <= 6 ? 2 : 3)
        return d <= allowed ? candidate : nil
    }

    private static func normalized(_ s: String) -> [Character] {
        Array(s.lowercased().replacingOccurrences(of: "-", with: "_"))
    }

    static func distance(_ a: [Character], _ b: [Character]) -> Int {
        if a.isEmpty { return b.count }
        if b.isEmpty { return a.count }
        var d = [[Int]](repeating: [Int](repeating: 0, count: b.count + 1), count: a.count + 1)
        for i in 0...a.count { d[i][0] = i }
        for j in 0...b.count { d[0][j] = j }
        for i in 1...a.count {
            for j in 1...b.count {
                let cost = a[i - 1] == b[j - 1] ? 0 : 1
                d[i][j] = min(d[i - 1][j] + 1, d[i][j - 1] + 1, d[i - 1][j - 1] + cost)
                if i > 1, j > 1, a[i - 1] == b[j - 2], a[i - 2] == b[j - 1] {
                    d[i][j] = min(d[i][j], d[i - 2][j - 2] + 1)
                }
            }
        }
        return d[a.count][b.count]
    }
}

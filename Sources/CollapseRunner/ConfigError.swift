/// A problem with a config file (or a dataset it names): where it is, which key, what was found,
/// what was expected, and how to fix it.
///
/// `description` is what the command line prints:
/// ```
/// quickstart.yaml:12:3: regime.real_fraction: expected a number in [0, 1], got 1.5
/// quickstart.yaml:3:1: replicats: unknown key; did you mean `replicates`?
///   valid top-level keys: name, description, seed, ...
/// ```
/// The location is the config file (line and column of the offending key or value), or the dataset
/// CSV file and its line for problems inside the data. Line and column are 1-based; columns count
/// Unicode scalars. Inside a sweep, the variant and its values are named after the location:
/// `exp.yaml:9:27: sweep variant 3 (regime.kind=fresh, regime.real_fraction=0.5): regime.real_fraction: ...`.
public struct ConfigError: Error, Sendable, Equatable, CustomStringConvertible {
    /// The file at fault as the user named it (the config path, or the dataset path), if any.
    public var file: String?
    public var line: Int?
    public var column: Int?
    /// The key path at fault, e.g. `regime.real_fraction`, `sweep.model.components[2]`; empty for
    /// document-level problems (syntax, encoding, size).
    public var keyPath: String
    /// The problem in words, e.g. `expected a number in [0, 1], got 1.5`.
    public var message: String
    /// What was expected (e.g. `a number in [0, 1]`), when the problem is a wrong value.
    public var expected: String?
    /// What was found, as written (e.g. `1.5`, `a list`), when the problem is a wrong value.
    public var found: String?
    /// How to fix it: valid keys, a close match, the limit to respect. Printed on its own line.
    public var hint: String?
    /// The sweep variant in which the problem arises, e.g. `sweep variant 3 (regime.kind=fresh)`.
    public var variant: String?

    public init(file: String?, line: Int? = nil, column: Int? = nil, keyPath: String = "", message: String,
                expected: String? = nil, found: String? = nil, hint: String? = nil, variant: String? = nil) {
        self.file = file
        self.line = line
        self.column = column
        self.keyPath = keyPath
        self.message = message
        self.expected = expected
        self.found = found
        self.hint = hint
        self.variant = variant
    }

    /// A wrong value: the message reads `expected <expected>, got <found>`.
    public static func wrongValue(file: String?, line: Int?, column: Int?, keyPath: String, expected: String,
                                  found: String, hint: String? = nil) -> ConfigError {
        ConfigError(file: file, line: line, column: column, keyPath: keyPath,
                    message: "expected \(expected), got \(found)", expected: expected, found: found, hint: hint)
    }

    /// `file:line:column: [variant: ][keyPath: ]message`, then the hint indented on the next line.
    public var description: String {
        var location = ""
        if let file {
            location = file
            if let line {
                location += ":\(line)"
                if let column { location += ":\(column)" }
            }
        } else if let line {
            location = "line \(line)"
            if let column { location += ":\(column)" }
        }
        var parts: [String] = []
        if !location.isEmpty { parts.append(location) }
        if let variant { parts.append(variant) }
        if !keyPath.isEmpty { parts.append(keyPath) }
        parts.append(message)
        var text = parts.joined(separator: ": ")
        if let hint, !hint.isEmpty {
            text += "\n" + hint.split(separator: "\n", omittingEmptySubsequences: false).map { "  " + $0 }.joined(separator: "\n")
        }
        return text
    }
}

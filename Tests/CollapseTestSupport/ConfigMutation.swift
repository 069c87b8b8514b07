import CollapseCore
import Foundation

/// Seeded random edits of a config file's text, shared by the in-process config fuzz
/// (`ConfigFuzzTests`) and the one through the `collapse` binary (`BinaryFuzzTests`).
public enum ConfigMutation {
    /// Hostile values for `key: value` lines: out of range, non-finite, wrong type, unclosed.
    public static let replacements = ["-1", "0", "1e400", "nan", ".inf", "3.5", "\"x\"", "[]", "{}", "true", "null",
                                      "999999999999999999999", "[1, 2", "{a: 1}", "-0.0", "1e-320", "replace", "gmm", "\u{00e9}"]

    /// One random edit of the text: delete/duplicate/swap a line, change a value, a key, the
    /// indentation, insert garbage, or truncate.
    public static func mutate(_ text: String, _ rng: inout Philox4x32) -> String {
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

    /// 1 to 4 successive mutations, as the fuzz tests apply them.
    public static func mutant(of text: String, _ rng: inout Philox4x32) -> String {
        var text = text
        for _ in 0...rng.nextInt(below: 3) { text = mutate(text, &rng) }
        return text
    }
}

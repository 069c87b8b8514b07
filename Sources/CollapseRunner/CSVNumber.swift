/// How numbers are written to every CSV file: the shortest decimal string that reads back as the
/// same double (Swift's `description`, which is round-trip exact), with the special values
/// spelled `inf`, `-inf` and `nan`, and integers-valued doubles without a trailing `.0`.
public enum CSVNumber {
    public static func format(_ x: Double) -> String {
        if x.isNaN { return "nan" }
        if x.isInfinite { return x > 0 ? "inf" : "-inf" }
        if x == 0 { return x.sign == .minus ? "-0" : "0" }
        if x == x.rounded(), abs(x) < 1e15 { return String(Int64(x)) }
        return x.description
    }

    /// Parses what `format` writes (and plain decimal numbers); nil for anything else.
    public static func parse(_ s: Substring) -> Double? {
        switch s {
        case "nan": return .nan
        case "inf": return .infinity
        case "-inf": return -.infinity
        default: return Double(s)
        }
    }
}

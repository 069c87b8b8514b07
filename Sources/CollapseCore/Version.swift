/// The toolkit's version, written into every manifest and printed by `collapse --version`.
public enum ToolVersion {
    public static let string = "0.1.0"
}

/// Failures of a run that are not config errors: I/O, an output directory in the way, a
/// broken resume state. Each message says what to do.
public enum RunError: Error, Sendable, CustomStringConvertible {
    case invalidReality(String)
    case io(String)
    case outputExists(String)
    case resume(String)
    case locked(String)
    case merge(String)

    public var description: String {
        switch self {
        case let .invalidReality(m): return m
        case let .io(m): return m
        case let .outputExists(m): return m
        case let .resume(m): return m
        case let .locked(m): return m
        case let .merge(m): return m
        }
    }
}

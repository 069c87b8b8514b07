/// Why a factorisation or solve could not produce a trustworthy answer.
///
/// These are *data* outcomes, not programmer errors: a covariance that collapsed to singular is a
/// result of model collapse to be recorded, so the factorisations throw instead of trapping, and
/// never return NaN silently.
public enum LinearAlgebraError: Error, Equatable, Sendable, CustomStringConvertible {
    /// Cholesky failed: the leading minor of order `failingMinor` is not positive definite.
    case notPositiveDefinite(order: Int, failingMinor: Int)
    /// An LU factorisation found an exactly zero pivot at (1-based) position `pivot`.
    case singular(order: Int, pivot: Int)
    /// QR found a numerically zero diagonal entry of R: the design does not have full column rank.
    case rankDeficient(rows: Int, columns: Int, column: Int)
    /// The input holds NaN or ±inf, so no factorisation is meaningful.
    case nonFinite(operation: String)
    /// A LAPACK routine reported an argument or convergence failure (`info` as LAPACK returned it).
    case lapackFailure(routine: String, info: Int)

    public var description: String {
        switch self {
        case let .notPositiveDefinite(order, minor):
            return "matrix of order \(order) is not positive definite (leading minor \(minor) failed in Cholesky)"
        case let .singular(order, pivot):
            return "matrix of order \(order) is singular (zero pivot at position \(pivot))"
        case let .rankDeficient(rows, columns, column):
            return "\(rows) x \(columns) design is rank deficient (column \(column) is numerically dependent on the others)"
        case let .nonFinite(operation):
            return "\(operation): input contains NaN or infinity"
        case let .lapackFailure(routine, info):
            return "LAPACK \(routine) failed with info = \(info)"
        }
    }
}

import Foundation
#if canImport(Glibc)
import Glibc
#endif

/// Test hook: makes a run fail at a named point, so tests can kill it or fill its disk at an exact
/// moment instead of after a guessed delay.
///
/// Armed only by the environment variable `COLLAPSE_FAULT=<action>:<point>[:<n>]` (n defaults to 1):
/// the n-th time the process reaches `<point>`,
/// - `kill` sends the process SIGKILL (nothing after that point happens: no flush, no cleanup);
/// - `enospc` makes the write at that point fail with errno ENOSPC, as on a full disk (only at
///   points that are writes; elsewhere it does nothing).
///
/// The points (docs/ERRORS.md lists them with the tests that use them):
/// - `prepared`: the output directory is locked and checked; nothing written yet.
/// - `mid-append`: half of one chain's rows are appended to `metrics.csv.partial`.
/// - `appended`: one chain's rows are appended (not yet synced); the next chain's come next.
/// - `write-<file>`: a file written via a temporary file (`run-state.json`, `summary.csv`,
///   `manifest.json`, exports) is about to be written; its empty `<file>.tmp` exists.
/// - `renamed-<file>`: that file is in place (e.g. `renamed-summary.csv`: summary written,
///   manifest not yet).
/// - `metrics-renamed`: `metrics.csv.partial` was renamed to `metrics.csv`.
///
/// Unset (every real run), each point costs one comparison.
enum FaultInjection {
    enum Action: String { case kill, enospc }

    struct Plan {
        let action: Action
        let point: String
        let occurrence: Int
    }

    /// Parses `<action>:<point>[:<n>]`; nil (disarmed) for anything else.
    static func parse(_ text: String?) -> Plan? {
        guard let text, !text.isEmpty else { return nil }
        var parts = text.split(separator: ":", omittingEmptySubsequences: false).map(String.init)
        var occurrence = 1
        if parts.count == 3, let n = Int(parts[2]), n >= 1 {
            occurrence = n
            parts.removeLast()
        }
        guard parts.count == 2, let action = Action(rawValue: parts[0]), !parts[1].isEmpty else { return nil }
        return Plan(action: action, point: parts[1], occurrence: occurrence)
    }

    static let plan: Plan? = parse(ProcessInfo.processInfo.environment["COLLAPSE_FAULT"])

    private final class Counter: @unchecked Sendable {
        let lock = NSLock()
        var hits = 0
        func next() -> Int {
            lock.lock(); defer { lock.unlock() }
            hits += 1
            return hits
        }
    }
    private static let counter = Counter()

    /// Marks `point` as reached. Kills the process if `kill:<point>:<n>` is armed and this is the
    /// n-th arrival; returns true (with errno = ENOSPC) if `enospc:<point>:<n>` is: the caller
    /// then fails its write as if the disk were full. False otherwise.
    @discardableResult
    static func reach(_ point: @autoclosure () -> String) -> Bool {
        guard let plan, plan.point == point(), counter.next() == plan.occurrence else { return false }
        switch plan.action {
        case .kill:
            kill(getpid(), SIGKILL)
            while true { pause() } // SIGKILL is not delivered synchronously everywhere; never continue
        case .enospc:
            errno = ENOSPC
            return true
        }
    }
}

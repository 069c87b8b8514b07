import Foundation

/// A process-wide "stop soon" flag set by SIGINT/SIGTERM handlers; the engine checks it between
/// chains, makes the finished chains durable and stops, leaving a resumable run.
public final class Interruption: @unchecked Sendable {
    public static let shared = Interruption()
    private let lock = NSLock()
    private var requested = false
    private var sources: [DispatchSourceSignal] = []

    public var isRequested: Bool {
        lock.lock(); defer { lock.unlock() }
        return requested
    }

    public func request() {
        lock.lock(); requested = true; lock.unlock()
    }

    /// Routes SIGINT and SIGTERM to `request()` instead of killing the process.
    public func install() {
        for sig in [SIGINT, SIGTERM] {
            signal(sig, SIG_IGN)
            let source = DispatchSource.makeSignalSource(signal: sig, queue: .global())
            source.setEventHandler { [weak self] in self?.request() }
            source.resume()
            sources.append(source)
        }
    }
}

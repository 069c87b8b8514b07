import CKernels
import Dispatch
import Synchronization
#if canImport(Glibc)
import Glibc
#endif

/// The toolkit's parallel loops over fixed parts (row blocks, row ranges, query blocks, output
/// chunks) and the number of threads they may use.
///
/// Every caller splits its work into parts fixed by the data's shape, each computed the same way
/// wherever it runs, so results never depend on `threadLimit`; the limit only bounds how many
/// threads work at once. The runner sets it from `--threads` and the number of chains running
/// side by side (one chain of a single-chain study gets every thread; chains that already fill
/// the threads get one each), so `--threads 1` means one thread — also on a shared cluster node
/// whose other cores are not ours.
public enum ParallelWork {
    private static let limit = Atomic<Int>(0) // 0: not set, all online cores

    /// The most threads one `forEach` uses (at least 1; default: the online cores).
    public static var threadLimit: Int {
        get {
            let value = limit.load(ordering: .relaxed)
            return value > 0 ? value : onlineCores
        }
        set { limit.store(max(1, newValue), ordering: .relaxed) }
    }

    /// Online processors (`sysconf`), at least 1.
    public static let onlineCores: Int = {
        #if canImport(Glibc)
        return max(1, sysconf(Int32(_SC_NPROCESSORS_ONLN)))
        #else
        return 1
        #endif
    }()

    /// The CPUs this process may run on: the online cores, or fewer when an affinity mask (a
    /// cluster job's cpuset, `taskset`) binds it to fewer. At least 1.
    public static let usableCores: Int = {
        let bound = Int(collapse_affinity_cpu_count())
        return bound > 0 ? min(onlineCores, bound) : onlineCores
    }()

    /// Calls `body(i)` once for every `i` in `0 ..< count`, on at most `threadLimit` threads, and
    /// returns when all calls have returned. Parts are claimed in order by whichever worker is
    /// free (the calling thread is one), so a worker that starts late does not hold the others
    /// back; which thread runs a part never changes what the part computes. The other workers come
    /// from `SpinningPool` (threads that stay awake between calls), or from Dispatch while the
    /// pool serves another call. With one worker the calls run in order on this thread.
    public static func forEach(_ count: Int, _ body: @Sendable (Int) -> Void) {
        forEach(count, threads: threadLimit, body)
    }

    /// `forEach` on at most `threads` threads.
    public static func forEach(_ count: Int, threads: Int, _ body: @Sendable (Int) -> Void) {
        let workers = min(count, threads)
        if workers <= 1 {
            for i in 0..<count { body(i) }
            return
        }
        // The pool's helpers spin: never more of them than the other cores this process may use,
        // or they would take turns on a core instead of working side by side.
        let helpers = min(workers, usableCores, SpinningPool.maximumHelpers + 1) - 1
        if helpers >= 1 && SpinningPool.shared.run(count, helpers: helpers, body) { return }
        let next = Atomic<Int>(0)
        DispatchQueue.concurrentPerform(iterations: workers) { _ in
            while true {
                let i = next.wrappingAdd(1, ordering: .relaxed).oldValue
                if i >= count { return }
                body(i)
            }
        }
    }
}

import CKernels
import Synchronization
#if canImport(Glibc)
import Glibc
#endif

/// Worker threads that stay awake for a while between `ParallelWork.forEach` calls.
///
/// A collapse chain alternates short serial steps (a fit) with short parallel ones (a sample of a
/// few hundred rows): for the mvn-d64 benchmark (d = 64, M = 640) a parallel step is ~100 µs,
/// about what waking a thread asleep on a futex costs on a virtual machine, so Dispatch's workers
/// took almost no share of it (two threads ran the chain 5 % faster than one). A worker that took
/// part in a job spins for `spinNanoseconds` waiting for the next one before it sleeps, so the
/// parallel steps of a chain start at once; a worker a job did not ask for sleeps at once and is
/// woken only for a job that includes it.
///
/// One job at a time: `run` returns false, running nothing, when the pool is busy (another
/// chain's thread, or a `forEach` inside a part) or more than `maximumHelpers` helpers are asked
/// for, and the caller uses Dispatch instead. A job's parts are claimed in order by whichever
/// taking-part thread is free; once the caller finds none left it closes the job and waits only
/// for the helpers that joined before (never for a sleeper's wake-up). Workers are created as jobs
/// need them and live as long as the process; a job with h helpers uses workers 1 ... h, so the
/// pool never runs more threads at once than the caller asked for.
final class SpinningPool: @unchecked Sendable {
    static let shared = SpinningPool()

    /// How long a worker that took part in a job spins for the next one before it sleeps: longer
    /// than the serial steps between a chain's parallel ones at the sizes where waking a sleeper
    /// would cost a fair share of the step (~0.1 ms), short enough not to hold a core long after.
    static let spinNanoseconds: UInt64 = 500_000
    /// The most pool workers one job uses (one bit each in `sleeping`).
    static let maximumHelpers = 63

    /// Held by the thread publishing a job, from before it is published until every helper is done.
    private let busy = Atomic<Bool>(false)
    /// The current job: its number (bits 16 and up) and how many pool workers take part (low 16
    /// bits). Publishing it (sequentially consistent) releases the job's fields below.
    private let ticket = Atomic<UInt64>(0)
    private let nextPart = Atomic<Int>(0)
    /// Who works on the current job: its number (bits 16 and up), `closed` once the publisher ran
    /// out of parts, and in the low bits how many helpers joined before that. A helper joins (and
    /// only then reads the job's fields) by incrementing it while it is open for its job.
    private let membership = Atomic<UInt64>(0)
    private static let closed: UInt64 = 1 << 15
    /// Helpers of the current job that have finished their parts.
    private let finished = Atomic<Int>(0)
    /// Jobs joined by helpers since the process started (tests read it: a helper that sleeps
    /// through the jobs it is woken for would show as none).
    let joins = Atomic<Int>(0)
    /// Bit k - 1: worker k sleeps (or is about to) on `conditions[k - 1]`.
    private let sleeping = Atomic<UInt64>(0)
    // The job's fields: written by the publisher before it publishes the ticket, read by the
    // helpers after they see it, cleared by the publisher after they are done.
    private var partCount = 0
    private var body: ((Int) -> Void)?
    /// Workers created so far, and whether the system refused one (then the pool stays at that
    /// size). Touched only by the thread holding `busy`.
    private var workers = 0
    private var spawnFailed = false
    private let mutex: UnsafeMutablePointer<pthread_mutex_t>
    private let conditions: UnsafeMutablePointer<pthread_cond_t>

    private init() {
        mutex = .allocate(capacity: 1)
        pthread_mutex_init(mutex, nil)
        conditions = .allocate(capacity: Self.maximumHelpers)
        for k in 0..<Self.maximumHelpers { pthread_cond_init(conditions + k, nil) }
    }

    /// Calls `body(i)` for every `i` in `0 ..< count` on this thread and up to `helpers` pool
    /// workers, returning when every call has returned; false (nothing called) when the pool is
    /// busy or `helpers > maximumHelpers`.
    func run(_ count: Int, helpers wanted: Int, _ body: (Int) -> Void) -> Bool {
        guard wanted <= Self.maximumHelpers,
              busy.compareExchange(expected: false, desired: true, ordering: .acquiring).exchanged else { return false }
        defer { busy.store(false, ordering: .releasing) }
        let current = ticket.load(ordering: .relaxed) >> 16
        while workers < wanted && !spawnFailed {
            if spawn(index: workers + 1, seen: current) { workers += 1 } else { spawnFailed = true }
        }
        let helpers = min(wanted, workers)
        withoutActuallyEscaping(body) { escapable in
            self.body = escapable
            partCount = count
            nextPart.store(0, ordering: .relaxed)
            finished.store(0, ordering: .relaxed)
            membership.store((current + 1) << 16, ordering: .relaxed)
            ticket.store((current + 1) << 16 | UInt64(helpers), ordering: .sequentiallyConsistent)
            // Wake the helpers that sleep (the store above and this load pair with a sleeper's
            // setting its bit and then reading the ticket: one of the two sides sees the other).
            let asleep = sleeping.load(ordering: .sequentiallyConsistent) & ((1 << UInt64(helpers)) - 1)
            if asleep != 0 {
                pthread_mutex_lock(mutex)
                for k in 0..<helpers where asleep & (1 << UInt64(k)) != 0 { pthread_cond_signal(conditions + k) }
                pthread_mutex_unlock(mutex)
            }
            runParts(escapable)
            // No parts left: close the job to helpers still on their way (a sleeper's wake-up is not
            // waited for) and wait for those that joined.
            let joined = Int(membership.bitwiseOr(Self.closed, ordering: .acquiringAndReleasing).oldValue & (Self.closed - 1))
            var spins = 0
            while finished.load(ordering: .acquiring) < joined {
                spins += 1
                if spins & 1023 == 0 { sched_yield() } else { collapse_spin_pause() }
            }
            self.body = nil
        }
        return true
    }

    private func runParts(_ body: (Int) -> Void) {
        while true {
            let i = nextPart.wrappingAdd(1, ordering: .relaxed).oldValue
            if i >= partCount { return }
            body(i)
        }
    }

    /// Worker `index` (1, 2, ...): waits for each job after job `seen` and takes part in those
    /// that want at least `index` helpers, if it gets there before the publisher ran out of parts.
    private func work(index: Int, seen start: UInt64) -> Never {
        var seen = start, spin = true
        while true {
            let t = waitForJob(after: seen, index: index, spinning: spin)
            seen = t >> 16
            spin = UInt64(index) <= t & 0xFFFF
            guard spin, join(job: seen) else { continue }
            helpWithJob()
            finished.wrappingAdd(1, ordering: .releasing)
        }
    }

    /// Joins job `job` unless it is closed (or already over: the number then differs).
    private func join(job: UInt64) -> Bool {
        var m = membership.load(ordering: .acquiring)
        while m >> 16 == job && m & Self.closed == 0 {
            let (exchanged, original) = membership.compareExchange(expected: m, desired: m + 1, ordering: .acquiringAndReleasing)
            if exchanged {
                joins.wrappingAdd(1, ordering: .relaxed)
                return true
            }
            m = original
        }
        return false
    }

    /// A helper's share of the current job. A function of its own, so that its reference to the
    /// job's body is gone before the helper reports itself finished.
    @inline(never)
    private func helpWithJob() {
        runParts(body!)
    }

    /// The ticket of the first job after job `seen`: spins for `spinNanoseconds` if `spinning`,
    /// then sleeps until a job that includes worker `index` wakes it.
    private func waitForJob(after seen: UInt64, index: Int, spinning: Bool) -> UInt64 {
        if spinning {
            var spins: UInt64 = 0, deadline: UInt64 = 0
            while true {
                let t = ticket.load(ordering: .acquiring)
                if t >> 16 != seen { return t }
                spins += 1
                if spins & 255 == 0 {
                    let now = Self.monotonicNanoseconds()
                    if deadline == 0 { deadline = now + Self.spinNanoseconds } else if now > deadline { break }
                }
                collapse_spin_pause()
            }
        }
        let bit = UInt64(1) << UInt64(index - 1)
        pthread_mutex_lock(mutex)
        defer { pthread_mutex_unlock(mutex) }
        sleeping.bitwiseOr(bit, ordering: .sequentiallyConsistent)
        defer { sleeping.bitwiseAnd(~bit, ordering: .sequentiallyConsistent) }
        while true {
            let t = ticket.load(ordering: .sequentiallyConsistent)
            if t >> 16 != seen { return t }
            pthread_cond_wait(conditions + (index - 1), mutex)
        }
    }

    private final class Start {
        let pool: SpinningPool, index: Int, seen: UInt64
        init(pool: SpinningPool, index: Int, seen: UInt64) { (self.pool, self.index, self.seen) = (pool, index, seen) }
    }

    /// Starts worker `index`, which first waits for the job after job `seen`; false if the system
    /// refuses a thread.
    private func spawn(index: Int, seen: UInt64) -> Bool {
        let start = Unmanaged.passRetained(Start(pool: self, index: index, seen: seen))
        var thread = pthread_t()
        let rc = pthread_create(&thread, nil, { raw in
            let start = Unmanaged<Start>.fromOpaque(raw!).takeRetainedValue()
            start.pool.work(index: start.index, seen: start.seen)
        }, start.toOpaque())
        if rc != 0 {
            start.release()
            return false
        }
        pthread_detach(thread)
        return true
    }

    private static func monotonicNanoseconds() -> UInt64 {
        var ts = timespec()
        clock_gettime(CLOCK_MONOTONIC, &ts)
        return UInt64(ts.tv_sec) * 1_000_000_000 + UInt64(ts.tv_nsec)
    }
}

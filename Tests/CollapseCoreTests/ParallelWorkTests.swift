import Foundation
import Synchronization
import Testing
@testable import CollapseCore

/// `ParallelWork.forEach`: every index exactly once, never more threads at once than allowed, and
/// with one thread the calls in order on the calling thread.
@Suite struct ParallelWorkTests {
    @Test(arguments: [(0, 4), (1, 4), (7, 1), (7, 2), (100, 3), (5, 64)])
    func everyIndexOnceWithinTheThreadLimit(count: Int, threads: Int) {
        let calls = Mutex<[Int]>([])
        let running = Atomic<Int>(0), peak = Atomic<Int>(0)
        ParallelWork.forEach(count, threads: threads) { i in
            let now = running.wrappingAdd(1, ordering: .relaxed).newValue
            _ = peak.max(now, ordering: .relaxed)
            usleep(200) // long enough for the workers to overlap
            calls.withLock { $0.append(i) }
            running.wrappingSubtract(1, ordering: .relaxed)
        }
        let seen = calls.withLock { $0 }
        #expect(seen.sorted() == Array(0..<count))
        #expect(peak.load(ordering: .relaxed) <= max(1, threads))
        if threads == 1 { #expect(seen == Array(0..<count)) }
    }

    /// Thousands of back-to-back calls (the pool's workers spinning between them), calls after the
    /// workers fell asleep (longer than `SpinningPool.spinNanoseconds` apart), and calls from
    /// inside a part (the pool is busy: Dispatch serves them): every index exactly once each time.
    @Test(.timeLimit(.minutes(1)))
    func backToBackSleepingAndNestedCallsEachRunEveryIndexOnce() {
        for call in 0..<3000 {
            let count = 1 + call % 9, threads = 2 + call % 3
            let hits = Mutex([Int](repeating: 0, count: count))
            ParallelWork.forEach(count, threads: threads) { i in hits.withLock { $0[i] += 1 } }
            #expect(hits.withLock { $0 } == [Int](repeating: 1, count: count), "call \(call)")
        }
        for _ in 0..<3 {
            usleep(UInt32(2 * SpinningPool.spinNanoseconds / 1000))
            let total = Atomic<Int>(0)
            ParallelWork.forEach(8, threads: 2) { i in total.wrappingAdd(i + 1, ordering: .relaxed) }
            #expect(total.load(ordering: .relaxed) == 36)
        }
        let nested = Atomic<Int>(0)
        ParallelWork.forEach(4, threads: 2) { _ in
            ParallelWork.forEach(5, threads: 2) { j in nested.wrappingAdd(j, ordering: .relaxed) }
        }
        #expect(nested.load(ordering: .relaxed) == 4 * 10)
    }

    /// The pool itself with several helpers (more than this machine may have cores, so
    /// `forEach` would not ask for them): jobs of 1, 2, 3 helpers in turn, many of them published
    /// while workers are going to sleep (gaps jittered around `spinNanoseconds`) or asleep, each
    /// run every index once on at most helpers + 1 threads at a time; a pool asked for too many
    /// helpers runs nothing and says so. A lost wake-up would hang: the time limit fails it.
    @Test(.timeLimit(.minutes(1)))
    func poolJobsWithSeveralHelpersRunEveryIndexOnce() {
        var rng = Philox4x32(seed: testSeed, path: [0x23])
        for job in 0..<400 {
            let spin = Double(SpinningPool.spinNanoseconds) / 1000
            if job % 2 == 1 { usleep(UInt32(spin * (0.5 + rng.nextDouble()))) }
            if job % 100 == 99 { usleep(UInt32(3 * spin)) }
            let count = 1 + job % 11, helpers = 1 + job % 3
            let hits = Mutex([Int](repeating: 0, count: count))
            let running = Atomic<Int>(0), peak = Atomic<Int>(0)
            let body: (Int) -> Void = { i in
                _ = peak.max(running.wrappingAdd(1, ordering: .relaxed).newValue, ordering: .relaxed)
                hits.withLock { $0[i] += 1 }
                running.wrappingSubtract(1, ordering: .relaxed)
            }
            // Another test's forEach may hold the pool for a moment: try again.
            while !SpinningPool.shared.run(count, helpers: helpers, body) { usleep(100) }
            #expect(hits.withLock { $0 } == [Int](repeating: 1, count: count), "job \(job)")
            #expect(peak.load(ordering: .relaxed) <= helpers + 1, "job \(job)")
        }
        #expect(!SpinningPool.shared.run(1, helpers: SpinningPool.maximumHelpers + 1) { _ in Issue.record("ran") })
    }

    /// A helper asleep (the pool idle for longer than `spinNanoseconds`) is woken for a job that
    /// includes it: after a first job (which starts the worker), over three jobs of 30 ms of parts
    /// each, each after the helper fell asleep, it joins at least twice (a helper that slept
    /// through them would leave the caller to do every part alone, unnoticed otherwise).
    @Test(.timeLimit(.minutes(1)))
    func sleepingHelpersAreWokenForTheirJobs() {
        while !SpinningPool.shared.run(2, helpers: 1, { _ in }) { usleep(100) }
        var joined = 0
        for _ in 0..<3 {
            usleep(UInt32(4 * SpinningPool.spinNanoseconds / 1000))
            let before = SpinningPool.shared.joins.load(ordering: .relaxed)
            while !SpinningPool.shared.run(6, helpers: 1, { _ in usleep(5000) }) { usleep(100) }
            joined += SpinningPool.shared.joins.load(ordering: .relaxed) - before
        }
        #expect(joined >= 2)
    }

    /// Several threads calling at once (as chains running side by side do): one holds the pool,
    /// the others fall back to Dispatch; every call still runs every index once.
    @Test(.timeLimit(.minutes(1)))
    func concurrentCallersEachRunEveryIndexOnce() {
        let failures = Atomic<Int>(0)
        DispatchQueue.concurrentPerform(iterations: 4) { caller in
            for call in 0..<500 {
                let count = 1 + (call + caller) % 7
                let sum = Atomic<Int>(0)
                ParallelWork.forEach(count, threads: 2) { i in sum.wrappingAdd(1 << i, ordering: .relaxed) }
                if sum.load(ordering: .relaxed) != (1 << count) - 1 { failures.wrappingAdd(1, ordering: .relaxed) }
            }
        }
        #expect(failures.load(ordering: .relaxed) == 0)
    }

    @Test func theLimitIsAtLeastOne() {
        #expect(ParallelWork.onlineCores >= 1)
        #expect(ParallelWork.usableCores >= 1 && ParallelWork.usableCores <= ParallelWork.onlineCores)
        #expect(ParallelWork.threadLimit >= 1)
    }
}

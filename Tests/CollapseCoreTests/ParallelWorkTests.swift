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

    @Test func theLimitIsAtLeastOne() {
        #expect(ParallelWork.onlineCores >= 1)
        #expect(ParallelWork.threadLimit >= 1)
    }
}

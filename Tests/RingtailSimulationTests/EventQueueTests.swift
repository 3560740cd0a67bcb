// The agenda's lanes change nothing about event order: the same pushes in
// lanes and in the plain heap pop in the same (time, sequence) order.
import RingtailCore
import Testing
@testable import RingtailSimulation

@Suite struct EventQueueTests {
    @Test(arguments: [1, 2, 3] as [UInt64])
    func lanesPopInTheSameOrderAsTheHeap(seed: UInt64) {
        var entropy = SeededEntropy(seed: seed)
        var laned = EventQueue<Int>(), plain = EventQueue<Int>()
        var now: Int64 = 0
        var poppedLaned: [(Int64, Int)] = [], poppedPlain: [(Int64, Int)] = []
        var next = 0
        for _ in 0..<20_000 {
            if entropy.next(below: 3) > 0 {
                // Mostly "fixed delay ahead" timers (monotonic per lane), some
                // out of order (they must fall back to the heap), some ties.
                let lane = entropy.next(below: 4)
                let delay: Int64 = entropy.next(below: 10) == 0 ? Int64(entropy.next(below: 50)) : 100 + Int64(lane)
                let at = Instant(nanoseconds: now + delay)
                laned.push(next, at: at, lane: lane)
                plain.push(next, at: at)
                next += 1
            } else if let a = laned.pop(), let b = plain.pop() {
                now = a.time.nanoseconds
                poppedLaned.append((a.time.nanoseconds, a.payload))
                poppedPlain.append((b.time.nanoseconds, b.payload))
            }
        }
        while let a = laned.pop() { poppedLaned.append((a.time.nanoseconds, a.payload)) }
        while let b = plain.pop() { poppedPlain.append((b.time.nanoseconds, b.payload)) }
        #expect(poppedLaned.count == next && poppedPlain.count == next)
        #expect(poppedLaned.map(\.1) == poppedPlain.map(\.1))
        #expect(poppedLaned.map(\.0) == poppedLaned.map(\.0).sorted())
    }
}

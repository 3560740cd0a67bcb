// The simulator's agenda: events ordered by (virtual time, sequence), so
// events at the same instant run in the order they were scheduled and a
// seed replays a run exactly. A binary min-heap of plain keys; payloads sit
// in a slab beside it, so sifting moves no reference-counted values (that
// retain/release traffic was half the simulator's time).
import RingtailCore

struct EventQueue<Payload> {
    struct Key {
        var time: Int64
        var sequence: UInt64
        var slot: Int32
        @inline(__always) func precedes(_ other: Key) -> Bool {
            time != other.time ? time < other.time : sequence < other.sequence
        }
    }

    private var heap: [Key] = []
    private var slots: [Payload?] = []
    private var freeSlots: [Int32] = []
    private var nextSequence: UInt64 = 0

    var count: Int { heap.count }
    var isEmpty: Bool { heap.isEmpty }
    var nextTime: Instant? { heap.first.map { Instant(nanoseconds: $0.time) } }

    mutating func push(_ payload: Payload, at time: Instant) {
        let slot: Int32
        if let free = freeSlots.popLast() {
            slot = free
            slots[Int(free)] = payload
        } else {
            precondition(slots.count < Int(Int32.max), "event queue full")
            slot = Int32(slots.count)
            slots.append(payload)
        }
        let key = Key(time: time.nanoseconds, sequence: nextSequence, slot: slot)
        nextSequence += 1
        heap.append(key)
        heap.withUnsafeMutableBufferPointer { h in
            var i = h.count - 1
            while i > 0 {
                let parent = (i - 1) / 2
                guard key.precedes(h[parent]) else { break }
                h[i] = h[parent]
                i = parent
            }
            h[i] = key
        }
    }

    mutating func pop() -> (time: Instant, payload: Payload)? {
        guard let top = heap.first else { return nil }
        let last = heap.removeLast()
        if !heap.isEmpty {
            heap.withUnsafeMutableBufferPointer { h in
                var i = 0
                let n = h.count
                while true {
                    let l = 2 * i + 1
                    if l >= n { break }
                    var child = l
                    if l + 1 < n && h[l + 1].precedes(h[l]) { child = l + 1 }
                    guard h[child].precedes(last) else { break }
                    h[i] = h[child]
                    i = child
                }
                h[i] = last
            }
        }
        let payload = slots[Int(top.slot)].take()!
        freeSlots.append(top.slot)
        return (Instant(nanoseconds: top.time), payload)
    }
}

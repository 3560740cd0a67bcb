// The simulator's agenda: events ordered by (virtual time, sequence), so
// events at the same instant run in the order they were scheduled and a
// seed replays a run exactly. A binary min-heap of plain keys; payloads sit
// in a slab beside it, so sifting moves no reference-counted values (that
// retain/release traffic was half the simulator's time).
//
// Lanes: most timers are set a fixed delay ahead (every write's 2 s
// timeout, every read's 5 s one), so those of one kind on one node come
// due in the order they were set. Such events wait in a FIFO per lane and
// only each lane's head sits in the heap: the heap holds the messages in
// flight and a few heads instead of every pending timeout (100,000 at
// 20,000 requests a second). The order of events is exactly that of one
// heap: a lane keeps each event's sequence number, and a push that would
// break a lane's order goes to the heap instead.
import RingtailCore

struct EventQueue<Payload> {
    struct Key {
        var time: Int64
        var sequence: UInt64
        /// Index in `slots`, or `-1 - lane` for the head of a lane.
        var slot: Int32
        @inline(__always) func precedes(_ other: Key) -> Bool {
            time != other.time ? time < other.time : sequence < other.sequence
        }
    }

    /// A FIFO of events in (time, sequence) order; `head` is the next.
    struct Lane {
        var entries: [(time: Int64, sequence: UInt64, payload: Payload?)] = []
        var head = 0
        var isEmpty: Bool { head == entries.count }
    }

    private var heap: [Key] = []
    private var slots: [Payload?] = []
    private var freeSlots: [Int32] = []
    private var lanes: [Lane] = []
    private var nextSequence: UInt64 = 0

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
        insert(Key(time: time.nanoseconds, sequence: takeSequence(), slot: slot))
    }

    /// Pushes into lane `lane` (a small non-negative number chosen by the
    /// caller), or into the heap if `time` is earlier than the lane's last.
    mutating func push(_ payload: Payload, at time: Instant, lane: Int) {
        precondition(lane >= 0 && lane < Int(Int32.max), "lane out of range")
        while lanes.count <= lane { lanes.append(Lane()) }
        let t = time.nanoseconds
        if let last = lanes[lane].entries.last, !lanes[lane].isEmpty, t < last.time {
            push(payload, at: time)
            return
        }
        let sequence = takeSequence()
        let wasEmpty = lanes[lane].isEmpty
        lanes[lane].entries.append((t, sequence, payload))
        if wasEmpty { insert(Key(time: t, sequence: sequence, slot: -1 - Int32(lane))) }
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
        if top.slot < 0 {
            let lane = Int(-1 - top.slot)
            let payload = lanes[lane].entries[lanes[lane].head].payload.take()!
            lanes[lane].head += 1
            if lanes[lane].isEmpty {
                lanes[lane].entries.removeAll(keepingCapacity: true)
                lanes[lane].head = 0
            } else {
                if lanes[lane].head >= 4096 && lanes[lane].head * 2 >= lanes[lane].entries.count {
                    lanes[lane].entries.removeFirst(lanes[lane].head)
                    lanes[lane].head = 0
                }
                let next = lanes[lane].entries[lanes[lane].head]
                insert(Key(time: next.time, sequence: next.sequence, slot: top.slot))
            }
            return (Instant(nanoseconds: top.time), payload)
        }
        let payload = slots[Int(top.slot)].take()!
        freeSlots.append(top.slot)
        return (Instant(nanoseconds: top.time), payload)
    }

    private mutating func takeSequence() -> UInt64 {
        defer { nextSequence += 1 }
        return nextSequence
    }

    private mutating func insert(_ key: Key) {
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
}

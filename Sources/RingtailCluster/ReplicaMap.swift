// A map from replica to value for the handful of replicas one request
// touches (at most the replication factor): an array searched linearly.
// For three to nine entries this beats hashing node names on every lookup,
// and it keeps insertion order, which makes iteration deterministic.
import RingtailCore

struct ReplicaMap<Value: Sendable>: Sendable, Sequence {
    typealias Element = (key: NodeID, value: Value)
    private var entries: [Element] = []

    init() {}

    var count: Int { entries.count }
    var isEmpty: Bool { entries.isEmpty }
    /// The replicas, in insertion order.
    var keys: [NodeID] { entries.map(\.key) }
    var values: LazyMapSequence<[Element], Value> { entries.lazy.map(\.value) }

    private func index(of key: NodeID) -> Int? {
        entries.firstIndex { $0.key == key }
    }

    subscript(key: NodeID) -> Value? {
        get { index(of: key).map { entries[$0].value } }
        set {
            if let i = index(of: key) {
                if let newValue { entries[i].value = newValue } else { entries.remove(at: i) }
            } else if let newValue {
                entries.append((key, newValue))
            }
        }
    }

    /// Sets the value and returns the one it replaced.
    @discardableResult
    mutating func updateValue(_ value: Value, forKey key: NodeID) -> Value? {
        if let i = index(of: key) {
            let old = entries[i].value
            entries[i].value = value
            return old
        }
        entries.append((key, value))
        return nil
    }

    func makeIterator() -> IndexingIterator<[Element]> { entries.makeIterator() }
}

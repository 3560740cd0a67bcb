// A plain in-memory model of Ringtail's data model, written from the rules
// in docs (not from the engine's code): remembers every cell's winning
// version and every deletion, and answers reads by filtering at read time.
import RingtailCore
@testable import RingtailStorage

struct ReferenceModel {
    var cells: [[UInt8]: [[UInt8]: [[UInt8]: Cell]]] = [:]
    var partitionDeletions: [[UInt8]: Int64] = [:]
    var rowDeletions: [[UInt8]: [[UInt8]: Int64]] = [:]
    var rangeDeletions: [[UInt8]: [(ClusteringRange, Int64)]] = [:]

    /// The spec's tie rules: higher timestamp; then mortal (tombstone or
    /// expiring) over permanent; then later local deletion time; then
    /// tombstone over expiring; then greater value.
    static func wins(_ a: Cell, _ b: Cell) -> Bool {
        if a.timestamp != b.timestamp { return a.timestamp > b.timestamp }
        func mortal(_ c: Cell) -> Bool { if case .live = c.kind { return false }; return true }
        func ldt(_ c: Cell) -> Int64 {
            switch c.kind {
            case .live: return .max
            case .expiring(_, let e): return e
            case .tombstone(let d): return d
            }
        }
        if mortal(a) != mortal(b) { return mortal(a) }
        if mortal(a) {
            if ldt(a) != ldt(b) { return ldt(a) > ldt(b) }
            if a.isTombstone != b.isTombstone { return a.isTombstone }
        }
        return b.value.lexicographicallyPrecedes(a.value)
    }

    /// Records a mutation already stamped with local times.
    mutating func apply(_ u: PartitionUpdate) {
        let k = u.key
        if !u.deletion.isLive { partitionDeletions[k] = max(partitionDeletions[k] ?? .min, u.deletion.markedAt) }
        for rt in u.rangeTombstones { rangeDeletions[k, default: []].append((rt.range, rt.deletion.markedAt)) }
        for row in u.rows {
            if !row.deletion.isLive {
                rowDeletions[k, default: [:]][row.clustering] = max(rowDeletions[k]?[row.clustering] ?? .min, row.deletion.markedAt)
            }
            for cell in row.cells {
                if let old = cells[k]?[row.clustering]?[cell.column], !Self.wins(cell, old) { continue }
                cells[k, default: [:]][row.clustering, default: [:]][cell.column] = cell
            }
        }
    }

    func expected(_ key: [UInt8], slice: ClusteringRange = .all, limit: Int = .max, descending: Bool = false,
                  now: Int64) -> [String] {
        guard let rows = cells[key] else { return [] }
        var out: [String] = []
        let keys = rows.keys.filter { slice.contains($0) }.sorted { compareBytes($0, $1) < 0 }
        for ck in descending ? keys.reversed() : keys {
            if out.count >= limit { break }
            var shadow = max(partitionDeletions[key] ?? .min, rowDeletions[key]?[ck] ?? .min)
            for (range, at) in rangeDeletions[key] ?? [] where range.contains(ck) { shadow = max(shadow, at) }
            var live: [String] = []
            var alive = false
            for (column, cell) in rows[ck]!.sorted(by: { compareBytes($0.key, $1.key) < 0 }) {
                guard cell.timestamp > shadow, cell.isLive(nowMicros: now) else { continue }
                alive = true
                if !column.isEmpty { live.append(String(decoding: column, as: UTF8.self) + "=" + String(decoding: cell.value, as: UTF8.self)) }
            }
            if alive { out.append(ck.map { String($0) }.joined(separator: ".") + ":" + live.joined(separator: ",")) }
        }
        return out
    }
}

extension StorageEngine {
    /// The same rendering as `ReferenceModel.expected`.
    func rendered(_ table: TableID, _ key: [UInt8], slice: ClusteringRange = .all, limit: Int = .max,
                  descending: Bool = false) throws -> [String] {
        try read(table, key: key, slice: slice, limit: limit, descending: descending).rows.map { row in
            row.clustering.map { String($0) }.joined(separator: ".") + ":" +
                row.cells.map { String(decoding: $0.column, as: UTF8.self) + "=" + String(decoding: $0.value, as: UTF8.self) }.joined(separator: ",")
        }
    }
}

/// Random mutations over a small key space, so writes collide, tie and shadow.
struct MutationGenerator {
    var entropy: SeededEntropy
    var clock: ManualClock
    let keys: [[UInt8]] = (0..<6).map { Array("p\($0)".utf8) }
    let columns: [[UInt8]] = [[], Array("a".utf8), Array("b".utf8), Array("c".utf8)]

    init(seed: UInt64, clock: ManualClock) {
        entropy = SeededEntropy(seed: seed)
        self.clock = clock
    }

    /// Timestamps move forward with the operations, with jitter that
    /// creates ties and out-of-order arrivals (but never older than gc grace).
    mutating func timestamp() -> Int64 {
        return clock.wallMicros() - Int64(entropy.next(below: 4)) * 1_000_000 + Int64(entropy.next(below: 3))
    }

    mutating func clustering() -> [UInt8] { [UInt8(entropy.next(below: 8))] }

    mutating func value() -> [UInt8] { Array("v\(entropy.next(below: 50))".utf8) }

    /// A mutation with local times already stamped (so the model sees them).
    mutating func next(table: TableID) -> Mutation {
        let key = keys[entropy.next(below: keys.count)]
        let now = clock.wallMicros()
        let ts = timestamp()
        var u = PartitionUpdate(key: key)
        switch entropy.next(below: 100) {
        case 0..<55:
            var cells: [Cell] = []
            for column in columns where entropy.chance(0.5) {
                let kind: Cell.Kind = entropy.chance(0.25)
                    ? .expiring(ttlSeconds: 5, expiresAt: now + Int64(1 + entropy.next(below: 20)) * 1_000_000) : .live
                cells.append(Cell(column: column, timestamp: ts, kind: kind, value: value()))
            }
            if cells.isEmpty { cells = [Cell(column: columns[1], timestamp: ts, value: value())] }
            u.rows = [Row(clustering: clustering(), cells: cells)]
            if entropy.chance(0.3) { u.rows.append(Row(clustering: clustering(), cells: [Cell(column: columns[2], timestamp: ts, value: value())])) }
        case 55..<70:
            u.rows = [Row(clustering: clustering(), cells: [.tombstone(columns[entropy.next(below: 4)], timestamp: ts, deletedAt: now)])]
        case 70..<82:
            u.rows = [Row(clustering: clustering(), deletion: DeletionTime(markedAt: ts, localDeletionTime: now), cells: [])]
        case 82..<95:
            let a = clustering(), b = clustering()
            let lo = a[0] <= b[0] ? a : b, hi = a[0] <= b[0] ? b : a
            let lower: ClusteringBound = entropy.chance(0.15) ? .unbounded : (entropy.chance(0.5) ? .inclusive(lo) : .exclusive(lo))
            let upper: ClusteringBound = entropy.chance(0.15) ? .unbounded : (entropy.chance(0.5) ? .inclusive(hi) : .exclusive(hi))
            u.rangeTombstones = [RangeTombstone(range: ClusteringRange(lower: lower, upper: upper),
                                                deletion: DeletionTime(markedAt: ts, localDeletionTime: now))]
        default:
            u.deletion = DeletionTime(markedAt: ts, localDeletionTime: now)
        }
        u.normalize()
        return Mutation(table: table, update: u)
    }
}

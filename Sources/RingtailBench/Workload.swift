// What a benchmark asks the cluster to do: YCSB's core workloads A-F (or a
// custom mix) over a table of records, each operation drawn from a seeded
// stream. The same workload and seed give the same operations in the same
// order, whichever cluster they run against.
//
// Records live in `bench.usertable` as rows (partition g = id / 100,
// clustering id, one blob column v): a read or update touches one row, a
// YCSB scan (workload E) reads a clustering range of consecutive ids inside
// one partition, the way a Cassandra data modeller serves range queries.
import Foundation
import RingtailCore

/// One kind of YCSB operation.
public enum OperationKind: String, Sendable, Hashable, CaseIterable, Codable {
    case read, update, insert, scan
    /// Read a record, then write it back changed (two requests; latency is the pair's).
    case readModifyWrite = "rmw"

    public var isWrite: Bool { self == .update || self == .insert }
}

/// Proportions of each operation kind, summing to 1.
public struct OperationMix: Sendable, Hashable, Codable, CustomStringConvertible {
    public var read = 0.0, update = 0.0, insert = 0.0, scan = 0.0, readModifyWrite = 0.0

    public init(read: Double = 0, update: Double = 0, insert: Double = 0, scan: Double = 0, readModifyWrite: Double = 0) {
        (self.read, self.update, self.insert, self.scan, self.readModifyWrite) = (read, update, insert, scan, readModifyWrite)
    }

    /// "read=0.5,update=0.5" (kinds: read, update, insert, scan, rmw); nil if malformed or not summing to 1.
    public init?(specification: String) {
        for part in specification.split(separator: ",") {
            let pair = part.split(separator: "=", maxSplits: 1).map { $0.trimmingCharacters(in: .whitespaces) }
            guard pair.count == 2, let share = Double(pair[1]), share >= 0, share <= 1,
                  let kind = OperationKind(rawValue: pair[0]) else { return nil }
            self[kind] = share
        }
        guard abs(total - 1) < 1e-9 else { return nil }
    }

    public subscript(kind: OperationKind) -> Double {
        get {
            switch kind {
            case .read: return read
            case .update: return update
            case .insert: return insert
            case .scan: return scan
            case .readModifyWrite: return readModifyWrite
            }
        }
        set {
            switch kind {
            case .read: read = newValue
            case .update: update = newValue
            case .insert: insert = newValue
            case .scan: scan = newValue
            case .readModifyWrite: readModifyWrite = newValue
            }
        }
    }

    var total: Double { OperationKind.allCases.reduce(0) { $0 + self[$1] } }

    public var description: String {
        OperationKind.allCases.filter { self[$0] > 0 }.map { "\($0.rawValue)=\(self[$0])" }.joined(separator: ",")
    }

    /// The kind for a uniform draw `u` in [0, 1).
    func kind(at u: Double) -> OperationKind {
        var acc = 0.0
        for kind in OperationKind.allCases where self[kind] > 0 {
            acc += self[kind]
            if u < acc { return kind }
        }
        return OperationKind.allCases.last { self[$0] > 0 } ?? .read
    }
}

/// A named workload: the mix, the request distribution and the sizes.
public struct WorkloadSpec: Sendable, Hashable, Codable {
    public var name: String
    public var mix: OperationMix
    public var distribution: RequestDistribution
    /// Records loaded before the run.
    public var recordCount = 1000
    /// Bytes of each record's value.
    public var valueBytes = 100
    /// Scans read 1...scanLengthMax records (uniform).
    public var scanLengthMax = 100

    public init(name: String, mix: OperationMix, distribution: RequestDistribution) {
        self.name = name
        self.mix = mix
        self.distribution = distribution
    }

    /// YCSB's core workloads, as its workloads/workload[a-f] files define them.
    public static func ycsb(_ letter: Character) -> WorkloadSpec? {
        switch letter.lowercased() {
        case "a": return WorkloadSpec(name: "A", mix: OperationMix(read: 0.5, update: 0.5), distribution: .zipfian)
        case "b": return WorkloadSpec(name: "B", mix: OperationMix(read: 0.95, update: 0.05), distribution: .zipfian)
        case "c": return WorkloadSpec(name: "C", mix: OperationMix(read: 1), distribution: .zipfian)
        case "d": return WorkloadSpec(name: "D", mix: OperationMix(read: 0.95, insert: 0.05), distribution: .latest)
        case "e": return WorkloadSpec(name: "E", mix: OperationMix(insert: 0.05, scan: 0.95), distribution: .zipfian)
        case "f": return WorkloadSpec(name: "F", mix: OperationMix(read: 0.5, readModifyWrite: 0.5), distribution: .zipfian)
        default: return nil
        }
    }

    /// "A".."F" (YCSB), or "read=0.7,update=0.3" (a custom mix; zipfian unless `distribution` says otherwise).
    public static func named(_ text: String, distribution: RequestDistribution? = nil) -> WorkloadSpec? {
        if text.count == 1, var spec = ycsb(text.first!) {
            if let distribution { spec.distribution = distribution }
            return spec
        }
        guard let mix = OperationMix(specification: text) else { return nil }
        return WorkloadSpec(name: "custom", mix: mix, distribution: distribution ?? .zipfian)
    }
}

/// One operation to perform.
public struct WorkloadOperation: Sendable, Hashable {
    public var kind: OperationKind
    /// The record (a scan's first record).
    public var record: Int
    /// Records a scan reads (1 otherwise).
    public var length: Int
}

/// The seeded stream of operations of one run.
public struct WorkloadStream: Sendable {
    public let spec: WorkloadSpec
    var entropy: SeededEntropy
    var chooser: KeyChooser
    /// Records that exist (loaded plus inserted so far): inserts take the next id.
    public private(set) var records: Int

    public init(_ spec: WorkloadSpec, seed: UInt64) {
        self.spec = spec
        entropy = SeededEntropy(seed: seed ^ 0x7963_7362) // "ycsb"
        records = spec.recordCount
        chooser = KeyChooser(spec.distribution, count: max(1, spec.recordCount))
    }

    public mutating func next() -> WorkloadOperation {
        let kind = spec.mix.kind(at: Double(entropy.next() >> 11) * 0x1.0p-53)
        switch kind {
        case .insert:
            let id = records
            records += 1
            chooser.grow(to: records)
            return WorkloadOperation(kind: .insert, record: id, length: 1)
        case .scan:
            let length = 1 + entropy.next(below: max(1, spec.scanLengthMax))
            return WorkloadOperation(kind: .scan, record: chooser.next(&entropy), length: length)
        default:
            return WorkloadOperation(kind: kind, record: chooser.next(&entropy), length: 1)
        }
    }
}

/// How records map onto the table (see the file header).
public enum UserTable {
    public static let keyspace = "bench"
    public static let name = "usertable"
    public static let qualifiedName = "bench.usertable"
    /// t-visibility probes: one partition per probe, written once.
    public static let probeName = "probes"
    public static let probeQualifiedName = "bench.probes"
    public static let recordsPerPartition = 100
    public static let column: [UInt8] = Array("v".utf8)

    public static func partition(of record: Int) -> Int { record / recordsPerPartition }

    /// A scan from `record` of `length` records, cut at its partition's end.
    public static func scanEnd(from record: Int, length: Int) -> Int {
        min(record + length, (partition(of: record) + 1) * recordsPerPartition)
    }
}

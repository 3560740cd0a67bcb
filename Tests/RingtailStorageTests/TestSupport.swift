// Helpers shared by the storage tests: engines on the crashable file
// system with a manual clock, and terse builders for mutations.
import RingtailCore
import RingtailSimulation
@testable import RingtailStorage

func bytes(_ s: String) -> [UInt8] { Array(s.utf8) }

func be64(_ v: Int64) -> [UInt8] {
    withUnsafeBytes(of: UInt64(bitPattern: v).bigEndian) { Array($0) }
}

struct EngineHarness {
    let fs: CrashableFileSystem
    let clock: ManualClock
    var options: EngineOptions
    let directory = "/data"

    init(fs: CrashableFileSystem = CrashableFileSystem(), clock: ManualClock = ManualClock(), options: EngineOptions? = nil) {
        self.fs = fs
        self.clock = clock
        var o = options ?? EngineOptions()
        if options == nil {
            o.background = .manual
            o.syncMode = .batch
            o.memtableBudget = .mebibytes(8)
            o.commitLogSegmentBytes = .kibibytes(64)
        }
        self.options = o
    }

    func open() throws -> StorageEngine {
        try StorageEngine(directory: directory, fileSystem: fs, clock: clock, options: options)
    }
}

extension StorageEngine {
    /// Creates `ks.name` with the given options, or returns the existing id.
    func ensureTable(_ name: String = "t", options: TableOptions = TableOptions()) throws -> TableID {
        if let (id, _) = table(named: "ks." + name) { return id }
        return try createTable(TableDefinition(keyspace: "ks", name: name, partitionKey: [ColumnDefinition("k", .text)],
                                               clusteringKey: [ColumnDefinition("c", .blob)], options: options))
    }

    func put(_ table: TableID, _ key: String, _ clustering: [UInt8], _ column: String, _ value: String,
             timestamp: Int64, ttl: Int32? = nil) throws {
        let kind: Cell.Kind = ttl.map { .expiring(ttlSeconds: $0, expiresAt: 0) } ?? .live
        try apply(Mutation(table: table, update: PartitionUpdate(key: bytes(key), rows: [
            Row(clustering: clustering, cells: [Cell(column: bytes(column), timestamp: timestamp, kind: kind, value: bytes(value))]),
        ])))
    }

    func values(_ table: TableID, _ key: String, slice: ClusteringRange = .all, limit: Int = .max,
                descending: Bool = false) throws -> [String] {
        try read(table, key: bytes(key), slice: slice, limit: limit, descending: descending).rows.flatMap { row in
            row.cells.map { String(decoding: $0.value, as: UTF8.self) }
        }
    }
}

// Table definitions: the key layout that front ends interpret, and the
// options the engine acts on (order, compression, compaction, TTL, gc grace).
import RingtailCore

/// The type of a key or regular column. The engine stores bytes; front ends
/// use the type to encode and print values (see ClusteringKeyCodec).
public enum ColumnType: String, Sendable, CaseIterable, Codable {
    case text, bigint, int, double, timestamp, blob, boolean
}

public struct ColumnDefinition: Hashable, Sendable {
    public var name: String
    public var type: ColumnType
    public init(_ name: String, _ type: ColumnType) {
        self.name = name
        self.type = type
    }
}

public enum ClusteringOrder: String, Sendable, Hashable {
    /// Rows stored from the smallest clustering key up.
    case ascending
    /// Rows stored from the largest down: "latest first" for time series.
    case descending
}

public enum Compression: Hashable, Sendable {
    case none
    case lz4
    /// Zstandard at a level (1 fast ... 19 small); 3 is a good default.
    case zstd(level: Int32)

    var tag: UInt8 {
        switch self {
        case .none: return 0
        case .lz4: return 1
        case .zstd: return 2
        }
    }
}

public struct SizeTieredOptions: Hashable, Sendable {
    /// Fewest similar-sized SSTables worth compacting together.
    public var minThreshold: Int = 4
    /// Most SSTables in one compaction.
    public var maxThreshold: Int = 32
    /// SSTables within [bucketLow, bucketHigh] x the bucket's average size share a bucket.
    public var bucketLow: Double = 0.5
    public var bucketHigh: Double = 1.5
    /// SSTables smaller than this all share the smallest bucket.
    public var minSSTableBytes: ByteCount = .mebibytes(50)
    public init() {}
}

public enum TimeWindowUnit: String, Sendable, Hashable {
    case minutes, hours, days

    var micros: Int64 {
        switch self {
        case .minutes: return 60_000_000
        case .hours: return 3_600_000_000
        case .days: return 86_400_000_000
        }
    }
}

public struct TimeWindowOptions: Hashable, Sendable {
    public var unit: TimeWindowUnit = .days
    public var size: Int = 1
    /// How the current (newest) window compacts.
    public var sizeTiered = SizeTieredOptions()
    public init(unit: TimeWindowUnit = .days, size: Int = 1) {
        self.unit = unit
        self.size = size
    }
    public var windowMicros: Int64 { unit.micros * Int64(size) }
}

public enum CompactionStrategy: Hashable, Sendable {
    case sizeTiered(SizeTieredOptions)
    case timeWindow(TimeWindowOptions)
}

public struct TableOptions: Hashable, Sendable {
    public var clusteringOrder: ClusteringOrder = .ascending
    public var compression: Compression = .lz4
    /// Target uncompressed size of an SSTable data block.
    public var blockBytes: ByteCount = .kibibytes(16)
    public var bloomFalsePositiveChance: Double = 0.01
    public var compaction: CompactionStrategy = .sizeTiered(SizeTieredOptions())
    /// TTL applied to cells written without one; 0 means none.
    public var defaultTTLSeconds: Int32 = 0
    /// How long tombstones are kept before compaction may purge them.
    public var gcGraceSeconds: Int64 = 864_000
    public init() {}
}

/// A table: where it lives, its key layout and options.
public struct TableDefinition: Hashable, Sendable {
    public var keyspace: String
    public var name: String
    public var partitionKey: [ColumnDefinition]
    public var clusteringKey: [ColumnDefinition]
    public var columns: [ColumnDefinition]
    public var options: TableOptions

    public init(keyspace: String, name: String, partitionKey: [ColumnDefinition] = [ColumnDefinition("key", .blob)],
                clusteringKey: [ColumnDefinition] = [], columns: [ColumnDefinition] = [], options: TableOptions = TableOptions()) {
        self.keyspace = keyspace
        self.name = name
        self.partitionKey = partitionKey
        self.clusteringKey = clusteringKey
        self.columns = columns
        self.options = options
    }

    public var qualifiedName: String { keyspace + "." + name }

    /// Ten years: far beyond any repair cycle, and safe to turn into microseconds.
    public static let gcGraceSecondsMax: Int64 = 315_360_000

    /// The rule for keyspace and table names: 1 to 48 ASCII letters, digits
    /// or underscores (they become file and metric names).
    public static func isValidName(_ name: String) -> Bool {
        !name.isEmpty && name.utf8.count <= 48
            && name.utf8.allSatisfy { ($0 >= 97 && $0 <= 122) || ($0 >= 65 && $0 <= 90) || ($0 >= 48 && $0 <= 57) || $0 == 95 }
    }

    /// Throws `.invalidArgument` if an option is out of range.
    public func validate() throws(StorageError) {
        func bad(_ m: String) -> StorageError { StorageError(code: .invalidArgument, message: m) }
        for part in [keyspace, name] {
            guard Self.isValidName(part) else { throw bad("keyspace and table names are 1 to 48 letters, digits or underscores: '\(part)'") }
        }
        if partitionKey.isEmpty { throw bad("a table needs at least one partition key column") }
        var names = Set<String>()
        for column in partitionKey + clusteringKey + columns {
            if column.name.isEmpty || column.name.utf8.count > 255 {
                throw bad("column names are 1 to 255 bytes: '\(column.name.prefix(40))'")
            }
            if !names.insert(column.name).inserted { throw bad("column '\(column.name)' is declared twice") }
        }
        func thresholds(_ st: SizeTieredOptions) throws(StorageError) {
            guard st.minThreshold >= 2, st.maxThreshold >= st.minThreshold, st.maxThreshold <= 1024,
                  st.bucketLow > 0, st.bucketHigh >= st.bucketLow else {
                throw bad("size-tiered thresholds must satisfy 2 <= min <= max <= 1024 and 0 < bucket_low <= bucket_high")
            }
        }
        switch options.compaction {
        case .sizeTiered(let st): try thresholds(st)
        case .timeWindow(let tw):
            try thresholds(tw.sizeTiered)
            if tw.size > 100_000 { throw bad("time window size must be at most 100000 units") }
        }
        if !(options.bloomFalsePositiveChance > 0 && options.bloomFalsePositiveChance < 1) {
            throw bad("bloom_filter_fp_chance must be between 0 and 1")
        }
        if options.blockBytes.bytes < 1024 || options.blockBytes.bytes > 1 << 24 {
            throw bad("block size must be between 1 KiB and 16 MiB")
        }
        if options.gcGraceSeconds < 0 || options.defaultTTLSeconds < 0 { throw bad("gc grace and default TTL are never negative") }
        if options.gcGraceSeconds > Self.gcGraceSecondsMax { throw bad("gc grace is at most \(Self.gcGraceSecondsMax) seconds (10 years)") }
        if case .timeWindow(let tw) = options.compaction, tw.size < 1 { throw bad("time window size must be at least 1") }
        if case .zstd(let level) = options.compression, !(1...22).contains(level) { throw bad("zstd level must be 1...22") }
    }
}

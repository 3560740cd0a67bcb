// The errors the storage engine reports. Operating errors carry numbers and
// a remedy; corruption names the file and offset.
import RingtailCore

/// A storage failure: what went wrong, where, and what to do about it.
public struct StorageError: Error, Sendable, CustomStringConvertible, Equatable {
    public enum Code: String, Sendable {
        /// Bytes on disk do not match their checksum or cannot be decoded.
        case corruption
        /// A key, cell or mutation is larger than the configured limit.
        case limitExceeded
        /// No table with that name or id.
        case unknownTable
        /// A table with that name exists already.
        case tableExists
        /// A caller passed a value the engine cannot accept.
        case invalidArgument
        /// The file system failed (full disk, permissions, I/O error).
        case io
        /// The engine was closed.
        case closed
        /// A file carries a format version this build does not know.
        case unsupportedVersion
        /// An earlier I/O failure stopped writes; reads still work.
        case writesStopped
    }

    public var code: Code
    public var message: String
    public var path: String?
    public var offset: Int?

    public init(code: Code, message: String, path: String? = nil, offset: Int? = nil) {
        self.code = code
        self.message = message
        self.path = path
        self.offset = offset
    }

    static func corruption(_ message: String, path: String, offset: Int) -> StorageError {
        StorageError(code: .corruption, message: message, path: path, offset: offset)
    }

    static func io(_ error: FileSystemError) -> StorageError {
        StorageError(code: .io, message: error.description, path: error.path)
    }

    public var description: String {
        var text = "\(code.rawValue): \(message)"
        if let path { text += " [file \(path)" + (offset.map { " offset \($0)" } ?? "") + "]" }
        return text
    }
}

/// Size limits checked on every mutation before anything is written.
public struct StorageLimits: Sendable, Equatable {
    public var partitionKeyBytesMax: Int = 65_535
    public var clusteringKeyBytesMax: Int = 65_535
    public var columnNameBytesMax: Int = 65_535
    public var cellValueBytesMax: Int = 4 * 1024 * 1024
    /// Encoded size of one mutation; also bounded by half a commit log segment.
    public var mutationBytesMax: Int = 16 * 1024 * 1024
    /// Rows, cells or range tombstones in one mutation.
    public var mutationElementsMax: Int = 1_000_000

    public init() {}

    /// Throws `.limitExceeded` or `.invalidArgument` if `update` breaks a limit.
    public func check(_ update: PartitionUpdate) throws(StorageError) {
        func fail(_ what: String, _ size: Int, _ limit: Int) -> StorageError {
            StorageError(code: .limitExceeded, message: "\(what) is \(size) bytes; the limit is \(limit)")
        }
        if update.key.isEmpty {
            throw StorageError(code: .invalidArgument, message: "partition key is empty")
        }
        if update.key.count > partitionKeyBytesMax { throw fail("partition key", update.key.count, partitionKeyBytesMax) }
        var elements = update.rangeTombstones.count + update.rows.count
        for rt in update.rangeTombstones {
            for key in [rt.range.lower.key, rt.range.upper.key] {
                if let key, key.count > clusteringKeyBytesMax { throw fail("range tombstone bound", key.count, clusteringKeyBytesMax) }
            }
        }
        for row in update.rows {
            if row.clustering.count > clusteringKeyBytesMax { throw fail("clustering key", row.clustering.count, clusteringKeyBytesMax) }
            elements += row.cells.count
            for cell in row.cells {
                if cell.column.count > columnNameBytesMax { throw fail("column name", cell.column.count, columnNameBytesMax) }
                if cell.value.count > cellValueBytesMax { throw fail("cell value", cell.value.count, cellValueBytesMax) }
                if case .expiring(let ttl, _) = cell.kind, ttl <= 0 {
                    throw StorageError(code: .invalidArgument, message: "a TTL must be at least 1 second, got \(ttl)")
                }
                if cell.isTombstone && !cell.value.isEmpty {
                    throw StorageError(code: .invalidArgument, message: "a cell tombstone carries no value")
                }
            }
        }
        if elements > mutationElementsMax {
            throw StorageError(code: .limitExceeded, message: "mutation has \(elements) rows, cells and tombstones; the limit is \(mutationElementsMax)")
        }
    }
}

// Read-only inspection of single files for `ringtail inspect`: decode every
// record or partition, verify every checksum, report the first problem.
import RingtailCore

/// Inspects one file at a time; never modifies anything.
public enum Inspector {
    public struct SSTableReport: Sendable {
        public var statistics: SSTableStatistics
        public var fileBytes: Int
        public var blockCount: Int
        public var formatVersion: UInt16
        /// Partitions in file order (rows ascending), up to the requested limit.
        public var partitions: [(token: Int64, update: PartitionUpdate)]
        public var partitionsRead: Int
    }

    /// Opens an SSTable, verifies its digest and every block, and decodes
    /// partitions (keeping at most `keep`). Throws the first corruption.
    public static func sstable(_ path: String, fileSystem: FileSystem, keep: Int = .max) throws(StorageError) -> SSTableReport {
        let reader = try SSTableReader(fileSystem: fileSystem, path: path, limits: StorageLimits(), cache: nil)
        try reader.verify()
        var scanner = SSTableScanner(reader: reader)
        var kept: [(Int64, PartitionUpdate)] = []
        var count = 0
        while let (token, update) = try scanner.next() {
            if kept.count < keep { kept.append((token, update)) }
            count += 1
        }
        guard count == reader.statistics.partitionCount else {
            throw .corruption("statistics say \(reader.statistics.partitionCount) partitions, data holds \(count)", path: path, offset: 0)
        }
        return SSTableReport(statistics: reader.statistics, fileBytes: reader.fileBytes, blockCount: reader.blockCount,
                             formatVersion: reader.footer.version, partitions: kept, partitionsRead: count)
    }

    public struct CommitLogReport: Sendable {
        public var segment: UInt64
        public var fileBytes: Int
        public var records: [(offset: Int, mutation: Mutation)]
        public var tornTailOffset: Int?
    }

    /// Decodes every record of a commit log segment. A torn final record is
    /// reported (not thrown) since it is what a crash leaves behind.
    public static func commitLog(_ path: String, fileSystem: FileSystem) throws(StorageError) -> CommitLogReport {
        let bytes: [UInt8]
        do { bytes = try fileSystem.readFile(path) } catch { throw .io(error) }
        let scan = try CommitLogScanner.scan(bytes, path: path, allowTornTail: true)
        var records: [(Int, Mutation)] = []
        for record in scan.records {
            do { records.append((record.offset, try CommitLogFormat.decodeMutation(record.payload, limits: StorageLimits()))) } catch {
                throw .corruption("record does not decode: \(error)", path: path, offset: record.offset)
            }
        }
        return CommitLogReport(segment: scan.segment, fileBytes: bytes.count, records: records, tornTailOffset: scan.tornTailOffset)
    }
}

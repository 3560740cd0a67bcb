// Opens an SSTable and answers: might it hold this partition (bloom), where
// is the partition (summary then index chunk), and what are its rows in a
// clustering slice (data blocks, through the shared block cache).
import RingtailCore
import Synchronization

/// One partition's place in the data stream, from the partition index.
struct IndexEntry: Sendable {
    var token: Int64
    var key: [UInt8]
    /// Data block holding the partition header, and the header's offset in it.
    var block: Int
    var offset: Int
    /// For each further block the partition's rows run into: the block and
    /// the first clustering key in it (in stored order).
    var rowIndex: [(block: Int, first: [UInt8])]
}

/// An open, immutable SSTable. Thread-safe; reads share the block cache.
final class SSTableReader: @unchecked Sendable {
    private static let nextID = Atomic<UInt64>(1)

    let path: String
    let id: UInt64
    let file: ReadableFile
    let statistics: SSTableStatistics
    let footer: SSTableFooter
    let limits: StorageLimits
    private let bloom: BloomFilter
    private let blocks: [BlockHandle]
    private let summaryFirst: [PartitionPosition]
    private let summaryChunks: [BlockHandle]
    private let cache: BlockCache?

    var generation: UInt64 { statistics.generation }
    var table: TableID { statistics.table }
    var fileBytes: Int { file.size }
    var blockCount: Int { blocks.count }

    /// Opens and checks footer and metadata blocks (not the data blocks: see `verify`).
    init(fileSystem: FileSystem, path: String, limits: StorageLimits, cache: BlockCache?) throws(StorageError) {
        self.path = path
        self.limits = limits
        self.cache = cache
        id = Self.nextID.wrappingAdd(1, ordering: .relaxed).oldValue
        let file: ReadableFile
        do { file = try fileSystem.openForReading(path) } catch { throw .io(error) }
        self.file = file
        let size = file.size
        guard size >= SSTableFormat.footerBytes else {
            throw .corruption("file of \(size) bytes is too short to be an SSTable", path: path, offset: 0)
        }
        let footerBytes: [UInt8]
        do { footerBytes = try file.read(at: size - SSTableFormat.footerBytes, count: SSTableFormat.footerBytes) } catch { throw .io(error) }
        let footer = try SSTableFooter.decode(footerBytes, path: path, fileOffset: size - SSTableFormat.footerBytes)
        self.footer = footer
        let metaEnd = size - SSTableFormat.footerBytes
        func meta(_ handle: BlockHandle, _ what: String) throws(StorageError) -> [UInt8] {
            guard handle.offset >= 0, handle.length >= SSTableFormat.blockTrailerBytes, handle.offset + handle.length <= metaEnd else {
                throw .corruption("\(what) handle out of range", path: path, offset: metaEnd)
            }
            let sealed: [UInt8]
            do { sealed = try file.read(at: handle.offset, count: handle.length) } catch { throw .io(error) }
            return try SSTableFormat.open(sealed, path: path, offset: handle.offset)
        }
        let bloomBytes = try meta(footer.bloom, "bloom filter")
        let statsBytes = try meta(footer.statistics, "statistics")
        let summaryBytes = try meta(footer.summary, "summary")
        let tableBytes = try meta(footer.blockTable, "block table")
        do throws(DecodeError) {
            var r = ByteReader(bloomBytes)
            bloom = try BloomFilter.decode(&r)
            r = ByteReader(statsBytes)
            statistics = try SSTableStatistics.decode(&r)
            r = ByteReader(summaryBytes)
            let chunkCount = try r.readLength(limit: r.remaining)
            var firsts: [PartitionPosition] = []
            var chunks: [BlockHandle] = []
            firsts.reserveCapacity(chunkCount)
            chunks.reserveCapacity(chunkCount)
            for _ in 0..<chunkCount {
                let token = try r.readInt64()
                let key = try r.readLengthPrefixed(limit: limits.partitionKeyBytesMax)
                let handle = try BlockHandle.decode(&r)
                _ = try r.readVarint()
                guard handle.offset + handle.length <= metaEnd else { throw .invalid(offset: r.offset, reason: "index chunk out of range") }
                firsts.append(PartitionPosition(token: token, key: key))
                chunks.append(handle)
            }
            summaryFirst = firsts
            summaryChunks = chunks
            r = ByteReader(tableBytes)
            let blockCount = try r.readLength(limit: r.remaining)
            var handles: [BlockHandle] = []
            handles.reserveCapacity(blockCount)
            for _ in 0..<blockCount {
                let offset = try r.readLength(limit: metaEnd)
                let length = try r.readLength(limit: metaEnd - offset)
                guard length >= SSTableFormat.blockTrailerBytes else { throw .invalid(offset: r.offset, reason: "block shorter than trailer") }
                handles.append(BlockHandle(offset: offset, length: length))
            }
            blocks = handles
        } catch {
            throw .corruption("metadata: \(error)", path: path, offset: 0)
        }
    }

    func mayContain(hash: (UInt64, UInt64)) -> Bool { bloom.mayContain(hash) }

    /// Reads, verifies and decompresses data block `i` (cached).
    func dataBlock(_ i: Int) throws(StorageError) -> [UInt8] {
        guard i >= 0, i < blocks.count else {
            throw .corruption("reference to data block \(i) of \(blocks.count)", path: path, offset: 0)
        }
        return try cachedBlock(BlockCache.Key(reader: id, block: i), blocks[i])
    }

    private func cachedBlock(_ key: BlockCache.Key, _ handle: BlockHandle) throws(StorageError) -> [UInt8] {
        if let hit = cache?.get(key) { return hit }
        let sealed: [UInt8]
        do { sealed = try file.read(at: handle.offset, count: handle.length) } catch { throw .io(error) }
        let bytes = try SSTableFormat.open(sealed, path: path, offset: handle.offset)
        cache?.put(key, bytes)
        return bytes
    }

    /// Finds a partition's index entry, or nil if it is not in this file.
    func find(_ position: PartitionPosition) throws(StorageError) -> IndexEntry? {
        // Last chunk whose first entry is <= position.
        var lo = 0, hi = summaryFirst.count
        while lo < hi {
            let mid = (lo + hi) / 2
            if summaryFirst[mid] <= position { lo = mid + 1 } else { hi = mid }
        }
        guard lo > 0 else { return nil }
        let chunk = lo - 1
        let bytes = try cachedBlock(BlockCache.Key(reader: id, block: -(chunk + 1)), summaryChunks[chunk])
        var r = ByteReader(bytes)
        do throws(DecodeError) {
            while !r.isAtEnd {
                let token = try r.readInt64()
                if token > position.token { return nil }
                let keyLength = try r.readLength(limit: limits.partitionKeyBytesMax)
                let keyStart = r.offset
                try r.skip(keyLength)
                let match = token == position.token && bytes.withUnsafeBytes { raw in
                    position.key.withUnsafeBytes { compareBytes(UnsafeRawBufferPointer(rebasing: raw[keyStart..<keyStart + keyLength]), $0) == 0 }
                }
                if match {
                    return try Self.decodeEntryTail(&r, token: token, key: position.key, limits: limits)
                }
                _ = try r.readVarint()
                _ = try r.readVarint()
                let rowIndexCount = try r.readLength(limit: r.remaining)
                for _ in 0..<rowIndexCount {
                    _ = try r.readVarint()
                    try r.skip(try r.readLength(limit: limits.clusteringKeyBytesMax))
                }
            }
        } catch {
            throw .corruption("index chunk \(chunk): \(error)", path: path, offset: summaryChunks[chunk].offset)
        }
        return nil
    }

    private static func decodeEntryTail(_ r: inout ByteReader, token: Int64, key: [UInt8], limits: StorageLimits) throws(DecodeError) -> IndexEntry {
        let block = try r.readLength(limit: Int(Int32.max))
        let offset = try r.readLength(limit: Int(Int32.max))
        let count = try r.readLength(limit: r.remaining)
        var rowIndex: [(block: Int, first: [UInt8])] = []
        rowIndex.reserveCapacity(count)
        for _ in 0..<count {
            let b = try r.readLength(limit: Int(Int32.max))
            rowIndex.append((b, try r.readLengthPrefixed(limit: limits.clusteringKeyBytesMax)))
        }
        return IndexEntry(token: token, key: key, block: block, offset: offset, rowIndex: rowIndex)
    }

    /// Every index entry with a position after `start` (nil: from the
    /// beginning), in order, up to `limit` entries. For token range scans.
    func entries(after start: PartitionPosition?, limit: Int) throws(StorageError) -> [IndexEntry] {
        var out: [IndexEntry] = []
        var chunk = 0
        if let start {
            var lo = 0, hi = summaryFirst.count
            while lo < hi {
                let mid = (lo + hi) / 2
                if summaryFirst[mid] <= start { lo = mid + 1 } else { hi = mid }
            }
            chunk = max(0, lo - 1)
        }
        while chunk < summaryChunks.count && out.count < limit {
            let bytes = try cachedBlock(BlockCache.Key(reader: id, block: -(chunk + 1)), summaryChunks[chunk])
            var r = ByteReader(bytes)
            do throws(DecodeError) {
                while !r.isAtEnd && out.count < limit {
                    let token = try r.readInt64()
                    let key = try r.readLengthPrefixed(limit: limits.partitionKeyBytesMax)
                    let entry = try Self.decodeEntryTail(&r, token: token, key: key, limits: limits)
                    if let start, PartitionPosition(token: token, key: key) <= start { continue }
                    out.append(entry)
                }
            } catch {
                throw .corruption("index chunk \(chunk): \(error)", path: path, offset: summaryChunks[chunk].offset)
            }
            chunk += 1
        }
        return out
    }

    /// Reads the full file and checks the digest and every block checksum.
    func verify() throws(StorageError) {
        let size = file.size
        let bodyLength = size - SSTableFormat.footerBytes
        var crc: UInt32 = 0
        var offset = 0
        while offset < bodyLength {
            let n = min(1 << 20, bodyLength - offset)
            let chunk: [UInt8]
            do { chunk = try file.read(at: offset, count: n) } catch { throw .io(error) }
            crc = CRC32C.checksum(chunk, continuing: crc)
            offset += n
        }
        guard crc == footer.fileDigest else {
            throw .corruption("file digest mismatch (stored \(hex32(footer.fileDigest)), computed \(hex32(crc)))", path: path, offset: 0)
        }
        for i in 0..<blocks.count {
            let sealed: [UInt8]
            do { sealed = try file.read(at: blocks[i].offset, count: blocks[i].length) } catch { throw .io(error) }
            _ = try SSTableFormat.open(sealed, path: path, offset: blocks[i].offset)
        }
    }
}

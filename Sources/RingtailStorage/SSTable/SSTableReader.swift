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
    /// Where the partition's bytes end in `block` when the index shows it
    /// (the next entry starts in the same block), so a point read can
    /// decompress the block only that far; nil: they may run to its end.
    var end: Int? = nil
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
    /// Wall-clock µs at which this process wrote the SSTable (a flush or a
    /// compaction); 0 for SSTables found at open. Compaction uses it to tell
    /// a time window that is still receiving data from a quiet one.
    var createdMicros: Int64 = 0
    private let bloom: BloomFilter
    private let blocks: [BlockHandle]
    /// First position of each index chunk, as tokens and keys apart so
    /// the search reads a dense token array.
    private let summaryTokens: [Int64]
    private let summaryKeys: [[UInt8]]
    private let summaryChunks: [BlockHandle]
    private let cache: BlockCache?
    /// The partition index, one lazily loaded chunk per summary entry.
    private let indexChunks: PublishedSlots<IndexChunk>
    private let indexBytes = Atomic<Int>(0)

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
            return try Self.readBlock(file, handle, path: path).bytes
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
            var firstTokens: [Int64] = []
            var firstKeys: [[UInt8]] = []
            var chunks: [BlockHandle] = []
            firstTokens.reserveCapacity(chunkCount)
            firstKeys.reserveCapacity(chunkCount)
            chunks.reserveCapacity(chunkCount)
            for _ in 0..<chunkCount {
                let token = try r.readInt64()
                let key = try r.readLengthPrefixed(limit: limits.partitionKeyBytesMax)
                let handle = try BlockHandle.decode(&r)
                _ = try r.readVarint()
                guard handle.offset + handle.length <= metaEnd else { throw .invalid(offset: r.offset, reason: "index chunk out of range") }
                if let previous = firstTokens.last, previous > token {
                    throw .invalid(offset: r.offset, reason: "summary tokens out of order")
                }
                firstTokens.append(token)
                firstKeys.append(key)
                chunks.append(handle)
            }
            summaryTokens = firstTokens
            summaryKeys = firstKeys
            summaryChunks = chunks
            indexChunks = PublishedSlots(count: chunks.count)
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

    deinit {
        cache?.noteIndexBytes(-indexBytes.load(ordering: .relaxed))
    }

    func mayContain(hash: (UInt64, UInt64)) -> Bool { bloom.mayContain(hash) }

    /// Reads, verifies and decompresses data block `i` (cached), whole or,
    /// when `prefix` is given, at least its first `prefix` bytes.
    func dataBlock(_ i: Int, prefix: Int = .max) throws(StorageError) -> [UInt8] {
        guard i >= 0, i < blocks.count else {
            throw .corruption("reference to data block \(i) of \(blocks.count)", path: path, offset: 0)
        }
        let key = BlockCache.Key(reader: id, block: i)
        if let hit = cache?.get(key, prefix: prefix) { return hit }
        let handle = blocks[i]
        let (bytes, complete) = try Self.readBlock(file, handle, path: path, prefix: prefix)
        cache?.put(key, bytes, complete: complete)
        return bytes
    }

    /// Index chunk `i`, read and verified on first use, then kept with
    /// this reader (not in the block cache). Thread-safe: racing loaders
    /// each decode the chunk and the first to publish wins.
    private func indexChunk(_ i: Int) throws(StorageError) -> IndexChunk {
        if let loaded = indexChunks.load(i) { return loaded }
        let handle = summaryChunks[i]
        let bytes = try Self.readBlock(file, handle, path: path).bytes
        let chunk: IndexChunk
        do throws(DecodeError) {
            chunk = try IndexChunk(bytes: bytes, limits: limits)
        } catch {
            throw .corruption("index chunk \(i): \(error)", path: path, offset: handle.offset)
        }
        let published = indexChunks.storeIfNil(i, chunk)
        if published === chunk {
            indexBytes.add(chunk.memoryBytes, ordering: .relaxed)
            cache?.noteIndexBytes(chunk.memoryBytes)
        }
        return published
    }

    /// Last chunk whose first entry is <= position, or nil if none.
    private func chunk(containing position: PartitionPosition) -> Int? {
        var i = IndexChunk.lowerBound(position.token, in: summaryTokens)
        while i < summaryTokens.count && summaryTokens[i] == position.token && compareBytes(summaryKeys[i], position.key) <= 0 {
            i += 1
        }
        return i > 0 ? i - 1 : nil
    }

    /// Finds a partition's index entry, or nil if it is not in this file.
    func find(_ position: PartitionPosition) throws(StorageError) -> IndexEntry? {
        guard let i = chunk(containing: position) else { return nil }
        let chunk = try indexChunk(i)
        do throws(DecodeError) {
            return try chunk.find(position, limits: limits)
        } catch {
            throw .corruption("index chunk \(i): \(error)", path: path, offset: summaryChunks[i].offset)
        }
    }

    /// Every index entry with a position after `start` (nil: from the
    /// beginning), in order, up to `limit` entries. For token range scans.
    func entries(after start: PartitionPosition?, limit: Int) throws(StorageError) -> [IndexEntry] {
        var out: [IndexEntry] = []
        var i = start.flatMap { chunk(containing: $0) } ?? 0
        var first = true
        while i < summaryChunks.count && out.count < limit {
            let chunk = try indexChunk(i)
            do throws(DecodeError) {
                var j = 0
                if first, let start { j = try chunk.firstIndex(after: start, limits: limits) }
                while j < chunk.count && out.count < limit {
                    out.append(try chunk.entry(j, limits: limits))
                    j += 1
                }
            } catch {
                throw .corruption("index chunk \(i): \(error)", path: path, offset: summaryChunks[i].offset)
            }
            first = false
            i += 1
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
            throw .corruption("file digest mismatch (stored \(Hex.word(footer.fileDigest)), computed \(Hex.word(crc)))", path: path, offset: 0)
        }
        for handle in blocks { _ = try Self.readBlock(file, handle, path: path) }
    }

    /// Reads the sealed block at `handle`, verifies its checksum and opens it
    /// (decompressing at least `prefix` bytes): the one way blocks come off disk.
    static func readBlock(_ file: ReadableFile, _ handle: BlockHandle, path: String,
                          prefix: Int = .max) throws(StorageError) -> (bytes: [UInt8], complete: Bool) {
        let sealed: [UInt8]
        do { sealed = try file.read(at: handle.offset, count: handle.length) } catch { throw .io(error) }
        return try SSTableFormat.open(consume sealed, path: path, offset: handle.offset, prefix: prefix)
    }
}

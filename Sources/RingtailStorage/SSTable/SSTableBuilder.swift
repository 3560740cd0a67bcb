// Writes one SSTable from partitions given in (token, key) order. The file
// is written under a temporary name, synced, renamed and its directory
// synced, so a crash never exposes a partial SSTable.
import RingtailCore

/// Builds an immutable SSTable file, once.
///
/// Not thread-safe: one builder, one thread. Partitions must arrive in
/// strictly increasing (token, key) order with rows sorted ascending.
final class SSTableBuilder {
    let fileSystem: FileSystem
    let finalPath: String
    let temporaryPath: String
    let options: TableOptions
    let limits: StorageLimits
    private let file: WritableFile
    private var out: [UInt8] = []
    private var fileOffset = 0
    private var digest: UInt32 = 0
    private var block = ByteWriter(capacity: 1 << 15)
    private var blocks: [BlockHandle] = []
    private var indexChunk = ByteWriter(capacity: SSTableFormat.indexChunkBytes * 2)
    private var chunkFirst: (token: Int64, key: [UInt8])?
    private var chunkEntries = 0
    private var summary = ByteWriter(capacity: 4096)
    private var summaryCount = 0
    private var bloom: BloomFilter
    private(set) var stats = SSTableStatistics()
    private var last: PartitionPosition?
    private var finished = false
    private let base: Int64

    init(fileSystem: FileSystem, directory: String, table: TableID, generation: UInt64, options: TableOptions,
         limits: StorageLimits, baseTimestamp: Int64, expectedPartitions: Int, compactionLevel: Int = 0) throws(StorageError) {
        self.fileSystem = fileSystem
        self.options = options
        self.limits = limits
        finalPath = Path.join(directory, SSTableFormat.fileName(table: table, generation: generation))
        temporaryPath = finalPath + ".tmp"
        base = baseTimestamp
        bloom = BloomFilter(expectedKeys: expectedPartitions, falsePositiveChance: options.bloomFalsePositiveChance)
        stats.table = table
        stats.generation = generation
        stats.baseTimestamp = baseTimestamp
        stats.clusteringOrder = options.clusteringOrder
        stats.compressionTag = options.compression.tag
        stats.compactionLevel = compactionLevel
        do {
            if fileSystem.fileExists(temporaryPath) { try fileSystem.removeFile(temporaryPath) }
            file = try fileSystem.createFile(temporaryPath)
        } catch {
            throw .io(error)
        }
    }

    var estimatedBytes: Int { fileOffset + out.count + block.count }

    /// Appends one partition. Empty updates (nothing recorded) are skipped.
    func add(_ update: PartitionUpdate, token: Int64) throws(StorageError) {
        precondition(!finished)
        guard !update.isEmpty else { return }
        let position = PartitionPosition(token: token, key: update.key)
        if let last { precondition(last < position, "partitions out of order") }
        last = position
        noteStatistics(update, token: token)
        bloom.insert(BloomFilter.hash(update.key))

        let startBlock = blocks.count, startOffset = block.count
        var rowIndex: [(block: Int, first: [UInt8])] = []
        block.writeUInt8(SSTableFormat.itemPartition)
        PartitionCodec.encodeHeader(update, base: base, into: &block)
        let descending = options.clusteringOrder == .descending
        var i = descending ? update.rows.count - 1 : 0
        while descending ? i >= 0 : i < update.rows.count {
            let row = update.rows[i]
            if block.count >= options.blockBytes.bytes {
                try cutBlock()
                rowIndex.append((blocks.count, row.clustering))
            }
            block.writeUInt8(SSTableFormat.itemRow)
            PartitionCodec.encode(row, base: base, into: &block)
            i += descending ? -1 : 1
        }
        block.writeUInt8(SSTableFormat.itemEndOfPartition)
        if block.count >= options.blockBytes.bytes { try cutBlock() }

        // Index entry for this partition.
        if chunkFirst == nil { chunkFirst = (token, update.key) }
        indexChunk.writeInt64(token)
        indexChunk.writeLengthPrefixed(update.key)
        indexChunk.writeVarint(startBlock)
        indexChunk.writeVarint(startOffset)
        indexChunk.writeVarint(rowIndex.count)
        for entry in rowIndex {
            indexChunk.writeVarint(entry.block)
            indexChunk.writeLengthPrefixed(entry.first)
        }
        chunkEntries += 1
        if indexChunk.count >= SSTableFormat.indexChunkBytes { try cutIndexChunk() }
    }

    private func noteStatistics(_ u: PartitionUpdate, token: Int64) {
        if stats.partitionCount == 0 { stats.firstKey = u.key }
        stats.lastKey = u.key
        stats.partitionCount += 1
        stats.minToken = min(stats.minToken, token)
        stats.maxToken = max(stats.maxToken, token)
        if !u.deletion.isLive { stats.partitionDeletionCount += 1 }
        stats.noteDeletion(u.deletion)
        for rt in u.rangeTombstones {
            stats.rangeTombstoneCount += 1
            stats.noteDeletion(rt.deletion)
            if let k = rt.range.lower.key { stats.noteClustering(k) } else { stats.hasOpenRangeTombstone = true }
            if let k = rt.range.upper.key { stats.noteClustering(k) } else { stats.hasOpenRangeTombstone = true }
        }
        for row in u.rows {
            stats.rowCount += 1
            stats.noteClustering(row.clustering)
            stats.noteDeletion(row.deletion)
            for cell in row.cells { stats.note(cell) }
        }
    }

    private func emit(_ bytes: [UInt8]) throws(StorageError) -> BlockHandle {
        let handle = BlockHandle(offset: fileOffset + out.count, length: bytes.count)
        digest = CRC32C.checksum(bytes, continuing: digest)
        out.append(contentsOf: bytes)
        if out.count >= 1 << 18 { try drain() }
        return handle
    }

    private func drain() throws(StorageError) {
        guard !out.isEmpty else { return }
        do { try file.append(out) } catch { throw .io(error) }
        fileOffset += out.count
        out.removeAll(keepingCapacity: true)
    }

    private func cutBlock() throws(StorageError) {
        guard block.count > 0 else { return }
        stats.uncompressedBytes += block.count
        let (stored, tag) = BlockCompressor.compress(block.bytes, options.compression)
        let sealed = SSTableFormat.seal(stored, tag: tag, uncompressedLength: block.count)
        stats.dataBytes += sealed.count
        blocks.append(try emit(sealed))
        block.bytes.removeAll(keepingCapacity: true)
    }

    private func cutIndexChunk() throws(StorageError) {
        guard chunkEntries > 0, let first = chunkFirst else { return }
        let handle = try emit(SSTableFormat.seal(indexChunk.bytes, tag: 0, uncompressedLength: indexChunk.count))
        summary.writeInt64(first.token)
        summary.writeLengthPrefixed(first.key)
        handle.encode(into: &summary)
        summary.writeVarint(chunkEntries)
        summaryCount += 1
        indexChunk.bytes.removeAll(keepingCapacity: true)
        chunkFirst = nil
        chunkEntries = 0
    }

    private func emitMeta(_ w: ByteWriter) throws(StorageError) -> BlockHandle {
        try emit(SSTableFormat.seal(w.bytes, tag: 0, uncompressedLength: w.count))
    }

    /// Completes the file and makes it durable under its final name.
    /// Returns the statistics written. The builder cannot be used afterwards.
    func finish() throws(StorageError) -> SSTableStatistics {
        precondition(!finished)
        finished = true
        try cutBlock()
        try cutIndexChunk()
        stats.blockCount = blocks.count
        var w = ByteWriter()
        bloom.encode(into: &w)
        let bloomHandle = try emitMeta(w)
        w = ByteWriter()
        stats.encode(into: &w)
        let statsHandle = try emitMeta(w)
        w = ByteWriter()
        w.writeVarint(summaryCount)
        w.writeBytes(summary.bytes)
        let summaryHandle = try emitMeta(w)
        w = ByteWriter(capacity: blocks.count * 8 + 8)
        w.writeVarint(blocks.count)
        for b in blocks {
            w.writeVarint(b.offset)
            w.writeVarint(b.length)
        }
        let tableHandle = try emitMeta(w)
        let footer = SSTableFooter(bloom: bloomHandle, statistics: statsHandle, summary: summaryHandle,
                                   blockTable: tableHandle, version: SSTableFormat.version, fileDigest: digest)
        out.append(contentsOf: footer.encode())
        try drain()
        do {
            try file.sync()
            try file.close()
            try fileSystem.rename(temporaryPath, to: finalPath)
            try fileSystem.syncDirectory(Path.directory(of: finalPath))
        } catch {
            throw .io(error)
        }
        return stats
    }

    /// Gives up on the file (after an error): removes the temporary file.
    func abandon() {
        finished = true
        try? file.close()
        try? fileSystem.removeFile(temporaryPath)
    }
}

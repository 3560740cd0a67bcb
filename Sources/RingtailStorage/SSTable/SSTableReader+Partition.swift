// Reading partitions out of data blocks: one partition's header and rows in
// a clustering slice (lazily, block by block, skipping blocks by the row
// index), and a sequential scan of every partition (compaction, inspect).
import RingtailCore

extension SSTableReader {
    /// Decodes the partition header at the entry; returns it (no rows),
    /// the offset just past it in the entry's block, and that block's bytes
    /// (only up to `entry.end` when the entry gives it), for the cursor.
    func header(_ entry: IndexEntry) throws(StorageError) -> (header: PartitionUpdate, end: Int, block: [UInt8]) {
        let bytes = try dataBlock(entry.block, prefix: entry.end ?? .max)
        guard entry.offset < bytes.count else {
            throw .corruption("partition offset \(entry.offset) past block \(entry.block)", path: path, offset: 0)
        }
        var r = ByteReader(bytes, offset: entry.offset)
        do throws(DecodeError) {
            let tag = try r.readUInt8()
            guard tag == SSTableFormat.itemPartition else { throw .unknownTag(offset: entry.offset, tag: tag, what: "partition header") }
            let header = try PartitionCodec.decodeHeader(&r, base: statistics.baseTimestamp, limits: limits)
            guard header.key == entry.key else { throw .invalid(offset: entry.offset, reason: "partition key differs from index") }
            return (header, r.offset, bytes)
        } catch {
            throw .corruption("data block \(entry.block): \(error)", path: path, offset: 0)
        }
    }

    /// Appends this partition's rows in data block `block` from byte
    /// `start` that lie in `slice` to `out`, in stored order; returns true
    /// if the partition's end marker was reached. Rows outside the slice
    /// are decoded (the format has no row lengths) but not kept.
    func rows(inBlock block: Int, from start: Int, in slice: ClusteringRange, into out: inout [Row]) throws(StorageError) -> Bool {
        try rows(in: try dataBlock(block), block: block, from: start, in: slice, into: &out)
    }

    /// As `rows(inBlock:from:in:into:)`, on block `block`'s bytes in hand.
    func rows(in bytes: [UInt8], block: Int, from start: Int, in slice: ClusteringRange, into out: inout [Row]) throws(StorageError) -> Bool {
        var r = ByteReader(bytes, offset: min(start, bytes.count))
        let filtered = slice != .all
        var lastColumn: [UInt8] = []
        do throws(DecodeError) {
            while !r.isAtEnd {
                let at = r.offset
                let tag = try r.readUInt8()
                switch tag {
                case SSTableFormat.itemRow:
                    let row = try PartitionCodec.decodeRow(&r, base: statistics.baseTimestamp, limits: limits, lastColumn: &lastColumn)
                    if !filtered || slice.contains(row.clustering) { out.append(row) }
                case SSTableFormat.itemEndOfPartition:
                    return true
                default:
                    throw .unknownTag(offset: at, tag: tag, what: "row item")
                }
            }
        } catch {
            throw .corruption("data block \(block): \(error)", path: path, offset: 0)
        }
        return false
    }
}

/// Yields one partition's rows from one SSTable within a slice, in the
/// requested clustering order, decoding one block at a time.
struct SSTableRowCursor {
    let reader: SSTableReader
    let slice: ClusteringRange
    /// Output order is opposite to the stored order.
    let reversed: Bool
    /// Blocks of the partition in stored order; the first is the header's.
    private var blockList: [(block: Int, first: [UInt8]?, start: Int)]
    private var order: [Int]
    private var nextBlock = 0
    private var pending: [Row] = []
    private var pendingIndex = 0
    /// The header's block as `header(_:)` returned it (maybe a prefix
    /// ending at the partition's end), so it is not looked up again.
    private var firstBlock: [UInt8]?
    /// Where the partition ends in its first block, if the index says.
    private let firstEnd: Int?

    /// `firstBlock`: the bytes `header(entry)` returned, if at hand.
    init(reader: SSTableReader, entry: IndexEntry, headerEnd: Int, slice: ClusteringRange, descending: Bool,
         firstBlock: [UInt8]? = nil) {
        self.reader = reader
        self.slice = slice
        self.firstBlock = firstBlock
        firstEnd = entry.end
        let storedDescending = reader.statistics.clusteringOrder == .descending
        reversed = storedDescending != descending
        var list: [(block: Int, first: [UInt8]?, start: Int)] = [(entry.block, nil, headerEnd)]
        for e in entry.rowIndex { list.append((e.block, e.first, 0)) }
        blockList = list
        // Keep only blocks that can hold keys in the slice.
        var keep: [Int] = []
        for j in list.indices {
            let own = list[j].first
            let next = j + 1 < list.count ? list[j + 1].first : nil
            let irrelevant: Bool
            if storedDescending {
                irrelevant = (next.map { slice.isAbove($0) } ?? false) || (own.map { slice.isBelow($0) } ?? false)
            } else {
                irrelevant = (next.map { slice.isBelow($0) } ?? false) || (own.map { slice.isAbove($0) } ?? false)
            }
            if !irrelevant { keep.append(j) }
        }
        order = reversed ? keep.reversed() : keep
    }

    mutating func next() throws(StorageError) -> Row? {
        while true {
            if pendingIndex < pending.count {
                // Move the row out, leaving an empty one, so the caller
                // holds the only reference (no retain now, no release later).
                defer { pendingIndex += 1 }
                return swapOut(&pending[pendingIndex])
            }
            guard nextBlock < order.count else { return nil }
            let listIndex = order[nextBlock]
            let item = blockList[listIndex]
            nextBlock += 1
            // Reuse the buffer: rows already handed out were moved out of it.
            pending.removeAll(keepingCapacity: true)
            pendingIndex = 0
            if listIndex == 0 {
                let bytes: [UInt8]
                if let held = firstBlock { bytes = held } else { bytes = try reader.dataBlock(item.block, prefix: firstEnd ?? .max) }
                firstBlock = nil
                let ended = try reader.rows(in: bytes, block: item.block, from: item.start, in: slice, into: &pending)
                // A prefix must hold the whole partition, as the index says.
                guard ended || firstEnd == nil else {
                    throw .corruption("partition runs past the end its index entry gives in data block \(item.block)",
                                      path: reader.path, offset: 0)
                }
            } else {
                _ = try reader.rows(inBlock: item.block, from: item.start, in: slice, into: &pending)
            }
            if reversed { pending.reverse() }
        }
    }
}

@inline(__always)
private func swapOut(_ row: inout Row) -> Row {
    var taken = Row(clustering: [], cells: [])
    swap(&taken, &row)
    return taken
}

/// Reads every partition of an SSTable in (token, key) order.
struct SSTableScanner {
    let reader: SSTableReader
    private var block = 0
    private var reader_: ByteReader? = nil
    /// The previous partition: a file whose partitions are out of order is
    /// corrupt (compaction would otherwise trip the builder's precondition).
    private var last: PartitionPosition?

    init(reader: SSTableReader) {
        self.reader = reader
    }

    /// The next whole partition, rows ascending, or nil at the end.
    mutating func next() throws(StorageError) -> (token: Int64, update: PartitionUpdate)? {
        var current: PartitionUpdate?
        let base = reader.statistics.baseTimestamp
        while true {
            if reader_ == nil || reader_!.isAtEnd {
                if current == nil && block >= reader.blockCount { return nil }
                guard block < reader.blockCount else {
                    throw .corruption("last partition has no end marker", path: reader.path, offset: 0)
                }
                reader_ = ByteReader(try reader.dataBlock(block))
                block += 1
                continue
            }
            do throws(DecodeError) {
                let at = reader_!.offset
                let tag = try reader_!.readUInt8()
                switch tag {
                case SSTableFormat.itemPartition:
                    guard current == nil else { throw .invalid(offset: at, reason: "partition header inside a partition") }
                    current = try PartitionCodec.decodeHeader(&reader_!, base: base, limits: reader.limits)
                case SSTableFormat.itemRow:
                    guard current != nil else { throw .invalid(offset: at, reason: "row outside a partition") }
                    current!.rows.append(try PartitionCodec.decodeRow(&reader_!, base: base, limits: reader.limits))
                case SSTableFormat.itemEndOfPartition:
                    guard var done = current else { throw .invalid(offset: at, reason: "end marker outside a partition") }
                    if reader.statistics.clusteringOrder == .descending { done.rows.reverse() }
                    let position = PartitionPosition(key: done.key)
                    if let last, !(last < position) {
                        throw .invalid(offset: at, reason: "partition out of (token, key) order")
                    }
                    last = position
                    return (position.token, done)
                default:
                    throw .unknownTag(offset: at, tag: tag, what: "data item")
                }
            } catch {
                throw .corruption("data block \(block - 1): \(error)", path: reader.path, offset: 0)
            }
        }
    }
}

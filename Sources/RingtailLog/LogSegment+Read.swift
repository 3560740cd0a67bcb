// Reading a segment: locating a batch by offset through the sparse index,
// returning whole batches for a fetch, and finding an offset by timestamp.
import RingtailCore

extension LogSegment {
    /// Reads `count` bytes at `position`.
    func bytes(at position: Int, count: Int) throws(LogError) -> [UInt8] {
        precondition(position >= 0 && position + count <= size)
        do { return try reader.read(at: position, count: count) } catch { throw .io(error) }
    }

    /// The header of the batch at `position` (a batch start below `size`).
    func header(at position: Int) throws(LogError) -> RecordBatchHeader {
        let raw = try bytes(at: position, count: RecordBatchLayout.headerBytes)
        let header = RecordBatchHeader(raw, at: 0)
        guard header.magic == RecordBatchLayout.currentMagic, header.batchLength > 0,
              position + header.totalBytes <= size else {
            throw LogError.corruption("batch header does not describe a batch in the segment", path: logPath, offset: position)
        }
        return header
    }

    /// The position of the first batch whose last offset is ≥ `offset`, or
    /// `size` if there is none.
    func position(of offset: Int64) throws(LogError) -> Int {
        guard offset > baseOffset else { return 0 }
        let relative = UInt32(clamping: offset - baseOffset)
        var position = Int(index.floor(relative: relative).position)
        var hops = 0
        while position < size {
            let header = try header(at: position)
            if header.lastOffset >= offset { return position }
            position += header.totalBytes
            hops += 1
            assert(hops <= size / RecordBatchLayout.headerBytes + 1)
        }
        return size
    }

    /// Whole batches from the one holding `offset`, up to `maxBytes` (at least
    /// one batch, even a larger one, so a consumer always makes progress),
    /// stopping before any batch that starts at or past `upperOffset`.
    /// Returns the bytes and the offset after the last batch in them.
    func read(from offset: Int64, maxBytes: Int, upperOffset: Int64) throws(LogError) -> (bytes: [UInt8], nextOffset: Int64) {
        let start = try position(of: offset)
        guard start < size else { return ([], offset) }
        let window = min(size - start, max(maxBytes, RecordBatchLayout.headerBytes))
        var chunk = try bytes(at: start, count: window)
        var end = 0
        var next = offset
        while end + RecordBatchLayout.headerBytes <= chunk.count {
            let header = RecordBatchHeader(chunk, at: end)
            guard header.magic == RecordBatchLayout.currentMagic, header.batchLength > 0 else {
                throw LogError.corruption("batch header does not describe a batch", path: logPath, offset: start + end)
            }
            if header.baseOffset >= upperOffset { break }
            if end + header.totalBytes > chunk.count {
                // The first batch is larger than the window: read all of it.
                if end == 0 && start + header.totalBytes <= size {
                    chunk = try bytes(at: start, count: header.totalBytes)
                    end = header.totalBytes
                    next = header.nextOffset
                }
                break
            }
            end += header.totalBytes
            next = header.nextOffset
        }
        return (end == chunk.count ? chunk : Array(chunk[0..<end]), next)
    }

    /// The first offset at or after `offset` whose record timestamp is ≥
    /// `timestamp`, or nil if no record in the segment is that late.
    func offset(forTimestamp timestamp: Int64, limits: LogLimits) throws(LogError) -> Int64? {
        guard maxTimestamp >= timestamp else { return nil }
        let startRelative = index.scanStart(forTimestamp: timestamp)
        var position = try self.position(of: baseOffset + Int64(startRelative))
        while position < size {
            let header = try header(at: position)
            if header.maxTimestamp >= timestamp {
                let batch = try bytes(at: position, count: header.totalBytes)
                let records: [LogRecord]
                do { records = try RecordBatchCodec.records(in: batch, at: 0, header: header, limits: limits) } catch {
                    throw LogError.corruption("stored batch does not decode: \(error.message)", path: logPath, offset: position)
                }
                if let hit = records.first(where: { $0.timestamp >= timestamp }) { return hit.offset }
            }
            position += header.totalBytes
        }
        return nil
    }
}

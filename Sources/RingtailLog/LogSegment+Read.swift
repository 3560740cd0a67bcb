// Reading a segment: locating a batch by offset through the sparse index,
// returning whole batches for a fetch, and finding an offset by timestamp.
import RingtailCore

extension LogSegment {
    /// Reads `count` bytes at `position`.
    func bytes(at position: Int, count: Int) throws(LogError) -> [UInt8] {
        precondition(position >= 0 && position + count <= size)
        do { return try reader.read(at: position, count: count) } catch { throw .io(error) }
    }

    /// Checks a header read back from a segment file at `position`. A magic
    /// other than 2 and 0 is a newer format: `.unsupportedVersion` (the
    /// magic byte is outside the CRC, so this is the only place a trusted
    /// closed segment can tell); magic 0, a bad length, or a batch running
    /// past `end` is damage: `.corruption`. Used by every reader of stored
    /// batches, including the opening scan.
    static func checkStored(_ header: RecordBatchHeader, at position: Int, end: Int, path: String) throws(LogError) {
        try refuseNewerVersion(header.magic, at: position, path: path)
        guard header.magic == RecordBatchLayout.currentMagic, header.batchLength > 0, position + header.totalBytes <= end else {
            throw LogError.corruption("batch header does not describe a batch in the segment", path: path, offset: position)
        }
    }

    /// Throws `.unsupportedVersion` for a stored batch of a magic this build
    /// does not read (0 is not a version: it is a zero-filled torn tail).
    static func refuseNewerVersion(_ magic: UInt8, at position: Int, path: String) throws(LogError) {
        guard magic != RecordBatchLayout.currentMagic && magic != 0 else { return }
        throw LogError(code: .unsupportedVersion, message: "batch magic \(magic); this build reads magic \(RecordBatchLayout.currentMagic)",
                       path: path, offset: position)
    }

    /// The header of the batch at `position` (a batch start below `size`).
    func header(at position: Int) throws(LogError) -> RecordBatchHeader {
        let raw = try bytes(at: position, count: RecordBatchLayout.headerBytes)
        let header = RecordBatchHeader(raw, at: 0)
        try Self.checkStored(header, at: position, end: size, path: logPath)
        return header
    }

    /// Calls `body` with every batch header in order, reading the file in
    /// windows of about 1 MiB rather than one read per header.
    func forEachHeader(_ body: (RecordBatchHeader) throws(LogError) -> Void) throws(LogError) {
        let windowBytes = 1 << 20
        var position = 0
        while position < size {
            let chunk = try bytes(at: position, count: min(size - position, max(windowBytes, RecordBatchLayout.headerBytes)))
            var at = 0
            while at + RecordBatchLayout.headerBytes <= chunk.count {
                let header = RecordBatchHeader(chunk, at: at)
                try Self.checkStored(header, at: position + at, end: size, path: logPath)
                try body(header)
                at += header.totalBytes
            }
            guard at > 0 else {
                throw LogError.corruption("\(size - position) bytes at the end are too few for a batch header", path: logPath, offset: position)
            }
            position += at
        }
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
            try Self.checkStored(header, at: start + end, end: size, path: logPath)
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

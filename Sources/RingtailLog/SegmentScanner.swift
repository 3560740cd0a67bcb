// Scanning a segment's log file batch by batch, checking each one's header
// and CRC and rebuilding the indexes as appends would have built them. Used
// when a segment's index file is missing or stale, and always for the active
// segment on start, where it finds and reports a torn tail.
import RingtailCore

struct SegmentScan {
    var validBytes = 0
    var nextOffset: Int64
    var maxTimestamp: Int64 = -1
    var index = SegmentIndex()
    var bytesSinceIndexEntry = 0
    var batches = 0
    /// Every valid batch's header, in order: the log rebuilds its producer
    /// and epoch state from them without reading the file again.
    var headers: [RecordBatchHeader] = []
}

enum SegmentScanner {
    /// How much of the file one read takes in.
    static let readChunkBytes = 1 << 20

    /// Scans `path`. Damage at the end of the file — a batch cut short, or a
    /// bad batch followed only by zeros — ends the scan when
    /// `allowTornTail`; any other damage throws `.corruption` with the offset.
    static func scan(fileSystem: FileSystem, path: String, baseOffset: Int64, fileSize: Int, allowTornTail: Bool,
                     indexIntervalBytes: Int, limits: LogLimits) throws(LogError) -> SegmentScan {
        var scan = SegmentScan(nextOffset: baseOffset)
        let file: ReadableFile
        do { file = try fileSystem.openForReading(path) } catch { throw .io(error) }
        defer { file.close() }
        // A window of the file: `window` holds bytes [windowStart, windowStart + window.count).
        var window: [UInt8] = []
        var windowStart = 0
        func load(_ position: Int, _ count: Int) throws(LogError) -> Bool {
            if position >= windowStart && position + count <= windowStart + window.count { return true }
            guard position + count <= fileSize else { return false }
            let length = min(fileSize - position, max(count, readChunkBytes))
            do { window = try file.read(at: position, count: length) } catch { throw .io(error) }
            windowStart = position
            return true
        }
        func isZeroTail(from position: Int) throws(LogError) -> Bool {
            var at = position
            while at < fileSize {
                guard try load(at, min(readChunkBytes, fileSize - at)) else { return false }
                let from = at - windowStart
                if !window[from...].allSatisfy({ $0 == 0 }) { return false }
                at = windowStart + window.count
            }
            return true
        }
        var position = 0
        while position < fileSize {
            func damaged(_ reason: String, endOfDamage: Int) throws(LogError) -> SegmentScan {
                if allowTornTail {
                    let onlyZerosAfter = endOfDamage >= fileSize ? true : try isZeroTail(from: endOfDamage)
                    if onlyZerosAfter { return scan }
                }
                throw LogError.corruption(reason, path: path, offset: position)
            }
            guard try load(position, RecordBatchLayout.headerBytes) else {
                return try damaged("batch header cut short", endOfDamage: fileSize)
            }
            let at = position - windowStart
            let declared = window.withUnsafeBytes { Int(Int32(bigEndian: $0.loadUnaligned(fromByteOffset: at + RecordBatchLayout.batchLength, as: Int32.self))) }
            let total = RecordBatchLayout.lengthPrefixBytes + declared
            if declared <= 0 || total > limits.batchBytesMax {
                return try damaged("batch length \(declared) is impossible", endOfDamage: position + 1)
            }
            guard try load(position, total) else {
                return try damaged("batch of \(total) bytes runs past the end of the file", endOfDamage: fileSize)
            }
            let from = position - windowStart
            let checked: Result<RecordBatchHeader, LogError> = window.withUnsafeBytes { raw in
                Result { () throws(LogError) in try RecordBatchCodec.checkHeader(raw, at: from, end: from + total, limits: limits) }
            }
            let header: RecordBatchHeader
            switch checked {
            case .success(let h): header = h
            case .failure(let error):
                // A batch of a version this build does not know is not damage:
                // refuse the file and cut nothing.
                try LogSegment.refuseNewerVersion(window[from + RecordBatchLayout.magic], at: position, path: path)
                return try damaged("stored batch fails its check: \(error.message)", endOfDamage: position + total)
            }
            guard header.baseOffset == scan.nextOffset else {
                throw LogError.corruption("batch at offset \(header.baseOffset) where \(scan.nextOffset) was expected", path: path, offset: position)
            }
            let relative = UInt32(header.baseOffset - baseOffset)
            if position == 0 || scan.bytesSinceIndexEntry >= indexIntervalBytes {
                if position > 0 { scan.index.addOffset(relative: relative, position: UInt32(position)) }
                scan.index.addTime(max(scan.maxTimestamp, header.maxTimestamp), relative: relative)
                scan.bytesSinceIndexEntry = 0
            }
            scan.bytesSinceIndexEntry += total
            scan.maxTimestamp = max(scan.maxTimestamp, header.maxTimestamp)
            scan.nextOffset = header.nextOffset
            scan.batches += 1
            scan.headers.append(header)
            position += total
            scan.validBytes = position
        }
        return scan
    }
}

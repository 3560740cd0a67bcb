// One segment of a partition log: a `.log` file of consecutive record
// batches, named by its base offset, with its indexes in memory. The last
// segment of a log is active (appended to); the others are closed: synced,
// never written again, with a `.index` file beside them
// (docs/formats/segment.md).
import RingtailCore

/// A segment file and its in-memory state.
///
/// Not thread-safe: the owning `PartitionLog` serializes every call.
/// Invariants: `size` is the byte length of the valid batches in the file;
/// `nextOffset` is one past the last offset in it (`baseOffset` when empty);
/// index entries point at batch starts below `size`.
final class LogSegment {
    let baseOffset: Int64
    let logPath: String
    let indexPath: String
    private let fileSystem: FileSystem
    private var writer: WritableFile?
    /// Positional reads; see LogSegment+Read.swift.
    private(set) var reader: ReadableFile
    private(set) var size: Int
    private(set) var nextOffset: Int64
    /// The largest record timestamp in the segment, milliseconds; -1 when empty.
    private(set) var maxTimestamp: Int64
    private(set) var index: SegmentIndex
    private var bytesSinceIndexEntry = 0
    private let indexIntervalBytes: Int
    /// When this process created or reopened the segment (for rolling by age).
    let openedAt: Instant
    private(set) var syncedSize: Int

    var isActive: Bool { writer != nil }
    var isEmpty: Bool { size == 0 }

    static func fileName(_ baseOffset: Int64, _ suffix: String) -> String {
        let digits = String(baseOffset)
        return String(repeating: "0", count: max(0, 20 - digits.count)) + digits + suffix
    }

    /// The base offset a segment file name encodes, if it is one.
    static func baseOffset(ofFileName name: String, suffix: String) -> Int64? {
        guard name.hasSuffix(suffix) else { return nil }
        let digits = name.dropLast(suffix.count)
        guard digits.count == 20, digits.allSatisfy({ $0.isASCII && $0.isNumber }) else { return nil }
        return Int64(digits)
    }

    private init(baseOffset: Int64, directory: String, fileSystem: FileSystem, writer: WritableFile?, reader: ReadableFile,
                 size: Int, nextOffset: Int64, maxTimestamp: Int64, index: SegmentIndex, indexIntervalBytes: Int, now: Instant) {
        self.baseOffset = baseOffset
        self.logPath = Path.join(directory, Self.fileName(baseOffset, ".log"))
        self.indexPath = Path.join(directory, Self.fileName(baseOffset, ".index"))
        self.fileSystem = fileSystem
        self.writer = writer
        self.reader = reader
        self.size = size
        self.syncedSize = writer == nil ? size : 0
        self.nextOffset = nextOffset
        self.maxTimestamp = maxTimestamp
        self.index = index
        self.indexIntervalBytes = indexIntervalBytes
        self.openedAt = now
    }

    /// Creates a new, empty active segment (and makes its name durable).
    static func create(directory: String, baseOffset: Int64, fileSystem: FileSystem, indexIntervalBytes: Int,
                       now: Instant) throws(LogError) -> LogSegment {
        let path = Path.join(directory, fileName(baseOffset, ".log"))
        do {
            let writer = try fileSystem.createFile(path)
            let reader = try fileSystem.openForReading(path)
            try fileSystem.syncDirectory(directory)
            return LogSegment(baseOffset: baseOffset, directory: directory, fileSystem: fileSystem, writer: writer, reader: reader,
                              size: 0, nextOffset: baseOffset, maxTimestamp: -1, index: SegmentIndex(),
                              indexIntervalBytes: indexIntervalBytes, now: now)
        } catch {
            throw .io(error)
        }
    }

    /// What `open` found in the file.
    struct OpenReport {
        var tornBytes = 0
        var rebuiltIndex = false
        var batchesScanned = 0
        /// The headers the scan read (nil when the index file was trusted and nothing was scanned).
        var headers: [RecordBatchHeader]? = nil
    }

    /// Opens an existing segment. A closed one loads its index file when it
    /// matches the log, else scans the log (any damage is corruption). The
    /// active one is always scanned, and a torn tail — damage followed by
    /// nothing but zeros — is cut off.
    static func open(directory: String, baseOffset: Int64, active: Bool, fileSystem: FileSystem, indexIntervalBytes: Int,
                     limits: LogLimits, now: Instant) throws(LogError) -> (LogSegment, OpenReport) {
        let logPath = Path.join(directory, fileName(baseOffset, ".log"))
        let indexPath = Path.join(directory, fileName(baseOffset, ".index"))
        var report = OpenReport()
        let fileSize: Int
        do { fileSize = try fileSystem.fileSize(logPath) } catch { throw .io(error) }
        var loaded: (SegmentSummary, SegmentIndex)?
        if !active, fileSystem.fileExists(indexPath) {
            do {
                loaded = try SegmentIndexFile.decode(try fileSystem.readFile(indexPath), path: indexPath)
            } catch let error as LogError where error.code == .unsupportedVersion {
                throw error // a newer build's file: neither trusted nor rewritten
            } catch {
                loaded = nil // damaged or unreadable: rebuilt from the log below
            }
        }
        if let (summary, index) = loaded,
           summary.baseOffset == baseOffset, summary.logBytes == fileSize, summary.nextOffset > baseOffset {
            let reader: ReadableFile
            do { reader = try fileSystem.openForReading(logPath) } catch { throw .io(error) }
            let segment = LogSegment(baseOffset: baseOffset, directory: directory, fileSystem: fileSystem, writer: nil, reader: reader,
                                     size: fileSize, nextOffset: summary.nextOffset, maxTimestamp: summary.maxTimestamp,
                                     index: index, indexIntervalBytes: indexIntervalBytes, now: now)
            return (segment, report)
        }
        let scan = try SegmentScanner.scan(fileSystem: fileSystem, path: logPath, baseOffset: baseOffset, fileSize: fileSize,
                                           allowTornTail: active, indexIntervalBytes: indexIntervalBytes, limits: limits)
        report.batchesScanned = scan.batches
        report.headers = scan.headers
        report.rebuiltIndex = !active
        do {
            if scan.validBytes < fileSize {
                report.tornBytes = fileSize - scan.validBytes
                try fileSystem.truncate(logPath, to: scan.validBytes)
            }
            let reader = try fileSystem.openForReading(logPath)
            let writer = active ? try fileSystem.openForAppend(logPath) : nil
            let segment = LogSegment(baseOffset: baseOffset, directory: directory, fileSystem: fileSystem, writer: writer, reader: reader,
                                     size: scan.validBytes, nextOffset: scan.nextOffset, maxTimestamp: scan.maxTimestamp,
                                     index: scan.index, indexIntervalBytes: indexIntervalBytes, now: now)
            segment.bytesSinceIndexEntry = scan.bytesSinceIndexEntry
            if !active {
                guard segment.nextOffset > baseOffset else {
                    throw LogError.corruption("closed segment holds no batches", path: logPath, offset: 0)
                }
                try segment.writeIndexFile()
            }
            return (segment, report)
        } catch let error as FileSystemError {
            throw .io(error)
        } catch let error as LogError {
            throw error
        } catch {
            throw LogError(code: .io, message: "\(error)", path: logPath)
        }
    }

    // MARK: Appending

    /// Appends one checked batch whose offsets continue this segment.
    func append(_ batch: [UInt8], header: RecordBatchHeader) throws(LogError) {
        guard let writer else { throw LogError(code: .invalidArgument, message: "segment \(logPath) is closed") }
        precondition(header.baseOffset == nextOffset, "batch at \(header.baseOffset) does not continue segment at \(nextOffset)")
        precondition(batch.count == header.totalBytes)
        let relative = UInt32(header.baseOffset - baseOffset)
        if size == 0 || bytesSinceIndexEntry >= indexIntervalBytes {
            if size > 0 { index.addOffset(relative: relative, position: UInt32(size)) }
            index.addTime(max(maxTimestamp, header.maxTimestamp), relative: relative)
            bytesSinceIndexEntry = 0
        }
        do { try writer.append(batch) } catch {
            // A partial write may have reached the file: cut it off, so the
            // segment stays a sequence of whole batches.
            try? writer.close()
            try? fileSystem.truncate(logPath, to: size)
            if let reopened = try? fileSystem.openForAppend(logPath) { self.writer = reopened }
            throw .io(error)
        }
        size += batch.count
        bytesSinceIndexEntry += batch.count
        nextOffset = header.nextOffset
        maxTimestamp = max(maxTimestamp, header.maxTimestamp)
    }

    /// Makes every appended byte durable.
    func sync() throws(LogError) {
        guard let writer, syncedSize < size else { return }
        do { try writer.sync() } catch { throw .io(error) }
        syncedSize = size
    }

    /// Closes the segment for appending: syncs it and writes its index file.
    func seal() throws(LogError) {
        guard let writer else { return }
        try sync()
        do {
            try writer.close()
            self.writer = nil
            try writeIndexFile()
        } catch let error as FileSystemError {
            throw .io(error)
        } catch let error as LogError {
            throw error
        } catch {
            throw LogError(code: .io, message: "\(error)", path: indexPath)
        }
    }

    private func writeIndexFile() throws(LogError) {
        let summary = SegmentSummary(baseOffset: baseOffset, nextOffset: nextOffset, logBytes: size, maxTimestamp: maxTimestamp)
        do { try fileSystem.writeAtomically(indexPath, bytes: SegmentIndexFile.encode(summary, index)) } catch { throw .io(error) }
    }

    /// Cuts the segment back so that `offset` is its next offset: removes
    /// the batch holding `offset` and every later one, and makes the segment
    /// active again (its index file is removed). Returns the new next offset:
    /// the base offset of the first removed batch, at most `offset`.
    func truncate(to offset: Int64) throws(LogError) -> Int64 {
        let cut = try position(of: offset)
        let newNext = cut >= size ? nextOffset : cut == 0 ? baseOffset : try header(at: cut).baseOffset
        do {
            try? writer?.close()
            writer = nil
            if fileSystem.fileExists(indexPath) { try fileSystem.removeFile(indexPath) }
            if cut < size { try fileSystem.truncate(logPath, to: cut) }
            writer = try fileSystem.openForAppend(logPath)
        } catch { throw .io(error) }
        // Recompute what the removed batches may have contributed.
        size = min(size, cut)
        syncedSize = min(syncedSize, size)
        nextOffset = newNext
        index.truncate(relative: UInt32(clamping: newNext - baseOffset), position: UInt32(clamping: size))
        bytesSinceIndexEntry = size - Int(index.offsets.last?.position ?? 0)
        maxTimestamp = -1
        var position = 0
        while position < size {
            let header = try header(at: position)
            maxTimestamp = max(maxTimestamp, header.maxTimestamp)
            position += header.totalBytes
        }
        return newNext
    }

    func close() {
        try? writer?.close()
        writer = nil
        reader.close()
    }

    /// Removes both files. The caller syncs the directory.
    func delete() throws(LogError) {
        close()
        do {
            if fileSystem.fileExists(indexPath) { try fileSystem.removeFile(indexPath) }
            try fileSystem.removeFile(logPath)
        } catch { throw .io(error) }
    }
}

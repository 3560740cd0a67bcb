// A segment's two sparse indexes, kept in memory and written beside a
// segment when it is closed (docs/formats/segment.md):
// - the offset index maps a relative offset to the byte position of the
//   batch that starts there, one entry per `indexIntervalBytes` of log;
// - the time index maps the largest timestamp seen so far to the first
//   offset that reached it, so "first offset at or after time T" starts its
//   scan close to the answer.
import RingtailCore

/// The offset and time indexes of one segment.
///
/// Value type, not thread-safe. Lookups are binary searches, O(log n).
struct SegmentIndex: Equatable, Sendable {
    /// (offset - baseOffset, byte position), both increasing.
    private(set) var offsets: [(relative: UInt32, position: UInt32)] = []
    /// (max timestamp so far, offset - baseOffset), both increasing.
    private(set) var times: [(timestamp: Int64, relative: UInt32)] = []

    static func == (a: SegmentIndex, b: SegmentIndex) -> Bool {
        a.offsets.elementsEqual(b.offsets, by: ==) && a.times.elementsEqual(b.times, by: ==)
    }

    init() {}

    init(offsets: [(relative: UInt32, position: UInt32)], times: [(timestamp: Int64, relative: UInt32)]) {
        self.offsets = offsets
        self.times = times
    }

    mutating func addOffset(relative: UInt32, position: UInt32) {
        assert(offsets.last.map { $0.relative < relative && $0.position < position } ?? true)
        offsets.append((relative, position))
    }

    /// Records that `timestamp` is the new maximum, first reached at `relative`.
    mutating func addTime(_ timestamp: Int64, relative: UInt32) {
        if let last = times.last, last.timestamp >= timestamp { return }
        times.append((timestamp, relative))
    }

    /// The entry with the largest relative offset ≤ `relative`: where a scan
    /// for that offset may start. (0, 0) if there is none.
    func floor(relative: UInt32) -> (relative: UInt32, position: UInt32) {
        var low = 0, high = offsets.count
        while low < high {
            let mid = (low + high) / 2
            if offsets[mid].relative <= relative { low = mid + 1 } else { high = mid }
        }
        return low == 0 ? (0, 0) : offsets[low - 1]
    }

    /// The relative offset from which to scan for the first record with a
    /// timestamp ≥ `timestamp`: that of the last entry whose maximum is
    /// strictly below it (every record before it is older), else 0.
    func scanStart(forTimestamp timestamp: Int64) -> UInt32 {
        var low = 0, high = times.count
        while low < high {
            let mid = (low + high) / 2
            if times[mid].timestamp < timestamp { low = mid + 1 } else { high = mid }
        }
        return low == 0 ? 0 : times[low - 1].relative
    }

    /// Drops entries at or past `relative` or `position` (after a truncation).
    mutating func truncate(relative: UInt32, position: UInt32) {
        offsets.removeAll { $0.relative >= relative || $0.position >= position }
        times.removeAll { $0.relative >= relative }
    }
}

/// What a closed segment's index file holds besides the entries: enough to
/// open the segment without reading its log.
struct SegmentSummary: Equatable, Sendable {
    var baseOffset: Int64
    var nextOffset: Int64
    /// Bytes of the `.log` file this index describes; a different size means
    /// the index is stale and the log is scanned instead.
    var logBytes: Int
    var maxTimestamp: Int64
}

/// The `.index` file: a header, both indexes, and a CRC32C of all of it.
/// Little-endian. DO NOT CHANGE the constants: embedded in on-disk data.
enum SegmentIndexFile {
    static let magic: [UInt8] = Array("RTIX".utf8)
    static let version: UInt8 = 1
    static let headerBytes = 48
    static let offsetEntryBytes = 8
    static let timeEntryBytes = 12

    static func encode(_ summary: SegmentSummary, _ index: SegmentIndex) -> [UInt8] {
        var w = ByteWriter(capacity: headerBytes + index.offsets.count * offsetEntryBytes + index.times.count * timeEntryBytes + 4)
        w.writeBytes(magic)
        w.writeUInt8(version)
        w.writeBytes([0, 0, 0])
        w.writeInt64(summary.baseOffset)
        w.writeInt64(summary.nextOffset)
        w.writeUInt64(UInt64(summary.logBytes))
        w.writeInt64(summary.maxTimestamp)
        w.writeUInt32(UInt32(index.offsets.count))
        w.writeUInt32(UInt32(index.times.count))
        assert(w.count == headerBytes)
        for entry in index.offsets {
            w.writeUInt32(entry.relative)
            w.writeUInt32(entry.position)
        }
        for entry in index.times {
            w.writeInt64(entry.timestamp)
            w.writeUInt32(entry.relative)
        }
        w.writeUInt32(CRC32C.checksum(w.bytes))
        return w.bytes
    }

    /// Decodes an index file; throws `.corruption` or `.unsupportedVersion`.
    static func decode(_ bytes: [UInt8], path: String) throws(LogError) -> (SegmentSummary, SegmentIndex) {
        guard bytes.count >= headerBytes + 4 else { throw .corruption("index file of \(bytes.count) bytes is shorter than its header", path: path, offset: 0) }
        let stored = bytes.withUnsafeBytes { UInt32(littleEndian: $0.loadUnaligned(fromByteOffset: bytes.count - 4, as: UInt32.self)) }
        guard CRC32C.checksum(bytes[0..<(bytes.count - 4)]) == stored else {
            throw .corruption("index file checksum mismatch", path: path, offset: bytes.count - 4)
        }
        guard Array(bytes[0..<4]) == magic else { throw .corruption("not a segment index (bad magic)", path: path, offset: 0) }
        guard bytes[4] == version else {
            throw LogError(code: .unsupportedVersion, message: "segment index version \(bytes[4]); this build reads version \(version)", path: path, offset: 4)
        }
        do {
            var r = ByteReader(bytes, offset: 8, end: bytes.count - 4)
            let summary = SegmentSummary(baseOffset: try r.readInt64(), nextOffset: try r.readInt64(),
                                         logBytes: Int(clamping: try r.readUInt64()), maxTimestamp: try r.readInt64())
            let offsetCount = Int(try r.readUInt32())
            let timeCount = Int(try r.readUInt32())
            guard offsetCount * offsetEntryBytes + timeCount * timeEntryBytes == r.remaining else {
                throw LogError.corruption("index counts \(offsetCount) and \(timeCount) do not match the file size", path: path, offset: 40)
            }
            var offsets: [(relative: UInt32, position: UInt32)] = []
            offsets.reserveCapacity(offsetCount)
            for _ in 0..<offsetCount { offsets.append((try r.readUInt32(), try r.readUInt32())) }
            var times: [(timestamp: Int64, relative: UInt32)] = []
            times.reserveCapacity(timeCount)
            for _ in 0..<timeCount { times.append((try r.readInt64(), try r.readUInt32())) }
            for i in offsets.indices.dropFirst() where offsets[i].relative <= offsets[i - 1].relative || offsets[i].position <= offsets[i - 1].position {
                throw LogError.corruption("offset index entries are not increasing", path: path, offset: headerBytes + i * offsetEntryBytes)
            }
            return (summary, SegmentIndex(offsets: offsets, times: times))
        } catch let error as LogError {
            throw error
        } catch {
            throw .corruption("index file does not decode: \(error)", path: path, offset: 0)
        }
    }
}

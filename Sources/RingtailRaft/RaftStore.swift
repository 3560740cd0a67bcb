// Durable storage for one Raft member: an append-only file of checksummed
// frames, one per persisted batch, each holding records that are either the
// hard state (term, vote, commit index) or a run of entries that replaces
// everything from its first index on. Replaying the
// file rebuilds `RaftRestoredState`; a torn last record (a crash mid-write)
// is cut off. When the file has grown well past what it describes, it is
// rewritten whole, atomically. Format: docs/formats/raft-log.md.
import RingtailCore

/// Persists a Raft member's state and log. Not thread-safe: one driver.
public final class RaftStore {
    /// DO NOT CHANGE: embedded in on-disk data.
    static let magic: [UInt8] = Array("RTRF".utf8)
    static let version: UInt8 = 1
    static let headerBytes = 8
    static let recordState: UInt8 = 1
    static let recordEntries: UInt8 = 2
    /// Bytes a record body may have (a run of entries is bounded by the
    /// proposal limit times the entries per message).
    static let recordBytesMax = 512 << 20

    public let path: String
    private let fileSystem: FileSystem
    private var file: WritableFile
    public private(set) var state: RaftRestoredState
    /// Bytes appended since the file last described exactly `state`.
    private var fileBytes: Int
    /// About what `state` takes when written out whole (`entryBytes` of
    /// entries plus a fixed part), kept as entries come and go so a persist
    /// does not add up the whole log.
    private var entryBytes: Int
    private var describedBytes: Int { Self.headerBytes + 40 + entryBytes }

    /// Opens (or creates) the store at `path` and replays it.
    public init(path: String, fileSystem: FileSystem) throws(FileSystemError) {
        self.path = path
        self.fileSystem = fileSystem
        try fileSystem.createDirectory(Path.directory(of: path))
        if fileSystem.fileExists(path + ".tmp") { try fileSystem.removeFile(path + ".tmp") }
        var restored = RaftRestoredState()
        var valid = 0
        if fileSystem.fileExists(path), try fileSystem.fileSize(path) >= Self.headerBytes {
            let bytes = try fileSystem.readFile(path)
            (restored, valid) = try Self.replay(bytes, path: path)
            if valid < bytes.count { try fileSystem.truncate(path, to: valid) }
            file = try fileSystem.openForAppend(path)
        } else {
            // New, or created by a start that crashed before its header was durable.
            if fileSystem.fileExists(path) { try fileSystem.removeFile(path) }
            file = try fileSystem.createFile(path)
            try file.append(Self.magic + [Self.version, 0, 0, 0])
            try file.sync()
            try fileSystem.syncDirectory(Path.directory(of: path))
            valid = Self.headerBytes
        }
        state = restored
        fileBytes = valid
        entryBytes = restored.entries.reduce(0) { $0 + Self.encodedSize(of: $1) }
    }

    /// Records what the effects ask, in order, and syncs once at the end.
    /// Call before performing the batch's sends and applies.
    public func persist(_ effects: [RaftEffect]) throws(FileSystemError) {
        var records: [UInt8] = []
        for effect in effects {
            switch effect {
            case .persistState(let term, let vote, let commit):
                state.term = term
                state.votedFor = vote
                state.commitIndex = commit
                records += Self.encodeState(term: term, vote: vote, commit: commit)
            case .persistEntries(let from, let entries):
                precondition(from >= 1 && from <= UInt64(state.entries.count) + 1)
                let cut = state.entries.count - Int(from - 1)
                entryBytes -= state.entries.suffix(cut).reduce(0) { $0 + Self.encodedSize(of: $1) }
                state.entries.removeLast(cut)
                state.entries += entries
                entryBytes += entries.reduce(0) { $0 + Self.encodedSize(of: $1) }
                records += Self.encodeEntries(from: from, entries)
            default:
                continue
            }
        }
        guard !records.isEmpty else { return }
        // One frame for the whole batch: after a crash it is there whole or not at all.
        records = Self.frame(records)
        try file.append(records)
        try file.sync()
        fileBytes += records.count
        if fileBytes > 4 * describedBytes + (1 << 20) { try compact() }
    }

    /// Rewrites the file as exactly the current state.
    public func compact() throws(FileSystemError) {
        var image = Self.magic + [Self.version, 0, 0, 0]
        var body = Self.encodeState(term: state.term, vote: state.votedFor, commit: state.commitIndex)
        if !state.entries.isEmpty { body += Self.encodeEntries(from: 1, state.entries) }
        image += Self.frame(body)
        try? file.close()
        try fileSystem.writeAtomically(path, bytes: image)
        file = try fileSystem.openForAppend(path)
        fileBytes = image.count
    }

    public func close() { try? file.close() }

    // MARK: Encoding

    static func frame(_ body: [UInt8]) -> [UInt8] {
        var w = ByteWriter(capacity: body.count + 8)
        w.writeUInt32(UInt32(body.count))
        w.writeUInt32(CRC32C.checksum(body))
        w.writeBytes(body)
        return w.bytes
    }

    static func encodeState(term: UInt64, vote: NodeID?, commit: UInt64) -> [UInt8] {
        var w = ByteWriter(capacity: 32)
        w.writeUInt8(recordState)
        w.writeVarint(term)
        w.writeLengthPrefixed(utf8: vote?.name ?? "")
        w.writeVarint(commit)
        return w.bytes
    }

    static func encodeEntries(from: UInt64, _ entries: [RaftEntry]) -> [UInt8] {
        var w = ByteWriter(capacity: 16 + entries.reduce(0) { $0 + $1.data.count + 12 })
        w.writeUInt8(recordEntries)
        w.writeVarint(from)
        w.writeVarint(entries.count)
        for (i, e) in entries.enumerated() {
            precondition(e.index == from + UInt64(i), "entries must be consecutive from \(from)")
            w.writeVarint(e.term)
            w.writeUInt8(e.kind.rawValue)
            w.writeLengthPrefixed(e.data)
        }
        return w.bytes
    }

    /// About what one entry takes in the file (its data and a fixed part).
    static func encodedSize(of entry: RaftEntry) -> Int { entry.data.count + 12 }

    /// Replays a store file; returns the state and the length of its valid
    /// prefix (a torn final record is left out). Damage before the end throws.
    static func replay(_ bytes: [UInt8], path: String) throws(FileSystemError) -> (RaftRestoredState, Int) {
        func corrupt(_ why: String, _ offset: Int) -> FileSystemError {
            FileSystemError(code: .ioError, path: path, message: "Raft store corrupt at offset \(offset): \(why); restore this node's metadata from a peer by removing the file")
        }
        guard bytes.count >= headerBytes else { return (RaftRestoredState(), 0) }
        guard Array(bytes[0..<4]) == magic else { throw corrupt("bad magic", 0) }
        guard bytes[4] == version else { throw corrupt("version \(bytes[4]); this build reads \(version)", 4) }
        var state = RaftRestoredState()
        var offset = headerBytes
        while offset < bytes.count {
            var frameHeader = ByteReader(bytes, offset: offset)
            guard let length32 = try? frameHeader.readUInt32(), let crc = try? frameHeader.readUInt32() else { break }
            let length = Int(length32)
            guard length <= recordBytesMax, offset + 8 + length <= bytes.count else { break }
            let body = Array(bytes[(offset + 8)..<(offset + 8 + length)])
            guard CRC32C.checksum(body) == crc else {
                if bytes[(offset + 8 + length)...].allSatisfy({ $0 == 0 }) { break }
                throw corrupt("record checksum mismatch", offset)
            }
            do {
                var r = ByteReader(body)
                while !r.isAtEnd {
                    switch try r.readUInt8() {
                    case recordState:
                        state.term = try r.readVarint()
                        let vote = try r.readString(limit: 1024)
                        state.votedFor = vote.isEmpty ? nil : NodeID(vote)
                        state.commitIndex = try r.readVarint()
                    case recordEntries:
                        let from = try r.readVarint()
                        let count = try r.readLength(limit: body.count)
                        guard from >= 1 && from <= UInt64(state.entries.count) + 1 else { throw corrupt("entries from \(from) leave a gap", offset) }
                        state.entries.removeLast(state.entries.count - Int(from - 1))
                        for i in 0..<count {
                            let term = try r.readVarint()
                            guard let kind = RaftEntry.Kind(rawValue: try r.readUInt8()) else { throw corrupt("unknown entry kind", offset) }
                            state.entries.append(RaftEntry(term: term, index: from + UInt64(i), kind: kind, data: try r.readLengthPrefixed(limit: body.count)))
                        }
                    default:
                        throw corrupt("unknown record type", offset)
                    }
                }
            } catch let error as FileSystemError {
                throw error
            } catch {
                throw corrupt("record does not decode: \(error)", offset)
            }
            offset += 8 + length
        }
        return (state, offset)
    }
}

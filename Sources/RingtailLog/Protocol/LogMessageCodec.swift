// Encoding of the append log's messages: little-endian, LEB128 varints,
// length-prefixed strings and bytes (RingtailCore's ByteWriter), one tag
// byte per case. Decoding checks every length against the input and refuses
// unknown tags, so bytes from a peer or client never trap.
import RingtailCore
import RingtailRaft

public enum LogMessageCodec {
    /// DO NOT CHANGE: peers and clients of other builds read these.
    static let version: UInt8 = 1
    static let namesMax = 1024

    public static func encode(_ message: LogPeerMessage) -> [UInt8] {
        var w = ByteWriter(capacity: 64)
        w.writeUInt8(version)
        switch message {
        case .raft(let m):
            w.writeUInt8(1)
            encodeRaft(m, &w)
        case .heartbeat(let incarnation, let location, let applied):
            w.writeUInt8(2)
            w.writeUInt64(incarnation)
            w.writeLengthPrefixed(utf8: location.datacenter)
            w.writeLengthPrefixed(utf8: location.rack)
            w.writeVarint(applied)
        case .metadataUpdate(let entries):
            w.writeUInt8(7)
            encodeEntries(entries, &w)
        case .proposal(let id, let command):
            w.writeUInt8(3)
            w.writeVarint(id)
            w.writeLengthPrefixed(MetadataCommandCodec.encode(command))
        case .proposalResult(let id, let outcome):
            w.writeUInt8(4)
            w.writeVarint(id)
            encodeOutcome(outcome, &w)
        case .fetch(let id, let request):
            w.writeUInt8(5)
            w.writeVarint(id)
            encodeFetch(request, &w)
        case .fetchResponse(let id, let response):
            w.writeUInt8(6)
            w.writeVarint(id)
            encodeFetchResponse(response, &w)
        }
        return w.bytes
    }

    public static func decodePeer(_ bytes: [UInt8]) throws -> LogPeerMessage {
        var r = ByteReader(bytes)
        try checkVersion(&r)
        let at = r.offset
        let message: LogPeerMessage
        switch try r.readUInt8() {
        case 1: message = .raft(try decodeRaft(&r))
        case 2:
            let incarnation = try r.readUInt64()
            let location = NodeLocation(datacenter: try r.readString(limit: namesMax), rack: try r.readString(limit: namesMax))
            message = .heartbeat(incarnation: incarnation, location: location, appliedIndex: try r.readVarint())
        case 3:
            let id = try r.readVarint()
            message = .proposal(id: id, command: try MetadataCommandCodec.decode(try r.readLengthPrefixed(limit: r.remaining)))
        case 4:
            let id = try r.readVarint()
            message = .proposalResult(id: id, outcome: try decodeOutcome(&r))
        case 5:
            let id = try r.readVarint()
            message = .fetch(id: id, try decodeFetch(&r))
        case 6:
            let id = try r.readVarint()
            message = .fetchResponse(id: id, try decodeFetchResponse(&r))
        case 7: message = .metadataUpdate(entries: try decodeEntries(&r))
        case let tag: throw DecodeError.unknownTag(offset: at, tag: tag, what: "log peer message")
        }
        guard r.isAtEnd else { throw DecodeError.invalid(offset: r.offset, reason: "bytes after the log message") }
        return message
    }

    static func checkVersion(_ r: inout ByteReader) throws {
        let v = try r.readUInt8()
        guard v == version else { throw DecodeError.unknownTag(offset: 0, tag: v, what: "log message version") }
    }

    // MARK: Raft

    static func encodeRaft(_ m: RaftMessage, _ w: inout ByteWriter) {
        switch m {
        case .requestVote(let term, let lastIndex, let lastTerm, let preVote):
            w.writeUInt8(1)
            w.writeVarint(term)
            w.writeVarint(lastIndex)
            w.writeVarint(lastTerm)
            w.writeUInt8(preVote ? 1 : 0)
        case .voteResponse(let term, let granted, let preVote):
            w.writeUInt8(2)
            w.writeVarint(term)
            w.writeUInt8(granted ? 1 : 0)
            w.writeUInt8(preVote ? 1 : 0)
        case .appendEntries(let term, let prevIndex, let prevTerm, let entries, let commit):
            w.writeUInt8(3)
            w.writeVarint(term)
            w.writeVarint(prevIndex)
            w.writeVarint(prevTerm)
            w.writeVarint(commit)
            encodeEntries(entries, &w)
        case .appendResponse(let term, let success, let index):
            w.writeUInt8(4)
            w.writeVarint(term)
            w.writeUInt8(success ? 1 : 0)
            w.writeVarint(index)
        }
    }

    static func decodeRaft(_ r: inout ByteReader) throws -> RaftMessage {
        let at = r.offset
        switch try r.readUInt8() {
        case 1:
            return .requestVote(term: try r.readVarint(), lastLogIndex: try r.readVarint(), lastLogTerm: try r.readVarint(),
                                preVote: try flag(&r))
        case 2:
            return .voteResponse(term: try r.readVarint(), granted: try flag(&r), preVote: try flag(&r))
        case 3:
            let term = try r.readVarint()
            let prevIndex = try r.readVarint()
            let prevTerm = try r.readVarint()
            let commit = try r.readVarint()
            let entries = try decodeEntries(&r)
            return .appendEntries(term: term, prevLogIndex: prevIndex, prevLogTerm: prevTerm, entries: entries, leaderCommit: commit)
        case 4:
            return .appendResponse(term: try r.readVarint(), success: try flag(&r), index: try r.readVarint())
        case let tag: throw DecodeError.unknownTag(offset: at, tag: tag, what: "raft message")
        }
    }

    static func encodeEntries(_ entries: [RaftEntry], _ w: inout ByteWriter) {
        w.writeVarint(entries.count)
        for e in entries {
            w.writeVarint(e.term)
            w.writeVarint(e.index)
            w.writeUInt8(e.kind.rawValue)
            w.writeLengthPrefixed(e.data)
        }
    }

    static func decodeEntries(_ r: inout ByteReader) throws -> [RaftEntry] {
        let count = try r.readLength(limit: r.remaining)
        var entries: [RaftEntry] = []
        for _ in 0..<count {
            let term = try r.readVarint()
            let index = try r.readVarint()
            let kindAt = r.offset
            guard let kind = RaftEntry.Kind(rawValue: try r.readUInt8()) else {
                throw DecodeError.unknownTag(offset: kindAt, tag: r.bytes[kindAt], what: "raft entry kind")
            }
            entries.append(RaftEntry(term: term, index: index, kind: kind, data: try r.readLengthPrefixed(limit: r.remaining)))
        }
        return entries
    }

    static func flag(_ r: inout ByteReader) throws -> Bool {
        let at = r.offset
        switch try r.readUInt8() {
        case 0: return false
        case 1: return true
        case let v: throw DecodeError.unknownTag(offset: at, tag: v, what: "flag")
        }
    }

    // MARK: Outcomes, fetches

    static func encodeOutcome(_ o: MetadataOutcome, _ w: inout ByteWriter) {
        switch o {
        case .applied: w.writeUInt8(0)
        case .rejected(let why):
            w.writeUInt8(1)
            w.writeLengthPrefixed(utf8: why)
        case .producerIds(let first, let count):
            w.writeUInt8(2)
            w.writeInt64(first)
            w.writeInt64(count)
        }
    }

    static func decodeOutcome(_ r: inout ByteReader) throws -> MetadataOutcome {
        let at = r.offset
        switch try r.readUInt8() {
        case 0: return .applied
        case 1: return .rejected(try r.readString(limit: 1 << 16))
        case 2: return .producerIds(first: try r.readInt64(), count: try r.readInt64())
        case let tag: throw DecodeError.unknownTag(offset: at, tag: tag, what: "metadata outcome")
        }
    }

    static func encodeFetch(_ f: FetchRequest, _ w: inout ByteWriter) {
        w.writeLengthPrefixed(utf8: f.topic)
        w.writeVarint(f.partition)
        w.writeLengthPrefixed(utf8: f.replica ?? "")
        w.writeSignedVarint(f.fetchOffset)
        w.writeSignedVarint(Int64(f.lastFetchedEpoch))
        w.writeSignedVarint(Int64(f.currentLeaderEpoch))
        w.writeVarint(f.maxBytes)
        w.writeVarint(UInt64(max(0, f.maxWait.nanosecondsClamped / 1_000_000)))
    }

    static func decodeFetch(_ r: inout ByteReader) throws -> FetchRequest {
        let topic = try r.readString(limit: namesMax)
        let partition = try r.readLength(limit: 1 << 20)
        let replica = try r.readString(limit: namesMax)
        let offset = try r.readSignedVarint()
        let lastEpoch = Int32(clamping: try r.readSignedVarint())
        let leaderEpoch = Int32(clamping: try r.readSignedVarint())
        let maxBytes = try r.readLength(limit: 64 << 20)
        let waitMs = try r.readLength(limit: 60_000)
        return FetchRequest(topic: topic, partition: partition, replica: replica.isEmpty ? nil : replica, fetchOffset: offset,
                            lastFetchedEpoch: lastEpoch, currentLeaderEpoch: leaderEpoch, maxBytes: maxBytes,
                            maxWait: .milliseconds(waitMs))
    }

    static func encodeFetchResponse(_ f: FetchResponse, _ w: inout ByteWriter) {
        w.writeUInt8(f.error.rawValue)
        w.writeSignedVarint(f.highWatermark)
        w.writeSignedVarint(f.logStartOffset)
        w.writeSignedVarint(f.logEndOffset)
        if let epoch = f.divergingEpoch, let end = f.divergingEndOffset {
            w.writeUInt8(1)
            w.writeSignedVarint(Int64(epoch))
            w.writeSignedVarint(end)
        } else {
            w.writeUInt8(0)
        }
        w.writeLengthPrefixed(f.records)
    }

    static func decodeFetchResponse(_ r: inout ByteReader) throws -> FetchResponse {
        let at = r.offset
        guard let error = PartitionErrorCode(rawValue: try r.readUInt8()) else {
            throw DecodeError.unknownTag(offset: at, tag: r.bytes[at], what: "partition error")
        }
        var response = FetchResponse(error: error, highWatermark: try r.readSignedVarint(), logStartOffset: try r.readSignedVarint(),
                                     logEndOffset: try r.readSignedVarint())
        if try flag(&r) {
            response.divergingEpoch = Int32(clamping: try r.readSignedVarint())
            response.divergingEndOffset = try r.readSignedVarint()
        }
        response.records = try r.readLengthPrefixed(limit: r.remaining)
        return response
    }
}

// node.state: what a node process keeps between runs besides its storage
// and schema: its last gossip generation (a restart must take a larger one)
// and the ring as it last knew it (so it routes correctly before gossip has
// caught up). Written atomically; format in docs/formats/node-state.md.
import RingtailCore
import RingtailCluster

struct NodeStateFile: Equatable {
    static let name = "node.state"
    /// "RTNS". DO NOT CHANGE: embedded in files.
    static let magic: [UInt8] = [0x52, 0x54, 0x4E, 0x53]
    /// DO NOT CHANGE the meaning of an existing version.
    static let version: UInt8 = 1

    struct Member: Equatable {
        var node: NodeID
        var location: NodeLocation
        var tokens: [Int64]
    }

    var generation: Int64
    var members: [Member]

    init(generation: Int64, ring: TokenRing) {
        self.generation = generation
        members = ring.nodes.map { Member(node: $0, location: ring.location(of: $0)!, tokens: ring.tokens(of: $0)) }
    }

    /// The ring these members form (a token claimed twice keeps its first owner).
    var ring: TokenRing {
        var owners: [Int64: NodeID] = [:]
        var locations: [NodeID: NodeLocation] = [:]
        for m in members {
            locations[m.node] = m.location
            for t in m.tokens where owners[t] == nil && t != Murmur3.minimumToken { owners[t] = m.node }
        }
        return TokenRing(tokens: owners, locations: locations)
    }

    func encoded() -> [UInt8] {
        var w = ByteWriter(capacity: 64 + members.count * 200)
        w.writeBytes(Self.magic)
        w.writeUInt8(Self.version)
        w.writeInt64(generation)
        w.writeVarint(members.count)
        for m in members {
            w.writeLengthPrefixed(utf8: m.node.name)
            w.writeLengthPrefixed(utf8: m.location.datacenter)
            w.writeLengthPrefixed(utf8: m.location.rack)
            w.writeVarint(m.tokens.count)
            for t in m.tokens { w.writeInt64(t) }
        }
        let crc = w.bytes.withUnsafeBytes { CRC32C.checksum($0) }
        w.writeUInt32(crc)
        return w.bytes
    }

    init(decoding bytes: [UInt8]) throws(DecodeError) {
        guard bytes.count >= Self.magic.count + 1 + 8 + 1 + 4, Array(bytes.prefix(4)) == Self.magic else {
            throw .invalid(offset: 0, reason: "not a node state file (bad magic or too short)")
        }
        let body = bytes.count - 4
        var trailer = ByteReader(bytes, offset: body)
        let stored = try trailer.readUInt32()
        let actual = bytes.withUnsafeBytes { CRC32C.checksum(UnsafeRawBufferPointer(rebasing: $0[..<body])) }
        guard stored == actual else { throw .invalid(offset: body, reason: "checksum mismatch") }
        var r = ByteReader(Array(bytes[..<body]), offset: 4)
        let version = try r.readUInt8()
        guard version == Self.version else { throw .invalid(offset: 4, reason: "node state version \(version); this build reads \(Self.version)") }
        generation = try r.readInt64()
        members = []
        for _ in 0..<(try r.readLength(limit: 100_000)) {
            let node = NodeID(try r.readString(limit: 255))
            let location = NodeLocation(datacenter: try r.readString(limit: 255), rack: try r.readString(limit: 255))
            var tokens: [Int64] = []
            for _ in 0..<(try r.readLength(limit: 4096)) { tokens.append(try r.readInt64()) }
            members.append(Member(node: node, location: location, tokens: tokens))
        }
        guard r.isAtEnd else { throw .invalid(offset: r.offset, reason: "trailing bytes") }
    }
}


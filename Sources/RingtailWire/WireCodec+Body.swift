// Message bodies: one encoder and one decoder per message kind, in the
// grammar of docs/formats/wire.md. Maps are written sorted by key, so one
// message always has one encoding (the simulator hashes traces of them).
import RingtailCore

extension WireCodec {
    static func encodeBody(_ envelope: Envelope, into w: inout ByteWriter) {
        switch envelope.message {
        case .gossipSyn: w.writeUInt8(Kind.gossipSyn.rawValue)
        case .gossipAck: w.writeUInt8(Kind.gossipAck.rawValue)
        case .gossipAck2: w.writeUInt8(Kind.gossipAck2.rawValue)
        case .mutation: w.writeUInt8(Kind.mutation.rawValue)
        case .mutationResponse: w.writeUInt8(Kind.mutationResponse.rawValue)
        case .readRequest: w.writeUInt8(Kind.readRequest.rawValue)
        case .readResponse: w.writeUInt8(Kind.readResponse.rawValue)
        case .hello: w.writeUInt8(Kind.hello.rawValue)
        case .schemaPull: w.writeUInt8(Kind.schemaPull.rawValue)
        case .schemaPush: w.writeUInt8(Kind.schemaPush.rawValue)
        case .clientRequest: w.writeUInt8(Kind.clientRequest.rawValue)
        case .clientResponse: w.writeUInt8(Kind.clientResponse.rawValue)
        case .log: w.writeUInt8(Kind.log.rawValue)
        }
        writeString(envelope.source.name, &w)
        switch envelope.message {
        case .gossipSyn(let m):
            writeString(m.clusterName, &w)
            writeDigests(m.digests, &w)
        case .gossipAck(let m):
            writeDigests(m.requests, &w)
            writeStates(m.states, &w)
        case .gossipAck2(let m):
            writeStates(m.states, &w)
        case .mutation(let m):
            w.writeVarint(m.id)
            writeString(m.table, &w)
            w.writeLengthPrefixed(m.update)
            if let created = m.hintCreatedAtMicros {
                w.writeUInt8(1)
                w.writeSignedVarint(created)
            } else {
                w.writeUInt8(0)
            }
        case .mutationResponse(let m):
            w.writeVarint(m.id)
            if let failure = m.failure {
                w.writeUInt8(1)
                writeString(failure, &w)
            } else {
                w.writeUInt8(0)
            }
        case .readRequest(let m):
            w.writeVarint(m.id)
            writeString(m.table, &w)
            w.writeLengthPrefixed(m.key)
            writeBound(m.lower, &w)
            writeBound(m.upper, &w)
            w.writeUInt8(m.digestOnly ? 1 : 0)
        case .readResponse(let m):
            w.writeVarint(m.id)
            switch m.payload {
            case .data(nil):
                w.writeUInt8(0)
            case .data(let bytes?):
                w.writeUInt8(1)
                w.writeLengthPrefixed(bytes)
            case .digest(let d):
                w.writeUInt8(2)
                w.writeUInt64(d)
            case .failed(let reason):
                w.writeUInt8(3)
                writeString(reason, &w)
            }
        case .hello(let m):
            writeString(m.clusterName, &w)
            w.writeUInt8(m.protocolVersion)
            w.writeUInt8(m.role.rawValue)
            writeString(m.listenAddress, &w)
        case .schemaPull:
            break
        case .schemaPush(let m):
            w.writeLengthPrefixed(m.schema)
        case .clientRequest(let m):
            encodeClientRequest(m, &w)
        case .clientResponse(let m):
            encodeClientResponse(m, &w)
        case .log(let bytes):
            w.writeLengthPrefixed(bytes)
        }
    }

    static func decodeBody(_ r: inout ByteReader, limits: Limits) throws -> Envelope {
        let at = r.offset
        let kindByte = try r.readUInt8()
        guard let kind = Kind(rawValue: kindByte) else {
            throw WireError(.unknownKind, "message kind \(kindByte) at offset \(at)")
        }
        let source = NodeID(try readString(&r, limits))
        let message: Message
        switch kind {
        case .gossipSyn:
            let cluster = try readString(&r, limits)
            message = .gossipSyn(GossipSyn(clusterName: cluster, digests: try readDigests(&r, limits)))
        case .gossipAck:
            let requests = try readDigests(&r, limits)
            message = .gossipAck(GossipAck(requests: requests, states: try readStates(&r, limits)))
        case .gossipAck2:
            message = .gossipAck2(GossipAck2(states: try readStates(&r, limits)))
        case .mutation:
            let id = try r.readVarint()
            let table = try readString(&r, limits)
            let update = try r.readLengthPrefixed(limit: limits.frameBytesMax)
            let flag = try readFlag(&r, "hint flag")
            let created = flag ? try r.readSignedVarint() : nil
            message = .mutation(MutationMessage(id: id, table: table, update: update, hintCreatedAtMicros: created))
        case .mutationResponse:
            let id = try r.readVarint()
            let failed = try readFlag(&r, "mutation status")
            message = .mutationResponse(MutationResponse(id: id, failure: failed ? try readString(&r, limits) : nil))
        case .readRequest:
            let id = try r.readVarint()
            let table = try readString(&r, limits)
            let key = try r.readLengthPrefixed(limit: limits.frameBytesMax)
            let lower = try readBound(&r)
            let upper = try readBound(&r)
            let digestOnly = try readFlag(&r, "digest flag")
            message = .readRequest(ReadRequest(id: id, table: table, key: key, lower: lower, upper: upper, digestOnly: digestOnly))
        case .readResponse:
            let id = try r.readVarint()
            let tagAt = r.offset
            let payload: ReadPayload
            switch try r.readUInt8() {
            case 0: payload = .data(nil)
            case 1: payload = .data(try r.readLengthPrefixed(limit: limits.frameBytesMax))
            case 2: payload = .digest(try r.readUInt64())
            case 3: payload = .failed(try readString(&r, limits))
            case let tag: throw DecodeError.unknownTag(offset: tagAt, tag: tag, what: "read payload")
            }
            message = .readResponse(ReadResponse(id: id, payload: payload))
        case .hello:
            let cluster = try readString(&r, limits)
            let version = try r.readUInt8()
            let roleAt = r.offset
            guard let role = Hello.Role(rawValue: try r.readUInt8()) else {
                throw DecodeError.invalid(offset: roleAt, reason: "unknown hello role")
            }
            message = .hello(Hello(clusterName: cluster, protocolVersion: version, role: role,
                                   listenAddress: try readString(&r, limits)))
        case .schemaPull:
            message = .schemaPull
        case .schemaPush:
            message = .schemaPush(SchemaPush(schema: try r.readLengthPrefixed(limit: limits.frameBytesMax)))
        case .clientRequest:
            message = .clientRequest(try decodeClientRequest(&r, limits))
        case .clientResponse:
            message = .clientResponse(try decodeClientResponse(&r, limits))
        case .log:
            message = .log(try r.readLengthPrefixed(limit: limits.frameBytesMax))
        }
        return Envelope(source: source, message: message)
    }

    // MARK: Pieces

    static func writeString(_ s: String, _ w: inout ByteWriter) { w.writeLengthPrefixed(utf8: s) }

    static func readString(_ r: inout ByteReader, _ limits: Limits) throws -> String {
        try r.readString(limit: limits.stringBytesMax)
    }

    static func readFlag(_ r: inout ByteReader, _ what: String) throws -> Bool {
        let at = r.offset
        switch try r.readUInt8() {
        case 0: return false
        case 1: return true
        case let tag: throw DecodeError.unknownTag(offset: at, tag: tag, what: what)
        }
    }

    static func writeBound(_ b: WireBound, _ w: inout ByteWriter) {
        switch b {
        case .unbounded: w.writeUInt8(0)
        case .inclusive(let k): w.writeUInt8(1); w.writeLengthPrefixed(k)
        case .exclusive(let k): w.writeUInt8(2); w.writeLengthPrefixed(k)
        }
    }

    static func readBound(_ r: inout ByteReader) throws -> WireBound {
        let at = r.offset
        switch try r.readUInt8() {
        case 0: return .unbounded
        case 1: return .inclusive(try r.readLengthPrefixed(limit: r.remaining))
        case 2: return .exclusive(try r.readLengthPrefixed(limit: r.remaining))
        case let tag: throw DecodeError.unknownTag(offset: at, tag: tag, what: "clustering bound")
        }
    }

    static func writeDigests(_ digests: [GossipDigest], _ w: inout ByteWriter) {
        w.writeVarint(digests.count)
        for d in digests {
            writeString(d.node.name, &w)
            w.writeSignedVarint(d.generation)
            w.writeSignedVarint(d.maxVersion)
        }
    }

    static func readDigests(_ r: inout ByteReader, _ limits: Limits) throws -> [GossipDigest] {
        let count = try r.readLength(limit: limits.elementsMax)
        var out: [GossipDigest] = []
        out.reserveCapacity(min(count, 1024))
        for _ in 0..<count {
            let node = NodeID(try readString(&r, limits))
            out.append(GossipDigest(node: node, generation: try r.readSignedVarint(), maxVersion: try r.readSignedVarint()))
        }
        return out
    }

    static func writeStates(_ states: [NodeID: EndpointState], _ w: inout ByteWriter) {
        w.writeVarint(states.count)
        for (node, state) in states.sorted(by: { $0.key < $1.key }) {
            writeString(node.name, &w)
            w.writeSignedVarint(state.heartbeat.generation)
            w.writeSignedVarint(state.heartbeat.version)
            w.writeVarint(state.application.count)
            for (key, value) in state.application.sorted(by: { $0.key < $1.key }) {
                writeString(key, &w)
                writeString(value.value, &w)
                w.writeSignedVarint(value.version)
            }
        }
    }

    static func readStates(_ r: inout ByteReader, _ limits: Limits) throws -> [NodeID: EndpointState] {
        let count = try r.readLength(limit: limits.elementsMax)
        var out: [NodeID: EndpointState] = [:]
        for _ in 0..<count {
            let nodeAt = r.offset
            let node = NodeID(try readString(&r, limits))
            let heartbeat = HeartbeatState(generation: try r.readSignedVarint(), version: try r.readSignedVarint())
            let values = try r.readLength(limit: limits.elementsMax)
            var application: [String: VersionedValue] = [:]
            for _ in 0..<values {
                let key = try readString(&r, limits)
                let value = try readString(&r, limits)
                application[key] = VersionedValue(value, version: try r.readSignedVarint())
            }
            guard out.updateValue(EndpointState(heartbeat: heartbeat, application: application), forKey: node) == nil else {
                throw DecodeError.invalid(offset: nodeAt, reason: "node \(node) appears twice in gossip states")
            }
        }
        return out
    }
}

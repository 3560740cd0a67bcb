import RingtailCore
import Testing
@testable import RingtailWire

@Suite struct WireCodecTests {
    static let samples: [Envelope] = [
        Envelope(source: NodeID("n1"), message: .gossipSyn(GossipSyn(clusterName: "test", digests: [
            GossipDigest(node: NodeID("n1"), generation: 1_700_000_000, maxVersion: 42),
            GossipDigest(node: NodeID("n2"), generation: -1, maxVersion: 0),
        ]))),
        Envelope(source: NodeID("n2"), message: .gossipAck(GossipAck(
            requests: [GossipDigest(node: NodeID("n3"), generation: 5, maxVersion: 9)],
            states: [NodeID("n2"): EndpointState(heartbeat: HeartbeatState(generation: 7, version: 3),
                                                 application: ["dc": VersionedValue("dc1", version: 1),
                                                               "rack": VersionedValue("r1", version: 2)])]))),
        Envelope(source: NodeID("n3"), message: .gossipAck2(GossipAck2(states: [:]))),
        Envelope(source: NodeID("n1"), message: .mutation(MutationMessage(id: 1, table: "ks.t", update: [1, 2, 3]))),
        Envelope(source: NodeID("n1"), message: .mutation(MutationMessage(id: .max, table: "ks.t", update: [],
                                                                          hintCreatedAtMicros: -5))),
        Envelope(source: NodeID("n2"), message: .mutationResponse(MutationResponse(id: 9))),
        Envelope(source: NodeID("n2"), message: .mutationResponse(MutationResponse(id: 9, failure: "disk full"))),
        Envelope(source: NodeID("n1"), message: .readRequest(ReadRequest(id: 3, table: "ks.t", key: [0, 1],
                                                                        lower: .inclusive([5]), upper: .exclusive([9]),
                                                                        digestOnly: true))),
        Envelope(source: NodeID("n1"), message: .readRequest(ReadRequest(id: 4, table: "ks.t", key: [], digestOnly: false))),
        Envelope(source: NodeID("n2"), message: .readResponse(ReadResponse(id: 3, payload: .digest(0xDEAD_BEEF_0123_4567)))),
        Envelope(source: NodeID("n2"), message: .readResponse(ReadResponse(id: 4, payload: .data(nil)))),
        Envelope(source: NodeID("n2"), message: .readResponse(ReadResponse(id: 4, payload: .data([7, 7])))),
        Envelope(source: NodeID("n2"), message: .readResponse(ReadResponse(id: 4, payload: .failed("no table ks.t")))),
        Envelope(source: NodeID("n1"), message: .hello(Hello(clusterName: "test", role: .peer, listenAddress: "127.0.0.1:7401"))),
        Envelope(source: NodeID("client"), message: .hello(Hello(clusterName: "", protocolVersion: 9, role: .client))),
        Envelope(source: NodeID("n2"), message: .schemaPull),
        Envelope(source: NodeID("n2"), message: .schemaPush(SchemaPush(schema: [1, 0, 0]))),
        Envelope(source: NodeID("c"), message: .clientRequest(ClientRequest(id: 1, operation: .write(
            table: "ks.t", update: [1, 2], consistency: "quorum")))),
        Envelope(source: NodeID("c"), message: .clientRequest(ClientRequest(id: 2, operation: .read(ClientRead(
            table: "ks.t", key: [3], lower: .inclusive([1]), upper: .unbounded, limit: 10, descending: true,
            consistency: "one"))))),
        Envelope(source: NodeID("c"), message: .clientRequest(ClientRequest(id: 3, operation: .createKeyspace([4, 5])))),
        Envelope(source: NodeID("c"), message: .clientRequest(ClientRequest(id: 4, operation: .createTable([6])))),
        Envelope(source: NodeID("c"), message: .clientRequest(ClientRequest(id: 5, operation: .dropKeyspace("ks")))),
        Envelope(source: NodeID("c"), message: .clientRequest(ClientRequest(id: 6, operation: .dropTable("ks.t")))),
        Envelope(source: NodeID("c"), message: .clientRequest(ClientRequest(id: .max, operation: .admin(
            command: "status", argument: "ks")))),
        Envelope(source: NodeID("n1"), message: .clientResponse(ClientResponse(id: 1, reply: .ok))),
        Envelope(source: NodeID("n1"), message: .clientResponse(ClientResponse(id: 2, reply: .rows(nil)))),
        Envelope(source: NodeID("n1"), message: .clientResponse(ClientResponse(id: 2, reply: .rows([9, 9])))),
        Envelope(source: NodeID("n1"), message: .clientResponse(ClientResponse(id: 3, reply: .error(WireRequestError(
            kind: 1, consistency: "quorum", numbers: [1, 2, -3], isWrite: true, message: "Write timeout"))))),
        Envelope(source: NodeID("n1"), message: .clientResponse(ClientResponse(id: 4, reply: .document(Array("{}".utf8))))),
        Envelope(source: NodeID("n1"), message: .clientResponse(ClientResponse(id: 5, reply: .log([1, 2, 3])))),
        Envelope(source: NodeID("n1"), message: .clientRequest(ClientRequest(id: 6, operation: .log([4, 5])))),
        Envelope(source: NodeID("n2"), message: .log([7, 8, 9])),
    ]

    @Test func everyMessageRoundTrips() throws {
        for envelope in Self.samples {
            let frame = WireCodec.encode(envelope)
            #expect(try WireCodec.decode(frame: frame) == envelope)
            // Canonical: encoding the decoded message gives the same bytes.
            #expect(WireCodec.encode(try WireCodec.decode(frame: frame)) == frame)
        }
    }

    @Test func corruptionIsDetected() throws {
        let frame = WireCodec.encode(Self.samples[3])
        for i in WireCodec.headerBytes..<frame.count {
            var bad = frame
            bad[i] ^= 0x10
            #expect(throws: WireError.self) { try WireCodec.decode(frame: bad) }
        }
        var bad = frame
        bad[5] ^= 1
        let error = try #require(throws: WireError.self) { try WireCodec.decode(frame: bad) }
        #expect(error.code == .checksumMismatch)
    }

    /// Re-frames a body with a correct header, to reach the body checks.
    static func reframe(_ body: [UInt8]) -> [UInt8] {
        var w = ByteWriter()
        w.writeUInt32(UInt32(body.count))
        w.writeUInt32(CRC32C.checksum(body))
        w.writeBytes(body)
        return w.bytes
    }

    @Test func unknownVersionKindAndTrailingBytesAreRefused() throws {
        var body = Array(WireCodec.encode(Self.samples[5]).dropFirst(WireCodec.headerBytes))
        body[0] = 2
        #expect(try #require(throws: WireError.self) { try WireCodec.decode(frame: Self.reframe(body)) }.code == .unknownVersion)
        body[0] = WireCodec.version
        body[1] = 99
        #expect(try #require(throws: WireError.self) { try WireCodec.decode(frame: Self.reframe(body)) }.code == .unknownKind)
        var long = Array(WireCodec.encode(Self.samples[5]).dropFirst(WireCodec.headerBytes))
        long.append(0)
        #expect(try #require(throws: WireError.self) { try WireCodec.decode(frame: Self.reframe(long)) }.code == .malformed)
    }

    /// Strings decode in place with an ASCII fast path: a non-ASCII name
    /// still round-trips, and bytes that are not UTF-8 are refused.
    @Test func stringsAreUTF8() throws {
        let accented = Envelope(source: NodeID("nœud-é1"), message: .mutationResponse(MutationResponse(id: 9)))
        #expect(try WireCodec.decode(frame: WireCodec.encode(accented)) == accented)
        var body = Array(WireCodec.encode(Self.samples[5]).dropFirst(WireCodec.headerBytes))
        #expect(body[2] == 2 && body[3] == UInt8(ascii: "n")) // version, kind, source "n2"
        body[3] = 0xFF
        let error = try #require(throws: WireError.self) { try WireCodec.decode(frame: Self.reframe(body)) }
        #expect(error.description.contains("UTF-8"))
    }

    @Test func limitsAreEnforced() throws {
        var limits = WireCodec.Limits()
        limits.frameBytesMax = 16
        let frame = WireCodec.encode(Self.samples[0])
        #expect(try #require(throws: WireError.self) { try WireCodec.decode(frame: frame, limits: limits) }.code == .oversized)
        limits = WireCodec.Limits()
        limits.stringBytesMax = 2
        #expect(try #require(throws: WireError.self) { try WireCodec.decode(frame: frame, limits: limits) }.code == .malformed)
        limits = WireCodec.Limits()
        limits.elementsMax = 1
        #expect(try #require(throws: WireError.self) { try WireCodec.decode(frame: frame, limits: limits) }.code == .malformed)
    }

    @Test func randomBytesNeverTrap() {
        var entropy = SeededEntropy(seed: 7)
        let valid = Self.samples.map { Array(WireCodec.encode($0).dropFirst(WireCodec.headerBytes)) }
        var decoded = 0
        for round in 0..<20_000 {
            var body: [UInt8]
            if round % 2 == 0 {
                body = (0..<entropy.next(below: 64)).map { _ in UInt8(truncatingIfNeeded: entropy.next()) }
            } else {
                body = valid[entropy.next(below: valid.count)]
                for _ in 0..<1 + entropy.next(below: 3) where !body.isEmpty {
                    body[entropy.next(below: body.count)] = UInt8(truncatingIfNeeded: entropy.next())
                }
                if entropy.chance(0.3) { body.removeLast(entropy.next(below: body.count + 1)) }
            }
            if (try? WireCodec.decode(frame: Self.reframe(body))) != nil { decoded += 1 }
        }
        #expect(decoded < 20_000)
    }

    @Test func splitterReassemblesAStream() throws {
        let frames = Self.samples.map(WireCodec.encode)
        let stream = frames.flatMap { $0 }
        var entropy = SeededEntropy(seed: 11)
        var splitter = FrameSplitter()
        var out: [[UInt8]] = []
        var offset = 0
        while offset < stream.count {
            let n = min(stream.count - offset, 1 + entropy.next(below: 40))
            out += try splitter.append(stream[offset..<offset + n])
            offset += n
        }
        #expect(out == frames)
        #expect(splitter.bufferedBytes == 0)
        var small = WireCodec.Limits()
        small.frameBytesMax = 4
        var strict = FrameSplitter(limits: small)
        #expect(throws: WireError.self) { _ = try strict.append(frames[0]) }
    }
}

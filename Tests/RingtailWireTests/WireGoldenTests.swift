// Golden bytes for the node-to-node wire format: each worked example in
// docs/formats/wire.md (a ```hex block after a `<!-- wire-golden: NAME -->`
// line) must be exactly what WireCodec.encode writes for the envelope the
// page describes, and must decode back to that envelope.
import Foundation
import RingtailCore
import Testing
@testable import RingtailWire

@Suite struct WireGoldenTests {
    /// The envelopes behind the worked examples, by marker name.
    static let goldenEnvelopes: [String: Envelope] = [
        // "n1" sends write 7 of table ks.t, not a hint.
        "mutation": Envelope(source: NodeID("n1"), message: .mutation(
            MutationMessage(id: 7, table: "ks.t", update: [0x01, 0x02, 0x03], hintCreatedAtMicros: nil))),
        // "n2" answers read 7 with a digest.
        "read-response-digest": Envelope(source: NodeID("n2"), message: .readResponse(
            ReadResponse(id: 7, payload: .digest(0x0123_4567_89ab_cdef)))),
        // "n1" sends two endpoint states; both maps must come out sorted by key.
        "gossip-ack2": Envelope(source: NodeID("n1"), message: .gossipAck2(GossipAck2(states: [
            NodeID("n2"): EndpointState(heartbeat: HeartbeatState(generation: 3, version: 12), application: [
                "rack": VersionedValue("r1", version: 3),
                "dc": VersionedValue("dc1", version: 2),
            ]),
            NodeID("n1"): EndpointState(heartbeat: HeartbeatState(generation: 2, version: 1)),
        ]))),
    ]

    @Test func everyWorkedExampleEncodesToTheDocumentedBytes() throws {
        let blocks = try Self.goldenBlocks()
        #expect(Set(blocks.keys) == Set(Self.goldenEnvelopes.keys),
                "docs/formats/wire.md's marked examples differ from the envelopes this test knows")
        for (name, envelope) in Self.goldenEnvelopes.sorted(by: { $0.key < $1.key }) {
            guard let expected = blocks[name] else { continue }
            let actual = WireCodec.encode(envelope)
            if actual != expected {
                let first = zip(actual, expected).enumerated().first { $0.element.0 != $0.element.1 }?.offset
                    ?? min(actual.count, expected.count)
                Issue.record("""
                    \(name): encoder output differs from docs/formats/wire.md at byte \(first) \
                    (\(actual.count) bytes, expected \(expected.count)). Encoder output:
                    \(Self.goldenDump(actual))
                    """)
            }
        }
    }

    @Test func everyWorkedExampleDecodesToItsEnvelope() throws {
        for (name, bytes) in try Self.goldenBlocks().sorted(by: { $0.key < $1.key }) {
            guard let envelope = Self.goldenEnvelopes[name] else { continue }
            do {
                #expect(try WireCodec.decode(frame: bytes) == envelope, "\(name)")
            } catch {
                Issue.record("\(name): \(error)")
            }
            // A stream carrying the example twice, cut at every byte, yields it twice.
            for cut in 0...(2 * bytes.count) {
                var splitter = FrameSplitter()
                let stream = bytes + bytes
                let frames = try splitter.append(stream[..<cut]) + splitter.append(stream[cut...])
                #expect(frames == [bytes, bytes], "\(name), cut at \(cut)")
                #expect(splitter.bufferedBytes == 0)
            }
        }
    }

    /// The kind bytes of the page's kind table: byte 9 of every frame.
    @Test func kindBytesAreTheDocumentedOnes() {
        let source = NodeID("n1")
        let kinds: [(UInt8, Message)] = [
            (1, .gossipSyn(GossipSyn(clusterName: "c", digests: []))),
            (2, .gossipAck(GossipAck(requests: [], states: [:]))),
            (3, .gossipAck2(GossipAck2(states: [:]))),
            (10, .mutation(MutationMessage(id: 1, table: "ks.t", update: []))),
            (11, .mutationResponse(MutationResponse(id: 1))),
            (12, .readRequest(ReadRequest(id: 1, table: "ks.t", key: [1], digestOnly: false))),
            (13, .readResponse(ReadResponse(id: 1, payload: .data(nil)))),
        ]
        for (kind, message) in kinds {
            let frame = WireCodec.encode(Envelope(source: source, message: message))
            #expect(frame[8] == 1, "version byte")
            #expect(frame[9] == kind, "\(message)")
        }
    }

    /// The page's "Errors" and "Versions" sections, on the mutation example.
    @Test func readerRefusesWhatThePageSaysItRefuses() throws {
        let frame = try #require(Self.goldenBlocks()["mutation"])

        var newer = frame
        newer[8] = 2
        #expect(Self.goldenErrorCode(newer) == .checksumMismatch) // the CRC is checked first
        Self.goldenPatchCRC(&newer)
        #expect(Self.goldenErrorCode(newer) == .unknownVersion)

        var unknownKind = frame
        unknownKind[9] = 99
        Self.goldenPatchCRC(&unknownKind)
        #expect(Self.goldenErrorCode(unknownKind) == .unknownKind)

        var truncated = Array(frame.dropLast())
        truncated[0] -= 1
        Self.goldenPatchCRC(&truncated)
        #expect(Self.goldenErrorCode(truncated) == .malformed)

        var trailing = frame + [0x00]
        trailing[0] += 1
        Self.goldenPatchCRC(&trailing)
        #expect(Self.goldenErrorCode(trailing) == .malformed)

        var small = WireCodec.Limits()
        small.frameBytesMax = frame.count - WireCodec.headerBytes - 1
        do throws(WireError) {
            _ = try WireCodec.decode(frame: frame, limits: small)
            Issue.record("expected oversized")
        } catch {
            #expect(error.code == .oversized)
        }
        var splitter = FrameSplitter(limits: small)
        do throws(WireError) {
            _ = try splitter.append(frame.prefix(WireCodec.headerBytes))
            Issue.record("expected oversized from the header alone")
        } catch {
            #expect(error.code == .oversized)
        }
    }

    // MARK: - Helpers

    static func goldenErrorCode(_ frame: [UInt8]) -> WireError.Code? {
        do throws(WireError) {
            _ = try WireCodec.decode(frame: frame)
            return nil
        } catch {
            return error.code
        }
    }

    /// Rewrites the header's CRC32C (bytes 4..<8) to match the body.
    static func goldenPatchCRC(_ frame: inout [UInt8]) {
        let crc = CRC32C.checksum(frame[WireCodec.headerBytes...])
        for i in 0..<4 { frame[4 + i] = UInt8(truncatingIfNeeded: crc >> (8 * UInt32(i))) }
    }

    /// Every ```hex block of docs/formats/wire.md that directly follows a
    /// `<!-- wire-golden: NAME -->` line, parsed, by NAME.
    static func goldenBlocks() throws -> [String: [UInt8]] {
        let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
            .deletingLastPathComponent()
        let text = try String(contentsOf: root.appendingPathComponent("docs/formats/wire.md"), encoding: .utf8)
        var blocks: [String: [UInt8]] = [:]
        var pendingName: String?
        var current: (name: String, hex: String)?
        for rawLine in text.split(separator: "\n", omittingEmptySubsequences: false) {
            let line = rawLine.trimmingCharacters(in: .whitespaces)
            if var block = current {
                if line.hasPrefix("```") {
                    guard blocks[block.name] == nil else { throw GoldenDocError("two examples named \(block.name)") }
                    blocks[block.name] = try goldenParseHex(block.hex)
                    current = nil
                } else {
                    block.hex += line + "\n"
                    current = block
                }
            } else if let name = pendingName {
                if line == "```hex" {
                    current = (name, "")
                    pendingName = nil
                } else if !line.isEmpty {
                    throw GoldenDocError("marker \(name) is not followed by a ```hex block")
                }
            } else if line.hasPrefix("<!-- wire-golden:"), line.hasSuffix("-->") {
                pendingName = line.dropFirst("<!-- wire-golden:".count).dropLast("-->".count)
                    .trimmingCharacters(in: .whitespaces)
            }
        }
        if current != nil || pendingName != nil { throw GoldenDocError("unterminated example at the end of the page") }
        return blocks
    }

    /// Two hex digits a byte, any whitespace between.
    static func goldenParseHex(_ text: String) throws -> [UInt8] {
        var out: [UInt8] = []
        var high: UInt8?
        for ch in text where !ch.isWhitespace {
            guard let digit = ch.hexDigitValue else { throw GoldenDocError("'\(ch)' is not a hex digit") }
            if let h = high {
                out.append(h << 4 | UInt8(digit))
                high = nil
            } else {
                high = UInt8(digit)
            }
        }
        if high != nil { throw GoldenDocError("odd number of hex digits") }
        return out
    }

    /// Lowercase hex, 16 bytes a line: the page's layout, ready to paste.
    static func goldenDump(_ bytes: [UInt8]) -> String {
        stride(from: 0, to: bytes.count, by: 16).map { start in
            bytes[start..<min(start + 16, bytes.count)].map { b in
                (b < 16 ? "0" : "") + String(b, radix: 16)
            }.joined(separator: " ")
        }.joined(separator: "\n")
    }

    struct GoldenDocError: Error, CustomStringConvertible {
        var description: String
        init(_ description: String) { self.description = description }
    }
}

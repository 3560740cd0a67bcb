// The framed, versioned, length-limited binary codec for node-to-node
// messages. Every message between nodes goes through it, in the simulator
// and in real processes alike. The format is documented byte by byte in
// docs/formats/wire.md; the golden test there pins it.
import RingtailCore

/// Why bytes from a peer could not be decoded. The receiver drops the frame
/// (or, on a stream, the connection) and keeps running.
public struct WireError: Error, Hashable, Sendable, CustomStringConvertible {
    public enum Code: String, Sendable {
        /// The frame is longer than the receiver's limit.
        case oversized
        /// The body's CRC32C does not match the header.
        case checksumMismatch
        /// A protocol version this node does not speak.
        case unknownVersion
        /// A message kind this node does not know.
        case unknownKind
        /// The body does not decode (truncated, bad tag, over a limit, bad UTF-8).
        case malformed
    }

    public var code: Code
    public var message: String

    public init(_ code: Code, _ message: String) {
        self.code = code
        self.message = message
    }

    public var description: String { "wire \(code.rawValue): \(message)" }
}

public enum WireCodec {
    /// The protocol version this build writes. DO NOT CHANGE the meaning of
    /// an existing version: it is what peers of other builds read.
    public static let version: UInt8 = 1
    /// Bytes before the body: length (u32 LE) and CRC32C of the body (u32 LE).
    public static let headerBytes = 8

    /// Bounds applied to everything decoded from a peer.
    public struct Limits: Hashable, Sendable {
        /// Largest body accepted (default 16 MiB).
        public var frameBytesMax = 16 << 20
        /// Longest string (table and node names, gossip values).
        public var stringBytesMax = 64 << 10
        /// Most elements in one list or map.
        public var elementsMax = 1 << 16
        public init() {}
    }

    /// Message kind bytes. DO NOT CHANGE: embedded in frames peers read.
    enum Kind: UInt8 {
        case gossipSyn = 1, gossipAck = 2, gossipAck2 = 3
        case mutation = 10, mutationResponse = 11, readRequest = 12, readResponse = 13
        case hello = 20
        case schemaPull = 30, schemaPush = 31
        case clientRequest = 40, clientResponse = 41
        case log = 50
    }

    /// Encodes one envelope as a complete frame (header and body).
    public static func encode(_ envelope: Envelope) -> [UInt8] {
        var w = ByteWriter(capacity: 64 + envelope.message.payloadBytes)
        w.writeUInt32(0) // length, patched below
        w.writeUInt32(0) // CRC, patched below
        w.writeUInt8(version)
        encodeBody(envelope, into: &w)
        let bodyCount = w.bytes.count - headerBytes
        // Patched in place: the writer's buffer is the frame (no copy).
        w.bytes.withUnsafeMutableBytes { frame in
            let crc = CRC32C.checksum(UnsafeRawBufferPointer(rebasing: frame[headerBytes...]))
            frame.storeBytes(of: UInt32(bodyCount).littleEndian, toByteOffset: 0, as: UInt32.self)
            frame.storeBytes(of: crc.littleEndian, toByteOffset: 4, as: UInt32.self)
        }
        return w.bytes
    }

    /// Decodes exactly one frame (header and body, nothing after it).
    public static func decode(frame: [UInt8], limits: Limits = Limits()) throws(WireError) -> Envelope {
        guard frame.count >= headerBytes else {
            throw WireError(.malformed, "frame of \(frame.count) bytes is shorter than its \(headerBytes)-byte header")
        }
        let length = try bodyLength(header: readUInt32(frame, at: 0), limits: limits)
        guard frame.count == headerBytes + length else {
            throw WireError(.malformed, "frame header says \(length) body bytes, \(frame.count - headerBytes) present")
        }
        let expected = readUInt32(frame, at: 4)
        let actual = frame.withUnsafeBytes { CRC32C.checksum(UnsafeRawBufferPointer(rebasing: $0[headerBytes...])) }
        guard expected == actual else {
            throw WireError(.checksumMismatch, "body CRC32C is \(hex(actual)), header says \(hex(expected))")
        }
        var r = ByteReader(frame, offset: headerBytes)
        do {
            let v = try r.readUInt8()
            guard v == version else { throw WireError(.unknownVersion, "protocol version \(v); this node speaks \(version)") }
            let envelope = try decodeBody(&r, limits: limits)
            guard r.isAtEnd else { throw WireError(.malformed, "\(r.remaining) trailing bytes after the message") }
            return envelope
        } catch let e as WireError {
            throw e
        } catch let e as DecodeError {
            throw WireError(.malformed, e.description)
        } catch {
            throw WireError(.malformed, "\(error)")
        }
    }

    /// The body length a frame header announces, checked against the
    /// receiver's limit before any of the body is buffered.
    public static func bodyLength(header length: UInt32, limits: Limits) throws(WireError) -> Int {
        guard Int(length) <= limits.frameBytesMax else {
            throw WireError(.oversized, "frame body of \(length) bytes exceeds the limit of \(limits.frameBytesMax)")
        }
        return Int(length)
    }

    public static func readUInt32(_ bytes: [UInt8], at offset: Int) -> UInt32 {
        UInt32(bytes[offset]) | UInt32(bytes[offset + 1]) << 8 | UInt32(bytes[offset + 2]) << 16 | UInt32(bytes[offset + 3]) << 24
    }

    static func hex(_ v: UInt32) -> String { "0x" + String(v, radix: 16) }
}

/// Splits a byte stream (a TCP connection) into frames. Feed it what
/// arrives; it returns each complete frame once and keeps the rest.
/// Bounded: a header announcing more than the limit is an error at once,
/// before the body is buffered.
public struct FrameSplitter: Sendable {
    public let limits: WireCodec.Limits
    private var buffer: [UInt8] = []

    public init(limits: WireCodec.Limits = WireCodec.Limits()) { self.limits = limits }

    /// Bytes received but not yet part of a complete frame.
    public var bufferedBytes: Int { buffer.count }

    /// Appends `bytes` and returns every frame now complete, in order.
    public mutating func append(_ bytes: some Sequence<UInt8>) throws(WireError) -> [[UInt8]] {
        buffer.append(contentsOf: bytes)
        var frames: [[UInt8]] = []
        var start = 0
        while buffer.count - start >= WireCodec.headerBytes {
            let length = try WireCodec.bodyLength(header: WireCodec.readUInt32(buffer, at: start), limits: limits)
            let total = WireCodec.headerBytes + length
            guard buffer.count - start >= total else { break }
            frames.append(Array(buffer[start..<start + total]))
            start += total
        }
        if start > 0 { buffer.removeFirst(start) }
        return frames
    }
}

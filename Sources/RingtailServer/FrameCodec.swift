// Framing on a TCP stream: splits bytes into WireCodec frames (length and
// CRC header, then body), bounded by the receiver's frame limit, and writes
// frames out. A header announcing more than the limit is an error at once,
// before the body is buffered; the connection is then closed.
import NIOCore
import RingtailWire

/// Splits a stream into whole frames (header included), each as `[UInt8]`.
struct FrameDecoder: ByteToMessageDecoder {
    typealias InboundOut = [UInt8]
    let limits: WireCodec.Limits

    init(frameBytesMax: Int) {
        var limits = WireCodec.Limits()
        limits.frameBytesMax = frameBytesMax
        self.limits = limits
    }

    mutating func decode(context: ChannelHandlerContext, buffer: inout ByteBuffer) throws -> DecodingState {
        guard buffer.readableBytes >= WireCodec.headerBytes,
              let length = buffer.getInteger(at: buffer.readerIndex, endianness: .little, as: UInt32.self) else {
            return .needMoreData
        }
        let total = WireCodec.headerBytes + (try WireCodec.bodyLength(header: length, limits: limits))
        guard buffer.readableBytes >= total, let frame = buffer.readBytes(length: total) else { return .needMoreData }
        context.fireChannelRead(Self.wrapInboundOut(frame))
        return .continue
    }

    mutating func decodeLast(context: ChannelHandlerContext, buffer: inout ByteBuffer, seenEOF: Bool) throws -> DecodingState {
        while try decode(context: context, buffer: &buffer) == .continue {}
        return .needMoreData
    }
}

extension Channel {
    /// Writes one encoded frame without flushing.
    func writeFrame(_ frame: [UInt8]) {
        var buffer = allocator.buffer(capacity: frame.count)
        buffer.writeBytes(frame)
        write(buffer, promise: nil)
    }
}

/// A `host:port` endpoint as configuration and gossip spell it.
public struct Endpoint: Hashable, Sendable, CustomStringConvertible {
    public var host: String
    public var port: Int

    public init(host: String, port: Int) {
        self.host = host
        self.port = port
    }

    /// Parses `host:port` (IPv6 in brackets: `[::1]:7000`); nil if malformed.
    public init?(_ text: String) {
        guard let colon = text.lastIndex(of: ":"), let port = Int(text[text.index(after: colon)...]),
              (1...65535).contains(port) else { return nil }
        var host = String(text[..<colon])
        if host.hasPrefix("[") && host.hasSuffix("]") { host = String(host.dropFirst().dropLast()) }
        guard !host.isEmpty else { return nil }
        self.host = host
        self.port = port
    }

    public var description: String { host.contains(":") ? "[\(host)]:\(port)" : "\(host):\(port)" }
}

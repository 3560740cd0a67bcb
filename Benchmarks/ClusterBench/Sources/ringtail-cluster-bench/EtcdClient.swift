// A minimal etcd v3 client: unary gRPC calls (KV/Put and KV/Range) over one
// HTTP/2 connection, one stream per call, as every gRPC client makes them.
// The two request messages are encoded by hand (protobuf: field 1 `key`,
// field 2 `value`, both bytes); a call succeeds when its trailers say
// grpc-status 0. Nothing else of gRPC is needed for the benchmark.
import NIOCore
import NIOHPACK
import NIOHTTP2
import NIOPosix
import Glibc
import RingtailServer

final class EtcdBenchClient: BenchClient, @unchecked Sendable {
    let channel: Channel
    let multiplexer: NIOHTTP2Handler.StreamMultiplexer
    let authority: String

    init(endpoint: Endpoint, group: EventLoopGroup) async throws {
        channel = try await ClientBootstrap(group: group)
            .channelOption(.socketOption(.tcp_nodelay), value: 1)
            .connectTimeout(.seconds(5))
            .connect(host: endpoint.host, port: endpoint.port).get()
        let channel = self.channel
        // NIO's guards against abusive peers (rapid stream resets, PING and
        // SETTINGS floods: 200 per 30 s each) stall a busy connection to
        // etcd, whose gRPC server sends a PING (bandwidth estimation) with
        // most answers: the calls stopped after about 200. A benchmark
        // client trusts its server, so the guards are lifted.
        var streams = NIOHTTP2Handler.StreamConfiguration()
        streams.streamResetFrameRateLimit.maximumCount = .max
        streams.streamErrorRateLimit.maximumCount = .max
        var connection = NIOHTTP2Handler.ConnectionConfiguration()
        connection.controlFrameRateLimit.maximumCount = .max
        connection.maximumConnectionGlitches = .max
        let (configuration, connectionConfiguration) = (streams, connection)
        multiplexer = try await channel.configureHTTP2Pipeline(
            mode: .client, connectionConfiguration: connectionConfiguration, streamConfiguration: configuration,
            inboundStreamInitializer: { $0.eventLoop.makeSucceededVoidFuture() }).get()
        authority = "\(endpoint.host):\(endpoint.port)"
    }

    static func varint(_ n: Int, into out: inout [UInt8]) {
        var v = UInt64(n)
        while v >= 0x80 {
            out.append(UInt8(v & 0x7F) | 0x80)
            v >>= 7
        }
        out.append(UInt8(v))
    }

    /// A length-delimited protobuf field.
    static func field(_ number: Int, _ bytes: [UInt8], into out: inout [UInt8]) {
        out.append(UInt8(number << 3 | 2))
        varint(bytes.count, into: &out)
        out += bytes
    }

    func write(key: String, value: [UInt8]) async -> Bool {
        var message: [UInt8] = []
        Self.field(1, Array(key.utf8), into: &message)
        Self.field(2, value, into: &message)
        return await call("/etcdserverpb.KV/Put", message)
    }

    /// A linearizable Range of one key (etcd's default read).
    func read(key: String) async -> Bool {
        var message: [UInt8] = []
        Self.field(1, Array(key.utf8), into: &message)
        return await call("/etcdserverpb.KV/Range", message)
    }

    func call(_ path: String, _ message: [UInt8]) async -> Bool {
        let promise = channel.eventLoop.makePromise(of: Bool.self)
        let headers = HPACKHeaders([
            (":method", "POST"), (":scheme", "http"), (":path", path), (":authority", authority),
            ("content-type", "application/grpc"), ("te", "trailers"),
        ])
        var body = ByteBuffer()
        body.writeInteger(UInt8(0))
        body.writeInteger(UInt32(message.count))
        body.writeBytes(message)
        let request = body
        let handler = UnaryCallHandler(promise: promise)
        multiplexer.createStreamChannel { stream in
            stream.eventLoop.makeCompletedFuture { try stream.pipeline.syncOperations.addHandler(handler) }
        }.whenComplete { result in
            switch result {
            case .success(let stream):
                stream.write(HTTP2Frame.FramePayload.headers(.init(headers: headers)), promise: nil)
                stream.writeAndFlush(HTTP2Frame.FramePayload.data(.init(data: .byteBuffer(request), endStream: true)), promise: nil)
            case .failure:
                promise.succeed(false)
            }
        }
        // As Ringtail's calls: an answer that does not come within 10 s is an error.
        let timer = channel.eventLoop.scheduleTask(in: .seconds(10)) { handler.finish(false) }
        let ok = (try? await promise.futureResult.get()) ?? false
        timer.cancel()
        return ok
    }

    func close() { channel.close(promise: nil) }
}

/// One call's stream: succeeds with true when the trailers carry grpc-status 0.
let debugFrames = getenv("BENCH_DEBUG") != nil

final class UnaryCallHandler: ChannelInboundHandler, @unchecked Sendable {
    typealias InboundIn = HTTP2Frame.FramePayload
    let promise: EventLoopPromise<Bool>
    var done = false

    init(promise: EventLoopPromise<Bool>) { self.promise = promise }

    /// On the stream's event loop (the connection's).
    func finish(_ ok: Bool) {
        guard !done else { return }
        done = true
        promise.succeed(ok)
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        if debugFrames {
            if case .data(let d) = unwrapInboundIn(data), case .byteBuffer(let b) = d.data { print("data", b.readableBytes, d.endStream) } else { print("frame:", unwrapInboundIn(data)) }
        }
        if case .headers(let h) = unwrapInboundIn(data), h.endStream || h.headers.first(name: "grpc-status") != nil {
            finish(h.headers.first(name: "grpc-status") == "0")
        }
    }

    func channelInactive(context: ChannelHandlerContext) {
        if debugFrames { print("inactive") }
        finish(false)
    }

    func errorCaught(context: ChannelHandlerContext, error: Error) {
        finish(false)
        context.close(promise: nil)
    }
}

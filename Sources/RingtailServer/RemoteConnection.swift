// A client's connection to one node's client port: a hello, then requests
// with ids, answered in any order on the same connection. Many requests
// may be in flight at once (the node coordinates them concurrently). The
// CLI, the fault suite and the benchmarks use it.
import NIOCore
import NIOPosix
import RingtailCore
import RingtailWire

/// Why a request over a connection got no answer.
public struct ConnectionError: Error, CustomStringConvertible, Sendable {
    public var message: String
    public init(_ message: String) { self.message = message }
    public var description: String { message }
}

/// One connection to a node's client port. Thread-safe: requests may come
/// from any task; they are serialized on the connection's event loop.
public final class RemoteConnection: @unchecked Sendable {
    public let endpoint: Endpoint
    let channel: Channel
    let handler: ResponseHandler

    /// Connects and exchanges hellos. `clusterName` "" accepts any cluster;
    /// the node's name for itself comes back in `nodeName`.
    public static func connect(to endpoint: Endpoint, clusterName: String = "", group: EventLoopGroup,
                               timeout: Duration = .seconds(5)) async throws -> RemoteConnection {
        let handler = ResponseHandler()
        let channel = try await ClientBootstrap(group: group)
            .channelOption(.socketOption(.tcp_nodelay), value: 1)
            .connectTimeout(.nanoseconds(timeout.nanosecondsClamped))
            .channelInitializer { channel in
                channel.eventLoop.makeCompletedFuture {
                    try channel.pipeline.syncOperations.addHandler(ByteToMessageHandler(FrameDecoder(frameBytesMax: 256 << 20)))
                    try channel.pipeline.syncOperations.addHandler(handler)
                }
            }
            .connect(host: endpoint.host, port: endpoint.port).get()
        let connection = RemoteConnection(endpoint: endpoint, channel: channel, handler: handler)
        let hello = WireCodec.encode(Envelope(source: NodeID("client"), message: .hello(Hello(
            clusterName: clusterName, role: .client))))
        let answered = channel.eventLoop.makePromise(of: Hello.self)
        channel.eventLoop.execute {
            handler.helloPromise = answered
            channel.writeFrame(hello)
            channel.flush()
        }
        let timer = channel.eventLoop.scheduleTask(in: .nanoseconds(timeout.nanosecondsClamped)) {
            answered.fail(ConnectionError("\(endpoint) did not answer the hello within \(timeout)"))
        }
        do {
            let theirs = try await answered.futureResult.get()
            timer.cancel()
            if !clusterName.isEmpty && theirs.clusterName != clusterName {
                throw ConnectionError("\(endpoint) belongs to cluster \"\(theirs.clusterName)\", not \"\(clusterName)\"")
            }
            connection.clusterName = theirs.clusterName
        } catch {
            timer.cancel()
            channel.close(promise: nil)
            throw error
        }
        connection.nodeName = handler.peerName
        return connection
    }

    init(endpoint: Endpoint, channel: Channel, handler: ResponseHandler) {
        self.endpoint = endpoint
        self.channel = channel
        self.handler = handler
    }

    /// The cluster and node that answered the hello.
    public private(set) var clusterName = ""
    public private(set) var nodeName = ""

    /// Sends one request and waits for its answer (or `timeout`: the node's
    /// own request timeouts are shorter, so this only fires on a stalled node).
    public func request(_ operation: ClientOperation, timeout: Duration = .seconds(30)) async throws -> ClientReply {
        let promise = channel.eventLoop.makePromise(of: ClientReply.self)
        let handler = self.handler
        let channel = self.channel
        let endpoint = self.endpoint
        channel.eventLoop.execute {
            guard handler.open else {
                promise.fail(ConnectionError("the connection to \(endpoint) is closed"))
                return
            }
            let id = handler.nextID
            handler.nextID += 1
            let timer = channel.eventLoop.scheduleTask(in: .nanoseconds(timeout.nanosecondsClamped)) { () -> Void in
                handler.pending.removeValue(forKey: id)?.promise.fail(ConnectionError("\(endpoint) did not answer within \(timeout)"))
            }
            handler.pending[id] = (promise, timer)
            channel.writeFrame(WireCodec.encode(Envelope(source: NodeID("client"), message: .clientRequest(
                ClientRequest(id: id, operation: operation)))))
            channel.flush()
        }
        return try await promise.futureResult.get()
    }

    /// Whether the TCP connection is still up (a request that timed out leaves it up).
    public var isActive: Bool { channel.isActive }

    public func close() {
        channel.close(promise: nil)
    }
}

/// Matches responses to requests. Confined to the channel's event loop.
final class ResponseHandler: ChannelInboundHandler, @unchecked Sendable {
    typealias InboundIn = [UInt8]
    /// Requests in flight, each with its timeout (cancelled by the answer).
    var pending: [UInt64: (promise: EventLoopPromise<ClientReply>, timer: Scheduled<Void>)] = [:]
    var nextID: UInt64 = 1
    var helloPromise: EventLoopPromise<Hello>?
    var peerName = ""
    var open = true

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        let envelope: Envelope
        do {
            envelope = try WireCodec.decode(frame: unwrapInboundIn(data), limits: {
                var l = WireCodec.Limits()
                l.frameBytesMax = 256 << 20
                return l
            }())
        } catch {
            fail(ConnectionError("the node sent a frame that does not decode: \(error)"))
            context.close(promise: nil)
            return
        }
        switch envelope.message {
        case .hello(let hello):
            peerName = envelope.source.name
            helloPromise?.succeed(hello)
            helloPromise = nil
        case .clientResponse(let response):
            guard let waiting = pending.removeValue(forKey: response.id) else { break }
            waiting.timer.cancel()
            waiting.promise.succeed(response.reply)
        default:
            break
        }
    }

    func channelInactive(context: ChannelHandlerContext) {
        fail(ConnectionError("the node closed the connection"))
    }

    func errorCaught(context: ChannelHandlerContext, error: Error) {
        fail(ConnectionError("connection error: \(error)"))
        context.close(promise: nil)
    }

    func fail(_ error: ConnectionError) {
        open = false
        helloPromise?.fail(error)
        helloPromise = nil
        let waiting = pending
        pending = [:]
        for p in waiting.values {
            p.timer.cancel()
            p.promise.fail(error)
        }
    }
}

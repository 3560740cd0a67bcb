// Outbound connections to peers: one per peer address, opened on the first
// frame for it, with a hello handshake (cluster name, protocol version,
// our listen address) before any other frame, reconnects with exponential
// backoff, and bounded queues. A node sends on its own outbound connections
// and receives on the ones peers open to it (Cassandra does the same).
import NIOCore
import NIOPosix
import Logging
import RingtailCore
import RingtailWire

/// One outbound connection. Confined to the server's event loop.
final class PeerLink: @unchecked Sendable {
    let endpoint: Endpoint
    var channel: Channel?
    /// The peer answered our hello: frames may flow.
    var ready = false
    var connecting = false
    /// Frames waiting for the connection (bounded by `queueBytesMax`).
    var queue: [[UInt8]] = []
    var queuedBytes = 0
    var backoff: Duration = PeerLink.backoffMin
    var nextAttempt: NIODeadline = .uptimeNanoseconds(0)
    /// Whether the last attempt failed (so a recovery is logged once).
    var failing = false

    static let backoffMin: Duration = .milliseconds(100)
    static let backoffMax: Duration = .seconds(5)
    /// Frames held for a connection not yet up; beyond, new frames are dropped.
    static let queueBytesMax = 32 << 20

    init(endpoint: Endpoint) { self.endpoint = endpoint }
}

/// Reads the frames a peer sends back on our outbound connection: only its hello.
final class OutboundHandler: ChannelInboundHandler {
    typealias InboundIn = [UInt8]
    let server: NodeServer
    let link: PeerLink

    init(server: NodeServer, link: PeerLink) {
        self.server = server
        self.link = link
    }

    func channelActive(context: ChannelHandlerContext) {
        context.channel.writeFrame(server.helloFrame(role: .peer))
        context.flush()
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        server.outboundFrame(unwrapInboundIn(data), link: link, channel: context.channel)
    }

    func channelInactive(context: ChannelHandlerContext) {
        server.outboundClosed(link: link, channel: context.channel)
    }

    func errorCaught(context: ChannelHandlerContext, error: Error) {
        server.logger.warning("connection to peer failed", metadata: ["peer": "\(link.endpoint)", "error": "\(error)"])
        context.close(promise: nil)
    }
}

/// Reads what a peer or client sends on a connection it opened to us: a
/// hello first, then gossip and replica frames (peer) or requests (client).
final class InboundHandler: ChannelInboundHandler {
    typealias InboundIn = [UInt8]
    enum State {
        case awaitingHello
        case peer(NodeID)
        case client(ClientSession)
    }

    let server: NodeServer
    /// The listener it came through: a client port refuses peers and back.
    let expected: Hello.Role
    var state = State.awaitingHello

    init(server: NodeServer, expected: Hello.Role) {
        self.server = server
        self.expected = expected
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        let frame = unwrapInboundIn(data)
        switch state {
        case .awaitingHello:
            state = server.inboundHello(frame, expected: expected, channel: context.channel) ?? .awaitingHello
        case .peer(let node):
            server.peerFrame(frame, from: node, channel: context.channel)
        case .client(let session):
            server.clientFrame(frame, session: session)
        }
    }

    func channelInactive(context: ChannelHandlerContext) {
        if case .client(let session) = state { server.clientClosed(session) }
    }

    func errorCaught(context: ChannelHandlerContext, error: Error) {
        let who: String
        switch state {
        case .awaitingHello: who = "\(context.remoteAddress.map { "\($0)" } ?? "?") before its hello"
        case .peer(let node): who = "peer \(node)"
        case .client: who = "client \(context.remoteAddress.map { "\($0)" } ?? "?")"
        }
        server.logger.error("closing the connection from \(who): \(error)")
        context.close(promise: nil)
    }
}

/// One client connection: the requests it has in flight.
final class ClientSession: @unchecked Sendable {
    let channel: Channel
    var closed = false
    init(channel: Channel) { self.channel = channel }
}

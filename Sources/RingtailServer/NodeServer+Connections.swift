// The server's connections: hellos both ways, outbound links with backoff,
// peer frames into the node, client requests in and replies out. A frame
// that does not decode, an oversized one, or a hello from another cluster
// or protocol version closes that connection with a logged error; the node
// keeps serving everyone else.
import NIOCore
import NIOPosix
import Logging
import RingtailCore
import RingtailWire
import RingtailCluster
import RingtailNode

extension NodeServer {
    func helloFrame(role: Hello.Role) -> [UInt8] {
        WireCodec.encode(Envelope(source: NodeID(configuration.nodeName), message: .hello(Hello(
            clusterName: configuration.clusterName, role: role, listenAddress: configuration.listenAddress.description))))
    }

    /// Checks a hello; nil (and the connection closed) if refused.
    func checkHello(_ frame: [UInt8], from channel: Channel, expected: Hello.Role?) -> (NodeID, Hello)? {
        let where_ = channel.remoteAddress.map { "\($0)" } ?? "?"
        let envelope: Envelope
        do {
            envelope = try WireCodec.decode(frame: frame, limits: limits)
        } catch {
            logger.error("refusing connection: its first frame is not a hello this node can read: \(error)",
                         metadata: ["remote": "\(where_)"])
            channel.close(promise: nil)
            return nil
        }
        guard case .hello(let hello) = envelope.message else {
            logger.error("refusing connection: it began with a \(envelope.message.kindName), not a hello", metadata: ["remote": "\(where_)"])
            channel.close(promise: nil)
            return nil
        }
        // A client may leave the cluster name empty: it learns it from our hello.
        guard hello.clusterName == configuration.clusterName || (hello.role == .client && hello.clusterName.isEmpty) else {
            logger.error("refusing connection from \(envelope.source): it belongs to cluster \"\(hello.clusterName)\", this node to \"\(configuration.clusterName)\"",
                         metadata: ["remote": "\(where_)"])
            channel.close(promise: nil)
            return nil
        }
        if let expected, hello.role != expected {
            logger.error("refusing connection from \(envelope.source): a \(hello.role == .peer ? "peer" : "client") on the \(expected == .peer ? "peer" : "client") port",
                         metadata: ["remote": "\(where_)"])
            channel.close(promise: nil)
            return nil
        }
        return (envelope.source, hello)
    }

    var limits: WireCodec.Limits {
        var l = WireCodec.Limits()
        l.frameBytesMax = configuration.frameBytesMax
        return l
    }

    // MARK: Outbound

    func link(for endpoint: Endpoint) -> PeerLink {
        if let l = links[endpoint] { return l }
        let l = PeerLink(endpoint: endpoint)
        links[endpoint] = l
        return l
    }

    func send(_ frame: [UInt8], to link: PeerLink) {
        guard !storageClosed, !isolated else { return }
        if link.ready, let channel = link.channel {
            // A peer that stopped reading (paused, overloaded) fills the
            // buffer up to the high water mark; past it frames are dropped,
            // as the network would: coordinators time out and hint.
            guard channel.isWritable else { return }
            channel.writeFrame(frame)
            unflushed[ObjectIdentifier(channel)] = channel
            return
        }
        guard link.queuedBytes + frame.count <= PeerLink.queueBytesMax else { return }
        link.queue.append(frame)
        link.queuedBytes += frame.count
        connect(link)
    }

    func connect(_ link: PeerLink) {
        guard !link.connecting, link.channel == nil, !storageClosed else { return }
        guard NIODeadline.now() >= link.nextAttempt else {
            // Backing off: what waits for this peer is stale by the time it could go.
            dropQueue(link)
            return
        }
        link.connecting = true
        let limit = configuration.frameBytesMax
        ClientBootstrap(group: loop)
            .channelOption(.socketOption(.tcp_nodelay), value: 1)
            .channelOption(.writeBufferWaterMark, value: .init(low: 4 << 20, high: 16 << 20))
            .connectTimeout(.seconds(2))
            .channelInitializer { channel in
                channel.eventLoop.makeCompletedFuture {
                    try channel.pipeline.syncOperations.addHandler(ByteToMessageHandler(FrameDecoder(frameBytesMax: limit)))
                    try channel.pipeline.syncOperations.addHandler(OutboundHandler(server: self, link: link))
                }
            }
            .connect(host: link.endpoint.host, port: link.endpoint.port)
            .whenComplete { result in
                link.connecting = false
                switch result {
                case .success(let channel):
                    link.channel = channel
                case .failure(let error):
                    if !link.failing {
                        self.logger.info("cannot reach peer; retrying with backoff",
                                         metadata: ["peer": "\(link.endpoint)", "error": "\(error)"])
                    }
                    link.failing = true
                    link.nextAttempt = .now() + .nanoseconds(link.backoff.nanosecondsClamped)
                    link.backoff = min(link.backoff * 2, PeerLink.backoffMax)
                    self.dropQueue(link)
                }
            }
    }

    /// The next frame for `link` connects at once (the peer is known to be up).
    func resetBackoff(_ link: PeerLink) {
        guard link.channel == nil else { return }
        link.nextAttempt = .uptimeNanoseconds(0)
        link.backoff = PeerLink.backoffMin
    }

    func dropQueue(_ link: PeerLink) {
        link.queue.removeAll()
        link.queuedBytes = 0
    }

    /// The peer's hello on our outbound connection: the link is up.
    func outboundFrame(_ frame: [UInt8], link: PeerLink, channel: Channel) {
        guard !link.ready else {
            logger.warning("peer sent an unexpected frame on our outbound connection; closing it",
                           metadata: ["peer": "\(link.endpoint)"])
            channel.close(promise: nil)
            return
        }
        guard let (peer, _) = checkHello(frame, from: channel, expected: .peer) else { return }
        link.ready = true
        link.backoff = PeerLink.backoffMin
        if link.failing { logger.info("reconnected to peer", metadata: ["peer": "\(peer)", "address": "\(link.endpoint)"]) }
        link.failing = false
        for frame in link.queue { channel.writeFrame(frame) }
        link.queue.removeAll()
        link.queuedBytes = 0
        channel.flush()
    }

    func outboundClosed(link: PeerLink, channel: Channel) {
        guard link.channel === channel || link.channel == nil else { return }
        link.channel = nil
        link.ready = false
        dropQueue(link)
    }

    // MARK: Inbound

    func inboundHello(_ frame: [UInt8], expected: Hello.Role, channel: Channel) -> InboundHandler.State? {
        guard let (source, hello) = checkHello(frame, from: channel, expected: expected) else { return nil }
        channel.writeFrame(helloFrame(role: .peer))
        channel.flush()
        switch hello.role {
        case .peer:
            if let e = Endpoint(hello.listenAddress) {
                addresses[source] = e
                // The peer is back (it just connected to us): end any backoff
                // of our link to it, earned while it was down.
                if let link = links[e] { resetBackoff(link) }
            }
            return .peer(source)
        case .client:
            return .client(ClientSession(channel: channel))
        }
    }

    func peerFrame(_ frame: [UInt8], from peer: NodeID, channel: Channel) {
        guard !storageClosed, !isolated else { return }
        let rejectedBefore = node.statistics.framesRejected
        let effects = node.receive(frame: frame)
        if node.statistics.framesRejected != rejectedBefore {
            logger.error("closing the connection from peer \(peer): \(node.statistics.lastRejection)")
            channel.close(promise: nil)
        }
        perform(effects)
    }

    func clientFrame(_ frame: [UInt8], session: ClientSession) {
        let envelope: Envelope
        do {
            envelope = try WireCodec.decode(frame: frame, limits: limits)
        } catch {
            logger.error("closing a client connection: \(error)", metadata: ["remote": "\(session.channel.remoteAddress.map { "\($0)" } ?? "?")"])
            session.channel.close(promise: nil)
            return
        }
        guard case .clientRequest(let request) = envelope.message else {
            logger.error("closing a client connection: it sent a \(envelope.message.kindName)")
            session.channel.close(promise: nil)
            return
        }
        if stopping {
            respond(session, request.id, .error(.coordinatorLost("\(node.id) is shutting down")))
            return
        }
        if case .admin(let command, let argument) = request.operation {
            admin(command, argument) { self.respond(session, request.id, $0) }
            return
        }
        guard pendingClients.count < Self.clientRequestsMax else {
            respond(session, request.id, .error(.overloaded("\(node.id) is overloaded: \(pendingClients.count) requests in flight")))
            return
        }
        let ours = nextRequest
        nextRequest += 1
        let (effects, answer) = node.handle(client: request, as: ours)
        if let answer {
            respond(session, request.id, answer)
        } else {
            // The reply comes as a `.reply` effect: now (among `effects`) or later.
            var key: [UInt8] = []
            if case .read(let read) = request.operation { key = read.key }
            pendingClients[ours] = (session, request.id, key)
        }
        perform(effects)
    }

    func replyToClient(_ request: UInt64, _ result: ClientResult) {
        guard let (session, id, key) = pendingClients.removeValue(forKey: request) else { return }
        respond(session, id, ClientReply(result, key: key))
    }

    func respond(_ session: ClientSession, _ id: UInt64, _ reply: ClientReply) {
        guard !session.closed else { return }
        session.channel.writeFrame(WireCodec.encode(Envelope(source: node.id, message: .clientResponse(
            ClientResponse(id: id, reply: reply)))))
        unflushed[ObjectIdentifier(session.channel)] = session.channel
        if performing == 0 { flushWrites() }
    }

    func clientClosed(_ session: ClientSession) {
        session.closed = true
    }
}

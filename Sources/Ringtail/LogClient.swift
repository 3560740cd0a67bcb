// The append log over the network: cluster metadata (topics, leaders, each
// node's client address), one connection per node, and requests routed to
// the partition's leader, refreshing metadata and retrying when leadership
// moved. Producer and Consumer build on it (LogProducer.swift,
// LogConsumer.swift), as Kafka's clients build on their metadata.
import NIOCore
import NIOPosix
import RingtailCore
import RingtailWire
import RingtailLog
import RingtailServer

/// A failed append-log request, with the cluster's reason.
public struct LogClientError: Error, CustomStringConvertible, Sendable {
    public var code: PartitionErrorCode?
    public var message: String
    public init(_ message: String, code: PartitionErrorCode? = nil) {
        self.message = message
        self.code = code
    }
    public var description: String { code.map { "\($0): \(message)" } ?? message }
}

/// Talks to a cluster's append log. Safe to share between tasks.
public actor LogClient {
    public let bootstrap: [Endpoint]
    public let requestTimeout: Duration
    let group: EventLoopGroup
    var connections: [Endpoint: RemoteConnection] = [:]
    public private(set) var metadata = ClusterDescription(controller: nil, brokers: [], topics: [])

    public init(bootstrap: [Endpoint], requestTimeout: Duration = .seconds(30)) {
        precondition(!bootstrap.isEmpty, "a log client needs at least one node address")
        self.bootstrap = bootstrap
        self.requestTimeout = requestTimeout
        group = MultiThreadedEventLoopGroup.singleton
    }

    public func close() {
        for c in connections.values { c.close() }
        connections = [:]
    }

    func connection(_ endpoint: Endpoint) async throws -> RemoteConnection {
        if let c = connections[endpoint], c.isActive { return c }
        let c = try await RemoteConnection.connect(to: endpoint, group: group, timeout: .seconds(3))
        connections[endpoint] = c
        return c
    }

    /// Sends one request to `endpoint` and decodes the answer.
    public func send(_ request: LogClientRequest, to endpoint: Endpoint, timeout: Duration? = nil) async throws -> LogClientReply {
        let c: RemoteConnection
        do { c = try await connection(endpoint) } catch {
            throw LogClientError("cannot connect to \(endpoint): \(error)")
        }
        let reply: ClientReply
        do {
            reply = try await c.request(.log(LogMessageCodec.encode(request)), timeout: timeout ?? requestTimeout)
        } catch {
            connections[endpoint] = nil
            c.close()
            throw LogClientError("\(endpoint): \(error)")
        }
        switch reply {
        case .log(let bytes):
            do { return try LogMessageCodec.decodeClientReply(bytes) } catch {
                throw LogClientError("\(endpoint) answered with a log reply that does not decode: \(error)")
            }
        case .error(let e): throw LogClientError(e.message)
        default: throw LogClientError("\(endpoint) answered a log request with something else")
        }
    }

    /// Sends to any node that answers, bootstrap addresses first.
    public func sendToAny(_ request: LogClientRequest) async throws -> LogClientReply {
        var last: Error = LogClientError("no node answered")
        let known = metadata.brokers.filter { !$0.fenced }.compactMap { Endpoint($0.clientAddress) }
        for endpoint in bootstrap + known.filter({ !bootstrap.contains($0) }) {
            do { return try await send(request, to: endpoint) } catch { last = error }
        }
        throw last
    }

    @discardableResult
    public func refreshMetadata() async throws -> ClusterDescription {
        guard case .cluster(let d) = try await sendToAny(.describeCluster) else {
            throw LogClientError("a node answered describe with something else")
        }
        metadata = d
        return d
    }

    public func topic(_ name: String) async throws -> TopicDescription {
        if let t = metadata.topics.first(where: { $0.name == name }) { return t }
        try await refreshMetadata()
        guard let t = metadata.topics.first(where: { $0.name == name }) else {
            throw LogClientError("no topic \(name)", code: .unknownTopicOrPartition)
        }
        return t
    }

    /// The client address of the partition's leader.
    func leader(_ topic: String, _ partition: Int, refresh: Bool) async throws -> Endpoint {
        if refresh { try await refreshMetadata() }
        let t = try await self.topic(topic)
        guard partition >= 0 && partition < t.partitions.count else {
            throw LogClientError("\(topic) has \(t.partitions.count) partitions; there is no partition \(partition)", code: .unknownTopicOrPartition)
        }
        guard let leader = t.partitions[partition].leader,
              let address = metadata.brokers.first(where: { $0.node == leader })?.clientAddress, let endpoint = Endpoint(address) else {
            throw LogClientError("\(topic)-\(partition) has no leader right now", code: .notLeader)
        }
        return endpoint
    }

    /// Sends a partition request to its leader, retrying (with fresh
    /// metadata, after a pause) while leadership is moving.
    public func sendToLeader(_ topic: String, _ partition: Int, attempts: Int = 20,
                             _ request: LogClientRequest) async throws -> LogClientReply {
        var refresh = false
        var last: Error = LogClientError("no attempt")
        for attempt in 0..<max(1, attempts) {
            if attempt > 0 { try await Task.sleep(for: .milliseconds(min(1000, 100 * attempt))) }
            do {
                let endpoint = try await leader(topic, partition, refresh: refresh)
                let reply = try await send(request, to: endpoint)
                if case .error(let code, _) = reply, [.notLeader, .unknownLeaderEpoch, .fencedLeaderEpoch].contains(code) {
                    refresh = true
                    last = LogClientError("\(topic)-\(partition): leadership moved", code: code)
                    continue
                }
                return reply
            } catch let error as LogClientError where error.code == .notLeader || error.code == nil {
                refresh = true
                last = error
            }
        }
        throw last
    }

    // MARK: Operations

    /// Creates a topic, waiting (up to `wait`) while the cluster is not
    /// ready for it: no controller elected yet, or too few nodes registered
    /// for the replication factor. Returns once every partition's leader serves it.
    public func createTopic(_ name: String, config: TopicConfig, wait: Duration = .seconds(20)) async throws {
        let deadline = ContinuousClock.now + wait
        while true {
            let reply = try await sendToAny(.createTopic(name: name, config: config))
            if reply == .ok { break }
            let reason = Self.describe(reply)
            let transient = reason.contains("retry") || reason.contains("are live")
            guard transient, ContinuousClock.now < deadline else { throw LogClientError(reason) }
            try await Task.sleep(for: .milliseconds(300))
        }
        // The controller committed it; wait until each partition's leader has opened its replica.
        while ContinuousClock.now < deadline {
            try await refreshMetadata()
            var ready = true
            for p in 0..<config.partitions {
                // One try each: this loop is the retry, bounded by `deadline`.
                let reply = try? await sendToLeader(name, p, attempts: 1, .listOffsets(topic: name, partition: p, .latest))
                if case .offset? = reply {} else { ready = false }
            }
            if ready { return }
            try await Task.sleep(for: .milliseconds(200))
        }
    }

    public func deleteTopic(_ name: String) async throws {
        let reply = try await sendToAny(.deleteTopic(name: name))
        guard reply == .ok else { throw LogClientError(Self.describe(reply)) }
        try await refreshMetadata()
    }

    public func produce(topic: String, partition: Int, batch: [UInt8], acks: Acks, timeout: Duration = .seconds(30)) async throws -> ProduceResponse {
        let reply = try await sendToLeader(topic, partition, .produce(topic: topic, partition: partition, acks: acks, timeout: timeout, batch: batch))
        guard case .produced(let r) = reply else { throw LogClientError(Self.describe(reply)) }
        return r
    }

    public func fetch(topic: String, partition: Int, offset: Int64, maxBytes: Int = 1 << 20,
                      maxWait: Duration = .milliseconds(500)) async throws -> FetchResponse {
        let request = FetchRequest(topic: topic, partition: partition, replica: nil, fetchOffset: offset, maxBytes: maxBytes, maxWait: maxWait)
        let reply = try await sendToLeader(topic, partition, .fetch(request))
        guard case .fetched(let r) = reply else { throw LogClientError(Self.describe(reply)) }
        return r
    }

    /// A partition's offset by `spec`, from its leader. `attempts` bounds the
    /// tries while leadership moves (the pause grows to 1 s; 20 tries take
    /// about 15 s); a status display
    /// passes 1 so a partition without a leader does not hold it up.
    public func offset(topic: String, partition: Int, _ spec: OffsetSpec, attempts: Int = 20) async throws -> Int64 {
        let reply = try await sendToLeader(topic, partition, attempts: attempts, .listOffsets(topic: topic, partition: partition, spec))
        guard case .offset(let o) = reply else { throw LogClientError(Self.describe(reply)) }
        return o
    }

    /// A producer id for an idempotent producer. A node refuses only while
    /// it cannot reach a controller (an election, a controller that died):
    /// asked again for up to about 10 s.
    public func producerId() async throws -> Int64 {
        var reply = LogClientReply.failed("not asked")
        for attempt in 0..<20 {
            if attempt > 0 { try await Task.sleep(for: .milliseconds(500)) }
            reply = try await sendToAny(.initProducer)
            if case .producerId(let id) = reply { return id }
            guard case .failed = reply else { break }
        }
        throw LogClientError(Self.describe(reply))
    }

    static func describe(_ reply: LogClientReply) -> String {
        switch reply {
        case .failed(let why): return why
        case .error(let code, let why): return "\(code): \(why)"
        default: return "unexpected answer \(reply)"
        }
    }
}

// A consumer in a group: it finds the group's coordinator, joins, gets its
// partitions, reads them from their committed offsets (or the reset policy
// where none is committed), heartbeats in the background, and rejoins when
// the coordinator says a rebalance is under way. Offsets are committed for
// the records handed out by the previous poll (at-least-once, as Kafka's
// auto-commit), and on a rebalance before partitions are given up.
import RingtailCore
import RingtailLog
import RingtailServer

public struct GroupConsumerOptions: Sendable {
    public var assignor: Assignor = .cooperativeSticky
    public var sessionTimeout: Duration = .seconds(10)
    public var heartbeatInterval: Duration = .seconds(1)
    /// Where to start a partition with no committed offset (`auto.offset.reset`).
    public var reset: OffsetSpec = .latest
    public var fetchBytes = 1 << 20
    public init() {}
}

public actor LogGroupConsumer {
    public let client: LogClient
    public let group: String
    public let topics: [String]
    public let options: GroupConsumerOptions
    public private(set) var memberID = ""
    public private(set) var generation: Int32 = -1
    /// The partitions this member owns, and the next offset to read in each.
    public private(set) var positions: [TopicPartitionID: Int64] = [:]
    /// Positions of records handed out and not yet committed.
    var uncommitted: [TopicPartitionID: Int64] = [:]
    var coordinator: Endpoint?
    var needsJoin = true
    var lastHeartbeat = ContinuousClock.now
    public private(set) var rebalances = 0
    /// Heartbeats run on their own, so a slow consumer (one writing a large
    /// poll to a table) keeps its membership (Kafka's background heartbeat thread).
    var heartbeatTask: Task<Void, Never>?

    public init(client: LogClient, group: String, topics: [String], options: GroupConsumerOptions = GroupConsumerOptions()) {
        self.client = client
        self.group = group
        self.topics = topics
        self.options = options
    }

    func findCoordinator() async throws -> Endpoint {
        if let coordinator { return coordinator }
        for attempt in 0..<50 {
            if attempt > 0 { try await Task.sleep(for: .milliseconds(200)) }
            if case .coordinator(_, let address)? = try? await client.sendToAny(.findCoordinator(group: group)), let e = Endpoint(address) {
                coordinator = e
                return e
            }
        }
        throw LogClientError("no coordinator for group \(group) answered")
    }

    /// Sends a request to the coordinator. A coordinator that moved, or that
    /// cannot be reached (its node died and leadership of the group's offsets
    /// partition has not moved yet: up to a broker session timeout), is
    /// looked up again, with the pause growing to 1 s, for about 15 s in all,
    /// as `LogClient.sendToLeader` waits out a partition's failover.
    func toCoordinator(_ request: LogClientRequest) async throws -> LogClientReply {
        let attempts = 20
        let deadline = ContinuousClock.now + .seconds(20) // a coordinator that hangs is not retried for long either
        for attempt in 0..<attempts {
            if attempt > 0 { try await Task.sleep(for: .milliseconds(min(1000, 100 * attempt))) }
            let endpoint = try await findCoordinator()
            let last = attempt == attempts - 1 || ContinuousClock.now >= deadline
            do {
                // A join may wait out a rebalance (up to 30 s at the coordinator).
                let reply = try await client.send(request, to: endpoint, timeout: .seconds(45))
                if Self.notCoordinator(reply) && !last {
                    coordinator = nil
                    continue
                }
                return reply
            } catch {
                coordinator = nil
                if last { throw error }
            }
        }
        throw LogClientError("group \(group): the coordinator kept moving")
    }

    static func notCoordinator(_ reply: LogClientReply) -> Bool {
        switch reply {
        case .group(.notCoordinator), .synced(.notCoordinator, _): return true
        case .joined(let j): return j.error == .notCoordinator
        case .error(.notLeader, _): return true
        default: return false
        }
    }

    /// Joins (or rejoins) and takes the assignment; commits what was handed
    /// out first, so the next owner starts after it.
    func join() async throws {
        try? await commit()
        for _ in 0..<20 {
            let reply = try await toCoordinator(.joinGroup(group: group, memberID: memberID, topics: topics,
                                                           sessionTimeout: options.sessionTimeout, assignor: options.assignor.rawValue))
            guard case .joined(let result) = reply else { throw LogClientError("join answered \(reply)") }
            switch result.error {
            case .none:
                memberID = result.memberID
                generation = result.generation
                try await adopt(result.assignment)
                needsJoin = false
                lastHeartbeat = .now
                rebalances += 1
                startHeartbeats()
                return
            case .unknownMember, .illegalGeneration:
                memberID = ""
                positions = [:]
                uncommitted = [:]
            case .rebalanceInProgress, .notCoordinator:
                try await Task.sleep(for: .milliseconds(100))
            default:
                throw LogClientError("group \(group): join refused: \(result.error)")
            }
        }
        throw LogClientError("group \(group): could not join")
    }

    /// Keeps positions of partitions still owned; new ones start at the
    /// committed offset, or per the reset policy.
    func adopt(_ assignment: [TopicPartitionID]) async throws {
        let owned = Set(assignment)
        positions = positions.filter { owned.contains($0.key) }
        uncommitted = uncommitted.filter { owned.contains($0.key) }
        let fresh = assignment.filter { positions[$0] == nil }
        guard !fresh.isEmpty else { return }
        var committed: [TopicPartitionID: Int64] = [:]
        if case .offsets(let o) = try await toCoordinator(.fetchOffsets(group: group)) { committed = o }
        for tp in fresh {
            if let c = committed[tp] { positions[tp] = c } else {
                positions[tp] = try await client.offset(topic: tp.topic, partition: tp.partition, options.reset)
            }
        }
    }

    func startHeartbeats() {
        guard heartbeatTask == nil else { return }
        let interval = options.heartbeatInterval
        heartbeatTask = Task { [weak self] in
            while !Task.isCancelled {
                try? await Task.sleep(for: interval)
                await self?.backgroundHeartbeat()
            }
        }
    }

    /// Heartbeats go on while a rejoin waits for the current poll to finish:
    /// the session must not expire while the member is busy.
    func backgroundHeartbeat() async {
        guard !memberID.isEmpty else { return }
        try? await heartbeatIfDue()
    }

    func heartbeatIfDue() async throws {
        guard ContinuousClock.now - lastHeartbeat >= options.heartbeatInterval else { return }
        lastHeartbeat = .now
        let reply = try await toCoordinator(.heartbeat(group: group, memberID: memberID, generation: generation))
        switch reply {
        case .group(.none): break
        case .group(.unknownMember):
            memberID = ""
            positions = [:]
            uncommitted = [:]
            needsJoin = true
        default: needsJoin = true
        }
    }

    /// Records from the owned partitions (committing what the previous poll
    /// handed out). At most `maxRecords` (Kafka's `max.poll.records`): the
    /// positions move past only the records returned, so a caller that stops
    /// after them commits nothing it did not see.
    public func poll(maxWait: Duration = .milliseconds(500), maxRecords: Int? = nil) async throws -> [ConsumedRecord] {
        if needsJoin { try await join() }
        try await commit()
        try await heartbeatIfDue()
        if needsJoin { try await join() }
        guard !positions.isEmpty else {
            try await Task.sleep(for: min(maxWait, options.heartbeatInterval))
            return []
        }
        let client = self.client
        let current = positions
        let fetchBytes = options.fetchBytes
        let wait = min(maxWait, options.heartbeatInterval)
        let results = await withTaskGroup(of: (TopicPartitionID, FetchResponse?).self) { group in
            for (tp, offset) in current {
                group.addTask {
                    (tp, try? await client.fetch(topic: tp.topic, partition: tp.partition, offset: offset, maxBytes: fetchBytes, maxWait: wait))
                }
            }
            var out: [(TopicPartitionID, FetchResponse?)] = []
            for await r in group { out.append(r) }
            return out
        }
        var records: [ConsumedRecord] = []
        var budget = max(0, maxRecords ?? .max)
        for (tp, response) in results.sorted(by: { $0.0 < $1.0 }) {
            guard let response, positions[tp] != nil, budget > 0 else { continue }
            if response.error == .offsetOutOfRange {
                positions[tp] = try await client.offset(topic: tp.topic, partition: tp.partition, options.reset)
                continue
            }
            guard response.error == .none else { continue } // leadership moving: the next poll asks again
            var (fetched, next) = try ConsumedRecord.decode(response, topic: tp.topic, partition: tp.partition, from: positions[tp]!)
            if fetched.count > budget {
                fetched.removeLast(fetched.count - budget)
                next = fetched.last.map { $0.offset + 1 }
            }
            budget -= fetched.count
            records += fetched
            if let next {
                positions[tp] = next
                uncommitted[tp] = next
            }
        }
        return records
    }

    /// Commits the positions of records handed out so far.
    public func commit() async throws {
        guard !uncommitted.isEmpty, generation >= 0, !memberID.isEmpty else { return }
        let offsets = uncommitted
        let reply = try await toCoordinator(.commitOffsets(group: group, memberID: memberID, generation: generation, offsets: offsets))
        switch reply {
        case .group(.none):
            for (tp, o) in offsets where uncommitted[tp] == o { uncommitted[tp] = nil }
        case .group(.rebalanceInProgress), .group(.illegalGeneration), .group(.notOwner):
            needsJoin = true
        case .group(.unknownMember):
            memberID = ""
            needsJoin = true
        default:
            throw LogClientError("group \(group): commit failed: \(reply)")
        }
    }

    /// Commits and leaves the group, so its partitions move at once.
    public func close() async {
        heartbeatTask?.cancel()
        heartbeatTask = nil
        try? await commit()
        if !memberID.isEmpty { _ = try? await toCoordinator(.leaveGroup(group: group, memberID: memberID)) }
        memberID = ""
        positions = [:]
    }

    public func describe() async throws -> GroupDescription {
        guard case .groupDescription(let d) = try await toCoordinator(.describeGroup(group: group)) else {
            throw LogClientError("describe of \(group) failed")
        }
        return d
    }
}

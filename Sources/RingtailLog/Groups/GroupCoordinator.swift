// One consumer group's coordinator: members join (and rejoin on a
// rebalance), the coordinator deals partitions with the group's assignor,
// members heartbeat and learn of rebalances from the answer, members that
// stop heartbeating are removed, and offsets are committed only by the
// member that owns the partition in the current generation, never
// backwards. With cooperative-sticky, a partition that moves is first
// revoked from its owner (one generation) and only then given to its new
// owner (the next), so no partition is ever owned twice and members keep
// the rest of their partitions throughout. A pure state machine: inputs with
// `now`, answers out. docs/internals/consumer-groups.md.
import RingtailCore

/// Why a group request was refused.
public enum GroupErrorCode: UInt8, Sendable, Equatable, CustomStringConvertible {
    case none = 0
    /// A rebalance is under way: join again.
    case rebalanceInProgress = 1
    /// The member is not (or no longer) in the group: join with no member id.
    case unknownMember = 2
    /// The request names an old generation: join again.
    case illegalGeneration = 3
    /// This node does not coordinate the group: find the coordinator again.
    case notCoordinator = 4
    /// The member does not own the partition it tried to commit.
    case notOwner = 5
    /// Members disagree on the assignor, or asked for an unknown one.
    case inconsistentAssignor = 6
    case invalidRequest = 7

    public var description: String {
        switch self {
        case .none: "none"
        case .rebalanceInProgress: "rebalance in progress"
        case .unknownMember: "unknown member"
        case .illegalGeneration: "illegal generation"
        case .notCoordinator: "not the coordinator"
        case .notOwner: "partition not owned by this member"
        case .inconsistentAssignor: "inconsistent assignor"
        case .invalidRequest: "invalid request"
        }
    }
}

/// What a member learns when its join completes.
public struct JoinResult: Equatable, Sendable {
    public var error: GroupErrorCode
    public var memberID: String
    public var generation: Int32
    public var assignment: [TopicPartitionID]
    public init(error: GroupErrorCode, memberID: String, generation: Int32, assignment: [TopicPartitionID]) {
        self.error = error
        self.memberID = memberID
        self.generation = generation
        self.assignment = assignment
    }
}

public enum GroupEffect: Equatable, Sendable {
    /// Answer a join that waited for the rebalance to complete.
    case joined(request: UInt64, JoinResult)
}

public struct GroupCoordinator: Sendable {
    public enum State: String, Sendable { case empty, preparingRebalance, completingRebalance, stable }

    struct Member: Sendable {
        var topics: Set<String>
        var sessionTimeout: Duration
        var lastHeartbeat: Instant
        var assignment: Set<TopicPartitionID> = []
        /// The join waiting for this rebalance, if the member rejoined.
        var pendingJoin: UInt64?
    }

    public let groupID: String
    public private(set) var state: State = .empty
    public private(set) var generation: Int32 = 0
    public private(set) var assignor: Assignor?
    var members: [String: Member] = [:]
    var rebalanceDeadline: Instant?
    public private(set) var committed: [TopicPartitionID: Int64] = [:]
    var nextMember = 1
    /// How long a rebalance waits for live members to rejoin (Kafka's
    /// `max.poll.interval.ms` plays this part): a member busy with its last
    /// poll rejoins when done; a dead one is removed sooner, by its session timeout.
    public var rebalanceTimeout: Duration = .seconds(30)

    public init(groupID: String) { self.groupID = groupID }

    public var memberIDs: [String] { members.keys.sorted() }
    public func assignment(of member: String) -> [TopicPartitionID] { (members[member]?.assignment ?? []).sorted() }
    public func subscription(of member: String) -> Set<String> { members[member]?.topics ?? [] }

    /// A member joins (or rejoins). The answer comes as `.joined` once the
    /// rebalance completes: when every member has rejoined, or the rebalance timeout passes.
    public mutating func join(request: UInt64, memberID: String?, topics: Set<String>, sessionTimeout: Duration,
                              assignor requested: Assignor, now: Instant, partitions: [String: Int]) -> [GroupEffect] {
        if let assignor, assignor != requested, !members.isEmpty {
            return [.joined(request: request, JoinResult(error: .inconsistentAssignor, memberID: memberID ?? "", generation: generation, assignment: []))]
        }
        guard !topics.isEmpty, sessionTimeout > .zero else {
            return [.joined(request: request, JoinResult(error: .invalidRequest, memberID: memberID ?? "", generation: generation, assignment: []))]
        }
        var id = memberID ?? ""
        var isNew = false
        if id.isEmpty || members[id] == nil {
            if !id.isEmpty {
                return [.joined(request: request, JoinResult(error: .unknownMember, memberID: id, generation: generation, assignment: []))]
            }
            id = "\(groupID)-member-\(nextMember)"
            nextMember += 1
            isNew = true
            members[id] = Member(topics: topics, sessionTimeout: sessionTimeout, lastHeartbeat: now)
        }
        assignor = requested
        var member = members[id]!
        if let previous = member.pendingJoin {
            // A retried join replaces the one waiting.
            member.pendingJoin = nil
            members[id] = member
            var out: [GroupEffect] = [.joined(request: previous, JoinResult(error: .rebalanceInProgress, memberID: id, generation: generation, assignment: []))]
            out += join(request: request, memberID: id, topics: topics, sessionTimeout: sessionTimeout, assignor: requested, now: now, partitions: partitions)
            return out
        }
        let changed = member.topics != topics
        member.topics = topics
        member.sessionTimeout = sessionTimeout
        member.lastHeartbeat = now
        member.pendingJoin = request
        members[id] = member
        if state == .stable && !changed && !isNew {
            // A stable member rejoining with nothing new: answer at once.
            members[id]!.pendingJoin = nil
            return [.joined(request: request, JoinResult(error: .none, memberID: id, generation: generation, assignment: assignment(of: id)))]
        }
        if state != .preparingRebalance { beginRebalance(now: now) }
        return maybeCompleteRebalance(now: now, partitions: partitions)
    }

    mutating func beginRebalance(now: Instant) {
        state = .preparingRebalance
        rebalanceDeadline = now + rebalanceTimeout
    }

    /// The assignment a member got in its generation (Kafka's SyncGroup).
    public func sync(memberID: String, generation asked: Int32) -> (GroupErrorCode, [TopicPartitionID]) {
        guard members[memberID] != nil else { return (.unknownMember, []) }
        guard asked == generation else { return (.illegalGeneration, []) }
        if state == .preparingRebalance { return (.rebalanceInProgress, assignment(of: memberID)) }
        return (.none, assignment(of: memberID))
    }

    /// A member is alive; the answer says whether it must rejoin.
    public mutating func heartbeat(memberID: String, generation asked: Int32, now: Instant) -> GroupErrorCode {
        guard members[memberID] != nil else { return .unknownMember }
        members[memberID]!.lastHeartbeat = now
        if state == .preparingRebalance { return .rebalanceInProgress }
        return asked == generation ? .none : .illegalGeneration
    }

    public mutating func leave(memberID: String, now: Instant, partitions: [String: Int]) -> [GroupEffect] {
        guard members.removeValue(forKey: memberID) != nil else { return [] }
        return membershipChanged(now: now, partitions: partitions)
    }

    /// Removes members whose session expired and completes a rebalance
    /// whose timeout passed.
    public mutating func tick(now: Instant, partitions: [String: Int]) -> [GroupEffect] {
        let expired = members.filter { now - $0.value.lastHeartbeat > $0.value.sessionTimeout }.map(\.key)
        var out: [GroupEffect] = []
        for id in expired.sorted() {
            if let request = members[id]?.pendingJoin {
                out.append(.joined(request: request, JoinResult(error: .unknownMember, memberID: id, generation: generation, assignment: [])))
            }
            members[id] = nil
        }
        if !expired.isEmpty { out += membershipChanged(now: now, partitions: partitions) }
        if state == .preparingRebalance, let deadline = rebalanceDeadline, now >= deadline {
            // Members that did not rejoin in time are out.
            for (id, m) in members where m.pendingJoin == nil { members[id] = nil }
            out += completeRebalance(now: now, partitions: partitions)
        }
        return out
    }

    mutating func membershipChanged(now: Instant, partitions: [String: Int]) -> [GroupEffect] {
        if members.isEmpty {
            state = .empty
            assignor = nil
            generation += 1
            return []
        }
        if state != .preparingRebalance { beginRebalance(now: now) }
        return maybeCompleteRebalance(now: now, partitions: partitions)
    }

    mutating func maybeCompleteRebalance(now: Instant, partitions: [String: Int]) -> [GroupEffect] {
        guard state == .preparingRebalance, members.values.allSatisfy({ $0.pendingJoin != nil }) else { return [] }
        return completeRebalance(now: now, partitions: partitions)
    }

    /// Computes the next generation's assignment and answers every waiting join.
    mutating func completeRebalance(now: Instant, partitions: [String: Int]) -> [GroupEffect] {
        guard !members.isEmpty, let assignor else {
            state = .empty
            return []
        }
        generation += 1
        let subscriptions = members.mapValues(\.topics)
        let owned = members.mapValues(\.assignment)
        let relevant = partitions.filter { topic, _ in subscriptions.values.contains { $0.contains(topic) } }
        var target = assignor.assign(members: subscriptions, partitions: relevant, owned: owned)
        // Partitions revoked this generation: a follow-up rebalance gives them out.
        var withheld: Set<TopicPartitionID> = []
        if assignor == .cooperativeSticky {
            // A partition moving to a new owner is revoked first: nobody owns it
            // this generation; the follow-up rebalance hands it over.
            let ownedNow = Dictionary(owned.flatMap { m, tps in tps.map { ($0, m) } }, uniquingKeysWith: { a, _ in a })
            for (member, tps) in target {
                for tp in tps where ownedNow[tp] != nil && ownedNow[tp] != member && members[ownedNow[tp]!] != nil {
                    target[member]!.remove(tp)
                    withheld.insert(tp)
                }
            }
        }
        var out: [GroupEffect] = []
        for id in members.keys.sorted() {
            members[id]!.assignment = target[id] ?? []
            if let request = members[id]!.pendingJoin {
                out.append(.joined(request: request, JoinResult(error: .none, memberID: id, generation: generation, assignment: assignment(of: id))))
                members[id]!.pendingJoin = nil
            }
        }
        state = .stable
        rebalanceDeadline = nil
        if !withheld.isEmpty {
            // Members learn of the follow-up at their next heartbeat.
            beginRebalance(now: now)
        }
        return out
    }

    /// Whether `member` of `generation` may commit these partitions.
    public func checkCommit(memberID: String, generation asked: Int32, partitions: [TopicPartitionID]) -> GroupErrorCode {
        guard let member = members[memberID] else { return .unknownMember }
        guard asked == generation else { return .illegalGeneration }
        guard partitions.allSatisfy({ member.assignment.contains($0) }) else { return .notOwner }
        return .none
    }

    /// Records committed offsets; an offset below the one committed is ignored.
    public mutating func recordCommitted(_ offsets: [TopicPartitionID: Int64]) {
        for (tp, offset) in offsets where offset > (committed[tp] ?? -1) { committed[tp] = offset }
    }
}

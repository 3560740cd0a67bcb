// One member of a Raft group (Ongaro and Ousterhout, "In Search of an
// Understandable Consensus Algorithm"), as a pure state machine in the
// style of etcd's raft: inputs in, effects out, no I/O, time as ticks and
// randomness from a seed. With pre-vote and check-quorum, so a node cut off
// and rejoining cannot depose a healthy leader, and a leader that loses its
// majority steps down. Static membership: voters and learners are fixed at
// start. See docs/internals/log-replication.md.
import RingtailCore

/// A Raft group member.
///
/// Value type, not thread-safe; the driver serializes `handle` calls.
/// Invariants: `commitIndex ≤ lastIndex`; `appliedIndex ≤ commitIndex`;
/// committed entries are never truncated; at most one vote per term.
public struct RaftNode: Sendable {
    public let id: NodeID
    public let voters: [NodeID]
    public let learners: [NodeID]
    public let config: RaftConfig
    public internal(set) var role: RaftRole
    public internal(set) var term: UInt64
    public internal(set) var votedFor: NodeID?
    public internal(set) var leader: NodeID?
    public internal(set) var commitIndex: UInt64
    public internal(set) var appliedIndex: UInt64 = 0
    /// Entries from index 1; entry i is `entries[i - 1]`.
    var entries: [RaftEntry]
    var entropy: SeededEntropy
    var electionElapsed = 0
    var heartbeatElapsed = 0
    var randomizedElectionTicks = 0
    /// Votes received in the current (pre-)election.
    var votes: [NodeID: Bool] = [:]
    /// Leader only: per peer, the next index to send and the highest known match.
    var progress: [NodeID: Progress] = [:]

    struct Progress: Sendable {
        var next: UInt64
        var match: UInt64 = 0
        /// An append is outstanding; another waits for its answer or a heartbeat.
        var awaiting = false
        /// Heard from since the last check-quorum round.
        var recentlyActive = false
    }

    public var lastIndex: UInt64 { UInt64(entries.count) }
    public var lastTerm: UInt64 { entries.last?.term ?? 0 }
    public var isVoter: Bool { voters.contains(id) }
    var quorum: Int { voters.count / 2 + 1 }
    /// Every member but this one.
    var peers: [NodeID] { (voters + learners).filter { $0 != id } }

    public init(id: NodeID, voters: [NodeID], learners: [NodeID] = [], config: RaftConfig = RaftConfig(),
                restored: RaftRestoredState = RaftRestoredState(), seed: UInt64) {
        precondition(!voters.isEmpty, "a Raft group needs a voter")
        precondition(Set(voters).isDisjoint(with: learners), "a member is a voter or a learner, not both")
        precondition(voters.contains(id) || learners.contains(id), "\(id) is not a member")
        precondition(restored.entries.enumerated().allSatisfy { $0.element.index == UInt64($0.offset + 1) })
        self.id = id
        self.voters = voters.sorted()
        self.learners = learners.sorted()
        self.config = config
        self.term = restored.term
        self.votedFor = restored.votedFor
        self.entries = restored.entries
        self.commitIndex = min(restored.commitIndex, UInt64(restored.entries.count))
        self.entropy = SeededEntropy(seed: seed)
        self.role = voters.contains(id) ? .follower : .learner
        resetElectionTimer()
    }

    /// Committed entries after `index`, at most `limit` (for members outside
    /// the group that follow the committed log, such as brokers that are not voters).
    public func committedEntries(after index: UInt64, limit: Int) -> [RaftEntry] {
        guard index < commitIndex else { return [] }
        return slice(from: index + 1, through: commitIndex, limit: limit)
    }

    /// The term of entry `index` (0 for index 0 or past the end).
    func term(at index: UInt64) -> UInt64 {
        index == 0 || index > lastIndex ? 0 : entries[Int(index - 1)].term
    }

    /// Entries `from...through`, at most `limit` of them.
    func slice(from: UInt64, through: UInt64, limit: Int) -> [RaftEntry] {
        guard from <= through, from >= 1, through <= lastIndex else { return [] }
        let upper = min(through, from + UInt64(limit) - 1)
        return Array(entries[Int(from - 1)..<Int(upper)])
    }

    /// Feeds one input; returns the effects to perform, in order.
    public mutating func handle(_ input: RaftInput) -> [RaftEffect] {
        var out: [RaftEffect] = []
        switch input {
        case .tick: tick(&out)
        case .receive(let from, let message): receive(from, message, &out)
        case .propose(let data): propose(data, &out)
        }
        applyCommitted(&out)
        return out
    }

    mutating func resetElectionTimer() {
        electionElapsed = 0
        randomizedElectionTicks = config.electionTicks + entropy.next(below: config.electionTicks)
    }

    private mutating func tick(_ out: inout [RaftEffect]) {
        if role == .leader {
            heartbeatElapsed += 1
            electionElapsed += 1
            if electionElapsed >= config.electionTicks {
                electionElapsed = 0
                checkQuorum(&out)
                guard role == .leader else { return }
            }
            if heartbeatElapsed >= config.heartbeatTicks {
                heartbeatElapsed = 0
                for peer in peers { sendAppend(to: peer, force: true, &out) }
            }
            return
        }
        electionElapsed += 1
        if isVoter && electionElapsed >= randomizedElectionTicks {
            campaign(preVote: true, &out)
        }
    }

    /// A leader that has not heard from a majority in an election timeout
    /// steps down: it may be on the minority side of a network partition.
    private mutating func checkQuorum(_ out: inout [RaftEffect]) {
        var active = isVoter ? 1 : 0
        for voter in voters where voter != id && progress[voter]?.recentlyActive == true { active += 1 }
        for peer in progress.keys { progress[peer]?.recentlyActive = false }
        if active < quorum {
            becomeFollower(term: term, leader: nil, &out)
        }
    }

    private mutating func propose(_ data: [UInt8], _ out: inout [RaftEffect]) {
        guard role == .leader, data.count <= config.proposalBytesMax else {
            out.append(.notLeader(leader: role == .leader ? id : leader))
            return
        }
        let entry = RaftEntry(term: term, index: lastIndex + 1, kind: .command, data: data)
        appendAsLeader([entry], &out)
        out.append(.proposed(index: entry.index, term: term))
    }

    /// Emits `.apply` for entries committed but not yet handed out.
    private mutating func applyCommitted(_ out: inout [RaftEffect]) {
        guard appliedIndex < commitIndex else { return }
        out.append(.apply(Array(entries[Int(appliedIndex)..<Int(commitIndex)])))
        appliedIndex = commitIndex
    }
}

// The values the metadata Raft group exchanges with its driver: log entries,
// messages between members, inputs and effects. Pure data; the algorithm is
// in RaftNode*.swift and the contract in docs/internals/log-replication.md.
import RingtailCore

/// One entry of the replicated metadata log.
public struct RaftEntry: Equatable, Hashable, Sendable {
    public enum Kind: UInt8, Sendable {
        /// Appended by every new leader to commit entries of earlier terms.
        case noop = 0
        /// A command for the state machine.
        case command = 1
    }

    public var term: UInt64
    public var index: UInt64
    public var kind: Kind
    public var data: [UInt8]

    public init(term: UInt64, index: UInt64, kind: Kind = .command, data: [UInt8] = []) {
        self.term = term
        self.index = index
        self.kind = kind
        self.data = data
    }
}

/// A message between members of one Raft group. Every message carries the
/// sender's term.
public enum RaftMessage: Equatable, Sendable {
    /// A candidate asks for a vote. With `preVote`, it only asks whether it
    /// could win at `term` (its term + 1) without disturbing anyone's term.
    case requestVote(term: UInt64, lastLogIndex: UInt64, lastLogTerm: UInt64, preVote: Bool)
    case voteResponse(term: UInt64, granted: Bool, preVote: Bool)
    /// Entries after (`prevLogIndex`, `prevLogTerm`); empty as a heartbeat.
    case appendEntries(term: UInt64, prevLogIndex: UInt64, prevLogTerm: UInt64, entries: [RaftEntry], leaderCommit: UInt64)
    /// On success `index` is the follower's last matching index; on a
    /// rejection it is a hint: the last index worth trying next.
    case appendResponse(term: UInt64, success: Bool, index: UInt64)

    public var term: UInt64 {
        switch self {
        case .requestVote(let t, _, _, _), .voteResponse(let t, _, _), .appendEntries(let t, _, _, _, _), .appendResponse(let t, _, _): t
        }
    }
}

/// What the driver feeds a Raft node.
public enum RaftInput: Equatable, Sendable {
    /// One tick of logical time (the driver's tick interval, 100 ms in real nodes).
    case tick
    case receive(from: NodeID, RaftMessage)
    /// A command for the log; answered by `.proposed` or `.notLeader`.
    case propose([UInt8])
}

/// What a Raft node asks its driver to do. **Perform them in order**: every
/// persist effect comes before the sends and applies that depend on it, as
/// etcd's raft requires of its `Ready`.
public enum RaftEffect: Equatable, Sendable {
    /// Durably record the term, vote and commit index.
    case persistState(term: UInt64, votedFor: NodeID?, commitIndex: UInt64)
    /// Durably drop every entry at or after `from`, then append `entries`
    /// (which start at `from`; may be empty for a pure truncation).
    case persistEntries(from: UInt64, entries: [RaftEntry])
    case send(to: NodeID, RaftMessage)
    /// Committed entries, in order, each exactly once per process lifetime.
    case apply([RaftEntry])
    /// The known leader changed (nil while an election runs).
    case leaderChanged(leader: NodeID?, term: UInt64)
    /// A proposal was appended at `index` of `term`; it is committed when an
    /// `.apply` carries that index with that term.
    case proposed(index: UInt64, term: UInt64)
    /// This node cannot take proposals; `leader` is where to send them, if known.
    case notLeader(leader: NodeID?)
}

/// Timing and size settings, in ticks and entries.
public struct RaftConfig: Sendable, Equatable {
    /// Ticks without hearing from a leader before an election starts; the
    /// actual timeout is randomized in [electionTicks, 2 × electionTicks).
    public var electionTicks = 10
    /// Ticks between a leader's heartbeats.
    public var heartbeatTicks = 1
    /// Entries in one append message.
    public var entriesPerMessageMax = 256
    /// Bytes a proposal may carry.
    public var proposalBytesMax = 1 << 20

    public init() {}
}

/// What a restarting node read back from its storage.
public struct RaftRestoredState: Equatable, Sendable {
    public var term: UInt64
    public var votedFor: NodeID?
    public var commitIndex: UInt64
    /// Every entry from index 1, in order.
    public var entries: [RaftEntry]

    public init(term: UInt64 = 0, votedFor: NodeID? = nil, commitIndex: UInt64 = 0, entries: [RaftEntry] = []) {
        self.term = term
        self.votedFor = votedFor
        self.commitIndex = commitIndex
        self.entries = entries
    }
}

public enum RaftRole: String, Sendable {
    case follower, preCandidate, candidate, leader, learner
}

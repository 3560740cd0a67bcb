// A deterministic network for Raft groups in tests: messages are queued and
// delivered in a seeded order, may be dropped or cut by a partition, and
// every node keeps a "disk" built only from its persist effects, so a crash
// restarts it from exactly what it persisted.
import RingtailCore
@testable import RingtailRaft

struct RaftDisk {
    var state = RaftRestoredState()
}

struct RaftHarness {
    var nodes: [NodeID: RaftNode] = [:]
    var disks: [NodeID: RaftDisk] = [:]
    var down: Set<NodeID> = []
    /// Pairs that cannot talk (both directions).
    var cut: Set<[NodeID]> = []
    var queue: [(from: NodeID, to: NodeID, message: RaftMessage)] = []
    var entropy: SeededEntropy
    var dropRate = 0.0
    let voters: [NodeID]
    let learners: [NodeID]
    let config: RaftConfig
    /// Every (term, leader) ever seen, to check election safety.
    var leadersByTerm: [UInt64: NodeID] = [:]
    var violations: [String] = []
    /// Applied commands per node, in order (this process lifetime appends to it; a restart re-applies from 1).
    var applied: [NodeID: [RaftEntry]] = [:]
    var restarts = 0

    init(voters: Int, learners: Int = 0, seed: UInt64, config: RaftConfig = RaftConfig()) {
        self.voters = (1...voters).map { NodeID("v\($0)") }
        self.learners = learners == 0 ? [] : (1...learners).map { NodeID("l\($0)") }
        self.config = config
        entropy = SeededEntropy(seed: seed)
        for id in self.voters + self.learners {
            disks[id] = RaftDisk()
            start(id)
        }
    }

    mutating func start(_ id: NodeID) {
        nodes[id] = RaftNode(id: id, voters: voters, learners: learners, config: config, restored: disks[id]!.state,
                             seed: entropy.next())
        applied[id] = []
        down.remove(id)
    }

    mutating func crash(_ id: NodeID) {
        down.insert(id)
        queue.removeAll { $0.to == id || $0.from == id }
    }

    mutating func restart(_ id: NodeID) {
        restarts += 1
        start(id)
    }

    mutating func partition(_ side: [NodeID]) {
        let all = voters + learners
        for a in side { for b in all where !side.contains(b) { cut.insert([a, b].sorted()) } }
    }

    mutating func heal() { cut = [] }

    var leader: NodeID? {
        let leaders = nodes.filter { !down.contains($0.key) && $0.value.role == .leader }
        return leaders.max { $0.value.term < $1.value.term }?.key
    }

    mutating func perform(_ id: NodeID, _ effects: [RaftEffect]) {
        for effect in effects {
            switch effect {
            case .persistState(let term, let vote, let commit):
                disks[id]!.state.term = term
                disks[id]!.state.votedFor = vote
                disks[id]!.state.commitIndex = commit
            case .persistEntries(let from, let entries):
                var log = disks[id]!.state.entries
                if from <= commitOf(id) { violations.append("\(id) truncated committed entry \(from)") }
                log.removeLast(log.count - Int(from - 1))
                log += entries
                disks[id]!.state.entries = log
            case .send(let to, let message):
                queue.append((id, to, message))
            case .apply(let entries):
                applied[id]! += entries
            case .leaderChanged(let leader, let term):
                if leader == id {
                    if let other = leadersByTerm[term], other != id { violations.append("two leaders in term \(term): \(other), \(id)") }
                    leadersByTerm[term] = id
                }
            case .proposed, .notLeader:
                break
            }
        }
    }

    func commitOf(_ id: NodeID) -> UInt64 { min(disks[id]!.state.commitIndex, nodes[id]!.commitIndex) }

    mutating func input(_ id: NodeID, _ input: RaftInput) -> [RaftEffect] {
        guard !down.contains(id) else { return [] }
        let effects = nodes[id]!.handle(input)
        perform(id, effects)
        return effects
    }

    /// Delivers queued messages in a seeded order, then ticks everyone once.
    mutating func step(messagesPerTick: Int = 64) {
        var delivered = 0
        while !queue.isEmpty && delivered < messagesPerTick {
            let i = entropy.next(below: min(queue.count, 4))   // mild reordering
            let m = queue.remove(at: i)
            delivered += 1
            if down.contains(m.to) || cut.contains([m.from, m.to].sorted()) { continue }
            if dropRate > 0 && entropy.chance(dropRate) { continue }
            _ = input(m.to, .receive(from: m.from, m.message))
        }
        for id in (voters + learners) where !down.contains(id) { _ = input(id, .tick) }
    }

    mutating func run(ticks: Int) { for _ in 0..<ticks { step() } }

    /// Proposes at the current leader, if any; returns whether it was taken.
    mutating func propose(_ text: String) -> Bool {
        guard let leader else { return false }
        return input(leader, .propose(Array(text.utf8))).contains { if case .proposed = $0 { true } else { false } }
    }

    /// Applied commands of a node, as strings.
    func commands(_ id: NodeID) -> [String] {
        applied[id]!.filter { $0.kind == .command }.map { String(decoding: $0.data, as: UTF8.self) }
    }

    /// Every node's applied sequence must be a prefix of the longest one.
    mutating func checkAppliedPrefixes() {
        let sequences = applied.values.map { $0.map { [$0.term, $0.index] } }
        guard let longest = sequences.max(by: { $0.count < $1.count }) else { return }
        for (id, seq) in applied where Array(longest.prefix(seq.count)) != seq.map({ [$0.term, $0.index] }) {
            violations.append("\(id) applied a sequence that diverges from the longest")
        }
    }
}

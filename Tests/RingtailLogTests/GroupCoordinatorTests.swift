// Consumer groups: the assignors deal every partition exactly once and
// evenly; the coordinator rebalances when members join, leave or stop
// heartbeating; cooperative-sticky revokes a moving partition before handing
// it over, so no partition ever has two owners; commits come only from the
// owner in the current generation and never go backwards.
import RingtailCore
import Testing
@testable import RingtailLog

@Suite struct GroupCoordinatorTests {
    static func tps(_ topic: String, _ ps: [Int]) -> Set<TopicPartitionID> { Set(ps.map { TopicPartitionID(topic: topic, partition: $0) }) }

    @Test func assignorsDealEveryPartitionOnceAndEvenly() {
        let members: [String: Set<String>] = ["a": ["t", "u"], "b": ["t", "u"], "c": ["t", "u"]]
        let topics = ["t": 7, "u": 5]
        for assignor in Assignor.allCases {
            let result = assignor.assign(members: members, partitions: topics)
            let all = result.values.flatMap { $0 }
            #expect(all.count == 12 && Set(all).count == 12, "\(assignor)")
            let sizes = result.values.map(\.count)
            if assignor != .range { #expect(sizes.max()! - sizes.min()! <= 1, "\(assignor): \(sizes)") }
        }
        // Range: contiguous runs per topic, extras to the first members.
        let range = Assignor.range.assign(members: ["a": ["t"], "b": ["t"]], partitions: ["t": 5])
        #expect(range["a"] == Self.tps("t", [0, 1, 2]) && range["b"] == Self.tps("t", [3, 4]))
        // Only subscribers get a topic's partitions.
        let mixed = Assignor.roundRobin.assign(members: ["a": ["t"], "b": ["u"]], partitions: ["t": 2, "u": 2])
        #expect(mixed["a"] == Self.tps("t", [0, 1]) && mixed["b"] == Self.tps("u", [0, 1]))
    }

    @Test func stickyKeepsWhatMembersOwn() {
        let before = Assignor.cooperativeSticky.assign(members: ["a": ["t"], "b": ["t"]], partitions: ["t": 6])
        let after = Assignor.cooperativeSticky.assign(members: ["a": ["t"], "b": ["t"], "c": ["t"]], partitions: ["t": 6], owned: before)
        #expect(after.values.allSatisfy { $0.count == 2 })
        let moved = ["a", "b"].map { before[$0]!.subtracting(after[$0]!).count }.reduce(0, +)
        #expect(moved == 2, "only what the new member needs moves")
    }

    func join(_ g: inout GroupCoordinator, _ request: UInt64, _ member: String?, now: Instant,
              assignor: Assignor = .range, topics: Set<String> = ["t"]) -> [GroupEffect] {
        g.join(request: request, memberID: member, topics: topics, sessionTimeout: .seconds(10), assignor: assignor, now: now, partitions: ["t": 6])
    }

    static func result(_ effects: [GroupEffect], _ request: UInt64) -> JoinResult? {
        effects.compactMap { if case .joined(let r, let j) = $0, r == request { j } else { nil } }.first
    }

    @Test func joinsAndLeavesRebalance() {
        var g = GroupCoordinator(groupID: "g")
        var now = Instant.zero
        let first = try! #require(Self.result(join(&g, 1, nil, now: now), 1))
        #expect(first.error == .none && first.generation == 1 && first.assignment.count == 6)
        // A second member: the rebalance waits for the first to rejoin.
        #expect(Self.result(join(&g, 2, nil, now: now), 2) == nil)
        #expect(g.heartbeat(memberID: first.memberID, generation: 1, now: now) == .rebalanceInProgress)
        let rejoin = join(&g, 3, first.memberID, now: now)
        let a = try! #require(Self.result(rejoin, 3)), b = try! #require(Self.result(rejoin, 2))
        #expect(a.generation == 2 && b.generation == 2)
        #expect(Set(a.assignment).isDisjoint(with: b.assignment) && a.assignment.count + b.assignment.count == 6)
        #expect(g.sync(memberID: b.memberID, generation: 2).1 == b.assignment)
        // The second member stops heartbeating: removed after its session; the first rejoins and gets everything.
        now = now + .seconds(11)
        #expect(g.heartbeat(memberID: a.memberID, generation: 2, now: now) == .none)
        _ = g.tick(now: now, partitions: ["t": 6])
        #expect(g.memberIDs == [a.memberID])
        #expect(g.heartbeat(memberID: a.memberID, generation: 2, now: now) == .rebalanceInProgress)
        let alone = try! #require(Self.result(join(&g, 4, a.memberID, now: now), 4))
        #expect(alone.generation == 3 && alone.assignment.count == 6)
        #expect(g.heartbeat(memberID: b.memberID, generation: 2, now: now) == .unknownMember)
    }

    @Test func commitsComeFromOwnersAndNeverGoBackwards() {
        var g = GroupCoordinator(groupID: "g")
        let m = try! #require(Self.result(join(&g, 1, nil, now: .zero), 1))
        let tp = TopicPartitionID(topic: "t", partition: 0)
        #expect(g.checkCommit(memberID: m.memberID, generation: m.generation, partitions: [tp]) == .none)
        #expect(g.checkCommit(memberID: m.memberID, generation: m.generation - 1, partitions: [tp]) == .illegalGeneration)
        #expect(g.checkCommit(memberID: "zombie", generation: m.generation, partitions: [tp]) == .unknownMember)
        #expect(g.checkCommit(memberID: m.memberID, generation: m.generation, partitions: [TopicPartitionID(topic: "x", partition: 0)]) == .notOwner)
        g.recordCommitted([tp: 100])
        g.recordCommitted([tp: 50])
        #expect(g.committed[tp] == 100)
    }

    @Test(arguments: [Assignor.range, .roundRobin, .cooperativeSticky])
    func noPartitionEverHasTwoOwnersInOneGeneration(assignor: Assignor) {
        var g = GroupCoordinator(groupID: "g")
        var entropy = SeededEntropy(seed: 5)
        var now = Instant.zero
        var request: UInt64 = 0
        /// What each live member believes it owns, and in which generation.
        var members: [String: (generation: Int32, owned: Set<TopicPartitionID>)] = [:]
        var waiting: [UInt64: String?] = [:]
        func handle(_ effects: [GroupEffect]) {
            for case .joined(let r, let j) in effects {
                waiting[r] = nil
                if j.error == .none { members[j.memberID] = (j.generation, Set(j.assignment)) } else { members[j.memberID] = nil }
            }
        }
        for _ in 0..<400 {
            now = now + .milliseconds(Int64(entropy.next(below: 400)))
            switch entropy.next(below: 10) {
            case 0 where members.count < 5:
                request += 1
                waiting[request] = nil as String?
                handle(g.join(request: request, memberID: nil, topics: ["t"], sessionTimeout: .seconds(10), assignor: assignor, now: now, partitions: ["t": 6]))
            case 1:
                if let m = members.keys.sorted().first { members[m] = nil; handle(g.leave(memberID: m, now: now, partitions: ["t": 6])) }
            default:
                // Live members heartbeat and rejoin when told, reporting nothing new.
                for (id, state) in members.sorted(by: { $0.key < $1.key }) {
                    switch g.heartbeat(memberID: id, generation: state.generation, now: now) {
                    case .rebalanceInProgress, .illegalGeneration:
                        if assignor != .cooperativeSticky { members[id]?.owned = [] } // eager: revoke everything
                        request += 1
                        handle(g.join(request: request, memberID: id, topics: ["t"], sessionTimeout: .seconds(10), assignor: assignor, now: now, partitions: ["t": 6]))
                    case .unknownMember:
                        members[id] = nil
                    default:
                        break
                    }
                }
            }
            handle(g.tick(now: now, partitions: ["t": 6]))
            // The invariant: what members believe they own never overlaps.
            var seen: [TopicPartitionID: String] = [:]
            for (id, state) in members {
                for tp in state.owned {
                    #expect(seen[tp] == nil, "\(tp) owned by \(seen[tp] ?? "") and \(id)")
                    seen[tp] = id
                }
            }
        }
    }
}

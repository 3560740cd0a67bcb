// The Raft state machine on a seeded network: a leader is elected and
// commands commit; at most one leader per term; applied sequences never
// diverge through crashes, restarts, partitions and message loss; a cut-off
// leader steps down; a rejoining node does not disturb the group (pre-vote).
import RingtailCore
import Testing
@testable import RingtailRaft

@Suite struct RaftTests {
    @Test func electsALeaderAndCommitsOnEveryMember() {
        var h = RaftHarness(voters: 3, learners: 1, seed: 1)
        h.run(ticks: 40)
        let leader = try! #require(h.leader)
        #expect(h.voters.contains(leader))
        for i in 0..<20 {
            let taken = h.propose("cmd-\(i)")
            #expect(taken)
        }
        h.run(ticks: 10)
        for id in h.voters + h.learners {
            #expect(h.commands(id) == (0..<20).map { "cmd-\($0)" }, "\(id)")
        }
        #expect(h.violations.isEmpty, "\(h.violations)")
        // A non-leader refuses proposals and names the leader.
        let follower = h.voters.first { $0 != leader }!
        #expect(h.input(follower, .propose([1])) == [.notLeader(leader: leader)])
    }

    @Test func aSingleVoterLeadsAlone() {
        var h = RaftHarness(voters: 1, seed: 3)
        h.run(ticks: 25)
        #expect(h.leader == NodeID("v1"))
        let proposedX = h.propose("x")
        #expect(proposedX)
        h.run(ticks: 1)
        #expect(h.commands(NodeID("v1")) == ["x"])
    }

    @Test func aCutOffLeaderStepsDownAndTheMajorityGoesOn() {
        var h = RaftHarness(voters: 5, seed: 9)
        h.run(ticks: 40)
        let old = try! #require(h.leader)
        let proposedBefore = h.propose("before")
        #expect(proposedBefore)
        h.run(ticks: 5)
        h.partition([old])
        // Proposed on the minority side: never committed.
        _ = h.input(old, .propose(Array("lost".utf8)))
        h.run(ticks: 60)
        #expect(h.nodes[old]!.role != .leader, "check-quorum: a leader without a majority steps down")
        let new = try! #require(h.leader)
        #expect(new != old)
        let proposedAfter = h.propose("after")
        #expect(proposedAfter)
        h.run(ticks: 10)
        h.heal()
        h.run(ticks: 40)
        for id in h.voters {
            #expect(h.commands(id) == ["before", "after"], "\(id): the minority's entry was replaced")
        }
        #expect(h.violations.isEmpty, "\(h.violations)")
    }

    @Test func aRejoiningNodeDoesNotDisturbTheGroup() {
        var h = RaftHarness(voters: 3, seed: 21)
        h.run(ticks: 40)
        let leader = try! #require(h.leader)
        let loner = h.voters.first { $0 != leader }!
        let term = h.nodes[leader]!.term
        h.partition([loner])
        h.run(ticks: 200) // the loner's pre-votes fail: its term stays put
        #expect(h.nodes[loner]!.term == term)
        h.heal()
        h.run(ticks: 30)
        #expect(h.leader == leader && h.nodes[leader]!.term == term)
    }

    @Test(arguments: 0..<UInt64(environment("RINGTAIL_RAFT_SEEDS").flatMap { Int($0) } ?? 60))
    func safetyUnderCrashesPartitionsAndLoss(seed: UInt64) {
        var h = RaftHarness(voters: 5, learners: 1, seed: 1000 + seed)
        h.dropRate = 0.05
        var chaos = SeededEntropy(seed: seed)
        var proposed = 0
        let members = h.voters + h.learners
        for round in 0..<150 {
            switch chaos.next(below: 12) {
            case 0, 1:
                // Crash the leader most often: elections are where safety is at stake.
                let victim = chaos.next(below: 2) == 0 ? (h.leader ?? members[0]) : members[chaos.next(below: members.count)]
                if !h.down.contains(victim) && h.down.count < 2 { h.crash(victim) }
            case 2:
                if let back = h.down.sorted().first { h.restart(back) }
            case 3:
                h.heal()
                var side: [NodeID] = []
                for m in members where chaos.next(below: 3) == 0 { side.append(m) }
                if let leader = h.leader, chaos.next(below: 2) == 0 { side.append(leader) }
                h.partition(side)
            case 4:
                h.heal()
            default:
                for _ in 0..<chaos.next(below: 6) where h.propose("r\(round)-\(proposed)") { proposed += 1 }
            }
            h.run(ticks: 1 + chaos.next(below: 12))
        }
        // Calm: everyone back, network whole; the group must converge.
        h.heal()
        for id in h.down.sorted() { h.restart(id) }
        h.dropRate = 0
        h.run(ticks: 80)
        let proposedFinal = h.propose("final")
        #expect(proposedFinal, "seed \(seed): no leader after healing")
        h.run(ticks: 30)
        h.checkAppliedPrefixes()
        #expect(h.violations.isEmpty, "seed \(seed): \(h.violations)")
        let reference = h.commands(h.leader!)
        #expect(reference.last == "final")
        for id in members {
            #expect(h.commands(id) == reference, "seed \(seed): \(id) did not converge")
        }
    }
}

#if canImport(Glibc)
import Glibc
#endif

func environment(_ name: String) -> String? {
    guard let value = getenv(name) else { return nil }
    return String(cString: value)
}

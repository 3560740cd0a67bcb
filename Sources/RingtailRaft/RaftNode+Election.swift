// Elections: pre-vote, then a real vote; term changes; stepping down.
import RingtailCore

extension RaftNode {
    mutating func campaign(preVote: Bool, _ out: inout [RaftEffect]) {
        resetElectionTimer()
        votes = [id: true]
        if preVote {
            role = .preCandidate
        } else {
            role = .candidate
            term += 1
            votedFor = id
            leader = nil
            out.append(.persistState(term: term, votedFor: votedFor, commitIndex: commitIndex))
            out.append(.leaderChanged(leader: nil, term: term))
        }
        if votes.count >= quorum {
            // A single voter wins at once.
            if preVote { campaign(preVote: false, &out) } else { becomeLeader(&out) }
            return
        }
        let asked = preVote ? term + 1 : term
        for voter in voters where voter != id {
            out.append(.send(to: voter, .requestVote(term: asked, lastLogIndex: lastIndex, lastLogTerm: lastTerm, preVote: preVote)))
        }
    }

    mutating func becomeFollower(term newTerm: UInt64, leader newLeader: NodeID?, _ out: inout [RaftEffect]) {
        let changedTerm = newTerm != term
        if changedTerm {
            term = newTerm
            votedFor = nil
            out.append(.persistState(term: term, votedFor: nil, commitIndex: commitIndex))
        }
        role = isVoter ? .follower : .learner
        progress = [:]
        votes = [:]
        resetElectionTimer()
        if newLeader != leader || changedTerm {
            leader = newLeader
            out.append(.leaderChanged(leader: newLeader, term: term))
        }
    }

    mutating func becomeLeader(_ out: inout [RaftEffect]) {
        role = .leader
        leader = id
        votes = [:]
        heartbeatElapsed = 0
        electionElapsed = 0
        out.append(.leaderChanged(leader: id, term: term))
        progress = [:]
        for peer in peers { progress[peer] = Progress(next: lastIndex + 1, recentlyActive: true) }
        // A no-op of the new term lets entries of earlier terms commit (§5.4.2).
        appendAsLeader([RaftEntry(term: term, index: lastIndex + 1, kind: .noop)], &out)
    }

    /// Whether a candidate's log is at least as up to date as ours (§5.4.1).
    func isUpToDate(lastLogIndex: UInt64, lastLogTerm: UInt64) -> Bool {
        lastLogTerm > lastTerm || (lastLogTerm == lastTerm && lastLogIndex >= lastIndex)
    }

    mutating func handleVoteRequest(from: NodeID, term asked: UInt64, lastLogIndex: UInt64, lastLogTerm: UInt64, preVote: Bool,
                                    _ out: inout [RaftEffect]) {
        // Check-quorum lease: while we hear from a live leader, refuse to help
        // anyone replace it (a rejoining node cannot disrupt the group).
        let leaseHeld = leader != nil && electionElapsed < config.electionTicks
        let upToDate = isUpToDate(lastLogIndex: lastLogIndex, lastLogTerm: lastLogTerm)
        if preVote {
            let granted = asked > term && upToDate && !leaseHeld && isVoter
            out.append(.send(to: from, .voteResponse(term: granted ? asked : term, granted: granted, preVote: true)))
            return
        }
        if asked > term {
            if leaseHeld { return }
            becomeFollower(term: asked, leader: nil, &out)
        }
        let granted = asked == term && isVoter && (votedFor == nil || votedFor == from) && upToDate
        if granted {
            votedFor = from
            resetElectionTimer()
            out.append(.persistState(term: term, votedFor: from, commitIndex: commitIndex))
        }
        out.append(.send(to: from, .voteResponse(term: term, granted: granted, preVote: false)))
    }

    mutating func handleVoteResponse(from: NodeID, term answered: UInt64, granted: Bool, preVote: Bool, _ out: inout [RaftEffect]) {
        guard voters.contains(from) else { return }
        if preVote {
            guard role == .preCandidate, answered == term + 1 || !granted else { return }
        } else {
            guard role == .candidate, answered == term else { return }
        }
        votes[from] = granted
        let yes = votes.values.filter { $0 }.count
        let no = votes.count - yes
        if yes >= quorum {
            if preVote { campaign(preVote: false, &out) } else { becomeLeader(&out) }
        } else if no >= quorum || voters.count - no < quorum {
            becomeFollower(term: term, leader: nil, &out)
        }
    }
}

// Log replication: the leader's appends and commit rule, the followers'
// consistency check and truncation, and the term rules every message obeys.
import RingtailCore

extension RaftNode {
    mutating func receive(_ from: NodeID, _ message: RaftMessage, _ out: inout [RaftEffect]) {
        guard from != id, voters.contains(from) || learners.contains(from) else { return }
        let messageTerm = message.term
        if messageTerm > term {
            switch message {
            case .requestVote(_, _, _, true):
                break // a pre-vote never changes our term
            case .voteResponse(_, true, true):
                break // a granted pre-vote carries the term the candidate will take
            case .requestVote:
                break // handled with the lease check in handleVoteRequest
            case .appendEntries:
                becomeFollower(term: messageTerm, leader: from, &out)
            default:
                becomeFollower(term: messageTerm, leader: nil, &out)
            }
        } else if messageTerm < term {
            // Tell a stale leader or candidate about the newer term.
            switch message {
            case .appendEntries:
                out.append(.send(to: from, .appendResponse(term: term, success: false, index: lastIndex)))
            case .requestVote(_, _, _, let preVote):
                out.append(.send(to: from, .voteResponse(term: term, granted: false, preVote: preVote)))
            default:
                break
            }
            return
        }
        switch message {
        case .requestVote(let t, let lastLogIndex, let lastLogTerm, let preVote):
            handleVoteRequest(from: from, term: t, lastLogIndex: lastLogIndex, lastLogTerm: lastLogTerm, preVote: preVote, &out)
        case .voteResponse(let t, let granted, let preVote):
            handleVoteResponse(from: from, term: t, granted: granted, preVote: preVote, &out)
        case .appendEntries(_, let prevIndex, let prevTerm, let newEntries, let leaderCommit):
            handleAppend(from: from, prevIndex: prevIndex, prevTerm: prevTerm, newEntries, leaderCommit: leaderCommit, &out)
        case .appendResponse(_, let success, let index):
            handleAppendResponse(from: from, success: success, index: index, &out)
        }
    }

    // MARK: Leader

    mutating func appendAsLeader(_ new: [RaftEntry], _ out: inout [RaftEffect]) {
        assert(role == .leader)
        guard let first = new.first else { return }
        assert(first.index == lastIndex + 1)
        entries += new
        out.append(.persistEntries(from: first.index, entries: new))
        for peer in peers { sendAppend(to: peer, force: false, &out) }
        maybeCommit(&out)
    }

    /// Sends `peer` the entries it lacks (or a heartbeat). Without `force`,
    /// waits while an append to it is unanswered.
    mutating func sendAppend(to peer: NodeID, force: Bool, _ out: inout [RaftEffect]) {
        guard var p = progress[peer] else { return }
        if p.awaiting && !force { return }
        let prevIndex = p.next - 1
        let batch = slice(from: p.next, through: lastIndex, limit: config.entriesPerMessageMax)
        p.awaiting = !batch.isEmpty
        progress[peer] = p
        out.append(.send(to: peer, .appendEntries(term: term, prevLogIndex: prevIndex, prevLogTerm: term(at: prevIndex),
                                                  entries: batch, leaderCommit: commitIndex)))
    }

    mutating func handleAppendResponse(from: NodeID, success: Bool, index: UInt64, _ out: inout [RaftEffect]) {
        guard role == .leader, var p = progress[from] else { return }
        p.recentlyActive = true
        p.awaiting = false
        if success {
            guard index <= lastIndex else { return }
            p.match = max(p.match, index)
            p.next = max(p.next, p.match + 1)
            progress[from] = p
            maybeCommit(&out)
            if p.next <= lastIndex { sendAppend(to: from, force: false, &out) }
        } else {
            // Back off to the follower's hint, never below its known match.
            p.next = max(p.match + 1, min(p.next - 1, index + 1))
            progress[from] = p
            sendAppend(to: from, force: false, &out)
        }
    }

    /// Commits the highest index a majority of voters hold, if it is of the
    /// current term (§5.4.2: earlier terms commit only through it).
    mutating func maybeCommit(_ out: inout [RaftEffect]) {
        var matches = voters.map { $0 == id ? lastIndex : (progress[$0]?.match ?? 0) }
        matches.sort(by: >)
        let majorityIndex = matches[quorum - 1]
        guard majorityIndex > commitIndex, term(at: majorityIndex) == term else { return }
        commitIndex = majorityIndex
        out.append(.persistState(term: term, votedFor: votedFor, commitIndex: commitIndex))
        // Followers learn the new commit index with the next append or heartbeat.
    }

    // MARK: Follower

    mutating func handleAppend(from: NodeID, prevIndex: UInt64, prevTerm: UInt64, _ new: [RaftEntry], leaderCommit: UInt64,
                               _ out: inout [RaftEffect]) {
        if role != .follower && role != .learner || leader != from {
            becomeFollower(term: term, leader: from, &out)
        }
        resetElectionTimer()
        guard prevIndex <= lastIndex else {
            out.append(.send(to: from, .appendResponse(term: term, success: false, index: lastIndex)))
            return
        }
        guard term(at: prevIndex) == prevTerm else {
            // Hint: skip back past every entry of the conflicting term.
            let conflictTerm = term(at: prevIndex)
            var hint = prevIndex - 1
            while hint > commitIndex && term(at: hint) == conflictTerm { hint -= 1 }
            out.append(.send(to: from, .appendResponse(term: term, success: false, index: hint)))
            return
        }
        // Skip entries we already hold; truncate at the first conflict.
        var firstNew = new.count
        for (i, entry) in new.enumerated() {
            guard entry.index == prevIndex + UInt64(i) + 1 else {
                return // malformed: indexes must follow prevIndex; drop it
            }
            if entry.index > lastIndex || term(at: entry.index) != entry.term {
                firstNew = i
                break
            }
        }
        if firstNew < new.count {
            let start = new[firstNew].index
            precondition(start > commitIndex, "a leader may never overwrite a committed entry")
            entries.removeLast(Int(lastIndex - (start - 1)))
            entries += new[firstNew...]
            out.append(.persistEntries(from: start, entries: Array(new[firstNew...])))
        }
        let matched = prevIndex + UInt64(new.count)
        let newCommit = min(leaderCommit, matched)
        if newCommit > commitIndex {
            commitIndex = newCommit
            out.append(.persistState(term: term, votedFor: votedFor, commitIndex: commitIndex))
        }
        out.append(.send(to: from, .appendResponse(term: term, success: true, index: matched)))
    }
}

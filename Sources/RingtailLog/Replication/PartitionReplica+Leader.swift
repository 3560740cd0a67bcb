// The leader's side: appending producers' batches, serving fetches from
// followers and consumers (parking them while there is nothing new), the
// high watermark, and proposing in-sync set changes.
import RingtailCore

extension PartitionReplica {
    func produce(id: UInt64, batch: [UInt8], acks: Acks, deadline: Instant, now: Instant, _ out: inout [PartitionEffect]) {
        guard case .leader(let epoch) = role, let state else {
            out.append(.replyProduce(id: id, ProduceResponse(error: .notLeader)))
            return
        }
        if acks == .all && state.isr.count < minInsyncReplicas {
            out.append(.replyProduce(id: id, ProduceResponse(
                error: .notEnoughReplicas, message: "\(state.isr.count) in-sync replicas; \(topic) needs \(minInsyncReplicas) for acks=all")))
            return
        }
        let info: LogAppendInfo
        do {
            info = try log.appendAsLeader(batch, leaderEpoch: epoch)
            if flushEveryBatch && !info.duplicate { try log.sync() }
        } catch {
            out.append(.replyProduce(id: id, ProduceResponse(error: PartitionErrorCode(error), message: error.description)))
            return
        }
        let answer = ProduceResponse(error: .none, baseOffset: info.firstOffset, logStartOffset: log.logStartOffset)
        // A single-replica in-sync set commits at once.
        updateHighWatermark(now: now, &out)
        answerParkedFetches(now: now, expiredOnly: false, &out)
        switch acks {
        case .none, .leader:
            out.append(.replyProduce(id: id, answer))
        case .all:
            if highWatermark > info.lastOffset {
                out.append(.replyProduce(id: id, answer))
            } else if waitingProduces.count >= Self.waitingMax {
                out.append(.replyProduce(id: id, ProduceResponse(error: .requestTimedOut, baseOffset: info.firstOffset,
                                                                 message: "too many produces waiting for replication")))
            } else {
                waitingProduces.append(WaitingProduce(id: id, requiredOffset: info.lastOffset + 1, baseOffset: info.firstOffset, deadline: deadline))
            }
        }
    }

    func fetch(id: UInt64, _ request: FetchRequest, now: Instant, _ out: inout [PartitionEffect]) {
        if let answer = answer(request, now: now) {
            out.append(.replyFetch(id: id, answer))
            if request.replica != nil {
                updateHighWatermark(now: now, &out)
                maybeExpandIsr(request, now: now, &out)
            }
            return
        }
        if request.replica != nil {
            // Its log end is known now even though nothing is sent: it may commit records.
            updateHighWatermark(now: now, &out)
            maybeExpandIsr(request, now: now, &out)
        }
        if waitingFetches.count >= Self.waitingMax {
            out.append(.replyFetch(id: id, emptyAnswer(request)))
        } else {
            waitingFetches.append(WaitingFetch(id: id, request: request, deadline: now + request.maxWait))
        }
    }

    /// The answer to a fetch, or nil to park it (nothing new and it may wait).
    /// Records a follower's progress as a side effect.
    private func answer(_ request: FetchRequest, now: Instant) -> FetchResponse? {
        guard case .leader(let epoch) = role else { return FetchResponse(error: .notLeader) }
        if request.currentLeaderEpoch >= 0 && request.currentLeaderEpoch != epoch {
            return FetchResponse(error: request.currentLeaderEpoch > epoch ? .fencedLeaderEpoch : .unknownLeaderEpoch)
        }
        let follower = request.replica.map(NodeID.init)
        if let follower, request.lastFetchedEpoch >= 0 {
            let (knownEpoch, endOffset) = log.epochs.endOffset(forEpoch: request.lastFetchedEpoch, logEndOffset: log.logEndOffset)
                ?? (-1, log.logStartOffset)
            if knownEpoch != request.lastFetchedEpoch || request.fetchOffset > endOffset {
                var response = emptyAnswer(request)
                response.divergingEpoch = knownEpoch
                response.divergingEndOffset = endOffset
                return response
            }
        }
        guard request.fetchOffset >= log.logStartOffset && request.fetchOffset <= log.logEndOffset else {
            var response = emptyAnswer(request)
            response.error = .offsetOutOfRange
            return response
        }
        if let follower, var progress = followers[follower] {
            // Kafka's rule: caught up now if it asks for the log end; caught up
            // as of its previous fetch if it asks for what the end was then.
            if request.fetchOffset >= log.logEndOffset {
                progress.lastCaughtUp = now
            } else if request.fetchOffset >= progress.leaderEndAtLastFetch {
                progress.lastCaughtUp = progress.lastFetch
            }
            progress.logEndOffset = request.fetchOffset
            progress.lastFetch = now
            progress.leaderEndAtLastFetch = log.logEndOffset
            followers[follower] = progress
        }
        let upper = follower == nil ? highWatermark : log.logEndOffset
        let result: LogReadResult
        do { result = try log.read(from: request.fetchOffset, maxBytes: request.maxBytes, upperOffset: upper) } catch {
            var response = emptyAnswer(request)
            response.error = PartitionErrorCode(error)
            return response
        }
        if result.bytes.isEmpty && request.maxWait > .zero { return nil }
        var response = emptyAnswer(request)
        response.records = result.bytes
        return response
    }

    func emptyAnswer(_ request: FetchRequest) -> FetchResponse {
        FetchResponse(error: .none, highWatermark: highWatermark, logStartOffset: log.logStartOffset, logEndOffset: log.logEndOffset)
    }

    /// Re-examines parked fetches: answers those with data now (or all that
    /// expired when `expiredOnly`).
    func answerParkedFetches(now: Instant, expiredOnly: Bool, _ out: inout [PartitionEffect]) {
        guard !waitingFetches.isEmpty else { return }
        var kept: [WaitingFetch] = []
        for waiting in waitingFetches {
            if waiting.deadline <= now {
                out.append(.replyFetch(id: waiting.id, emptyAnswer(waiting.request)))
                continue
            }
            if !expiredOnly, let response = answer(waiting.request, now: now) {
                out.append(.replyFetch(id: waiting.id, response))
                continue
            }
            kept.append(waiting)
        }
        waitingFetches = kept
    }

    /// The in-sync set the high watermark waits for: the committed one plus
    /// any proposed additions (an expansion counts at once, a shrink only once committed).
    var maximalIsr: [NodeID] {
        guard let state else { return [node] }
        guard let pending = pendingIsr else { return state.isr }
        return state.isr + pending.isr.filter { !state.isr.contains($0) }
    }

    func updateHighWatermark(now: Instant, _ out: inout [PartitionEffect]) {
        guard isLeader else { return }
        var low = log.logEndOffset
        for member in maximalIsr where member != node {
            guard let end = followers[member]?.logEndOffset, end >= 0 else { return }
            low = min(low, end)
        }
        guard low > highWatermark else { return }
        highWatermark = low
        var kept: [WaitingProduce] = []
        for waiting in waitingProduces {
            if waiting.requiredOffset <= highWatermark {
                out.append(.replyProduce(id: waiting.id, ProduceResponse(error: .none, baseOffset: waiting.baseOffset, logStartOffset: log.logStartOffset)))
            } else {
                kept.append(waiting)
            }
        }
        waitingProduces = kept
        // Consumers parked at the old high watermark can now read.
        answerParkedFetches(now: now, expiredOnly: false, &out)
    }

    func maybeExpandIsr(_ request: FetchRequest, now: Instant, _ out: inout [PartitionEffect]) {
        guard let name = request.replica, case .leader(let epoch) = role, let state, pendingIsr == nil else { return }
        let follower = NodeID(name)
        guard !state.isr.contains(follower), let end = followers[follower]?.logEndOffset,
              end >= highWatermark, end >= leaderEpochStartOffset else { return }
        propose(state.replicas.filter { state.isr.contains($0) || $0 == follower }, epoch: epoch, state: state, now: now, &out)
    }

    func maybeShrinkIsr(now: Instant, _ out: inout [PartitionEffect]) {
        guard case .leader(let epoch) = role, let state else { return }
        if let pending = pendingIsr {
            guard now - pending.since >= config.proposalRetry else { return }
            pendingIsr = nil
        }
        let lagging = state.isr.filter { member in
            member != node && (followers[member].map { now - $0.lastCaughtUp > config.replicaLagMax } ?? true)
        }
        guard !lagging.isEmpty else { return }
        propose(state.isr.filter { !lagging.contains($0) }, epoch: epoch, state: state, now: now, &out)
    }

    private func propose(_ isr: [NodeID], epoch: Int32, state: PartitionState, now: Instant, _ out: inout [PartitionEffect]) {
        pendingIsr = (isr, state.partitionEpoch, now)
        out.append(.proposeIsr(isr: isr, leaderEpoch: epoch, partitionEpoch: state.partitionEpoch))
    }
}

// The follower's side: one fetch at a time to the leader, appending what
// comes back, truncating where the leader says the logs diverge, and
// following the leader's high watermark.
import RingtailCore

extension PartitionReplica {
    func sendFetchIfDue(now: Instant, _ out: inout [PartitionEffect]) {
        guard case .follower(let leader, let epoch) = role, !fetchInFlight else { return }
        if let due = nextFetchAt, due > now { return }
        fetchInFlight = true
        fetchSentAt = now
        nextFetchAt = nil
        out.append(.sendFetch(to: leader, FetchRequest(
            topic: topic, partition: partition, replica: node.name, fetchOffset: log.logEndOffset,
            lastFetchedEpoch: log.epochs.latestEpoch ?? -1, currentLeaderEpoch: epoch,
            maxBytes: config.fetchBytesMax, maxWait: config.fetchWait)))
    }

    func followerReceived(_ response: FetchResponse, now: Instant, _ out: inout [PartitionEffect]) {
        guard case .follower = role, fetchInFlight else { return }
        fetchInFlight = false
        do {
            try followerApply(response)
            nextFetchAt = response.error == .none || response.divergingEpoch != nil || response.error == .offsetOutOfRange
                ? now : now + config.fetchBackoff
        } catch {
            // A batch that does not fit (corrupt in flight, or a gap): refetch after a pause.
            nextFetchAt = now + config.fetchBackoff
        }
        sendFetchIfDue(now: now, &out)
    }

    private func followerApply(_ response: FetchResponse) throws(LogError) {
        if let epoch = response.divergingEpoch, let leaderEnd = response.divergingEndOffset {
            let ownEnd = log.epochs.endOffset(forEpoch: epoch, logEndOffset: log.logEndOffset)?.endOffset ?? log.logStartOffset
            let target = min(leaderEnd, ownEnd)
            if target < log.logStartOffset { try log.reset(to: max(0, response.logStartOffset)) } else { try log.truncate(to: target) }
            highWatermark = min(highWatermark, log.logEndOffset)
            return
        }
        switch response.error {
        case .none:
            break
        case .offsetOutOfRange:
            if log.logEndOffset < response.logStartOffset {
                try log.reset(to: response.logStartOffset)
            } else if log.logEndOffset > response.logEndOffset && response.logEndOffset >= 0 {
                try log.truncate(to: response.logEndOffset)
            }
            highWatermark = min(highWatermark, log.logEndOffset)
            return
        default:
            return
        }
        if !response.records.isEmpty {
            try log.appendAsFollower(response.records)
            if flushEveryBatch { try log.sync() }
        }
        if response.highWatermark >= 0 {
            highWatermark = max(highWatermark, min(response.highWatermark, log.logEndOffset))
        }
    }
}

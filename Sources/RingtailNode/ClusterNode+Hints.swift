// Hint delivery: every delivery interval, for each target with pending hints
// that the failure detector holds up and that has no batch in flight, send
// the oldest hints (within the throttle's byte budget) as mutations marked
// with their creation time. When the whole batch is acknowledged the hints
// are deleted; a failure or a batch unanswered for the write timeout leaves
// them for the next try. See docs/internals/hinted-handoff.md.
import RingtailCore
import RingtailStorage
import RingtailWire
import RingtailCluster

struct HintDeliveryInFlight: Sendable {
    var last: HintStore.Hint
    var outstanding: Set<UInt64>
    var sentAt: Instant
    var failed = false
}

extension ClusterNode {
    static let hintBatchMax = 128

    func deliverHints() -> [NodeEffect] {
        let now = clock.now()
        // Abandon batches that went unanswered: their hints stay stored.
        for (target, d) in deliveries where now - d.sentAt > configuration.coordinator.writeTimeout {
            for m in d.outstanding { hintMessageOwners[m] = nil }
            deliveries[target] = nil
        }
        let perInterval = Int(Double(configuration.hintThrottleBytesPerSecond) * configuration.hintDeliveryInterval.secondsDouble)
        hintBudgetBytes = min(perInterval, hintBudgetBytes + perInterval)
        var effects: [NodeEffect] = []
        for target in hintStore.targets where deliveries[target] == nil && target != id && detector.isAlive(target, at: now) {
            guard hintBudgetBytes > 0 else { break }
            let batch: [HintStore.Hint]
            do {
                batch = try hintStore.nextBatch(for: target, limit: Self.hintBatchMax)
            } catch {
                continue
            }
            var outstanding = Set<UInt64>()
            var last: HintStore.Hint?
            for hint in batch {
                guard hintBudgetBytes > 0 else { break }
                let bytes = hint.update.encoded()
                hintBudgetBytes -= bytes.count
                let messageID = nextHintMessageID
                nextHintMessageID += 1
                hintMessageOwners[messageID] = target
                outstanding.insert(messageID)
                last = hint
                statistics.hintsSent += 1
                effects.append(send(.mutation(MutationMessage(id: messageID, table: hint.table, update: bytes,
                                                              hintCreatedAtMicros: hint.createdAtMicros)), to: target))
            }
            if let last { deliveries[target] = HintDeliveryInFlight(last: last, outstanding: outstanding, sentAt: now) }
        }
        return effects
    }

    func hintAcknowledged(_ response: MutationResponse, from source: NodeID) -> [NodeEffect] {
        guard let target = hintMessageOwners.removeValue(forKey: response.id), target == source,
              var d = deliveries[target], d.outstanding.remove(response.id) != nil else { return [] }
        if response.failure != nil { d.failed = true }
        guard d.outstanding.isEmpty else {
            deliveries[target] = d
            return []
        }
        deliveries[target] = nil
        if !d.failed {
            // Every hint of the batch is applied on the target: delete them.
            try? hintStore.acknowledge(through: d.last)
        }
        return []
    }
}

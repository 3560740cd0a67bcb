// Hint delivery: every delivery interval, for each target with pending hints
// that the failure detector holds up and that has no batch in flight, send
// the oldest hints (within the throttle's byte budget) as mutations marked
// with their creation time. When every hint of the batch has answered, or
// the batch has waited a write timeout, the acknowledged prefix of the batch
// is deleted; the rest stays for the next round (so one lost message costs
// a retry of the hints after it, not of the whole batch).
// See docs/internals/hinted-handoff.md.
import RingtailCore
import RingtailStorage
import RingtailWire
import RingtailCluster

struct HintDeliveryInFlight: Sendable {
    /// The batch in delivery order, with each hint's message id.
    var hints: [(id: UInt64, hint: HintStore.Hint)]
    var outstanding: Set<UInt64>
    var acknowledged: Set<UInt64> = []
    var sentAt: Instant
}

extension ClusterNode {
    static let hintBatchMax = 128

    func deliverHints() -> [NodeEffect] {
        let now = clock.now()
        // Abandon batches that went unanswered: their hints stay stored.
        for (target, d) in deliveries.sorted(by: { $0.key < $1.key }) where now - d.sentAt > configuration.coordinator.writeTimeout {
            for m in d.outstanding { hintMessageOwners[m] = nil }
            finishDelivery(to: target, d)
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
            var sent: [(id: UInt64, hint: HintStore.Hint)] = []
            for hint in batch {
                guard hintBudgetBytes > 0 else { break }
                let bytes = hint.encodedUpdate
                hintBudgetBytes -= bytes.count
                let messageID = nextHintMessageID
                nextHintMessageID += 1
                hintMessageOwners[messageID] = target
                outstanding.insert(messageID)
                sent.append((messageID, hint))
                statistics.hintsSent += 1
                statistics.hintAgeMaxMicros = max(statistics.hintAgeMaxMicros, clock.wallMicros() - hint.createdAtMicros)
                effects.append(send(.mutation(MutationMessage(id: messageID, table: hint.table, update: bytes,
                                                              hintCreatedAtMicros: hint.createdAtMicros)), to: target))
            }
            if !sent.isEmpty { deliveries[target] = HintDeliveryInFlight(hints: sent, outstanding: outstanding, sentAt: now) }
        }
        return effects
    }

    func hintAcknowledged(_ response: MutationResponse, from source: NodeID) -> [NodeEffect] {
        guard let target = hintMessageOwners.removeValue(forKey: response.id), target == source,
              var d = deliveries[target], d.outstanding.remove(response.id) != nil else { return [] }
        if response.failure == nil { d.acknowledged.insert(response.id) }
        if d.outstanding.isEmpty {
            finishDelivery(to: target, d)
        } else {
            deliveries[target] = d
        }
        return []
    }

    /// Deletes the hints of a batch up to its first unacknowledged one. A
    /// hint for a table this node no longer has (dropped since) counts as
    /// done: the replica refuses it forever, and it must not hold back the
    /// hints after it until the hint window ends.
    func finishDelivery(to target: NodeID, _ d: HintDeliveryInFlight) {
        deliveries[target] = nil
        let prefix = d.hints.prefix { d.acknowledged.contains($0.id) || routes.index(forKey: $0.hint.table) == nil }
        if let last = prefix.last {
            try? hintStore.acknowledge(through: last.hint)
        }
    }
}

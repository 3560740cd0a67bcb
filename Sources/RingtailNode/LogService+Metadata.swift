// The metadata side of the log service: stepping this node's Raft member and
// persisting before sending, applying committed entries to the image (and
// following them on nodes that are not voters), the controller's sessions
// and proposals, and opening, feeding and closing partition replicas as the
// image assigns them.
import RingtailCore
import RingtailLog
import RingtailRaft

extension LogService {
    /// Feeds the Raft member one input and performs its effects: persist
    /// first, then sends and applies (the order RaftEffect requires).
    func stepRaft(_ input: RaftInput, _ out: inout [LogEffect]) {
        guard var node = raft else { return }
        let effects = node.handle(input)
        raft = node
        do {
            try raftStore?.persist(effects)
        } catch {
            // Without durable state this member must not speak: drop the sends.
            statistics.lastRejection = "metadata store: \(error)"
            return
        }
        for effect in effects {
            switch effect {
            case .send(let to, let message):
                out.append(.send(to: to, .raft(message)))
            case .apply(let entries):
                applyCommitted(entries, &out)
            case .proposed(let index, let term):
                if let origin = pendingProposalOrigin {
                    proposalsByIndex[index] = (term, origin)
                    pendingProposalOrigin = nil
                }
            case .notLeader:
                if let origin = pendingProposalOrigin {
                    answer(origin, .rejected("\(id) is no longer the controller; retry"), &out)
                    pendingProposalOrigin = nil
                }
            case .leaderChanged(let leader, _):
                if leader == id { becameController() }
            case .persistState, .persistEntries:
                break
            }
        }
    }

    /// Applies committed metadata entries (on voters from Raft, on other
    /// nodes from the controller's updates), answers their proposers, then
    /// brings the replicas in line once for the whole run of entries.
    func applyCommitted(_ entries: [RaftEntry], _ out: inout [LogEffect]) {
        var applied = false
        for entry in entries where entry.index == image.appliedIndex + 1 { // duplicates and gaps: ignored
            let command = entry.kind == .command ? Optional(try? MetadataCommandCodec.decode(entry.data)) : nil
            let outcome = image.apply(entryAt: entry.index, decoded: command)
            applied = true
            if let proposal = proposalsByIndex.removeValue(forKey: entry.index) {
                // Only the entry proposed in that term answers it; another term's
                // entry at that index means the proposal was lost.
                answer(proposal.origin, proposal.term == entry.term ? outcome : .rejected("the controller changed before the change committed; retry"), &out)
            }
            switch command {
            case .registerBroker(let node, _, _)??, .fenceBroker(let node, _)??:
                sessions[node]?.pending = false
            default:
                break
            }
        }
        guard applied else { return }
        reconcileReplicas(&out)
        if isController { pushMetadata(&out) }
    }

    /// Sends the answer of a metadata proposal to whoever asked.
    func answer(_ origin: Origin, _ outcome: MetadataOutcome, _ out: inout [LogEffect]) {
        switch origin {
        case .client(let request):
            switch outcome {
            case .applied: out.append(.reply(request: request, .ok))
            case .rejected(let why): out.append(.reply(request: request, .failed(why)))
            case .producerIds: out.append(.reply(request: request, .ok))
            }
        case .peerProposal(let node, let id):
            out.append(.send(to: node, .proposalResult(id: id, outcome: outcome)))
        case .local:
            switch outcome {
            case .producerIds(let first, let count): receiveProducerIds(first: first, count: count, &out)
            case .rejected(let why): failProducerIdWaiters(why, &out)
            case .applied: break
            }
        case .peerFetch, .groupCommit:
            break
        }
    }

    /// Proposes `command` if this node is the controller, else forwards it.
    func propose(_ command: MetadataCommand, origin: Origin, _ out: inout [LogEffect]) {
        if isController {
            pendingProposalOrigin = origin
            stepRaft(.propose(MetadataCommandCodec.encode(command)), &out)
            pendingProposalOrigin = nil
            return
        }
        guard let controller else {
            answer(origin, .rejected("no controller is known yet (the metadata group is electing); retry"), &out)
            return
        }
        let forwarded = newID()
        origins[forwarded] = origin
        forwardedAt[forwarded] = clock.now()
        statistics.proposalsForwarded += 1
        out.append(.send(to: controller, .proposal(id: forwarded, command: command)))
    }

    /// How long a forwarded proposal may go unanswered: a controller commits
    /// in milliseconds, so this long means it died or the message was lost.
    var forwardedProposalTimeout: Duration { configuration.sessionTimeout * 3 }

    /// Answers, as rejected, every forwarded proposal older than the timeout.
    func expireForwardedProposals(now: Instant, _ out: inout [LogEffect]) {
        let timeout = forwardedProposalTimeout
        for (forwarded, sent) in forwardedAt.sorted(by: { $0.key < $1.key }) where now - sent > timeout {
            forwardedAt[forwarded] = nil
            if let origin = origins.removeValue(forKey: forwarded) {
                answer(origin, .rejected("the controller did not answer within \(timeout); retry"), &out)
            }
        }
    }

    // MARK: Controller

    func becameController() {
        // Every known live broker gets a full session timeout from now.
        let now = clock.now()
        sessions = [:]
        for (node, broker) in image.brokers where !broker.fenced {
            sessions[node] = Session(incarnation: broker.incarnation, lastHeartbeat: now, appliedIndex: 0, pending: false)
        }
        proposalsByIndex = [:]
    }

    func receiveHeartbeat(from node: NodeID, incarnation: UInt64, location: NodeLocation, appliedIndex: UInt64, _ out: inout [LogEffect]) {
        guard isController else { return }
        let now = clock.now()
        var session = sessions[node] ?? Session(incarnation: incarnation, lastHeartbeat: now, appliedIndex: appliedIndex, pending: false)
        if session.incarnation != incarnation { session.pending = false }
        session.incarnation = incarnation
        session.lastHeartbeat = now
        session.appliedIndex = appliedIndex
        let known = image.brokers[node]
        let needsRegistration = known == nil || known!.fenced || known!.incarnation != incarnation || known!.location != location
        if needsRegistration && !session.pending {
            session.pending = true
            sessions[node] = session
            propose(.registerBroker(node: node, incarnation: incarnation, location: location), origin: .local, &out)
        } else {
            sessions[node] = session
        }
        // Nodes outside the group hear back every time, entries or not: that
        // answer is how they know the controller is alive.
        if node != id && !configuration.voters.contains(node) { sendMetadata(to: node, after: appliedIndex, always: true, &out) }
    }

    func expireSessions(now: Instant, _ out: inout [LogEffect]) {
        for (node, broker) in image.brokers.sorted(by: { $0.key < $1.key }) where !broker.fenced && node != id {
            guard var session = sessions[node] else {
                sessions[node] = Session(incarnation: broker.incarnation, lastHeartbeat: now, appliedIndex: 0, pending: false)
                continue
            }
            guard now - session.lastHeartbeat > configuration.sessionTimeout, !session.pending else { continue }
            session.pending = true
            sessions[node] = session
            propose(.fenceBroker(node: node, incarnation: broker.incarnation), origin: .local, &out)
        }
    }

    /// After new commits: each follower node hears what it lacks at once.
    func pushMetadata(_ out: inout [LogEffect]) {
        for (node, session) in sessions.sorted(by: { $0.key < $1.key }) where node != id && !configuration.voters.contains(node) {
            sendMetadata(to: node, after: session.appliedIndex, &out)
        }
    }

    func sendMetadata(to node: NodeID, after index: UInt64, always: Bool = false, _ out: inout [LogEffect]) {
        guard let raft else { return }
        let entries = raft.committedEntries(after: index, limit: configuration.metadataEntriesPerUpdate)
        guard !entries.isEmpty || always else { return }
        if let last = entries.last { sessions[node]?.appliedIndex = last.index }
        out.append(.send(to: node, .metadataUpdate(entries: entries)))
    }

    // MARK: Replicas

    /// Opens replicas this node now holds, tells each of its partition's
    /// metadata when it changed, and closes (and deletes) the ones it no longer holds.
    func reconcileReplicas(_ out: inout [LogEffect]) {
        var wanted: Set<TopicPartitionID> = []
        let now = clock.now()
        for (name, topic) in image.topics {
            for (index, state) in topic.partitions.enumerated() where state.replicas.contains(id) {
                let key = TopicPartitionID(topic: name, partition: index)
                wanted.insert(key)
                if replicas[key] == nil {
                    var logConfig = configuration.log
                    logConfig.segmentBytes = topic.config.segmentBytes
                    logConfig.retentionAge = topic.config.retentionAge
                    logConfig.retentionBytes = topic.config.retentionBytes
                    do {
                        let log = try PartitionLog(directory: partitionDirectory(key), config: logConfig, fileSystem: fileSystem, clock: clock)
                        replicas[key] = PartitionReplica(topic: name, partition: index, node: id, log: log, config: configuration.replication)
                    } catch {
                        statistics.replicaFailures += 1
                        statistics.lastRejection = "cannot open \(name)-\(index): \(error)"
                        continue
                    }
                }
                if fedStates[key] != state, let replica = replicas[key] {
                    fedStates[key] = state
                    perform(replica.handle(.metadata(state, minInsyncReplicas: topic.config.minInsyncReplicas,
                                                     flushEveryBatch: topic.config.flushEveryBatch), now: now), for: key, &out)
                }
            }
        }
        for key in replicas.keys.sorted() where !wanted.contains(key) {
            let replica = replicas.removeValue(forKey: key)!
            fedStates[key] = nil
            perform(replica.handle(.metadata(PartitionState(replicas: [], leader: nil, leaderEpoch: Int32.max, isr: [], partitionEpoch: Int32.max),
                                             minInsyncReplicas: 1, flushEveryBatch: false), now: now), for: key, &out)
            replica.log.close()
            removeFiles(partitionDirectory(key))
        }
    }

    func partitionDirectory(_ key: TopicPartitionID) -> String {
        Path.join(directory, "topics/\(key.topic)-\(key.partition)")
    }

    func removeFiles(_ path: String) {
        guard let names = try? fileSystem.listDirectory(path) else { return }
        for name in names { try? fileSystem.removeFile(Path.join(path, name)) }
        try? fileSystem.syncDirectory(path)
    }
}

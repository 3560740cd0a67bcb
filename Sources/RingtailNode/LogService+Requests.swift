// Requests the log service serves: messages from peers (Raft, heartbeats,
// proposals, metadata updates, replica fetches) and from clients (topics,
// produce, fetch, offsets, producer ids), and the replicas' effects mapped
// back to whoever asked.
import RingtailCore
import RingtailLog
import RingtailRaft

extension LogService {
    /// A log message from a peer, in its encoding. Garbage is counted and dropped.
    public func receive(from source: NodeID, bytes: [UInt8]) -> [LogEffect] {
        let message: LogPeerMessage
        do { message = try LogMessageCodec.decodePeer(bytes) } catch {
            statistics.messagesRejected += 1
            statistics.lastRejection = "log message from \(source) does not decode: \(error)"
            return []
        }
        var out: [LogEffect] = []
        let now = clock.now()
        switch message {
        case .raft(let m):
            stepRaft(.receive(from: source, m), &out)
        case .heartbeat(let incarnation, let location, let applied):
            receiveHeartbeat(from: source, incarnation: incarnation, location: location, appliedIndex: applied, &out)
        case .metadataUpdate(let entries):
            guard raft == nil else { break } // voters follow their own Raft member
            knownController = source
            lastControllerContact = now
            applyCommitted(entries, &out)
        case .proposal(let proposalID, let command):
            if isController {
                propose(command, origin: .peerProposal(source, proposalID), &out)
            } else {
                out.append(.send(to: source, .proposalResult(id: proposalID, outcome: .rejected("\(id) is not the controller; retry"))))
            }
        case .proposalResult(let proposalID, let outcome):
            forwardedAt[proposalID] = nil
            if let origin = origins.removeValue(forKey: proposalID) { answer(origin, outcome, &out) }
        case .fetch(let theirID, let request):
            let key = TopicPartitionID(topic: request.topic, partition: request.partition)
            guard let replica = replicas[key] else {
                out.append(.send(to: source, .fetchResponse(id: theirID, FetchResponse(error: .notLeader))))
                break
            }
            let ours = newID()
            origins[ours] = .peerFetch(source, theirID)
            perform(replica.handle(.fetch(id: ours, request), now: now), for: key, &out)
        case .fetchResponse(let fetchID, let response):
            guard let key = outstandingFetches.removeValue(forKey: fetchID), let replica = replicas[key] else { break }
            fetchOfPartition[key] = nil
            perform(replica.handle(.fetchResponse(response), now: now), for: key, &out)
        }
        return out
    }

    /// A client's log request, in its encoding, under `request` (unique on
    /// this node). Ends in exactly one `.reply`, now or later.
    public func client(request: UInt64, bytes: [UInt8]) -> [LogEffect] {
        let decoded: LogClientRequest
        do { decoded = try LogMessageCodec.decodeClientRequest(bytes) } catch {
            return [.reply(request: request, .failed("the log request does not decode: \(error)"))]
        }
        return client(request: request, decoded)
    }

    public func client(request: UInt64, _ operation: LogClientRequest) -> [LogEffect] {
        var out: [LogEffect] = []
        let now = clock.now()
        switch operation {
        case .createTopic(let name, let config):
            if let problem = config.problem ?? MetadataImage.nameProblem(name) {
                return [.reply(request: request, .failed(problem))]
            }
            propose(.createTopic(name: name, config: config), origin: .client(request), &out)
        case .deleteTopic(let name):
            guard image.topics[name] != nil else { return [.reply(request: request, .failed("no topic \(name)"))] }
            propose(.deleteTopic(name: name), origin: .client(request), &out)
        case .describeCluster:
            out.append(.reply(request: request, .cluster(describe())))
        case .produce(let topic, let partition, let acks, let timeout, let batch):
            guard let replica = leaderReplica(topic, partition, request, &out) else { break }
            let ours = newID()
            origins[ours] = .client(request)
            perform(replica.handle(.produce(id: ours, batch: batch, acks: acks, timeout: timeout), now: now),
                    for: TopicPartitionID(topic: topic, partition: partition), &out)
        case .fetch(var fetch):
            guard let replica = leaderReplica(fetch.topic, fetch.partition, request, &out) else { break }
            fetch.replica = nil // clients read as consumers, up to the high watermark
            let ours = newID()
            origins[ours] = .client(request)
            perform(replica.handle(.fetch(id: ours, fetch), now: now), for: TopicPartitionID(topic: fetch.topic, partition: fetch.partition), &out)
        case .listOffsets(let topic, let partition, let spec):
            guard let replica = leaderReplica(topic, partition, request, &out) else { break }
            let offset: Int64
            switch spec {
            case .earliest: offset = replica.log.logStartOffset
            case .latest: offset = replica.highWatermark
            case .timestamp(let t):
                let found = (try? replica.log.offset(forTimestamp: t)) ?? nil
                offset = min(found ?? replica.highWatermark, replica.highWatermark)
            }
            out.append(.reply(request: request, .offset(offset)))
        case .findCoordinator, .joinGroup, .syncGroup, .heartbeat, .leaveGroup, .commitOffsets, .fetchOffsets, .describeGroup:
            groupRequest(request: request, operation, &out)
        case .initProducer:
            if producerIds.next < producerIds.end {
                out.append(.reply(request: request, .producerId(producerIds.next)))
                producerIds.next += 1
            } else {
                waitingForProducerIds.append(request)
                if waitingForProducerIds.count == 1 { propose(.allocateProducerIds(node: id), origin: .local, &out) }
            }
        }
        return out
    }

    /// The replica of a partition this node leads, or nil after replying
    /// with where to go instead.
    func leaderReplica(_ topic: String, _ partition: Int, _ request: UInt64, _ out: inout [LogEffect]) -> PartitionReplica? {
        guard let state = image.partition(topic, partition) else {
            out.append(.reply(request: request, .error(.unknownTopicOrPartition, "no partition \(topic)-\(partition)")))
            return nil
        }
        guard let replica = replicas[TopicPartitionID(topic: topic, partition: partition)], replica.isLeader else {
            out.append(.reply(request: request, .error(.notLeader, state.leader.map { "\($0) leads \(topic)-\(partition)" }
                                                        ?? "\(topic)-\(partition) has no leader")))
            return nil
        }
        return replica
    }

    /// The allocation the waiting producers needed was refused or lost:
    /// they hear why, and the next `initProducer` asks again.
    func failProducerIdWaiters(_ why: String, _ out: inout [LogEffect]) {
        let waiting = waitingForProducerIds
        waitingForProducerIds = []
        for request in waiting { out.append(.reply(request: request, .failed("no producer id: \(why)"))) }
    }

    func receiveProducerIds(first: Int64, count: Int64, _ out: inout [LogEffect]) {
        producerIds = (first, first + count)
        let waiting = waitingForProducerIds
        waitingForProducerIds = []
        for request in waiting {
            out.append(.reply(request: request, .producerId(producerIds.next)))
            producerIds.next += 1
        }
    }

    func describe() -> ClusterDescription {
        let brokers = image.brokers.sorted { $0.key < $1.key }.map {
            BrokerDescription(node: $0.key.name, clientAddress: clientAddress($0.key), fenced: $0.value.fenced)
        }
        let topics = image.topics.sorted { $0.key < $1.key }.map { name, topic in
            TopicDescription(name: name, config: topic.config, partitions: topic.partitions.enumerated().map { index, p in
                PartitionDescription(partition: index, leader: p.leader?.name, leaderEpoch: p.leaderEpoch,
                                     replicas: p.replicas.map(\.name), isr: p.isr.map(\.name))
            })
        }
        return ClusterDescription(controller: controller?.name, brokers: brokers, topics: topics)
    }

    /// Maps a replica's effects to messages and replies.
    func perform(_ effects: [PartitionEffect], for key: TopicPartitionID, _ out: inout [LogEffect]) {
        for effect in effects {
            switch effect {
            case .replyProduce(let ours, let response):
                switch origins.removeValue(forKey: ours) {
                case .client(let request)?:
                    out.append(.reply(request: request, .produced(response)))
                case .groupCommit(let request, let group, let offsets)?:
                    if response.error == .none {
                        groups[group]?.recordCommitted(offsets)
                        out.append(.reply(request: request, .group(.none)))
                    } else {
                        out.append(.reply(request: request, .error(response.error, "the commit did not replicate: \(response.error)")))
                    }
                default:
                    break
                }
            case .replyFetch(let ours, let response):
                switch origins.removeValue(forKey: ours) {
                case .client(let request)?: out.append(.reply(request: request, .fetched(response)))
                case .peerFetch(let peer, let theirs)?: out.append(.send(to: peer, .fetchResponse(id: theirs, response)))
                default: break
                }
            case .sendFetch(let leader, let request):
                let fetchID = newID()
                if let superseded = fetchOfPartition[key] { outstandingFetches[superseded] = nil } // timed out
                fetchOfPartition[key] = fetchID
                outstandingFetches[fetchID] = key
                out.append(.send(to: leader, .fetch(id: fetchID, request)))
            case .proposeIsr(let isr, let leaderEpoch, let partitionEpoch):
                propose(.alterPartition(topic: key.topic, partition: key.partition, leader: id, leaderEpoch: leaderEpoch,
                                        partitionEpoch: partitionEpoch, isr: isr), origin: .local, &out)
            }
        }
    }
}

// A node as a replica: applies mutations (client writes, read repairs,
// delivered hints) and serves slices of a partition, whole or as a digest.
import RingtailCore
import RingtailStorage
import RingtailWire
import RingtailCluster

extension ClusterNode {
    /// The local id of a table, read in place from its route (not copied out).
    func tableID(_ qualifiedName: String) -> TableID? {
        routes.index(forKey: qualifiedName).map { routes.values[$0].id }
    }

    /// Decodes and routes a replica write for the driver to apply; a
    /// failure is answered at once.
    func replicaWrite(_ m: MutationMessage, from source: NodeID) -> NodeEffect {
        guard let table = tableID(m.table) else {
            statistics.mutationsFailed += 1
            return send(.mutationResponse(MutationResponse(id: m.id, failure: "unknown table \(m.table) on \(id)")), to: source)
        }
        do {
            let update = try PartitionUpdate(decoding: m.update, limits: engine.options.limits)
            return .applyReplicaWrite(ReplicaWrite(source: source, messageID: m.id, table: table, update: update,
                                                   isHint: m.hintCreatedAtMicros != nil))
        } catch {
            statistics.mutationsFailed += 1
            return send(.mutationResponse(MutationResponse(id: m.id, failure: "\(id): \(error.description)")), to: source)
        }
    }

    /// Applies a replica write to storage (durable per the commit log sync
    /// mode when it returns). Thread-safe: drivers may run several at once.
    public func apply(_ write: ReplicaWrite) -> MutationResponse {
        do {
            try engine.apply(Mutation(table: write.table, update: write.update))
        } catch {
            return MutationResponse(id: write.messageID, failure: "\(id): \(error.description)")
        }
        return MutationResponse(id: write.messageID)
    }

    /// Counts an applied replica write and answers its sender. Node thread only.
    public func finish(_ write: ReplicaWrite, _ response: MutationResponse) -> [NodeEffect] {
        if response.failure == nil {
            statistics.mutationsApplied += 1
            if write.isHint { statistics.hintsReceived += 1 }
        } else {
            statistics.mutationsFailed += 1
        }
        return [send(.mutationResponse(response), to: write.source)]
    }

    func serveRead(_ r: ReadRequest) -> ReadResponse {
        guard let table = tableID(r.table) else {
            return ReadResponse(id: r.id, payload: .failed("unknown table \(r.table) on \(id)"))
        }
        let slice = ClusteringRange(wireLower: r.lower, upper: r.upper)
        let data: PartitionUpdate?
        do {
            data = try engine.readRaw(table, key: r.key).map { $0.sliced(slice) }.flatMap { $0.isEmpty ? nil : $0 }
        } catch {
            return ReadResponse(id: r.id, payload: .failed("\(id): \(error.description)"))
        }
        statistics.readsServed += 1
        if r.digestOnly {
            return ReadResponse(id: r.id, payload: .digest((data ?? PartitionUpdate(key: r.key)).digest))
        }
        return ReadResponse(id: r.id, payload: .data(data?.encoded()))
    }

    /// Everything this replica holds for a partition (tombstones included),
    /// read directly from its storage: for checkers and operators.
    public func localPartition(table qualifiedName: String, key: [UInt8]) throws(StorageError) -> PartitionUpdate? {
        guard let table = tableID(qualifiedName) else {
            throw StorageError(code: .unknownTable, message: "no table \(qualifiedName) on \(id)")
        }
        return try engine.readRaw(table, key: key)
    }
}

// Faults and observation for tests of an embedded cluster: kill and restart
// nodes, cut and heal the network between groups of nodes, let virtual time
// pass, see each node's state, and shut the whole cluster down.
import RingtailCore
import RingtailStorage
import RingtailCluster
import RingtailSimulation

/// One node of an embedded cluster as seen at the moment of the call.
public struct NodeStatus: Hashable, Sendable {
    public var name: String
    public var datacenter: String
    public var rack: String
    public var isRunning: Bool
    /// Hints this node holds for replicas that missed writes (0 while it is down).
    public var hintsPending: Int
    /// The nodes this node's failure detector holds down (empty while it is down).
    public var peersDown: [String]
}

extension EmbeddedCluster {
    /// Kills a node at once, like SIGKILL: requests it coordinates stop, peers
    /// notice only when their failure detectors convict it (about 10 s of
    /// virtual time; see `advance(by:)`). With memory storage it loses what
    /// it had not synced. Killing a node that is down does nothing.
    public func kill(_ node: String) throws(EmbeddedClusterError) {
        let id = try nodeID(node)
        try locked(orThrow: EmbeddedClusterError.shutDown) { (s) throws(EmbeddedClusterError) in
            s.cluster.crash(id)
        }
    }

    /// Starts a killed node again: it replays its commit log, gossips with a
    /// new generation, and receives the hints others kept for it once they
    /// see it up (a few seconds of virtual time). Restarting a running node does nothing.
    public func restart(_ node: String) throws(EmbeddedClusterError) {
        let id = try nodeID(node)
        try locked(orThrow: EmbeddedClusterError.shutDown) { (s) throws(EmbeddedClusterError) in
            do throws(StorageError) {
                try s.cluster.restart(id)
            } catch {
                throw EmbeddedClusterError(code: .storage, message: "\(node) did not restart: \(error.description)")
            }
        }
    }

    /// Cuts every link between the two groups, both ways (a network
    /// partition). Links within each group and to other nodes stay up.
    public func partition(_ a: [String], _ b: [String]) throws(EmbeddedClusterError) {
        let left = try a.map { (name) throws(EmbeddedClusterError) in try nodeID(name) }
        let right = try b.map { (name) throws(EmbeddedClusterError) in try nodeID(name) }
        guard Set(left).isDisjoint(with: right) else { throw .invalid("a node cannot be on both sides of a partition") }
        try locked(orThrow: EmbeddedClusterError.shutDown) { (s) throws(EmbeddedClusterError) in
            s.cluster.partition(left, right)
        }
    }

    /// Restores every link cut by `partition`.
    public func heal() {
        try? locked(orThrow: EmbeddedClusterError.shutDown) { (s) throws(EmbeddedClusterError) in s.cluster.heal() }
    }

    /// Lets `duration` of virtual time pass (at once in wall time): gossip
    /// rounds, failure detection, hint delivery, TTL expiry. Does nothing for
    /// a duration of zero or less, or after shutdown.
    public func advance(by duration: Duration) {
        guard duration > .zero else { return }
        try? locked(orThrow: EmbeddedClusterError.shutDown) { (s) throws(EmbeddedClusterError) in s.cluster.run(for: duration) }
    }

    /// Every node, n1 first.
    public func nodeStatus() -> [NodeStatus] {
        (try? locked(orThrow: EmbeddedClusterError.shutDown) { (s) throws(EmbeddedClusterError) -> [NodeStatus] in
            Self.status(of: s.cluster)
        }) ?? []
    }

    static func status(of cluster: SimulatedCluster) -> [NodeStatus] {
        cluster.nodeIDs.map { id in
            let location = cluster.location(of: id)
            let node = cluster.node(id)
            return NodeStatus(name: id.name, datacenter: location?.datacenter ?? "", rack: location?.rack ?? "",
                              isRunning: node != nil, hintsPending: node?.hintStore.statistics.pendingHints ?? 0,
                              peersDown: node.map { n in cluster.nodeIDs.filter { !n.isAlive($0) }.map(\.name) } ?? [])
        }
    }

    /// Closes every running node (a final commit log sync) and ends the
    /// cluster; later calls throw `.shutDown` (data requests:
    /// `.invalidRequest`). Called by deinit if not before; calling it twice does nothing.
    public func shutdown() {
        state.withLock { s in
            guard !s.isShutDown else { return }
            s.isShutDown = true
            // Tighten the lease to what was handed out; on failure the saved,
            // larger lease still holds the invariant.
            if let store = s.store, var saved = s.saved, s.lastTimestamp < saved.timestampLease {
                saved.timestampLease = s.lastTimestamp
                if (try? store.save(saved)) != nil { s.saved = saved }
            }
            s.cluster.shutdown()
        }
    }

    func nodeID(_ name: String) throws(EmbeddedClusterError) -> NodeID {
        guard nodeNames.contains(name) else {
            throw .invalid("unknown node \(name) (nodes: \(nodeNames.joined(separator: ", ")))")
        }
        return NodeID(name)
    }
}

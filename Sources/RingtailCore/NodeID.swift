// Who is in the cluster and where: node identities with their datacenter
// and rack. The ring, replication strategies and coordinators build on it.

/// A node's stable identity in the cluster (not its address).
public struct NodeID: Hashable, Comparable, Sendable, CustomStringConvertible {
    public var name: String
    public init(_ name: String) { self.name = name }
    public static func < (a: NodeID, b: NodeID) -> Bool { a.name < b.name }
    public var description: String { name }
}

/// Where a node sits: replication strategies spread replicas across these.
public struct NodeLocation: Hashable, Sendable {
    public var datacenter: String
    public var rack: String
    public init(datacenter: String, rack: String) {
        self.datacenter = datacenter
        self.rack = rack
    }
}

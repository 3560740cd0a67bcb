// One point of a study: the cluster's shape, replication, consistency levels,
// nodes down, the workload and how it is driven, and the seed. A sweep is a
// list of points; every report row names the point it measured.
import RingtailCore
import RingtailCluster
import RingtailSimulation

/// How requests are sent.
public enum LoadMode: Sendable, Hashable, CustomStringConvertible {
    /// Poisson arrivals at a fixed rate, not waiting for answers: a slow
    /// answer cannot delay the requests behind it, so coordinated omission
    /// cannot hide latency.
    case openLoop(rate: Int)
    /// N clients, each sending its next request when its last is answered.
    case closedLoop(clients: Int)

    public var description: String {
        switch self {
        case .openLoop(let rate): return "open loop, \(rate)/s"
        case .closedLoop(let clients): return "closed loop, \(clients) clients"
        }
    }
}

public struct BenchPoint: Sendable, Hashable {
    public var nodes = 5
    public var datacenters = 1
    /// Replicas (per datacenter with more than one).
    public var replicationFactor = 3
    public var writeLevel = ConsistencyLevel.quorum
    public var readLevel = ConsistencyLevel.quorum
    /// Nodes crashed before the workload starts (n1, n2, …), back after it.
    public var nodesDown = 0
    /// One-way message delay inside a datacenter, and between datacenters.
    public var latency = LatencyModel.logNormal(median: .microseconds(200), sigma: 0.5)
    public var wanLatency = LatencyModel.logNormal(median: .milliseconds(40), sigma: 0.2)
    public var workload = WorkloadSpec.ycsb("a")!
    public var requests = 200_000
    public var mode = LoadMode.openLoop(rate: 20_000)
    public var seed: UInt64 = 1
    public var speculativeRetry = true
    /// One t-visibility probe per this many operations (0: none).
    public var probeEvery = 10
    /// Probe reads are sent this long after their write's acknowledgement, in turn.
    public var probeDelaysMicros: [Int64] = [0, 50, 100, 200, 300, 500, 750, 1000, 1500, 2000, 3000, 5000, 10_000, 100_000]

    public init() {}

    public var strategy: ReplicationStrategy { .uniform(replicationFactor: replicationFactor, datacenters: datacenters) }

    /// "RF 3, W QUORUM, R ONE, 1 down".
    public var label: String {
        "RF \(replicationFactor)\(datacenters > 1 ? "x\(datacenters) dc" : ""), W \(writeLevel), R \(readLevel), \(nodesDown) down"
    }

    /// Replicas a level needs, by the coordinator's own rule
    /// (`ConsistencyLevel.requirement`), seen from datacenter `datacenter`.
    func requirement(_ level: ConsistencyLevel, isWrite: Bool, datacenter: String = "dc1") -> ReplicaRequirement? {
        try? level.requirement(strategy: strategy, localDatacenter: datacenter, isWrite: isWrite)
    }

    /// (W, R) as replica counts when both are plain counts over one
    /// datacenter's replicas (ONE, TWO, QUORUM, ALL with SimpleStrategy); nil otherwise.
    public var quorumSizes: (write: Int, read: Int)? {
        guard datacenters == 1, case .anywhere(let w, _)? = requirement(writeLevel, isWrite: true),
              case .anywhere(let r, _)? = requirement(readLevel, isWrite: false) else { return nil }
        return (w, r)
    }

    /// Whether every read's replicas overlap every acknowledged write's
    /// (W + R > RF, in some datacenter, wherever writer and reader sit).
    public var quorumsIntersect: Bool {
        if let (w, r) = quorumSizes { return w + r > replicationFactor }
        let dcs = (1...datacenters).map { "dc\($0)" }
        func counts(_ req: ReplicaRequirement?) -> [String: Int]? {
            switch req {
            case .inDatacenter(let dc, let n)?: return [dc: n]
            case .inEachDatacenter(let need)?: return need
            default: return nil
            }
        }
        for writer in dcs {
            for reader in dcs {
                guard let w = counts(requirement(writeLevel, isWrite: true, datacenter: writer)),
                      let r = counts(requirement(readLevel, isWrite: false, datacenter: reader)) else { return false }
                if !dcs.contains(where: { (w[$0] ?? 0) + (r[$0] ?? 0) > replicationFactor }) { return false }
            }
        }
        return true
    }

    public func validate() throws(BenchError) {
        guard nodes >= 1, datacenters >= 1, nodes >= datacenters else { throw BenchError("need at least one node per datacenter") }
        let perDatacenter = nodes / datacenters
        guard (1...perDatacenter).contains(replicationFactor) else {
            throw BenchError("RF \(replicationFactor) needs at least \(replicationFactor) nodes per datacenter; there are \(perDatacenter)")
        }
        guard (0..<nodes).contains(nodesDown) else { throw BenchError("nodes down must be 0 to \(nodes - 1), got \(nodesDown)") }
        guard requests >= 1 else { throw BenchError("requests must be at least 1") }
        switch mode {
        case .openLoop(let rate): guard rate >= 1 else { throw BenchError("the rate must be at least 1 request/s") }
        case .closedLoop(let clients): guard clients >= 1 else { throw BenchError("need at least one client") }
        }
        guard workload.recordCount >= 1, workload.valueBytes >= 0, workload.scanLengthMax >= 1 else {
            throw BenchError("the workload needs at least one record and a scan length of at least 1")
        }
        guard probeEvery >= 0, !probeDelaysMicros.isEmpty, probeDelaysMicros.allSatisfy({ $0 >= 0 }) else {
            throw BenchError("probe delays must be non-negative")
        }
        if datacenters == 1 && (writeLevel == .eachQuorum || readLevel == .eachQuorum) {
            throw BenchError("EACH_QUORUM needs more than one datacenter")
        }
    }
}

public struct BenchError: Error, CustomStringConvertible, Sendable {
    public var description: String
    public init(_ description: String) { self.description = description }
}

/// One measured point.
public struct BenchRunResult: Sendable {
    public var point: BenchPoint
    public var summary: RunSummary
    /// The simulator's trace hash (equal seeds, equal hashes); 0 on a real cluster.
    public var traceHash: UInt64
    public var wallSeconds: Double
    public var messages: Int
}

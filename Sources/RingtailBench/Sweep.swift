// Sweeps: the grid of points a study measures, and running them in the
// simulator on every core (each run is single-threaded and independent, so
// two cores run two points at once; results come back in grid order).
import Foundation
import RingtailCluster
import Synchronization

public enum Sweep {
    /// The default study: RF 1, 3, 5 x write level x read level (ONE, QUORUM,
    /// ALL) on 5 nodes, each with 0, 1 and 2 nodes down (81 points); then 3
    /// replicas in each of two datacenters of 3 nodes, writes and reads at
    /// LOCAL_QUORUM and EACH_QUORUM, with 0, 1 and 2 nodes down (12 points).
    public static func defaultGrid(base: BenchPoint, downMax: Int = 2, twoDatacenters: Bool = true) -> [BenchPoint] {
        var points: [BenchPoint] = []
        let levels: [ConsistencyLevel] = [.one, .quorum, .all]
        for rf in [1, 3, 5] {
            for w in levels {
                for r in levels {
                    for down in 0...downMax {
                        var p = base
                        p.nodes = max(base.nodes, 5)
                        p.datacenters = 1
                        p.replicationFactor = rf
                        p.writeLevel = w
                        p.readLevel = r
                        p.nodesDown = down
                        points.append(p)
                    }
                }
            }
        }
        guard twoDatacenters else { return points }
        for w in [ConsistencyLevel.localQuorum, .eachQuorum] {
            for r in [ConsistencyLevel.localQuorum, .eachQuorum] {
                for down in 0...downMax {
                    var p = base
                    p.nodes = 6
                    p.datacenters = 2
                    p.replicationFactor = 3
                    p.writeLevel = w
                    p.readLevel = r
                    p.nodesDown = down
                    points.append(p)
                }
            }
        }
        return points
    }

    /// Runs every point in the simulator, `parallelism` at a time.
    /// `progress(done, total, last)` is called after each point, from any thread.
    public static func runSimulated(_ points: [BenchPoint], parallelism: Int,
                                    progress: @escaping @Sendable (Int, Int, BenchRunResult) -> Void) throws -> [BenchRunResult] {
        for p in points { try p.validate() }
        let results = Mutex<[Int: BenchRunResult]>([:])
        let failures = Mutex<[String]>([])
        let next = Mutex(0)
        let workers = max(1, min(parallelism, points.count))
        DispatchQueue.concurrentPerform(iterations: workers) { _ in
            while true {
                let i: Int = next.withLock { n in
                    defer { n += 1 }
                    return n
                }
                guard i < points.count else { return }
                do {
                    let result = try SimulatedBench(points[i]).run()
                    let done = results.withLock { r in
                        r[i] = result
                        return r.count
                    }
                    progress(done, points.count, result)
                } catch {
                    failures.withLock { $0.append("\(points[i].label): \(error)") }
                }
            }
        }
        let failed = failures.withLock { $0 }
        if !failed.isEmpty { throw BenchError("runs failed: " + failed.joined(separator: "; ")) }
        return results.withLock { r in points.indices.map { r[$0]! } }
    }
}

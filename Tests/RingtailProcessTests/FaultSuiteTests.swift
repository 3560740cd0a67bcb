// The multi-process fault-injection suite, as CI runs it: `ringtail faults`
// on a fresh 5-node cluster (RF 3, QUORUM writers and readers; 5 SIGKILL and
// restart cycles, a paused node, two replicas of one range killed, a node
// cut off the network), then every promise checked: acknowledged writes read
// back at QUORUM and are in each replica's own storage after hint delivery,
// no node died unless killed, no file is corrupt. Every wait inside the suite
// is bounded; it stops every node it started, by pid, before it exits.
import Foundation
import Testing

@Suite struct FaultSuiteTests {
    @Test func theFaultSuitePasses() throws {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("ringtail-faults-\(getpid())").path
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let result = try RingtailProcess.run(["faults", "--dir", dir, "--kill-cycles", "5", "--peer-port", "7750",
                                              "--client-port", "9750", "--seed", "1"])
        #expect(result.status == 0, "\(result.output)")
        #expect(result.output.contains("PASS: no acknowledged write lost, every replica complete"))
        #expect(result.output.contains("acknowledged writes read back at QUORUM"))
        // What it did: five kill cycles, the pause, the two replicas, the cut.
        for step in ["cycle 5: SIGKILL", "paused", "failed fast", "cut n"] {
            #expect(result.output.contains(step), "no \(step) in:\n\(result.output)")
        }
        // No node outlives the suite: no process names the cluster's folder.
        let survivors = (try FileManager.default.contentsOfDirectory(atPath: "/proc")).filter { entry in
            guard Int32(entry) != nil, let raw = FileManager.default.contents(atPath: "/proc/\(entry)/cmdline") else { return false }
            return String(decoding: raw.map { $0 == 0 ? 32 : $0 }, as: UTF8.self).contains(dir + "/")
        }
        #expect(survivors.isEmpty, "processes left running: \(survivors)")
    }
}

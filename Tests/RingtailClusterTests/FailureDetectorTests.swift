// The phi-accrual failure detector: steady heartbeats keep a peer up, silence
// convicts it within a bounded time, a heartbeat brings it back, and a long
// pause does not teach the detector that pauses are normal.
import RingtailCluster
import RingtailWire
import RingtailCore
import Testing

@Suite struct FailureDetectorTests {
    let peer = NodeID("n2")

    func at(_ seconds: Double) -> Instant { Instant(nanoseconds: Int64(seconds * 1e9)) }

    @Test func steadyHeartbeatsThenSilence() {
        var fd = PhiAccrualFailureDetector()
        #expect(!fd.isAlive(peer, at: at(0))) // never heard from
        for s in 0..<30 { fd.heartbeat(from: peer, at: at(Double(s))) }
        #expect(fd.isAlive(peer, at: at(30)))
        #expect(abs(fd.phi(of: peer, at: at(30)) - 0.434) < 0.01) // one interval late
        // Threshold 8 with 1 s heartbeats: convicted about 18.4 s after the last one.
        let delay = fd.convictionDelay(steadyInterval: .seconds(1))
        #expect(delay > .seconds(18) && delay < .seconds(19))
        #expect(fd.isAlive(peer, at: at(29 + 18)))
        #expect(!fd.isAlive(peer, at: at(29 + 19)))
        fd.heartbeat(from: peer, at: at(50))
        #expect(fd.isAlive(peer, at: at(50.5)))
    }

    @Test func fasterHeartbeatsConvictSooner() {
        var fd = PhiAccrualFailureDetector()
        for i in 0..<100 { fd.heartbeat(from: peer, at: at(Double(i) * 0.1)) }
        // Mean interval ~0.1 s (the seeded 1 s sample is one of 100).
        #expect(!fd.isAlive(peer, at: at(9.9 + 3)))
        var slow = PhiAccrualFailureDetector()
        for i in 0..<100 { slow.heartbeat(from: peer, at: at(Double(i))) }
        #expect(slow.isAlive(peer, at: at(99 + 3)))
    }

    @Test func longPausesAreNotLearned() {
        var fd = PhiAccrualFailureDetector()
        for s in 0..<20 { fd.heartbeat(from: peer, at: at(Double(s))) }
        fd.heartbeat(from: peer, at: at(100)) // an 81 s gap: not a sample
        #expect(abs(fd.phi(of: peer, at: at(101)) - 0.434) < 0.01)
    }

    @Test func windowIsBounded() {
        var fd = PhiAccrualFailureDetector(windowSize: 10)
        for s in 0..<10 { fd.heartbeat(from: peer, at: at(Double(s) * 2)) } // 2 s apart (at the sample cap)
        for s in 0..<10 { fd.heartbeat(from: peer, at: at(18 + Double(s + 1) * 0.5)) }
        // Only the last 10 intervals (0.5 s) count now.
        #expect(abs(fd.phi(of: peer, at: at(23 + 0.5)) - 0.434) < 0.01)
    }

    @Test func heartbeatStateOrdersByGenerationThenVersion() {
        #expect(HeartbeatState(generation: 2, version: 0) > HeartbeatState(generation: 1, version: 900))
        #expect(HeartbeatState(generation: 2, version: 5) > HeartbeatState(generation: 2, version: 4))
    }
}

// Latency models: the sample means match the distributions, delays are never
// negative, a seed replays the same delays, and links pick their models.
import RingtailCore
import RingtailSimulation
import Testing

@Suite struct LatencyModelTests {
    func meanMicros(_ model: LatencyModel, samples: Int = 200_000, seed: UInt64 = 9) -> Double {
        var entropy = SeededEntropy(seed: seed)
        var total = 0.0
        for _ in 0..<samples {
            let d = model.sample(&entropy)
            precondition(d >= .zero)
            total += Double(d.nanosecondsClamped) / 1000
        }
        return total / Double(samples)
    }

    @Test(arguments: [
        LatencyModel.constant(.microseconds(500)),
        .uniform(lower: .microseconds(100), upper: .microseconds(900)),
        .exponential(mean: .milliseconds(2)),
        .logNormal(median: .milliseconds(1), sigma: 0.5),
        .pareto(scale: .microseconds(100), shape: 3),
    ])
    func sampleMeansMatchTheDistribution(model: LatencyModel) {
        let expected = Double(model.mean.nanosecondsClamped) / 1000
        let measured = meanMicros(model)
        #expect(abs(measured - expected) / expected < 0.03, "\(model): measured \(measured) µs, expected \(expected) µs")
    }

    @Test func paretoHasAHeavyTailAndAFloor() {
        var entropy = SeededEntropy(seed: 3)
        let model = LatencyModel.pareto(scale: .microseconds(100), shape: 1.5)
        let samples = (0..<100_000).map { _ in model.sample(&entropy) }
        #expect(samples.allSatisfy { $0 >= .microseconds(100) })
        #expect(samples.contains { $0 > .milliseconds(10) }) // 100x the floor: the tail exists
    }

    @Test func aSeedReplaysTheSameDelays() {
        var a = SeededEntropy(seed: 42), b = SeededEntropy(seed: 42)
        let model = LatencyModel.logNormal(median: .milliseconds(1), sigma: 1)
        #expect((0..<1000).map { _ in model.sample(&a) } == (0..<1000).map { _ in model.sample(&b) })
    }

    @Test func linksChooseTheirModels() {
        let links = LinkLatencies(sameDatacenter: .constant(.microseconds(100)), crossDatacenter: .constant(.milliseconds(30)),
                                  pairs: [.init("eu", "us"): .constant(.milliseconds(80))])
        #expect(links.model(from: "eu", to: "eu") == .constant(.microseconds(100)))
        #expect(links.model(from: "eu", to: "us") == .constant(.milliseconds(80)))
        #expect(links.model(from: "us", to: "eu") == .constant(.milliseconds(30))) // asymmetric
    }
}

// Node identities order by name, so every node sorts a topology the same way.
import RingtailCore
import RingtailCluster
import Testing

@Suite struct NodeIDTests {
    @Test func nodeIDsOrderByName() {
        let ids = [NodeID("n3"), NodeID("n1"), NodeID("n2")]
        #expect(ids.sorted().map(\.name) == ["n1", "n2", "n3"])
        #expect(NodeLocation(datacenter: "dc1", rack: "r1") != NodeLocation(datacenter: "dc1", rack: "r2"))
    }
}

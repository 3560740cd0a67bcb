// swift-tools-version:6.1
// Ringtail: a Swift-native, Cassandra-like distributed store with a built-in
// partitioned append log. Module dependencies point one way (STYLE.md):
// Core <- Storage, Wire <- Cluster <- Node <- Simulation / Posix <- Ringtail
// (the embedding facade) <- ringtail CLI.
import PackageDescription

let package = Package(
    name: "Ringtail",
    platforms: [.macOS(.v15)],
    products: [
        .library(name: "RingtailCore", targets: ["RingtailCore"]),
        .library(name: "RingtailStorage", targets: ["RingtailStorage"]),
        .library(name: "RingtailWire", targets: ["RingtailWire"]),
        .library(name: "RingtailLog", targets: ["RingtailLog"]),
        .library(name: "RingtailRaft", targets: ["RingtailRaft"]),
        .library(name: "RingtailCluster", targets: ["RingtailCluster"]),
        .library(name: "RingtailNode", targets: ["RingtailNode"]),
        .library(name: "Ringtail", targets: ["Ringtail"]),
        .library(name: "RingtailPosix", targets: ["RingtailPosix"]),
        .library(name: "RingtailSimulation", targets: ["RingtailSimulation"]),
        .library(name: "RingtailServer", targets: ["RingtailServer"]),
        .executable(name: "ringtail", targets: ["ringtail"]),
    ],
    dependencies: [
        .package(url: "https://github.com/apple/swift-argument-parser.git", from: "1.8.2"),
        .package(url: "https://github.com/HdrHistogram/hdrhistogram-swift.git", from: "0.2.0"),
        .package(url: "https://github.com/apple/swift-nio.git", from: "2.101.2"),
        .package(url: "https://github.com/apple/swift-log.git", from: "1.16.2"),
        .package(url: "https://github.com/LebJe/TOMLKit.git", from: "0.6.0"),
    ],
    targets: [
        // C libraries from Debian (liblz4-dev, libzstd-dev).
        .systemLibrary(
            name: "CLZ4", pkgConfig: "liblz4",
            providers: [.apt(["liblz4-dev"])]),
        .systemLibrary(
            name: "CZstd", pkgConfig: "libzstd",
            providers: [.apt(["libzstd-dev"])]),
        // Small C helpers of our own (hardware CRC32C).
        .target(name: "CRingtailSupport"),

        .target(
            name: "RingtailCore",
            dependencies: ["CRingtailSupport"]),
        .target(
            name: "RingtailStorage",
            dependencies: ["RingtailCore", "CLZ4", "CZstd"]),
        // One node's partition logs (topics): record batches in Kafka's
        // format, segments with offset and time indexes, retention, the
        // producer's partitioner.
        .target(
            name: "RingtailLog",
            dependencies: ["RingtailCore", "RingtailRaft", "CLZ4", "CZstd"]),
        // A pure Raft state machine for the cluster metadata quorum (topics,
        // partition leaders and in-sync sets).
        .target(
            name: "RingtailRaft",
            dependencies: ["RingtailCore"]),
        .target(
            name: "RingtailWire",
            dependencies: ["RingtailCore"]),
        .target(
            name: "RingtailCluster",
            dependencies: ["RingtailCore", "RingtailStorage", "RingtailWire"]),
        .target(
            name: "RingtailNode",
            dependencies: ["RingtailCore", "RingtailStorage", "RingtailWire", "RingtailCluster", "RingtailLog", "RingtailRaft"]),
        .target(
            name: "RingtailPosix",
            dependencies: ["RingtailCore"]),
        .target(
            name: "RingtailSimulation",
            dependencies: ["RingtailCore", "RingtailStorage", "RingtailWire", "RingtailCluster", "RingtailNode", "RingtailLog"]),
        // The real-process half of the Posix / NIO layer: the SwiftNIO
        // transport, the node server that drives a ClusterNode, its TOML
        // configuration, and the network client.
        .target(
            name: "RingtailServer",
            dependencies: [
                "RingtailCore", "RingtailStorage", "RingtailWire", "RingtailCluster", "RingtailNode", "RingtailPosix",
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "TOMLKit", package: "TOMLKit"),
            ]),
        .target(
            name: "Ringtail",
            dependencies: ["RingtailCore", "RingtailStorage", "RingtailWire", "RingtailCluster", "RingtailNode",
                           "RingtailSimulation", "RingtailPosix", "RingtailServer", "RingtailLog"]),
        // The consistency-latency study: workloads, drivers for the simulator
        // and for real clusters, the staleness model, reports and charts.
        .target(
            name: "RingtailBench",
            dependencies: [
                "RingtailCore", "RingtailStorage", "RingtailCluster", "RingtailNode", "RingtailSimulation",
                .product(name: "Histogram", package: "hdrhistogram-swift"),
            ]),
        .executableTarget(
            name: "ringtail",
            dependencies: [
                "RingtailCore", "RingtailStorage", "RingtailWire", "RingtailCluster", "RingtailNode", "RingtailPosix",
                "RingtailSimulation", "RingtailServer", "Ringtail", "RingtailLog", "RingtailBench",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
                .product(name: "Logging", package: "swift-log"),
            ]),
        .executableTarget(
            name: "ringtail-storage-bench",
            dependencies: [
                "RingtailCore", "RingtailStorage", "RingtailPosix",
                .product(name: "Histogram", package: "hdrhistogram-swift"),
            ],
            path: "Benchmarks/StorageBench"),

        .testTarget(
            name: "RingtailBenchTests",
            dependencies: ["RingtailCore", "RingtailCluster", "RingtailSimulation", "RingtailBench"]),
        .testTarget(
            name: "RingtailCoreTests",
            dependencies: ["RingtailCore", "RingtailPosix"]),
        .testTarget(
            name: "RingtailStorageTests",
            dependencies: ["RingtailCore", "RingtailStorage", "RingtailSimulation", "RingtailPosix"]),
        .testTarget(
            name: "RingtailSimulationTests",
            dependencies: ["RingtailCore", "RingtailCluster", "RingtailSimulation"]),
        .testTarget(
            name: "RingtailLogTests",
            dependencies: ["RingtailCore", "RingtailLog", "RingtailRaft", "RingtailSimulation", "RingtailPosix"]),
        .testTarget(
            name: "RingtailRaftTests",
            dependencies: ["RingtailCore", "RingtailRaft", "RingtailSimulation", "RingtailPosix"]),
        .testTarget(
            name: "RingtailWireTests",
            dependencies: ["RingtailCore", "RingtailWire"]),
        .testTarget(
            name: "RingtailClusterTests",
            dependencies: ["RingtailCore", "RingtailStorage", "RingtailWire", "RingtailCluster", "RingtailNode",
                           "RingtailSimulation", "Ringtail", "RingtailLog"]),
        .testTarget(
            name: "RingtailServerTests",
            dependencies: ["RingtailCore", "RingtailStorage", "RingtailCluster", "RingtailNode", "RingtailServer"]),
        .testTarget(
            name: "RingtailProcessTests",
            dependencies: ["RingtailCore", "RingtailStorage", "RingtailPosix", "RingtailSimulation", "RingtailCluster", "Ringtail", "ringtail"]),
    ],
    swiftLanguageModes: [.v6]
)

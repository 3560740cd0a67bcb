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
        .library(name: "RingtailCluster", targets: ["RingtailCluster"]),
        .library(name: "RingtailNode", targets: ["RingtailNode"]),
        .library(name: "Ringtail", targets: ["Ringtail"]),
        .library(name: "RingtailPosix", targets: ["RingtailPosix"]),
        .library(name: "RingtailSimulation", targets: ["RingtailSimulation"]),
        .executable(name: "ringtail", targets: ["ringtail"]),
    ],
    dependencies: [
        .package(url: "https://github.com/apple/swift-argument-parser.git", from: "1.8.2"),
        .package(url: "https://github.com/HdrHistogram/hdrhistogram-swift.git", from: "0.2.0"),
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
        .target(
            name: "RingtailWire",
            dependencies: ["RingtailCore"]),
        .target(
            name: "RingtailCluster",
            dependencies: ["RingtailCore", "RingtailStorage", "RingtailWire"]),
        .target(
            name: "RingtailNode",
            dependencies: ["RingtailCore", "RingtailStorage", "RingtailWire", "RingtailCluster"]),
        .target(
            name: "RingtailPosix",
            dependencies: ["RingtailCore"]),
        .target(
            name: "RingtailSimulation",
            dependencies: ["RingtailCore", "RingtailStorage", "RingtailWire", "RingtailCluster", "RingtailNode"]),
        .target(
            name: "Ringtail",
            dependencies: ["RingtailCore", "RingtailStorage", "RingtailCluster", "RingtailNode", "RingtailSimulation",
                           "RingtailPosix"]),
        .executableTarget(
            name: "ringtail",
            dependencies: [
                "RingtailCore", "RingtailStorage", "RingtailPosix", "RingtailSimulation", "Ringtail",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
            ]),
        .executableTarget(
            name: "ringtail-storage-bench",
            dependencies: [
                "RingtailCore", "RingtailStorage", "RingtailPosix",
                .product(name: "Histogram", package: "hdrhistogram-swift"),
            ],
            path: "Benchmarks/StorageBench"),

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
            name: "RingtailWireTests",
            dependencies: ["RingtailCore", "RingtailWire"]),
        .testTarget(
            name: "RingtailClusterTests",
            dependencies: ["RingtailCore", "RingtailStorage", "RingtailWire", "RingtailCluster", "RingtailNode",
                           "RingtailSimulation", "Ringtail"]),
        .testTarget(
            name: "RingtailProcessTests",
            dependencies: ["RingtailCore", "RingtailStorage", "RingtailPosix", "RingtailSimulation", "ringtail"]),
    ],
    swiftLanguageModes: [.v6]
)

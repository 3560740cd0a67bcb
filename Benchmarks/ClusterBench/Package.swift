// swift-tools-version:6.1
// The cluster benchmark: Ringtail (3 nodes, RF 3) against a 3-member etcd
// cluster, both on loopback, at the same concurrency and value size. A
// package of its own so the main build (and CI) never builds swift-nio-http2;
// Benchmarks/run-cluster.sh builds and runs it.
import PackageDescription

let package = Package(
    name: "RingtailClusterBench",
    platforms: [.macOS(.v15)],
    dependencies: [
        .package(name: "Ringtail", path: "../.."),
        .package(url: "https://github.com/apple/swift-nio.git", from: "2.101.2"),
        .package(url: "https://github.com/apple/swift-nio-http2.git", from: "1.46.0"),
        .package(url: "https://github.com/HdrHistogram/hdrhistogram-swift.git", from: "0.2.0"),
        .package(url: "https://github.com/apple/swift-argument-parser.git", from: "1.8.2"),
    ],
    targets: [
        .executableTarget(
            name: "ringtail-log-bench",
            dependencies: [
                .product(name: "RingtailCore", package: "Ringtail"),
                .product(name: "RingtailLog", package: "Ringtail"),
                .product(name: "RingtailWire", package: "Ringtail"),
                .product(name: "RingtailServer", package: "Ringtail"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
                .product(name: "Histogram", package: "hdrhistogram-swift"),
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
            ]),
        .executableTarget(
            name: "ringtail-cluster-bench",
            dependencies: [
                .product(name: "RingtailCore", package: "Ringtail"),
                .product(name: "RingtailStorage", package: "Ringtail"),
                .product(name: "RingtailWire", package: "Ringtail"),
                .product(name: "RingtailServer", package: "Ringtail"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
                .product(name: "NIOHTTP2", package: "swift-nio-http2"),
                .product(name: "NIOHPACK", package: "swift-nio-http2"),
                .product(name: "Histogram", package: "hdrhistogram-swift"),
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
            ]),
    ])

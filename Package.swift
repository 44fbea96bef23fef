// swift-tools-version:6.0
import PackageDescription

// Lookout's Swift code: the browser-telemetry collector and the operator CLI.
// One executable (`lookout`) ships both roles (`lookout serve` runs the collector),
// so one image serves the monitoring stack and the operator.
let package = Package(
    name: "Lookout",
    platforms: [.macOS(.v14)],
    products: [
        .executable(name: "lookout", targets: ["lookout"]),
    ],
    dependencies: [
        .package(url: "https://github.com/hummingbird-project/hummingbird.git", from: "2.28.1"),
        .package(url: "https://github.com/hummingbird-project/hummingbird-auth.git", from: "2.5.0"),
        .package(url: "https://github.com/swift-server/async-http-client.git", from: "1.37.0"),
        .package(url: "https://github.com/apple/swift-argument-parser.git", from: "1.8.2"),
        .package(url: "https://github.com/apple/swift-log.git", from: "1.16.2"),
        .package(url: "https://github.com/apple/swift-metrics.git", from: "2.13.0"),
        .package(url: "https://github.com/swift-server/swift-prometheus.git", from: "2.4.1"),
        .package(url: "https://github.com/swift-server/swift-service-lifecycle.git", from: "2.13.0"),
        .package(url: "https://github.com/jpsim/Yams.git", from: "6.2.2"),
        .package(url: "https://github.com/adam-fowler/compress-nio.git", from: "1.5.0"),
        .package(url: "https://github.com/apple/swift-nio.git", from: "2.101.2"),
        // TLS at the edge: `init --tls` issues a private CA and certificate, `check` reads them,
        // `doctor` verifies the served certificate (swift-nio-ssl comes with AsyncHTTPClient).
        .package(url: "https://github.com/apple/swift-certificates.git", from: "1.21.1"),
        .package(url: "https://github.com/apple/swift-crypto.git", "3.12.3"..<"5.0.0"),
        .package(url: "https://github.com/apple/swift-asn1.git", from: "1.7.4"),
        .package(url: "https://github.com/apple/swift-nio-ssl.git", from: "2.37.6"),
        // The agent relay reads and writes Loki's protobuf push (Protos/loki-push.proto; the
        // generated code is committed, so no protoc plugin runs at build time).
        .package(url: "https://github.com/apple/swift-protobuf.git", from: "1.39.0"),
    ],
    targets: [
        // The Loki push format (JSON), shared by the collector and the CLI's doctor.
        .target(name: "LokiPush"),
        // Google's snappy (libsnappy-dev), for the snappy-compressed protobuf pushes agents send.
        .systemLibrary(name: "CSnappy", pkgConfig: "snappy", providers: [.apt(["libsnappy-dev"])]),
        // The collector: Hummingbird app that receives logger.js events and forwards them to Loki,
        // and relays agents' pushes to Loki without copies Loki already has.
        .target(
            name: "Collector",
            dependencies: [
                "LokiPush",
                "CSnappy",
                .product(name: "SwiftProtobuf", package: "swift-protobuf"),
                .product(name: "Hummingbird", package: "hummingbird"),
                .product(name: "AsyncHTTPClient", package: "async-http-client"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "Metrics", package: "swift-metrics"),
                .product(name: "Prometheus", package: "swift-prometheus"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
                .product(name: "CompressNIO", package: "compress-nio"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOConcurrencyHelpers", package: "swift-nio"),
            ]
        ),
        // The operator CLI's logic: init, check, doctor, test-alert.
        .target(
            name: "LookoutCLI",
            dependencies: [
                "LokiPush",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
                .product(name: "AsyncHTTPClient", package: "async-http-client"),
                .product(name: "HummingbirdBcrypt", package: "hummingbird-auth"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "Yams", package: "Yams"),
                .product(name: "X509", package: "swift-certificates"),
                .product(name: "Crypto", package: "swift-crypto"),
                .product(name: "_CryptoExtras", package: "swift-crypto"),
                .product(name: "SwiftASN1", package: "swift-asn1"),
                .product(name: "NIOSSL", package: "swift-nio-ssl"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
                .product(name: "NIOTLS", package: "swift-nio"),
                .product(name: "NIOConcurrencyHelpers", package: "swift-nio"),
            ]
        ),
        // `@main`: reads configuration and hands over to the libraries above.
        .executableTarget(
            name: "lookout",
            dependencies: [
                "Collector",
                "LookoutCLI",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
            ]
        ),
        .testTarget(
            name: "CollectorTests",
            dependencies: [
                "Collector",
                "LokiPush",
                .product(name: "HummingbirdTesting", package: "hummingbird"),
                .product(name: "CompressNIO", package: "compress-nio"),
                .product(name: "NIOConcurrencyHelpers", package: "swift-nio"),
            ]
        ),
        .testTarget(
            name: "LookoutCLITests",
            dependencies: ["LookoutCLI", "lookout", .product(name: "X509", package: "swift-certificates")],
            // Deployment folders and golden --help texts, read from the source tree by path.
            exclude: ["Fixtures", "Golden"]
        ),
    ]
)

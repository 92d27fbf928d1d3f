// swift-tools-version:6.0
//
// Engram: an associative-memory database. Targets are layered; each layer depends only on
// the ones above it in this file.

import PackageDescription

/// Settings shared by every Swift target: Swift 6 mode is implied by the tools version;
/// upcoming features that make intent explicit are turned on everywhere.
let swiftSettings: [SwiftSetting] = [
    .enableUpcomingFeature("ExistentialAny"),
    .enableUpcomingFeature("InternalImportsByDefault"),
]

let package = Package(
    name: "Engram",
    products: [
        .executable(name: "engramd", targets: ["engramd"]),
        .executable(name: "engram", targets: ["engram"]),
    ],
    targets: [
        // MARK: C libraries from Debian, and a shim for what Glibc does not export

        .systemLibrary(name: "CLMDB", pkgConfig: "lmdb", providers: [.apt(["liblmdb-dev"])]),
        .systemLibrary(
            name: "CSystemd", pkgConfig: "libsystemd", providers: [.apt(["libsystemd-dev"])]),
        .systemLibrary(
            name: "CBLAS", pkgConfig: "openblas", providers: [.apt(["libopenblas-dev"])]),
        .target(name: "CEngramSys"),
        // Score kernels for small query batches (AVX2 and FMA where the CPU has them).
        .target(name: "CEngramKernels"),

        // MARK: Libraries, by layer

        .target(
            name: "EngramRetrieval", dependencies: ["CBLAS", "CEngramKernels"],
            swiftSettings: swiftSettings),
        .target(name: "EngramFeatures", swiftSettings: swiftSettings),
        .target(
            name: "EngramStore", dependencies: ["CLMDB", "EngramRetrieval"],
            swiftSettings: swiftSettings),
        .target(name: "EngramWire", swiftSettings: swiftSettings),
        .target(
            name: "EngramServer",
            dependencies: [
                "EngramRetrieval", "EngramStore", "EngramWire", "CSystemd", "CEngramSys",
            ],
            swiftSettings: swiftSettings),
        .target(
            name: "EngramCLI",
            dependencies: ["EngramWire", "EngramFeatures", "CEngramSys"],
            swiftSettings: swiftSettings),

        // MARK: Executables: thin entry points

        .executableTarget(
            name: "engramd", dependencies: ["EngramServer"], swiftSettings: swiftSettings),
        .executableTarget(
            name: "engram", dependencies: ["EngramCLI"], swiftSettings: swiftSettings),
        // A child process for the store's crash tests: appends (or holds a reader slot) until
        // it is killed.
        .executableTarget(
            name: "engram-store-crasher", dependencies: ["EngramStore", "CLMDB"],
            swiftSettings: swiftSettings),
        .executableTarget(
            name: "engram-bench",
            dependencies: [
                "EngramRetrieval", "EngramFeatures", "EngramStore", "EngramWire", "CBLAS",
                "CEngramKernels",
            ],
            swiftSettings: swiftSettings),

        // MARK: Tests: one target per library, and one that runs the built binaries

        .testTarget(
            name: "EngramRetrievalTests", dependencies: ["EngramRetrieval", "CEngramKernels"],
            swiftSettings: swiftSettings),
        .testTarget(
            name: "EngramFeaturesTests", dependencies: ["EngramFeatures"],
            swiftSettings: swiftSettings),
        .testTarget(
            name: "EngramStoreTests", dependencies: ["EngramStore", "EngramRetrieval", "CLMDB"],
            swiftSettings: swiftSettings),
        .testTarget(
            name: "EngramWireTests", dependencies: ["EngramWire"], swiftSettings: swiftSettings),
        .testTarget(
            name: "EngramServerTests", dependencies: ["EngramServer"],
            swiftSettings: swiftSettings),
        .testTarget(
            name: "EngramCLITests", dependencies: ["EngramCLI", "EngramWire"],
            exclude: ["Golden"], swiftSettings: swiftSettings),
        .testTarget(name: "EndToEndTests", exclude: ["clients"], swiftSettings: swiftSettings),
    ]
)

// swift-tools-version:6.0
import PackageDescription

let package = Package(
    name: "Director",
    products: [
        .executable(name: "director", targets: ["director"]),
        .library(name: "DirectorTable", targets: ["DirectorTable"]),
        // The conformance suite, for table backends written in other packages.
        .library(name: "DirectorTableTesting", targets: ["DirectorTableTesting"]),
        .library(name: "Director", targets: ["Director"]),
        .library(name: "DirectorCluster", targets: ["DirectorCluster"]),
    ],
    dependencies: [
        .package(url: "https://github.com/apple/swift-argument-parser", from: "1.8.2"),
        .package(url: "https://github.com/apple/swift-log", from: "1.16.2"),
        .package(url: "https://github.com/swift-server/swift-service-lifecycle", from: "2.13.0"),
        // Only DirectorCluster and its tests use it (and only they pay for its build).
        .package(url: "https://github.com/vapor/postgres-nio", from: "1.33.2"),
        // Already in the graph through postgres-nio; named so that DirectorCluster can build
        // the TLS context of sslmode=… (no other target uses it).
        .package(url: "https://github.com/apple/swift-nio-ssl.git", from: "2.25.0"),
    ],
    targets: [
        // System libraries, found through pkg-config.
        .systemLibrary(name: "CYAML", pkgConfig: "yaml-0.1", providers: [.apt(["libyaml-dev"])]),
        .systemLibrary(name: "CLMDB", pkgConfig: "lmdb", providers: [.apt(["liblmdb-dev"])]),
        // The few Linux calls Swift cannot make directly.
        .target(name: "CDirectorSys"),

        .target(name: "DirectorManifest", dependencies: ["CYAML"]),
        .target(name: "DirectorCore", dependencies: ["DirectorManifest"]),
        .target(name: "DirectorFuzz", dependencies: ["DirectorManifest", "DirectorCore"]),
        .target(name: "DirectorTable", dependencies: ["CLMDB"]),
        .target(name: "DirectorTableTesting", dependencies: ["DirectorTable"]),
        .target(
            name: "DirectorRuntime",
            dependencies: [
                "DirectorCore", "DirectorManifest", "DirectorTable", "CDirectorSys",
                .product(name: "Logging", package: "swift-log"),
            ],
            exclude: ["README.md"]
        ),
        .target(
            name: "Director",
            dependencies: [
                "DirectorRuntime", "DirectorCore", "DirectorManifest", "DirectorTable",
                .product(name: "Logging", package: "swift-log"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
            ]
        ),
        // The cluster table on PostgreSQL (DESIGN §9): its own target, so the core path builds
        // and runs without postgres-nio.
        .target(
            name: "DirectorCluster",
            dependencies: [
                "DirectorTable",
                .product(name: "PostgresNIO", package: "postgres-nio"),
                .product(name: "NIOSSL", package: "swift-nio-ssl"),
                .product(name: "Logging", package: "swift-log"),
            ]),
        .executableTarget(
            name: "director",
            dependencies: [
                "Director", "DirectorRuntime", "DirectorManifest", "DirectorTable",
                // Only the executable links the cluster table; the library path does not.
                "DirectorCluster",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
                .product(name: "Logging", package: "swift-log"),
            ]
        ),
        // Examples/: programs that embed Director; `make test` builds and runs them.
        .executableTarget(
            name: "EmbeddedSupervisor",
            dependencies: [
                "Director",
                .product(name: "Logging", package: "swift-log"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
            ],
            path: "Examples/EmbeddedSupervisor"),
        .executableTarget(name: "director-bench", dependencies: ["DirectorCore", "DirectorTable", "DirectorManifest", "CLMDB"], path: "Sources/director-bench"),

        .testTarget(name: "DirectorManifestTests", dependencies: ["DirectorManifest"], exclude: ["Corpus"]),
        .testTarget(name: "DirectorFuzzTests", dependencies: ["DirectorFuzz", "DirectorManifest", "DirectorCore"]),
        .testTarget(name: "DirectorCoreTests", dependencies: ["DirectorCore", "DirectorManifest"]),
        .testTarget(name: "DirectorTableTests", dependencies: ["DirectorTable", "DirectorTableTesting"], exclude: ["Scripts"]),
        .testTarget(
            name: "DirectorRuntimeTests",
            dependencies: ["DirectorRuntime", "CDirectorSys", .product(name: "Logging", package: "swift-log")]),
        .testTarget(
            name: "DirectorTests",
            dependencies: [
                "Director",
                .product(name: "Logging", package: "swift-log"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
            ]),
        .testTarget(
            name: "DirectorClusterTests",
            dependencies: [
                "DirectorCluster", "DirectorTable", "DirectorTableTesting",
                .product(name: "PostgresNIO", package: "postgres-nio"),
            ],
            exclude: ["Scripts"]),
        .testTarget(name: "EndToEndTests", dependencies: ["DirectorTable", "DirectorCore"], exclude: ["Scripts"]),
    ]
)

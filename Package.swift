// swift-tools-version:6.0
// model-collapse: a toolkit for measuring the curse of recursion. See README.md and docs/.
import PackageDescription

// Release builds optimise across our modules: a model's generic `fit`/`sample` (and the samplers
// they call) get specialised for the runner's stream type instead of being called through generic
// metadata (bench: gaussian-m1000 0.78 s -> 0.71 s, same bytes). An unsafe flag, so a package
// that depends on this one by version cannot build it: depend by path or branch instead.
let release: [SwiftSetting] = [.unsafeFlags(["-cross-module-optimization"], .when(configuration: .release))]

let package = Package(
    name: "model-collapse",
    products: [
        .library(name: "CollapseCore", targets: ["CollapseCore"]),
        .library(name: "CollapseModels", targets: ["CollapseModels"]),
        .library(name: "CollapseRunner", targets: ["CollapseRunner"]),
        .executable(name: "collapse", targets: ["collapse"]),
    ],
    dependencies: [
        .package(url: "https://github.com/apple/swift-argument-parser", from: "1.5.0"),
        .package(url: "https://github.com/jpsim/Yams", from: "6.0.0"),
    ],
    targets: [
        // Debian's libopenblas-dev (cblas) and liblapacke-dev (LAPACKE); see Scripts/setup.sh.
        .systemLibrary(
            name: "COpenBLAS",
            path: "Sources/COpenBLAS",
            providers: [.apt(["libopenblas-dev", "liblapacke-dev"])]
        ),
        // C kernels that need per-function instruction sets (AVX2 / AVX-512 with run-time choice).
        .target(name: "CKernels"),
        .target(
            name: "CollapseCore",
            dependencies: ["COpenBLAS", "CKernels"],
            exclude: ["README.md"],
            swiftSettings: release
        ),
        .target(
            name: "CollapseModels",
            dependencies: ["CollapseCore"],
            exclude: ["README.md"],
            swiftSettings: release
        ),
        .target(
            name: "CollapseMetrics",
            dependencies: ["CollapseCore", "CollapseModels"],
            exclude: ["README.md"],
            swiftSettings: release
        ),
        .target(
            name: "CollapseRunner",
            dependencies: ["CollapseCore", "CollapseModels", "CollapseMetrics", .product(name: "Yams", package: "Yams")],
            exclude: ["README.md"],
            swiftSettings: release
        ),
        .executableTarget(
            name: "collapse",
            dependencies: [
                "CollapseCore",
                "CollapseModels",
                "CollapseMetrics",
                "CollapseRunner",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
            ],
            swiftSettings: release
        ),
        // Release-mode micro-benchmarks driven by Scripts/bench/run (side by side with numpy).
        .executableTarget(
            name: "collapse-bench",
            dependencies: ["CollapseCore", "CollapseModels", "COpenBLAS"],
            path: "Sources/CollapseBench",
            swiftSettings: release
        ),
        .testTarget(
            name: "CollapseCoreTests",
            dependencies: ["CollapseCore", "COpenBLAS", "CKernels"]
        ),
        .testTarget(
            name: "CollapseModelsTests",
            dependencies: ["CollapseModels", "CollapseCore"]
        ),
        // Test helpers shared by several test targets (config mutations for the fuzz tests).
        .target(
            name: "CollapseTestSupport",
            dependencies: ["CollapseCore"],
            path: "Tests/CollapseTestSupport"
        ),
        .testTarget(
            name: "CollapseCLITests",
            dependencies: ["collapse", "CollapseTestSupport", "CollapseCore"]
        ),
        .testTarget(
            name: "CollapseRunnerTests",
            dependencies: ["CollapseRunner", "CollapseMetrics", "CollapseModels", "CollapseCore", "CollapseTestSupport"]
        ),
    ],
    swiftLanguageModes: [.v6]
)

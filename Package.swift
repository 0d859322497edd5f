// swift-tools-version:6.0
import PackageDescription

let package = Package(
    name: "aefeatures",
    products: [
        // The Swift engine, for direct `import AEFeatures`.
        .library(name: "AEFeatures", targets: ["AEFeatures"]),
        // libaefeatures.so: the C ABI of include/aefeatures.h (build it with `make lib`).
        .library(name: "aefeatures", type: .dynamic, targets: ["AEFeaturesCAPI"]),
        .executable(name: "aef", targets: ["aef"]),
        .executable(name: "aef-demo", targets: ["aef-demo"]),
    ],
    dependencies: [
        .package(url: "https://github.com/apple/swift-argument-parser", from: "1.5.0"),
    ],
    targets: [
        // OpenBLAS through its CBLAS header; Debian's libopenblas-dev provides header and library.
        .systemLibrary(
            name: "COpenBLAS",
            pkgConfig: "openblas",
            providers: [.apt(["libopenblas-dev"])]
        ),
        // ONNX's schema as protobuf-c code, generated from Debian's onnx.proto (libonnx-dev) by
        // scripts/regenerate-onnx-proto and committed; links libprotobuf-c (libprotobuf-c-dev).
        .target(name: "CONNX"),
        // The innermost loops in C, built per instruction set (baseline, AVX2/FMA, AVX-512) with
        // per-function target attributes and chosen once at load by cpuid; no package-wide flags.
        .target(name: "AEFKernels"),
        .target(
            name: "AEFeatures",
            dependencies: ["COpenBLAS", "CONNX", "AEFKernels"]
        ),
        // The only code that knows C: the @_cdecl entry points.
        .target(name: "AEFeaturesCAPI", dependencies: ["AEFeatures"], exclude: ["exports.map"]),
        // zlib for the gzipped IDX files of Debian's dataset-fashion-mnist.
        .systemLibrary(name: "CZlib", pkgConfig: "zlib", providers: [.apt(["zlib1g-dev"])]),
        // Data sets for the command line, examples and benchmarks; the engine does not use it.
        .target(name: "AEFDatasets", dependencies: ["AEFeatures", "CZlib"]),
        // What the command-line tools share: data files (.npy, CSV) and one-line errors.
        .target(name: "AEFCommandLine",
                dependencies: ["AEFeatures", .product(name: "ArgumentParser", package: "swift-argument-parser")]),
        .executableTarget(
            name: "aef",
            dependencies: ["AEFeatures", "AEFCommandLine", .product(name: "ArgumentParser", package: "swift-argument-parser")]
        ),
        // The reference study reproduced (the main job); plots.py draws its report.
        .executableTarget(
            name: "aef-demo",
            dependencies: ["AEFeatures", "AEFDatasets", "AEFCommandLine", "COpenBLAS",
                           .product(name: "ArgumentParser", package: "swift-argument-parser")],
            resources: [.copy("plots.py")]
        ),
        .executableTarget(name: "aef-bench", dependencies: ["AEFeatures", "AEFDatasets", "AEFCommandLine", "COpenBLAS"], path: "bench",
                          // Everything else in bench/ is a script or a C program of its own.
                          exclude: ["adversarial_rate.py", "anomaly.py", "anomaly_scores.py", "batch_dependence.py",
                                   "compare", "fashion_data.py", "fashion_features.py", "insurance_features.py", "kernels.c", "gemm_split.c",
                                   "latency.c", "onnx_encoder.py", "openblas_positions.c", "partial_fit.py",
                                   "python_import.py", "python_threads.py", "scale_out.py", "seq2seq_policies.py",
                                   "sparse_weight.py"]),
        // The libFuzzer target (model bytes and spec JSON through the C ABI; see `make fuzz`);
        // a normal build writes seeds and replays fuzz/regressions.
        .executableTarget(name: "aef-fuzz", dependencies: ["AEFeatures", "AEFeaturesCAPI", "CZlib"], path: "fuzz",
                          exclude: ["regressions"]),
        // The tests' oracle: naive Double kernels the fast paths are checked against; no product ships it.
        .target(name: "AEFReference", dependencies: ["AEFeatures"], path: "Tests/Reference"),
        .testTarget(
            name: "AEFeaturesTests",
            dependencies: ["AEFeatures", "AEFeaturesCAPI", "AEFReference", "AEFDatasets", "CONNX"]
        ),
    ],
    swiftLanguageModes: [.v5]
)

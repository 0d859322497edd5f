// swift-tools-version:6.0
import PackageDescription

let package = Package(
    name: "aefeatures",
    products: [
        // The Swift engine, for direct `import AEFeatures`.
        .library(name: "AEFeatures", targets: ["AEFeatures"]),
    ],
    targets: [
        // OpenBLAS through its CBLAS header; Debian's libopenblas-dev provides header and library.
        .systemLibrary(
            name: "COpenBLAS",
            pkgConfig: "openblas",
            providers: [.apt(["libopenblas-dev"])]
        ),
        .target(
            name: "AEFeatures",
            dependencies: ["COpenBLAS"]
        ),
        .testTarget(
            name: "AEFeaturesTests",
            dependencies: ["AEFeatures"]
        ),
    ],
    swiftLanguageModes: [.v5]
)

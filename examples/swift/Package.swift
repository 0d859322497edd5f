// swift-tools-version:6.0
// A program of its own that uses aefeatures as a dependency, as a Swift user's package would:
//     swift run --package-path examples/swift
// In your own Package.swift, point the dependency at a checkout or release of aefeatures:
//     .package(url: "<aefeatures repository>", from: "0.1.0")
import Foundation
import PackageDescription

// SwiftPM names a path dependency after its directory, whatever a checkout is called.
let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().appendingPathComponent("../..").standardized

let package = Package(
    name: "aefeatures-example",
    dependencies: [
        .package(path: "../.."),
    ],
    targets: [
        .executableTarget(
            name: "Example",
            dependencies: [.product(name: "AEFeatures", package: root.lastPathComponent)]
        ),
    ]
)

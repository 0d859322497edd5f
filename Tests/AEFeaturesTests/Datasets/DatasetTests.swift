import AEFDatasets
import XCTest

final class DatasetTests: XCTestCase {
    func testIDXParsesAndRejectsMalformedFiles() throws {
        let valid: [UInt8] = [0, 0, 8, 2, 0, 0, 0, 2, 0, 0, 0, 3, 1, 2, 3, 4, 5, 6]
        let parsed = try IDX.parse(valid, name: "t")
        XCTAssertEqual(parsed.dimensions, [2, 3])
        XCTAssertEqual(parsed.bytes, [1, 2, 3, 4, 5, 6])
        XCTAssertThrowsError(try IDX.parse(Array(valid.dropLast()), name: "t"))  // truncated data
        XCTAssertThrowsError(try IDX.parse(Array(valid.prefix(9)), name: "t"))   // truncated header
        XCTAssertThrowsError(try IDX.parse([0, 0, 0x0D, 1, 0, 0, 0, 1, 0, 0, 0, 0], name: "t"))  // floats, not bytes
        XCTAssertThrowsError(try IDX.read(path: "/nonexistent/file.gz"))
    }

    func testFashionMNISTWhenInstalled() throws {
        try XCTSkipUnless(FileManager.default.fileExists(atPath: FashionMNIST.defaultDirectory), "dataset-fashion-mnist not installed")
        let data = try FashionMNIST(split: .test, limit: 100)
        XCTAssertEqual(data.images.shape, [100, 784])
        XCTAssertEqual(data.labels.count, 100)
        XCTAssertTrue(data.labels.allSatisfy { (0..<10).contains($0) })
        XCTAssertTrue(data.images.scalars.allSatisfy { $0 >= 0 && $0 <= 1 })
        XCTAssertGreaterThan(data.images.scalars.max()!, 0.99)
    }
}

import Foundation

/// A numeric table read from or written to disk: `rows` samples of `columns` float32 values.
public struct Table {
    public var rows: Int
    public var columns: Int
    public var values: [Float]

    public init(rows: Int, columns: Int, values: [Float]) {
        self.rows = rows
        self.columns = columns
        self.values = values
    }
}

/// A one-line error for the command line: the message is all the user sees.
public struct CommandError: Error, CustomStringConvertible {
    public let description: String
    public init(_ message: String) { description = message }
}

/// Reads and writes the command line's data files, chosen by extension: `.npy` (NumPy format
/// 1.0–3.0, little-endian float32/float64/integer/uint8, C order; the first axis is samples and
/// the rest are flattened) or CSV (comma-separated numbers, one sample per line; a first line that
/// is not numeric is a header and skipped; blank lines are ignored).
public enum DataFiles {
    public static func read(_ path: String) throws -> Table {
        guard let data = FileManager.default.contents(atPath: path) else {
            throw CommandError("cannot read \(path): \(FileManager.default.fileExists(atPath: path) ? "permission denied or not a file" : "no such file")")
        }
        let table = path.lowercased().hasSuffix(".npy") ? try readNPY([UInt8](data), path) : try readCSV(data, path)
        guard table.rows > 0, table.columns > 0 else { throw CommandError("\(path) holds no data") }
        if let bad = table.values.firstIndex(where: { !$0.isFinite }) {
            throw CommandError("\(path): row \(bad / table.columns + 1), column \(bad % table.columns + 1) is \(table.values[bad]); the data must be finite")
        }
        return table
    }

    public static func write(_ table: Table, to path: String) throws {
        let bytes = path.lowercased().hasSuffix(".npy") ? npyBytes(table) : Array(csvText(table).utf8)
        guard FileManager.default.createFile(atPath: path, contents: Data(bytes)) else {
            throw CommandError("cannot write \(path)")
        }
    }

    // MARK: CSV

    private static func readCSV(_ data: Data, _ path: String) throws -> Table {
        guard let text = String(data: data, encoding: .utf8) else { throw CommandError("\(path) is not UTF-8 text") }
        var values: [Float] = [], columns = 0, rows = 0
        for (index, line) in text.split(omittingEmptySubsequences: false, whereSeparator: \.isNewline).enumerated() {
            let trimmed = line.trimmingCharacters(in: .whitespaces)
            if trimmed.isEmpty { continue }
            let fields = trimmed.split(separator: ",", omittingEmptySubsequences: false)
            let numbers = fields.map { Float($0.trimmingCharacters(in: .whitespaces)) }
            if index == 0 && numbers.contains(where: { $0 == nil }) { continue }  // a header line
            if let bad = numbers.firstIndex(where: { $0 == nil }) {
                throw CommandError("\(path), line \(index + 1), field \(bad + 1): '\(fields[bad])' is not a number")
            }
            if columns == 0 { columns = fields.count }
            guard fields.count == columns else {
                throw CommandError("\(path), line \(index + 1): \(fields.count) fields where earlier lines have \(columns)")
            }
            values += numbers.map { $0! }
            rows += 1
        }
        return Table(rows: rows, columns: columns, values: values)
    }

    private static func csvText(_ table: Table) -> String {
        var out = ""
        out.reserveCapacity(table.values.count * 10)
        for r in 0..<table.rows {
            let row = table.values[(r * table.columns)..<((r + 1) * table.columns)]
            out += row.map { "\($0)" }.joined(separator: ",")
            out += "\n"
        }
        return out
    }

    // MARK: .npy

    private static func readNPY(_ bytes: [UInt8], _ path: String) throws -> Table {
        func fail(_ why: String) -> CommandError { CommandError("\(path) is not a readable .npy file: \(why)") }
        guard bytes.count >= 10, bytes[0] == 0x93, Array(bytes[1..<6]) == Array("NUMPY".utf8) else { throw fail("bad magic") }
        let major = bytes[6]
        let headerStart = major == 1 ? 10 : 12
        guard [1, 2, 3].contains(major), bytes.count >= headerStart else { throw fail("format version \(major)") }
        let headerLength = major == 1 ? Int(bytes[8]) | Int(bytes[9]) << 8
                                      : (0..<4).reduce(0) { $0 | Int(bytes[8 + $1]) << (8 * $1) }
        guard bytes.count >= headerStart + headerLength,
              let header = String(bytes: bytes[headerStart..<(headerStart + headerLength)], encoding: .utf8) else { throw fail("truncated header") }
        func field(_ key: String) -> String? {
            guard let range = header.range(of: "'\(key)':") else { return nil }
            return String(header[range.upperBound...]).trimmingCharacters(in: .whitespaces)
        }
        guard let descr = field("descr")?.split(separator: "'").first.map(String.init) else { throw fail("no dtype") }
        guard field("fortran_order")?.hasPrefix("False") == true else { throw fail("Fortran order is not supported; save a C-ordered array") }
        guard let shapeText = field("shape"), let open = shapeText.firstIndex(of: "("), let close = shapeText.firstIndex(of: ")") else { throw fail("no shape") }
        let shape = shapeText[shapeText.index(after: open)..<close].split(separator: ",").compactMap { Int($0.trimmingCharacters(in: .whitespaces)) }
        guard !shape.isEmpty, shape.allSatisfy({ $0 >= 0 }) else { throw fail("shape \(shapeText[open...close])") }
        let rows = shape[0], columns = shape.dropFirst().reduce(1, *)
        let count = rows * columns, body = Array(bytes[(headerStart + headerLength)...])
        let decoders: [String: (size: Int, decode: (ArraySlice<UInt8>) -> Float)] = [
            "<f4": (4, { Float(bitPattern: little($0)) }),
            "<f8": (8, { Float(Double(bitPattern: little($0))) }),
            "<i4": (4, { Float(Int32(bitPattern: little($0))) }),
            "<i8": (8, { Float(Int64(bitPattern: little($0))) }),
            "|u1": (1, { Float($0.first!) }),
        ]
        guard let decoder = decoders[descr] else { throw fail("dtype \(descr); use float32, float64, int32, int64 or uint8") }
        guard body.count >= count * decoder.size else { throw fail("\(body.count) data bytes for shape \(shape)") }
        let values = (0..<count).map { decoder.decode(body[($0 * decoder.size)..<(($0 + 1) * decoder.size)]) }
        return Table(rows: rows, columns: columns, values: values)
    }

    private static func little<T: FixedWidthInteger>(_ bytes: ArraySlice<UInt8>) -> T {
        bytes.reversed().reduce(T(0)) { $0 << 8 | T($1) }
    }

    /// float32, C order, shape (rows, columns); a 1-column table is written as shape (rows,).
    private static func npyBytes(_ table: Table) -> [UInt8] {
        let shape = table.columns == 1 ? "(\(table.rows),)" : "(\(table.rows), \(table.columns))"
        var header = "{'descr': '<f4', 'fortran_order': False, 'shape': \(shape), }"
        // Magic (6) + version (2) + length (2) + header, padded with spaces to a multiple of 64, ending in \n.
        while (10 + header.utf8.count + 1) % 64 != 0 { header += " " }
        header += "\n"
        var bytes: [UInt8] = [0x93] + Array("NUMPY".utf8) + [1, 0, UInt8(header.utf8.count & 0xff), UInt8(header.utf8.count >> 8)]
        bytes += Array(header.utf8)
        for value in table.values { withUnsafeBytes(of: value.bitPattern.littleEndian) { bytes += $0 } }
        return bytes
    }
}

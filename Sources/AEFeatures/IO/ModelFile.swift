import Glibc

/// The model file format, version 1. All integers little-endian.
///
///     offset  size  field
///     0       8     magic "AEFMODEL"
///     8       4     format version (1)
///     12      4     reserved, 0
///     16      8     spec JSON length S
///     24      8     fitted-state JSON length M (history, threshold, whether fitted or scaled)
///     32      8     parameter count P
///     40      8     state count Q (BatchNorm running statistics)
///     48      8     scaler length R (0, or 2 x input size: offsets then factors)
///     56      S     spec JSON (UTF-8)
///             M     fitted-state JSON
///             4P    parameters, float32
///             4Q    state, float32
///             4R    scaler, float32
///     end-4   4     CRC-32 (IEEE) of every byte before it
///
/// Loading checks the size, the magic, the version and the checksum before parsing anything,
/// and every length against the bytes actually present, so a truncated, corrupted or foreign
/// file is an error and never causes a large allocation.
enum ModelFile {
    static let magic = Array("AEFMODEL".utf8)
    static let version: UInt32 = 1
    static let headerSize = 56

    struct FittedState: Codable {
        var fitted: Bool
        var threshold: Float?
        var history: TrainingHistory?
        /// The standardized and combined scores' weights; absent for the reconstruction score (and in older files).
        var errorWeights: [Float]?
        /// The combined score's code terms; absent for other scores.
        var codeDistances: CodeDistances?

        enum CodingKeys: String, CodingKey {
            case fitted, threshold, history, errorWeights = "error_weights", codeDistances = "code_distances"
        }
    }

    static func encode(_ model: Autoencoder) -> [UInt8] {
        let spec = Array(model.spec.json.utf8)
        let state = Array(SpecJSON.encode(FittedState(fitted: model.isFitted, threshold: model.threshold,
                                                      history: model.history, errorWeights: model.errorWeights,
                                                      codeDistances: model.codeDistances)).utf8)
        let parameters = model.network.parameters
        let scaler = model.scaler.map { $0.offset + $0.factor } ?? []
        var out = magic
        out.reserveCapacity(headerSize + spec.count + state.count + 4 * (parameters.parameterCount + parameters.state.count + scaler.count) + 4)
        append(UInt32(version), to: &out)
        append(UInt32(0), to: &out)
        for length in [spec.count, state.count, parameters.parameterCount, parameters.state.count, scaler.count] {
            append(UInt64(length), to: &out)
        }
        out += spec
        out += state
        appendFloats(parameters.values.base, count: parameters.parameterCount, to: &out)
        appendFloats(parameters.state.base, count: parameters.state.count, to: &out)
        scaler.withUnsafeBufferPointer { appendFloats($0.baseAddress, count: $0.count, to: &out) }
        append(CRC32.checksum(out), to: &out)
        return out
    }

    /// Float32 values as little-endian bytes: one copy on little-endian machines (all this
    /// library builds for), value by value elsewhere.
    private static func appendFloats(_ values: UnsafePointer<Float>?, count: Int, to out: inout [UInt8]) {
        guard let values, count > 0 else { return }
        #if _endian(little)
        out.append(contentsOf: UnsafeRawBufferPointer(start: values, count: 4 * count))
        #else
        for i in 0..<count { append(values[i].bitPattern, to: &out) }
        #endif
    }

    static func decode(_ bytes: UnsafeRawBufferPointer) throws -> Autoencoder {
        guard bytes.count >= headerSize + 4 else {
            throw AEError.corruptModel("\(bytes.count) bytes is too short for a model (at least \(headerSize + 4))")
        }
        guard Array(bytes[0..<8]) == magic else { throw AEError.corruptModel("not an aefeatures model (bad magic number)") }
        let fileVersion = read(UInt32.self, bytes, at: 8)
        guard fileVersion == version else {
            throw AEError.corruptModel("model format version \(fileVersion); this library reads version \(version)")
        }
        let stored = read(UInt32.self, bytes, at: bytes.count - 4)
        guard CRC32.checksum(UnsafeRawBufferPointer(rebasing: bytes[0..<(bytes.count - 4)])) == stored else {
            throw AEError.corruptModel("checksum mismatch: the model is truncated or corrupted")
        }
        // Lengths are checked against the bytes present before any is used for an allocation.
        var lengths: [Int] = []
        var remaining = UInt64(bytes.count - headerSize - 4)
        for (i, unit) in [1, 1, 4, 4, 4].enumerated() {
            let length = read(UInt64.self, bytes, at: 16 + 8 * i)
            guard length <= remaining / UInt64(unit) else { throw AEError.corruptModel("section \(i) overruns the file") }
            remaining -= length * UInt64(unit)
            lengths.append(Int(length))
        }
        guard remaining == 0 else { throw AEError.corruptModel("\(remaining) unexplained bytes") }

        var offset = headerSize
        func take(_ count: Int) -> UnsafeRawBufferPointer {
            defer { offset += count }
            return UnsafeRawBufferPointer(rebasing: bytes[offset..<(offset + count)])
        }
        let specText = String(decoding: take(lengths[0]), as: UTF8.self)
        let stateText = String(decoding: take(lengths[1]), as: UTF8.self)
        let model: Autoencoder
        do {
            model = try Autoencoder(spec: ModelSpec(json: specText), initializeWeights: false)
        } catch AEError.invalidSpec(let message) {
            throw AEError.corruptModel("stored spec: \(message)")
        }
        guard let state = try? JSONDecoding.decode(FittedState.self, from: stateText) else {
            throw AEError.corruptModel("fitted state is unreadable")
        }
        let parameters = model.network.parameters
        guard lengths[2] == parameters.parameterCount, lengths[3] == parameters.state.count else {
            throw AEError.corruptModel("weights do not match the spec (\(lengths[2]) + \(lengths[3]) values stored, " +
                                       "\(parameters.parameterCount) + \(parameters.state.count) expected)")
        }
        guard lengths[4] == 0 || lengths[4] == 2 * model.inputSize else {
            throw AEError.corruptModel("scaler has \(lengths[4]) values; expected 0 or \(2 * model.inputSize)")
        }
        func floats(_ count: Int, into destination: UnsafeMutablePointer<Float>) {
            let source = take(4 * count)
            #if _endian(little)
            if count > 0 { UnsafeMutableRawPointer(destination).copyMemory(from: source.baseAddress!, byteCount: 4 * count) }
            #else
            for i in 0..<count { destination[i] = Float(bitPattern: read(UInt32.self, source, at: 4 * i)) }
            #endif
        }
        floats(lengths[2], into: parameters.values.base)
        floats(lengths[3], into: parameters.state.base)
        var scalerValues = [Float](repeating: 0, count: lengths[4])
        scalerValues.withUnsafeMutableBufferPointer { floats(lengths[4], into: $0.baseAddress!) }
        guard Vector.allFinite(lengths[2], parameters.values.base), Vector.allFinite(lengths[3], parameters.state.base),
              scalerValues.allSatisfy(\.isFinite) else {
            throw AEError.corruptModel("stored weights are not finite")
        }
        guard state.fitted == (state.history != nil), !state.fitted || state.threshold != nil else {
            throw AEError.corruptModel("fitted state is inconsistent")
        }
        // A fitted standardized or combined model carries one positive weight per input value,
        // a combined one its code terms too; others neither.
        let score = state.fitted ? model.spec.score ?? .reconstruction : .reconstruction
        if score != .reconstruction || state.errorWeights != nil {
            guard score != .reconstruction, let weights = state.errorWeights, weights.count == model.inputSize,
                  weights.allSatisfy({ $0.isFinite && $0 > 0 }) else {
                throw AEError.corruptModel("the \(score.rawValue) score's error weights do not match the spec")
            }
        }
        if score == .combined || state.codeDistances != nil {
            guard score == .combined, let terms = state.codeDistances, terms.isValid(codeSize: model.codeSize) else {
                throw AEError.corruptModel("the combined score's code distances do not match the spec")
            }
        }
        let half = lengths[4] / 2
        model.scaler = lengths[4] == 0 ? nil : Scaler(offset: Array(scalerValues[0..<half]), factor: Array(scalerValues[half...]))
        model.history = state.history
        model.threshold = state.threshold
        model.errorWeights = state.errorWeights
        model.codeDistances = state.codeDistances
        return model
    }

    private static func append<T: FixedWidthInteger>(_ value: T, to out: inout [UInt8]) {
        withUnsafeBytes(of: value.littleEndian) { out += $0 }
    }

    private static func read<T: FixedWidthInteger>(_: T.Type, _ bytes: UnsafeRawBufferPointer, at offset: Int) -> T {
        var value = T.zero
        withUnsafeMutableBytes(of: &value) { $0.copyMemory(from: UnsafeRawBufferPointer(rebasing: bytes[offset..<(offset + MemoryLayout<T>.size)])) }
        return T(littleEndian: value)
    }
}

/// CRC-32 with the IEEE polynomial (as zlib and PNG), eight bytes a step ("slicing by 8": table k
/// holds the CRC of a byte followed by k zero bytes), about 1 GB/s instead of a byte-at-a-time
/// loop's 200 MB/s, which dominated saving and loading large models.
enum CRC32 {
    private static let tables: [UInt32] = {
        var t = [UInt32](repeating: 0, count: 8 * 256)
        for n in 0..<256 {
            var c = UInt32(n)
            for _ in 0..<8 { c = c & 1 != 0 ? 0xEDB8_8320 ^ (c >> 1) : c >> 1 }
            t[n] = c
        }
        for k in 1..<8 {
            for n in 0..<256 { t[k * 256 + n] = (t[(k - 1) * 256 + n] >> 8) ^ t[Int(t[(k - 1) * 256 + n] & 0xFF)] }
        }
        return t
    }()

    static func checksum(_ bytes: [UInt8]) -> UInt32 {
        bytes.withUnsafeBytes { checksum($0) }
    }

    static func checksum(_ bytes: UnsafeRawBufferPointer) -> UInt32 {
        var c: UInt32 = 0xFFFF_FFFF
        tables.withUnsafeBufferPointer { t in
            var i = 0
            let n = bytes.count
            while i + 8 <= n {
                let low = c ^ UInt32(littleEndian: bytes.loadUnaligned(fromByteOffset: i, as: UInt32.self))
                let high = UInt32(littleEndian: bytes.loadUnaligned(fromByteOffset: i + 4, as: UInt32.self))
                c = t[7 * 256 + Int(low & 0xFF)] ^ t[6 * 256 + Int((low >> 8) & 0xFF)]
                    ^ t[5 * 256 + Int((low >> 16) & 0xFF)] ^ t[4 * 256 + Int(low >> 24)]
                    ^ t[3 * 256 + Int(high & 0xFF)] ^ t[2 * 256 + Int((high >> 8) & 0xFF)]
                    ^ t[256 + Int((high >> 16) & 0xFF)] ^ t[Int(high >> 24)]
                i += 8
            }
            while i < n {
                c = t[Int((c ^ UInt32(bytes[i])) & 0xFF)] ^ (c >> 8)
                i += 1
            }
        }
        return c ^ 0xFFFF_FFFF
    }
}

extension Autoencoder {
    /// The model as bytes in the model file format (spec, weights, scaler, threshold, history).
    /// - Throws: `AEError.busy` while another thread fits the model.
    public func serialized() throws -> [UInt8] { try usage.shared { ModelFile.encode(self) } }

    /// A model from bytes written by `serialized()` or `save(to:)`.
    /// Throws `AEError.corruptModel` for anything truncated, corrupted, foreign or of another version.
    public static func deserialize(_ bytes: UnsafeRawBufferPointer) throws -> Autoencoder {
        try ModelFile.decode(bytes)
    }

    public static func deserialize(_ bytes: [UInt8]) throws -> Autoencoder {
        try bytes.withUnsafeBytes { try ModelFile.decode($0) }
    }

    /// Writes the model to `path` atomically: a temporary file in the same directory is written,
    /// flushed to disk and renamed over `path`, so `path` always holds the previous complete
    /// model or the new complete one, never a partial write.
    public func save(to path: String) throws {
        try AtomicFile.write(try serialized(), to: path)
    }

    /// Loads a model saved with `save(to:)`.
    public static func load(from path: String) throws -> Autoencoder {
        try deserialize(AtomicFile.read(path))
    }
}

/// File I/O with POSIX calls, so errors carry errno's text and saves are atomic.
enum AtomicFile {
    /// Files larger than this are refused before reading (no model comes near it).
    static let maximumSize = 1 << 34

    static func write(_ bytes: [UInt8], to path: String) throws {
        let slash = path.lastIndex(of: "/")
        let directory = slash.map { path[...$0] }.map(String.init) ?? "./"
        let name = slash.map { String(path[path.index(after: $0)...]) } ?? path
        guard !name.isEmpty else { throw AEError.io("\(path) names a directory, not a file") }
        let temporary = "\(directory).\(name).tmp-\(getpid())-\(UInt32.random(in: 0...UInt32.max))"
        let fd = open(temporary, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0o644)
        guard fd >= 0 else { throw AEError.io("cannot create \(temporary): \(String(cString: strerror(errno)))") }
        var failure: String?
        bytes.withUnsafeBytes { raw in
            var written = 0
            while written < raw.count {
                let n = Glibc.write(fd, raw.baseAddress! + written, raw.count - written)
                if n < 0 { if errno == EINTR { continue }; failure = "write failed: \(String(cString: strerror(errno)))"; return }
                written += n
            }
        }
        if failure == nil && fsync(fd) != 0 { failure = "fsync failed: \(String(cString: strerror(errno)))" }
        if close(fd) != 0 && failure == nil { failure = "close failed: \(String(cString: strerror(errno)))" }
        if failure == nil && rename(temporary, path) != 0 { failure = "cannot rename onto \(path): \(String(cString: strerror(errno)))" }
        if let failure {
            unlink(temporary)
            throw AEError.io(failure)
        }
        // Make the rename itself durable.
        let dirfd = open(directory, O_RDONLY | O_DIRECTORY | O_CLOEXEC)
        if dirfd >= 0 { fsync(dirfd); close(dirfd) }
    }

    static func read(_ path: String) throws -> [UInt8] {
        let fd = open(path, O_RDONLY | O_CLOEXEC)
        guard fd >= 0 else { throw AEError.io("cannot open \(path): \(String(cString: strerror(errno)))") }
        defer { close(fd) }
        var info = stat()
        guard fstat(fd, &info) == 0 else { throw AEError.io("cannot stat \(path): \(String(cString: strerror(errno)))") }
        guard (info.st_mode & S_IFMT) == S_IFREG else { throw AEError.io("\(path) is not a regular file") }
        let size = Int(info.st_size)
        guard size <= maximumSize else { throw AEError.corruptModel("\(path) is \(size) bytes, larger than any model") }
        var bytes = [UInt8](repeating: 0, count: size)
        var done = 0
        try bytes.withUnsafeMutableBytes { raw in
            while done < size {
                let n = Glibc.read(fd, raw.baseAddress! + done, size - done)
                if n < 0 { if errno == EINTR { continue }; throw AEError.io("read failed: \(String(cString: strerror(errno)))") }
                if n == 0 { break }
                done += n
            }
        }
        return Array(bytes[0..<done])
    }
}

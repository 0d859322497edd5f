// What every C entry point shares: each runs its body inside `guarded`, which turns any thrown
// error into a status code and a thread-local message, and validates every pointer and size with
// the checks below before the engine sees them, so nothing traps on bad input.
import AEFeatures

#if canImport(Glibc)
import Glibc
#endif

/// A failure found at the boundary itself.
struct BoundaryError: Error {
    let status: Status
    let message: String
}

// MARK: Thread-local error message

/// Each thread's last message, a malloc'd C string freed when replaced or when the thread exits.
let errorKey: pthread_key_t = {
    var key = pthread_key_t()
    pthread_key_create(&key) { free($0) }
    return key
}()

let emptyString: UnsafePointer<CChar> = UnsafePointer(strdup("")!)

func setLastError(_ message: String) {
    free(pthread_getspecific(errorKey))
    pthread_setspecific(errorKey, strdup(message))
}

/// Runs `body`, mapping every error to a status and recording its message for this thread.
func guarded(_ function: String, _ body: () throws -> Status) -> Int32 {
    do {
        return try body().rawValue
    } catch let error as BoundaryError {
        setLastError("\(function): \(error.message)")
        return error.status.rawValue
    } catch let error as AEError {
        setLastError("\(function): \(error)")
        switch error {
        case .invalidSpec: return Status.invalidSpec.rawValue
        case .invalidInput: return Status.invalidArgument.rawValue
        case .notFitted: return Status.notFitted.rawValue
        case .diverged: return Status.diverged.rawValue
        case .io: return Status.io.rawValue
        case .corruptModel: return Status.corruptModel.rawValue
        case .busy: return Status.busy.rawValue
        }
    } catch {
        setLastError("\(function): internal error: \(error)")
        return Status.internalError.rawValue
    }
}

// MARK: Argument checks

func required<T>(_ pointer: T?, _ name: String) throws -> T {
    guard let pointer else { throw BoundaryError(status: .nullArgument, message: "\(name) is NULL") }
    return pointer
}

func model(_ handle: OpaquePointer?) throws -> Autoencoder {
    Unmanaged<Autoencoder>.fromOpaque(UnsafeRawPointer(try required(handle, "model"))).takeUnretainedValue()
}

func newHandle(_ model: Autoencoder) -> OpaquePointer {
    OpaquePointer(Unmanaged.passRetained(model).toOpaque())
}

/// size_t arrives as Int: a value above Int.max reads as negative and is refused here.
func checkedSize(_ value: Int, _ name: String) throws -> Int {
    guard value >= 0 else { throw BoundaryError(status: .invalidArgument, message: "\(name) is larger than any buffer can be") }
    return value
}

/// A capacity above Int.max (say SIZE_MAX, "plenty") is as good as Int.max.
func effectiveCapacity(_ value: Int) -> Int { value < 0 ? Int.max : value }

/// x as a buffer of n_samples x sample_size values, after checking the pointer and the sizes.
func samples(_ x: UnsafePointer<Float>?, _ count: Int, _ sampleSize: Int, of model: Autoencoder,
                     name: String = "x", width: Int? = nil, widthName: String = "sample_size") throws -> UnsafeBufferPointer<Float> {
    let expected = width ?? model.inputSize
    guard sampleSize == expected else {
        throw BoundaryError(status: .invalidArgument,
                            message: "\(widthName) is \(sampleSize); this model takes \(expected) values per sample")
    }
    guard try checkedSize(count, "n_samples") > 0 else {
        throw BoundaryError(status: .invalidArgument, message: "\(name) is empty (0 samples)")
    }
    let (total, overflow) = count.multipliedReportingOverflow(by: sampleSize)
    guard !overflow, total <= Int.max / 4 else {
        throw BoundaryError(status: .invalidArgument, message: "\(count) samples of \(sampleSize) values overflow the address space")
    }
    return UnsafeBufferPointer(start: try required(x, name), count: total)
}

/// Elements an output kind needs for `rows` samples.
func outputCount(_ kind: OutputKind, rows: Int, of model: Autoencoder) throws -> Int {
    _ = try checkedSize(rows, "n_samples")
    let width = kind.width(of: model)
    let (total, overflow) = rows.multipliedReportingOverflow(by: width)
    guard !overflow else { throw BoundaryError(status: .invalidArgument, message: "\(rows) samples overflow the output size") }
    return total
}

func output<T>(_ out: UnsafeMutablePointer<T>?, capacity rawCapacity: Int, needed: Int) throws -> UnsafeMutableBufferPointer<T> {
    let out = try required(out, "out")
    let capacity = effectiveCapacity(rawCapacity)
    guard capacity >= needed else {
        throw BoundaryError(status: .bufferTooSmall, message: "out has room for \(capacity) elements; \(needed) needed")
    }
    return UnsafeMutableBufferPointer(start: out, count: needed)
}

/// Copies bytes (plus a NUL for text) into a caller buffer, or only reports the size.
func fill(_ bytes: [UInt8], into buffer: UnsafeMutableRawPointer?, capacity rawCapacity: Int,
                  needed: UnsafeMutablePointer<Int>?) throws -> Status {
    let needed = try required(needed, "out_needed")
    needed.pointee = bytes.count
    guard let buffer else { return .ok }
    guard effectiveCapacity(rawCapacity) >= bytes.count else {
        throw BoundaryError(status: .bufferTooSmall, message: "buffer has \(rawCapacity) bytes; \(bytes.count) needed")
    }
    bytes.withUnsafeBytes { buffer.copyMemory(from: $0.baseAddress!, byteCount: bytes.count) }
    return .ok
}

func string(_ text: UnsafePointer<CChar>?, _ name: String) throws -> String {
    let text = try required(text, name)
    guard let value = String(validatingCString: text) else {
        throw BoundaryError(status: .invalidArgument, message: "\(name) is not valid UTF-8")
    }
    return value
}

/// Every failure the engine reports. Nothing in the engine traps on user input: it throws one of these.
public enum AEError: Error, Equatable, CustomStringConvertible {
    /// The model specification is malformed or a value is out of range; the message names the field.
    case invalidSpec(String)
    /// Data passed in has the wrong shape, is empty, or holds NaN/Inf.
    case invalidInput(String)
    /// The operation needs a fitted model.
    case notFitted
    /// The training loss became NaN or infinite; the model keeps its last good weights.
    case diverged(String)
    /// Reading or writing a model file failed.
    case io(String)
    /// A model file or buffer is truncated, corrupted, of another format version, or foreign.
    case corruptModel(String)
    /// Another thread is fitting the model, or fit was called while other calls use it.
    case busy(String)

    public var description: String {
        switch self {
        case .invalidSpec(let m): return "invalid spec: \(m)"
        case .invalidInput(let m): return "invalid input: \(m)"
        case .notFitted: return "model is not fitted: call fit first"
        case .diverged(let m): return "training diverged: \(m)"
        case .io(let m): return "i/o error: \(m)"
        case .corruptModel(let m): return "corrupt model: \(m)"
        case .busy(let m): return "model in use: \(m)"
        }
    }
}

// The C ABI's enumerations, mirrored from include/aefeatures.h (the single source: the Swift test
// CAPIConstantsTests and the Python test test_abi_constants.py read the header and fail on any
// difference in a name or a value).
import AEFeatures

/// `aef_status`.
enum Status: Int32, CaseIterable {
    case ok = 0, nullArgument, invalidArgument, invalidSpec, notFitted, diverged, bufferTooSmall, io,
         corruptModel, internalError, cancelled, busy

    var name: String {
        switch self {
        case .ok: return "AEF_OK"
        case .nullArgument: return "AEF_ERR_NULL_ARGUMENT"
        case .invalidArgument: return "AEF_ERR_INVALID_ARGUMENT"
        case .invalidSpec: return "AEF_ERR_INVALID_SPEC"
        case .notFitted: return "AEF_ERR_NOT_FITTED"
        case .diverged: return "AEF_ERR_DIVERGED"
        case .bufferTooSmall: return "AEF_ERR_BUFFER_TOO_SMALL"
        case .io: return "AEF_ERR_IO"
        case .corruptModel: return "AEF_ERR_CORRUPT_MODEL"
        case .internalError: return "AEF_ERR_INTERNAL"
        case .cancelled: return "AEF_CANCELLED"
        case .busy: return "AEF_ERR_BUSY"
        }
    }
}

/// `aef_output`: what an inference call writes, and how many values a sample.
enum OutputKind: Int32, CaseIterable {
    case features = 0, reconstruction, scores, featureErrors, labels

    var name: String {
        switch self {
        case .features: return "AEF_OUTPUT_FEATURES"
        case .reconstruction: return "AEF_OUTPUT_RECONSTRUCTION"
        case .scores: return "AEF_OUTPUT_SCORES"
        case .featureErrors: return "AEF_OUTPUT_FEATURE_ERRORS"
        case .labels: return "AEF_OUTPUT_LABELS"
        }
    }

    func width(of model: Autoencoder) -> Int {
        switch self {
        case .features: return model.codeSize
        case .reconstruction, .featureErrors: return model.inputSize
        case .scores, .labels: return 1
        }
    }
}

/// `aef_onnx_graph`.
enum ONNXGraphID: Int32, CaseIterable {
    case encoder = 0, autoencoder, scorer, decoder

    var name: String {
        switch self {
        case .encoder: return "AEF_ONNX_ENCODER"
        case .autoencoder: return "AEF_ONNX_AUTOENCODER"
        case .scorer: return "AEF_ONNX_SCORER"
        case .decoder: return "AEF_ONNX_DECODER"
        }
    }

    var kind: ONNXGraphKind {
        switch self {
        case .encoder: return .encoder
        case .autoencoder: return .autoencoder
        case .scorer: return .scorer
        case .decoder: return .decoder
        }
    }
}

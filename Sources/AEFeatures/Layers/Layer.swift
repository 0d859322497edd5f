/// Whether a forward pass is part of training (batch statistics, dropout) or inference.
public enum Phase: Sendable { case training, inference }

/// A layer maps a batch of `batch` samples of `inputSize` floats to `batch` x `outputSize` floats,
/// all row-major. A layer object holds no per-call data: activations and anything the backward
/// pass needs (`scratch`) live in a workspace owned by the caller, which is what lets many
/// threads run inference on one model at once.
protocol Layer: AnyObject {
    var inputSize: Int { get }
    var outputSize: Int { get }
    /// Trainable parameters, laid out contiguously in the model's parameter block.
    var parameterCount: Int { get }
    /// Non-trainable persistent values (running statistics), saved with the model.
    var stateCount: Int { get }
    /// Floats of per-call scratch needed for a batch of `batch` samples.
    func scratchCount(batch: Int) -> Int
    /// A layer earlier in the network whose scratch this one reads in the same pass (unpooling
    /// reads its pool's switches): the workspace then hands both layers one buffer.
    var readsScratchOf: Layer? { get }
    /// Multiply-add FLOPs (2 per MAC) of the layer's GEMM per sample in a forward pass; its
    /// weight-gradient and input-gradient GEMMs cost the same each. 0 for elementwise layers.
    var gemmFlopsPerSample: Int { get }

    func bind(parameters: UnsafeMutablePointer<Float>, gradients: UnsafeMutablePointer<Float>,
              state: UnsafeMutablePointer<Float>)
    func initialize(_ rng: inout RandomSource)

    /// y = f(x). In training it fills `scratch` for `backward`.
    func forward(_ x: UnsafePointer<Float>, _ y: UnsafeMutablePointer<Float>, batch: Int,
                 scratch: UnsafeMutablePointer<Float>, phase: Phase, rng: inout RandomSource)

    /// Whether `backward` reads the output `y` (the activations, whose derivatives are written in
    /// terms of it). Other layers' outputs may be overwritten before their backward runs.
    var backwardReadsOutput: Bool { get }
    /// Whether `forward` may write y over x, and `backward` dx over dy (same size, elementwise,
    /// and backward reads no x): a training workspace then gives the two one buffer.
    var worksInPlace: Bool { get }

    /// Adds dLoss/dparameters into the gradient region and writes dLoss/dx into `dx` (when
    /// non-nil; the first layer of a network needs no input gradient).
    func backward(_ x: UnsafePointer<Float>, _ y: UnsafePointer<Float>, _ dy: UnsafePointer<Float>,
                  _ dx: UnsafeMutablePointer<Float>?, batch: Int, scratch: UnsafeMutablePointer<Float>)

    /// Appends the layer's inference computation to an ONNX graph: reads `x`, returns the output.
    func exportONNX(_ graph: inout ONNXGraph, _ x: ONNXGraph.Value) -> ONNXGraph.Value
}

extension Layer {
    var parameterCount: Int { 0 }
    var stateCount: Int { 0 }
    func scratchCount(batch: Int) -> Int { 0 }
    var readsScratchOf: Layer? { nil }
    var backwardReadsOutput: Bool { false }
    var worksInPlace: Bool { false }
    var gemmFlopsPerSample: Int { 0 }
    func bind(parameters: UnsafeMutablePointer<Float>, gradients: UnsafeMutablePointer<Float>,
              state: UnsafeMutablePointer<Float>) {}
    func initialize(_ rng: inout RandomSource) {}
}

/// A layer whose inference reads its weights in another layout (packed for a kernel, or
/// transposed), which it writes at the start of its scratch. Its `forward` in inference packs on
/// every call; `Network.infer` instead packs once into a workspace it keeps between calls and
/// then calls `inferPacked`, for as long as the weights stay the same (Network.weightsGeneration).
/// The packs never depend on the batch size.
protocol PackedInference: Layer {
    /// Writes the packed weights at the start of `scratch`.
    func packWeights(into scratch: UnsafeMutablePointer<Float>)
    /// Inference that reads the packs `packWeights` left at the start of `scratch`.
    func inferPacked(_ x: UnsafePointer<Float>, _ y: UnsafeMutablePointer<Float>, batch: Int,
                     scratch: UnsafeMutablePointer<Float>)
}

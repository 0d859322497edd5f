/// All numbers a model owns, in three contiguous regions: trainable values, their gradients
/// (same layout), and non-trainable state such as BatchNorm running statistics. Layers hold
/// pointers into these regions, so optimizers, clipping, snapshots and files each deal with one
/// flat array instead of a list of tensors.
final class ParameterBlock {
    let values: FloatBuffer
    let gradients: FloatBuffer
    let state: FloatBuffer

    /// Lays out `layers` one after another and binds each to its slice.
    init(layers: [Layer]) {
        let parameterTotal = layers.reduce(0) { $0 + $1.parameterCount }
        let stateTotal = layers.reduce(0) { $0 + $1.stateCount }
        parameterCount = parameterTotal
        // Padded to whole vectors so optimizers run without a scalar tail; the padding stays 0.
        let padded = FloatBuffer.paddedToVectors(parameterTotal)
        values = FloatBuffer(count: padded)
        gradients = FloatBuffer(count: padded)
        state = FloatBuffer(count: stateTotal)
        var p = 0, s = 0
        for layer in layers {
            layer.bind(parameters: values.base + p, gradients: gradients.base + p, state: state.base + s)
            p += layer.parameterCount
            s += layer.stateCount
        }
    }

    /// Trainable values, without the padding.
    let parameterCount: Int

    /// The trainable values (without padding) as an array.
    var valueArray: [Float] { Array(UnsafeBufferPointer(start: values.base, count: parameterCount)) }
    var gradientArray: [Float] { Array(UnsafeBufferPointer(start: gradients.base, count: parameterCount)) }

    /// Values and state in one array: what a snapshot (early stopping, divergence) restores.
    func snapshot() -> [Float] { valueArray + state.array }

    func restore(_ snapshot: [Float]) {
        snapshot.withUnsafeBufferPointer { src in
            values.base.update(from: src.baseAddress!, count: parameterCount)
            state.base.update(from: src.baseAddress! + parameterCount, count: state.count)
        }
    }
}

/// Turns a spec into layers. Dense family:
///   encoder: [Dense → BatchNorm? → activation → Dropout?] per hidden width
///   code:    Dense → code_activation            (the code is this activation's output)
///   decoder: [Dense → BatchNorm? → activation → Dropout?] per decoder width
///   output:  Dense → output_activation
enum NetworkBuilder {
    static func build(_ spec: ModelSpec) -> Network {
        var layers: [Layer] = []
        var width = spec.inputSize

        func block(_ units: Int, _ activation: ActivationFunction, hidden: Bool) {
            layers.append(Dense(inputSize: width, outputSize: units, initialisation: activation.preferredInitialisation))
            if hidden && spec.batchNorm { layers.append(BatchNorm(channels: units)) }
            layers.append(Activation(size: units, function: activation))
            if hidden && spec.dropout > 0 { layers.append(Dropout(size: units, rate: spec.dropout)) }
            width = units
        }

        for units in spec.hiddenUnits { block(units, spec.activation, hidden: true) }
        block(spec.codeSize, spec.codeActivation, hidden: false)
        let codeLayerIndex = layers.count - 1
        for units in spec.decoderUnits { block(units, spec.activation, hidden: true) }
        block(spec.inputSize, spec.outputActivation, hidden: false)
        return Network(layers: layers, codeLayerIndex: codeLayerIndex)
    }
}

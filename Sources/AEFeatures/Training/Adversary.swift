/// The adversarial autoencoder's extra phases. A discriminator network D (its own layers,
/// parameter block and optimizer) maps a code to a logit for "drawn from the prior". After each
/// reconstruction step:
///   discriminator phase: minimise BCE(D(prior sample), 1) + BCE(D(code), 0) over D's weights;
///   generator phase:     minimise BCE(D(code), 1) over the encoder's weights (its own optimizer),
/// so the distribution of codes is pushed towards the prior.
final class Adversary {
    let settings: AdversarialSettings
    let discriminator: Network
    private let discriminatorWorkspace: Workspace
    private let discriminatorOptimizer: Optimizer
    private let generatorOptimizer: Optimizer
    /// Trainable values of layers 0...code, rounded up to whole optimizer vectors: the extra
    /// decoder values get zero gradients here, so the generator optimizer never moves them.
    let encoderParameterCount: Int
    private var rng: RandomSource
    /// Targets: ones for "prior", zeros for "code".
    private let ones, zeros: FloatBuffer

    init(settings: AdversarialSettings, network: Network, training: TrainingSpec, batch: Int, seed: UInt64) {
        self.settings = settings
        var layers: [Layer] = []
        var width = network.codeSize
        for units in settings.discriminatorUnits {
            layers.append(Dense(inputSize: width, outputSize: units, initialization: .he))
            layers.append(Activation(size: units, function: .leakyRelu))
            width = units
        }
        layers.append(Dense(inputSize: width, outputSize: 1, initialization: .glorot))
        discriminator = Network(layers: layers, codeLayerIndex: layers.count - 1)
        discriminator.initialize(seed: seed ^ 0xADE5)
        discriminatorWorkspace = Workspace(network: discriminator, capacity: batch, training: true)
        var discriminatorTraining = training
        discriminatorTraining.learningRate = settings.discriminatorLearningRate
        discriminatorOptimizer = Optimizer(settings: discriminatorTraining, parameterCount: discriminator.parameters.values.count)
        let encoder = network.layers[0...network.codeLayerIndex].reduce(0) { $0 + $1.parameterCount }
        encoderParameterCount = Swift.min(network.parameters.values.count, FloatBuffer.paddedToVectors(encoder))
        var generatorTraining = training
        generatorTraining.learningRate = settings.generatorRate(trainingRate: training.learningRate)
        generatorOptimizer = Optimizer(settings: generatorTraining, parameterCount: encoderParameterCount)
        rng = RandomSource(seed: seed, stream: .sampling)
        ones = FloatBuffer(count: batch)
        ones.base.update(repeating: 1, count: batch)
        zeros = FloatBuffer(count: batch)
    }

    /// One draw from the prior per value.
    func drawPrior(into z: UnsafeMutablePointer<Float>, count: Int) {
        for i in 0..<count { z[i] = settings.draw(&rng) }
    }

    /// BCE of D on `codes` against `target`; adds D's weight gradients and, when `codeGradient`
    /// is given, writes ∂loss/∂codes there. Returns the loss.
    func discriminate(_ codes: UnsafePointer<Float>, batch: Int, target: FloatBuffer,
                      codeGradient: UnsafeMutablePointer<Float>?) -> Double {
        let ws = discriminatorWorkspace, top = discriminator.layers.count
        ws.activations[0].base.update(from: codes, count: batch * discriminator.inputSize)
        discriminator.forward(ws, batch: batch, layers: 0..<top, phase: .training, rng: &rng)
        let loss = LossFunction.bce.lossAndGradient(output: ws.activations[top].base, target: target.base, count: batch,
                                                    gradient: ws.gradients[top].base)
        discriminator.backward(ws, batch: batch, layers: 0..<top)
        // Layer 0 gets no input gradient from Network.backward; compute it for the generator.
        if let codeGradient, let first = discriminator.layers[0] as? Dense {
            BLAS.gemm(m: batch, n: first.inputs, k: first.units, ws.gradients[1].base, first.weight, codeGradient)
        }
        return loss
    }

    /// The discriminator phase on a batch of codes. Returns its loss.
    @discardableResult
    func trainDiscriminator(codes: UnsafePointer<Float>, batch: Int, priorScratch: UnsafeMutablePointer<Float>) -> Double {
        let block = discriminator.parameters
        block.gradients.zero()
        drawPrior(into: priorScratch, count: batch * discriminator.inputSize)
        let loss = discriminate(priorScratch, batch: batch, target: ones, codeGradient: nil)
            + discriminate(codes, batch: batch, target: zeros, codeGradient: nil)
        discriminatorOptimizer.update(block.values.base, gradients: block.gradients.base, count: block.values.count)
        return loss
    }

    /// The generator phase: the encoder's forward pass on `workspace.activations[0]` must be in
    /// place; backpropagates BCE(D(code), 1) through the encoder and steps its weights.
    @discardableResult
    func trainGenerator(_ network: Network, _ workspace: Workspace, batch: Int) -> Double {
        let loss = generatorGradient(network, workspace, batch: batch)
        let block = network.parameters
        generatorOptimizer.update(block.values.base, gradients: block.gradients.base, count: encoderParameterCount)
        return loss
    }

    /// The generator loss and its gradient in the autoencoder's gradient block (encoder part;
    /// the rest zero). Separate from the step so tests can check it.
    func generatorGradient(_ network: Network, _ workspace: Workspace, batch: Int) -> Double {
        let code = network.codeLayerIndex
        network.parameters.gradients.zero()
        let loss = discriminate(workspace.activations[code + 1].base, batch: batch, target: ones,
                                codeGradient: workspace.gradients[code + 1].base)
        network.backward(workspace, batch: batch, layers: 0..<(code + 1))
        return loss
    }
}

import XCTest
@testable import AEFeatures

final class SpecTests: XCTestCase {
    func testDefaultsAreFilledInAndJSONRoundTrips() throws {
        let spec = try ModelSpec(json: #"{"variant":"denoising","input_shape":[28,28],"hidden_units":[256,128],"code_size":32}"#)
        XCTAssertEqual(spec.decoderUnits, [128, 256], "mirrored decoder")
        XCTAssertEqual(spec.activation, .elu)
        XCTAssertEqual(spec.codeActivation, .sigmoid)
        XCTAssertEqual(spec.outputActivation, .sigmoid, "min-max scaled data gets a sigmoid output")
        XCTAssertEqual(spec.noise, Corruption(kind: .gaussian, level: 0.1))
        XCTAssertEqual(spec.training.optimizer, .adam)
        XCTAssertEqual(spec.training.learningRate, 1e-3)
        XCTAssertEqual(spec.inputSize, 784)
        XCTAssertEqual(try ModelSpec(json: spec.json), spec)

        let everything = try ModelSpec(json: #"""
            {"variant":"sparse","input_shape":[12],"hidden_units":[8],"decoder_units":[6,9],"code_size":4,
             "activation":"leaky_relu","code_activation":"sigmoid","output_activation":"identity","batch_norm":"before",
             "dropout":0.25,"input_dropout":0.1,"loss":"mse","scaling":"standard","noise":{"type":"salt_and_pepper","level":0.05},
             "sparsity":{"type":"kl","target":0.1,"weight":2},"contractive_weight":0.01,"contamination":0.02,"seed":7,
             "training":{"optimizer":"rmsprop","learning_rate":0.01,"epochs":3,"batch_size":16,"shuffle":false,
                         "validation_split":0.1,"early_stopping":{"patience":2,"min_delta":0.01,"restore_best_weights":false},
                         "clip_norm":1.5,"momentum":0.5,"beta1":0.8,"beta2":0.99,"rho":0.95,"epsilon":1e-6,
                         "learning_rate_schedule":{"type":"plateau","factor":0.5,"patience":3,"step_epochs":4,"min_delta":0.001,"min_learning_rate":0.0001}}}
            """#)
        XCTAssertEqual(try ModelSpec(json: everything.json), everything)
        XCTAssertEqual(everything.training.earlyStopping?.restoreBestWeights, false)
        XCTAssertEqual(everything.decoderUnits, [6, 9])
        XCTAssertEqual(everything.batchNorm, .before)
        XCTAssertEqual(everything.inputDropout, 0.1)
        XCTAssertEqual(everything.training.learningRateSchedule?.patience, 3)
        XCTAssertEqual(try ModelSpec(json: #"{"input_shape":[3],"code_size":2,"noise":{"type":"uniform"}}"#).noise,
                       Corruption(kind: .uniform, level: 0.1), "the study's noise: 0.1 · U(0, 1)")
    }

    func testStandardScalingDefaultsToALinearOutput() throws {
        XCTAssertEqual(try ModelSpec(json: #"{"input_shape":[3],"code_size":2,"scaling":"standard"}"#).outputActivation, .identity)
        XCTAssertEqual(try ModelSpec(json: #"{"input_shape":[3],"code_size":2,"scaling":"none","loss":"bce"}"#).outputActivation, .sigmoid)
    }

    func testInvalidSpecsNameTheField() {
        let cases: [(String, String)] = [
            (#"{"input_shape":[3],"code_size":2,"colour":"red"}"#, "unknown field 'colour'"),
            (#"{"input_shape":[3],"code_size":2,"training":{"epoch":3}}"#, "unknown field 'training.epoch'"),
            (#"{"input_shape":[3],"code_size":2,"noise":{"type":"gaussian","sigma":1}}"#, "unknown field 'noise.sigma'"),
            (#"{"input_shape":[3]}"#, "required field 'code_size'"),
            (#"{"code_size":3}"#, "required field 'input_shape'"),
            (#"{"input_shape":[3],"code_size":0}"#, "'code_size'"),
            (#"{"input_shape":[3],"code_size":2,"hidden_units":[4,0]}"#, "'hidden_units'"),
            (#"{"input_shape":[0],"code_size":2}"#, "'input_shape'"),
            (#"{"input_shape":[100000,100000],"code_size":2}"#, "'input_shape'"),
            (#"{"input_shape":[3],"code_size":2,"training":{"learning_rate":-0.1}}"#, "'training.learning_rate'"),
            (#"{"input_shape":[3],"code_size":2,"training":{"epochs":0}}"#, "'training.epochs'"),
            (#"{"input_shape":[3],"code_size":2,"training":{"batch_size":-4}}"#, "'training.batch_size'"),
            (#"{"input_shape":[3],"code_size":2,"training":{"validation_split":1}}"#, "'training.validation_split'"),
            (#"{"input_shape":[3],"code_size":2,"training":{"early_stopping":{"patience":0}}}"#, "'training.early_stopping.patience'"),
            (#"{"input_shape":[3],"code_size":2,"training":{"clip_norm":0}}"#, "'training.clip_norm'"),
            (#"{"input_shape":[3],"code_size":2,"training":{"beta2":1}}"#, "'training.beta2'"),
            (#"{"input_shape":[3],"code_size":2,"dropout":1}"#, "'dropout'"),
            (#"{"input_shape":[3],"code_size":2,"variant":"fancy"}"#, "'variant' is 'fancy'"),
            (#"{"input_shape":[3],"code_size":2,"activation":"swish"}"#, "'activation' is 'swish'"),
            (#"{"input_shape":[3],"code_size":2,"training":{"optimizer":"lbfgs"}}"#, "'training.optimizer' is 'lbfgs'"),
            (#"{"input_shape":[3],"code_size":"two"}"#, "'code_size' must be a number"),
            (#"{"input_shape":[3],"code_size":2,"training":{"epochs":1.5}}"#, "'training.epochs' must be an integer"),
            (#"{"input_shape":[3.5],"code_size":2}"#, "'input_shape' must be an integer"),
            (#"{"input_shape":[3],"code_size":2.5}"#, "'code_size' must be an integer"),
            (#"{"input_shape":"3","code_size":2}"#, "'input_shape'"),
            (#"{"input_shape":[3],"code_size":null}"#, "'code_size'"),
            (#"{"input_shape":[3],"code_size":2,"loss":"bce","output_activation":"tanh"}"#, "'output_activation'"),
            (#"{"input_shape":[3],"code_size":2,"sparsity":{"type":"kl","target":1.5}}"#, "'sparsity.target'"),
            (#"{"input_shape":[3],"code_size":2,"code_activation":"relu","sparsity":{"type":"kl"}}"#, "'code_activation'"),
            (#"{"input_shape":[3],"code_size":2,"noise":{"type":"masking","level":2}}"#, "'noise.level'"),
            (#"{"input_shape":[3],"code_size":2,"contractive_weight":-1}"#, "'contractive_weight'"),
            (#"{"input_shape":[3],"code_size":2,"contamination":0.7}"#, "'contamination'"),
            (#"{"input_shape":[3],"code_size":2,"score":"zscore"}"#, "'score' is 'zscore'"),
            (#"{"input_shape":[3],"code_size":2,"score":1}"#, "'score'"),
            (#"{"input_shape":[3],"code_size":2,"batch_norm":"inside"}"#, "'batch_norm' must be true, false, 'after' or 'before'"),
            (#"{"input_shape":[3],"code_size":2,"batch_norm":1}"#, "'batch_norm' must be true, false, 'after' or 'before'"),
            (#"{"input_shape":[3],"code_size":2,"input_dropout":1}"#, "'input_dropout' must be in [0, 1)"),
            (#"{"input_shape":[3],"code_size":2,"input_dropout":"half"}"#, "'input_dropout' must be a number"),
            (#"{"input_shape":[3],"code_size":2,"noise":{"type":"uniform","level":-0.1}}"#, "'noise.level' must be finite and >= 0"),
            (#"{"input_shape":[3],"code_size":2,"noise":{"type":"poisson","level":0}}"#, "'noise.level' must be finite and > 0"),
            (#"{"input_shape":[3],"hidden_units":[2],"code_size":1,"decoder_units":[3],"tied_weights":true}"#,
             "'tied_weights' needs decoder_units [2] (hidden_units reversed), not [3]"),
            (#"{"variant":"variational","input_shape":[3],"code_size":1,"tied_weights":true}"#,
             "'tied_weights' is only for dense autoencoders without a variational code, not variational"),
            (#"{"variant":"conv1d","input_shape":[8],"conv_blocks":[{"filters":2,"kernel":3}],"tied_weights":true}"#,
             "'tied_weights' is only for dense autoencoders"),
            (#"{"input_shape":[3],"code_size":1,"tied_weights":1}"#, "'tied_weights'"),
            (#"{"input_shape":[3],"code_size":1,"peephole":true}"#, "'peephole' is only for seq2seq, not dense"),
            (#"{"input_shape":[3],"code_size":2,"training":{"learning_rate_schedule":{"type":"linear"}}}"#, "'training.learning_rate_schedule.type' is 'linear'"),
            (#"{"input_shape":[3],"code_size":2,"training":{"learning_rate_schedule":{"factor":0.5}}}"#, "required field 'training.learning_rate_schedule.type'"),
            (#"{"input_shape":[3],"code_size":2,"training":{"learning_rate_schedule":{"type":"step","factor":1}}}"#, "'training.learning_rate_schedule.factor' must be in (0, 1)"),
            (#"{"input_shape":[3],"code_size":2,"training":{"learning_rate_schedule":{"type":"plateau","patience":0}}}"#, "'training.learning_rate_schedule.patience'"),
            (#"{"input_shape":[3],"code_size":2,"training":{"learning_rate_schedule":{"type":"step","step_epochs":2.5}}}"#, "'training.learning_rate_schedule.step_epochs' must be an integer"),
            (#"{"input_shape":[3],"code_size":2,"training":{"learning_rate_schedule":{"type":"cosine","min_learning_rate":0.01}}}"#, "'training.learning_rate_schedule.min_learning_rate' must be >= 0 and below"),
            (#"{"input_shape":[3],"code_size":2,"training":{"learning_rate_schedule":{"type":"step","min_delta":-1}}}"#, "'training.learning_rate_schedule.min_delta'"),
            (#"{"input_shape":[3],"code_size":2,"training":{"learning_rate_schedule":{"type":"step","warmup":1}}}"#, "unknown field 'training.learning_rate_schedule.warmup'"),
            (#"{"input_shape":[3],"code_size":2"#, "spec is not valid JSON"),
            (#"[1,2]"#, "spec must be a JSON object"),
            ("", "spec"),
        ]
        assertSpecErrors(cases)
    }
}

"""ONNX export: every variant's three graphs pass onnx's full checker and run in onnxruntime with
the library's own numbers, at batch 1 and 1000, on random and real (Fashion-MNIST) rows."""
import numpy as np
import pytest

from aefeatures import AEFError, AEFIOError, NativeModel

onnx = pytest.importorskip("onnx")
ort = pytest.importorskip("onnxruntime")

from conftest import VARIANTS, fitted_variant as fitted

# ONNX has no ConvLSTM operator: that variant's refusal is tested in test_convlstm.py.
CASES = {name: spec for name, spec in VARIANTS.items() if spec.get("variant") != "convlstm"}


# onnxruntime's Sigmoid is an approximation with absolute errors near 1e-7 (8.7e-8 measured against
# exact arithmetic on codes near 2e-3, where the library's is within 2e-9), so errors are
# measured against the output's scale with this absolute floor.
ABSOLUTE_FLOOR = 1e-6


def relative_error(actual, expected):
    """max |actual − expected| over max(max |expected|, ABSOLUTE_FLOOR / 1e-5): the error relative
    to the output's scale, so values near zero do not turn rounding into huge ratios."""
    scale = max(float(np.max(np.abs(expected))), ABSOLUTE_FLOOR / 1e-5)
    return float(np.max(np.abs(actual - expected))) / scale


def run(model_bytes, x):
    session = ort.InferenceSession(model_bytes, providers=["CPUExecutionProvider"])
    return session.run(None, {"input": x})[0]


@pytest.mark.parametrize("name", sorted(CASES))
def test_every_graph_matches_the_library(name, fashion):
    model = fitted(name, fashion)
    tolerance = 1e-4 if name.startswith("seq2seq") else 1e-5
    # Random rows uniform within each pixel's training range: standard scaling of a pixel that is
    # almost always 0 turns out-of-range values into huge activations, where float32 sums in any
    # two orders differ by more than their result's precision (an ill-conditioned input, not the graph).
    rng = np.random.default_rng(1)
    low, high = fashion[:1500].min(axis=0), fashion[:1500].max(axis=0)
    def uniform(rows):
        return (low + rng.uniform(size=(rows, 784)) * (high - low)).astype(np.float32)
    inputs = {
        "real, batch 1000": fashion[2000:3000],
        "real, batch 1": fashion[5000:5001],
        "random, batch 1000": uniform(1000),
        "random, batch 1": uniform(1),
    }
    library = {"encoder": model.transform, "autoencoder": model.reconstruct, "scorer": model.score}
    for graph, compute in library.items():
        data = model.export_onnx(graph)
        proto = onnx.load_from_string(data)
        onnx.checker.check_model(proto, full_check=True)
        assert proto.ir_version == 8 and [(o.domain, o.version) for o in proto.opset_import] == [("", 17)]
        assert [i.name for i in proto.graph.input] == ["input"]
        assert proto.graph.input[0].type.tensor_type.shape.dim[0].dim_param == "N"
        assert not {t.name for t in proto.graph.initializer} & {i.name for i in proto.graph.input}
        ops = {n.op_type for n in proto.graph.node}
        assert not ops & {"Dropout", "RandomNormal", "RandomNormalLike", "Upsample"}, ops
        for label, x in inputs.items():
            x = np.ascontiguousarray(x)
            expected, actual = compute(x), run(data, x)
            assert actual.shape == expected.shape, (graph, label)
            if CASES[name].get("conv_decoder") == "unpool" and len(x) > 1:
                # An encoder maximum that ties within rounding (gaps down to 9e-8 of the value here)
                # can go to either position in onnxruntime's and the library's own arithmetic; the
                # reconstruction then differs at that one place. At most 1 row in 500 may.
                flipped = sum(relative_error(a, e) > tolerance for a, e in zip(actual, expected))
                assert flipped <= len(x) // 500, f"{name} {graph} {label}: {flipped} rows differ"
                continue
            error = relative_error(actual, expected)
            assert error <= tolerance, f"{name} {graph} {label}: relative error {error:.2e} > {tolerance}"


@pytest.mark.parametrize("name", sorted(CASES))
def test_decoder_graph_matches_decode(name, fashion):
    """The decoder graph ("codes" in) computes aef_model_decode: on real codes and on random
    codes spread over the codes' range, at batch 1000 and 1."""
    model = fitted(name, fashion)
    if CASES[name].get("conv_decoder") == "unpool":
        # Its decoder needs the switches of the encoder's pass: no decoding from codes alone.
        codes = model.transform(fashion[:10])
        for refused in (lambda: model.export_onnx("decoder"), lambda: model.decode(codes)):
            with pytest.raises(ValueError, match="cannot decode codes alone"):
                refused()
        return
    tolerance = 1e-4 if name.startswith("seq2seq") else 1e-5
    data = model.export_onnx("decoder")
    proto = onnx.load_from_string(data)
    onnx.checker.check_model(proto, full_check=True)
    assert [i.name for i in proto.graph.input] == ["codes"] and [o.name for o in proto.graph.output] == ["reconstruction"]
    assert proto.graph.input[0].type.tensor_type.shape.dim[1].dim_value == model.code_size
    codes = model.transform(fashion[2000:3000])
    rng = np.random.default_rng(2)
    spread = (codes.min(axis=0) + rng.uniform(size=codes.shape) * (codes.max(axis=0) - codes.min(axis=0))).astype(np.float32)
    session = ort.InferenceSession(data, providers=["CPUExecutionProvider"])
    for label, z in {"real": codes, "real, batch 1": codes[:1], "random": spread, "random, batch 1": spread[:1]}.items():
        z = np.ascontiguousarray(z)
        expected, actual = model.decode(z), session.run(None, {"codes": z})[0]
        assert actual.shape == expected.shape == (len(z), 784), label
        error = relative_error(actual, expected)
        assert error <= tolerance, f"{name} decoder {label}: relative error {error:.2e} > {tolerance}"


def test_operators_the_variants_use(fashion):
    """The layers map to the operators the issue names (no hidden substitutes)."""
    expected = {"dense": {"Gemm", "BatchNormalization", "Elu", "Sigmoid"},
                "conv2d": {"Conv", "MaxPool", "Resize", "Slice", "BatchNormalization"},
                "conv1d": {"Conv", "AveragePool", "MaxPool", "ConvTranspose"},
                "conv2d_unpool": {"Conv", "MaxPool", "MaxUnpool"},
                "seq2seq_bidirectional": {"LSTM", "Expand", "Transpose", "Unsqueeze"}}
    for name, operators in expected.items():
        proto = onnx.load_from_string(fitted(name, fashion).export_onnx("autoencoder"))
        found = {n.op_type for n in proto.graph.node}
        assert operators <= found, (name, operators - found)
    scorer = onnx.load_from_string(fitted("dense", fashion).export_onnx("scorer"))
    assert "ReduceMean" in {n.op_type for n in scorer.graph.node}


def test_path_and_buffer_agree_and_errors_are_clear(fashion, tmp_path):
    model = fitted("dense", fashion)
    path = tmp_path / "encoder.onnx"
    assert model.export_onnx("encoder", path) is None
    assert path.read_bytes() == model.export_onnx("encoder")

    unfitted = NativeModel.create(CASES["dense"])
    with pytest.raises(AEFError, match="not fitted"):
        unfitted.export_onnx("encoder")
    path.write_bytes(b"previous")
    with pytest.raises(AEFError, match="not fitted"):
        unfitted.export_onnx("encoder", path)
    assert path.read_bytes() == b"previous"  # nothing written on failure

    with pytest.raises(AEFIOError, match="cannot create"):
        model.export_onnx("encoder", tmp_path / "missing-directory" / "encoder.onnx")
    with pytest.raises(ValueError, match="graph must be one of"):
        model.export_onnx("generator")


def test_estimators_export(fashion, tmp_path):
    from aefeatures import AutoencoderDetector, AutoencoderTransformer
    x = fashion[:800]
    transformer = AutoencoderTransformer(hidden_units=(16,), code_size=4, epochs=2, random_state=0).fit(x)
    np.testing.assert_allclose(run(transformer.export_onnx(), x), transformer.transform(x), rtol=1e-5, atol=1e-6)
    detector = AutoencoderDetector(transformer, random_state=0).fit(x)
    detector.export_onnx(tmp_path / "scorer.onnx")
    scores = run((tmp_path / "scorer.onnx").read_bytes(), x)
    assert relative_error(scores, detector.decision_function(x)) <= 1e-5

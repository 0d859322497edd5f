import gzip
import os

import numpy as np
import pytest

from aefeatures import NativeModel

# The bound include/aefeatures.h promises ("Batches.") for one row computed in different batches:
# features and reconstructions within BATCH_TOLERANCE * max(1, the row's largest |value|), scores
# within BATCH_TOLERANCE * (s + sqrt(s)).
BATCH_TOLERANCE = 1e-5


def batch_rounding_bound(values, kind):
    """What the header allows a row's `values` (rows x width, or scores) to move with its batch."""
    values = np.abs(np.asarray(values, dtype=np.float64))
    if kind == "scores":
        return BATCH_TOLERANCE * (values + np.sqrt(values))
    return BATCH_TOLERANCE * np.maximum(1.0, values.max(axis=-1, keepdims=True))


def assert_equal_up_to_batch_rounding(actual, expected, kind):
    """actual and expected are the same rows computed in different batches (kind: "features",
    "reconstructions" or "scores"); they must agree within the header's bound, no further."""
    actual, expected = np.asarray(actual, dtype=np.float64), np.asarray(expected, dtype=np.float64)
    assert actual.shape == expected.shape
    excess = np.abs(actual - expected) - batch_rounding_bound(expected, kind)
    worst = np.unravel_index(np.argmax(excess), excess.shape)
    assert excess[worst] <= 0, (f"{kind} differ beyond the batch bound at {worst}: "
                                f"{actual[worst]!r} vs {expected[worst]!r}")


def structured(rows, width=12, seed=0, anomalies=0):
    """Rows near a 2-D manifold in `width` dimensions (raw units), the last `anomalies` rows off it."""
    rng = np.random.default_rng(seed)
    z = rng.uniform(-1, 1, size=(rows, 2))
    mixing = rng.normal(size=(2, width))
    x = 10 * np.tanh(z @ mixing) + 50 + 0.05 * rng.normal(size=(rows, width))
    if anomalies:
        x[-anomalies:] = rng.uniform(40, 60, size=(anomalies, width))
    return x


def policies(count, seed, labels=False):
    """The study's simulated insurance policies (../shared/reference/insurance.md): risk ~
    Bernoulli(0.25); 4 periods of payment (Bernoulli(0.25 | 0.5) x Exp(10)), insured value
    (Exp(100 | 200)) and premium (Exp(20 | 40)). Rows of 12 float32 values; with `labels`, also
    the risk classes."""
    rng = np.random.default_rng(seed)
    risk = rng.uniform(size=count) < 0.25
    x = np.zeros((count, 4, 3))
    x[:, :, 0] = (rng.uniform(size=(count, 4)) < np.where(risk, 0.5, 0.25)[:, None]) * rng.exponential(10, size=(count, 4))
    x[:, :, 1] = rng.exponential(1, size=(count, 4)) * np.where(risk, 200, 100)[:, None]
    x[:, :, 2] = rng.exponential(1, size=(count, 4)) * np.where(risk, 40, 20)[:, None]
    rows = np.ascontiguousarray(x.reshape(count, 12), dtype=np.float32)
    return (rows, risk.astype(int)) if labels else rows


@pytest.fixture(scope="session")
def data():
    return structured(600)


@pytest.fixture(scope="session")
def small_params():
    return dict(hidden_units=(16,), code_size=3, epochs=40, batch_size=32, learning_rate=3e-3, random_state=0)


FASHION = "/usr/share/datasets/fashion-mnist/t10k-images-idx3-ubyte.gz"

BLOCKS_CROP = [{"filters": 8, "kernel": 3, "pool": 2}, {"filters": 8, "kernel": 3, "pool": 2},
               {"filters": 4, "kernel": 3, "pool": 2, "pool_padding": "same"}]  # 28→14→7→4, decoder 32 → crop 28
# A 1-row kernel with stride 2 skips the last input row: the transposed convolution needs output_padding.
BLOCKS_STRIDED = [{"filters": 6, "kernel": 3, "stride": 2}, {"filters": 4, "kernel": [1, 3], "stride": 2, "dilation": [1, 2]}]
TRAINING = {"epochs": 2, "batch_size": 64}

# Every model reads rows of 784 Fashion-MNIST pixels (as [784], [28, 28] or [28, 28, 1] samples).
VARIANTS = {
    "dense": {"input_shape": [784], "hidden_units": [32, 16], "code_size": 8, "batch_norm": True,
               "dropout": 0.1, "scaling": "standard"},
    "denoising": {"variant": "denoising", "input_shape": [784], "hidden_units": [24], "code_size": 6,
                   "activation": "relu", "loss": "bce", "noise": {"type": "masking"}},
    "sparse": {"variant": "sparse", "input_shape": [784], "hidden_units": [24], "code_size": 10,
                "activation": "leaky_relu"},
    "contractive": {"variant": "contractive", "input_shape": [784], "hidden_units": [20], "code_size": 5,
                     "activation": "tanh", "scaling": "none", "output_activation": "identity"},
    "conv1d": {"variant": "conv1d", "input_shape": [784], "conv_decoder": "transpose",
                "conv_blocks": [{"filters": 4, "kernel": 5, "stride": 2, "pool": 2, "pool_type": "average"},
                                {"filters": 6, "kernel": 3, "dilation": 2, "pool": 3, "pool_padding": "same"}]},
    "conv2d": {"variant": "conv2d", "input_shape": [28, 28, 1], "conv_blocks": BLOCKS_CROP, "code_size": 16,
                "batch_norm": True},
    "conv2d_transpose": {"variant": "conv2d", "input_shape": [28, 28], "conv_blocks": BLOCKS_STRIDED,
                          "conv_decoder": "transpose", "activation": "relu"},
    # Max unpooling with the encoder's switches ('same' pooling on 7x7, then a 1-D-shaped window).
    "conv2d_unpool": {"variant": "conv2d", "input_shape": [28, 28, 1], "conv_decoder": "unpool", "code_size": 8,
                      "conv_blocks": [{"filters": 4, "kernel": 3, "pool": 4},
                                      {"filters": 3, "kernel": [3, 1], "pool": [2, 3], "pool_padding": "same"}]},
    # Fashion-MNIST rows as 4 frames of 14x14: a ConvLSTM encoder and decoder around a dense code.
    "convlstm": {"variant": "convlstm", "input_shape": [4, 14, 14, 1], "code_size": 6,
                 "conv_blocks": [{"filters": 3, "kernel": 3}]},
    "seq2seq": {"variant": "seq2seq", "input_shape": [28, 28], "hidden_units": [12, 8], "decoder_units": [8, 12],
                 "training": {"clip_norm": 1.0}},
    "seq2seq_bidirectional": {"variant": "seq2seq", "input_shape": [28, 28], "hidden_units": [10], "code_size": 6,
                               "bidirectional": True},
    "seq2seq_peephole": {"variant": "seq2seq", "input_shape": [28, 28], "hidden_units": [10], "decoder_units": [8],
                          "peephole": True, "bidirectional": True},
    "seq2seq_gru": {"variant": "seq2seq", "input_shape": [28, 28], "hidden_units": [10, 6], "decoder_units": [8],
                     "cell": "gru", "bidirectional": True, "code_size": 5},
    "variational": {"variant": "variational", "input_shape": [784], "hidden_units": [32], "code_size": 4,
                     "variational": {"beta": 0.5}, "score": "standardized"},
    "variational_conv": {"variant": "conv2d", "input_shape": [28, 28, 1], "code_size": 6, "loss": "bce",
                          "variational": {}, "score": "combined", "conv_blocks": [{"filters": 4, "kernel": 3, "pool": 4}]},
    "adversarial": {"variant": "adversarial", "input_shape": [784], "hidden_units": [32], "code_size": 3,
                     "score": "combined"},
    # Tied weights (the decoder uses the encoder's, transposed) trained on Poisson count noise.
    "tied_poisson": {"variant": "denoising", "input_shape": [784], "hidden_units": [32, 16], "code_size": 6,
                     "tied_weights": True, "batch_norm": True, "noise": {"type": "poisson", "level": 20}},
    # The reference study's layout: BatchNorm before every Dense/convolution, its uniform noise,
    # and input dropout and a learning-rate schedule beside them.
    "denoising_study": {"variant": "denoising", "input_shape": [784], "hidden_units": [24, 24], "code_size": 8,
                         "batch_norm": "before", "dropout": 0.5, "input_dropout": 0.1,
                         "noise": {"type": "uniform", "level": 0.1},
                         "training": {"learning_rate_schedule": {"type": "cosine"}}},
    "conv2d_study": {"variant": "conv2d", "input_shape": [28, 28, 1], "batch_norm": "before", "dropout": 0.2,
                      "conv_blocks": [{"filters": 5, "kernel": [2, 3], "pool": 2, "pool_stride": 4, "pool_padding": "same"}],
                      "training": {"learning_rate_schedule": {"type": "plateau", "patience": 1}}},
}


@pytest.fixture(scope="session")
def fashion():
    if not os.path.exists(FASHION):
        pytest.skip("Debian's dataset-fashion-mnist is not installed")
    with gzip.open(FASHION) as f:
        pixels = np.frombuffer(f.read(), dtype=np.uint8, offset=16)
    return pixels.reshape(-1, 784).astype(np.float32)


def fitted_variant(name, fashion):
    """VARIANTS[name] fitted for 2 epochs on 1,500 Fashion-MNIST rows (seed 7)."""
    spec = VARIANTS[name]
    model = NativeModel.create({**spec, "training": {**TRAINING, **spec.get("training", {})}, "seed": 7})
    model.fit(np.ascontiguousarray(fashion[:1500]))
    return model

"""The spatio-temporal autoencoder (variant "convlstm") on moving squares the test generates
(examples/python/moving_patterns.py): it learns the motion, its anomaly scores separate squares
whose motion is impossible although every frame is normal, and ONNX export is refused clearly."""
import sys
from pathlib import Path

import numpy as np
import pytest

from aefeatures import AutoencoderDetector, AutoencoderTransformer
from conftest import fitted_variant

sys.path.insert(0, str(Path(__file__).resolve().parents[3] / "examples" / "python"))
from moving_patterns import auroc, moving_squares  # noqa: E402


def convlstm(**overrides):
    params = dict(variant="convlstm", input_shape=(8, 8, 8, 1), conv_blocks=[{"filters": 8, "kernel": 3}], code_size=32,
                  code_activation="identity", scaling="none", learning_rate=0.003, epochs=15, batch_size=16, random_state=0)
    return AutoencoderTransformer(**{**params, **overrides})


@pytest.fixture(scope="module")
def detector():
    return AutoencoderDetector(convlstm()).fit(moving_squares(600, seed=1))


def test_learns_the_motion(detector):
    fitted = detector.autoencoder_
    test = moving_squares(200, seed=2)
    mean_sequence = moving_squares(600, seed=1).mean(axis=0)
    error = np.mean((fitted.inverse_transform(fitted.transform(test)) - test) ** 2)
    # The mean sequence's error is 0.057; a collapsed model would be near it.
    assert error < 0.3 * np.mean((test - mean_sequence) ** 2), error
    assert fitted.transform(test).shape == (200, 32)


def test_scores_impossible_motion_above_normal_motion(detector):
    normal = detector.decision_function(moving_squares(200, seed=2))
    for kind in ("stop", "reverse"):
        area = auroc(normal, detector.decision_function(moving_squares(200, anomaly=kind, seed=3)))
        assert area > 0.85, kind


def test_onnx_export_is_refused(detector, fashion):
    with pytest.raises(ValueError, match="no ConvLSTM operator"):
        fitted_variant("convlstm", fashion).export_onnx("autoencoder")
    for export in (detector.export_onnx, detector.autoencoder_.export_onnx):
        with pytest.raises(ValueError, match="no ConvLSTM operator"):
            export()

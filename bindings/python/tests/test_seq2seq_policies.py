"""Stacked seq2seq autoencoders on the study's simulated insurance policies (issue 24): heavy-tailed
amounts min-max scaled into [0, 1]. With a sigmoid output layer, two or more stacked LSTMs
collapsed to the mean policy with a constant code (PyTorch's same network does too); the variant's
default output is linear unless the loss is cross-entropy."""
import numpy as np
import pytest

from aefeatures import AutoencoderTransformer

from conftest import policies


@pytest.mark.parametrize("depth", [1, 2, 3])
def test_stacked_seq2seq_learns_the_policies(depth):
    x = policies(700, seed=0)
    model = AutoencoderTransformer(variant="seq2seq", input_shape=(4, 3), hidden_units=(32,) * depth, code_size=None,
                                   epochs=60, batch_size=50, clip_norm=1.0, random_state=0).fit(x)
    assert model.model_.spec["output_activation"] == "identity"
    # Relative to predicting every column's mean (1.0); the collapsed networks scored 1.00-1.01.
    error = np.mean((model.inverse_transform(model.transform(x)) - x) ** 2) / np.mean((x - x.mean(axis=0)) ** 2)
    assert error < 0.75, error
    # The code varies across policies (collapsed: 0.002-0.004 per unit).
    assert model.transform(x).std(axis=0).mean() > 0.03

"""Every spec field and variant through AutoencoderTransformer's parameters: round trips through
files, spec errors that name the parameter, and each family member fitting and serving."""
import numpy as np
import pytest

from aefeatures import AutoencoderTransformer
from aefeatures._spec_fields import spec_of

from conftest import structured


ROUND_TRIP_SPECS = {
    "dense": {"input_shape": [12], "hidden_units": [8, 6], "decoder_units": [7], "code_size": 3, "batch_norm": "before",
              "code_activation": "tanh", "training": {"optimizer": "sgd", "momentum": 0.5, "learning_rate": 0.01, "shuffle": False}},
    "denoising": {"variant": "denoising", "input_shape": [12], "hidden_units": [8], "code_size": 3,
                  "noise": {"type": "salt_and_pepper", "level": 0.2}, "training": {"optimizer": "rmsprop", "rho": 0.8, "epsilon": 1e-6}},
    "sparse": {"variant": "sparse", "input_shape": [12], "hidden_units": [8], "code_size": 4, "sparsity": {"type": "l1", "weight": 0.01},
               "training": {"validation_split": 0.25, "early_stopping": {"patience": 2, "min_delta": 0.001, "restore_best_weights": False}}},
    "contractive": {"variant": "contractive", "input_shape": [12], "hidden_units": [6], "code_size": 2, "contractive_weight": 0.01,
                    "training": {"beta1": 0.8, "beta2": 0.99}},
    "conv1d": {"variant": "conv1d", "input_shape": [6, 2], "code_size": 3, "conv_blocks": [{"filters": 4, "kernel": 3, "pool": 2}],
               "conv_decoder": "transpose"},
    "conv2d": {"variant": "conv2d", "input_shape": [4, 3, 1], "batch_norm": True,
               "conv_blocks": [{"filters": 4, "kernel": [2, 3], "pool": [2, 1]}]},
    "seq2seq": {"variant": "seq2seq", "input_shape": [4, 3], "hidden_units": [5], "code_size": 3, "bidirectional": True,
                "training": {"clip_norm": 1.0}},
    "seq2seq_gru": {"variant": "seq2seq", "input_shape": [4, 3], "hidden_units": [5], "cell": "gru"},
    "seq2seq_peephole": {"variant": "seq2seq", "input_shape": [4, 3], "hidden_units": [5], "peephole": True},
    "tied_poisson": {"variant": "denoising", "input_shape": [12], "hidden_units": [8], "code_size": 3, "tied_weights": True,
                     "noise": {"type": "poisson", "level": 30}},
    "variational": {"variant": "variational", "input_shape": [12], "hidden_units": [8], "code_size": 2, "score": "combined",
                    "variational": {"beta": 0.5, "warmup_epochs": 1, "samples": 3}},
    "adversarial": {"variant": "adversarial", "input_shape": [12], "hidden_units": [8], "code_size": 2,
                    "adversarial": {"prior": "uniform", "prior_scale": 2, "discriminator_units": [4], "generator_learning_rate": 0.002}},
}


@pytest.mark.parametrize("name", sorted(ROUND_TRIP_SPECS))
def test_every_spec_field_round_trips(name, tmp_path):
    """spec -> fit -> save -> load -> get_params -> clone -> fit gives the same spec, every
    field included, for every variant."""
    import json

    from sklearn.base import clone

    from aefeatures import spec_defaults

    spec = ROUND_TRIP_SPECS[name]
    spec = {**spec, "training": {**spec.get("training", {}), "epochs": 2}}
    x = structured(200, width=12, seed=5)
    first = AutoencoderTransformer.from_spec(spec).fit(x)
    assert first.model_.spec == spec_defaults(spec)  # the model is the spec asked for, every field
    first.save(tmp_path / "model.aef")
    loaded = AutoencoderTransformer.load(tmp_path / "model.aef")
    params = loaded.get_params()
    assert params["spec"] is not None and params["input_shape"] == tuple(spec["input_shape"])
    second = clone(loaded).fit(x)
    assert json.dumps(second.model_.spec, sort_keys=True) == json.dumps(first.model_.spec, sort_keys=True)


def test_spec_errors_name_the_parameter(small_params):
    x = structured(100, seed=6)
    with pytest.raises(ValueError, match=r"spec\['activation'\] is built by the parameter 'activation'; set activation="):
        AutoencoderTransformer(spec={"activation": "relu"}).fit(x)
    with pytest.raises(ValueError, match=r"spec\['training'\]\['epochs'\] is built by the parameter 'epochs'"):
        AutoencoderTransformer(spec={"training": {"epochs": 3}}).fit(x)
    with pytest.raises(ValueError, match=r"^epochs=-1: .*field 'training.epochs' must be in"):
        AutoencoderTransformer(**{**small_params, "epochs": -1}).fit(x)
    with pytest.raises(ValueError, match=r"^noise_level=-1.0: .*field 'noise.level'"):
        AutoencoderTransformer(**{**small_params, "noise": "gaussian", "noise_level": -1.0}).fit(x)
    with pytest.raises(ValueError, match=r"^spec\['training'\]\['beta1'\]: .*field 'training.beta1' must be in"):
        AutoencoderTransformer(**small_params, spec={"training": {"beta1": 2}}).fit(x)
    with pytest.raises(ValueError, match="spec must be a dict"):
        AutoencoderTransformer(**small_params, spec="decoder_units").fit(x)
    with pytest.raises(ValueError, match="unknown field 'bogus'"):
        AutoencoderTransformer(**small_params, spec={"bogus": 1}).fit(x)
    # What spec holds reaches the model.
    model = AutoencoderTransformer(**small_params, spec={"decoder_units": [5], "training": {"beta1": 0.8}}).fit(x).model_
    assert model.spec["decoder_units"] == [5] and model.spec["training"]["beta1"] == 0.8


def test_variants(data):
    for params in [dict(variant="denoising", noise="masking", noise_level=0.1),
                   dict(variant="denoising", noise="poisson", noise_level=30),
                   dict(variant="sparse", sparsity="kl", sparsity_target=0.1),
                   dict(variant="sparse", sparsity="l1", sparsity_weight=1e-3, code_activation="relu"),
                   dict(variant="contractive", contractive_weight=1e-3),
                   dict(loss="bce", batch_norm=True, early_stopping_patience=2, validation_split=0.2, clip_norm=1.0),
                   dict(optimizer="sgd", learning_rate=0.05), dict(optimizer="rmsprop", scaling="standard"),
                   dict(variant="seq2seq", input_shape=(6, 2))]:
        t = AutoencoderTransformer(hidden_units=(8,), code_size=2, epochs=4, random_state=0, **params).fit(data)
        assert t.transform(data).shape == (600, 2), params
        spec = t.model_.spec
        assert spec["variant"] == params.get("variant", "dense")


def test_study_layout_parameters(data, tmp_path):
    """The reference study's layout (BatchNorm before every Dense, its uniform noise) with input
    dropout and a learning-rate schedule: in the spec, through save and load, and refused clearly."""
    params = dict(variant="denoising", hidden_units=(16, 16), code_size=4, batch_norm="before", dropout=0.5,
                  input_dropout=0.1, noise="uniform", noise_level=0.1, epochs=6, random_state=0,
                  learning_rate_schedule={"type": "plateau", "factor": 0.5, "patience": 1})
    t = AutoencoderTransformer(**params).fit(data)
    spec = t.model_.spec
    assert spec["batch_norm"] == "before" and spec["input_dropout"] == pytest.approx(0.1)
    assert spec["noise"] == {"type": "uniform", "level": pytest.approx(0.1)}
    assert spec["training"]["learning_rate_schedule"]["patience"] == 1
    t.save(tmp_path / "study.aef")
    loaded = AutoencoderTransformer.load(tmp_path / "study.aef").get_params()
    for name in ("batch_norm", "input_dropout", "noise", "noise_level"):
        assert loaded[name] == pytest.approx(params[name]), name
    assert loaded["learning_rate_schedule"]["factor"] == 0.5
    assert spec_of(AutoencoderTransformer(learning_rate_schedule="cosine"), 12, 0)["training"]["learning_rate_schedule"] == {"type": "cosine"}
    for bad, message in [(dict(batch_norm="inside"), "'batch_norm' must be true, false, 'after' or 'before'"),
                         (dict(input_dropout=1.0), "'input_dropout' must be in"),
                         (dict(learning_rate_schedule="linear"), "'training.learning_rate_schedule.type' is 'linear'"),
                         (dict(learning_rate_schedule={"type": "step", "factor": 2}), "learning_rate_schedule.factor"),
                         (dict(noise="uniform", noise_level=-1), "'noise.level' must be finite and >= 0")]:
        with pytest.raises(ValueError, match=message.replace("(", r"\(").replace(")", r"\)")):
            AutoencoderTransformer(hidden_units=(8,), code_size=2, epochs=1, **bad).fit(data)


def test_convolutional_variants(tmp_path):
    rng = np.random.default_rng(0)
    images = np.zeros((300, 8, 8))
    rows, cols = rng.integers(0, 8, 300), rng.integers(0, 8, 300)
    images[np.arange(300), rows, :] = 0.8
    images[np.arange(300), :, cols] = 0.6
    x = images.reshape(300, 64)
    blocks = [{"filters": 8, "kernel": 3, "pool": 2}, {"filters": 8, "kernel": 3, "pool": 2}]
    t = AutoencoderTransformer(variant="conv2d", input_shape=(8, 8, 1), conv_blocks=blocks, code_size=None,
                               scaling="none", epochs=20, batch_size=32, learning_rate=5e-3, random_state=0).fit(x)
    assert t.transform(x).shape == (300, 32)
    assert np.mean((t.reconstruct(x) - x) ** 2) < 0.5 * np.mean((x - x.mean(axis=0)) ** 2)
    t.save(tmp_path / "conv.aef")
    loaded = AutoencoderTransformer.load(tmp_path / "conv.aef")
    assert loaded.get_params()["conv_blocks"][0]["filters"] == 8 and loaded.code_size is None
    np.testing.assert_array_equal(loaded.transform(x), t.transform(x))
    with pytest.raises(ValueError, match="input_shape"):
        AutoencoderTransformer(variant="conv2d", input_shape=(8, 9), conv_blocks=blocks).fit(x)
    with pytest.raises(ValueError, match=r"conv_blocks\[0\]: pooling window .* does not tile"):
        AutoencoderTransformer(variant="conv1d", input_shape=(64,), conv_blocks=[{"filters": 2, "kernel": 3, "pool": 5}]).fit(x)


def test_variational_sampling(data):
    t = AutoencoderTransformer(variant="variational", hidden_units=(16,), code_size=2, kl_warmup_epochs=3,
                               epochs=20, batch_size=32, learning_rate=3e-3, random_state=0).fit(data)
    assert t.model_.spec["variational"] == {"beta": 1.0, "warmup_epochs": 3, "samples": 1}
    samples = t.sample(100, random_state=1)
    assert samples.shape == (100, 12) and np.isfinite(samples).all()
    np.testing.assert_array_equal(samples, t.sample(100, random_state=1))
    assert samples.min() >= data.min() - 1e-3 and samples.max() <= data.max() + 1e-3
    mean, log_variance = t.latent_distribution(data)
    np.testing.assert_array_equal(mean, t.transform(data))
    assert log_variance.shape == (600, 2) and np.isfinite(log_variance).all()
    with pytest.raises(ValueError, match="variational or adversarial"):
        AutoencoderTransformer(hidden_units=(4,), code_size=2, epochs=1).fit(data).sample(3)
    aae = AutoencoderTransformer(variant="adversarial", hidden_units=(16,), code_size=2, epochs=5, random_state=0).fit(data)
    assert aae.model_.spec["code_activation"] == "identity" and aae.sample(10).shape == (10, 12)

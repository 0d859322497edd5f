import pickle

import numpy as np
import pytest

from aefeatures import AutoencoderDetector, AutoencoderTransformer, NotFittedError

from conftest import assert_equal_up_to_batch_rounding, batch_rounding_bound, structured


def test_transformer_basics(data, small_params):
    t = AutoencoderTransformer(**small_params)
    assert t.fit(data) is t
    assert t.n_features_in_ == 12
    codes = t.transform(data)
    assert codes.shape == (600, 3) and codes.dtype == np.float64
    assert t.transform(data.astype(np.float32)).dtype == np.float32
    np.testing.assert_allclose(t.fit_transform(data), codes)  # same random_state, same result
    assert list(t.get_feature_names_out()) == ["autoencodertransformer0", "autoencodertransformer1", "autoencodertransformer2"]
    recon = t.reconstruct(data)
    assert recon.shape == data.shape
    np.testing.assert_allclose(t.inverse_transform(codes), recon, rtol=1e-5)
    assert len(t.history_["loss"]) == 40
    # Learned something: far better than predicting the column means.
    assert np.mean((recon - data) ** 2) < 0.2 * np.mean((data - data.mean(axis=0)) ** 2)


def test_pandas_output_and_feature_names(data, small_params):
    """set_output(transform="pandas") as scikit-learn users expect: DataFrames with the code's
    feature names and the input's index, through a Pipeline, clone and pickle; input_features
    is checked against the fitted columns."""
    pandas = pytest.importorskip("pandas")
    from sklearn.base import clone
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler

    columns = [f"sensor_{i}" for i in range(12)]
    frame = pandas.DataFrame(data, columns=columns, index=pandas.RangeIndex(100, 700))
    t = AutoencoderTransformer(**small_params).set_output(transform="pandas").fit(frame)
    out = t.transform(frame)
    names = ["autoencodertransformer0", "autoencodertransformer1", "autoencodertransformer2"]
    assert isinstance(out, pandas.DataFrame) and list(out.columns) == names
    assert out.index.equals(frame.index)
    np.testing.assert_array_equal(out.to_numpy(), t.set_output(transform="default").transform(frame))
    assert isinstance(t.transform(frame), np.ndarray)
    assert t.set_output() is t and isinstance(t.transform(frame), np.ndarray)  # None: unchanged
    t.set_output(transform="pandas")
    assert isinstance(pickle.loads(pickle.dumps(t)).transform(data), pandas.DataFrame)
    assert clone(t)._sklearn_output_config == {"transform": "pandas"}
    assert list(t.feature_names_in_) == columns
    assert list(t.get_feature_names_out(columns)) == names
    with pytest.raises(ValueError, match="not equal to feature_names_in_"):
        t.get_feature_names_out([f"other_{i}" for i in range(12)])
    with pytest.raises(ValueError, match="length equal to number of features"):
        t.get_feature_names_out(columns[:5])
    with pytest.raises(ValueError, match="'default', 'pandas' or None"):
        t.set_output(transform="polars")
    pipeline = make_pipeline(StandardScaler(), AutoencoderTransformer(**small_params)).set_output(transform="pandas")
    piped = pipeline.fit_transform(frame)
    assert isinstance(piped, pandas.DataFrame) and list(piped.columns) == names
    assert list(pipeline.get_feature_names_out()) == names


# One spec per variant with fields no parameter covers (decoder_units, bidirectional, the
# adversarial section, variational.samples, optimizer settings, early stopping's other fields).
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


def test_partial_fit_trains_in_chunks(small_params, tmp_path):
    """partial_fit: two calls over all rows are fit's two epochs exactly; ten chunks a pass come
    within 5% of one fit's reconstruction error; bad input and changed parameters are refused
    and leave the model as it was."""
    x, test = structured(2000, seed=40), structured(500, seed=41)
    params = {**small_params, "epochs": 2, "batch_size": 50}
    whole = AutoencoderTransformer(**params).fit(x)
    passes = AutoencoderTransformer(**params).partial_fit(x).partial_fit(x)
    assert passes.model_.to_bytes() == whole.model_.to_bytes()
    assert len(passes.history_["loss"]) == 2

    reference = AutoencoderTransformer(**{**params, "epochs": 10}).fit(x)
    chunked = AutoencoderTransformer(**params)
    for _ in range(10):
        for chunk in np.array_split(x, 10):
            chunked.partial_fit(chunk)
    error = lambda t: float(np.mean((t.reconstruct(test) - test) ** 2))
    assert error(chunked) < 1.05 * error(reference), (error(chunked), error(reference))

    before = chunked.model_.to_bytes()
    poisoned = x[:100].copy()
    poisoned[3, 4] = np.nan
    with pytest.raises(ValueError, match="NaN"):
        chunked.partial_fit(poisoned)
    with pytest.raises(ValueError, match="features"):
        chunked.partial_fit(x[:100, :5])
    with pytest.raises(ValueError, match="parameters changed"):
        chunked.set_params(code_size=4).partial_fit(x[:100])
    assert chunked.model_.to_bytes() == before
    with pytest.raises(NotFittedError):
        AutoencoderTransformer(**params).transform(x)

    detector = AutoencoderDetector(AutoencoderTransformer(**params), contamination=0.05)
    for chunk in np.array_split(x, 4):
        detector.partial_fit(chunk)
    assert detector.decision_scores_.shape == (500,) and abs(detector.labels_.mean() - 0.05) < 0.01
    assert len(detector.autoencoder_.history_["loss"]) == 4


def test_transform_is_row_independent(data, small_params):
    """A row's features, reconstruction and score in any batch (a subset, one row at a time,
    chunks of 7, reversed) stay within the header's batch bound of the full batch's."""
    t = AutoencoderTransformer(batch_norm=True, dropout=0.2, **small_params).fit(data)
    model = t.model_
    x = np.ascontiguousarray(data, dtype=np.float32)
    mask = np.arange(600) % 7 == 3
    for kind, compute in [("features", model.transform), ("reconstructions", model.reconstruct),
                          ("scores", model.score)]:
        full = compute(x)
        assert_equal_up_to_batch_rounding(compute(x[mask]), full[mask], kind)
        one_at_a_time = np.concatenate([compute(x[i:i + 1]) for i in range(0, 600, 5)])
        assert_equal_up_to_batch_rounding(one_at_a_time, full[::5], kind)
        reversed_chunks = np.concatenate([compute(x[::-1][i:i + 7]) for i in range(0, 600, 7)])
        assert_equal_up_to_batch_rounding(reversed_chunks[::-1], full, kind)
    np.testing.assert_array_equal(t.transform(data), t.transform(data))  # same batch: same bits


def test_random_state_semantics(data, small_params):
    params = {**small_params, "epochs": 3}
    a = AutoencoderTransformer(**params).fit(data).transform(data)
    b = AutoencoderTransformer(**params).fit(data).transform(data)
    np.testing.assert_array_equal(a, b)
    c = AutoencoderTransformer(**{**params, "random_state": 1}).fit(data).transform(data)
    assert not np.array_equal(a, c)
    # None: one draw from numpy's global RandomState (read, never reseeded), so seeding it makes
    # fits reproducible and leaves it exactly one draw further on.
    np.random.seed(5)
    g = AutoencoderTransformer(**{**params, "random_state": None}).fit(data).transform(data)
    after = np.random.get_state()[1].copy()
    np.random.seed(5)
    np.random.randint(0, 2**31 - 1)
    np.testing.assert_array_equal(after, np.random.get_state()[1])
    np.random.seed(5)
    np.testing.assert_array_equal(AutoencoderTransformer(**{**params, "random_state": None}).fit(data).transform(data), g)
    rs = np.random.RandomState(5)
    d = AutoencoderTransformer(**{**params, "random_state": rs}).fit(data).transform(data)
    e = AutoencoderTransformer(**{**params, "random_state": np.random.RandomState(5)}).fit(data).transform(data)
    np.testing.assert_array_equal(d, e)


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
    assert AutoencoderTransformer(learning_rate_schedule="cosine")._spec(12, 0)["training"]["learning_rate_schedule"] == {"type": "cosine"}
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


def test_bad_input_is_a_clear_value_error(data, small_params):
    t = AutoencoderTransformer(**small_params)
    with pytest.raises(NotFittedError):
        t.transform(data)
    bad = data.copy()
    bad[3, 4] = np.nan
    with pytest.raises(ValueError, match="NaN"):
        t.fit(bad)
    bad[3, 4] = np.inf
    with pytest.raises(ValueError, match="infinity"):
        t.fit(bad)
    with pytest.raises(ValueError, match="float32"):
        t.fit(np.full((4, 3), 1e300))
    with pytest.raises(ValueError, match="2D"):
        t.fit(data[0])
    with pytest.raises(ValueError, match="0 sample"):
        t.fit(data[:0])
    with pytest.raises(ValueError, match="invalid spec"):
        AutoencoderTransformer(code_size=0).fit(data)
    with pytest.raises(ValueError, match="learning_rate"):
        AutoencoderTransformer(learning_rate=-1).fit(data)
    with pytest.raises(ValueError, match="random_state"):
        AutoencoderTransformer(random_state="seven").fit(data)
    t.fit(data)
    with pytest.raises(ValueError, match="X has 5 features, but AutoencoderTransformer is expecting 12"):
        t.transform(data[:, :5])
    with pytest.raises(ValueError, match="must hold numbers"):
        t.transform(np.array([["a"] * 12]))
    with pytest.raises(TypeError, match="sparse"):
        import scipy.sparse
        t.transform(scipy.sparse.csr_matrix(data))


def test_params_clone_pickle_save_load(data, small_params, tmp_path):
    from sklearn.base import clone

    t = AutoencoderTransformer(**small_params)
    assert t.get_params()["code_size"] == 3
    assert t.set_params(code_size=4) is t and t.code_size == 4
    with pytest.raises(ValueError, match="invalid parameter 'colour'"):
        t.set_params(colour=1)
    assert "code_size=4" in repr(t) and "activation" not in repr(t)
    t.fit(data)
    c = clone(t)
    assert not hasattr(c, "model_") and c.get_params() == t.get_params()
    np.testing.assert_array_equal(c.fit(data).transform(data), t.transform(data))
    p = pickle.loads(pickle.dumps(t))
    np.testing.assert_array_equal(p.transform(data), t.transform(data))
    t.save(tmp_path / "t.aef")
    loaded = AutoencoderTransformer.load(tmp_path / "t.aef")
    np.testing.assert_array_equal(loaded.transform(data), t.transform(data))
    assert loaded.get_params()["code_size"] == 4 and loaded.get_params()["hidden_units"] == (16,)
    unfitted = pickle.loads(pickle.dumps(AutoencoderTransformer(**small_params)))
    assert not hasattr(unfitted, "model_")


def test_pipeline_and_grid_search(small_params):
    from sklearn.linear_model import LogisticRegression
    from sklearn.model_selection import GridSearchCV
    from sklearn.pipeline import Pipeline

    x = structured(400, seed=3)
    y = (x[:, 0] > np.median(x[:, 0])).astype(int)
    pipe = Pipeline([("ae", AutoencoderTransformer(**small_params)), ("lr", LogisticRegression())])
    assert pipe.fit(x, y).score(x, y) > 0.8
    search = GridSearchCV(pipe, {"ae__code_size": [2, 4]}, cv=2).fit(x, y)
    assert search.best_params_["ae__code_size"] in (2, 4)

    # The transformer's own score (minus the mean reconstruction error) lets an unsupervised
    # search run without `scoring`: a 1-unit code reconstructs these 2-D-manifold rows worse.
    ae = AutoencoderTransformer(**small_params).fit(x)
    assert ae.score(x) == pytest.approx(-np.mean(ae.model_.score(x.astype(np.float32)), dtype=np.float64))
    assert ae.score(x) < 0
    unsupervised = GridSearchCV(AutoencoderTransformer(**small_params), {"code_size": [1, 3]}, cv=2).fit(x)
    assert unsupervised.best_params_["code_size"] == 3


def test_keyboard_interrupt_cancels_cleanly(data, small_params, monkeypatch):
    from aefeatures import estimators

    calls = []

    def interrupt(self, epoch, *rest):
        calls.append(epoch)
        if epoch == 2:
            raise KeyboardInterrupt

    monkeypatch.setattr(estimators._Progress, "_show", interrupt)
    t = AutoencoderTransformer(**{**small_params, "verbose": True})
    with pytest.raises(KeyboardInterrupt):
        t.fit(data)
    assert calls == [1, 2] and not hasattr(t, "model_")


def test_verbose_prints_progress(data, small_params, capsys, monkeypatch):
    import builtins

    real_import = builtins.__import__
    monkeypatch.setattr(builtins, "__import__",
                        lambda name, *a, **k: (_ for _ in ()).throw(ImportError()) if name == "tqdm" else real_import(name, *a, **k))
    AutoencoderTransformer(**{**small_params, "epochs": 2, "verbose": True}).fit(data)
    assert "epoch 2/2: loss" in capsys.readouterr().err


# -- detector -----------------------------------------------------------------------------------

def test_detector_follows_pyod_conventions(small_params):
    x = structured(1000, seed=1, anomalies=30)
    truth = np.r_[np.zeros(970), np.ones(30)]
    det = AutoencoderDetector(AutoencoderTransformer(**{**small_params, "epochs": 30}), contamination=0.03).fit(x)
    assert det.decision_scores_.shape == (1000,) and det.labels_.shape == (1000,)
    assert set(np.unique(det.labels_)) <= {0, 1}
    assert abs(det.labels_.mean() - 0.03) < 0.01
    np.testing.assert_array_equal(det.predict(x), det.labels_)
    scores = det.decision_function(x)
    np.testing.assert_allclose(scores, det.decision_scores_)
    # Higher score = more anomalous: the planted anomalies rank at the top.
    order = np.argsort(-scores)
    assert truth[order[:30]].mean() > 0.9
    proba = det.predict_proba(x)
    assert proba.shape == (1000, 2) and np.allclose(proba.sum(axis=1), 1) and proba.min() >= 0
    assert np.corrcoef(proba[:, 1], scores)[0, 1] > 0.99
    # The default (combined) score weighs its terms by their means over the training rows (here
    # x), so those rows' scores average 1 (test_detector_combined_score checks the terms).
    assert abs(scores.mean() - 1) < 1e-4
    # Batched scoring gives the same numbers, up to the header's batch bound; labels agree
    # wherever a score is further than that bound from the threshold.
    det.set_params(batch_size=7)
    batched = det.decision_function(x)
    assert_equal_up_to_batch_rounding(batched, scores, "scores")
    assert_equal_up_to_batch_rounding(det.decision_function(x.tolist()), scores, "scores")
    clear = np.abs(scores - det.threshold_) > batch_rounding_bound(scores, "scores")
    np.testing.assert_array_equal(det.predict(x)[clear], det.labels_[clear])
    # predict_proba scales scores by the training scores' range: the bound scales with it.
    spread = det.decision_scores_.max() - det.decision_scores_.min()
    moved = np.abs(det.predict_proba(x)[:, 1] - proba[:, 1])
    assert np.all(moved <= batch_rounding_bound(scores, "scores") / spread * (1 + 1e-9))


def test_detector_thresholds(small_params):
    x = structured(800, seed=2)
    held_out = structured(400, seed=2)[200:]
    det = AutoencoderDetector(AutoencoderTransformer(**small_params), threshold="mad", mad_k=3).fit(x)
    s = det.decision_scores_
    median = np.median(s)
    assert det.threshold_ == pytest.approx(median + 3 * 1.4826 * np.median(np.abs(s - median)))
    det.calibrate_threshold(held_out, false_positive_rate=0.05)
    assert abs(det.predict(held_out).mean() - 0.05) < 0.01
    with pytest.raises(ValueError):
        AutoencoderDetector(contamination=0.7).fit(x)
    with pytest.raises(ValueError):
        AutoencoderDetector(threshold="median").fit(x)
    with pytest.raises(NotFittedError):
        AutoencoderDetector().predict(x)


def test_detector_calibration_goes_through_the_library(small_params):
    rows = structured(5600, seed=21)  # one distribution: fit, calibrate and check on disjoint rows
    x, held_out, fresh = rows[:600], rows[600:2600], rows[2600:]
    det = AutoencoderDetector(AutoencoderTransformer(**small_params)).fit(x)
    det.calibrate_threshold(held_out, false_positive_rate=0.02)
    # The library's threshold, the model's own: the k-th smallest of the 2,000 scores,
    # k = ceil(2001 * 0.98) = 1961 (split conformal).
    assert det.threshold_ == det.autoencoder_.model_.threshold
    quantile = np.sort(det.decision_function(held_out))[1960]
    # decision_function may split the rows differently from the calibration's one call.
    assert abs(det.threshold_ - quantile) <= batch_rounding_bound(np.array([quantile]), "scores")[0]
    assert abs(det.predict(fresh).mean() - 0.02) < 0.01
    restored = pickle.loads(pickle.dumps(det))
    assert restored.threshold_ == det.threshold_ == restored.autoencoder_.model_.threshold
    before = det.threshold_
    for rate in (0, 1, float("nan"), -0.5):
        with pytest.raises(ValueError, match="false positive rate must be in"):
            det.calibrate_threshold(held_out, false_positive_rate=rate)
    with pytest.raises(ValueError, match="98 normal rows cannot calibrate a false-positive rate of 0.01: at least 99"):
        det.calibrate_threshold(held_out[:98], false_positive_rate=0.01)
    poisoned = held_out.copy()
    poisoned[3, 2] = np.inf
    with pytest.raises(ValueError):
        det.calibrate_threshold(poisoned)
    with pytest.raises(ValueError):
        det.calibrate_threshold(held_out[:, :-1])
    assert det.threshold_ == before == det.autoencoder_.model_.threshold
    with pytest.raises(NotFittedError):
        AutoencoderDetector().calibrate_threshold(held_out)


def test_detector_standardized_score(small_params, tmp_path):
    rows = structured(1500, seed=31)
    x, held_out = rows[:1000], rows[1000:]
    det = AutoencoderDetector(AutoencoderTransformer(**small_params), anomaly_score="standardized").fit(x)
    model = det.autoencoder_.model_
    assert model.spec["score"] == "standardized" and det.autoencoder_.anomaly_score == "standardized"
    # Each value's error over its mean on the training rows (no validation split here), then
    # the row mean: the library's scores, which the threshold and the ONNX scorer use too.
    weights = 1 / det.feature_errors(x).mean(axis=0)
    expected = (det.feature_errors(held_out) * weights).mean(axis=1)
    np.testing.assert_allclose(det.decision_function(held_out), expected, rtol=2e-3)
    assert abs(det.decision_scores_.mean() - 1) < 0.01
    plain = AutoencoderDetector(AutoencoderTransformer(**small_params), anomaly_score=None).fit(x)
    assert "score" not in plain.autoencoder_.model_.spec
    np.testing.assert_allclose(plain.decision_function(held_out), plain.feature_errors(held_out).mean(axis=1), rtol=1e-5)
    det.autoencoder_.save(tmp_path / "standardized.aef")
    restored = AutoencoderTransformer.load(tmp_path / "standardized.aef")
    assert restored.anomaly_score == "standardized"
    np.testing.assert_array_equal(restored.model_.score(held_out), model.score(held_out))
    with pytest.raises(ValueError, match="'score' is 'zscore'"):
        AutoencoderDetector(AutoencoderTransformer(**small_params), anomaly_score="zscore").fit(x)


def test_detector_combined_score(small_params, tmp_path):
    """The detector's default score: the standardized score plus the code's Mahalanobis distance
    and its mean squared distance to the 2nd-6th nearest training codes, each divided by three
    times its mean on the training rows (recomputed here in numpy from the codes and the
    standardized scores)."""
    rows = structured(1300, seed=32)
    x, held_out = rows[:1000], rows[1000:]
    assert AutoencoderDetector().anomaly_score == "combined"
    det = AutoencoderDetector(AutoencoderTransformer(**small_params)).fit(x)
    plain = AutoencoderDetector(AutoencoderTransformer(**small_params), anomaly_score="standardized").fit(x)
    assert det.autoencoder_.model_.spec["score"] == "combined"
    codes, fresh = (det.autoencoder_.transform(rows).astype(np.float64) for rows in (x, held_out))
    mean = codes.mean(axis=0)
    covariance = np.cov(codes - mean, rowvar=False, bias=True)
    inverse = np.linalg.inv(covariance + 1e-2 * np.trace(covariance) / len(covariance) * np.eye(len(covariance)))

    def terms(c, base):
        distances = ((c[:, None, :] - codes[None, :, :]) ** 2).sum(axis=2)
        neighbours = np.sort(distances, axis=1)[:, 1:6].mean(axis=1)
        return np.column_stack([base, np.einsum("ij,jk,ik->i", c - mean, inverse, c - mean), neighbours])

    training = terms(codes, plain.decision_scores_)
    weights = 1 / (3 * training.mean(axis=0))
    np.testing.assert_allclose(det.decision_function(held_out), terms(fresh, plain.decision_function(held_out)) @ weights, rtol=1e-4)
    np.testing.assert_allclose(det.decision_scores_, training @ weights, rtol=1e-4)
    assert abs(det.decision_scores_.mean() - 1) < 1e-4
    det.autoencoder_.save(tmp_path / "combined.aef")
    restored = AutoencoderTransformer.load(tmp_path / "combined.aef")
    assert restored.anomaly_score == "combined"
    np.testing.assert_array_equal(restored.model_.score(held_out), det.autoencoder_.model_.score(held_out))


def test_detector_pickle_and_nested_params(small_params):
    from sklearn.base import clone

    x = structured(300, seed=4)
    det = AutoencoderDetector(AutoencoderTransformer(**small_params), contamination=0.05)
    assert det.get_params()["autoencoder__code_size"] == 3
    det.set_params(autoencoder__code_size=2)
    assert det.autoencoder.code_size == 2
    det.fit(x)
    assert det.autoencoder_.transform(x).shape == (300, 2)
    assert det.autoencoder.__dict__.get("model_") is None, "the template estimator stays unfitted"
    copy = pickle.loads(pickle.dumps(det))
    np.testing.assert_array_equal(copy.decision_function(x), det.decision_function(x))
    assert copy.threshold_ == det.threshold_
    np.testing.assert_array_equal(clone(det).fit(x).decision_scores_, det.decision_scores_)

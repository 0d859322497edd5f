import pickle

import numpy as np
import pytest

from aefeatures import AutoencoderDetector, AutoencoderTransformer, NotFittedError

from conftest import assert_equal_up_to_batch_rounding, structured


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
    from aefeatures import _transformer

    calls = []

    def interrupt(self, epoch, *rest):
        calls.append(epoch)
        if epoch == 2:
            raise KeyboardInterrupt

    monkeypatch.setattr(_transformer._Progress, "_show", interrupt)
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

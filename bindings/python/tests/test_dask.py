"""aefeatures.dask on a real Dask cluster on this machine (LocalCluster, 2 worker processes of
1 thread): every output of every variant equals in-process results, for Arrays and DataFrames
with ragged and empty partitions; each worker rebuilds the model at most once; BLAS inside a
task runs the one thread Dask gives each worker."""
import numpy as np
import pytest

dd = pytest.importorskip("dask.dataframe", reason="dask[dataframe] is not installed (pip install 'aefeatures[dask]')")
distributed = pytest.importorskip("distributed", reason="distributed is not installed (pip install 'aefeatures[dask]')")
import cloudpickle  # noqa: E402
import dask  # noqa: E402
import dask.array as da  # noqa: E402
import pandas as pd  # noqa: E402

import aefeatures  # noqa: E402
import aefeatures._engine  # noqa: E402
import aefeatures.dask  # noqa: E402
from aefeatures import AutoencoderDetector, AutoencoderTransformer  # noqa: E402

from conftest import VARIANTS, assert_equal_up_to_batch_rounding, fitted_variant, structured  # noqa: E402


@pytest.fixture(scope="module")
def client():
    with distributed.LocalCluster(n_workers=2, threads_per_worker=1, processes=True, dashboard_address=None) as cluster:
        with distributed.Client(cluster) as client:
            yield client


KINDS = {"features": "features", "reconstruction": "reconstructions", "scores": "scores"}


def expected(model, x, output):
    if output == "features":
        return model.transform(x)
    if output == "reconstruction":
        return model.reconstruct(x)
    return model.score(x)


@pytest.mark.parametrize("name", sorted(VARIANTS))
def test_arrays_match_in_process(client, name, fashion):
    model = fitted_variant(name, fashion)
    x = np.ascontiguousarray(fashion[:300])
    rows = da.from_array(x, chunks=((0, 37, 150, 0, 113), (392, 392)))  # ragged, empty, split columns
    for output, kind in KINDS.items():
        result = aefeatures.dask.transform(rows, model, output=output).compute()
        assert result.dtype == np.float32
        assert_equal_up_to_batch_rounding(result, expected(model, x, output), kind)


def test_dataframes_keep_other_columns_and_label(client):
    x = structured(400, seed=50)
    detector = AutoencoderDetector(AutoencoderTransformer(hidden_units=(16,), code_size=3, epochs=20, random_state=0),
                                   contamination=0.05).fit(x)
    columns = [f"v{i}" for i in range(12)]
    frame = pd.DataFrame(x, columns=columns).assign(id=np.arange(400))
    parts = [frame.iloc[:150], frame.iloc[150:150], frame.iloc[150:151], frame.iloc[151:]]
    ddf = dd.from_delayed([dask.delayed(p) for p in parts], meta=frame.iloc[:0])
    scored = aefeatures.dask.transform(ddf, detector, output="scores", input_cols=columns).compute()
    assert list(scored.columns) == ["id", "ae_score"] and scored["ae_score"].dtype == np.float32
    np.testing.assert_array_equal(scored["id"].to_numpy(), np.arange(400))
    assert_equal_up_to_batch_rounding(scored["ae_score"].to_numpy(), detector.decision_function(x), "scores")
    labels = aefeatures.dask.transform(ddf, detector, output="labels", input_cols=columns).compute()
    assert labels["ae_label"].dtype == np.int32
    far = np.abs(detector.decision_function(x) - detector.threshold_) > 1e-3
    np.testing.assert_array_equal(labels["ae_label"].to_numpy()[far], detector.predict(x)[far])
    features = aefeatures.dask.transform(ddf, detector.autoencoder_, input_cols=columns, prefix="f").compute()
    assert list(features.columns) == ["id", "f0", "f1", "f2"]
    assert_equal_up_to_batch_rounding(features[["f0", "f1", "f2"]].to_numpy(), detector.autoencoder_.transform(x), "features")


def test_the_model_travels_once_and_loads_once_per_worker(client):
    x = structured(600, seed=51)
    model = AutoencoderTransformer(hidden_units=(8,), code_size=2, epochs=5, random_state=1).fit(x)
    rows = da.from_array(x, chunks=(50, 12))  # 12 tasks
    features = aefeatures.dask.transform(rows, model)
    blob = model.model_.to_bytes()
    graph = cloudpickle.dumps(dict(features.__dask_graph__()))
    assert graph.count(blob) == 1, "the model bytes sit in one graph key, not in each of the 12 tasks"
    features.compute()
    aefeatures.dask.transform(rows, model, output="scores").compute()
    digest = aefeatures._engine.key(blob)
    loads = client.run(lambda: __import__("aefeatures._engine")._engine.loads.get(digest, 0))
    assert len(loads) == 2 and all(n <= 1 for n in loads.values()) and sum(loads.values()) >= 1, loads
    threads = client.run(aefeatures.get_num_threads)
    assert set(threads.values()) == {1}, threads


def test_bad_inputs(client):
    x = structured(100, seed=52)
    model = AutoencoderTransformer(hidden_units=(8,), code_size=2, epochs=2, random_state=1).fit(x)
    with pytest.raises(ValueError, match="output must be one of"):
        aefeatures.dask.transform(da.from_array(x), model, output="codes")
    with pytest.raises(ValueError, match="12 columns"):
        aefeatures.dask.transform(da.from_array(x[:, :5]), model)
    with pytest.raises(ValueError, match="input_cols not in the DataFrame"):
        aefeatures.dask.transform(dd.from_pandas(pd.DataFrame(x), npartitions=2), model,
                                  input_cols=[f"c{i}" for i in range(12)])
    with pytest.raises(TypeError, match="dask Array or DataFrame"):
        aefeatures.dask.transform(x, model)
    with pytest.raises(aefeatures.NotFittedError):
        aefeatures.dask.transform(da.from_array(x), AutoencoderTransformer())


def test_dask_ml_wrappers(client):
    wrappers = pytest.importorskip("dask_ml.wrappers", reason="dask-ml is not installed (pip install dask-ml)")
    x = structured(600, seed=53)
    rows = da.from_array(x, chunks=(150, 12))
    post = wrappers.ParallelPostFit(AutoencoderDetector(
        AutoencoderTransformer(hidden_units=(8,), code_size=2, epochs=5, random_state=1), contamination=0.05)).fit(x)
    far = np.abs(post.estimator.decision_function(x) - post.estimator.threshold_) > 1e-3
    np.testing.assert_array_equal(post.predict(rows).compute()[far], post.estimator.predict(x)[far])
    features = wrappers.ParallelPostFit(AutoencoderTransformer(hidden_units=(8,), code_size=2, epochs=5, random_state=1)).fit(x)
    assert_equal_up_to_batch_rounding(features.transform(rows).compute(), features.estimator.transform(x), "features")

    # Incremental: partial_fit on each block in turn, on the workers. The estimator travels
    # between them as its pickle (model bytes, without Adam's moments: they start anew after a
    # transfer, as after loading a file), so it matches a local loop in quality, not bit for bit
    # (here its error came out 10% below the loop's).
    small = dict(hidden_units=(8,), code_size=2, batch_size=30, learning_rate=0.01, random_state=1)
    incremental = wrappers.Incremental(AutoencoderTransformer(**small),
                                       shuffle_blocks=False)
    local = AutoencoderTransformer(**small)
    for _ in range(10):
        incremental.partial_fit(rows)
        for start in range(0, 600, 150):
            local.partial_fit(x[start:start + 150])
    assert len(incremental.estimator_.history_["loss"]) == 40
    untrained = AutoencoderTransformer(**small).partial_fit(x[:150]).score(x)
    assert local.score(x) > 0.5 * untrained  # training reduced the error
    assert incremental.estimator_.score(x) >= 1.25 * local.score(x)  # error at most 25% above the loop's

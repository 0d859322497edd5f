"""aefeatures.spark on a real local Spark (local[2]): every output of every variant equals
in-process results through transform (mapInArrow) and predict_udf (predict_batch_udf),
including empty partitions; each Python worker rebuilds the model at most once; the library in
a task runs spark.task.cpus (1) BLAS threads."""
import os
import shutil
import sys

import numpy as np
import pytest

pyspark = pytest.importorskip("pyspark", reason="pyspark is not installed (pip install 'aefeatures[spark]')")
if shutil.which("java") is None and not os.environ.get("JAVA_HOME"):
    pytest.skip("Java is not installed (Debian: apt-get install openjdk-17-jre-headless)", allow_module_level=True)
from pyspark.sql import SparkSession  # noqa: E402
from pyspark.sql import functions as F  # noqa: E402

import aefeatures  # noqa: E402
import aefeatures._engine  # noqa: E402
import aefeatures.spark  # noqa: E402
from aefeatures import AutoencoderDetector, AutoencoderTransformer  # noqa: E402

from conftest import VARIANTS, assert_equal_up_to_batch_rounding, fitted_variant, structured  # noqa: E402


# PySpark 4.3 under pandas 3 warns on every batch it converts; the warnings are PySpark's own.
pytestmark = [pytest.mark.filterwarnings("ignore:The copy keyword is deprecated"),
              pytest.mark.filterwarnings("ignore:PySpark does not yet fully support pandas")]


@pytest.fixture(scope="module")
def spark():
    # The Python workers run this interpreter (with aefeatures installed), as a cluster's
    # executors need an environment with it.
    os.environ.setdefault("PYSPARK_PYTHON", sys.executable)
    session = (SparkSession.builder.master("local[2]").appName("aefeatures-tests")
               .config("spark.ui.enabled", "false").config("spark.sql.shuffle.partitions", "4")
               .config("spark.sql.execution.arrow.pyspark.enabled", "true").getOrCreate())
    session.sparkContext.setLogLevel("ERROR")
    yield session
    session.stop()


def expected(model, x, output):
    return {"features": model.transform, "reconstruction": model.reconstruct, "scores": model.score}[output](x)


KINDS = {"features": "features", "reconstruction": "reconstructions", "scores": "scores"}


@pytest.mark.parametrize("name", sorted(VARIANTS))
def test_every_output_matches_in_process(spark, name, fashion):
    model = fitted_variant(name, fashion)
    x = np.ascontiguousarray(fashion[:200])
    rows = [(i, x[i].tolist()) for i in range(len(x))]
    df = spark.createDataFrame(spark.sparkContext.parallelize(rows, 3), "id long, pixels array<float>")
    for output, kind in KINDS.items():
        result = aefeatures.spark.transform(df, model, output=output, input_col="pixels").orderBy("id").toPandas()
        assert list(result["id"]) == list(range(len(x)))
        values = result.drop(columns="id").to_numpy(dtype=np.float32)
        assert_equal_up_to_batch_rounding(values if output != "scores" else values[:, 0], expected(model, x, output), kind)
    udf = aefeatures.spark.predict_udf(model, output="features", batch_size=64)
    features = df.withColumn("f", udf("pixels")).orderBy("id").select("f").toPandas()
    assert_equal_up_to_batch_rounding(np.stack(features["f"].to_numpy()), model.transform(x), "features")


def test_columns_empty_partitions_labels_loads_and_threads(spark):
    x = structured(50, seed=60)
    detector = AutoencoderDetector(AutoencoderTransformer(hidden_units=(16,), code_size=3, epochs=20, random_state=0),
                                   contamination=0.1).fit(x)
    columns = [f"v{i}" for i in range(12)]
    rows = [(i, *map(float, x[i])) for i in range(50)]
    # 64 slices for 50 rows: 14 partitions are empty.
    df = spark.createDataFrame(spark.sparkContext.parallelize(rows, 64), ["id"] + columns)
    scored = aefeatures.spark.transform(df, detector, output="scores", input_cols=columns).orderBy("id").toPandas()
    assert list(scored.columns) == ["id", "ae_score"]
    assert_equal_up_to_batch_rounding(scored["ae_score"].to_numpy(), detector.decision_function(x), "scores")
    labels = aefeatures.spark.transform(df, detector, output="labels", input_cols=columns, prefix="is_").orderBy("id").toPandas()
    far = np.abs(detector.decision_function(x) - detector.threshold_) > 1e-3
    np.testing.assert_array_equal(labels["is_label"].to_numpy()[far], detector.predict(x)[far])
    udf = aefeatures.spark.predict_udf(detector, output="scores")
    udf_scores = df.withColumn("s", udf(F.array(*columns))).orderBy("id").select("s").toPandas()["s"].to_numpy()
    assert_equal_up_to_batch_rounding(udf_scores, detector.decision_function(x), "scores")

    digest = aefeatures._engine.key(detector.autoencoder_.model_.to_bytes())

    def report(frames):
        import pandas as pd

        for _ in frames:
            yield pd.DataFrame({"pid": [os.getpid()], "loads": [aefeatures._engine.loads.get(digest, 0)],
                                "threads": [aefeatures.get_num_threads()]})

    workers = df.mapInPandas(report, "pid long, loads long, threads long").toPandas()
    assert (workers["loads"] <= 1).all(), workers.groupby("pid").max()
    assert set(workers["threads"]) == {1}, "a task runs spark.task.cpus BLAS threads"


def test_bad_calls(spark):
    x = structured(20, seed=61)
    model = AutoencoderTransformer(hidden_units=(8,), code_size=2, epochs=2, random_state=0).fit(x)
    df = spark.createDataFrame([(float(v),) * 12 for v in range(3)], [f"c{i}" for i in range(12)])
    with pytest.raises(ValueError, match="output must be one of"):
        aefeatures.spark.transform(df, model, output="codes")
    with pytest.raises(ValueError, match="columns not in the DataFrame"):
        aefeatures.spark.transform(df, model, input_cols=[f"x{i}" for i in range(12)])
    with pytest.raises(ValueError, match="takes 12 features"):
        aefeatures.spark.transform(df, model, input_cols=["c0", "c1"])
    with pytest.raises(aefeatures.NotFittedError):
        aefeatures.spark.transform(df, AutoencoderTransformer())

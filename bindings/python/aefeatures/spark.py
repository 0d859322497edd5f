"""aefeatures inside Apache Spark (PySpark 3.4+ and 4.x): features, scores, reconstructions or
anomaly labels for every row of a DataFrame, computed by the executors' Python workers.

    import aefeatures.spark
    scored = aefeatures.spark.transform(df, detector, output="scores", input_cols=columns)  # mapInArrow
    df.withColumn("features", aefeatures.spark.predict_udf(model)(F.array(*columns)))

The model travels as the library's model bytes (Spark broadcasts a large Python function once
per executor rather than with each task) and each Python worker rebuilds it at most once and
keeps it for its later tasks. Empty partitions are fine. Threads: PySpark starts its Python
workers with OMP_NUM_THREADS set to spark.task.cpus (unless already set), and OpenBLAS reads it
at load, so a task runs the library on the cores Spark gave it; set OPENBLAS_NUM_THREADS in
spark.executorEnv to choose otherwise.

Needs pyspark (and Java for it); `import aefeatures` never imports it.
"""
import numpy as np

from ._engine import OUTPUTS, cached, output_width, payload, rows_output


def _plan(model, output):
    if output not in OUTPUTS:
        raise ValueError(f"output must be one of {OUTPUTS}, got {output!r}")
    native, shipped, threshold = payload(model, output)
    return shipped, threshold, native.sample_size, output_width(native, output)


def predict_udf(model, output="features", batch_size=4096):
    """A pyspark.ml.functions.predict_batch_udf computing `output` (see transform) of a column
    holding each row's features as an array (e.g. F.array(*columns)): array<float> for
    features and reconstruction, float for scores, int for labels. The loader runs once per
    Python worker and rebuilds the model from its bytes there; batches of `batch_size` rows go
    to the library in one call each."""
    from pyspark.ml.functions import predict_batch_udf
    from pyspark.sql.types import ArrayType, FloatType, IntegerType

    shipped, threshold, features, width = _plan(model, output)

    def make_predict_fn():
        cached(shipped)  # rebuilt here, once per Python worker

        def predict(inputs):
            return rows_output(inputs.reshape(-1, features), shipped, output, threshold, width)
        return predict

    return_type = ArrayType(FloatType()) if width else IntegerType() if output == "labels" else FloatType()
    return predict_batch_udf(make_predict_fn, return_type=return_type, batch_size=batch_size,
                             input_tensor_shapes=[[features]])


def transform(df, model, output="features", input_cols=None, input_col=None, prefix="ae_"):
    """`output` of every row of the Spark DataFrame `df`, lazily.

    The model's features are the columns `input_cols` (default: every column), in the model's
    order, or one array column `input_col`. model: a fitted AutoencoderTransformer,
    AutoencoderDetector or NativeModel ("labels" use the detector's threshold_, else the model's
    own). output: "features" (code_size values a row), "reconstruction" (n_features, raw units),
    "scores" (higher is more anomalous) or "labels" (1 above the threshold, else 0).
    The result keeps `df`'s other columns (ids and the like) and adds float columns
    f"{prefix}{i}" (features, reconstruction) or one column f"{prefix}score" (float) /
    f"{prefix}label" (int).
    Runs through mapInArrow: each Arrow batch's values go to the library as one numpy array (an
    array column's flat value buffer, no Python object per row), in batches of
    spark.sql.execution.arrow.maxRecordsPerBatch rows.
    """
    from pyspark.sql.types import FloatType, IntegerType, StructField, StructType

    shipped, threshold, features, width = _plan(model, output)
    if input_col is not None and input_cols is not None:
        raise ValueError("give input_cols or input_col, not both")
    used = [input_col] if input_col is not None else list(df.columns if input_cols is None else input_cols)
    missing = [c for c in used if c not in df.columns]
    if missing:
        raise ValueError(f"columns not in the DataFrame: {missing}")
    if input_col is None and len(used) != features:
        raise ValueError(f"the model takes {features} features; input_cols names {len(used)}")
    keep = [c for c in df.columns if c not in used]
    names = [f"{prefix}{i}" for i in range(width)] if width else [f"{prefix}{output[:-1]}"]
    kind = IntegerType() if output == "labels" else FloatType()
    schema = StructType([df.schema[c] for c in keep] + [StructField(name, kind) for name in names])

    def apply(batches):
        import pyarrow as pa

        for batch in batches:
            if input_col is not None:
                column = batch.column(input_col)
                values = column.flatten().to_numpy(zero_copy_only=False)
                if column.null_count or len(values) != len(column) * features:
                    raise ValueError(f"{input_col} must hold {features} values in every row")
                rows = values.reshape(len(column), features)
            else:
                rows = np.column_stack([batch.column(c).to_numpy(zero_copy_only=False) for c in used]) \
                    if len(batch) else np.empty((0, features))
            result = rows_output(rows, shipped, output, threshold, width)
            columns = [batch.column(c) for c in keep]
            columns += [pa.array(result[:, i]) for i in range(width)] if width else [pa.array(result)]
            yield pa.RecordBatch.from_arrays(columns, names=keep + names)

    return df.mapInArrow(apply, schema)

"""aefeatures inside Dask: features, scores, reconstructions or anomaly labels for every row of
a Dask DataFrame or Array, computed by the workers where the partitions are.

    import aefeatures.dask
    features = aefeatures.dask.transform(ddf, detector, output="scores", input_cols=columns)

The model travels once, as the library's model bytes in one graph key every task depends on (not
a pickled handle, not copied into each task), and each worker process rebuilds it at most once
and keeps it for later tasks and computations. Empty and ragged partitions are fine. Inside a
worker the library uses the thread count the process starts with: OpenBLAS reads
OPENBLAS_NUM_THREADS / OMP_NUM_THREADS at load, and Dask's nanny sets both to 1 for its workers
(distributed.nanny.pre-spawn-environ), so workers x threads_per_worker BLAS threads run in all.

Needs dask[dataframe] (and distributed for a cluster); `import aefeatures` never imports them.
"""
import numpy as np

from ._engine import OUTPUTS, output_width, payload, rows_output


def transform(data, model, output="features", input_cols=None, prefix="ae_"):
    """`output` of every row of `data`, lazily (call .compute() or write it out).

    data: a dask.array.Array of shape [n, n_features] (any row chunks; columns are joined into
        one chunk), or a dask.dataframe.DataFrame whose `input_cols` (default: every column) are
        the model's features, in the model's order.
    model: a fitted AutoencoderTransformer, AutoencoderDetector or NativeModel. "labels" use
        the detector's threshold_ (a transformer or NativeModel: the model's own threshold).
    output: "features" (code_size values a row), "reconstruction" (n_features, raw units),
        "scores" (one; higher is more anomalous) or "labels" (1 above the threshold, else 0).
    An Array gives an Array: float32 [n, width], or [n] for scores (float32) and labels (int32).
    A DataFrame gives a DataFrame: its other columns (ids and the like) followed by float32
    columns f"{prefix}{i}" (features, reconstruction) or one column f"{prefix}score" (float32) /
    f"{prefix}label" (int32).
    """
    import dask
    import dask.array as da
    import dask.dataframe as dd

    if output not in OUTPUTS:
        raise ValueError(f"output must be one of {OUTPUTS}, got {output!r}")
    native, shipped, threshold = payload(model, output)
    width = output_width(native, output)
    shared = dask.delayed(shipped, pure=True)  # one key: sent once, not embedded in every task
    if isinstance(data, da.Array):
        if data.ndim != 2 or data.shape[1] != native.sample_size:
            raise ValueError(f"expected a 2-D array of {native.sample_size} columns, got shape {data.shape}")
        rows = data.rechunk({1: -1})
        if width:
            return rows.map_blocks(rows_output, shared, output, threshold, width, dtype=np.float32,
                                   chunks=(rows.chunks[0], (width,)))
        return rows.map_blocks(rows_output, shared, output, threshold, width, drop_axis=1,
                               dtype=np.int32 if output == "labels" else np.float32)
    if isinstance(data, dd.DataFrame):
        columns = list(data.columns) if input_cols is None else list(input_cols)
        if len(columns) != native.sample_size:
            raise ValueError(f"the model takes {native.sample_size} features; input_cols names {len(columns)}")
        missing = [c for c in columns if c not in data.columns]
        if missing:
            raise ValueError(f"input_cols not in the DataFrame: {missing}")
        keep = [c for c in data.columns if c not in columns]
        names = [f"{prefix}{i}" for i in range(width)] if width else [f"{prefix}{output[:-1]}"]
        meta = data._meta[keep].copy()
        for name in names:
            meta[name] = np.array([], dtype=np.int32 if output == "labels" else np.float32)
        return data.map_partitions(_frame, shared, output, threshold, width, columns, keep, names, meta=meta)
    raise TypeError(f"data must be a dask Array or DataFrame, got {type(data).__name__}")


def _frame(frame, shipped, output, threshold, width, columns, keep, names):
    values = rows_output(frame[columns].to_numpy(dtype=np.float32), shipped, output, threshold, width)
    out = frame[keep].copy()
    if width:
        for i, name in enumerate(names):
            out[name] = values[:, i]
    else:
        out[names[0]] = values
    return out

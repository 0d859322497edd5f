"""What the Dask and Spark integrations share: a fitted model as bytes (and threshold), rebuilt
once per worker process, and one partition's rows turned into an output."""
import hashlib
import threading

import numpy as np

from ._model import NativeModel

OUTPUTS = ("features", "scores", "reconstruction", "labels")

_models = {}
_lock = threading.Lock()
loads = {}  # per model (sha256 of its bytes): times rebuilt in this process; the tests read it


def output_width(model, output):
    """Values a row of `output` for a NativeModel (0: one value a row, scores and labels)."""
    return {"features": model.code_size, "reconstruction": model.sample_size}.get(output, 0)


class ModelBytes:
    """A model's bytes and their sha256, hashed once where the job is built: hashing 8 MB costs
    about 5 ms, a tenth of a Spark batch's work if each batch did it."""
    __slots__ = ("blob", "digest")

    def __init__(self, blob):
        self.blob, self.digest = blob, key(blob)

    def __dask_tokenize__(self):  # Dask names the shared graph key by it without pickling the bytes
        return self.digest


def payload(model, output):
    """(NativeModel, its ModelBytes, threshold) of a fitted estimator or NativeModel."""
    from .estimators import AutoencoderDetector, AutoencoderTransformer

    if isinstance(model, AutoencoderDetector):
        model._check_fitted()
        native = model.autoencoder_.model_
        return native, ModelBytes(native.to_bytes()), model.threshold_
    if isinstance(model, AutoencoderTransformer):
        model._check_fitted()
        model = model.model_
    if not isinstance(model, NativeModel):
        raise TypeError(f"model must be a fitted AutoencoderTransformer, AutoencoderDetector or NativeModel, "
                        f"got {type(model).__name__}")
    if not model.is_fitted:
        raise ValueError("the model is not fitted")
    return model, ModelBytes(model.to_bytes()), model.threshold if output == "labels" else None


def key(blob):
    return hashlib.sha256(blob).hexdigest()


def cached(shipped):
    """The model of these ModelBytes, rebuilt once per process."""
    with _lock:
        model = _models.get(shipped.digest)
        if model is None:
            model = _models[shipped.digest] = NativeModel.from_bytes(shipped.blob)
            loads[shipped.digest] = loads.get(shipped.digest, 0) + 1
        return model


def rows_output(rows, shipped, output, threshold, width):
    """One partition's rows -> its outputs (rows x width, or one value a row)."""
    if rows.shape[0] == 0:
        return np.empty((0, width) if width else (0,), dtype=np.int32 if output == "labels" else np.float32)
    model, x = cached(shipped), np.ascontiguousarray(rows, dtype=np.float32)
    if output == "features":
        return model.transform(x)
    if output == "reconstruction":
        return model.reconstruct(x)
    scores = model.score(x)
    return (scores > threshold).astype(np.int32) if output == "labels" else scores

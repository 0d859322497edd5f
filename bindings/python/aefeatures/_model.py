"""NativeModel: one libaefeatures model handle with numpy in and out. The estimators build on it."""
import ctypes
import functools
import json

import numpy as np

from . import _native
from ._native import check, lib

_FLOAT32 = np.dtype(np.float32)  # compared with and allocated as a dtype: the type np.float32 is converted each time
_address, _buffer = ctypes.addressof, ctypes.c_char.from_buffer


def _pointer(array):
    """The address of a C-contiguous array's first value, as the library reads or writes it. A
    writable array's comes through the buffer protocol (0.2 us; numpy's array.ctypes.data takes
    1 us and array.ctypes.data_as 2 us, a third of a small encoder's batch-of-one call)."""
    try:
        return _address(_buffer(array))
    except (TypeError, ValueError):  # read-only or empty
        return array.ctypes.data


def _rows(x, name="x"):
    """`x` as the C-contiguous float32 matrix the library reads (copied only when it is not one
    already). The library itself checks widths, emptiness and finiteness."""
    if type(x) is np.ndarray and x.dtype == _FLOAT32 and x.ndim == 2 and x.flags.c_contiguous:
        return x  # the common case, tested first: a batch-of-one call is a few microseconds
    if np.iscomplexobj(x):
        raise ValueError(f"{name} must hold real numbers, not complex ones")
    try:
        array = np.ascontiguousarray(x, dtype=np.float32)
    except (TypeError, ValueError) as error:
        raise ValueError(f"{name} must be a 2-D array of numbers: {error}") from None
    if array.ndim != 2:
        raise ValueError(f"{name} must be 2-D (samples x features), got {array.ndim}-D")
    return array


class NativeModel:
    """Owns an `aef_model *`; frees it when garbage-collected. Inference methods may be called
    from several threads at once; `fit` must not overlap any other call on the same model."""

    def __init__(self, handle):
        self._handle = ctypes.c_void_p(handle)

    @classmethod
    def create(cls, spec):
        """A new unfitted model from a spec (dict or JSON text); see docs/spec.md."""
        text = spec if isinstance(spec, str) else json.dumps(spec)
        handle = ctypes.c_void_p()
        check(lib.aef_model_create(text.encode(), ctypes.byref(handle)))
        return cls(handle.value)

    @classmethod
    def from_bytes(cls, data):
        buffer = bytes(data)
        handle = ctypes.c_void_p()
        check(lib.aef_model_load_buffer(buffer, len(buffer), ctypes.byref(handle)))
        return cls(handle.value)

    @classmethod
    def load(cls, path):
        handle = ctypes.c_void_p()
        check(lib.aef_model_load(str(path).encode(), ctypes.byref(handle)))
        return cls(handle.value)

    def __del__(self):
        handle = getattr(self, "_handle", None)
        if handle is not None and handle.value and lib is not None:
            lib.aef_model_free(handle)
            self._handle = None

    # -- queries -------------------------------------------------------------------------------

    def _size(self, function):
        out = ctypes.c_size_t()
        check(function(self._handle, ctypes.byref(out)))
        return out.value

    # A handle's shapes never change (its spec is fixed when it is created), so they are asked once.
    @functools.cached_property
    def sample_size(self):
        return self._size(lib.aef_model_sample_size)

    @functools.cached_property
    def code_size(self):
        return self._size(lib.aef_model_code_size)

    @property
    def is_fitted(self):
        out = ctypes.c_int()
        check(lib.aef_model_is_fitted(self._handle, ctypes.byref(out)))
        return bool(out.value)

    @property
    def threshold(self):
        out = ctypes.c_float()
        check(lib.aef_model_threshold(self._handle, ctypes.byref(out)))
        return float(out.value)

    @property
    def spec(self):
        """The spec with every default filled in, as a dict."""
        needed = ctypes.c_size_t()
        check(lib.aef_model_spec_json(self._handle, None, 0, ctypes.byref(needed)))
        buffer = ctypes.create_string_buffer(needed.value)
        check(lib.aef_model_spec_json(self._handle, buffer, needed.value, ctypes.byref(needed)))
        return json.loads(buffer.value.decode())

    @property
    def history(self):
        """{'loss': [...], 'validation_loss': [...]} of the last fit (NaN where no validation)."""
        epochs = ctypes.c_size_t()
        check(lib.aef_model_history(self._handle, None, None, 0, ctypes.byref(epochs)))
        loss = (ctypes.c_double * max(epochs.value, 1))()
        validation = (ctypes.c_double * max(epochs.value, 1))()
        check(lib.aef_model_history(self._handle, loss, validation, epochs.value, ctypes.byref(epochs)))
        return {"loss": list(loss[:epochs.value]), "validation_loss": list(validation[:epochs.value])}

    # -- training and inference -----------------------------------------------------------------

    def fit(self, x, validation=None, seed=None, progress=None):
        """x: [n, sample_size] numbers (used as float32). progress(epoch, epochs, loss, validation_loss)
        returns True to stop. Returns True if training ran to its end, False if it was stopped."""
        x = _rows(x)
        validation = _rows(validation, "validation") if validation is not None else None
        seed_arg = ctypes.byref(ctypes.c_uint64(seed)) if seed is not None else None
        callback = _native.PROGRESS(lambda _user, epoch, epochs, loss, val: int(bool(progress(epoch, epochs, loss, val))))
        status = lib.aef_model_fit(
            self._handle, _pointer(x), x.shape[0], x.shape[1],
            _pointer(validation) if validation is not None else None,
            validation.shape[0] if validation is not None else 0,
            seed_arg, callback if progress is not None else _native.PROGRESS(), None)
        return check(status) == _native.AEF_OK

    def partial_fit(self, x, seed=None):
        """One pass over x continuing the model's training (aef_model_partial_fit): the first call
        on an unfitted model initializes it (seed, else the spec's) and fits the scaling."""
        x = _rows(x)
        seed_arg = ctypes.byref(ctypes.c_uint64(seed)) if seed is not None else None
        check(lib.aef_model_partial_fit(self._handle, _pointer(x), x.shape[0], x.shape[1], seed_arg))

    def _infer(self, function, x, width):
        """out = function(x) [rows, width]. Written for a batch of one, whose library call is a few
        microseconds: the common case's checks and pointers inline (bench/python_call.py)."""
        if not (type(x) is np.ndarray and x.dtype == _FLOAT32 and x.ndim == 2 and x.flags.c_contiguous):
            x = _rows(x)
        rows, columns = x.shape
        out = np.empty((rows, width), dtype=_FLOAT32)
        try:
            x_data, out_data = _address(_buffer(x)), _address(_buffer(out))
        except (TypeError, ValueError):  # x read-only, or no rows
            x_data, out_data = _pointer(x), _pointer(out)
        status = function(self._handle, x_data, rows, columns, out_data, rows * width)
        if status != _native.AEF_OK:  # check() only when it fails
            check(status)
        return out

    def transform(self, x):
        return self._infer(lib.aef_model_transform, x, self.code_size)

    def reconstruct(self, x):
        return self._infer(lib.aef_model_reconstruct, x, self.sample_size)

    def decode(self, codes):
        return self._infer(lib.aef_model_decode, codes, self.sample_size)

    def sample(self, count, seed):
        """`count` draws from the prior through the decoder (variational models)."""
        out = np.empty((count, self.sample_size), dtype=np.float32)
        check(lib.aef_model_sample(self._handle, count, seed, _pointer(out), out.size))
        return out

    def latent_distribution(self, x):
        """(mean, log-variance) of q(z|x) per row, each [n, code_size] (variational models)."""
        x = _rows(x)
        mean = np.empty((x.shape[0], self.code_size), dtype=np.float32)
        log_variance = np.empty_like(mean)
        check(lib.aef_model_latent_distribution(self._handle, _pointer(x), x.shape[0], x.shape[1],
                                                _pointer(mean), _pointer(log_variance), mean.size))
        return mean, log_variance

    def score(self, x):
        return self._infer(lib.aef_model_score, x, 1)[:, 0]

    def feature_errors(self, x):
        return self._infer(lib.aef_model_feature_errors, x, self.sample_size)

    def calibrate_threshold(self, x, false_positive_rate):
        """Sets the model's threshold to the (1 - rate) quantile of x's scores; returns it."""
        x = _rows(x)
        out = ctypes.c_float()
        check(lib.aef_model_calibrate_threshold(self._handle, _pointer(x), x.shape[0], x.shape[1],
                                                float(false_positive_rate), ctypes.byref(out)))
        return float(out.value)

    # -- persistence ---------------------------------------------------------------------------

    def to_bytes(self):
        needed = ctypes.c_size_t()
        check(lib.aef_model_save_buffer(self._handle, None, 0, ctypes.byref(needed)))
        buffer = ctypes.create_string_buffer(needed.value)
        check(lib.aef_model_save_buffer(self._handle, buffer, needed.value, ctypes.byref(needed)))
        return buffer.raw[:needed.value]

    def save(self, path):
        check(lib.aef_model_save(self._handle, str(path).encode()))

    def export_onnx(self, graph="encoder", path=None):
        """One ONNX graph ("encoder", "autoencoder", "scorer" or "decoder", whose input is
        "codes" [N, code_size]; see aef_onnx_graph): written
        atomically to `path`, or returned as bytes when path is None."""
        kind = _onnx_graph(graph)
        if path is not None:
            check(lib.aef_model_export_onnx(self._handle, kind, str(path).encode()))
            return None
        needed = ctypes.c_size_t()
        check(lib.aef_model_export_onnx_buffer(self._handle, kind, None, 0, ctypes.byref(needed)))
        buffer = ctypes.create_string_buffer(needed.value)
        check(lib.aef_model_export_onnx_buffer(self._handle, kind, buffer, needed.value, ctypes.byref(needed)))
        return buffer.raw[:needed.value]


ONNX_GRAPHS = ("encoder", "autoencoder", "scorer", "decoder")


def _onnx_graph(name):
    if name not in ONNX_GRAPHS:
        raise ValueError(f"graph must be one of {ONNX_GRAPHS}, got {name!r}")
    return ONNX_GRAPHS.index(name)


def spec_defaults(spec):
    """`spec` (dict or JSON text) with every default filled in, as a dict, without creating a
    model (aef_spec_defaults): e.g. spec_defaults({"variant": "sparse", "input_shape": [784],
    "code_size": 32}) shows every sparse default. Raises ValueError naming a bad field."""
    text = (spec if isinstance(spec, str) else json.dumps(spec)).encode()
    needed = ctypes.c_size_t()
    check(lib.aef_spec_defaults(text, None, 0, ctypes.byref(needed)))
    buffer = ctypes.create_string_buffer(needed.value)
    check(lib.aef_spec_defaults(text, buffer, needed.value, ctypes.byref(needed)))
    return json.loads(buffer.value.decode())


def set_num_threads(n_threads):
    """Threads the library's math uses, process-wide; 0 means all cores."""
    check(lib.aef_set_num_threads(int(n_threads)))


def blas_info():
    """The OpenBLAS doing the math, the kernel core it picked for this CPU and the build of the
    library's vector kernels, e.g. "OpenBLAS 0.3.21 ... Haswell MAX_THREADS=64; core Haswell;
    kernels avx2": bit-for-bit results hold between processes reporting the same core and kernels
    (and thread count). The environment variable AEF_FORCE_ISA ("baseline", "avx2", "avx512"),
    set before the library loads, picks another kernel build the CPU has."""
    return lib.aef_blas_info().decode()


def get_num_threads():
    out = ctypes.c_int()
    check(lib.aef_get_num_threads(ctypes.byref(out)))
    return out.value

"""ctypes declarations for every function of include/aefeatures.h, the library loader, and the
one place a failing status becomes a Python exception."""
import ctypes
import ctypes.util
import os
from pathlib import Path

__all__ = ["lib", "check", "AEFError", "library_path"]

# The C library this package was written against (include/aefeatures.h).
ABI_VERSION = 1
VERSION = "0.1.0"

AEF_OK = 0
AEF_CANCELLED = 10
OUTPUT_FEATURES, OUTPUT_RECONSTRUCTION, OUTPUT_SCORES, OUTPUT_FEATURE_ERRORS, OUTPUT_LABELS = range(5)


class AEFError(RuntimeError):
    """A call into libaefeatures failed. `status` is the aef_status name."""

    def __init__(self, status, message):
        super().__init__(message)
        self.status = status


class AEFIOError(AEFError, OSError):
    """A model file could not be read or written."""


class AEFCorruptModelError(AEFError, ValueError):
    """Model bytes are truncated, corrupted, foreign or of another format version."""


class AEFDivergedError(AEFError, FloatingPointError):
    """Training loss became NaN or infinite; the model keeps its last good weights."""


class AEFBusyError(AEFError):
    """fit and another call overlapped on one model (from different threads): the call was
    refused at once and changed nothing; retry it when fit has returned."""


def _candidates():
    """Where the library is looked for, in order."""
    env = os.environ.get("AEFEATURES_LIBRARY")
    if env:
        yield Path(env)
        return
    here = Path(__file__).resolve().parent
    yield from sorted(here.glob("libaefeatures.so*"))
    # A source checkout: bindings/python/aefeatures -> build/lib (from `make lib`).
    yield here.parents[2] / "build" / "lib" / f"libaefeatures.so.{ABI_VERSION}"
    found = ctypes.util.find_library("aefeatures")
    if found:
        yield Path(found)


def _load():
    tried = []
    for path in _candidates():
        # find_library gives a bare name for the dynamic loader to resolve; others must exist.
        if path.is_absolute() and not path.exists():
            tried.append(f"{path}: not found")
            continue
        try:
            return ctypes.CDLL(str(path)), str(path)
        except OSError as error:
            tried.append(f"{path}: {error}")
    raise ImportError(
        "aefeatures: cannot load libaefeatures.so. Build it with `make lib` in the repository, "
        "install it (`make install`), or set AEFEATURES_LIBRARY to its path. Tried:\n  " + "\n  ".join(tried))


def _openblas_core_for_cpu():
    """The OpenBLAS core whose sgemm kernels use this CPU's widest vector unit: "SkylakeX" with
    AVX-512 F, CD, BW, DQ and VL, "Haswell" with AVX2 and FMA, else None. The library's
    aefk_openblas_core_for_cpu (Sources/AEFKernels/dispatch.c) restated, because it is needed
    before the library, and OpenBLAS with it, loads."""
    try:
        with open("/proc/cpuinfo") as cpuinfo:
            flags = next((set(line.split(":", 1)[1].split()) for line in cpuinfo if line.startswith("flags")), set())
    except OSError:
        return None
    if {"avx512f", "avx512cd", "avx512bw", "avx512dq", "avx512vl"} <= flags:
        return "SkylakeX"
    return "Haswell" if {"avx2", "fma"} <= flags else None


# OpenBLAS reads OPENBLAS_CORETYPE once, as it loads (next, with the library). Without it an
# OpenBLAS older than the CPU runs Prescott's SSE3 kernels (Debian's 0.3.21 on Emerald Rapids:
# sgemm 5.5x slower); with it, the same core class OpenBLAS picks on the CPUs it knows. A value the
# user set is kept; the command-line tools do the same (README, Performance).
if "OPENBLAS_CORETYPE" not in os.environ and (_core := _openblas_core_for_cpu()):
    os.environ["OPENBLAS_CORETYPE"] = _core

lib, library_path = _load()

_c = ctypes
_size, _sizep = _c.c_size_t, _c.POINTER(_c.c_size_t)
_floatp, _model = _c.POINTER(_c.c_float), _c.c_void_p
_data = _c.c_void_p  # an array's first value, as an address (_model._pointer)
_modelp = _c.POINTER(_c.c_void_p)
PROGRESS = _c.CFUNCTYPE(_c.c_int, _c.c_void_p, _c.c_int, _c.c_int, _c.c_double, _c.c_double)
# The inference calls' sizes go as c_void_p where size_t is as wide as a pointer (the same integer
# argument then): ctypes converts an int for c_void_p directly but makes a c_size_t object for
# c_size_t, 60 ns an argument, 3 of them in a batch-of-one call of 6-8 us.
_count = _c.c_void_p if _c.sizeof(_c.c_size_t) == _c.sizeof(_c.c_void_p) else _size
_infer = [_model, _data, _count, _count, _data, _count]

_SIGNATURES = {
    "aef_version": (_c.c_char_p, []),
    "aef_abi_version": (_c.c_uint32, []),
    "aef_blas_info": (_c.c_char_p, []),
    "aef_last_error": (_c.c_char_p, []),
    "aef_status_string": (_c.c_char_p, [_c.c_int]),
    "aef_set_num_threads": (_c.c_int, [_c.c_int]),
    "aef_get_num_threads": (_c.c_int, [_c.POINTER(_c.c_int)]),
    "aef_model_create": (_c.c_int, [_c.c_char_p, _modelp]),
    "aef_model_partial_fit": (_c.c_int, [_model, _data, _size, _size, _c.POINTER(_c.c_uint64)]),
    "aef_spec_defaults": (_c.c_int, [_c.c_char_p, _c.c_char_p, _size, _sizep]),
    "aef_model_free": (None, [_model]),
    "aef_model_fit": (_c.c_int, [_model, _data, _size, _size, _data, _size, _c.POINTER(_c.c_uint64),
                                 PROGRESS, _c.c_void_p]),
    "aef_model_output_size": (_c.c_int, [_model, _c.c_int, _size, _sizep]),
    "aef_model_transform": (_c.c_int, _infer),
    "aef_model_reconstruct": (_c.c_int, _infer),
    "aef_model_decode": (_c.c_int, _infer),
    "aef_model_score": (_c.c_int, _infer),
    "aef_model_feature_errors": (_c.c_int, _infer),
    "aef_model_latent_distribution": (_c.c_int, [_model, _data, _size, _size, _data, _data, _size]),
    "aef_model_sample": (_c.c_int, [_model, _size, _c.c_uint64, _data, _size]),
    "aef_model_predict": (_c.c_int, [_model, _data, _size, _size, _data, _size]),
    "aef_model_sample_size": (_c.c_int, [_model, _sizep]),
    "aef_model_code_size": (_c.c_int, [_model, _sizep]),
    "aef_model_is_fitted": (_c.c_int, [_model, _c.POINTER(_c.c_int)]),
    "aef_model_threshold": (_c.c_int, [_model, _floatp]),
    "aef_model_calibrate_threshold": (_c.c_int, [_model, _data, _size, _size, _c.c_double, _floatp]),
    "aef_model_spec_json": (_c.c_int, [_model, _c.c_char_p, _size, _sizep]),
    "aef_model_history": (_c.c_int, [_model, _c.POINTER(_c.c_double), _c.POINTER(_c.c_double), _size, _sizep]),
    "aef_model_save": (_c.c_int, [_model, _c.c_char_p]),
    "aef_model_load": (_c.c_int, [_c.c_char_p, _modelp]),
    "aef_model_save_buffer": (_c.c_int, [_model, _c.c_void_p, _size, _sizep]),
    "aef_model_load_buffer": (_c.c_int, [_c.c_void_p, _size, _modelp]),
    "aef_model_export_onnx": (_c.c_int, [_model, _c.c_int, _c.c_char_p]),
    "aef_model_export_onnx_buffer": (_c.c_int, [_model, _c.c_int, _c.c_void_p, _size, _sizep]),
}

for _name, (_restype, _argtypes) in _SIGNATURES.items():
    _function = getattr(lib, _name)
    _function.restype = _restype
    _function.argtypes = _argtypes

_abi = lib.aef_abi_version()
_version = lib.aef_version().decode()
if _abi != ABI_VERSION or _version != VERSION:
    raise ImportError(f"aefeatures: {library_path} is version {_version} (ABI {_abi}); this package needs "
                      f"version {VERSION} (ABI {ABI_VERSION}). Rebuild the library or reinstall the package.")

_ERRORS = {"AEF_ERR_IO": AEFIOError, "AEF_ERR_CORRUPT_MODEL": AEFCorruptModelError,
           "AEF_ERR_DIVERGED": AEFDivergedError, "AEF_ERR_BUSY": AEFBusyError}


def check(status):
    """Raises for a failing status, with the library's message for this thread."""
    if status == AEF_OK or status == AEF_CANCELLED:
        return status
    name = lib.aef_status_string(status).decode()
    message = lib.aef_last_error().decode(errors="replace")
    if name in ("AEF_ERR_INVALID_ARGUMENT", "AEF_ERR_INVALID_SPEC", "AEF_ERR_BUFFER_TOO_SMALL"):
        error = ValueError(message)
        error.status = name
        raise error
    raise _ERRORS.get(name, AEFError)(name, message)

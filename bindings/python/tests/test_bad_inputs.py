"""The bad-input matrix through the Python binding: every data-taking method of NativeModel and of
both estimators against every kind of bad array, plus hostile bytes, paths and specs. Each case
must raise a documented exception (ValueError, TypeError, NotFittedError or an AEFError subclass)
and leave the fitted model working exactly as before."""
import warnings

import numpy as np
import pytest

from aefeatures import AEFCorruptModelError, AEFError, AEFIOError, AutoencoderDetector, AutoencoderTransformer, NativeModel

SPEC = {"input_shape": [12], "hidden_units": [8], "code_size": 3, "training": {"epochs": 3}}
VAE = dict(SPEC, variant="variational")
EXPECTED = (ValueError, TypeError, AEFError)


def poisoned(value):
    def make(good):
        bad = good.copy()
        bad[len(bad) // 2, 1] = value  # column 1: inside the code-width slice too
        return bad
    return make


BAD_ARRAYS = {
    "None": lambda good: None,
    "empty": lambda good: good[:0],
    "zero width": lambda good: np.empty((5, 0), dtype=np.float32),
    "1-D": lambda good: good[0],
    "3-D": lambda good: good.reshape(len(good), 3, 4)[:, :, :3],  # estimators flatten it to 9 columns
    "too narrow": lambda good: good[:, :11],
    "too wide": lambda good: np.hstack([good, good[:, :1]]),
    "NaN": poisoned(np.nan),
    "+Inf": poisoned(np.inf),
    "-Inf": poisoned(-np.inf),
    "overflows float32": lambda good: np.full(good.shape, 1e300),
    "strings": lambda good: np.full(good.shape, "x"),
    "complex": lambda good: good.astype(np.complex64),
    "ragged list": lambda good: [[1.0, 2.0], [3.0]],
    "object dtype": lambda good: np.array([[object()] * 12] * 3),
    "reversed view": lambda good: good[::-1, ::-1] * np.nan,
}


@pytest.fixture(scope="module")
def rows():
    rng = np.random.default_rng(0)
    return (rng.normal(size=(80, 12)) * 3 + 10).astype(np.float32)


@pytest.fixture(scope="module")
def native(rows):
    model = NativeModel.create(SPEC)
    model.fit(rows, seed=1)
    return model


@pytest.fixture(scope="module")
def native_vae(rows):
    model = NativeModel.create(VAE)
    model.fit(rows, seed=1)
    return model


@pytest.fixture(scope="module")
def estimators(rows):
    params = dict(hidden_units=(8,), code_size=3, epochs=3, random_state=0)
    detector = AutoencoderDetector(AutoencoderTransformer(**params), random_state=0)
    return AutoencoderTransformer(**params).fit(rows), detector.fit(rows)


def as_codes(x):
    """The code-width counterpart of a bad 12-wide array, for the methods that take codes: its
    first 3 columns for 12 (bad values stay bad), 2 for too narrow, 4 for too wide."""
    if isinstance(x, np.ndarray) and x.ndim == 2 and x.shape[1] in (11, 12, 13):
        return x[:, : x.shape[1] - 9]
    return x


def calls(native, native_vae, estimators):
    transformer, detector = estimators
    return {
        "NativeModel.transform": native.transform,
        "NativeModel.reconstruct": native.reconstruct,
        "NativeModel.score": native.score,
        "NativeModel.feature_errors": native.feature_errors,
        "NativeModel.decode": lambda x: native.decode(as_codes(x)),
        "NativeModel.latent_distribution": native_vae.latent_distribution,
        "NativeModel.fit": lambda x: NativeModel.create(SPEC).fit(x),
        "AutoencoderTransformer.transform": transformer.transform,
        "AutoencoderTransformer.inverse_transform": lambda x: transformer.inverse_transform(as_codes(x)),
        "AutoencoderTransformer.reconstruct": transformer.reconstruct,
        "AutoencoderTransformer.fit": lambda x: AutoencoderTransformer(epochs=1).fit(x),
        "AutoencoderDetector.decision_function": detector.decision_function,
        "AutoencoderDetector.predict_proba": detector.predict_proba,
        "AutoencoderDetector.predict": detector.predict,
        "AutoencoderDetector.fit": lambda x: AutoencoderDetector(epochs=1).fit(x),
    }


METHODS = ["NativeModel.transform", "NativeModel.reconstruct", "NativeModel.score", "NativeModel.feature_errors",
           "NativeModel.decode", "NativeModel.latent_distribution", "NativeModel.fit",
           "AutoencoderTransformer.transform", "AutoencoderTransformer.inverse_transform",
           "AutoencoderTransformer.reconstruct", "AutoencoderTransformer.fit",
           "AutoencoderDetector.decision_function", "AutoencoderDetector.predict_proba", "AutoencoderDetector.predict",
           "AutoencoderDetector.fit"]


# A fresh estimator's fit takes any width, so width changes are not bad input there.
CASES = [(method, bad) for method in METHODS for bad in BAD_ARRAYS
         if not (method.startswith("Autoencoder") and method.endswith(".fit") and bad in ("too narrow", "too wide", "3-D"))]


@pytest.mark.parametrize("method,bad", CASES)
def test_bad_arrays_raise_documented_errors(method, bad, rows, native, native_vae, estimators):
    call = calls(native, native_vae, estimators)[method]
    before = native.transform(rows), estimators[1].decision_function(rows)
    with pytest.raises(EXPECTED), np.errstate(over="ignore"), warnings.catch_warnings():
        warnings.simplefilter("ignore")  # numpy's overflow and complex-cast warnings are not the point
        call(BAD_ARRAYS[bad](rows))
    after = native.transform(rows), estimators[1].decision_function(rows)
    assert np.array_equal(before[0], after[0]) and np.array_equal(before[1], after[1])


@pytest.mark.parametrize("data", [b"", b"AEFMODEL", b"\x00" * 100, b"AEFMODEL" + b"\xff" * 100])
def test_hostile_bytes_are_corrupt_model_errors(data):
    with pytest.raises(AEFCorruptModelError):
        NativeModel.from_bytes(data)


def test_every_truncation_of_a_model_is_refused(native):
    data = native.to_bytes()
    for cut in range(0, len(data), max(1, len(data) // 200)):
        with pytest.raises(AEFCorruptModelError):
            NativeModel.from_bytes(data[:cut])


@pytest.mark.parametrize("path", ["/nonexistent-dir/model.aef", "/tmp", "/dev/zero", ""])
def test_unreadable_paths_are_io_errors(path):
    with pytest.raises(AEFIOError):
        NativeModel.load(path)


@pytest.mark.parametrize("spec", ["", "{", "[]", '{"input_shape": "12"}', '{"input_shape": [12], "code_size": -1}',
                                  '{"input_shape": [16777216], "hidden_units": [16777216]}', "[" * 100000,
                                  {"input_shape": [12], "training": {"epochs": "many"}}])
def test_bad_specs_are_value_errors(spec):
    with pytest.raises(ValueError):
        NativeModel.create(spec)


def test_a_failed_save_keeps_the_saved_model(native, rows, tmp_path):
    path = tmp_path / "model.aef"
    native.save(path)
    saved = path.read_bytes()
    unfitted = NativeModel.create(SPEC)
    with pytest.raises(ValueError):
        unfitted.fit(np.full((5, 12), np.nan, dtype=np.float32))
    with pytest.raises(AEFIOError):
        native.save(tmp_path / "missing-dir" / "model.aef")
    assert path.read_bytes() == saved
    assert np.array_equal(NativeModel.load(path).transform(rows), native.transform(rows))

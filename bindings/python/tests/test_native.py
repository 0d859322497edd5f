import ctypes
import json
import pickle
import sys

import numpy as np
import pytest

import aefeatures
from aefeatures import AEFCorruptModelError, AEFIOError, NativeModel


def rows(x):
    return np.ascontiguousarray(x, dtype=np.float32)


def test_import_needs_only_numpy():
    import subprocess

    assert aefeatures.library_path.endswith((".so", f".so.{aefeatures._native.ABI_VERSION}"))
    info = aefeatures.blas_info()  # the machine kind bit-for-bit results depend on
    assert info.startswith("OpenBLAS ") and info.split("; core ", 1)[1].split("; kernels ")[0].isidentifier(), info
    assert info.rsplit("; kernels ", 1)[1] in ("baseline", "avx2", "avx512"), info
    code = "import sys, aefeatures; print(sorted(m for m in ('sklearn', 'scipy', 'torch', 'pandas') if m in sys.modules))"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.strip() == "[]"


def kernels_of(environment):
    import os
    import subprocess

    code = "import aefeatures; print(aefeatures.blas_info().rsplit('; kernels ', 1)[1])"
    return subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True,
                          env={**os.environ, **environment}).stdout.strip()


def test_openblas_runs_the_core_of_this_cpus_vector_unit_unless_the_user_chose_one():
    import os
    import subprocess

    flags = set(next(line for line in open("/proc/cpuinfo") if line.startswith("flags")).split(":", 1)[1].split())
    expected = ("SkylakeX" if {"avx512f", "avx512cd", "avx512bw", "avx512dq", "avx512vl"} <= flags
                else "Haswell" if {"avx2", "fma"} <= flags else None)
    code = "import aefeatures; print(aefeatures.blas_info().split('; core ', 1)[1].split(';')[0])"
    def core(**setting):
        environment = {k: v for k, v in os.environ.items() if k != "OPENBLAS_CORETYPE"}
        return subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True,
                              env={**environment, **setting}).stdout.strip()
    if expected:
        assert core() == expected
    assert core(OPENBLAS_CORETYPE="Prescott") == "Prescott"  # runs on every x86-64


def test_force_isa_picks_a_kernel_build_the_cpu_has():
    widest = kernels_of({"AEF_FORCE_ISA": ""})
    assert kernels_of({"AEF_FORCE_ISA": "baseline"}) == "baseline"
    # Unknown names are ignored; a build the CPU lacks falls back to the widest it has.
    assert kernels_of({"AEF_FORCE_ISA": "sse9"}) == widest
    flags = open("/proc/cpuinfo").read()
    assert kernels_of({"AEF_FORCE_ISA": "avx512"}) == ("avx512" if " avx512f" in flags else widest)
    assert widest == ("avx512" if " avx512f" in flags else "avx2" if " avx2" in flags and " fma" in flags else "baseline")


def test_a_forced_baseline_build_trains_and_matches_the_default(tmp_path):
    """The same seed trains to the same losses within float32 rounding on every kernel build."""
    import os
    import subprocess

    code = ("import numpy as np, aefeatures; rng = np.random.default_rng(0); x = rng.random((256, 1, 8, 8), np.float32);"
            "m = aefeatures.NativeModel.create({'input_shape': [8, 8, 1], 'variant': 'conv2d', 'conv_blocks': "
            "[{'filters': 4, 'kernel': [3, 3]}], 'code_size': 6, 'seed': 1, 'training': {'epochs': 3}});"
            "m.fit(x.reshape(256, 64)); print(' '.join(str(v) for v in m.transform(x.reshape(256, 64)[:4]).ravel()))")
    def codes(isa):
        out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True,
                             env={**os.environ, "AEF_FORCE_ISA": isa}).stdout
        return np.array(out.split(), dtype=np.float64)
    baseline, default = codes("baseline"), codes("")
    assert baseline.shape == (24,) and np.all(np.isfinite(baseline))
    np.testing.assert_allclose(baseline, default, rtol=1e-3, atol=1e-3)


def test_native_model_round_trips(data, tmp_path):
    x = rows(data)
    model = NativeModel.create({"input_shape": [12], "hidden_units": [16], "code_size": 3,
                                "training": {"epochs": 5, "batch_size": 32}})
    assert not model.is_fitted and model.sample_size == 12 and model.code_size == 3
    seen = []
    assert model.fit(x, seed=1, progress=lambda *args: seen.append(args) or False)
    assert [s[0] for s in seen] == [1, 2, 3, 4, 5]
    assert model.is_fitted and len(model.history["loss"]) == 5
    assert np.isnan(model.history["validation_loss"]).all()
    assert model.spec["training"]["learning_rate"] == pytest.approx(1e-3)
    codes = model.transform(x)
    assert codes.shape == (600, 3) and codes.dtype == np.float32
    np.testing.assert_array_equal(model.decode(codes), model.reconstruct(x))
    np.testing.assert_allclose(model.feature_errors(x).mean(axis=1), model.score(x), rtol=1e-5)
    copy = NativeModel.from_bytes(model.to_bytes())
    np.testing.assert_array_equal(copy.score(x), model.score(x))
    path = tmp_path / "m.aef"
    model.save(path)
    np.testing.assert_array_equal(NativeModel.load(path).transform(x), codes)
    assert model.threshold > 0


def test_read_only_and_memory_mapped_inputs_read_the_same_values(data, tmp_path):
    """Addresses of writable arrays come through the buffer protocol; read-only ones (a frozen
    array, a read-only memory map) take numpy's own address and must give the same codes."""
    x = rows(data)
    model = NativeModel.create({"input_shape": [12], "code_size": 3, "training": {"epochs": 2}})
    model.fit(x, seed=1)
    frozen = x.copy()
    frozen.flags.writeable = False
    np.save(tmp_path / "x.npy", x)
    mapped = np.load(tmp_path / "x.npy", mmap_mode="r")
    codes = model.transform(x)
    np.testing.assert_array_equal(model.transform(frozen), codes)
    np.testing.assert_array_equal(model.transform(mapped), codes)
    np.testing.assert_array_equal(model.score(frozen), model.score(x))
    with pytest.raises(ValueError, match="x is empty"):  # no rows: no buffer to take an address from
        model.transform(x[:0])


def test_stopping_from_the_progress_callback(data):
    model = NativeModel.create({"input_shape": [12], "code_size": 2, "training": {"epochs": 9}})
    assert not model.fit(rows(data), progress=lambda epoch, *_: epoch >= 2)
    assert len(model.history["loss"]) == 2


def test_library_errors_become_python_exceptions(data, tmp_path):
    with pytest.raises(ValueError, match="code_size"):
        NativeModel.create({"input_shape": [12], "code_size": 0})
    with pytest.raises(ValueError, match="unknown field 'colour'"):
        NativeModel.create('{"input_shape": [12], "code_size": 2, "colour": 1}')
    model = NativeModel.create({"input_shape": [12], "code_size": 2})
    with pytest.raises(aefeatures.AEFError, match="not fitted"):
        model.transform(rows(data))
    with pytest.raises(ValueError, match="sample_size"):
        model.fit(rows(data[:, :5]))
    with pytest.raises(AEFCorruptModelError):
        NativeModel.from_bytes(b"not a model, just some bytes long enough to be checked")
    with pytest.raises(AEFIOError):
        NativeModel.load(tmp_path / "missing.aef")
    good = NativeModel.create({"input_shape": [12], "code_size": 2}).to_bytes()
    with pytest.raises(AEFCorruptModelError, match="checksum"):
        NativeModel.from_bytes(good[:-9] + bytes([good[-9] ^ 1]) + good[-8:])


def test_spec_defaults():
    """Every default of a spec without a model, as the model itself reports them; bad fields are
    named."""
    spec = {"variant": "sparse", "input_shape": [12], "code_size": 3}
    filled = aefeatures.spec_defaults(spec)
    assert filled == NativeModel.create(spec).spec
    assert filled["sparsity"]["type"] == "kl" and "learning_rate" in filled["training"]
    assert aefeatures.spec_defaults(json.dumps(spec)) == filled
    with pytest.raises(ValueError, match="code_size"):
        aefeatures.spec_defaults({"input_shape": [12]})


def test_thread_count():
    before = aefeatures.get_num_threads()
    aefeatures.set_num_threads(1)
    assert aefeatures.get_num_threads() == 1
    aefeatures.set_num_threads(0)
    assert aefeatures.get_num_threads() >= 1
    with pytest.raises(ValueError):
        aefeatures.set_num_threads(-2)
    aefeatures.set_num_threads(before)


def test_every_c_function_is_declared():
    from aefeatures import _native
    header = open(_native.Path(__file__).resolve().parents[3] / "include" / "aefeatures.h").read()
    import re
    declared = set(re.findall(r"\b(aef_[a-z_]+)\s*\(", header))
    assert declared == set(_native._SIGNATURES)

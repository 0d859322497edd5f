"""Model files are forever: the golden files in Tests/golden (a model of every variant written by
an earlier version, with the rows it ran on and its outputs) load in this version, save back to
the same bytes, and compute the stored outputs: within the header's batch bound anywhere, bit for
bit on the machine kind that wrote them (OpenBLAS build and core, thread count) with the same library
version (a later version may round differently, never beyond the bound)."""
import json
import sys
from pathlib import Path

import numpy as np
import pytest

from aefeatures import AEFCorruptModelError, NativeModel, __version__

from conftest import assert_equal_up_to_batch_rounding

GOLDEN = Path(__file__).resolve().parents[3] / "Tests" / "golden"
sys.path.insert(0, str(GOLDEN))
from golden import SPECS, machine, outputs  # noqa: E402

FILES = sorted(GOLDEN.glob("format-*/*.aef"))
# Per-value errors behave like scores (squares of differences); every other output like features.
BOUND_KIND = {"score": "scores", "feature_errors": "scores"}


def test_every_variant_has_a_golden_file_of_the_current_format():
    current = {path.stem for path in GOLDEN.glob("format-1/*.aef")}
    assert current == set(SPECS)


@pytest.mark.parametrize("path", FILES, ids=lambda p: f"{p.parent.name}/{p.stem}")
def test_golden_model_loads_and_reproduces_its_outputs(path):
    written_by = json.loads((path.parent / "written_by.json").read_text())
    model = NativeModel.load(path)
    assert model.to_bytes() == path.read_bytes()  # nothing lost or reinterpreted on the way in
    stored = np.load(path.with_suffix(".npz"))
    computed = outputs(model, stored["x"])
    assert set(computed) == set(stored.files) - {"x"}
    bit_exact = written_by["library"] == __version__ and machine() == {
        key: written_by[key] for key in ("blas", "threads")}
    for name, values in computed.items():
        if bit_exact:
            np.testing.assert_array_equal(values, stored[name], err_msg=name)
        else:
            assert_equal_up_to_batch_rounding(values, stored[name], BOUND_KIND.get(name, "features"))


def test_a_damaged_golden_file_is_refused(tmp_path):
    data = bytearray(FILES[0].read_bytes())
    data[len(data) // 2] ^= 0x40
    with pytest.raises(AEFCorruptModelError, match="checksum"):
        NativeModel.from_bytes(bytes(data))
    future = bytearray(FILES[0].read_bytes())
    future[8] = 99  # format version 99
    with pytest.raises(AEFCorruptModelError, match="format version 99"):
        NativeModel.from_bytes(bytes(future))

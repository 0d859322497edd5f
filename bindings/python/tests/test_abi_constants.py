"""The C header is the single source of the ABI's facts: every enum constant the Python side
uses, the version and the ABI number must equal include/aefeatures.h's (read here), and the
loaded library must report the same."""
import re
from pathlib import Path

import pytest

import aefeatures
from aefeatures import _model, _native

ROOT = Path(__file__).resolve().parents[3]
HEADER = ROOT / "include" / "aefeatures.h"
pytestmark = pytest.mark.skipif(not HEADER.exists(), reason="needs the source tree's include/aefeatures.h")


def header_enums():
    """{enum type name: {constant: value}} of every typedef enum in the header."""
    text = HEADER.read_text()
    enums = {}
    for body, name in re.findall(r"typedef enum \w+ \{(.*?)\} (\w+);", text, re.S):
        body = re.sub(r"/\*.*?\*/", "", body, flags=re.S)
        enums[name] = {constant: int(value) for constant, value in re.findall(r"(AEF_\w+)\s*=\s*(\d+)", body)}
        assert len(enums[name]) == len(re.findall(r"\bAEF_\w+", body)), f"{name}: every constant needs an explicit value"
    return enums


def header_define(name):
    return re.search(rf"#define {name} (\S+)", HEADER.read_text()).group(1).strip('"')


def test_enums_match_the_header():
    enums = header_enums()
    assert set(enums) == {"aef_status", "aef_output", "aef_onnx_graph"}, sorted(enums)
    statuses = {name: getattr(_native, name) for name in dir(_native) if re.fullmatch(r"AEF_[A-Z_]+", name)}
    assert statuses and all(enums["aef_status"].get(name) == value for name, value in statuses.items()), statuses
    outputs = {f"AEF_{name}": getattr(_native, name) for name in dir(_native) if name.startswith("OUTPUT_")}
    assert outputs == enums["aef_output"]
    graphs = {f"AEF_ONNX_{name.upper()}": value for value, name in enumerate(_model.ONNX_GRAPHS)}
    assert graphs == enums["aef_onnx_graph"]
    # The library names each status as the header does.
    for name, value in enums["aef_status"].items():
        assert _native.lib.aef_status_string(value).decode() == name


def test_versions_match_the_header():
    version = header_define("AEF_VERSION_STRING")
    major, minor, patch = (header_define(f"AEF_VERSION_{part}") for part in ("MAJOR", "MINOR", "PATCH"))
    assert version == f"{major}.{minor}.{patch}"
    abi = int(header_define("AEF_ABI_VERSION"))
    assert (_native.VERSION, _native.ABI_VERSION) == (version, abi)
    assert aefeatures.__version__ == version
    assert (_native.lib.aef_version().decode(), _native.lib.aef_abi_version()) == (version, abi)
    pyproject = (ROOT / "bindings" / "python" / "pyproject.toml").read_text()
    assert re.search(r'^dynamic = \["version"\]', pyproject, re.M) and not re.search(r'^version = "', pyproject, re.M)
    assert 'version = {attr = "aefeatures._native.VERSION"}' in pyproject
    exports = (ROOT / "Sources" / "AEFeaturesCAPI" / "exports.map").read_text()
    assert re.search(r"^AEFEATURES_(\d+) \{", exports, re.M).group(1) == str(abi), "symbol-version node = ABI"

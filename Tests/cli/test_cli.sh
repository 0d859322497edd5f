#!/usr/bin/env bash
# The aef command line end to end: fit → info/transform/reconstruct/score/export-onnx on CSV and
# .npy, and every user error as one line on stderr with a non-zero exit.
#   Tests/cli/test_cli.sh PATH/TO/aef
set -uo pipefail
aef=$(realpath "$1")
work=$(mktemp -d); trap 'rm -rf "$work"' EXIT
cd "$work"
passed=0; failed=0
ok()   { passed=$((passed + 1)); }
bad()  { failed=$((failed + 1)); echo "FAIL: $*"; }

python3 - <<'PY'
import numpy as np
rng = np.random.default_rng(0)
x = (rng.normal(size=(300, 2)) @ rng.normal(size=(2, 8))).astype(np.float32)
np.save("x.npy", x)
np.savetxt("x.csv", x, delimiter=",", header="a,b,c,d,e,f,g,h", comments="")
np.save("x64.npy", x.astype(np.float64))
np.save("wide.npy", np.zeros((3, 5), np.float32))
open("ragged.csv", "w").write("1,2,3\n4,5\n")
open("nan.csv", "w").write("1,2\nnan,3\n")
open("text.csv", "w").write("1,2\n3,x\n")
open("empty.csv", "w").write("")
open("spec.json", "w").write('{"variant": "variational", "hidden_units": [6], "code_size": 2, "training": {"epochs": 4}}')
open("convlstm.json", "w").write('{"variant": "convlstm", "input_shape": [2, 2, 2], "code_size": 2, "conv_blocks": [{"filters": 2, "kernel": 3}], "training": {"epochs": 2}}')
open("unpool.json", "w").write('{"variant": "conv2d", "input_shape": [2, 4], "code_size": 2, "conv_decoder": "unpool", "conv_blocks": [{"filters": 2, "kernel": 3, "pool": [1, 2]}], "training": {"epochs": 2}}')
PY

# The happy path.
"$aef" fit x.csv -o m.aef --hidden 6 --code 2 --epochs 5 --quiet > fit.out 2>&1 && ok || bad "fit: $(cat fit.out)"
grep -q "wrote m.aef" fit.out && ok || bad "fit summary: $(cat fit.out)"
"$aef" info m.aef | grep -q "code 2; 142 parameters" && ok || bad "info"
# OpenBLAS runs the core of this CPU's vector unit unless the user named one (README, Performance).
flags=$(grep -m1 '^flags' /proc/cpuinfo)
core=""
has() { for f in "$@"; do [[ " $flags " == *" $f "* ]] || return 1; done; }
if has avx512f avx512cd avx512bw avx512dq avx512vl; then core=SkylakeX; elif has avx2 fma; then core=Haswell; fi
[ -z "$core" ] || env -u OPENBLAS_CORETYPE "$aef" info m.aef | grep -q "; core $core;" && ok || bad "info: OpenBLAS core $core"
OPENBLAS_CORETYPE=Prescott "$aef" info m.aef | grep -q "; core Prescott;" && ok || bad "info: the user's OPENBLAS_CORETYPE"
"$aef" transform m.aef x.npy -o f.npy > /dev/null && ok || bad "transform npy"
"$aef" transform m.aef x64.npy -o f64.csv > /dev/null && ok || bad "transform float64 npy"
"$aef" reconstruct m.aef x.csv -o r.csv > /dev/null && ok || bad "reconstruct"
"$aef" score m.aef x.csv -o s.npy | grep -q "30 of 300 rows score above" && ok || bad "score summary"
"$aef" score m.aef x.csv -o labels.csv --labels > /dev/null && ok || bad "labels"
"$aef" export-onnx m.aef -o scorer.onnx --graph scorer > /dev/null && ok || bad "export-onnx"
"$aef" export-onnx m.aef -o decoder.onnx --graph decoder | grep -q 'input "codes" \[N, ' && ok || bad "export-onnx decoder"
"$aef" calibrate m.aef x.csv --false-positive-rate 0.2 -o calibrated.aef | grep -q "wrote calibrated.aef" && ok || bad "calibrate"
"$aef" score calibrated.aef x.csv -o s2.npy | grep -q "59 of 300 rows score above" && ok || bad "calibrated threshold: the 241st smallest of 300 scores (ceil(301 x 0.8))"
cp m.aef before.aef
"$aef" calibrate m.aef x.npy --false-positive-rate 0.05 > /dev/null && ! cmp -s m.aef before.aef && ok || bad "calibrate in place"
"$aef" score m.aef x.csv -o s3.npy | grep -q "14 of 300 rows score above" && ok || bad "calibrated in place: the 286th smallest (ceil(301 x 0.95))"
cp before.aef m.aef
"$aef" fit x.npy -o v.aef --spec spec.json --quiet > /dev/null && ok || bad "fit from a spec file"
"$aef" sample v.aef -o samples.npy -c 5 > /dev/null && ok || bad "sample"
python3 - <<'PY' && ok || bad "outputs disagree"
import numpy as np
x = np.load("x.npy")
features, scores = np.load("f.npy"), np.load("s.npy")
assert features.shape == (300, 2) and scores.shape == (300,), (features.shape, scores.shape)
assert np.allclose(np.loadtxt("f64.csv", delimiter=","), features, atol=1e-6)
assert np.loadtxt("r.csv", delimiter=",").shape == (300, 8)
labels = np.loadtxt("labels.csv")
assert set(np.unique(labels)) <= {0, 1} and labels.sum() == 30
assert np.load("samples.npy").shape == (5, 8)
try:
    import onnxruntime as ort
    onnx_scores = ort.InferenceSession("scorer.onnx").run(None, {"input": x})[0]
    assert np.abs(onnx_scores - scores).max() <= 1e-5 * np.abs(scores).max()
except ImportError:
    pass
PY

# Errors: one line on stderr naming the problem, exit status 1, nothing written.
expect_error() {  # expect_error "phrase" aef-arguments...
    local phrase=$1; shift
    "$aef" "$@" > out.txt 2> err.txt; local status=$?
    if [ "$status" -ne 1 ]; then bad "aef $* exited $status"; return; fi
    if [ "$(wc -l < err.txt)" -ne 1 ]; then bad "aef $*: stderr is not one line: $(cat err.txt)"; return; fi
    grep -qF -- "$phrase" err.txt && ok || bad "aef $*: '$(cat err.txt)' lacks '$phrase'"
}
expect_error "missing.csv: no such file"                fit missing.csv -o m2.aef
expect_error "line 2: 2 fields where earlier lines have 3" fit ragged.csv -o m2.aef
expect_error "row 2, column 1 is nan"                   fit nan.csv -o m2.aef
expect_error "'x' is not a number"                      fit text.csv -o m2.aef
expect_error "holds no data"                            fit empty.csv -o m2.aef
expect_error "expects rows of 8 values"                 transform m.aef wide.npy -o o.csv
expect_error "row 2, column 1 is nan"                   score m.aef nan.csv -o o.csv
expect_error "not an aefeatures model"                  transform x.npy x.npy -o o.csv
expect_error "No such file or directory"                info missing.aef
expect_error "needs a variational or adversarial"       sample m.aef -o o.csv
expect_error "must be encoder, autoencoder, scorer or decoder" export-onnx m.aef -o e.onnx --graph generator
expect_error "comma-separated integers"                 fit x.csv -o m3.aef --hidden 4,a
expect_error "field 'variant' is 'bogus'"               fit x.csv -o m3.aef --variant bogus
expect_error "input_shape [3] holds 3 values"           fit x.csv -o m3.aef --input-shape 3 --code 2
expect_error "cannot create"                            export-onnx m.aef -o /nonexistent/e.onnx
# Seed techniques through the CLI: they fit and score, and refuse what they cannot do.
"$aef" fit x.npy -o convlstm.aef --spec convlstm.json --quiet > /dev/null && "$aef" score convlstm.aef x.npy -o cs.npy > /dev/null \
  && ok || bad "convlstm fit and score"
expect_error "ONNX has no ConvLSTM operator"            export-onnx convlstm.aef -o e.onnx
"$aef" fit x.npy -o unpool.aef --spec unpool.json --quiet > /dev/null && "$aef" reconstruct unpool.aef x.npy -o ur.npy > /dev/null \
  && "$aef" export-onnx unpool.aef -o ua.onnx --graph autoencoder > /dev/null && ok || bad "unpool fit, reconstruct, export"
expect_error "cannot decode codes alone"                export-onnx unpool.aef -o e.onnx --graph decoder
cp m.aef kept.aef
expect_error "false positive rate must be in (0, 1), got 0.0" calibrate m.aef x.csv --false-positive-rate 0
expect_error "row 2, column 1 is nan"                   calibrate m.aef nan.csv --false-positive-rate 0.01
expect_error "300 normal rows cannot calibrate a false-positive rate of 0.001: at least 999 are needed" calibrate m.aef x.csv --false-positive-rate 0.001
expect_error "expects rows of 8 values"                 calibrate m.aef wide.npy --false-positive-rate 0.01
cmp -s m.aef kept.aef && ok || bad "a failed calibration changed the model file"
[ ! -e m2.aef ] && [ ! -e m3.aef ] && [ ! -e o.csv ] && [ ! -e e.onnx ] && ok || bad "a failed command wrote a file"
"$aef" --help | grep -q "export-onnx" && "$aef" fit --help | grep -q -- "--spec" && ok || bad "--help"

echo "cli: $passed passed, $failed failed"
[ "$failed" -eq 0 ]

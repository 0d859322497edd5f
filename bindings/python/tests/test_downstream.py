"""`aef-demo` judges features with the reference study's downstream model: per-feature min-max
scaling, then L2-regularised logistic regression with C = 1 solved to convergence (binary for the
insurance policies, multinomial for Fashion-MNIST). On the very features the demo used (its
--save-features dump), scikit-learn's LogisticRegression must reach the same metric within 0.1
point. The demo is the `aef-demo` tool: AEF_DEMO names it (the Makefile sets it), else
`aef-demo` on PATH or the package's own build."""
import csv
import os
import shutil
import subprocess
from pathlib import Path

import numpy as np
import pytest

sklearn = pytest.importorskip("sklearn")
from sklearn.linear_model import LogisticRegression  # noqa: E402
from sklearn.metrics import roc_auc_score  # noqa: E402
from sklearn.preprocessing import MinMaxScaler  # noqa: E402

REPO = Path(__file__).resolve().parents[3]


def demo_command():
    if os.environ.get("AEF_DEMO"):
        return os.environ["AEF_DEMO"]
    for candidate in [shutil.which("aef-demo"), REPO / ".build" / "release" / "aef-demo", REPO / ".build" / "debug" / "aef-demo"]:
        # A built tool runs only where the Swift runtime it links is (not where a wheel is tested).
        if candidate and Path(candidate).exists() and subprocess.run([str(candidate), "--help"], capture_output=True).returncode == 0:
            return str(candidate)
    pytest.skip("the aef-demo tool is not built (swift build --product aef-demo) or cannot run here, and AEF_DEMO is not set")


@pytest.fixture(scope="module")
def dump(tmp_path_factory):
    directory = tmp_path_factory.mktemp("features")
    subprocess.run([demo_command(), "--seeds", "1", "--policies", "400", "--insurance-epochs", "3",
                    "--train", "500", "--test", "300", "--epochs", "1", "--rows", "dense,conv2d (ours",
                    "--save-features", str(directory)], check=True, stdout=subprocess.DEVNULL)
    with open(directory / "index.csv") as f:
        return directory, list(csv.DictReader(f))


def test_the_dump_holds_every_baseline_and_the_selected_rows(dump):
    _, rows = dump
    names = {(row["dataset"], row["row"]) for row in rows}
    for expected in [("insurance", "raw inputs"), ("insurance", "PCA (99% variance)"), ("insurance", "handcrafted"),
                     ("insurance", "handcrafted + PCA (99%)"), ("insurance", "dense"), ("insurance", "raw inputs + dense code"),
                     ("insurance", "dense on handcrafted"), ("fashion-mnist", "raw inputs")]:
        assert expected in names
    assert any(dataset == "fashion-mnist" and name.startswith("conv2d (ours") for dataset, name in names)


def test_logistic_regression_matches_scikit_learn(dump):
    directory, rows = dump
    for row in rows:
        load = lambda part: np.load(directory / f"{row['file']}.{part}.npy").astype(np.float64)  # noqa: E731
        labels = lambda split: np.load(directory / f"{row['dataset']}.labels.{split}.npy").ravel().astype(int)  # noqa: E731
        scaler = MinMaxScaler().fit(load("train"))
        model = LogisticRegression(C=1.0, tol=1e-8, max_iter=100_000).fit(scaler.transform(load("train")), labels("train"))
        test = scaler.transform(load("test"))
        if row["dataset"] == "insurance":
            theirs, tolerance = 100 * roc_auc_score(labels("test"), model.decision_function(test)), 0.1
        else:
            # Accuracy moves in steps of one test sample; two solvers stopped at their tolerances
            # may put one sample on the boundary on opposite sides (seen with the AVX-512 kernels:
            # 84.33 vs 84.67 on 300 test images).
            theirs, tolerance = 100 * model.score(test, labels("test")), 100 / len(test) + 1e-4  # metric has 6 decimals
        assert abs(float(row["metric"]) - theirs) <= tolerance, (row, theirs)

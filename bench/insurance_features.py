"""Chooses `aef-demo`'s own insurance features ("ours") on a validation split, never on test rows.

Simulates the reference study's policies (../shared/reference/insurance.md; numpy draws, so
independent of the demo's), keeps 70% of each draw as the training rows and splits those again
70/30 into fitting and validation rows. Each candidate autoencoder is fitted on the fitting rows,
its codes judged by the study's downstream model (min-max scaling, then scikit-learn's
LogisticRegression, C = 1, to convergence: the demo's own model, see test_downstream.py) on the
validation rows. Prints validation AUROC, mean ± sd over seeds and the paired difference from raw
inputs, best first.

    python3 bench/insurance_features.py [--seeds 5]
"""
import argparse
import json

import numpy as np
from sklearn.linear_model import LogisticRegression
from sklearn.metrics import roc_auc_score
from sklearn.preprocessing import MinMaxScaler

from aefeatures import NativeModel

STUDY_DENSE = {"input_shape": [12], "hidden_units": [100, 100, 100], "code_size": 50, "batch_norm": "before",
               "dropout": 0.5}
PER_PERIOD = {"variant": "conv2d", "input_shape": [4, 1, 3],
              "conv_blocks": [{"filters": 32, "kernel": 1},
                              {"filters": 16, "kernel": 1, "pool": [4, 1], "pool_type": "average"}]}
CANDIDATES = {
    "study dense (100 epochs)": (STUDY_DENSE, 100),
    "study dense, bce (100 epochs)": ({**STUDY_DENSE, "loss": "bce"}, 100),
    "dense 64-32 relu (200 epochs)": ({"input_shape": [12], "hidden_units": [64], "code_size": 32, "activation": "relu"}, 200),
    "study conv2d (100 epochs)": ({"variant": "conv2d", "input_shape": [4, 3, 1], "batch_norm": "before", "dropout": 0.5,
                                   "conv_blocks": [{"filters": 50, "kernel": [2, 3]}, {"filters": 50, "kernel": [2, 3]},
                                                   {"filters": 50, "kernel": [2, 3], "pool": [2, 2], "pool_stride": [2, 1],
                                                    "pool_padding": "same"}]}, 100),
    "per period, averaged, mse (100 epochs)": (PER_PERIOD, 100),
    "per period, averaged, bce (100 epochs)": ({**PER_PERIOD, "loss": "bce"}, 100),
    "per period, averaged, bce (300 epochs)": ({**PER_PERIOD, "loss": "bce"}, 300),
    "per period, averaged, bce (600 epochs)": ({**PER_PERIOD, "loss": "bce"}, 600),
    "per period 64/32, bce, lr 0.003 cosine (300 epochs)": (
        {**PER_PERIOD, "loss": "bce", "conv_blocks": [{"filters": 64, "kernel": 1},
                                                     {"filters": 32, "kernel": 1, "pool": [4, 1], "pool_type": "average"}],
         "training": {"learning_rate": 0.003, "learning_rate_schedule": {"type": "cosine"}}}, 300),
    "per period 64/32, bce, lr 0.01 cosine (300 epochs)": (
        {**PER_PERIOD, "loss": "bce", "conv_blocks": [{"filters": 64, "kernel": 1},
                                                     {"filters": 32, "kernel": 1, "pool": [4, 1], "pool_type": "average"}],
         "training": {"learning_rate": 0.01, "learning_rate_schedule": {"type": "cosine"}}}, 300),
    "per period 64/32, bce, lr 0.003 cosine (600 epochs)": (
        {**PER_PERIOD, "loss": "bce", "conv_blocks": [{"filters": 64, "kernel": 1},
                                                     {"filters": 32, "kernel": 1, "pool": [4, 1], "pool_type": "average"}],
         "training": {"learning_rate": 0.003, "learning_rate_schedule": {"type": "cosine"}}}, 600),
}


def policies(count, rng):
    risky = rng.random(count) < 0.25
    x = np.zeros((count, 4, 3))
    paid = rng.random((count, 4)) < np.where(risky, 0.5, 0.25)[:, None]
    x[:, :, 0] = paid * rng.exponential(10, (count, 4))
    x[:, :, 1] = rng.exponential(np.where(risky, 200, 100)[:, None], (count, 4))
    x[:, :, 2] = rng.exponential(np.where(risky, 40, 20)[:, None], (count, 4))
    return x.reshape(count, 12).astype(np.float32), risky.astype(int)


def auroc(train, y, valid, y_valid):
    scaler = MinMaxScaler().fit(train)
    model = LogisticRegression(C=1.0, tol=1e-8, max_iter=10_000).fit(scaler.transform(train), y)
    return 100 * roc_auc_score(y_valid, model.decision_function(scaler.transform(valid)))


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--seeds", type=int, default=5)
    args = parser.parse_args()
    results = {}
    for seed in range(1, args.seeds + 1):
        rng = np.random.default_rng(1000 + seed)
        x, y = policies(1000, rng)
        train = rng.permutation(1000)[:700]          # the 30% test rows are never touched
        fit, valid = train[:490], train[490:]
        results.setdefault("raw inputs", []).append(auroc(x[fit], y[fit], x[valid], y[valid]))
        for name, (spec, epochs) in CANDIDATES.items():
            model = NativeModel.create(json.dumps({**spec, "seed": seed, "training": {**spec.get("training", {}), "epochs": epochs, "batch_size": 50}}))
            model.fit(x[fit])
            results.setdefault(name, []).append(auroc(model.transform(x[fit]), y[fit], model.transform(x[valid]), y[valid]))
    raw = np.array(results["raw inputs"])
    print(f"validation AUROC % over {args.seeds} seeds (490 fitting, 210 validation policies each)")
    for name, values in sorted(results.items(), key=lambda item: -np.mean(item[1])):
        values = np.array(values)
        gain = values - raw
        print(f"  {name:52s} {values.mean():6.2f} ± {values.std(ddof=1):4.2f}   vs raw {gain.mean():+5.2f} ± {gain.std(ddof=1):4.2f}")


if __name__ == "__main__":
    main()

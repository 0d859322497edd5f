"""Which anomaly score wins, chosen on a validation split of the normal data (issue 23). Never
touches the test images.

For each Fashion-MNIST class: a 784-256-32 autoencoder (ReLU, sigmoid code, pixels / 255, 10
epochs) is fitted on 5,000 of the class's training images; the validation rows are the class's
other 1,000 training images (normal) and 4,000 training images of other classes (anomalous).
Scores computed from the model's reconstructions and codes, in numpy here ("standardized" is
the library's `score: "standardized"`, the Python detector's default; the others are not in it):
  reconstruction     mean squared error (what the library scores today)
  standardized       mean of squared errors divided by their mean on the fitting images, per pixel
  pooled 2x2 / 4x4   squared error after averaging the residual image over 2x2 / 4x4 blocks
  latent             Mahalanobis distance of the code (mean and covariance of the fitting codes)
  A + latent         both z-scored by their fitting-image scores, then added
  combined           the library's `score: "combined"` (a model of its own, same network and
                     seed): standardized + latent + the mean squared distance to the 2nd-6th
                     nearest fitting codes, each divided by 3 x its mean on the fitting images
IsolationForest (scikit-learn defaults) on the same rows for reference.

    python3 bench/anomaly_scores.py [--classes 0,...,9] [--epochs 10]
"""
import argparse
import json

import numpy as np
from sklearn.ensemble import IsolationForest
from sklearn.metrics import roc_auc_score

from aefeatures import NativeModel
from fashion_data import load

NETWORK = {"input_shape": [784], "hidden_units": [256], "code_size": 32, "activation": "relu", "scaling": "none", "seed": 1}


def pooled(residuals, block):
    side = 28 // block
    return residuals.reshape(-1, side, block, side, block).mean(axis=(2, 4)).reshape(len(residuals), -1)


def scores(model, fit, rows):
    """Each candidate score as (fitting-image scores, validation scores)."""
    residual_fit, residual = model.reconstruct(fit) - fit, model.reconstruct(rows) - rows
    code_fit, code = model.transform(fit), model.transform(rows)
    mean = code_fit.mean(axis=0)
    inverse = np.linalg.inv(np.cov(code_fit - mean, rowvar=False) + 1e-4 * np.eye(code_fit.shape[1]))
    spread = (residual_fit ** 2).mean(axis=0) + 1e-6
    out = {
        "reconstruction": ((residual_fit ** 2).mean(1), (residual ** 2).mean(1)),
        "standardized": ((residual_fit ** 2 / spread).mean(1), (residual ** 2 / spread).mean(1)),
        "pooled 2x2": ((pooled(residual_fit, 2) ** 2).mean(1), (pooled(residual, 2) ** 2).mean(1)),
        "pooled 4x4": ((pooled(residual_fit, 4) ** 2).mean(1), (pooled(residual, 4) ** 2).mean(1)),
        "latent": tuple(np.einsum("ij,jk,ik->i", c - mean, inverse, c - mean) for c in (code_fit, code)),
    }
    z = {name: (s - f.mean()) / f.std() for name, (f, s) in out.items()}
    result = {name: s for name, (_, s) in out.items()}
    for name in ["reconstruction", "standardized", "pooled 2x2", "pooled 4x4"]:
        result[f"{name} + latent"] = z[name] + z["latent"]
    return result


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--classes", default="0,1,2,3,4,5,6,7,8,9")
    parser.add_argument("--epochs", type=int, default=10)
    args = parser.parse_args()
    images, labels = load("train")
    results = {}
    classes = [int(c) for c in args.classes.split(",")]
    for c in classes:
        rng = np.random.default_rng(c)
        normal, other = rng.permutation(np.flatnonzero(labels == c)), rng.permutation(np.flatnonzero(labels != c))
        fit = images[normal[:5000]]
        rows = np.concatenate([images[normal[5000:]], images[other[:4000]]])
        anomalous = np.r_[np.zeros(len(normal) - 5000), np.ones(4000)]
        forest = IsolationForest(random_state=0).fit(fit)
        results.setdefault("IsolationForest", []).append(100 * roc_auc_score(anomalous, -forest.score_samples(rows)))
        model = NativeModel.create(json.dumps({**NETWORK, "training": {"epochs": args.epochs, "batch_size": 100}}))
        model.fit(fit)
        for name, s in scores(model, fit, rows).items():
            results.setdefault(name, []).append(100 * roc_auc_score(anomalous, s))
        combined = NativeModel.create(json.dumps({**NETWORK, "score": "combined", "training": {"epochs": args.epochs, "batch_size": 100}}))
        combined.fit(fit)
        results.setdefault("combined (the library's)", []).append(100 * roc_auc_score(anomalous, combined.score(rows)))
        print(f"class {c} done", flush=True)
    print(f"\nvalidation AUROC %, mean over classes {args.classes}, then per class")
    for name, values in results.items():
        print(f"  {name:28s} {np.mean(values):6.2f}   " + " ".join(f"{v:5.1f}" for v in values))


if __name__ == "__main__":
    main()

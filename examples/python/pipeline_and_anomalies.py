"""aefeatures from Python on Fashion-MNIST (Debian's dataset-fashion-mnist):
1. autoencoder features inside a scikit-learn Pipeline, against a classifier on raw pixels, with
   the settings that won `aef-demo` (one wide convolution, max-pooled; see README);
2. anomaly detection: fit on one class only, score the test set, AUROC with the other
   classes as anomalies.

    python3 examples/python/pipeline_and_anomalies.py [--train 10000] [--test 2000] [--normal-class 1]
"""
import argparse
import gzip
import time

import numpy as np
from sklearn.linear_model import LogisticRegression
from sklearn.metrics import roc_auc_score
from sklearn.pipeline import Pipeline
from sklearn.preprocessing import MinMaxScaler, StandardScaler

from aefeatures import AutoencoderDetector, AutoencoderTransformer

ROOT = "/usr/share/datasets/fashion-mnist"
CLASSES = ["T-shirt/top", "Trouser", "Pullover", "Dress", "Coat", "Sandal", "Shirt", "Sneaker", "Bag", "Ankle boot"]


def load(split, limit):
    prefix = "train" if split == "train" else "t10k"
    with gzip.open(f"{ROOT}/{prefix}-images-idx3-ubyte.gz") as f:
        images = np.frombuffer(f.read(), np.uint8, offset=16).reshape(-1, 784)[:limit]
    with gzip.open(f"{ROOT}/{prefix}-labels-idx1-ubyte.gz") as f:
        labels = np.frombuffer(f.read(), np.uint8, offset=8)[:limit]
    return images.astype(np.float32) / 255, labels.astype(int)


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--train", type=int, default=10000)
    ap.add_argument("--test", type=int, default=2000)
    ap.add_argument("--normal-class", type=int, default=1)
    ap.add_argument("--epochs", type=int, default=5)
    a = ap.parse_args()
    x_train, y_train = load("train", a.train)
    x_test, y_test = load("test", a.test)
    print(f"Fashion-MNIST: {len(x_train)} training and {len(x_test)} test images")

    # The reference study's downstream model on both sides: min-max scaling, logistic regression.
    raw = Pipeline([("scale", MinMaxScaler()), ("clf", LogisticRegression(max_iter=2000))])
    started = time.perf_counter()
    raw_accuracy = raw.fit(x_train, y_train).score(x_test, y_test)
    raw_seconds = time.perf_counter() - started
    # 64 filters of 3 x 3, max-pooled with window 2 and stride 4: the 7 x 7 x 64 pooled map is
    # the code (3,136 features). Pixels are already in [0, 1], so no further scaling.
    learned = Pipeline([
        ("ae", AutoencoderTransformer(variant="conv2d", input_shape=(28, 28, 1), code_size=None, scaling="none",
                                      conv_blocks=[{"filters": 64, "kernel": 3, "pool": 2, "pool_stride": 4,
                                                    "pool_padding": "same"}],
                                      epochs=a.epochs, batch_size=100, random_state=0)),
        ("scale", MinMaxScaler()),
        ("clf", LogisticRegression(max_iter=2000)),
    ])
    started = time.perf_counter()
    learned_accuracy = learned.fit(x_train, y_train).score(x_test, y_test)
    print(f"logistic regression accuracy: raw pixels {100 * raw_accuracy:.1f}% ({raw_seconds:.1f} s), "
          f"convolutional autoencoder features (3,136) {100 * learned_accuracy:.1f}% ({time.perf_counter() - started:.1f} s)")

    normal = CLASSES[a.normal_class]
    detector = AutoencoderDetector(
        AutoencoderTransformer(hidden_units=(128,), code_size=16, scaling="none", epochs=a.epochs * 6,
                               batch_size=64, random_state=0),
        contamination=0.05)
    detector.fit(x_train[y_train == a.normal_class])
    scores = detector.decision_function(x_test)
    is_anomaly = (y_test != a.normal_class).astype(int)
    auroc = roc_auc_score(is_anomaly, scores)
    flagged = detector.predict(x_test)
    print(f"anomaly detection, '{normal}' as normal ({(y_train == a.normal_class).sum()} training images): "
          f"AUROC {auroc:.3f}; {flagged[is_anomaly == 1].mean():.1%} of other classes and "
          f"{flagged[is_anomaly == 0].mean():.1%} of '{normal}' test images flagged")


if __name__ == "__main__":
    main()

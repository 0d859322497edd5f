"""Fashion-MNIST for the benchmark scripts, from Debian's dataset-fashion-mnist package."""
import gzip

import numpy as np

DATA = "/usr/share/datasets/fashion-mnist/"


def load(split="train"):
    """(images [n, 784] float32 in [0, 1], labels [n] int) of "train" (60,000) or "test" (10,000)."""
    prefix = "train" if split == "train" else "t10k"
    with gzip.open(f"{DATA}{prefix}-images-idx3-ubyte.gz") as f:
        images = np.frombuffer(f.read(), np.uint8, offset=16).reshape(-1, 784).astype(np.float32) / 255
    with gzip.open(f"{DATA}{prefix}-labels-idx1-ubyte.gz") as f:
        labels = np.frombuffer(f.read(), np.uint8, offset=8).astype(int)
    return images, labels


def downstream_accuracy(codes, labels, validation_codes, validation_labels):
    """The reference study's judge of features, in %: min-max scaling fitted on `codes`, then
    scikit-learn's LogisticRegression (C = 1) run to convergence."""
    from sklearn.linear_model import LogisticRegression
    from sklearn.preprocessing import MinMaxScaler

    scaler = MinMaxScaler().fit(codes)
    classifier = LogisticRegression(C=1.0, max_iter=5000).fit(scaler.transform(codes), labels)
    return 100 * classifier.score(scaler.transform(validation_codes), validation_labels)

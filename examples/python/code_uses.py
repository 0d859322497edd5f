"""What an autoencoder's code is good for beyond classification, measured on Fashion-MNIST against
raw pixels and PCA at the same dimension (the course's uses of the code):

1. retrieval: the 10 nearest training images of each test image (Euclidean); precision@10 is
   the share of those 10 with the test image's class;
2. clustering: k-means with 10 clusters on the test images; adjusted Rand index against classes;
3. oversampling a minority class by decoding interpolated codes (DeepSMOTE): one class kept at
   2% of its images in training; a logistic regression's recall on that class in the test set,
   trained as is, with the minority copied up to balance, and with synthetic minority images
   decoded from codes interpolated between each minority image and one of its 5 nearest
   minority neighbours in code space.

    python3 examples/python/code_uses.py [--train 10000] [--test 2000] [--code 32] [--epochs 20] [--minority 3] [--keep 0.02]
"""
import argparse
import gzip
import time
import warnings

import numpy as np
from sklearn.cluster import KMeans
from sklearn.exceptions import ConvergenceWarning
from sklearn.decomposition import PCA
from sklearn.linear_model import LogisticRegression
from sklearn.metrics import adjusted_rand_score, recall_score

from aefeatures import AutoencoderTransformer

ROOT = "/usr/share/datasets/fashion-mnist"
CLASSES = ["T-shirt/top", "Trouser", "Pullover", "Dress", "Coat", "Sandal", "Shirt", "Sneaker", "Bag", "Ankle boot"]


def load(prefix, limit):
    with gzip.open(f"{ROOT}/{prefix}-images-idx3-ubyte.gz") as f:
        images = np.frombuffer(f.read(), np.uint8, offset=16).reshape(-1, 784)[:limit]
    with gzip.open(f"{ROOT}/{prefix}-labels-idx1-ubyte.gz") as f:
        labels = np.frombuffer(f.read(), np.uint8, offset=8)[:limit]
    return images.astype(np.float32) / 255, labels.astype(int)


def nearest(queries, base, k):
    """Indices of the k nearest rows of `base` for each query (squared Euclidean, in blocks)."""
    norms = (base ** 2).sum(1)
    out = []
    for start in range(0, len(queries), 500):
        q = queries[start:start + 500]
        distances = norms[None, :] - 2 * q @ base.T
        out.append(np.argpartition(distances, k, axis=1)[:, :k])
    return np.concatenate(out)


def precision_at_10(train, test, y_train, y_test):
    return float((y_train[nearest(test, train, 10)] == y_test[:, None]).mean())


def deep_smote(model, minority, count, rng, neighbours=5):
    """`count` images decoded from codes interpolated between minority images and their near
    minority neighbours in code space."""
    codes = model.transform(minority)
    distances = ((codes[:, None, :] - codes[None, :, :]) ** 2).sum(-1)
    np.fill_diagonal(distances, np.inf)
    neighbours = min(neighbours, len(codes) - 1)
    near = np.argsort(distances, axis=1)[:, :neighbours]
    base = rng.integers(0, len(codes), count)
    partner = near[base, rng.integers(0, neighbours, count)]
    mix = rng.random((count, 1)).astype(np.float32)
    return model.inverse_transform(codes[base] + mix * (codes[partner] - codes[base]))


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--train", type=int, default=10000)
    ap.add_argument("--test", type=int, default=2000)
    ap.add_argument("--code", type=int, default=32)
    ap.add_argument("--epochs", type=int, default=20)
    ap.add_argument("--minority", type=int, default=3, help="the class kept at --keep of its training images")
    ap.add_argument("--keep", type=float, default=0.02)
    a = ap.parse_args()
    # Every training set gets the same solver budget (300 iterations), converged or not.
    warnings.filterwarnings("ignore", category=ConvergenceWarning)
    x_train, y_train = load("train", a.train)
    x_test, y_test = load("t10k", a.test)

    start = time.perf_counter()
    model = AutoencoderTransformer(hidden_units=(256,), code_size=a.code, activation="relu", code_activation="identity",
                                   scaling="none", epochs=a.epochs, batch_size=64, random_state=0).fit(x_train)
    print(f"autoencoder 784-256-{a.code} fitted in {time.perf_counter() - start:.1f} s on {a.train} images; "
          f"test on {a.test}")
    pca = PCA(a.code, random_state=0).fit(x_train)
    spaces = {"raw pixels (784)": (x_train, x_test), f"PCA ({a.code})": (pca.transform(x_train), pca.transform(x_test)),
              f"autoencoder code ({a.code})": (model.transform(x_train), model.transform(x_test))}

    print("\n| representation | retrieval precision@10 | k-means adjusted Rand index |")
    print("|---|---|---|")
    for name, (train, test) in spaces.items():
        clusters = KMeans(10, n_init=10, random_state=0).fit_predict(test)
        print(f"| {name} | {precision_at_10(train, test, y_train, y_test):.3f} | "
              f"{adjusted_rand_score(y_test, clusters):.3f} |", flush=True)

    rng = np.random.default_rng(0)
    minority = np.flatnonzero(y_train == a.minority)
    kept = rng.choice(minority, max(2, round(a.keep * len(minority))), replace=False)
    rest = np.flatnonzero(y_train != a.minority)
    x_imbalanced = np.concatenate([x_train[rest], x_train[kept]])
    y_imbalanced = np.concatenate([y_train[rest], y_train[kept]])
    missing = len(rest) // 9 - len(kept)  # up to the other classes' mean size
    copies = x_train[rng.choice(kept, missing)]
    synthetic = deep_smote(model, x_train[kept], missing, rng)
    print(f"\nminority class {a.minority} ({CLASSES[a.minority]}): {len(kept)} of its {len(minority)} training images "
          f"kept; {missing} added to balance")
    print("| training set | minority recall | minority precision | all-class accuracy |")
    print("|---|---|---|---|")
    for name, extra in [("imbalanced", None), ("minority copied", copies), ("DeepSMOTE: decoded interpolated codes", synthetic)]:
        x = x_imbalanced if extra is None else np.concatenate([x_imbalanced, extra])
        y = y_imbalanced if extra is None else np.concatenate([y_imbalanced, np.full(len(extra), a.minority)])
        predicted = LogisticRegression(max_iter=300).fit(x, y).predict(x_test)
        is_minority = y_test == a.minority
        precision = float((y_test[predicted == a.minority] == a.minority).mean()) if (predicted == a.minority).any() else 0.0
        print(f"| {name} | {recall_score(is_minority, predicted == a.minority):.3f} | {precision:.3f} | "
              f"{(predicted == y_test).mean():.3f} |", flush=True)


if __name__ == "__main__":
    main()

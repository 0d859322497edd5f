"""KL sparsity weight against downstream accuracy on Fashion-MNIST: why `sparsity.weight` is per
input value with β = 3 by default (docs/spec.md). A 784-256-32 sparse autoencoder (target 0.05,
8 epochs) on 3,000 training images, its codes judged by min-max scaling and scikit-learn's
LogisticRegression on 1,000 test images. β = 784 per value is the old default (1, unscaled).

    python3 bench/sparse_weight.py
"""
import gzip
import json

import numpy as np
from sklearn.linear_model import LogisticRegression
from sklearn.preprocessing import MinMaxScaler

from aefeatures import NativeModel

DATA = "/usr/share/datasets/fashion-mnist/"


def read(name, offset, shape):
    with gzip.open(DATA + name) as f:
        return np.frombuffer(f.read(), np.uint8, offset=offset).reshape(shape)


def main():
    x = read("train-images-idx3-ubyte.gz", 16, (-1, 784))[:3000].astype(np.float32) / 255
    y = read("train-labels-idx1-ubyte.gz", 8, (-1,))[:3000]
    xt = read("t10k-images-idx3-ubyte.gz", 16, (-1, 784))[:1000].astype(np.float32) / 255
    yt = read("t10k-labels-idx1-ubyte.gz", 8, (-1,))[:1000]
    print("beta per value   accuracy %   mean code activation   test reconstruction MSE")
    for beta in [784, 78.4, 3, 1, 0]:
        spec = {"variant": "sparse", "input_shape": [784], "hidden_units": [256], "code_size": 32, "scaling": "none",
                "sparsity": {"type": "kl", "weight": beta}, "training": {"epochs": 8, "batch_size": 128}, "seed": 1}
        model = NativeModel.create(json.dumps(spec))
        model.fit(x)
        codes, test_codes = model.transform(x), model.transform(xt)
        scaler = MinMaxScaler().fit(codes)
        classifier = LogisticRegression(C=1.0, max_iter=5000).fit(scaler.transform(codes), y)
        accuracy = 100 * classifier.score(scaler.transform(test_codes), yt)
        error = float(np.mean((model.reconstruct(xt) - xt) ** 2))
        print(f"{beta:14g}   {accuracy:10.1f}   {codes.mean():20.3f}   {error:23.4f}")


if __name__ == "__main__":
    main()

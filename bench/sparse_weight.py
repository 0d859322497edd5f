"""KL sparsity weight against downstream accuracy on Fashion-MNIST: why `sparsity.weight` is
β = 0.3 per input value by default (docs/spec.md). Two sparse autoencoders (target 0.05): a
784-256-32 network (8 epochs of batch 128 on 3,000 training images) and the reference study's
784-1000x3-500 network (BatchNorm before each Dense, dropout 0.5, ELU; the demo's 5 epochs of
batch 100 on 5,000 training images). Codes are judged by min-max scaling and scikit-learn's
LogisticRegression on 2,000 other training images (a validation split: no test image is used).
β = 784 per value is the library's first default (1, unscaled); β = 0 is no sparsity.

    python3 bench/sparse_weight.py
"""
import json
import time

import numpy as np

from aefeatures import NativeModel
from fashion_data import downstream_accuracy, load

NETWORKS = {
    "784-256-32": ({"hidden_units": [256], "code_size": 32, "training": {"epochs": 8, "batch_size": 128}}, 3000),
    "784-1000x3-500 (study)": ({"hidden_units": [1000, 1000, 1000], "code_size": 500, "batch_norm": "before",
                                "dropout": 0.5, "activation": "elu", "training": {"epochs": 5, "batch_size": 100}}, 5000),
}


def main():
    images, labels = load("train")
    xv, yv = images[50000:52000], labels[50000:52000]
    print("network                  beta per value   validation accuracy %   mean code activation   reconstruction MSE")
    for name, (body, count) in NETWORKS.items():
        x, y = images[:count], labels[:count]
        for beta in [784, 3, 1, 0.3, 0.1, 0]:
            started = time.perf_counter()
            spec = {**body, "variant": "sparse", "input_shape": [784], "scaling": "none",
                    "sparsity": {"type": "kl", "weight": beta}, "seed": 1}
            model = NativeModel.create(json.dumps(spec))
            model.fit(x)
            codes = model.transform(x)
            accuracy = downstream_accuracy(codes, y, model.transform(xv), yv)
            error = float(np.mean((model.reconstruct(xv) - xv) ** 2))
            print(f"{name:24s} {beta:14g}   {accuracy:21.1f}   {codes.mean():20.3f}   {error:18.4f}"
                  f"   ({time.perf_counter() - started:.0f} s)", flush=True)


if __name__ == "__main__":
    main()

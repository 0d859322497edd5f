"""Training in chunks (partial_fit) against one fit, on the W1 workload (bench/main.swift's dense
784-256-64-256-784 network with BatchNorm, Adam at 1e-3, batch 256) and Fashion-MNIST's 60,000
training images (pixels / 255): one `fit` of E epochs against E passes of `partial_fit` over 10
chunks of 6,000 images. Prints the mean squared reconstruction error on the 10,000 test images
for both, their ratio, and the training times.

    python3 bench/partial_fit.py [--epochs 5] [--chunks 10]
"""
import argparse
import time

import numpy as np

from aefeatures import NativeModel
from fashion_data import load

W1 = {"input_shape": [784], "hidden_units": [256], "code_size": 64, "code_activation": "elu", "batch_norm": True,
      "scaling": "none", "output_activation": "sigmoid", "loss": "mse", "seed": 1}


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--epochs", type=int, default=5)
    parser.add_argument("--chunks", type=int, default=10)
    args = parser.parse_args()
    (x, _), (test, _) = load("train"), load("test")
    spec = {**W1, "training": {"optimizer": "adam", "learning_rate": 0.001, "batch_size": 256, "epochs": args.epochs}}

    def error(model):
        return float(np.mean((model.reconstruct(test) - test) ** 2))

    whole = NativeModel.create(spec)
    started = time.perf_counter()
    whole.fit(x)
    fit_seconds = time.perf_counter() - started
    chunked = NativeModel.create(spec)
    started = time.perf_counter()
    for _ in range(args.epochs):
        for chunk in np.array_split(x, args.chunks):
            chunked.partial_fit(chunk)
    chunk_seconds = time.perf_counter() - started
    a, b = error(whole), error(chunked)
    print(f"W1, {args.epochs} epochs, Fashion-MNIST test reconstruction MSE:")
    print(f"  one fit                         {a:.5f}  ({fit_seconds:.1f} s)")
    print(f"  partial_fit, {args.chunks} chunks a pass   {b:.5f}  ({chunk_seconds:.1f} s)")
    print(f"  ratio {b / a:.3f} (the goal: within 5%, at most 1.05)")


if __name__ == "__main__":
    main()

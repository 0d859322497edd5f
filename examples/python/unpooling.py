"""Unpooling with switches (the course's decoder that puts each value back where the encoder's
maximum was) against the two other ways a convolutional decoder goes back up, on Fashion-MNIST:
the same encoder (the benchmarks' W2 blocks, 16 and 8 filters of 3x3, 2x2 max pooling) and the
same dense code, decoded by nearest upsampling, transposed convolutions or max unpooling
(`conv_decoder="unpool"`). Prints each one's mean squared error on the test images and the 5-NN
accuracy of its codes (the encoder is the same network; only what training asked of it differs).

The switches are information the code does not hold (where in each window the maximum was), so
an unpooling decoder reconstructs the images it encoded, not codes alone: `decode` and sampling
refuse it.

    python3 examples/python/unpooling.py [--train 10000] [--test 2000] [--code 32] [--epochs 10]
"""
import argparse
import gzip
import time

import numpy as np

from aefeatures import AutoencoderTransformer

ROOT = "/usr/share/datasets/fashion-mnist"
BLOCKS = [{"filters": 16, "kernel": 3, "pool": 2}, {"filters": 8, "kernel": 3, "pool": 2}]


def load(prefix, limit):
    with gzip.open(f"{ROOT}/{prefix}-images-idx3-ubyte.gz") as f:
        images = np.frombuffer(f.read(), np.uint8, offset=16).reshape(-1, 784)[:limit].astype(np.float32) / 255
    with gzip.open(f"{ROOT}/{prefix}-labels-idx1-ubyte.gz") as f:
        labels = np.frombuffer(f.read(), np.uint8, offset=8)[:limit]
    return images, labels


def nearest_neighbour_accuracy(train, train_labels, test, test_labels, k=5):
    """k-NN by squared Euclidean distance, majority vote."""
    distances = (test ** 2).sum(1)[:, None] - 2 * test @ train.T + (train ** 2).sum(1)[None, :]
    votes = train_labels[np.argsort(distances, axis=1)[:, :k]]
    predicted = np.array([np.bincount(v, minlength=10).argmax() for v in votes])
    return float(np.mean(predicted == test_labels))


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--train", type=int, default=10000)
    ap.add_argument("--test", type=int, default=2000)
    ap.add_argument("--code", type=int, default=32)
    ap.add_argument("--epochs", type=int, default=10)
    a = ap.parse_args()
    (train, train_labels), (test, test_labels) = load("train", a.train), load("t10k", a.test)
    print(f"{a.train} training / {a.test} test images, code {a.code}, {a.epochs} epochs")
    print("| decoder | test MSE | 5-NN accuracy on codes | fit s |")
    print("|---|---|---|---|")
    for decoder in ("upsample", "transpose", "unpool"):
        start = time.perf_counter()
        model = AutoencoderTransformer(variant="conv2d", input_shape=(28, 28, 1), conv_blocks=BLOCKS,
                                       conv_decoder=decoder, code_size=a.code, code_activation="identity",
                                       activation="relu", epochs=a.epochs, batch_size=64, random_state=0).fit(train)
        seconds = time.perf_counter() - start
        error = np.mean((model.reconstruct(test) - test) ** 2)
        accuracy = nearest_neighbour_accuracy(model.transform(train), train_labels, model.transform(test), test_labels)
        print(f"| {decoder} | {error:.5f} | {accuracy:.3f} | {seconds:.1f} |", flush=True)


if __name__ == "__main__":
    main()

"""Anomalous motion in sequences of images, the job the convolutional LSTM (`variant="convlstm"`)
is for: every sequence is 8 frames of 8x8 pixels with a 2x2 square moving one pixel a step in a
straight line, bouncing off the edges. Autoencoders are trained on such sequences only, then
score held-out normal ones against two kinds of anomaly whose every frame is normal and only the
motion is not: the square stops halfway, or turns back halfway without reaching an edge.
Prints each detector's reconstruction error on the normal test sequences and its AUROC per
anomaly: the spatio-temporal autoencoder (ConvLSTM encoder, 32-value code, ConvLSTM decoder),
an LSTM sequence-to-sequence autoencoder over the flattened frames, a dense autoencoder over the
whole sequence, and scikit-learn's IsolationForest (what a user would try first).

    python3 examples/python/moving_patterns.py [--train 1000] [--test 300] [--epochs 20]
"""
import argparse
import time

import numpy as np

from aefeatures import NativeModel

STEPS, SIZE = 8, 8
DIRECTIONS = [(-1, -1), (-1, 0), (-1, 1), (0, -1), (0, 1), (1, -1), (1, 0), (1, 1)]


def moving_squares(count, anomaly=None, seed=0, steps=STEPS, size=SIZE):
    """[count, steps * size * size] float32 sequences; anomaly None, "stop" or "reverse"."""
    rng = np.random.default_rng(seed)
    frames = np.zeros((count, steps, size, size), np.float32)
    for n in range(count):
        row, column = rng.integers(0, size - 1, 2)
        dr, dc = DIRECTIONS[rng.integers(len(DIRECTIONS))]
        for t in range(steps):
            frames[n, t, row:row + 2, column:column + 2] = 1
            if anomaly == "stop" and t >= steps // 2 - 1:
                continue
            if anomaly == "reverse" and t == steps // 2 - 1:
                dr, dc = -dr, -dc
            dr = dr if 0 <= row + dr <= size - 2 else -dr
            dc = dc if 0 <= column + dc <= size - 2 else -dc
            row, column = row + dr, column + dc
    return frames.reshape(count, -1)


def auroc(normal, anomalous):
    """The probability that a random anomaly scores above a random normal sequence (ties half)."""
    greater = (anomalous[:, None] > normal[None, :]).mean()
    return float(greater + 0.5 * (anomalous[:, None] == normal[None, :]).mean())


def detectors(epochs):
    training = {"epochs": epochs, "batch_size": 16, "learning_rate": 0.003}
    common = {"scaling": "none", "training": training}
    return {
        "convlstm, 8 filters 3x3, code 32": {"variant": "convlstm", "input_shape": [STEPS, SIZE, SIZE, 1], "code_size": 32,
                                             "code_activation": "identity", "conv_blocks": [{"filters": 8, "kernel": 3}], **common},
        "seq2seq LSTM 128 over flat frames": {"variant": "seq2seq", "input_shape": [STEPS, SIZE * SIZE], "hidden_units": [128],
                                              "decoder_units": [128], **common},
        "dense 512-256-32": {"variant": "dense", "input_shape": [STEPS * SIZE * SIZE], "hidden_units": [256], "code_size": 32,
                             **common},
    }


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--train", type=int, default=1000)
    ap.add_argument("--test", type=int, default=300)
    ap.add_argument("--epochs", type=int, default=20)
    a = ap.parse_args()
    train, test = moving_squares(a.train, seed=1), moving_squares(a.test, seed=2)
    anomalies = {kind: moving_squares(a.test, anomaly=kind, seed=3) for kind in ("stop", "reverse")}
    print(f"{a.train} training / {a.test} test sequences of {STEPS} frames {SIZE}x{SIZE}, {a.epochs} epochs")
    print(f"mean sequence's MSE on the test sequences: {np.mean((test - train.mean(0)) ** 2):.4f}")
    print("| detector | test MSE | AUROC, stops halfway | AUROC, turns back halfway | fit s |")
    print("|---|---|---|---|---|")
    for name, spec in detectors(a.epochs).items():
        start = time.perf_counter()
        model = NativeModel.create(spec)
        model.fit(train)
        seconds = time.perf_counter() - start
        error = np.mean((model.reconstruct(test) - test) ** 2)
        normal = model.score(test)
        aurocs = " | ".join(f"{auroc(normal, model.score(x)):.3f}" for x in anomalies.values())
        print(f"| {name} | {error:.4f} | {aurocs} | {seconds:.1f} |", flush=True)
    from sklearn.ensemble import IsolationForest
    forest = IsolationForest(random_state=0).fit(train)
    normal = -forest.score_samples(test)
    aurocs = " | ".join(f"{auroc(normal, -forest.score_samples(x)):.3f}" for x in anomalies.values())
    print(f"| IsolationForest | | {aurocs} | |")


if __name__ == "__main__":
    main()

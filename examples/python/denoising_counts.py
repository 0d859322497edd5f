"""Denoising photon-count images (the course's low-dose medical-image example) on Fashion-MNIST:
test images degraded by Poisson noise (each pixel's count ~ Poisson(lambda * intensity), divided
by lambda) are reconstructed by autoencoders of the same network trained three ways on clean
training images: plain, with gaussian input noise of the same size at mid-intensity, and with
the Poisson noise itself (`noise="poisson"`), and that last one again with tied weights (the
decoder uses the encoder's weights transposed: half the weights). Prints each one's mean squared
error to the clean test images, and the noisy images' own.

    python3 examples/python/denoising_counts.py [--train 10000] [--test 2000] [--counts 5] [--epochs 20]
"""
import argparse
import gzip
import time

import numpy as np

from aefeatures import AutoencoderTransformer

ROOT = "/usr/share/datasets/fashion-mnist"


def load(prefix, limit):
    with gzip.open(f"{ROOT}/{prefix}-images-idx3-ubyte.gz") as f:
        return np.frombuffer(f.read(), np.uint8, offset=16).reshape(-1, 784)[:limit].astype(np.float32) / 255


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--train", type=int, default=10000)
    ap.add_argument("--test", type=int, default=2000)
    ap.add_argument("--counts", type=float, default=5, help="lambda: expected counts at intensity 1 (low dose)")
    ap.add_argument("--epochs", type=int, default=20)
    a = ap.parse_args()
    train, clean = load("train", a.train), load("t10k", a.test)
    noisy = (np.random.default_rng(0).poisson(a.counts * clean) / a.counts).astype(np.float32)

    network = dict(hidden_units=(256,), code_size=64, activation="relu", scaling="none", epochs=a.epochs,
                   batch_size=64, random_state=0)
    matched_sd = float(np.sqrt(0.5 / a.counts))  # the Poisson noise's standard deviation at intensity 0.5
    rows = [("noisy input itself", None)]
    rows += [("autoencoder, no noise in training", dict(variant="dense")),
             (f"denoising, gaussian sd {matched_sd:.3f}", dict(variant="denoising", noise="gaussian", noise_level=matched_sd)),
             (f"denoising, poisson lambda {a.counts:g}", dict(variant="denoising", noise="poisson", noise_level=a.counts)),
             ("the same, tied weights", dict(variant="denoising", noise="poisson", noise_level=a.counts, tied_weights=True))]
    print(f"{a.train} training / {a.test} test images; test images degraded by Poisson noise, lambda {a.counts:g}")
    print("| reconstruction of the noisy test images | MSE to the clean images | model file bytes | fit s |")
    print("|---|---|---|---|")
    for name, params in rows:
        if params is None:
            print(f"| {name} | {np.mean((noisy - clean) ** 2):.5f} | | |")
            continue
        start = time.perf_counter()
        model = AutoencoderTransformer(**network, **params).fit(train)
        seconds = time.perf_counter() - start
        error = np.mean((model.reconstruct(noisy) - clean) ** 2)
        print(f"| {name} | {error:.5f} | {len(model.model_.to_bytes()):,} | {seconds:.1f} |", flush=True)


if __name__ == "__main__":
    main()

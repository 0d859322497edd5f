"""Chooses `aef-demo`'s own Fashion-MNIST features ("ours") on a validation split of the training
images, never on the test images.

Splits the first --fit + --validate training images into fitting and validation images, fits
each candidate autoencoder on the fitting images, and judges its codes by the study's downstream
model (min-max scaling, scikit-learn's LogisticRegression, C = 1) on the validation images.

    python3 bench/fashion_features.py [--fit 10000] [--validate 5000] [--epochs 2]
"""
import argparse
import json
import time

from aefeatures import NativeModel
from fashion_data import downstream_accuracy, load


def one_block(filters, kernel, stride):
    return {"variant": "conv2d", "input_shape": [28, 28, 1], "scaling": "none",
            "conv_blocks": [{"filters": filters, "kernel": kernel, "pool": 2, "pool_stride": stride, "pool_padding": "same"}]}


CANDIDATES = {
    "raw pixels": None,
    "study dense 784-1000x3-500": {"input_shape": [784], "hidden_units": [1000, 1000, 1000], "code_size": 500,
                                   "batch_norm": "before", "dropout": 0.5, "scaling": "none"},
    "W2 conv2d 16/8 (392 features)": {"variant": "conv2d", "input_shape": [28, 28, 1], "scaling": "none",
                                      "conv_blocks": [{"filters": 16, "kernel": 3, "pool": 2}, {"filters": 8, "kernel": 3, "pool": 2}]},
    "one conv 32 x 5x5, pooled 7x7 (1,568)": one_block(32, 5, 4),
    "one conv 64 x 5x5, pooled 7x7 (3,136)": one_block(64, 5, 4),
    "one conv 64 x 3x3, pooled 7x7 (3,136)": one_block(64, 3, 4),
}


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--fit", type=int, default=10000)
    parser.add_argument("--validate", type=int, default=5000)
    parser.add_argument("--epochs", type=int, default=2)
    args = parser.parse_args()
    images, labels = load("train")
    fit, valid = slice(0, args.fit), slice(args.fit, args.fit + args.validate)
    print(f"validation accuracy %: {args.fit} fitting, {args.validate} validation training images, {args.epochs} epochs")
    for name, spec in CANDIDATES.items():
        started = time.perf_counter()
        if spec is None:
            codes, valid_codes = images[fit], images[valid]
        else:
            model = NativeModel.create(json.dumps({**spec, "seed": 1, "training": {"epochs": args.epochs, "batch_size": 100}}))
            model.fit(images[fit])
            codes, valid_codes = model.transform(images[fit]), model.transform(images[valid])
        accuracy = downstream_accuracy(codes, labels[fit], valid_codes, labels[valid])
        print(f"  {name:40s} {accuracy:5.1f}   ({time.perf_counter() - started:.0f} s)", flush=True)


if __name__ == "__main__":
    main()

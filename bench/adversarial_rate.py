"""The adversarial autoencoder's generator rate against its features: why
`adversarial.generator_learning_rate` defaults to a tenth of the training rate (docs/spec.md).
The reference study's image network (784-1000x3-500, BatchNorm before each Dense, dropout 0.5,
ELU, the demo's settings: 5 epochs of batch 100) on the first 5,000 training images; its codes are
judged by min-max scaling and scikit-learn's LogisticRegression on 2,000 other training images
(a validation split: the test images are not used).

    python3 bench/adversarial_rate.py
"""
import json
import time

from aefeatures import NativeModel
from fashion_data import downstream_accuracy, load

NETWORK = {"variant": "adversarial", "input_shape": [784], "hidden_units": [1000, 1000, 1000], "code_size": 500,
           "batch_norm": "before", "dropout": 0.5, "activation": "elu", "scaling": "none", "seed": 1,
           "training": {"epochs": 5, "batch_size": 100, "validation_split": 0.05}}


def main():
    images, labels = load("train")
    (x, y), (xv, yv) = (images[:5000], labels[:5000]), (images[50000:52000], labels[50000:52000])
    print("generator rate / training rate   validation accuracy %   reconstruction MSE   codes' sd (prior: 1)")
    for ratio in (1, 1 / 3, 1 / 10, 1 / 30):
        started = time.perf_counter()
        spec = {**NETWORK, "adversarial": {"generator_learning_rate": 1e-3 * ratio}}
        model = NativeModel.create(json.dumps(spec))
        model.fit(x)
        codes = model.transform(x)
        accuracy = downstream_accuracy(codes, y, model.transform(xv), yv)
        mse = float(((model.reconstruct(xv) - xv) ** 2).mean())
        print(f"  1/{1 / ratio:<4.0f}                           {accuracy:5.1f}                   {mse:.4f}"
              f"               {codes.std():.2f}   ({time.perf_counter() - started:.0f} s)", flush=True)


if __name__ == "__main__":
    main()

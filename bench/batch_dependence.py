#!/usr/bin/env python3
"""How far a row's outputs move with the batch it is computed in, for every variant of the Python
tests (bindings/python/tests/conftest.py VARIANTS, fitted 2 epochs on 1,500 Fashion-MNIST rows):
300 test rows as one batch, one row at a time, and in chunks of 7 in reverse order. Prints, per
output, the share of values that differ at all and the worst difference in units of the header's
bound's scale (max(1, the row's largest |value|) for features and reconstructions, s + sqrt(s)
for scores): the header promises at most 1e-5.

    OPENBLAS_CORETYPE=Haswell python3 bench/batch_dependence.py     # needs the binding installed
"""
import sys
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "bindings" / "python" / "tests"))
from conftest import VARIANTS, BATCH_TOLERANCE, batch_rounding_bound, fitted_variant  # noqa: E402
from conftest import FASHION  # noqa: E402

import gzip  # noqa: E402

with gzip.open(FASHION) as f:
    fashion = np.frombuffer(f.read(), dtype=np.uint8, offset=16).reshape(-1, 784).astype(np.float32)
x = np.ascontiguousarray(fashion[2000:2300])
worst = {}
print("| variant | output | values differing (alone / chunks of 7) | worst difference / scale |")
print("|---|---|---|---|")
for name in VARIANTS:
    model = fitted_variant(name, fashion)
    for kind, compute in [("features", model.transform), ("reconstructions", model.reconstruct),
                          ("scores", model.score)]:
        full = compute(x).astype(np.float64)
        alone = np.concatenate([compute(x[i:i + 1]) for i in range(len(x))])
        backwards = x[::-1].copy()
        chunks = np.concatenate([compute(backwards[i:i + 7]) for i in range(0, len(x), 7)])[::-1]
        shares, ratios = [], []
        for other in (alone, chunks):
            d = np.abs(other - full)
            shares.append(f"{np.mean(d > 0):.0%}")
            ratios.append(float(np.max(d / (batch_rounding_bound(full, kind) / BATCH_TOLERANCE))))
        worst[kind] = max(worst.get(kind, 0.0), *ratios)
        print(f"| {name} | {kind} | {' / '.join(shares)} | {max(ratios):.1e} |")
print()
print("worst over all variants: " + ", ".join(f"{k} {v:.1e}" for k, v in worst.items())
      + f" (bound {BATCH_TOLERANCE:.0e})")

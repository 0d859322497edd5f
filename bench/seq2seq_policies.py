#!/usr/bin/env python3
"""Stacked seq2seq autoencoders on the study's simulated insurance policies (issue 24): per number
of encoder LSTMs (50 units each, decoder mirrored, the last state the code), the reconstruction
error over the data's variance (raw units, training rows), the code's spread and the downstream
AUROC (features -> MinMaxScaler -> liblinear LogisticRegression, the study's pipeline) on the 30%
test split, mean ± sd over seeds; raw inputs through the same pipeline for reference.
scikit-learn is a benchmark dependency, not the library's.

    python3 bench/seq2seq_policies.py [--outputs sigmoid,identity] [--depths 1,2,3,4] [--cells lstm] [--seeds 5] [--epochs 100]

--cells lstm,peephole,gru also runs every configuration with peephole LSTMs ("peephole": true)
and with GRU cells ("cell": "gru").
"""
import argparse
import sys
from pathlib import Path

import numpy as np
from sklearn.linear_model import LogisticRegression
from sklearn.metrics import roc_auc_score
from sklearn.preprocessing import MinMaxScaler

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "bindings" / "python" / "tests"))
from conftest import policies  # noqa: E402

from aefeatures import AutoencoderTransformer  # noqa: E402


def auroc(train, test, y_train, y_test):
    scaler = MinMaxScaler().fit(train)
    model = LogisticRegression(solver="liblinear", C=1.0, random_state=666).fit(scaler.transform(train), y_train)
    return 100 * roc_auc_score(y_test, model.predict_proba(scaler.transform(test))[:, 1])


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--outputs", default="sigmoid,identity")
    parser.add_argument("--depths", default="1,2,3,4")
    parser.add_argument("--cells", default="lstm")
    parser.add_argument("--seeds", type=int, default=5)
    parser.add_argument("--epochs", type=int, default=100)
    args = parser.parse_args()
    depths = [int(d) for d in args.depths.split(",")]
    results, raw = {}, []
    for seed in range(args.seeds):
        x, y = policies(1000, seed, labels=True)
        train, test, y_train, y_test = x[:700], x[700:], y[:700], y[700:]
        raw.append(auroc(train, test, y_train, y_test))
        for cell in args.cells.split(","):
            for output in args.outputs.split(","):
                for depth in depths:
                    model = AutoencoderTransformer(variant="seq2seq", input_shape=(4, 3), hidden_units=(50,) * depth,
                                                   code_size=None, output_activation=output, epochs=args.epochs,
                                                   batch_size=50, random_state=seed,
                                                   spec={"peephole": {"peephole": True}, "gru": {"cell": "gru"}}.get(cell)).fit(train)
                    native = model.model_
                    error = np.mean((native.reconstruct(train) - train) ** 2) / np.mean((train - train.mean(axis=0)) ** 2)
                    codes = native.transform(train)
                    results.setdefault((cell, output, depth), []).append(
                        (auroc(codes, native.transform(test), y_train, y_test), error, codes.std(axis=0).mean()))
    print(f"raw inputs: AUROC {np.mean(raw):.1f} ± {np.std(raw):.1f}")
    print("| cell | output | encoder LSTMs | AUROC | error / variance | code std |")
    print("|---|---|---|---|---|---|")
    for (cell, output, depth), rows in results.items():
        a = np.array(rows)
        print(f"| {cell} | {output} | {depth} | {a[:, 0].mean():.1f} ± {a[:, 0].std():.1f} | {a[:, 1].mean():.2f} | {a[:, 2].mean():.3f} |")


if __name__ == "__main__":
    main()

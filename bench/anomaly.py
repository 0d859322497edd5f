"""Anomaly detectors side by side: what a user would try first (scikit-learn's IsolationForest,
PCA reconstruction error, LocalOutlierFactor in novelty mode) against this library's detectors.

One-class Fashion-MNIST: each detector is fitted on the 6,000 training images of one class and
scores all 10,000 test images; AUROC of "another class", mean over the classes, then mean ± sd
over seeds. Insurance: the reference study's simulated policies (bench/insurance_features.py's
simulator, 1,000 per seed, 70/30 split), fitted on the low-risk training policies, high-risk test
policies as anomalies. Fit times are per detector, mean over classes and seeds.

Thresholds: each of our detectors is fitted on 90% of the normal training rows (insurance: 70%)
and calibrated on the others to a 1% false-positive rate (`calibrate_threshold`, which needs at
least 99 rows for 1%: 600 images, about 110 policies); the table reports the realised rate on the
normal test rows.

    python3 bench/anomaly.py [--seeds 3] [--classes 0,1,...,9] [--epochs 3] [--insurance-epochs 100] [--insurance-policies 1000]
                             [--detectors "dense,IsolationForest"]
"""
import argparse
import time

import numpy as np
from sklearn.decomposition import PCA
from sklearn.ensemble import IsolationForest
from sklearn.metrics import roc_auc_score
from sklearn.neighbors import LocalOutlierFactor
from sklearn.preprocessing import MinMaxScaler

from aefeatures import AutoencoderDetector, AutoencoderTransformer
from fashion_data import load
from insurance_features import policies


class PCAReconstruction:
    """Squared reconstruction error from the principal components holding 95% of the variance."""

    def fit(self, x):
        self.pca = PCA(n_components=0.95).fit(x)
        return self

    def decision_function(self, x):
        return ((x - self.pca.inverse_transform(self.pca.transform(x))) ** 2).sum(1)


def classic(seed):
    return {
        "IsolationForest": lambda: _Negated(IsolationForest(random_state=seed)),
        "PCA reconstruction (95%)": PCAReconstruction,
        "LocalOutlierFactor (novelty)": lambda: _Negated(LocalOutlierFactor(novelty=True)),
    }


class _Negated:
    """scikit-learn's outlier detectors score normal rows high; AUROC wants anomalies high."""

    def __init__(self, model):
        self.model = model

    def fit(self, x):
        self.model.fit(x)
        return self

    def decision_function(self, x):
        return -self.model.score_samples(x)


def ours(images, epochs, seed):
    """Our variants on a dense body (and the convolutional and sequence ones on images). Inputs
    arrive in [0, 1] (pixels / 255, min-max scaled policies), so no further scaling."""
    body = dict(hidden_units=(256,), code_size=32, activation="relu", epochs=epochs, batch_size=100,
                scaling="none", random_state=seed)
    variants = {
        "dense": {},
        "dense (standardized score)": dict(anomaly_score="standardized"),
        "dense (combined score)": dict(anomaly_score="combined"),
        "denoising": dict(variant="denoising"),
        "denoising (standardized score)": dict(variant="denoising", anomaly_score="standardized"),
        "denoising (combined score)": dict(variant="denoising", anomaly_score="combined"),
        "sparse (KL)": dict(variant="sparse"),
        "contractive": dict(variant="contractive"),
        "variational": dict(variant="variational", code_size=16),
        "adversarial": dict(variant="adversarial"),
    }
    if images:
        variants["conv2d"] = dict(variant="conv2d", input_shape=(28, 28, 1), hidden_units=(),
                                  conv_blocks=[{"filters": 16, "kernel": 3, "pool": 2}, {"filters": 32, "kernel": 3, "pool": 2}])
        variants["seq2seq (LSTM)"] = dict(variant="seq2seq", input_shape=(28, 28), hidden_units=(64,))
    # anomaly_score=None: each variant scores as its transformer says (reconstruction unless set).
    return {name: (lambda extra=extra: AutoencoderDetector(AutoencoderTransformer(**{**body, **extra}), contamination=0.01,
                                                           anomaly_score=None))
            for name, extra in variants.items()}


def evaluate(make, x_normal, x_test, anomalous, seed, held_out_fraction):
    """(AUROC %, fit seconds, realised false-positive rate % or None) of one detector; our
    detectors (held_out_fraction not None) are calibrated on that fraction of the normal rows."""
    rows = x_normal
    calibrate = held_out_fraction is not None
    if calibrate:
        order = np.random.default_rng(seed).permutation(len(x_normal))
        count = int(len(order) * held_out_fraction)
        held_out, rows = x_normal[order[:count]], x_normal[order[count:]]
    started = time.perf_counter()
    detector = make().fit(rows)
    seconds = time.perf_counter() - started
    scores = detector.decision_function(x_test)
    realised = None
    if calibrate:
        detector.calibrate_threshold(held_out, false_positive_rate=0.01)
        realised = 100 * float(np.mean(detector.predict(x_test[anomalous == 0])))
    return 100 * roc_auc_score(anomalous, scores), seconds, realised


def run(task, data, seeds, chosen, epochs):
    results = {}
    for seed in seeds:
        for part, (x_normal, x_test, anomalous) in enumerate(data(seed)):
            mine = ours(task == "fashion", epochs, seed)
            for name, make in {**classic(seed), **mine}.items():
                if chosen and name not in chosen:
                    continue
                fraction = (0.1 if task == "fashion" else 0.3) if name in mine else None
                auroc, seconds, realised = evaluate(make, x_normal, x_test, anomalous, seed, fraction)
                results.setdefault(name, {}).setdefault(seed, []).append((auroc, seconds, realised))
                print(f"  {task} seed {seed} part {part}: {name} {auroc:.2f} ({seconds:.1f} s)", flush=True)
    return results


def fashion(classes):
    (x, y), (xt, yt) = load("train"), load("test")

    def data(seed):
        for c in classes:
            yield x[y == c], xt, (yt != c).astype(int)
    return data


def insurance(count):
    """The insurance task on `count` simulated policies per seed (the study's 1,000 by default)."""
    def data(seed):
        rng = np.random.default_rng(2000 + seed)
        x, risky = policies(count, rng)
        order = rng.permutation(count)
        train, test = order[:int(0.7 * count)], order[int(0.7 * count):]
        scaler = MinMaxScaler().fit(x[train])
        normal = train[risky[train] == 0]
        yield scaler.transform(x[normal]).astype(np.float32), scaler.transform(x[test]).astype(np.float32), risky[test]
    return data


def table(title, results):
    lines = [f"**{title}**", "", "| detector | AUROC % (mean ± sd over seeds) | fit time (s) | false positives at a 1% target |",
             "|---|---|---|---|"]
    for name, per_seed in results.items():
        means = [np.mean([a for a, _, _ in runs]) for runs in per_seed.values()]
        seconds = np.mean([s for runs in per_seed.values() for _, s, _ in runs])
        realised = [r for runs in per_seed.values() for _, _, r in runs if r is not None]
        rate = f"{np.mean(realised):.2f}%" if realised else ""
        lines.append(f"| {name} | {np.mean(means):.2f} ± {np.std(means, ddof=1) if len(means) > 1 else 0:.2f} | {seconds:.2f} | {rate} |")
    return "\n".join(lines)


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--seeds", type=int, default=3)
    parser.add_argument("--epochs", type=int, default=3,
                        help="Fashion-MNIST epochs (3: bench/anomaly_scores.py's validation AUROC of the combined score "
                             "is 94.13 / 94.02 / 93.85 at 3 / 5 / 10 epochs)")
    parser.add_argument("--insurance-epochs", type=int, default=100)
    parser.add_argument("--insurance-policies", type=int, default=1000,
                        help="policies simulated per seed (the study's 1,000; more give the 1%% threshold enough calibration rows)")
    parser.add_argument("--classes", default="0,1,2,3,4,5,6,7,8,9", help="Fashion-MNIST classes (empty: none)")
    parser.add_argument("--detectors", default="", help="comma-separated names (default: all)")
    args = parser.parse_args()
    seeds = range(1, args.seeds + 1)
    chosen = {d.strip() for d in args.detectors.split(",") if d.strip()}
    classes = [int(c) for c in args.classes.split(",") if c.strip()]
    fashion_results = run("fashion", fashion(classes), seeds, chosen, args.epochs) if classes else {}
    insurance_results = run("insurance", insurance(args.insurance_policies), seeds, chosen, args.insurance_epochs)
    print()
    if fashion_results:
        print(table(f"One-class Fashion-MNIST, mean over classes {args.classes} (test AUROC %)", fashion_results))
        print()
    print(table(f"Insurance, high-risk policies as anomalies, {args.insurance_policies} policies per seed (test AUROC %)",
                insurance_results))


if __name__ == "__main__":
    main()

"""Draws the plots of an `aef demo --report DIR` from DIR/data (numpy and matplotlib only).

    python3 DIR/plots.py DIR
"""
import json
import sys
from pathlib import Path

import numpy as np
import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402


def load(data, name):
    return np.load(data / f"{name}.npy")


def grid(count, columns=3, size=3.2):
    rows = (count + columns - 1) // columns
    figure, axes = plt.subplots(rows, columns, figsize=(size * columns, size * rows), squeeze=False)
    for axis in axes.flat[count:]:
        axis.set_visible(False)
    return figure, list(axes.flat[:count])


def save(figure, path, title):
    figure.suptitle(title)
    figure.tight_layout()
    figure.savefig(path, dpi=90)
    plt.close(figure)
    print(f"wrote {path}")


def code_view(data, key, info, out):
    """Test codes projected on their first two principal axes, coloured by class."""
    labels = load(data, f"{key}.labels").astype(int)
    figure, axes = grid(len(info["variants"]))
    colours = plt.get_cmap("tab10")
    for axis, variant in zip(axes, info["variants"]):
        codes = load(data, f"{key}.{variant['file']}.codes").reshape(len(labels), -1).astype(np.float64)
        centred = codes - codes.mean(axis=0)
        _, _, axes_t = np.linalg.svd(centred, full_matrices=False)
        view = centred @ axes_t[:2].T if axes_t.shape[0] >= 2 else np.c_[centred[:, 0], np.zeros(len(codes))]
        for label, name in enumerate(info["classes"]):
            chosen = labels == label
            axis.scatter(view[chosen, 0], view[chosen, 1], s=4, alpha=0.6, color=colours(label % 10), label=name)
        axis.set_title(variant["name"], fontsize=9)
        axis.set_xticks([])
        axis.set_yticks([])
    axes[0].legend(fontsize=6, markerscale=3, loc="best")
    save(figure, out / f"codes_{key}.png", f"{key}: test codes, first two principal axes, coloured by class")


def score_histograms(data, key, info, out):
    """Reconstruction-error scores of normal and anomalous test rows."""
    anomalous = load(data, f"{key}.anomalous").astype(bool)
    figure, axes = grid(len(info["variants"]))
    for axis, variant in zip(axes, info["variants"]):
        scores = load(data, f"{key}.{variant['file']}.scores").ravel()
        bins = np.histogram_bin_edges(scores, bins=40)
        axis.hist(scores[~anomalous], bins=bins, alpha=0.6, density=True, label="normal")
        axis.hist(scores[anomalous], bins=bins, alpha=0.6, density=True, label="anomalous")
        axis.set_title(variant["name"], fontsize=9)
        axis.legend(fontsize=7)
    save(figure, out / f"scores_{key}.png", f"{key}: anomaly scores (reconstruction error) of test rows")


def training_curves(data, index, out):
    figure, axes = grid(len(index), columns=len(index), size=4.5)
    for axis, (key, info) in zip(axes, index.items()):
        for variant in info["variants"]:
            loss = load(data, f"{key}.{variant['file']}.loss").ravel()
            axis.plot(np.arange(1, len(loss) + 1), loss / loss[0], label=variant["name"])
        axis.set_yscale("log")
        axis.set_xlabel("epoch")
        axis.set_ylabel("training loss / first epoch's")
        axis.set_title(key)
        axis.legend(fontsize=7)
    save(figure, out / "training_curves.png", "training curves (first seed)")


def reconstructions(data, key, info, out):
    shape = info["image_shape"]
    originals = load(data, f"{key}.originals").reshape(-1, *shape[:2])
    rows = [("original", originals)] + [
        (v["name"], load(data, f"{key}.{v['file']}.reconstructions").reshape(-1, *shape[:2])) for v in info["variants"]]
    figure, axes = plt.subplots(len(rows), len(originals), figsize=(1.1 * len(originals) + 1.5, 1.1 * len(rows)), squeeze=False)
    for r, (name, images) in enumerate(rows):
        for c, image in enumerate(images):
            axes[r, c].imshow(image, cmap="gray", vmin=0, vmax=1)
            axes[r, c].set_xticks([])
            axes[r, c].set_yticks([])
        axes[r, 0].set_ylabel(name, rotation=0, ha="right", va="center", fontsize=8)
    save(figure, out / f"reconstructions_{key}.png", f"{key}: test images and their reconstructions")


def planes(data, key, info, out):
    """The test images in two dimensions: PCA's first two components beside a 2-unit code."""
    labels = load(data, f"{key}.labels").astype(int)
    figure, axes = grid(2, columns=2, size=4.5)
    colours = plt.get_cmap("tab10")
    for axis, (kind, title) in zip(axes, [("pca", "PCA, first two components"), ("code", "autoencoder, 2-unit code")]):
        points = load(data, f"{key}.plane.{kind}")
        for label, name in enumerate(info["classes"]):
            chosen = labels == label
            axis.scatter(points[chosen, 0], points[chosen, 1], s=4, alpha=0.6, color=colours(label % 10), label=name)
        axis.set_title(title, fontsize=9)
        axis.set_xticks([])
        axis.set_yticks([])
    axes[0].legend(fontsize=6, markerscale=3, loc="best")
    save(figure, out / f"two_dimensions_{key}.png", f"{key}: test images in two dimensions, coloured by class")


def main(directory):
    out = Path(directory)
    data = out / "data"
    everything = json.loads((data / "index.json").read_text())
    for key, info in everything.items():
        if (data / f"{key}.plane.code.npy").exists():
            planes(data, key, info, out)
    # A data set whose rows --rows left out (baselines only) has nothing more to draw.
    index = {key: info for key, info in everything.items() if info["variants"]}
    if not index:
        return
    for key, info in index.items():
        code_view(data, key, info, out)
        score_histograms(data, key, info, out)
        if info.get("image_shape"):
            reconstructions(data, key, info, out)
    training_curves(data, index, out)


if __name__ == "__main__":
    if len(sys.argv) != 2:
        sys.exit("usage: python3 plots.py REPORT_DIR")
    main(sys.argv[1])

"""Golden model files: a model of every variant as this version writes it, with the rows it was
run on and its outputs. Later versions must load them (see "Model files." in
include/aefeatures.h); bindings/python/tests/test_golden_models.py checks that they do.

    python3 Tests/golden/golden.py write    # once per model format version, into format-N/

Files are never rewritten: `write` refuses a directory that exists. A new format version gets a
new directory beside the old ones, which stay."""
import json
import sys
from pathlib import Path

import numpy as np

HERE = Path(__file__).resolve().parent
FORMAT = 1  # ModelFile.version in Sources/AEFeatures/IO/ModelFile.swift

CONV_BLOCKS = [{"filters": 3, "kernel": 3, "pool": 2}]
SPECS = {
    "dense": {"input_shape": [12], "hidden_units": [10, 6], "code_size": 3, "batch_norm": True, "dropout": 0.1,
              "scaling": "standard", "activation": "elu"},
    "denoising": {"variant": "denoising", "input_shape": [12], "hidden_units": [8], "code_size": 3, "loss": "bce",
                  "noise": {"type": "masking", "level": 0.2}},
    "sparse_kl": {"variant": "sparse", "input_shape": [12], "hidden_units": [8], "code_size": 5},
    "sparse_l1": {"variant": "sparse", "input_shape": [12], "hidden_units": [8], "code_size": 5,
                  "sparsity": {"type": "l1", "weight": 1e-3}},
    "contractive": {"variant": "contractive", "input_shape": [12], "hidden_units": [8], "code_size": 2,
                    "activation": "tanh", "training": {"optimizer": "rmsprop"}},
    "conv1d": {"variant": "conv1d", "input_shape": [12, 2], "code_size": 3,
               "conv_blocks": [{"filters": 4, "kernel": 3, "pool": 2, "pool_type": "average"}]},
    "conv2d": {"variant": "conv2d", "input_shape": [6, 6, 1], "code_size": 3, "conv_blocks": CONV_BLOCKS,
               "batch_norm": True},
    "conv2d_transpose": {"variant": "conv2d", "input_shape": [6, 6, 1], "conv_blocks": CONV_BLOCKS,
                         "conv_decoder": "transpose", "training": {"optimizer": "sgd", "learning_rate": 0.01}},
    "seq2seq": {"variant": "seq2seq", "input_shape": [4, 3], "hidden_units": [6, 5], "decoder_units": [5, 6]},
    "seq2seq_bidirectional": {"variant": "seq2seq", "input_shape": [4, 3], "hidden_units": [5], "code_size": 3,
                              "bidirectional": True},
    "variational": {"variant": "variational", "input_shape": [12], "hidden_units": [8], "code_size": 2,
                    "variational": {"beta": 0.5, "samples": 2}},
    "variational_conv": {"variant": "conv2d", "input_shape": [6, 6, 1], "code_size": 2, "loss": "bce",
                         "variational": {}, "conv_blocks": CONV_BLOCKS},
    "adversarial": {"variant": "adversarial", "input_shape": [12], "hidden_units": [8], "code_size": 2,
                    "adversarial": {"prior": "uniform", "discriminator_units": [6]}},
    "early_stopped": {"input_shape": [12], "hidden_units": [6], "code_size": 2, "scaling": "none",
                      "training": {"validation_split": 0.25, "early_stopping": {"patience": 1}, "clip_norm": 1.0}},
}


def rows(name, count, seed):
    """Rows in [0, 1] with structure (2 hidden factors) for model `name`."""
    rng = np.random.default_rng(seed)
    width = int(np.prod(SPECS[name]["input_shape"]))
    factors = rng.uniform(size=(count, 2))
    mixing = rng.uniform(size=(2, width))
    return np.ascontiguousarray(np.clip(factors @ mixing / 2 + 0.05 * rng.normal(size=(count, width)), 0, 1),
                                dtype=np.float32)


def outputs(model, x):
    """Everything a model computes from rows, plus draws from the prior where it has one."""
    out = {"transform": model.transform(x), "reconstruct": model.reconstruct(x), "score": model.score(x),
           "feature_errors": model.feature_errors(x), "decode": model.decode(model.transform(x))}
    variant = model.spec.get("variant")
    if "variational" in model.spec or variant == "adversarial":
        out["sample"] = model.sample(5, 11)
    if "variational" in model.spec:
        out["latent_mean"], out["latent_log_variance"] = model.latent_distribution(x)
    return out


def machine():
    """The OpenBLAS build, its core and the thread count this process computes with: outputs are
    bit-exact only on the same machine kind ("Machines." in the header)."""
    from aefeatures import blas_info, get_num_threads

    return {"blas": blas_info(), "threads": get_num_threads()}


def write(directory):
    from aefeatures import NativeModel, __version__

    if directory.exists():
        sys.exit(f"{directory} exists: golden files are never rewritten")
    partial = directory.with_name(directory.name + ".partial")
    partial.mkdir()
    for name, spec in SPECS.items():
        training = {"epochs": 3, "batch_size": 16, **spec.get("training", {})}
        model = NativeModel.create({**spec, "training": training, "seed": 3})
        model.fit(rows(name, 96, seed=1))
        model.save(partial / f"{name}.aef")
        x = rows(name, 20, seed=2)
        np.savez(partial / f"{name}.npz", x=x, **outputs(model, x))
    (partial / "written_by.json").write_text(json.dumps({"library": __version__, "format": FORMAT, **machine()}) + "\n")
    partial.rename(directory)
    print(f"wrote {len(SPECS)} models to {directory}")


if __name__ == "__main__":
    if sys.argv[1:] != ["write"]:
        sys.exit(__doc__)
    write(HERE / f"format-{FORMAT}")

"""scikit-learn-compatible estimators over libaefeatures.

AutoencoderTransformer: fit an autoencoder of any variant, `transform` gives the learned
features (the code), `inverse_transform` decodes them, `reconstruct` round-trips the input.

AutoencoderDetector: PyOD's conventions for anomaly detection with an AutoencoderTransformer
inside: `decision_function` (higher = more anomalous), `predict` (0 normal / 1 anomaly),
`predict_proba`, `threshold_`, `decision_scores_`, `labels_`, per-feature errors.
"""
import numbers
import re
import sys

import numpy as np

from ._base import ParamsBase
from ._model import NativeModel, spec_defaults


class NotFittedError(ValueError, AttributeError):
    """Raised when a method needs a fitted estimator (scikit-learn's NotFittedError has the same bases)."""


_sklearn_compatible_not_fitted = None


def _raise_not_fitted(estimator):
    """Raises NotFittedError; when scikit-learn is loaded, one that is also scikit-learn's, so
    both `except aefeatures.NotFittedError` and scikit-learn's checks recognise it."""
    global _sklearn_compatible_not_fitted
    error_class = NotFittedError
    exceptions = sys.modules.get("sklearn.exceptions")
    if exceptions is not None:
        if _sklearn_compatible_not_fitted is None:
            _sklearn_compatible_not_fitted = type("NotFittedError", (NotFittedError, exceptions.NotFittedError),
                                                  {"__module__": __name__})
        error_class = _sklearn_compatible_not_fitted
    raise error_class(f"This {type(estimator).__name__} instance is not fitted yet. Call 'fit' first.")


# -- input handling ---------------------------------------------------------------------------

def _as_float32_rows(X, n_features=None, name="X", estimator=None):
    """Any array-like -> C-contiguous float32 [n, d], with clear errors; one copy at most."""
    if type(X).__module__.startswith("scipy.sparse"):
        raise TypeError(f"{name} is a sparse matrix; aefeatures needs dense data (call X.toarray())")
    array = np.asarray(X)
    if np.iscomplexobj(array):
        raise ValueError("Complex data not supported")
    if array.dtype == object or array.dtype.kind in "USV":
        try:
            array = array.astype(np.float64)
        except (TypeError, ValueError) as error:
            raise type(error)(f"{name} must hold numbers: {error}") from None
    if array.ndim == 1:
        raise ValueError(f"Expected 2D array, got 1D array instead: {name} has shape {array.shape}. Reshape your "
                         "data with X.reshape(-1, 1) for one feature or X.reshape(1, -1) for one sample.")
    if array.ndim > 2:
        array = array.reshape(array.shape[0], -1)
    if array.ndim != 2:
        raise ValueError(f"Expected 2D array, got {array.ndim}D array instead")
    if array.shape[0] < 1:
        raise ValueError(f"Found array with 0 sample(s) (shape={array.shape}) while a minimum of 1 is required.")
    if array.shape[1] < 1:
        raise ValueError(f"Found array with 0 feature(s) (shape={array.shape}) while a minimum of 1 is required.")
    if n_features is not None and array.shape[1] != n_features:
        raise ValueError(f"X has {array.shape[1]} features, but {type(estimator).__name__} is expecting "
                         f"{n_features} features as input.")
    with np.errstate(over="ignore", invalid="ignore"):  # overflow is reported just below
        rows = np.ascontiguousarray(array, dtype=np.float32)
    if not np.isfinite(rows).all():
        kind = "NaN" if np.isnan(rows).any() else "infinity"
        where = np.argwhere(~np.isfinite(rows))[0]
        raise ValueError(f"Input {name} contains {kind} (first at row {where[0]}, column {where[1]}); "
                         "also values too large for float32 become infinity.")
    return rows


def _output_dtype(X):
    """float32 in gives float32 out; everything else float64 (computed in float32 inside)."""
    return np.float32 if getattr(X, "dtype", None) == np.float32 else np.float64


def _resolve_seed(random_state):
    """scikit-learn's random_state convention, resolved at fit: None draws from numpy's global
    RandomState (reading it, never seeding it); an int is the seed; a RandomState or Generator
    gives one draw."""
    if random_state is None:
        return int(np.random.randint(0, 2**31 - 1))
    if isinstance(random_state, numbers.Integral) and not isinstance(random_state, bool):
        if random_state < 0:
            raise ValueError(f"random_state must be non-negative, got {random_state}")
        return int(random_state)
    if isinstance(random_state, np.random.RandomState):
        return int(random_state.randint(0, 2**31 - 1))
    if isinstance(random_state, np.random.Generator):
        return int(random_state.integers(0, 2**31 - 1))
    raise ValueError(f"random_state must be None, an int, a RandomState or a Generator, got {random_state!r}")


class _Progress:
    """The fit callback: a progress bar (tqdm when installed, else a text line) when verbose,
    and Ctrl-C turned into a clean cancel that fit re-raises as KeyboardInterrupt."""

    def __init__(self, verbose):
        self.verbose = verbose
        self.interrupted = False
        self.bar = None

    def __call__(self, epoch, epochs, loss, validation_loss):
        try:
            if self.verbose:
                self._show(epoch, epochs, loss, validation_loss)
            return False
        except KeyboardInterrupt:
            self.interrupted = True
            return True

    def _show(self, epoch, epochs, loss, validation_loss):
        text = f"loss {loss:.5f}" + ("" if np.isnan(validation_loss) else f", validation {validation_loss:.5f}")
        if self.bar is None:
            try:
                from tqdm import tqdm
                self.bar = tqdm(total=epochs, unit="epoch")
            except ImportError:
                self.bar = False
        if self.bar:
            self.bar.set_postfix_str(text)
            self.bar.update(1)
        else:
            print(f"epoch {epoch}/{epochs}: {text}", file=sys.stderr, flush=True)

    def close(self):
        if self.bar:
            self.bar.close()


# -- the transformer ----------------------------------------------------------------------------

# The spec fields the transformer's parameters build, by path, and the parameter that builds each
# (a path covers everything under it). `spec=` holds the others.
_PARAMETER_OF_FIELD = {
    ("variant",): "variant", ("input_shape",): "input_shape", ("hidden_units",): "hidden_units",
    ("code_size",): "code_size", ("activation",): "activation", ("code_activation",): "code_activation",
    ("output_activation",): "output_activation", ("batch_norm",): "batch_norm", ("dropout",): "dropout",
    ("input_dropout",): "input_dropout", ("loss",): "loss", ("scaling",): "scaling", ("tied_weights",): "tied_weights",
    ("contamination",): "contamination", ("seed",): "random_state", ("score",): "anomaly_score",
    ("conv_blocks",): "conv_blocks", ("conv_decoder",): "conv_decoder",
    ("contractive_weight",): "contractive_weight",
    ("noise", "type"): "noise", ("noise", "level"): "noise_level",
    ("sparsity", "type"): "sparsity", ("sparsity", "target"): "sparsity_target",
    ("sparsity", "weight"): "sparsity_weight",
    ("variational", "beta"): "beta", ("variational", "warmup_epochs"): "kl_warmup_epochs",
    ("training", "optimizer"): "optimizer", ("training", "learning_rate"): "learning_rate",
    ("training", "learning_rate_schedule"): "learning_rate_schedule", ("training", "epochs"): "epochs",
    ("training", "batch_size"): "batch_size", ("training", "validation_split"): "validation_split",
    ("training", "early_stopping", "patience"): "early_stopping_patience", ("training", "clip_norm"): "clip_norm",
}


def _parameter_of(path):
    """The transformer parameter that builds spec field `path` (a tuple of keys), or None."""
    for length in range(len(path), 0, -1):
        if path[:length] in _PARAMETER_OF_FIELD:
            return _PARAMETER_OF_FIELD[path[:length]]
    return None


def _leaves(tree, path=()):
    """(path, value) of every leaf of a nested dict (lists are leaves)."""
    for key, value in tree.items():
        if isinstance(value, dict) and value:
            yield from _leaves(value, path + (key,))
        else:
            yield path + (key,), value


def _spec_path(path):
    return "spec" + "".join(f"[{key!r}]" for key in path)


class AutoencoderTransformer(ParamsBase):
    """Learned features from an autoencoder, as a scikit-learn transformer.

    Every parameter maps onto a field of the model spec (docs/spec.md); None leaves the
    library's default. `variant` is one of "dense", "denoising", "sparse", "contractive",
    "conv1d", "conv2d", "seq2seq", "convlstm". Convolutional variants take `conv_blocks` (a list
    of dicts as in the spec; for "convlstm" one ConvLSTM each, filters and kernel only) and
    `input_shape` (e.g. (28, 28, 1), or (steps, height, width, channels) for "convlstm"; rows of
    X are samples flattened row-major);
    `hidden_units` is not used for them and `code_size=None` makes the last feature map the code;
    `conv_decoder` is "upsample", "transpose" or "unpool" (max unpooling with the encoder pools'
    switches: such a model reconstructs and scores but cannot decode codes alone).
    variant="variational" (or setting `beta` / `kl_warmup_epochs` on another variant with a
    code_size) makes the code variational: features are mu, scores the negative ELBO per value,
    and `sample` draws new data. variant="adversarial" adds a discriminator that pushes the
    codes towards a gaussian prior (`spec={"adversarial": {...}}` sets the others); it samples too.
    `tied_weights=True` (dense family) makes each decoder layer use the weights of the encoder
    layer that mirrors it, transposed: half the weights, the classic regulariser.
    `batch_norm` is False, True (after each hidden layer) or "before" (before every Dense and
    convolution, the reference study's layout); `input_dropout` drops input units in training;
    `noise` is "gaussian", "uniform" (the study's level * U(0, 1)), "masking", "salt_and_pepper" or
    "poisson" (counts: Poisson(level * x) / level, level = counts per unit, higher is cleaner);
    `learning_rate_schedule` is "plateau", "step", "cosine" or a dict of the spec's
    `training.learning_rate_schedule` (e.g. {"type": "plateau", "factor": 0.1, "patience": 20}).
    `anomaly_score` is the score the model computes (the spec's `score`): "reconstruction" (mean
    per-value error), "standardized" (each value's error divided by its mean on the training
    rows) or "combined" (the standardized score plus the code's distances from the training
    codes; see AutoencoderDetector). Not named `score`: scikit-learn reserves that name for a method.
    `spec` is a dict of the spec's other fields (docs/spec.md), those no parameter builds, e.g.
    {"decoder_units": [64], "training": {"momentum": 0.5}, "adversarial": {"prior": "uniform"}};
    a field that a parameter builds is an error naming that parameter. `from_spec` turns a whole
    spec into parameters plus `spec`; `load` and `get_params` of a loaded model give the same.
    Errors in a spec name the parameter (or the `spec` entry) that set the bad value.
    Data is used in float32; float32 input gives float32 output, anything else float64.

    Fitted attributes: `n_features_in_`, `history_` (per-epoch losses), `model_` (NativeModel).
    """

    def __init__(self, variant="dense", hidden_units=(256,), code_size=32, activation="elu",
                 code_activation=None, output_activation=None, batch_norm=False, dropout=0.0,
                 input_dropout=0.0, loss="mse", scaling="minmax", noise=None, noise_level=None, sparsity=None,
                 sparsity_target=None, sparsity_weight=None, contractive_weight=None, optimizer="adam",
                 learning_rate=1e-3, learning_rate_schedule=None, epochs=10, batch_size=256, validation_split=0.0,
                 early_stopping_patience=None, clip_norm=None, contamination=0.1, input_shape=None,
                 conv_blocks=None, conv_decoder="upsample", beta=None, kl_warmup_epochs=None,
                 anomaly_score="reconstruction", tied_weights=False, spec=None, random_state=None, verbose=False):
        self.variant = variant
        self.hidden_units = hidden_units
        self.code_size = code_size
        self.activation = activation
        self.code_activation = code_activation
        self.output_activation = output_activation
        self.batch_norm = batch_norm
        self.dropout = dropout
        self.input_dropout = input_dropout
        self.loss = loss
        self.scaling = scaling
        self.noise = noise
        self.noise_level = noise_level
        self.sparsity = sparsity
        self.sparsity_target = sparsity_target
        self.sparsity_weight = sparsity_weight
        self.contractive_weight = contractive_weight
        self.optimizer = optimizer
        self.learning_rate = learning_rate
        self.learning_rate_schedule = learning_rate_schedule
        self.epochs = epochs
        self.batch_size = batch_size
        self.validation_split = validation_split
        self.early_stopping_patience = early_stopping_patience
        self.clip_norm = clip_norm
        self.contamination = contamination
        self.input_shape = input_shape
        self.conv_blocks = conv_blocks
        self.conv_decoder = conv_decoder
        self.beta = beta
        self.kl_warmup_epochs = kl_warmup_epochs
        self.anomaly_score = anomaly_score
        self.tied_weights = tied_weights
        self.spec = spec
        self.random_state = random_state
        self.verbose = verbose

    def _spec(self, n_features, seed):
        """The model spec these parameters describe."""
        shape = [int(n_features)] if self.input_shape is None else [int(d) for d in self.input_shape]
        if int(np.prod(shape)) != n_features:
            raise ValueError(f"input_shape {tuple(shape)} holds {int(np.prod(shape))} values but X has {n_features} features")
        spec = {
            "variant": self.variant, "input_shape": shape,
            "activation": self.activation,
            "batch_norm": self.batch_norm if isinstance(self.batch_norm, str) else bool(self.batch_norm),
            "dropout": float(self.dropout), "loss": self.loss,
            "scaling": self.scaling, "contamination": float(self.contamination), "seed": seed,
            "training": {"optimizer": self.optimizer, "learning_rate": float(self.learning_rate),
                         "epochs": int(self.epochs), "batch_size": int(self.batch_size),
                         "validation_split": float(self.validation_split)},
        }
        if self.conv_blocks is not None:
            spec.update(conv_blocks=[dict(block) for block in self.conv_blocks], conv_decoder=self.conv_decoder)
        else:
            spec["hidden_units"] = [int(u) for u in self.hidden_units]
        if self.code_size is not None:
            spec["code_size"] = int(self.code_size)
        for name in ("code_activation", "output_activation"):
            if getattr(self, name) is not None:
                spec[name] = getattr(self, name)
        if self.noise is not None:
            spec["noise"] = {"type": self.noise, **({} if self.noise_level is None else {"level": float(self.noise_level)})}
        if self.sparsity is not None:
            spec["sparsity"] = {"type": self.sparsity,
                                **({} if self.sparsity_target is None else {"target": float(self.sparsity_target)}),
                                **({} if self.sparsity_weight is None else {"weight": float(self.sparsity_weight)})}
        if self.beta is not None or self.kl_warmup_epochs is not None:
            spec["variational"] = {**({} if self.beta is None else {"beta": float(self.beta)}),
                                   **({} if self.kl_warmup_epochs is None else {"warmup_epochs": int(self.kl_warmup_epochs)})}
        if self.contractive_weight is not None:
            spec["contractive_weight"] = float(self.contractive_weight)
        if self.early_stopping_patience is not None:
            spec["training"]["early_stopping"] = {"patience": int(self.early_stopping_patience)}
        if self.clip_norm is not None:
            spec["training"]["clip_norm"] = float(self.clip_norm)
        if self.input_dropout:
            spec["input_dropout"] = float(self.input_dropout)
        if self.anomaly_score != "reconstruction":
            spec["score"] = self.anomaly_score
        if self.tied_weights:
            spec["tied_weights"] = True
        if self.learning_rate_schedule is not None:
            schedule = self.learning_rate_schedule
            spec["training"]["learning_rate_schedule"] = {"type": schedule} if isinstance(schedule, str) else dict(schedule)
        if self.spec is not None:
            if not isinstance(self.spec, dict):
                raise ValueError(f"spec must be a dict of spec fields, got {type(self.spec).__name__}")
            for path, value in _leaves(self.spec):
                parameter = _parameter_of(path)
                if parameter is not None:
                    raise ValueError(f"{_spec_path(path)} is built by the parameter {parameter!r}; set {parameter}= instead")
                section = spec
                for key in path[:-1]:
                    section = section.setdefault(key, {})
                if isinstance(value, dict):  # an empty section, e.g. "variational": {} turns it on
                    section.setdefault(path[-1], {})
                else:
                    section[path[-1]] = value
        return spec

    def _create(self, spec):
        """The native model of `spec`; a spec error names the parameter or spec entry that set the field."""
        try:
            return NativeModel.create(spec)
        except ValueError as error:
            field = re.search(r"field '([^']+)'", str(error))
            if field is None:
                raise
            path = tuple(field.group(1).split("."))
            parameter = _parameter_of(path)
            if parameter is not None:
                where = f"{parameter}={getattr(self, parameter)!r}"
            elif self.spec is not None and _parameter_of(path[:1]) is None:
                where = _spec_path(path)
            else:
                raise
            raise ValueError(f"{where}: {error}") from None

    @classmethod
    def from_spec(cls, spec, **params):
        """An estimator for a whole spec (dict or JSON text, as docs/spec.md describes it):
        completed with the library's defaults (`spec_defaults`), the fields parameters build
        become those parameters, the rest go to `spec`. `params` override (e.g. verbose=True).
        A bad spec raises ValueError naming the field."""
        return cls(**{**cls._parameters_of(spec_defaults(spec)), **params})

    def fit(self, X, y=None, validation_data=None):
        """Fits on X (n_samples x n_features; raw units). `validation_data`, if given, is used
        for the validation loss and early stopping instead of `validation_split`. Returns self."""
        rows = _as_float32_rows(X)
        held = None if validation_data is None else _as_float32_rows(validation_data, rows.shape[1], "validation_data", self)
        model = self._create(self._spec(rows.shape[1], _resolve_seed(self.random_state)))
        progress = _Progress(self.verbose)
        try:
            model.fit(rows, held, progress=progress)
        finally:
            progress.close()
        if progress.interrupted:
            raise KeyboardInterrupt("training cancelled; the estimator is left unfitted")
        self.model_ = model
        self.n_features_in_ = rows.shape[1]
        self.history_ = model.history
        if hasattr(X, "columns"):
            self.feature_names_in_ = np.asarray([str(c) for c in X.columns], dtype=object)
        return self

    def partial_fit(self, X, y=None):
        """One pass over the rows of X (y is ignored), continuing the training of earlier
        partial_fit calls (weights, Adam's moments, shuffling and noise streams, schedule): for
        data larger than memory, call it once per chunk and repeat the chunks for more epochs
        (`epochs` is not used here; each call is one). The first call creates the model from the
        parameters (random_state seeds it) and fits the input scaling on its rows, which later
        calls keep, so the first chunk should span the data's range. Each call refits the
        anomaly score's statistics and threshold on its own rows. After `fit` the weights carry
        on with a fresh optimizer state. Changing a parameter between calls is an error; `fit`
        starts over. Returns self."""
        rows = _as_float32_rows(X, getattr(self, "n_features_in_", None), estimator=self)
        if not hasattr(self, "model_"):
            self.model_ = self._create(self._spec(rows.shape[1], _resolve_seed(self.random_state)))
            self.n_features_in_ = rows.shape[1]
            if hasattr(X, "columns"):
                self.feature_names_in_ = np.asarray([str(c) for c in X.columns], dtype=object)
        else:
            if spec_defaults(self._spec(rows.shape[1], self.model_.spec["seed"])) != self.model_.spec:
                raise ValueError("the parameters changed since the model was created; "
                                 "call fit to start over with them")
        self.model_.partial_fit(rows)
        self.history_ = self.model_.history
        return self

    def _check_fitted(self):
        if not hasattr(self, "model_") or not self.model_.is_fitted:
            _raise_not_fitted(self)

    def __sklearn_is_fitted__(self):
        return hasattr(self, "model_") and self.model_.is_fitted

    def _rows(self, X):
        self._check_fitted()
        return _as_float32_rows(X, self.n_features_in_, estimator=self)

    def transform(self, X):
        """The code of each row: n_samples x code_size (a DataFrame after set_output(transform="pandas"))."""
        rows = self._rows(X)
        return self._wrap(self.model_.transform(rows).astype(_output_dtype(X), copy=False), X)

    def fit_transform(self, X, y=None, **fit_params):
        return self.fit(X, y, **fit_params).transform(X)

    def set_output(self, *, transform=None):
        """What transform and fit_transform return, as scikit-learn's set_output: "pandas" (a
        DataFrame with get_feature_names_out() as columns, keeping the input DataFrame's index),
        "default" (a numpy array) or None (unchanged). pandas is imported only when used. The
        setting survives clone, pickling and Pipeline.set_output. Returns self."""
        if transform is None:
            return self
        if transform not in ("default", "pandas"):
            raise ValueError(f"transform must be 'default', 'pandas' or None, got {transform!r}")
        self._sklearn_output_config = {"transform": transform}
        return self

    def _wrap(self, features, X):
        if getattr(self, "_sklearn_output_config", {}).get("transform", "default") != "pandas":
            return features
        import pandas
        index = X.index if isinstance(X, pandas.DataFrame) else None
        return pandas.DataFrame(features, columns=self.get_feature_names_out(), index=index)

    def score(self, X, y=None):
        """Minus the mean anomaly score of the rows of X (by default the mean per-value
        reconstruction error in scaled units; the negative ELBO per value for variational
        models): higher is better, as scikit-learn's model selection (GridSearchCV without
        `scoring`) and dask-ml's Incremental expect. Compare models only with the
        "reconstruction" score: "standardized" and "combined" are scaled by each model's own
        training errors. y is ignored."""
        return -float(np.mean(self.model_.score(self._rows(X)), dtype=np.float64))

    def inverse_transform(self, X):
        """Decodes codes (n_samples x code_size) to the input space, in raw units."""
        self._check_fitted()
        codes = _as_float32_rows(X, self.model_.code_size, estimator=self)
        return self.model_.decode(codes).astype(_output_dtype(X), copy=False)

    def reconstruct(self, X):
        """The autoencoder's reconstruction of each row, in raw units."""
        rows = self._rows(X)
        return self.model_.reconstruct(rows).astype(_output_dtype(X), copy=False)

    def sample(self, n_samples, random_state=None):
        """n_samples draws from the prior through the decoder, in raw units (variational and
        adversarial models). `random_state` as in fit."""
        self._check_fitted()
        return self.model_.sample(int(n_samples), _resolve_seed(random_state)).astype(np.float64)

    def latent_distribution(self, X):
        """(mean, log-variance) of q(z|x) per row for variational models; the mean is `transform(X)`."""
        rows = self._rows(X)
        mean, log_variance = self.model_.latent_distribution(rows)
        dtype = _output_dtype(X)
        return mean.astype(dtype, copy=False), log_variance.astype(dtype, copy=False)

    def get_feature_names_out(self, input_features=None):
        """Names of the code's features: "autoencodertransformer0", ... (scikit-learn's
        convention for features that are not input columns). `input_features`, when given, is
        checked as scikit-learn checks it: one name per input feature, the fitted column names
        when fit saw a DataFrame."""
        self._check_fitted()
        if input_features is not None:
            names = np.asarray(input_features, dtype=object)
            if names.ndim != 1 or len(names) != self.n_features_in_:
                raise ValueError(f"input_features should have length equal to number of features "
                                 f"({self.n_features_in_}), got {names.size}")
            known = getattr(self, "feature_names_in_", None)
            if known is not None and not np.array_equal(names, known):
                raise ValueError("input_features is not equal to feature_names_in_")
        prefix = type(self).__name__.lower()
        return np.asarray([f"{prefix}{i}" for i in range(self.model_.code_size)], dtype=object)

    def save(self, path):
        """Writes the fitted model to `path` atomically (the library's model file format)."""
        self._check_fitted()
        self.model_.save(path)

    def export_onnx(self, path=None, graph="encoder"):
        """The fitted model as ONNX: graph "encoder" (input → features, what transform returns),
        "autoencoder" (input → reconstruction), "scorer" (input → anomaly score), each taking
        raw float32 rows named "input" [N, n_features_in_], or "decoder" (codes [N, code_size]
        → reconstruction, what inverse_transform returns). Written to `path`, or returned as
        bytes when path is None."""
        self._check_fitted()
        return self.model_.export_onnx(graph, path)

    @classmethod
    def load(cls, path):
        """An estimator around a model saved by `save` (or by any other binding of the library)."""
        return cls._from_model(NativeModel.load(path))

    @classmethod
    def _from_model(cls, model):
        estimator = cls(**cls._parameters_of(model.spec))
        if model.is_fitted:
            estimator.model_ = model
            estimator.n_features_in_ = model.sample_size
            estimator.history_ = model.history
        return estimator

    @staticmethod
    def _parameters_of(spec):
        """The parameters (and `spec` of the remaining fields) that build `spec`."""
        training = spec.get("training", {})
        params = dict(
            variant=spec.get("variant", "dense"), hidden_units=tuple(spec.get("hidden_units", ())),
            code_size=spec.get("code_size"), input_shape=tuple(spec["input_shape"]),
            conv_blocks=spec.get("conv_blocks") or None, conv_decoder=spec.get("conv_decoder", "upsample"),
            activation=spec.get("activation", "elu"), code_activation=spec.get("code_activation"),
            output_activation=spec.get("output_activation"), batch_norm=spec.get("batch_norm", False),
            dropout=spec.get("dropout", 0.0), loss=spec.get("loss", "mse"), scaling=spec.get("scaling", "minmax"),
            contamination=spec.get("contamination", 0.1), random_state=spec.get("seed"),
            optimizer=training.get("optimizer", "adam"), learning_rate=training.get("learning_rate", 1e-3),
            epochs=training.get("epochs", 10), batch_size=training.get("batch_size", 256),
            validation_split=training.get("validation_split", 0.0), clip_norm=training.get("clip_norm"),
            early_stopping_patience=training.get("early_stopping", {}).get("patience"),
            contractive_weight=spec.get("contractive_weight"), input_dropout=spec.get("input_dropout", 0.0),
            learning_rate_schedule=training.get("learning_rate_schedule"), anomaly_score=spec.get("score", "reconstruction"),
            tied_weights=bool(spec.get("tied_weights", False)))
        variational, noise, sparsity = spec.get("variational", {}), spec.get("noise", {}), spec.get("sparsity", {})
        params.update(beta=variational.get("beta"), kl_warmup_epochs=variational.get("warmup_epochs"),
                      noise=noise.get("type"), noise_level=noise.get("level"), sparsity=sparsity.get("type"),
                      sparsity_target=sparsity.get("target"), sparsity_weight=sparsity.get("weight"))
        rest = {}
        for path, value in _leaves(spec):
            if _parameter_of(path) is None:
                section = rest
                for key in path[:-1]:
                    section = section.setdefault(key, {})
                section[path[-1]] = value
        params["spec"] = rest or None
        return params

    def __getstate__(self):
        state = dict(self.__dict__)
        if "model_" in state:
            state["model_"] = state["model_"].to_bytes()
        return state

    def __setstate__(self, state):
        if "model_" in state:
            state["model_"] = NativeModel.from_bytes(state["model_"])
        self.__dict__.update(state)

    def __sklearn_tags__(self):
        return self._base_tags(transformer=True)


# -- the detector -------------------------------------------------------------------------------

class AutoencoderDetector(ParamsBase):
    """Anomaly detection by reconstruction error, with PyOD's conventions.

    Parameters
    ----------
    autoencoder : AutoencoderTransformer or None
        The model to fit (its parameters are reachable as `autoencoder__name` in grid searches);
        None uses AutoencoderTransformer's defaults.
    contamination : float in (0, 0.5)
        Expected anomaly fraction; with threshold="contamination" the threshold is the
        (1 - contamination) quantile of the training scores.
    threshold : "contamination" or "mad"
        "mad": median + mad_k robust standard deviations (1.4826 · MAD) of the training scores,
        for when the contamination is unknown. `calibrate_threshold` sets one from held-out
        normal data and a target false-positive rate instead.
    batch_size : int
        Rows scored per call into the library, so scoring never converts all rows at once.
    anomaly_score : "combined", "standardized", "reconstruction" or None
        The score, as the spec's `score`. "reconstruction": the row's mean reconstruction error.
        "standardized": each value's error divided by its mean on the training rows, then
        averaged. "combined": three terms, each divided by three times its mean on the training
        rows and summed (the training rows average 1): the standardized score, the Mahalanobis
        distance of the row's code from the training codes, and its mean squared distance to
        the 2nd-6th nearest training codes (the nearest is skipped, so training rows, each its
        own nearest, score like new ones). The model keeps up to 10,000 training codes for the last term.
        None keeps the autoencoder's `anomaly_score`. The default won on a validation split of
        Fashion-MNIST's training images (bench/anomaly_scores.py) and is measured against
        IsolationForest, PCA and LocalOutlierFactor on the test images by bench/anomaly.py
        (README). The library computes it, so the C API, the saved model and the ONNX scorer
        give the same numbers.
    random_state : None, int, RandomState or Generator
        When not None, overrides the autoencoder's random_state.

    Persist a fitted detector with pickle (its model travels as the library's model bytes).

    Fitted attributes: `decision_scores_`, `threshold_`, `labels_`, `autoencoder_`, `n_features_in_`.
    """

    def __init__(self, autoencoder=None, contamination=0.1, threshold="contamination", mad_k=3.0,
                 batch_size=65536, anomaly_score="combined", random_state=None):
        self.autoencoder = autoencoder
        self.anomaly_score = anomaly_score
        self.random_state = random_state
        self.contamination = contamination
        self.threshold = threshold
        self.mad_k = mad_k
        self.batch_size = batch_size

    def fit(self, X, y=None):
        """Fits the autoencoder on X (unsupervised; y is ignored) and sets the threshold."""
        self.autoencoder_ = self._new_autoencoder()
        self.autoencoder_.fit(X)
        return self._set_threshold(X)

    def partial_fit(self, X, y=None):
        """One pass over the rows of X, continuing earlier partial_fit calls
        (AutoencoderTransformer.partial_fit: the first call creates the model and fits the
        scaling on its rows). decision_scores_, threshold_ and labels_ then describe this call's
        rows: the threshold follows the latest chunk (calibrate_threshold sets one from held-out
        normal rows instead). Returns self."""
        if not hasattr(self, "autoencoder_"):
            self.autoencoder_ = self._new_autoencoder()
        self.autoencoder_.partial_fit(X)
        return self._set_threshold(X)

    def _new_autoencoder(self):
        if not 0 < self.contamination < 0.5:
            raise ValueError(f"contamination must be in (0, 0.5), got {self.contamination}")
        if self.threshold not in ("contamination", "mad"):
            raise ValueError(f"threshold must be 'contamination' or 'mad', got {self.threshold!r}")
        base = self.autoencoder if self.autoencoder is not None else AutoencoderTransformer()
        params = {**base.get_params(deep=False), "contamination": self.contamination}
        if self.random_state is not None:
            params["random_state"] = self.random_state
        if self.anomaly_score is not None:
            params["anomaly_score"] = self.anomaly_score
        return type(base)(**params)

    def _set_threshold(self, X):
        """threshold_ and labels_ from the scores of the rows just fitted."""
        self.n_features_in_ = self.autoencoder_.n_features_in_
        self.decision_scores_ = self._scores(X)
        if self.threshold == "contamination":
            self.threshold_ = float(np.quantile(self.decision_scores_, 1 - self.contamination))
        else:
            median = np.median(self.decision_scores_)
            mad = np.median(np.abs(self.decision_scores_ - median))
            self.threshold_ = float(median + self.mad_k * 1.4826 * mad)
        self.labels_ = (self.decision_scores_ > self.threshold_).astype(int)
        return self

    def __sklearn_is_fitted__(self):
        return hasattr(self, "threshold_")

    def _check_fitted(self):
        if not hasattr(self, "threshold_"):
            _raise_not_fitted(self)

    def decision_function(self, X):
        """Anomaly score per row, as `anomaly_score` defines it (the mean reconstruction error in
        scaled units; each value's error divided by its training mean first with "standardized";
        weighted terms summed with "combined", averaging 1 on the training rows); higher is more
        anomalous. Converts and scores `batch_size` rows at a time."""
        self._check_fitted()
        return self._scores(X)

    def _scores(self, X):
        if not isinstance(X, np.ndarray) or X.ndim != 2 or X.shape[0] == 0:
            # Array-likes and malformed input: one conversion, with the standard errors.
            X = _as_float32_rows(X, self.n_features_in_, estimator=self)
        step = int(self.batch_size)
        scores = np.empty(X.shape[0], dtype=np.float64)
        for start in range(0, X.shape[0], step):
            chunk = _as_float32_rows(X[start:start + step], self.n_features_in_, estimator=self)
            scores[start:start + chunk.shape[0]] = self.autoencoder_.model_.score(chunk)
        return scores

    def predict(self, X):
        """1 for anomalies (score above threshold_), 0 for normal rows."""
        self._check_fitted()
        return (self.decision_function(X) > self.threshold_).astype(int)

    def predict_proba(self, X):
        """[P(normal), P(anomaly)] per row by PyOD's "linear" method: the score min-max scaled by
        the training scores' range, clipped to [0, 1]."""
        self._check_fitted()
        low, high = self.decision_scores_.min(), self.decision_scores_.max()
        anomaly = np.clip((self.decision_function(X) - low) / max(high - low, 1e-12), 0, 1)
        return np.column_stack([1 - anomaly, anomaly])

    def feature_errors(self, X):
        """Per-feature reconstruction errors, to explain a score: the score is their row mean with
        anomaly_score="reconstruction", the row mean of each divided by its mean on the training
        rows with "standardized" (the first term of "combined")."""
        self._check_fitted()
        rows = self.autoencoder_._rows(X)
        return self.autoencoder_.model_.feature_errors(rows).astype(np.float64)

    def export_onnx(self, path=None):
        """The scorer as ONNX: input [N, n_features_in_] raw float32 rows → "score" [N], the
        same numbers as decision_function (compare them with threshold_). Written to `path`, or
        returned as bytes when path is None."""
        self._check_fitted()
        return self.autoencoder_.export_onnx(path, graph="scorer")

    def calibrate_threshold(self, X_normal, false_positive_rate=0.01):
        """Sets threshold_ so that normal rows like X_normal score above it with probability at
        most `false_positive_rate` (and at least that less 1 / (len(X_normal) + 1)): the k-th
        smallest of their scores, k = ceil((n + 1) * (1 - rate)) (split conformal calibration),
        computed by the library (as `aef_model_calibrate_threshold` and `aef calibrate`), so the
        model's own threshold, its saved file and the C API agree. X_normal must be held-out
        normal rows, not the training rows, at least 1 / rate - 1 of them (99 for 1%). Updates
        labels_. Returns self."""
        self._check_fitted()
        rows = _as_float32_rows(X_normal, self.n_features_in_, name="X_normal", estimator=self)
        self.threshold_ = self.autoencoder_.model_.calibrate_threshold(rows, false_positive_rate)
        self.labels_ = (self.decision_scores_ > self.threshold_).astype(int)
        return self

    def __sklearn_tags__(self):
        return self._base_tags(transformer=False)

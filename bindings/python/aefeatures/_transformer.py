"""AutoencoderTransformer: an autoencoder of any variant as a scikit-learn transformer."""
import re
import sys

import numpy as np

from ._base import ParamsBase
from ._model import NativeModel, spec_defaults
from ._spec_fields import parameter_of, parameters_of, spec_of, spec_path
from ._validation import _as_float32_rows, _output_dtype, _raise_not_fitted, _resolve_seed


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

    def _create(self, spec):
        """The native model of `spec`; a spec error names the parameter or spec entry that set the field."""
        try:
            return NativeModel.create(spec)
        except ValueError as error:
            field = re.search(r"field '([^']+)'", str(error))
            if field is None:
                raise
            path = tuple(field.group(1).split("."))
            parameter = parameter_of(path)
            if parameter is not None:
                where = f"{parameter}={getattr(self, parameter)!r}"
            elif self.spec is not None and parameter_of(path[:1]) is None:
                where = spec_path(path)
            else:
                raise
            raise ValueError(f"{where}: {error}") from None

    @classmethod
    def from_spec(cls, spec, **params):
        """An estimator for a whole spec (dict or JSON text, as docs/spec.md describes it):
        completed with the library's defaults (`spec_defaults`), the fields parameters build
        become those parameters, the rest go to `spec`. `params` override (e.g. verbose=True).
        A bad spec raises ValueError naming the field."""
        return cls(**{**parameters_of(spec_defaults(spec)), **params})

    def fit(self, X, y=None, validation_data=None):
        """Fits on X (n_samples x n_features; raw units). `validation_data`, if given, is used
        for the validation loss and early stopping instead of `validation_split`. Returns self."""
        rows = _as_float32_rows(X)
        held = None if validation_data is None else _as_float32_rows(validation_data, rows.shape[1], "validation_data", self)
        model = self._create(spec_of(self, rows.shape[1], _resolve_seed(self.random_state)))
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
            self.model_ = self._create(spec_of(self, rows.shape[1], _resolve_seed(self.random_state)))
            self.n_features_in_ = rows.shape[1]
            if hasattr(X, "columns"):
                self.feature_names_in_ = np.asarray([str(c) for c in X.columns], dtype=object)
        else:
            if spec_defaults(spec_of(self, rows.shape[1], self.model_.spec["seed"])) != self.model_.spec:
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
        estimator = cls(**parameters_of(model.spec))
        if model.is_fitted:
            estimator.model_ = model
            estimator.n_features_in_ = model.sample_size
            estimator.history_ = model.history
        return estimator

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

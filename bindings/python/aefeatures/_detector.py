"""AutoencoderDetector: anomaly detection by reconstruction error, with PyOD's conventions."""
import numpy as np

from ._base import ParamsBase
from ._transformer import AutoencoderTransformer
from ._validation import _as_float32_rows, _raise_not_fitted


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

"""scikit-learn-compatible estimators over libaefeatures.

AutoencoderTransformer: fit an autoencoder of any variant, `transform` gives the learned
features (the code), `inverse_transform` decodes them, `reconstruct` round-trips the input.

AutoencoderDetector: PyOD's conventions for anomaly detection with an AutoencoderTransformer
inside: `decision_function` (higher = more anomalous), `predict` (0 normal / 1 anomaly),
`predict_proba`, `threshold_`, `decision_scores_`, `labels_`, per-feature errors.
"""
from ._detector import AutoencoderDetector
from ._transformer import AutoencoderTransformer
from ._validation import NotFittedError

__all__ = ["AutoencoderTransformer", "AutoencoderDetector", "NotFittedError"]

"""scikit-learn's own estimator checks, run on small, fast configurations."""
from sklearn.utils.estimator_checks import parametrize_with_checks

from aefeatures import AutoencoderDetector, AutoencoderTransformer

FAST = dict(hidden_units=(4,), code_size=2, epochs=2, batch_size=16)


@parametrize_with_checks([AutoencoderTransformer(**FAST), AutoencoderDetector(AutoencoderTransformer(**FAST))])
def test_sklearn_compatible(estimator, check):
    check(estimator)

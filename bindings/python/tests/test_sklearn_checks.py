"""scikit-learn's own estimator checks, run on small, fast configurations."""
from sklearn.utils.estimator_checks import parametrize_with_checks

from aefeatures import AutoencoderDetector, AutoencoderTransformer

FAST = dict(hidden_units=(4,), code_size=2, epochs=2, batch_size=16)


def batch_dependent_checks(estimator):
    """check_methods_subset_invariance demands agreement within 1e-7 between a subset's results
    and the full batch's. The header promises rows within 1e-5 of their scale whatever the batch
    (OpenBLAS rounds a row differently by the shape of the call and the row's position in it on
    some CPUs: Sandybridge, Haswell, Zen), which test_estimators.py's
    test_transform_is_row_independent checks instead. Non-strict: the check passes on CPUs whose
    kernels happen to agree."""
    return {"check_methods_subset_invariance": "rows agree within the header's batch bound (1e-5 of their scale), not 1e-7"}


@parametrize_with_checks([AutoencoderTransformer(**FAST), AutoencoderDetector(AutoencoderTransformer(**FAST))],
                         expected_failed_checks=batch_dependent_checks, xfail_strict=False)
def test_sklearn_compatible(estimator, check):
    check(estimator)

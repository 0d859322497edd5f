"""Input checks and conventions the estimators share with scikit-learn."""
import numbers
import sys

import numpy as np


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

"""The header's batch contract ("Batches." in include/aefeatures.h) for every variant: a row's
features, reconstruction and score computed in another batch (alone, in chunks of 7 in reverse
order, inside a larger batch) stay within the promised bound of the full batch's, and the same call
on the same rows gives the same bits."""
import numpy as np
import pytest

from conftest import VARIANTS, assert_equal_up_to_batch_rounding, fitted_variant


@pytest.mark.parametrize("name", sorted(VARIANTS))
def test_rows_agree_whatever_their_batch(name, fashion):
    model = fitted_variant(name, fashion)
    x = np.ascontiguousarray(fashion[2000:2210])
    for kind, compute in [("features", model.transform), ("reconstructions", model.reconstruct),
                          ("scores", model.score)]:
        full = compute(x)
        np.testing.assert_array_equal(compute(x), full)
        alone = np.concatenate([compute(x[i:i + 1]) for i in range(0, len(x), 10)])
        assert_equal_up_to_batch_rounding(alone, full[::10], kind)
        backwards = x[::-1].copy()
        chunks = np.concatenate([compute(backwards[i:i + 7]) for i in range(0, len(x), 7)])[::-1]
        assert_equal_up_to_batch_rounding(chunks, full, kind)
        inside = compute(np.ascontiguousarray(np.concatenate([fashion[:37], x, fashion[:5]])))[37:-5]
        assert_equal_up_to_batch_rounding(inside, full, kind)

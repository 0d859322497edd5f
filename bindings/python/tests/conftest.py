import numpy as np
import pytest


def structured(rows, width=12, seed=0, anomalies=0):
    """Rows near a 2-D manifold in `width` dimensions (raw units), the last `anomalies` rows off it."""
    rng = np.random.default_rng(seed)
    z = rng.uniform(-1, 1, size=(rows, 2))
    mixing = rng.normal(size=(2, width))
    x = 10 * np.tanh(z @ mixing) + 50 + 0.05 * rng.normal(size=(rows, width))
    if anomalies:
        x[-anomalies:] = rng.uniform(40, 60, size=(anomalies, width))
    return x


@pytest.fixture(scope="session")
def data():
    return structured(600)


@pytest.fixture(scope="session")
def small_params():
    return dict(hidden_units=(16,), code_size=3, epochs=40, batch_size=32, learning_rate=3e-3, random_state=0)

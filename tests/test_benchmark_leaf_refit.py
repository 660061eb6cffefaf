"""benchmarks/leaf_refit.py measures what it says: leaves set to the exact residual quantile."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from boostobj.losses import weighted_quantile

from conftest import load_benchmark

SCRIPT = Path(__file__).resolve().parent.parent / "benchmarks" / "leaf_refit.py"


@pytest.fixture(scope="module")
def refit():
    yield from load_benchmark(SCRIPT, "leaf_refit_bench")


@pytest.mark.parametrize("alpha", [0.05, 0.5])
def test_first_tree_leaves_are_the_scaled_residual_quantiles(refit, alpha):
    rng = np.random.default_rng(3)
    X = rng.uniform(0, 10, (400, 1))
    y = X[:, 0] * np.sin(X[:, 0]) + rng.lognormal(sigma=0.8, size=400)
    cfg = refit.quality.Config(rounds=3)
    # train() itself asserts that its kept margins equal the model's predictions
    booster, start = refit.train(X, y, alpha, 3, 0, True, cfg)
    leaf = booster.predict(X, start_iteration=0, num_iteration=1, pred_leaf=True).ravel()
    assert len(np.unique(leaf)) > 1
    for node in np.unique(leaf):
        rows = leaf == node
        expected = cfg.learning_rate * float(weighted_quantile(y[rows] - start, None, alpha))
        assert booster.get_leaf_output(0, int(node)) == pytest.approx(expected, rel=1e-9, abs=1e-12)
    plain, _ = refit.train(X, y, alpha, 3, 0, False, cfg)
    assert not np.allclose(plain.predict(X), booster.predict(X))  # the refit changed the model

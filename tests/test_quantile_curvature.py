"""Quantile curvature per round: ``min_child_weight`` / ``lambda`` mean about one row.

The MM curvature of a row grows as its residual shrinks (up to 1/(2 guard),
20 x the start-residual curvature at alpha 0.05), so with a fixed
normalisation the mean curvature per row drifts up as the fit improves:
measured on 200 diabetes rows, alpha 0.05, XGBoost depth 3: 3.0 per row at
the start, 10.4 after 200 rounds, i.e. ``min_child_weight=1`` meant a tenth
of a row. The framework paths now rescale grad and hess every round (per
output) to a weighted mean curvature of 1 per row; these tests fail on the
fixed normalisation.
"""

from __future__ import annotations

import lightgbm as lgb
import numpy as np
import pytest
import xgboost as xgb
from sklearn.datasets import load_diabetes

import boostobj

ALPHAS = (0.01, 0.05, 0.25, 0.5, 0.95, 0.99)


def _diabetes(n=200):
    X, y = load_diabetes(return_X_y=True)
    return X[:n], y[:n]


def _xgb_margins(obj, X, y, w, rounds):
    d = xgb.DMatrix(X, y, weight=w)
    k = obj.n_outputs()
    params = {"base_score": obj.init_score(y, w), "max_depth": 3, "nthread": 1,
              "disable_default_eval_metric": 1, **({"num_target": k} if k > 1 else {})}
    bst = xgb.train(params, d, rounds, obj=obj)
    return bst.predict(d, output_margin=True), d


def _mean_curvature(h, w):
    """Curvature per unit of weight (h already carries the weights): weights == repeated rows."""
    h = np.asarray(h, dtype=np.float64).reshape(h.shape[0], -1)
    return h.sum(axis=0) / (h.shape[0] if w is None else np.sum(w))


@pytest.mark.parametrize("weighted", [False, True])
@pytest.mark.parametrize("alpha", ALPHAS)
def test_xgboost_mean_curvature_per_row_is_one_every_round(alpha, weighted):
    X, y = _diabetes()
    w = np.random.default_rng(0).uniform(0.2, 3.0, len(y)) if weighted else None
    obj = boostobj.quantile(alpha)
    for rounds in (0, 60):
        m, d = _xgb_margins(obj, X, y, w, rounds)
        g, h = obj(m.astype(np.float32), d)
        np.testing.assert_allclose(_mean_curvature(h, w), 1.0, rtol=1e-5)
        # the Newton direction g / h is the loss's own (the common factor cancels)
        g0, h0 = obj.grad_hess(y, m.astype(np.float64), w)
        np.testing.assert_allclose(g / h, g0 / h0, rtol=1e-4, atol=1e-6 * np.ptp(y))


def test_multi_quantile_scales_each_output_and_lightgbm_sklearn_path():
    X, y = _diabetes()
    obj = boostobj.quantile([0.05, 0.5, 0.95])
    m, d = _xgb_margins(obj, X, y, None, 40)
    _, h = obj(m.astype(np.float32), d)
    np.testing.assert_allclose(_mean_curvature(h, None), np.ones(3), rtol=1e-5)
    # LightGBM's sklearn entry point (4 arguments) with weights
    w = np.random.default_rng(1).uniform(0.5, 2.0, len(y))
    single = boostobj.quantile(0.05)
    margin = np.full(len(y), single.init_score(y, w)) + np.random.default_rng(2).normal(0, 5, len(y))
    _, h = single(y, margin, w, None)
    np.testing.assert_allclose(_mean_curvature(h, w), 1.0, rtol=1e-5)


def test_lightgbm_trains_with_unit_mean_curvature():
    X, y = _diabetes()
    obj = boostobj.quantile(0.95)
    seen = []

    def recording(preds, data):
        g, h = obj(preds, data)
        seen.append(float(np.mean(h)))
        return g, h

    ds = lgb.Dataset(X, y, init_score=obj.init_score_array(y), params={"feature_pre_filter": False})
    lgb.train({"objective": recording, "num_leaves": 8, "verbose": -1, "num_threads": 1}, ds, 30)
    np.testing.assert_allclose(seen, 1.0, rtol=1e-5)


def test_min_child_weight_counts_rows_on_average():
    # min_child_weight = 30 with about one unit of curvature per row: no leaf of a
    # tail model holds far fewer than 30 rows (with the fixed normalisation leaves
    # of 3-4 rows passed it once the rows near the fit reached 10x the curvature)
    X, y = _diabetes(300)
    obj = boostobj.quantile(0.05)
    d = xgb.DMatrix(X, y)
    bst = xgb.train({"base_score": obj.init_score(y), "max_depth": 6, "min_child_weight": 30,
                     "nthread": 1, "disable_default_eval_metric": 1}, d, 100, obj=obj)
    leaves = bst.predict(d, pred_leaf=True)
    smallest = min(np.bincount(np.unique(col, return_inverse=True)[1]).min() for col in leaves.T)
    assert smallest >= 8, smallest

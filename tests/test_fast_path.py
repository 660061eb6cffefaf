"""The framework hot path (blocked, float32, reused buffers) equals the reference.

The reference is the loss's Array API kernel in float64 on the whole array,
times the weights and the dataset's normalisation factor, computed here
step by step. The hot path may differ from it only by float32 rounding: of
its output, of the float32 margin XGBoost hands it, and for LightGBM's
float64 margins the rounding ``Loss.float64_margin`` allows. Every loss in
``tests/cases.py`` is covered, so losses added later are too.
"""

from __future__ import annotations

import numpy as np
import pytest

import boostobj.objective as objective_module
from cases import ALL_CASES, labels_for, margin_shape


def _reference(obj, y, m64, w):
    state = obj._state_for_arrays(y, w, m64)
    t, wf = state.encoded(np, np.float64, True)
    m = m64[:, 0] if m64.ndim == 2 and m64.shape[1] == 1 else m64
    g, h = obj.base_loss.grad_curvature(np, t, m, state.scale)
    if wf is not None:
        g, h = g * wf, h * wf
    if obj.base_loss.normalize_per_round:  # the framework call's per-round factor: mean h of 1 per row
        k = (len(y) if w is None else np.sum(w)) / np.sum(h, axis=0)
        g, h = g * k, h * k
    return g.reshape(m64.shape), h.reshape(m64.shape)


@pytest.mark.parametrize("make, kind", ALL_CASES)
@pytest.mark.parametrize("margin_dtype", [np.float32, np.float64], ids=["xgboost-f32", "lightgbm-f64"])
@pytest.mark.parametrize("weighted", [False, True], ids=["unweighted", "weighted"])
def test_fast_path_matches_reference(make, kind, margin_dtype, weighted, monkeypatch):
    monkeypatch.setattr(objective_module, "_BLOCK_ROWS", 96)  # several blocks, a ragged last one
    rng = np.random.default_rng(7)
    n = 1000
    obj = make()
    y = labels_for(kind, n, rng).astype(np.float32).astype(np.float64)  # labels as the frameworks store them
    w = rng.uniform(0.1, 3.0, n) if weighted else None
    shape = margin_shape(obj, kind, n)
    m = rng.normal(size=shape) * (1.0 if kind == "regression" else 4.0)
    m.ravel()[:20] = [1e6, -1e6, 1e3, -1e3, 80.0, -80.0, 30.0, -30.0, 0.0, 1e-30] * 2  # extremes
    if kind == "regression":
        m = m + obj.init_score(y, w)
    m = m.astype(margin_dtype)
    g, h = (a.copy() for a in obj(y, m, w))  # the hot path reuses its output buffers
    assert g.dtype == h.dtype == np.float32 and g.shape == h.shape == shape
    assert np.isfinite(g).all() and np.isfinite(h).all() and (h > 0).all()
    ref_g, ref_h = _reference(obj, y, m.astype(np.float64), w)
    for fast, ref in ((g, ref_g), (h, ref_h)):
        atol = 1e-6 * float(np.max(np.abs(ref)))
        np.testing.assert_allclose(fast, ref, rtol=1e-4, atol=atol)
    # a second call reuses the buffers and gives the same values
    g2, h2 = obj(y, m, w)
    np.testing.assert_array_equal(g2, g)
    np.testing.assert_array_equal(h2, h)

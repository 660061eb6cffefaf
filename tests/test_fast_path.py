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

import boostobj
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


# Parameters the shared cases do not reach: each in-place kernel branch (integer
# gamma powers, gamma 1, eps 0, tiny and huge delta, extreme alphas).
KERNEL_CASES = {
    "log_cosh(eps=1e-9)": (lambda: boostobj.log_cosh(eps=1e-9), "regression"),
    "log_cosh(eps=3)": (lambda: boostobj.log_cosh(eps=3.0), "regression"),
    "huber(1e-3)": (lambda: boostobj.huber(1e-3), "regression"),
    "huber(1e30)": (lambda: boostobj.huber(1e30), "regression"),
    "quantile(0.01)": (lambda: boostobj.quantile(0.01), "regression"),
    "quantile(0.99)": (lambda: boostobj.quantile(0.99), "regression"),
    "exponential": (lambda: boostobj.exponential(), "binary"),
    "focal(1)": (lambda: boostobj.focal(1.0), "binary"),
    "focal(3,0.25)": (lambda: boostobj.focal(3.0, 0.25), "binary"),
    "focal(4)": (lambda: boostobj.focal(4.0), "binary"),
    "focal(2.5,0.9)": (lambda: boostobj.focal(2.5, 0.9), "binary"),
}


@pytest.mark.parametrize("case", list(KERNEL_CASES))
@pytest.mark.parametrize("margin_dtype", [np.float32, np.float64])
def test_numpy_kernel_matches_reference_kernel(case, margin_dtype):
    make, kind = KERNEL_CASES[case]
    loss = make().base_loss
    rng = np.random.default_rng(11)
    n = 4000
    extremes = np.array([1e6, -1e6, 1e3, -1e3, 88.0, -88.0, 30.0, -30.0, 0.0, 1e-30, -1e-30, 1e-8])
    if kind == "regression":
        t = rng.standard_t(2, n) * 10.0
        m = np.concatenate([t[:-len(extremes)] + rng.normal(size=n - len(extremes)) * 3.0, extremes])
        m[:50] = t[:50]  # exact fits: r == 0
        scale = np.asarray(2.5)
    else:
        t = np.where(rng.random(n) < 0.3, 1.0, -1.0)
        m = np.concatenate([rng.normal(size=n - len(extremes)) * 6.0, extremes])
        scale = np.ones(())
    m = m.astype(margin_dtype)
    residual = loss.float64_margin == "residual" and margin_dtype == np.float64
    t_in = t.astype(np.float64 if residual else np.float32)
    g, h = np.full(n, np.nan, np.float32), np.full(n, np.nan, np.float32)
    scratch = [np.full(n, np.nan, np.float32) for _ in range(6)]
    loss.numpy_kernel(t_in, m, scale, g, h, scratch)
    # the reference in float64, on what the fast path may round: the margin or the residual
    if residual:
        ref_g, ref_h = loss.grad_curvature(np, (t - m).astype(np.float32).astype(np.float64), np.zeros(n), scale)
    else:
        ref_g, ref_h = loss.grad_curvature(np, t.astype(np.float32).astype(np.float64),
                                           m.astype(np.float32).astype(np.float64), scale)
    assert np.isfinite(g).all() and np.isfinite(h).all() and (h > 0).all()
    for fast, ref in ((g, ref_g), (h, ref_h)):
        np.testing.assert_allclose(fast, ref, rtol=2e-5, atol=1e-30 + 1e-7 * float(np.max(np.abs(ref))))

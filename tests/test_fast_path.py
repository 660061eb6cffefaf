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
from boostobj import _compiled
from boostobj.objective import _reference_block
from cases import ALL_CASES, ALL_CASES_BY_NAME, labels_for, margin_shape


def _reference(obj, y, m64, w):
    state = obj._state_for_arrays(y, w, m64)
    t, wf = state.encoded(np, np.float64, True)
    m = m64[:, 0] if m64.ndim == 2 and m64.shape[1] == 1 else m64
    g, h = obj.base_loss.grad_curvature(np, t, m, state.scale)
    if wf is not None:
        with np.errstate(over="ignore"):  # a log link's exp(1e6) saturates: compared as such
            g, h = g * wf, h * wf
    if obj.base_loss.normalize_per_round:  # the framework call's per-round factor: mean h of 1 per row
        k = (len(y) if w is None else np.sum(w)) / np.sum(h, axis=0)
        g, h = g * k, h * k
    return g.reshape(m64.shape), h.reshape(m64.shape)


@pytest.mark.parametrize("make, kind", ALL_CASES)
@pytest.mark.parametrize("margin_dtype", [np.float32, np.float64], ids=["xgboost-f32", "lightgbm-f64"])
@pytest.mark.parametrize("weighted", [False, True], ids=["unweighted", "weighted"])
@pytest.mark.parametrize("compiled", [True, False], ids=["compiled", "numpy"])
def test_fast_path_matches_reference(make, kind, margin_dtype, weighted, compiled, monkeypatch):
    if compiled and not _compiled.ENABLED:
        pytest.skip("numba is not available (BOOSTOBJ_NUMBA=0)")
    monkeypatch.setattr(_compiled, "ENABLED", compiled)
    monkeypatch.setattr(objective_module, "_BLOCK_ROWS", 96)  # several blocks, a ragged last one
    rng = np.random.default_rng(7)
    n = 1000
    obj = make()
    y = labels_for(kind, n, rng, obj).astype(np.float32).astype(np.float64)  # labels as the frameworks store them
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
        # a reference beyond float32's range (a log link's exp(1e6)) is float32's largest there
        big = np.abs(ref) > 1e30
        atol = 1e-6 * float(np.max(np.abs(ref[~big]), initial=0.0))
        np.testing.assert_allclose(fast[~big], ref[~big], rtol=1e-4, atol=atol)
        assert np.all(np.sign(fast[big]) == np.sign(ref[big])) and np.all(np.abs(fast[big]) >= 1e30)
    # a second call reuses the buffers and gives the same values
    g2, h2 = obj(y, m, w)
    np.testing.assert_array_equal(g2, g)
    np.testing.assert_array_equal(h2, h)


# Parameters the shared cases do not reach: each in-place kernel branch (integer
# gamma powers, gamma 1, eps 0, tiny and huge delta, extreme alphas).
KERNEL_CASES = {
    "log_cosh(eps=1e-6)": (lambda: boostobj.log_cosh(eps=1e-6), "regression"),
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


def _kernel_inputs(kind, margin_dtype, n=4000, seed=11):
    rng = np.random.default_rng(seed)
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
    return t, m.astype(margin_dtype), scale


@pytest.mark.parametrize("case", list(KERNEL_CASES))
@pytest.mark.parametrize("margin_dtype", [np.float32, np.float64])
def test_reference_blocks_in_float32_match_the_float64_reference(case, margin_dtype):
    make, kind = KERNEL_CASES[case]
    loss = make().base_loss
    t, m, scale = _kernel_inputs(kind, margin_dtype)
    n = len(t)
    residual = loss.float64_margin == "residual" and margin_dtype == np.float64
    t_in = t.astype(np.float64 if residual else np.float32)
    g, h = np.full(n, np.nan, np.float32), np.full(n, np.nan, np.float32)
    mode = loss.float64_margin if margin_dtype == np.float64 else "exact"
    _reference_block(loss, mode, t_in, m, scale, g, h)
    # the reference in float64, on what the fast path may round: the margin or the residual
    if residual:
        ref_g, ref_h = loss.grad_curvature(np, (t - m).astype(np.float32).astype(np.float64), np.zeros(n), scale)
    else:
        ref_g, ref_h = loss.grad_curvature(np, t.astype(np.float32).astype(np.float64),
                                           m.astype(np.float32).astype(np.float64), scale)
    assert np.isfinite(g).all() and np.isfinite(h).all() and (h > 0).all()
    for fast, ref in ((g, ref_g), (h, ref_h)):
        np.testing.assert_allclose(fast, ref, rtol=2e-5, atol=1e-30 + 1e-7 * float(np.max(np.abs(ref))))


COMPILED_CASES = {**{k: v for k, v in ALL_CASES_BY_NAME.items()}, **KERNEL_CASES}


def _compiled_case(case, margin_dtype, n=4000):
    """(loss, kind, t, m, scale, params, residual, y) of a loss's compiled rows; skips the losses without."""
    make, kind = COMPILED_CASES[case]
    loss = make().base_loss
    if kind == "multiclass" or loss.compiled_row is None:
        pytest.skip("no compiled row kernel: the NumPy path")
    t, m, scale = _kernel_inputs(kind, margin_dtype, n=n)
    params = loss.row_params(scale)
    if params is None:
        pytest.skip("no compiled row kernel for these parameters: the NumPy path")
    # the rows take the labels as stored (0/1 for binary losses), in float32 as both frameworks hold them
    y = (t if kind == "regression" else (t + 1.0) / 2.0).astype(np.float32)
    return loss, kind, t, m, scale, params, loss.float64_margin == "residual", y


@pytest.mark.skipif(not _compiled.ENABLED, reason="numba is not available (BOOSTOBJ_NUMBA=0)")
@pytest.mark.parametrize("case", list(COMPILED_CASES))
@pytest.mark.parametrize("margin_dtype", [np.float32, np.float64])
@pytest.mark.parametrize("weighted", [False, True])
def test_compiled_rows_match_reference_kernel(case, margin_dtype, weighted):
    """The compiled pass (numba) equals the reference within float32 rounding, for every loss that has one."""
    loss, kind, t, m, scale, params, residual, y = _compiled_case(case, margin_dtype)
    n = len(t)
    w = np.random.default_rng(3).uniform(0.1, 3.0, n).astype(np.float32) if weighted else None
    g, h = np.full(n, np.nan, np.float32), np.full(n, np.nan, np.float32)
    t_in = y.astype(np.float64) if kind == "regression" else t
    assert _compiled.grad_hess_rows(loss.compiled_row, residual, y, m, w, 1.0, params, g, h) is False
    if residual:
        ref_g, ref_h = loss.grad_curvature(np, (t_in - m).astype(np.float32).astype(np.float64), np.zeros(n), scale)
    else:
        ref_g, ref_h = loss.grad_curvature(np, t_in, m.astype(np.float32).astype(np.float64), scale)
    if w is not None:
        ref_g, ref_h = ref_g * w, ref_h * w
    assert np.isfinite(g).all() and np.isfinite(h).all() and (h > 0).all()
    for fast, ref in ((g, ref_g), (h, ref_h)):
        np.testing.assert_allclose(fast, ref, rtol=2e-5, atol=1e-30 + 1e-7 * float(np.max(np.abs(ref))))
    # the fused label check sees one changed label (the rows use the labels given)
    y2 = y.copy()
    y2[1234] = 1.0 - y2[1234] if kind == "binary" else y2[1234] + 1.0
    g2, h2 = np.empty_like(g), np.empty_like(h)
    assert _compiled.grad_hess_rows(loss.compiled_row, residual, y2, m, w, 1.0, params, g2, h2, y)
    keep = np.arange(n) != 1234
    np.testing.assert_array_equal(g2[keep], g[keep])
    # the per-round factor multiplies both, and the curvature sum is what the pass writes
    if loss.normalize_per_round:  # the only users of the sum (each variant costs a compile)
        total = _compiled.curvature_sum(loss.compiled_row, residual, y, m, w, 1.0, params)
        np.testing.assert_allclose(total, np.sum(h, dtype=np.float64), rtol=1e-6)
    _compiled.grad_hess_rows(loss.compiled_row, residual, y, m, w, 1.0, params, g2, h2, factor=0.5)
    np.testing.assert_allclose(g2, 0.5 * g, rtol=1e-6, atol=1e-38)
    np.testing.assert_allclose(h2, 0.5 * h, rtol=1e-6, atol=1e-38)


@pytest.mark.skipif(not _compiled.ENABLED, reason="numba is not available (BOOSTOBJ_NUMBA=0)")
@pytest.mark.parametrize("case", list(COMPILED_CASES))
@pytest.mark.parametrize("weighted", [False, True])
def test_float64_margins_take_the_float32_rows_bit_for_bit(case, weighted):
    """float64 margins (LightGBM's), in one pass or, for rows of the margin, in blocks converted
    to float32 (``compiled_row_blocks``: tested here for every such loss; rows of the residual
    take one pass either way): the values are those of the float32 pass on the same rounded
    operands (the margin, or the residual formed in float64), and a label changed in any block
    is seen."""
    loss, kind, t, m, scale, params, residual, y = _compiled_case(case, np.float64, n=5000)  # 2048 x 2 + a part
    n = len(t)
    w = np.random.default_rng(4).uniform(0.1, 3.0, n).astype(np.float32) if weighted else None
    g32, h32 = np.full(n, np.nan, np.float32), np.full(n, np.nan, np.float32)
    if residual:  # the float32 pass on the rounded residual and a zero margin
        r = (y.astype(np.float64) - m).astype(np.float32)
        _compiled.grad_hess_rows(loss.compiled_row, True, r, np.zeros(n, np.float32), w, 1.0, params, g32, h32)
    else:
        _compiled.grad_hess_rows(loss.compiled_row, False, y, m.astype(np.float32), w, 1.0, params, g32, h32)
    for blocked in (False, True):
        g, h = np.full(n, np.nan, np.float32), np.full(n, np.nan, np.float32)
        assert _compiled.grad_hess_rows(loss.compiled_row, residual, y, m, w, 1.0, params, g, h,
                                        blocked=blocked) is False
        np.testing.assert_array_equal(g, g32)
        np.testing.assert_array_equal(h, h32)
        for row in (7, 2048 + 5, 4999):  # each block's label check counts
            y2 = y.copy()
            y2[row] = 1.0 - y2[row] if kind == "binary" else y2[row] + 1.0
            assert _compiled.grad_hess_rows(loss.compiled_row, residual, y2, m, w, 1.0, params, g, h, y,
                                            blocked=blocked)


@pytest.mark.skipif(not _compiled.ENABLED, reason="numba is not available (BOOSTOBJ_NUMBA=0)")
# the comparison is one line in each of the three loops: rows of the residual (huber), of the
# margin (exponential), and of the margin in float32 blocks (focal, float64 margins)
@pytest.mark.parametrize("case", ["huber(0.5)", "exponential", "focal(2)"])
@pytest.mark.parametrize("margin_dtype", [np.float32, np.float64])
def test_labels_compared_as_bytes_see_every_changed_value(case, margin_dtype):
    """Integer labels in [0, 255] are compared as a uint8 copy (``compared_labels``): the same
    values, and any other float32 label in any block is seen, in each of the compiled loops."""
    loss, kind, t, m, scale, params, residual, y = _compiled_case(case, margin_dtype, n=5000)
    y = np.clip(np.round(np.abs(y)), 0, 255).astype(np.float32)  # integer labels (binary ones are)
    n = len(y)
    state = boostobj.objective._DataState(boostobj.huber().base_loss, y, None, 1)
    y8 = state.compared_labels()
    assert y8.dtype == np.uint8 and np.array_equal(y8, y)
    g32, h32 = np.empty(n, np.float32), np.empty(n, np.float32)
    _compiled.grad_hess_rows(loss.compiled_row, residual, y, m, None, 1.0, params, g32, h32)
    for blocked in (False, True):
        g, h = np.empty(n, np.float32), np.empty(n, np.float32)
        assert _compiled.grad_hess_rows(loss.compiled_row, residual, y, m, None, 1.0, params, g, h, y8,
                                        blocked=blocked) is False
        np.testing.assert_array_equal(g, g32)
        np.testing.assert_array_equal(h, h32)
        for row, value in ((7, 0.5), (2048 + 5, 256.0), (4999, y[4999] + 2.0 ** -20), (3000, 1.0 - y[3000])):
            y2 = y.copy()
            y2[row] = value
            assert _compiled.grad_hess_rows(loss.compiled_row, residual, y2, m, None, 1.0, params, g, h, y8,
                                            blocked=blocked), (row, value)


@pytest.mark.skipif(not _compiled.ENABLED, reason="numba is not available (BOOSTOBJ_NUMBA=0)")
@pytest.mark.parametrize("case", ["huber(0.5)", "exponential", "focal(2)"])
@pytest.mark.parametrize("margin_dtype", [np.float32, np.float64])
def test_unweighted_rows_without_the_multiplies_are_the_weighted_rows_bit_for_bit(case, margin_dtype):
    """No weights and factor 1 take the loops without the multiplies by 1 (``_weigh``): the same
    bits as weights of one; another factor still multiplies (x2: exact in float32)."""
    loss, kind, t, m, scale, params, residual, y = _compiled_case(case, margin_dtype, n=5000)
    n = len(y)
    out = {}
    for name, w, factor in (("plain", None, 1.0), ("ones", np.ones(n, np.float32), 1.0), ("twice", None, 2.0)):
        g, h = np.full(n, np.nan, np.float32), np.full(n, np.nan, np.float32)
        rows = _compiled.RowPass(loss.compiled_row, residual, w, 1.0, params, y, g, h, loss.compiled_row_blocks)
        assert rows._plain is (w is None)
        assert rows.run(y, m, factor) is False
        out[name] = g, h
        assert (rows._rows_plain is not None) is (name == "plain")
    np.testing.assert_array_equal(out["plain"][0], out["ones"][0])
    np.testing.assert_array_equal(out["plain"][1], out["ones"][1])
    np.testing.assert_array_equal(out["twice"][0], 2 * out["plain"][0])
    np.testing.assert_array_equal(out["twice"][1], 2 * out["plain"][1])


def test_labels_are_compared_as_bytes_only_where_bytes_hold_them_exactly():
    make = boostobj.objective._DataState
    loss = boostobj.huber().base_loss
    assert make(loss, np.array([0.0, 1.0, 255.0]), None, 1).compared_labels().dtype == np.uint8
    for y in ([0.0, 1.0, 256.0], [0.0, 0.5], [-1.0, 1.0], [0.0, 1.0 + 2.0 ** -20]):
        y = np.array(y, np.float32)
        compared = make(loss, y, None, 1).compared_labels()
        assert compared.dtype == np.float32 and np.array_equal(compared, y)


@pytest.mark.skipif(not _compiled.ENABLED, reason="numba is not available (BOOSTOBJ_NUMBA=0)")
@pytest.mark.parametrize("name, fn, ref, low, high", [
    ("exp32", "exp32", np.exp, -103.0, 88.0),
    ("log1p32", "log1p32", np.log1p, 0.0, 3e38),
    ("tanh32", "tanh32", np.tanh, -50.0, 50.0),
    ("log1p_unit32", "log1p_unit32", np.log1p, 0.0, 1.0),
    ("exp32_nonpositive", "exp32_nonpositive", np.exp, -87.336, 0.0),
])
def test_compiled_transcendentals_within_one_and_a_half_ulp(name, fn, ref, low, high):
    """The vectorisable float32 exp, log1p and tanh against float64, over their whole range."""
    import numba

    assert _compiled.available()  # loads numba and compiles the helpers
    f = getattr(_compiled, fn)

    @numba.njit
    def apply(x, out):
        for i in range(x.shape[0]):
            out[i] = f(x[i])

    rng = np.random.default_rng(5)
    mags = 10.0 ** rng.uniform(-38, np.log10(max(abs(low), abs(high))), 200_000)
    x = np.concatenate([np.linspace(low, min(high, 1e3), 200_001), mags, -mags])
    x = x[(x >= low) & (x <= high)].astype(np.float32)
    out = np.empty_like(x)
    apply(x, out)
    exact = ref(x.astype(np.float64))
    normal = np.abs(exact) >= np.finfo(np.float32).smallest_normal
    ulp = np.spacing(np.abs(exact[normal]).astype(np.float32)).astype(np.float64)
    err = np.abs(out[normal] - exact[normal]) / ulp
    assert err.max() <= 1.5, (name, float(err.max()), x[normal][np.argmax(err)])
    # below float32's normal range: 0 or a subnormal within one subnormal step
    assert np.all(np.abs(out[~normal] - exact[~normal]) <= 2 * 2.0**-149)


@pytest.mark.skipif(not _compiled.ENABLED, reason="numba is not available (BOOSTOBJ_NUMBA=0)")
def test_exp32_nonpositive_flushes_to_zero_below_float32s_normal_range():
    import numba

    assert _compiled.available()

    @numba.njit
    def apply(x, out):
        for i in range(x.shape[0]):
            out[i] = _compiled.exp32_nonpositive(x[i])

    x = np.array([-87.3361, -87.34, -88.0, -104.0, -1e6, -np.finfo(np.float32).max, -np.inf], np.float32)
    out = np.full_like(x, np.nan)
    apply(x, out)
    np.testing.assert_array_equal(out, 0.0)
    edge = np.array([-87.336], np.float32)
    apply(edge, out[:1])
    assert out[0] >= np.finfo(np.float32).smallest_normal


@pytest.mark.skipif(not _compiled.ENABLED, reason="the compiled pass (numba)")
@pytest.mark.parametrize("alpha", [0.05, 0.5, 0.9])
@pytest.mark.parametrize("weighted", [False, True])
@pytest.mark.parametrize("margin_dtype", [np.float32, np.float64])
def test_quantile_sums_its_curvature_in_the_row_pass_with_the_same_values(monkeypatch, alpha, weighted,
                                                                           margin_dtype):
    """RowPass.run_summed: the rows written and summed in one pass, then scaled by the
    round's factor, equal the two passes (sum, then rows with the factor) up to the factor's float32
    rounding, call after call; the one-pass path is really taken; a set_label between calls is still
    seen; and the factor makes the weighted mean curvature per row 1."""
    import xgboost as xgb

    rng = np.random.default_rng(11)
    n = 5000
    y = rng.lognormal(size=n).astype(np.float32)
    w = rng.uniform(0.5, 2.0, n) if weighted else None
    margins = [rng.normal(size=n).astype(margin_dtype) * s for s in (0.1, 1.0, 3.0)]
    summed = []
    run_summed = _compiled.RowPass.run_summed
    monkeypatch.setattr(_compiled.RowPass, "run_summed",
                        lambda self, *a: (summed.append(1), run_summed(self, *a))[1])

    init = objective_module._RoundPlan.__init__

    def calls(in_pass, labels):
        monkeypatch.setattr(objective_module._RoundPlan, "__init__",
                            lambda self, *a, **k: init(self, *a, **{**k, "sums_in_pass": in_pass}))
        d = xgb.DMatrix(np.zeros((n, 1)), y, weight=w)
        obj = boostobj.quantile(alpha)
        out = [tuple(np.array(a, copy=True) for a in obj(m, d)) for m in margins]
        d.set_label(labels)  # relabelled between rounds: the next call must use the new labels
        out.append(tuple(np.array(a, copy=True) for a in obj(margins[0], d)))
        return out

    relabelled = (y * 2.0 + 1.0).astype(np.float32)
    one_pass = calls(True, relabelled)
    assert len(summed) >= len(margins) - 1  # every call after the first plan's took it
    summed.clear()
    two_passes = calls(False, relabelled)
    assert not summed
    for (g1, h1), (g2, h2) in zip(one_pass, two_passes):
        # the rows are the same bit for bit; the round's factor is a float64 sum added in another
        # order, then rounded to float32, so it may differ by one ulp: a product by up to two
        np.testing.assert_array_max_ulp(g1, g2, 2)
        np.testing.assert_array_max_ulp(h1, h2, 2)
        ratio = h1.sum(dtype=np.float64) / h2.sum(dtype=np.float64)
        assert abs(ratio - 1.0) <= 1.2e-7  # one factor for the whole call, not rows apart
    # and the factor is applied: the weighted mean curvature per row is 1 in every call
    for g, h in one_pass[:-1]:
        assert h.sum(dtype=np.float64) / (w.sum() if weighted else n) == pytest.approx(1.0, rel=1e-4)

"""Property tests (hypothesis): finiteness, positivity, weights, scale equivariance."""

from __future__ import annotations

import warnings

import numpy as np
import pytest
from cases import ALL_CASES, BINARY, MULTICLASS, REGRESSION, in_domain
from hypothesis import assume, given, settings
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

import boostobj

MAX_MARGIN = 1e6

# The framework entry point is called here on arbitrary margins and tiny data on purpose.
pytestmark = [pytest.mark.filterwarnings("ignore::boostobj.StartValueWarning"),
              pytest.mark.filterwarnings("ignore::boostobj.StalledFitWarning")]


@st.composite
def problem(draw, kind: str, n_outputs: int, dtype, obj=None):
    n = draw(st.integers(1, 12))
    if kind == "regression":
        y = in_domain(draw(hnp.arrays(np.float64, n, elements=st.floats(-MAX_MARGIN, MAX_MARGIN))), obj)
    elif kind == "binary":
        y = draw(hnp.arrays(np.float64, n, elements=st.sampled_from([0.0, 1.0])))
    else:
        y = draw(hnp.arrays(np.float64, n, elements=st.sampled_from([0.0, 1.0, 2.0])))
    shape = (n, n_outputs) if n_outputs > 1 else (n,)
    width = 32 if dtype == np.float32 else 64
    m = draw(hnp.arrays(dtype, shape, elements=st.floats(-MAX_MARGIN, MAX_MARGIN, width=width)))
    w = draw(hnp.arrays(np.float64, n, elements=st.floats(0.01, 100.0)))
    return y, m, w


def _outputs(kind, make):
    obj = make()
    return obj, (3 if kind == "multiclass" else obj.n_outputs())


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("make, kind", ALL_CASES)
def test_finite_positive_and_warning_free_for_any_margin(make, kind, dtype, request):
    obj, k = _outputs(kind, make)

    @given(problem(kind, k, dtype, obj))
    def check(data):
        y, m, w = data
        with warnings.catch_warnings():
            warnings.simplefilter("error")  # overflow / invalid-value warnings fail the test
            # ...but not the deliberate notices that a constant start is not the optimum, or
            # that a handful of rows cannot move it
            warnings.simplefilter("ignore", boostobj.StartValueWarning)
            warnings.simplefilter("ignore", boostobj.StalledFitWarning)
            for weights in (None, w):
                g, h = obj.grad_hess(y, m, weights)
                assert g.shape == m.shape and h.shape == m.shape
                assert g.dtype == dtype and h.dtype == dtype
                assert np.isfinite(g).all() and np.isfinite(h).all()
                assert (h > 0).all()
                assert np.isfinite(obj.loss(y, m, weights))
                bg, bh = obj(y, m, sample_weight=weights)  # the framework entry point
                assert np.isfinite(bg).all() and np.isfinite(bh).all() and (bh > 0).all()
            pred = obj.predict(m)
            assert np.isfinite(pred).all()
            if kind != "regression":
                assert ((pred >= 0) & (pred <= 1)).all()
            if kind == "multiclass":
                np.testing.assert_allclose(pred.sum(axis=1), 1.0, rtol=1e-5)

    check()


@st.composite
def integer_weights(draw, kind: str, n_outputs: int, obj=None):
    y, m, _ = draw(problem(kind, n_outputs, np.float64, obj))
    # keep margins moderate so sums of copies compare at float precision
    m = np.clip(m, -50, 50) if kind != "regression" else m
    w = draw(hnp.arrays(np.int64, len(y), elements=st.integers(0, 4)))
    if w.sum() == 0:
        w[0] = 1
    return y, m, w


@pytest.mark.parametrize("make, kind", ALL_CASES)
def test_weights_equal_repeated_rows(make, kind):
    obj, k = _outputs(kind, make)

    @given(integer_weights(kind, k, obj))
    def check(data):
        y, m, w = data
        reps = np.repeat(np.arange(len(y)), w)
        yr, mr = y[reps], m[reps]
        if kind == "multiclass" and len(np.unique(yr)) < 2 or kind == "binary" and len(yr) == 0:
            return
        wf = w.astype(float)
        assert obj.loss(y, m, wf) == pytest.approx(obj.loss(yr, mr), rel=1e-9, abs=1e-12)
        if obj.n_outputs(yr) == obj.n_outputs(y):  # a zero-weight row may carry the top class
            np.testing.assert_allclose(
                obj.init_score(y, wf), obj.init_score(yr), rtol=1e-7, atol=1e-7 * (1 + np.abs(y).max())
            )
        g, h = obj.grad_hess(y, m, wf)
        gr, hr = obj.grad_hess(yr, mr)
        gs, hs = np.zeros_like(g), np.zeros_like(h)
        with np.errstate(over="ignore"):  # copies of a saturated gradient: saturated as the weighted one
            np.add.at(gs, reps, gr)
            np.add.at(hs, reps, hr)
        top = np.finfo(np.float64).max
        gs, hs = np.clip(gs, -top, top), np.clip(hs, -top, top)
        kept = w > 0
        np.testing.assert_allclose(g[kept], gs[kept], rtol=1e-9, atol=1e-300)
        # the curvature guards depend on the start, a root found to 1e-12 of the label range
        np.testing.assert_allclose(h[kept], hs[kept], rtol=1e-7, atol=1e-300)

    check()


@pytest.mark.parametrize("c", [1e-3, 1.0, 1e3])
@pytest.mark.parametrize(
    "make", [lambda c: boostobj.quantile(0.1), lambda c: boostobj.quantile(0.9),
             lambda c: boostobj.quantile([0.05, 0.5, 0.95]), lambda c: boostobj.huber(1.5 * c),
             lambda c: boostobj.squared_error()],
    ids=["quantile(0.1)", "quantile(0.9)", "multi-quantile", "huber(c*1.5)", "squared_error"],
)
def test_boosting_gradients_are_scale_equivariant(make, c):
    """On c*y and c*m the framework gets c times the gradient and the same curvature.

    The Newton step -sum(g)/(sum(h)+lambda) is then c times the step on y,
    and min_child_weight/lambda act the same at every scale.
    """

    @given(problem("regression", make(1.0).n_outputs(), np.float64))
    def check(data):
        y, m, w = data
        y, m = np.clip(y, -1e3, 1e3), np.clip(m, -1e3, 1e3)
        # labels below float32's normal range (~1e-38) cannot be stored by the frameworks
        y[np.abs(y) < 1e-30] = 0.0
        m[np.abs(m) < 1e-30] = 0.0  # (c * 5e-324 underflows to 0 and flips the sign of r)
        assume(np.any(y != 0))  # all-zero labels carry no scale to be equivariant to
        obj_1, obj_c = make(1.0), make(c)
        init, scale = obj_1.init_score(y, w), obj_1.label_scale(y, w)
        # the start is the float32 value of a label (what the frameworks store): on c*y
        # it is round32(c y), against c round32(y) on y, two roundings of 2^-24 relative
        # each; the scale (a median of |y - start|) moves by at most as much
        f32 = 2 * 2.0**-24 * c * np.abs(y).max()
        np.testing.assert_allclose(obj_c.init_score(c * y, w), c * np.asarray(init), rtol=0, atol=f32 + 1e-300)
        np.testing.assert_allclose(obj_c.label_scale(c * y, w), c * np.asarray(scale), rtol=1e-12,
                                   atol=2 * f32 + 1e-300)
        # given statistics that are exactly c times, the framework gets c times the
        # gradient and the same curvature, to the float32 rounding of its outputs
        g1, h1 = obj_1.with_start(init, scale)(y, m, sample_weight=w)
        gc, hc = obj_c.with_start(c * np.asarray(init), c * np.asarray(scale))(c * y, c * m, sample_weight=w)
        np.testing.assert_allclose(gc, c * g1, rtol=1e-6, atol=1e-12 * c)
        np.testing.assert_allclose(hc, h1, rtol=1e-6)

    check()


@pytest.mark.parametrize(
    "make, k",
    [pytest.param(f, 1, id=name) for name, f in BINARY.items()]
    + [pytest.param(f, 3, id=name) for name, f in MULTICLASS.items()],
)
def test_classification_init_score_minimises_the_constant_loss(make, k):
    obj = make()
    rng = np.random.default_rng(0)
    if k == 1:
        y = (rng.random(300) < 0.2).astype(float)
    else:
        y = rng.choice(3, size=300, p=[0.6, 0.3, 0.1]).astype(float)
    w = rng.uniform(0.5, 2, 300)
    c = np.asarray(obj.init_score(y, w), dtype=float)
    assert c.shape == (() if k == 1 else (k,))
    base = obj.loss(y, np.broadcast_to(c, (300,) + c.shape).copy(), w)
    for _ in range(20):
        step = rng.normal(size=c.shape) * 0.05
        assert obj.loss(y, np.broadcast_to(c + step, (300,) + c.shape).copy(), w) >= base - 1e-12


@pytest.mark.parametrize("make", [REGRESSION["log_cosh"], REGRESSION["huber(0.5)"], REGRESSION["squared_error"],
                                  REGRESSION["quantile(0.1)"], REGRESSION["quantile(0.9)"]])
def test_regression_init_score_minimises_the_constant_loss(make):
    obj = make()
    rng = np.random.default_rng(1)
    y = rng.standard_t(2, 500) * 10 + 40
    w = rng.uniform(0.5, 2, 500)
    c = obj.init_score(y, w)
    base = obj.loss(y, np.full(500, c), w)
    for step in (-1.0, -0.1, -1e-3, 1e-3, 0.1, 1.0):
        assert obj.loss(y, np.full(500, c + step), w) >= base - 1e-12


def test_exponential_and_focal_gamma0_start_at_the_log_odds():
    y = np.array([1.0] * 30 + [0.0] * 70)
    for obj in (boostobj.exponential(), boostobj.focal(0.0)):
        assert obj.init_score(y) == pytest.approx(np.log(0.3 / 0.7), abs=1e-9)
    # alpha re-weights the classes: alpha*W1 vs (1-alpha)*W0
    assert boostobj.focal(0.0, 0.25).init_score(y) == pytest.approx(np.log(0.25 * 30 / (0.75 * 70)), abs=1e-9)


@st.composite
def extreme_problem(draw, kind: str, n_outputs: int, dtype, obj=None):
    """Labels as in ``problem``; margins anywhere in the dtype's finite range; weights with zeros."""
    y, _, _ = draw(problem(kind, n_outputs, dtype, obj))
    n = len(y)
    shape = (n, n_outputs) if n_outputs > 1 else (n,)
    top = float(np.finfo(dtype).max)
    width = 32 if dtype == np.float32 else 64
    extremes = st.sampled_from([top, -top, top / 2, -top / 3, 1e30, -1e30, 3e38, -3e38])
    m = draw(hnp.arrays(dtype, shape, elements=st.one_of(
        extremes, st.floats(-top, top, width=width, allow_nan=False, allow_infinity=False))))
    w = draw(hnp.arrays(np.float64, n, elements=st.one_of(
        st.just(0.0), st.just(3e38), st.floats(1e-30, 1e30))))
    if not w.sum() > 0:
        w[0] = 1.0
    return y, m, w


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("make, kind", ALL_CASES)
def test_finite_positive_for_every_finite_margin_up_to_the_dtype_max(make, kind, dtype):
    """float64 margins of 1e308 (and float32's largest) give finite gradients and positive
    finite curvature, on every path: the reference (grad_hess) and the framework call, with
    weights of 0 and up to float32's largest."""
    obj, k = _outputs(kind, make)

    # a third of the profile's examples: the strategy draws the extremes themselves often
    @settings(max_examples=20)
    @given(extreme_problem(kind, k, dtype, obj))
    def check(data):
        y, m, w = data
        with warnings.catch_warnings():
            warnings.simplefilter("error")  # an overflow warning is a failure too
            warnings.simplefilter("ignore", boostobj.StartValueWarning)
            warnings.simplefilter("ignore", boostobj.StalledFitWarning)
            for weights in (None, w):
                g, h = obj.grad_hess(y, m, weights)
                assert np.isfinite(g).all() and np.isfinite(h).all() and (h > 0).all()
                bg, bh = obj(y, m, sample_weight=weights)  # float32 outputs, as the frameworks take
                assert np.isfinite(bg).all() and np.isfinite(bh).all() and (bh > 0).all()

    check()

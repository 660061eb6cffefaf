"""Gradients against finite differences of the loss; curvature against its definition.

Everything here is float64. The loss values themselves are checked against
independent textbook formulas written out in this file.
"""

from __future__ import annotations

import numpy as np
import pytest
from cases import ALL_CASES, BINARY, REGRESSION, labels_for, margin_shape

import boostobj
from boostobj.custom import CustomLoss
from boostobj.losses import QuantileRefitGrowth

STEP = 1e-5


def _sigmoid(x):
    return 1.0 / (1.0 + np.exp(-x))


def reference_loss(obj: boostobj.Objective, y: np.ndarray, m: np.ndarray) -> np.ndarray:
    """Per-row loss from the textbook formulas (each loss's paper, see losses.py; moderate inputs)."""
    p = obj.base_loss._params()
    name = obj.name
    if isinstance(obj.base_loss, CustomLoss):  # a user's loss is defined by its own function
        return obj.base_loss._loss(y, m)
    if name in ("squared_error", "log_cosh", "huber", "quantile"):
        yy = y[:, None] if m.ndim == 2 else y
        r = yy - m
        if name == "squared_error":
            out = 0.5 * r**2
        elif name == "log_cosh":
            out = np.log(np.cosh(r))
        elif name == "huber":
            d = p["delta"]
            out = np.where(np.abs(r) <= d, 0.5 * r**2, d * (np.abs(r) - 0.5 * d))
        else:
            a = np.asarray(p["alpha"])
            out = np.where(r >= 0, a * r, (a - 1) * r)
        return out.sum(axis=1) if out.ndim == 2 else out
    if name == "expectile":
        r = (y[:, None] if m.ndim == 2 else y) - m
        a = np.asarray(p["alpha"])
        out = np.where(r < 0, 1 - a, a) * r**2
        return out.sum(axis=1) if out.ndim == 2 else out
    if name == "exponential":
        s = 2 * y - 1
        return np.exp(-s * m / 2)
    if name == "hinge":
        return np.maximum(0.0, 1.0 - (2 * y - 1) * m)
    if name == "modified_huber":  # scikit-learn's sgd_fast.ModifiedHuber.loss
        z = (2 * y - 1) * m
        return np.where(z >= 1, 0.0, np.where(z >= -1, (1 - z) ** 2, -4 * z))
    # focal
    gamma, alpha = p["gamma"], p["alpha"]
    if m.ndim == 1:
        prob = _sigmoid(m)
        p_t = np.where(y == 1, prob, 1 - prob)
        a_t = 1.0 if alpha is None else np.where(y == 1, alpha, 1 - alpha)
        return -a_t * (1 - p_t) ** gamma * np.log(p_t)
    e = np.exp(m - m.max(axis=1, keepdims=True))
    prob = e / e.sum(axis=1, keepdims=True)
    c = y.astype(int)
    u = prob[np.arange(len(y)), c]
    a_c = 1.0 if alpha is None else np.asarray(alpha)[c]
    return -a_c * (1 - u) ** gamma * np.log(u)


def _draw(obj, kind, n, seed):
    rng = np.random.default_rng(seed)
    y = labels_for(kind, n, rng, obj)
    shape = margin_shape(obj, kind, n)
    scale = 3.0 if kind == "regression" else 2.5
    m = rng.normal(size=shape) * scale
    w = rng.uniform(0.2, 3.0, n)
    return y, m, w


def _per_row(obj, y, m):
    return np.array([obj.loss(y[i : i + 1], m[i : i + 1]) for i in range(len(y))])


@pytest.mark.parametrize("make, kind", ALL_CASES)
def test_loss_matches_textbook_formula(make, kind):
    obj = make()
    for seed in range(3):
        y, m, w = _draw(obj, kind, 40, seed)
        expected = np.average(reference_loss(obj, y, m), weights=w)
        assert obj.loss(y, m, w) == pytest.approx(expected, rel=1e-10, abs=1e-12)


def _away_from_kinks(obj, y, m):
    """Keep rows where the loss is smooth within the finite-difference step."""
    name, p = obj.name, obj.base_loss._params()
    yy = y[:, None] if m.ndim == 2 else y
    r = np.abs(yy - m)
    if name == "quantile":
        ok = r > 1e-3
    elif name == "huber":
        ok = np.abs(r - p["delta"]) > 1e-3
    elif name == "hinge":
        ok = np.abs(1 - (2 * y - 1) * m) > 1e-3
    else:
        return np.ones(len(y), dtype=bool)
    return ok.all(axis=1) if ok.ndim == 2 else ok


@pytest.mark.parametrize("make, kind", ALL_CASES)
def test_gradient_is_finite_difference_of_loss(make, kind):
    obj = make()
    for seed in range(4):
        y, m, w = _draw(obj, kind, 16, seed)
        keep = _away_from_kinks(obj, y, m)
        y, m, w = y[keep], m[keep], w[keep]
        g, _ = obj.grad_hess(y, m, w)
        assert g.shape == m.shape
        cols = [None] if m.ndim == 1 else range(m.shape[1])
        for k in cols:
            e = np.zeros_like(m)
            if k is None:
                e[:] = STEP
            else:
                e[:, k] = STEP
            fd = (_per_row(obj, y, m + e) - _per_row(obj, y, m - e)) / (2 * STEP) * w
            got = g if k is None else g[:, k]
            np.testing.assert_allclose(got, fd, rtol=1e-6, atol=1e-8)


def _fd_of_gradient(obj, y, m):
    gp, _ = obj.grad_hess(y, m + STEP)
    gm, _ = obj.grad_hess(y, m - STEP)
    return (gp - gm) / (2 * STEP)


@pytest.mark.parametrize(
    "make, region",
    [
        (REGRESSION["squared_error"], lambda y, m: np.ones_like(m, dtype=bool)),
        (REGRESSION["huber(2)"], lambda y, m: np.abs(y - m) < 2.0 - 1e-3),
        (BINARY["exponential"], lambda y, m: np.abs(m) < 50),
        (BINARY["focal(0)"], lambda y, m: np.ones_like(m, dtype=bool)),
    ],
    ids=["squared_error", "huber-inside-delta", "exponential", "focal-gamma0"],
)
def test_curvature_is_exact_second_derivative_where_exact(make, region):
    obj = make()
    rng = np.random.default_rng(7)
    kind = "binary" if obj.task == "binary" else "regression"
    y = labels_for(kind, 200, rng)
    m = rng.normal(size=200) * 3
    keep = region(y, m)
    _, h = obj.grad_hess(y, m)
    np.testing.assert_allclose(h[keep], _fd_of_gradient(obj, y, m)[keep], rtol=1e-6, atol=1e-9)


@pytest.mark.parametrize("gamma, alpha", [(0.5, None), (2.0, 0.25), (5.0, 0.75)])
def test_focal_curvature_is_exact_wherever_exact_is_not_below_gauss_newton(gamma, alpha):
    obj = boostobj.focal(gamma, alpha)
    rng = np.random.default_rng(3)
    y = labels_for("binary", 400, rng)
    m = rng.uniform(-12, 12, 400)
    _, h = obj.grad_hess(y, m)
    exact = _fd_of_gradient(obj, y, m)
    s = 2 * y - 1
    q = _sigmoid(-s * m)
    a_t = 1.0 if alpha is None else np.where(y == 1, alpha, 1 - alpha)
    gauss_newton = a_t * q**gamma * q * (1 - q)
    use_exact = exact > gauss_newton * (1 + 1e-4)
    assert use_exact.sum() > 50 and (~use_exact).sum() > 20  # both regimes are exercised
    np.testing.assert_allclose(h[use_exact], exact[use_exact], rtol=1e-5, atol=1e-10)
    np.testing.assert_allclose(h[~use_exact], np.maximum(gauss_newton[~use_exact], 1e-16), rtol=1e-4)
    assert exact.min() < 0  # the exact hessian really does go negative (about -0.047 for gamma = 2)
    assert (h > 0).all()


def test_focal_gamma2_exact_hessian_minimum():
    """The exact focal curvature goes negative: derivation, checked against the kernels.

    Focal loss for y = 1 (Lin et al. 2017, "Focal Loss for Dense Object Detection",
    eq. 5, alpha = 1): l(z) = -q^2 log p, p = sigmoid(z), q = 1 - p, dp/dz = p q.
    Then l'(z) = 2 p q^2 log p - q^3 and
    l''(z) = p q^2 (2 q log p - 4 p log p + 5 q), whose minimum is -0.0472 at
    z = -3.847 (a misclassified positive). The kernels' gradient, differentiated
    numerically, must follow the same curve.
    """
    obj = boostobj.focal(2.0)
    z = np.linspace(-8, 0, 8001)
    p = _sigmoid(z)
    q = 1 - p
    derived = p * q**2 * (2 * q * np.log(p) - 4 * p * np.log(p) + 5 * q)
    np.testing.assert_allclose(_fd_of_gradient(obj, np.ones_like(z), z), derived, rtol=0, atol=1e-8)
    assert derived.min() == pytest.approx(-0.04719, abs=1e-5)
    assert z[np.argmin(derived)] == pytest.approx(-3.847, abs=2e-3)


def expected_curvature(obj: boostobj.Objective, y: np.ndarray, m: np.ndarray) -> np.ndarray:
    """The curvature each loss documents, written out independently of the kernels.

    ``s`` is the label scale and the guards are multiples of it: log-cosh
    ``eps * s``, quantile ``eps * 2 min(alpha, 1 - alpha) * s``.
    """
    p, name = obj.base_loss._params(), obj.name
    if name == "exponential":
        sign = 2 * y - 1
        # exponent clipped at 30; every curvature is floored at 1e-16 (as XGBoost's kRtEps)
        return np.maximum(np.exp(np.minimum(-sign * m / 2, 30.0)) / 4, 1e-16)
    yy = y[:, None] if m.ndim == 2 else y
    r = yy - m
    s = np.asarray(obj.label_scale(y))
    if name == "squared_error":
        return np.ones_like(r)
    if name == "huber":  # 1 inside delta, the IRLS weight delta/|r| outside
        return p["delta"] / np.maximum(np.abs(r), p["delta"])
    if name == "log_cosh":
        a = np.maximum(np.abs(r), p["eps"] * s)
        return np.tanh(a) / a
    alpha = np.asarray(p["alpha"])
    if name == "expectile":  # exact: 2 alpha at or above the fit, 2 (1 - alpha) below
        return 2 * np.where(r < 0, 1 - alpha, alpha)
    if isinstance(obj.base_loss, QuantileRefitGrowth):  # nearly flat: eps / (eps + |r|), eps = 64 s
        return np.maximum(64 * s / (64 * s + np.abs(r)), 1e-16)
    eps = p.get("eps", 0.5)  # quantile's documented default guard (Newton leaves)
    return 1 / (2 * np.maximum(np.abs(r), eps * 2 * np.minimum(alpha, 1 - alpha) * s))


# the shipped losses' documented curvatures (a custom loss's is its own declaration: check_loss)
SHIPPED = {k: f for k, f in REGRESSION.items() if not isinstance(f().base_loss, CustomLoss)}


@pytest.mark.parametrize("make", [*SHIPPED.values(), BINARY["exponential"]],
                         ids=[*SHIPPED, "exponential"])
def test_curvature_is_pinned_on_a_grid(make):
    """h equals the documented curvature everywhere on a grid that crosses every
    regime: inside and outside Huber's delta, below and above the guards, and
    exponential margins beyond the clip (focal: see the focal tests above)."""
    obj = make()
    if obj.name == "exponential":
        y = np.repeat([0.0, 1.0], 201)
        m = np.tile(np.linspace(-100, 100, 201), 2)
    else:
        y = np.linspace(-40, 40, 161)  # label scale about 20: guards around 10
        r = np.concatenate([np.linspace(-60, 60, 241), [-0.3, 0.0, 0.3]])
        y, m = np.repeat(y, r.size), np.tile(-r, y.size) + np.repeat(y, r.size)
        m = np.repeat(m[:, None], obj.n_outputs(), axis=1) if obj.n_outputs() > 1 else m
    _, h = obj.grad_hess(y, m)
    np.testing.assert_allclose(h, expected_curvature(obj, y, m), rtol=1e-12, atol=0)


MM_CASES = [REGRESSION["log_cosh"], REGRESSION["huber(0.5)"], REGRESSION["huber(2)"],
            REGRESSION["quantile(0.1)"], REGRESSION["quantile(0.5)"], REGRESSION["quantile(0.9)"]]
MM_IDS = ["log_cosh", "huber(0.5)", "huber(2)", "quantile(0.1)", "quantile(0.5)", "quantile(0.9)"]


def _mm_setup(obj, rng):
    y = rng.normal(size=60) * 5
    m0 = np.concatenate([rng.normal(size=40) * 5, y[40:] + rng.uniform(-0.25, 0.25, 20)])  # 20 inside every guard
    g, h = obj.grad_hess(y, m0)
    guard = 0.0
    if obj.name in ("quantile", "log_cosh"):
        guard = (obj.base_loss.guard if obj.name == "quantile" else obj.base_loss.eps) * obj.label_scale(y)
    return y, m0, g, h, guard


def _surrogate_gap(obj, y, m0, g, h):
    """max over m of loss(m) - surrogate(m), per row, on a fine grid of steps."""
    base = reference_loss(obj, y, m0)
    gap = np.full(y.shape, -np.inf)
    for delta in np.linspace(-30, 30, 2401):
        surrogate = base + g * delta + 0.5 * h * delta**2
        gap = np.maximum(gap, reference_loss(obj, y, m0 + delta) - surrogate)
    return gap


@pytest.mark.parametrize("make", MM_CASES, ids=MM_IDS)
def test_mm_curvature_majorizes_the_loss_and_is_sharp(make):
    """Above the guard, l(m) <= l(m0) + g (m - m0) + h (m - m0)^2 / 2 for every m
    (the MM property), with equality at the mirrored residual m = 2y - m0:
    the curvature is the smallest that majorizes (de Leeuw & Lange 2009), so a
    curvature that is too large fails here as surely as one that is too small.
    """
    obj = make()
    y, m0, g, h, guard = _mm_setup(obj, np.random.default_rng(11))
    above = np.abs(y - m0) >= guard
    assert above.sum() >= 30
    y, m0, g, h = y[above], m0[above], g[above], h[above]
    assert (_surrogate_gap(obj, y, m0, g, h) <= 1e-9).all()
    if obj.name != "quantile":  # quantile's MM bound is not symmetric: its tangent point is below
        mirrored = 2 * y - m0
        surrogate = reference_loss(obj, y, m0) + g * (mirrored - m0) + 0.5 * h * (mirrored - m0) ** 2
        inside = np.abs(y - m0) <= 1.0 if obj.name == "huber" else np.zeros_like(y, bool)
        touch = ~inside  # inside Huber's delta the loss is its own quadratic: equality everywhere
        np.testing.assert_allclose(reference_loss(obj, y, mirrored)[touch], surrogate[touch], rtol=1e-9,
                                   atol=1e-9)
    else:  # the pinball MM bound touches at -r0 after shifting by the asymmetry term: check the
        # curvature directly is the sharp 1/(2|r0|)
        np.testing.assert_allclose(h, 0.5 / np.abs(y - m0), rtol=1e-12)


@pytest.mark.parametrize("make", [REGRESSION["log_cosh"], REGRESSION["quantile(0.1)"],
                                  REGRESSION["quantile(0.5)"], REGRESSION["quantile(0.9)"]],
                         ids=["log_cosh", "quantile(0.1)", "quantile(0.5)", "quantile(0.9)"])
def test_below_the_guard_the_surrogate_undershoots_by_at_most_the_guard_gap(make):
    """Below the guard (|r0| < eps) the curvature is that of |r0| = eps, smaller than
    the majorizing one, so the quadratic does not majorize. What holds instead:
    l(m) - surrogate(m) <= J (eps - |r0|), J the jump in slope across the kink
    (1 for pinball, 2 for log-cosh, whose slope goes from -1 to 1). For pinball the
    bound is attained (at |r| = 2 eps - |r0| on the other side of the label).
    """
    obj = make()
    y, m0, g, h, guard = _mm_setup(obj, np.random.default_rng(11))
    below = np.abs(y - m0) < guard
    assert below.sum() >= 10
    y, m0, g, h = y[below], m0[below], g[below], h[below]
    jump = 2.0 if obj.name == "log_cosh" else 1.0
    bound = jump * (guard - np.abs(y - m0))
    gap = _surrogate_gap(obj, y, m0, g, h)
    assert (gap <= bound + 1e-9).all()
    assert (gap > 0).all()  # the bound is not vacuous: the quadratic really undershoots
    if obj.name == "quantile":
        np.testing.assert_allclose(gap, bound, rtol=0, atol=2e-4)  # the grid step is 0.025


def test_quantile_curvature_is_the_guarded_mm_weight():
    obj = boostobj.quantile(0.3)
    y = np.linspace(-5, 5, 101)
    m = np.zeros(101)
    _, h = obj.grad_hess(y, m)
    eps = obj.base_loss.eps * 2 * min(0.3, 0.7) * obj.label_scale(y)
    np.testing.assert_allclose(h, 0.5 / np.maximum(np.abs(y), eps), rtol=1e-12)


def test_multiclass_focal_gamma0_gradient_is_softmax_cross_entropy():
    rng = np.random.default_rng(5)
    y = rng.integers(0, 4, 50).astype(float)
    m = rng.normal(size=(50, 4))
    g, h = boostobj.focal(0.0).grad_hess(y, m)
    p = np.exp(m) / np.exp(m).sum(axis=1, keepdims=True)
    onehot = np.eye(4)[y.astype(int)]
    np.testing.assert_allclose(g, p - onehot, rtol=1e-12, atol=1e-14)
    np.testing.assert_allclose(h, 4 / 3 * p * (1 - p), rtol=1e-12)


@pytest.mark.parametrize("gamma, alpha", [(0.0, None), (1.0, None), (2.0, None), (5.0, 0.3)])
def test_focal_predict_recovers_the_class_posterior(gamma, alpha):
    """predict(argmin_m E[FL]) = q: the minimiser of the expected focal loss maps back to P(y=1).

    Without the transform, sigmoid of the focal optimum is pulled towards 1/2
    (Charoenphakdee et al. 2021). With alpha, q is the alpha-weighted posterior.
    """
    from scipy.optimize import minimize_scalar

    obj = boostobj.focal(gamma, alpha)
    for q in (0.02, 0.2, 0.5, 0.7, 0.97):
        a1, a0 = (1.0, 1.0) if alpha is None else (alpha, 1 - alpha)  # class weights
        q_w = a1 * q / (a1 * q + a0 * (1 - q))
        y, w = np.array([1.0, 0.0]), np.array([q, 1 - q])
        best = minimize_scalar(lambda m: obj.loss(y, np.full(2, m), w), bounds=(-20, 20), method="bounded",
                               options={"xatol": 1e-10})
        assert obj.predict(np.array([best.x]))[0] == pytest.approx(q_w, abs=1e-5)


@pytest.mark.parametrize("gamma", [0.0, 2.0])
def test_multiclass_focal_predict_recovers_the_class_posterior(gamma):
    from scipy.optimize import minimize

    obj = boostobj.focal(gamma)
    q = np.array([0.6, 0.3, 0.1])
    y = np.array([0.0, 1.0, 2.0])

    def expected(m):
        return obj.loss(y, np.broadcast_to(m, (3, 3)).copy(), q)

    best = minimize(expected, np.zeros(3), method="Nelder-Mead", options={"xatol": 1e-10, "fatol": 1e-14,
                                                                          "maxiter": 20000})
    np.testing.assert_allclose(obj.predict(best.x[None, :])[0], q, atol=1e-4)


def test_log_cosh_curvature_is_the_mm_weight_above_the_guard_and_flat_below():
    obj = boostobj.log_cosh(eps=0.5)
    y = np.linspace(-40, 40, 201)
    _, h = obj.grad_hess(y, np.zeros(201))
    guard = 0.5 * obj.label_scale(y)
    a = np.maximum(np.abs(y), guard)
    np.testing.assert_allclose(h, np.tanh(a) / a, rtol=1e-12)
    assert guard > 5  # the guard is active on these labels

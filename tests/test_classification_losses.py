"""Loss-specific checks for hinge, modified Huber and expectile.

Optimal constants against brute-force minimisers written here from the
formulas (not the library's solvers); expectile(0.5) against squared error;
the hinge loss's missing probabilities; modified Huber's probabilities
against scikit-learn's own ``SGDClassifier(loss="modified_huber")``.
"""

from __future__ import annotations

import numpy as np
import pytest
import xgboost as xgb
from scipy.optimize import minimize_scalar

import boostobj
from boostobj import sklearn as bsk


def _expectile_loss(y, w, c, a):
    r = y - c
    return np.sum(w * np.where(r < 0, 1 - a, a) * r**2)


def _expectile_by_iteration(y, w, a):
    """Newey & Powell's asymmetric least squares iteration: reweight, take the mean, repeat.

    The weights take finitely many patterns, so it stops at the exact root.
    """
    c = np.average(y, weights=w)
    for _ in range(1000):
        new = np.average(y, weights=w * np.where(y < c, 1 - a, a))
        if new == c:
            break
        c = new
    return c


@pytest.mark.parametrize("alpha", [0.05, 0.3, 0.5, 0.9])
def test_expectile_start_is_the_brute_force_minimiser(alpha):
    rng = np.random.default_rng(0)
    y = rng.standard_t(3, 300) * 5 + 2
    w = rng.uniform(0.2, 3, 300)
    best = minimize_scalar(lambda c: _expectile_loss(y, w, c, alpha), bounds=(y.min(), y.max()),
                           method="bounded", options={"xatol": 1e-12})
    exact = _expectile_by_iteration(y, w, alpha)
    assert exact == pytest.approx(best.x, abs=1e-6)  # the two brute-force answers agree
    c = boostobj.expectile(alpha).init_score(y, w)
    assert c == pytest.approx(exact, rel=1e-12, abs=1e-12)
    assert _expectile_loss(y, w, c, alpha) <= _expectile_loss(y, w, best.x, alpha)
    multi = boostobj.expectile([alpha, 0.95]).init_score(y, w)
    assert multi[0] == pytest.approx(exact, rel=1e-12) and multi[1] > multi[0]


def test_expectile_start_on_ties_and_zero_weights():
    y = np.array([1.0, 1.0, 1.0, 5.0, 100.0])
    w = np.array([1.0, 2.0, 0.5, 1.0, 0.0])  # the zero-weight row must not count
    for a in (0.2, 0.7):
        assert boostobj.expectile(a).init_score(y, w) == pytest.approx(_expectile_by_iteration(y, w, a), rel=1e-12)


def test_expectile_half_is_squared_error():
    rng = np.random.default_rng(1)
    y, m, w = rng.normal(size=200) * 7, rng.normal(size=200) * 7, rng.uniform(0.5, 2, 200)
    ex, sq = boostobj.expectile(0.5), boostobj.squared_error()
    for a, b in zip(ex.grad_hess(y, m, w), sq.grad_hess(y, m, w)):
        np.testing.assert_array_equal(a, b)
    assert ex.loss(y, m, w) == sq.loss(y, m, w)
    assert ex.init_score(y, w) == pytest.approx(np.average(y, weights=w), rel=1e-13)
    X = rng.normal(size=(200, 3))
    params = {"max_depth": 3, "nthread": 1, "disable_default_eval_metric": 1, "base_score": sq.init_score(y, w)}
    d = xgb.DMatrix(X, y, weight=w)
    np.testing.assert_allclose(xgb.train(params, d, 10, obj=ex).predict(d), xgb.train(params, d, 10, obj=sq).predict(d),
                               rtol=1e-6)


def test_multi_expectile_is_sorted_and_ordered_like_its_levels():
    rng = np.random.default_rng(2)
    X = rng.uniform(-2, 2, size=(500, 2))
    y = X[:, 0] + (1 + np.abs(X[:, 1])) * rng.normal(size=500)
    model = bsk.LGBMRegressor(objective=boostobj.expectile([0.1, 0.5, 0.9]), n_estimators=30, n_jobs=1,
                              verbose=-1)
    pred = model.fit(X, y).predict(X)
    assert pred.shape == (500, 3) and (np.diff(pred, axis=1) >= 0).all()
    # the level-0.1 expectile sits below the mean, 0.9 above, by a margin
    assert np.mean(y < pred[:, 0]) < 0.4 < 0.6 < np.mean(y < pred[:, 2])


def _hinge(z):
    return np.maximum(0, 1 - z)


def _modified_huber(z):
    return np.where(z >= 1, 0, np.where(z >= -1, (1 - z) ** 2, -4 * z))


@pytest.mark.parametrize("make, ref", [(boostobj.hinge, _hinge), (boostobj.modified_huber, _modified_huber)],
                         ids=["hinge", "modified_huber"])
@pytest.mark.parametrize("p", [0.1, 0.5, 0.7])
def test_binary_start_is_the_brute_force_minimiser(make, ref, p):
    rng = np.random.default_rng(3)
    y = (rng.random(400) < p).astype(float)
    w = rng.uniform(0.5, 2, 400)
    grid = np.linspace(-3, 3, 6001)
    total = (w[:, None] * ref((2 * y - 1)[:, None] * grid[None, :])).sum(axis=0)
    best = grid[np.argmin(total)]
    c = make().init_score(y, w)
    assert np.sum(w * ref((2 * y - 1) * c)) <= min(total) + 1e-9
    if make is boostobj.modified_huber or abs(best) < 0.999:  # hinge: exactly +-1 on an imbalance
        assert c == pytest.approx(best, abs=1e-3)
    else:
        assert c == np.sign(best)


@pytest.mark.parametrize("make, ref, guard", [(boostobj.hinge, _hinge, 0.5), (boostobj.modified_huber, _modified_huber, 0.0)],
                         ids=["hinge", "modified_huber"])
def test_mm_curvature_majorizes_the_binary_loss(make, ref, guard):
    """l(m) <= l(m0) + g (m - m0) + h (m - m0)^2 / 2 for every m (outside the hinge guard)."""
    obj = make()
    rng = np.random.default_rng(4)
    y = rng.integers(0, 2, 300).astype(float)
    m0 = rng.uniform(-6, 6, 300)
    g, h = obj.grad_hess(y, m0)
    ok = np.abs(1 - (2 * y - 1) * m0) >= guard
    y, m0, g, h = y[ok], m0[ok], g[ok], h[ok]
    s = 2 * y - 1
    base = ref(s * m0)
    for delta in np.linspace(-15, 15, 121):
        assert (ref(s * (m0 + delta)) <= base + g * delta + 0.5 * h * delta**2 + 1e-9).all()


def test_modified_huber_curvature_is_exact_inside_and_tight_outside():
    z = np.array([-5.0, -1.0, 0.0, 0.99, 1.0, 4.0])
    _, h = boostobj.modified_huber().grad_hess(np.ones(6), z)
    np.testing.assert_allclose(h, [4 / 6, 2, 2, 2, 2, 0.5])


@pytest.mark.parametrize("cls", [bsk.XGBClassifier, bsk.LGBMClassifier], ids=["xgboost", "lightgbm"])
def test_hinge_drop_ins_have_no_predict_proba_and_calibrate(cls):
    from sklearn.calibration import CalibratedClassifierCV

    rng = np.random.default_rng(5)
    X = rng.normal(size=(300, 3))
    y = np.where(X[:, 0] - X[:, 1] + 0.5 * rng.normal(size=300) > 0, "yes", "no")
    kw = {"verbose": -1, "n_jobs": 1} if cls is bsk.LGBMClassifier else {"n_jobs": 1}
    model = cls(objective=boostobj.hinge(), n_estimators=20, **kw).fit(X, y)
    assert not hasattr(model, "predict_proba")
    with pytest.raises(AttributeError, match="CalibratedClassifierCV"):
        model.predict_proba(X)
    margin = model.decision_function(X)
    assert margin.shape == (300,)
    np.testing.assert_array_equal(model.predict(X), np.where(margin > 0, "yes", "no"))
    assert np.mean(model.predict(X) == y) > 0.85
    calibrated = CalibratedClassifierCV(cls(objective=boostobj.hinge(), n_estimators=20, **kw), cv=3).fit(X, y)
    p = calibrated.predict_proba(X)[:, 1]
    assert 0.3 < p.mean() < 0.7 and np.mean((p > 0.5) == (y == "yes")) > 0.85


def test_modified_huber_probability_is_scikit_learns():
    from sklearn.linear_model import SGDClassifier

    rng = np.random.default_rng(6)
    X = rng.normal(size=(300, 2))
    y = (X[:, 0] + rng.normal(size=300) > 0).astype(int)
    sgd = SGDClassifier(loss="modified_huber", random_state=0).fit(X, y)
    margin = sgd.decision_function(X)
    assert np.abs(margin).max() > 1  # both the clipped and the linear part are exercised
    np.testing.assert_allclose(boostobj.modified_huber().predict(margin), sgd.predict_proba(X)[:, 1], rtol=1e-12)


@pytest.mark.parametrize("cls", [bsk.XGBClassifier, bsk.LGBMClassifier], ids=["xgboost", "lightgbm"])
def test_modified_huber_drop_in_probabilities(cls):
    rng = np.random.default_rng(7)
    X = rng.normal(size=(800, 2))
    p_true = 1 / (1 + np.exp(-2 * X[:, 0]))
    y = (rng.random(800) < p_true).astype(int)
    kw = dict(n_estimators=40, learning_rate=0.1, max_depth=2, n_jobs=1)
    if cls is bsk.LGBMClassifier:
        kw["verbose"] = -1
    model = cls(objective=boostobj.modified_huber(), **kw).fit(X, y)
    proba = model.predict_proba(X)[:, 1]
    np.testing.assert_allclose(proba, (np.clip(model.decision_function(X), -1, 1) + 1) / 2, rtol=1e-6)
    assert abs(proba.mean() - y.mean()) < 0.01  # calibration in the large
    # as close to the true P(y=1) as the built-in logistic loss (measured 0.048 vs 0.048 / 0.046)
    reference = cls(**kw).fit(X, y).predict_proba(X)[:, 1]
    assert np.mean(np.abs(proba - p_true)) < 1.1 * np.mean(np.abs(reference - p_true))


def test_lgbm_class_weight_reaches_the_start_value():
    """LightGBM passes class_weight to the objective as weights: the start must use them too."""
    import warnings

    rng = np.random.default_rng(8)
    X = rng.normal(size=(300, 2))
    y = (rng.random(300) < 0.2).astype(int)
    for obj in (boostobj.hinge(), boostobj.exponential()):
        with warnings.catch_warnings():
            warnings.simplefilter("error", boostobj.StartValueWarning)
            model = bsk.LGBMClassifier(objective=obj, class_weight="balanced", n_estimators=5, n_jobs=1,
                                       verbose=-1).fit(X, y)
        balanced = obj.init_score(y, np.where(y == 1, 300 / (2 * y.sum()), 300 / (2 * (300 - y.sum()))))
        assert model.decision_function(X[:1]).shape == (1,)
        assert abs(balanced - obj.init_score(y)) > 0.1  # the weights do move the start

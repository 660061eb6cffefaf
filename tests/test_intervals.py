"""Prediction intervals: multi-quantile without crossing, conformal coverage.

Expected values come from definitions written out here (pinball loss, order
statistics, hand-computed scores), never from the code under test. The
coverage tests train real XGBoost / LightGBM models (no mocks) on small data
with one thread each, so the file runs in seconds on 2 cores.
"""

from __future__ import annotations

import math

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st
from hypothesis.extra.numpy import arrays
from sklearn.datasets import load_diabetes
from sklearn.model_selection import train_test_split

import boostobj
from boostobj.intervals import (
    IntervalRegressor,
    conformal_quantile,
    coverage,
    interval_score,
    mean_width,
    min_calibration_rows,
)
from boostobj.sklearn import LGBMRegressor, XGBRegressor

BACKENDS = ("xgboost", "lightgbm")
ONE_THREAD = {"n_jobs": 1}  # tiny data: threads only contend on the shared 2 cores


def pinball_sum(y: np.ndarray, q: np.ndarray, alphas) -> float:
    """Mean over rows of the sum over levels of max(a r, (a - 1) r), written out."""
    total = np.zeros(len(y))
    for k, a in enumerate(alphas):
        r = y - q[:, k]
        total += np.where(r >= 0, a * r, (a - 1.0) * r)
    return float(total.mean())


def heteroscedastic(n: int, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
    """scikit-learn's interval example: y = x sin x + centred lognormal noise, sigma = 0.5 + x/10."""
    x = rng.uniform(0.0, 10.0, n)
    sigma = 0.5 + x / 10.0
    noise = rng.lognormal(sigma=sigma) - np.exp(sigma ** 2 / 2.0)
    return x[:, None], x * np.sin(x) + noise


# ---- 1. multi-quantile in one model: no crossing, sorting never hurts ----------
@st.composite
def quantile_problem(draw):
    k = draw(st.integers(2, 5))
    cuts = draw(st.lists(st.floats(0.01, 0.99), min_size=k, max_size=k, unique=True))
    alphas = sorted(cuts)
    if any(b - a < 1e-6 for a, b in zip(alphas, alphas[1:])):
        alphas = list(np.linspace(0.1, 0.9, k))
    n = draw(st.integers(1, 30))
    finite = st.floats(-1e3, 1e3, allow_nan=False, allow_infinity=False)
    y = draw(arrays(np.float64, n, elements=finite))
    margin = draw(arrays(np.float64, (n, k), elements=finite))
    return alphas, y, margin


@given(quantile_problem())
def test_sorting_never_crosses_and_never_increases_pinball(problem):
    alphas, y, margin = problem
    obj = boostobj.quantile(alphas)
    pred = np.asarray(obj.predict(margin))
    assert pred.shape == margin.shape
    assert np.all(np.diff(pred, axis=1) >= 0), "quantiles cross after predict"
    np.testing.assert_array_equal(np.sort(pred, axis=1), np.sort(margin, axis=1))  # a rearrangement
    raw, rearranged = pinball_sum(y, margin, alphas), pinball_sum(y, pred, alphas)
    assert rearranged <= raw + 1e-9 * (1.0 + abs(raw))
    # the objective's own loss is the same sum of pinball losses
    assert obj.loss(y, margin) == pytest.approx(raw, rel=1e-12, abs=1e-9)


def _raw_margin(model, X):
    if isinstance(model, XGBRegressor):
        return model.get_booster().inplace_predict(X, predict_type="margin")
    return model.booster_.predict(X, raw_score=True)  # start value is baked into the trees


@pytest.mark.parametrize("cls", [XGBRegressor, LGBMRegressor])
def test_trained_multi_quantile_never_crosses(cls):
    """Close levels on noisy data: the raw booster outputs cross on many rows,
    the model's predictions on none, and the sorted ones lose less pinball."""
    rng = np.random.default_rng(0)
    X, y = heteroscedastic(600, rng)
    Xt, yt = heteroscedastic(3000, rng)
    alphas = [0.4, 0.45, 0.5, 0.55, 0.6]
    kw = {"verbose": -1} if cls is LGBMRegressor else {}
    model = cls(objective=boostobj.quantile(alphas), n_estimators=60, max_depth=3, n_jobs=1, **kw).fit(X, y)
    raw = np.asarray(_raw_margin(model, Xt), dtype=np.float64)
    pred = model.predict(Xt)
    assert pred.shape == (3000, 5)
    assert np.mean(np.any(np.diff(raw, axis=1) < 0, axis=1)) > 0.05  # the test has something to fix
    assert np.all(np.diff(pred, axis=1) >= 0)
    assert pinball_sum(yt, pred, alphas) < pinball_sum(yt, raw, alphas)


@pytest.mark.parametrize("cls", [XGBRegressor, LGBMRegressor])
def test_one_multi_quantile_model_is_no_worse_than_separate_models(cls):
    """Sum of the three test pinball losses: one 3-output booster vs three boosters.
    (The timing comparison lives in benchmarks/intervals.py.)"""
    alphas = [0.05, 0.5, 0.95]
    kw = dict(n_estimators=60, max_depth=3, n_jobs=1, **({"verbose": -1} if cls is LGBMRegressor else {}))
    multi, separate = [], []
    for seed in range(2):
        rng = np.random.default_rng(seed)
        X, y = heteroscedastic(800, rng)
        Xt, yt = heteroscedastic(4000, rng)
        multi.append(pinball_sum(yt, cls(objective=boostobj.quantile(alphas), **kw).fit(X, y).predict(Xt), alphas))
        sep = np.column_stack([cls(objective=boostobj.quantile(a), **kw).fit(X, y).predict(Xt) for a in alphas])
        separate.append(pinball_sum(yt, sep, alphas))
    assert np.mean(multi) <= 1.01 * np.mean(separate), (multi, separate)


# ---- 2. helpers --------------------------------------------------------------
def test_coverage_width_and_interval_score_by_hand():
    y = np.array([0.0, 2.0, -1.0, 5.0])
    iv = np.array([[-1.0, 1.0], [0.0, 2.0], [0.0, 3.0], [4.0, 4.5]])
    assert coverage(y, iv) == 0.5  # rows 0 and 1 (bounds inclusive)
    assert mean_width(iv) == pytest.approx((2 + 2 + 3 + 0.5) / 4)
    # widths 2, 2, 3, 0.5; misses: row 2 by 1 below, row 3 by 0.5 above; 2/alpha = 10
    assert interval_score(y, iv, alpha=0.2) == pytest.approx((2 + 2 + (3 + 10 * 1) + (0.5 + 10 * 0.5)) / 4)


def test_interval_score_prefers_the_true_quantiles():
    rng = np.random.default_rng(0)
    y = rng.normal(size=200_000)
    z = 1.6448536269514722  # standard normal 0.95 quantile
    scores = {s: interval_score(y, np.tile([-s * z, s * z], (len(y), 1)), alpha=0.1) for s in (0.8, 1.0, 1.25)}
    assert scores[1.0] < scores[0.8] and scores[1.0] < scores[1.25]


@pytest.mark.parametrize("bad", [[[0.0, 1.0, 2.0]], np.zeros(3)])
def test_helpers_reject_bad_shapes(bad):
    with pytest.raises(ValueError, match=r"\(n, 2\)"):
        mean_width(bad)
    with pytest.raises(ValueError, match="rows"):
        coverage(np.zeros(2), np.zeros((3, 2)))
    for alpha in (0.0, 1.0, -0.1, 2.0):
        with pytest.raises(ValueError, match="alpha"):
            interval_score(np.zeros(1), np.zeros((1, 2)), alpha=alpha)


@given(st.lists(st.floats(-1e6, 1e6), min_size=1, max_size=60), st.floats(0.05, 0.95))
def test_conformal_quantile_is_the_finite_sample_order_statistic(scores, level):
    s = np.asarray(scores)
    n = len(s)
    k = math.ceil((n + 1) * level - 1e-9)
    if k > n:
        with pytest.raises(ValueError, match="calibration rows"):
            conformal_quantile(s, level)
        return
    expected = sorted(scores)[k - 1]
    assert conformal_quantile(s, level) == expected
    # equal weights (any positive value) give exactly the unweighted rule
    assert conformal_quantile(s, level, np.full(n, 3.7)) == expected


def test_conformal_quantile_weighted_by_hand():
    # scores 1..4 with weights 1, 1, 1, 5: W = 8, test point weight W/n = 2, total 10.
    # coverage 0.5 needs cumulative weight >= 5: 1, 2, 3, 8 -> the 4th score.
    assert conformal_quantile([1.0, 2.0, 3.0, 4.0], 0.5, [1, 1, 1, 5]) == 4.0
    # weights 5, 1, 1, 1: cumulative 5 reaches 5 at the first score
    assert conformal_quantile([1.0, 2.0, 3.0, 4.0], 0.5, [5, 1, 1, 1]) == 1.0
    # coverage 0.9 needs 9 > 8: the quantile would be the test point's +inf
    with pytest.raises(ValueError, match="sample_weight"):
        conformal_quantile([1.0, 2.0, 3.0, 4.0], 0.9, [1, 1, 1, 5])


def test_min_calibration_rows_is_the_boundary():
    for c in (0.5, 0.8, 0.9, 0.95, 0.99):
        n = min_calibration_rows(c)
        assert math.ceil((n + 1) * c - 1e-9) <= n
        assert n == 1 or math.ceil(n * c - 1e-9) > n - 1  # n - 1 rows are too few


# ---- 3. the estimator: coverage, adaptivity ---------------------------------
def _model(backend: str, conformal: bool, seed: int, **kw) -> IntervalRegressor:
    kw = {"n_estimators": 50, "max_depth": 3, "calibration_size": 0.5, **kw}
    return IntervalRegressor(backend=backend, coverage=0.9, conformal=conformal, random_state=seed,
                             params=ONE_THREAD, **kw)


def _mean_coverage(backend: str, splits) -> tuple[float, float]:
    conformal, raw = [], []
    for seed, (X, y, Xt, yt) in enumerate(splits):
        conformal.append(coverage(yt, _model(backend, True, seed).fit(X, y).predict_interval(Xt)))
        raw.append(coverage(yt, _model(backend, False, seed).fit(X, y).predict_interval(Xt)))
    return float(np.mean(conformal)), float(np.mean(raw))


def _heteroscedastic_splits(seeds: int = 4):
    # 1000 calibration rows per seed: the coverage given the calibration set has
    # sd ~0.0095 around 901/1001; 4 seeds x 5000 test rows put the mean's sd at ~0.005
    for seed in range(seeds):
        rng = np.random.default_rng(seed)
        yield (*heteroscedastic(2000, rng), *heteroscedastic(5000, rng))


def _diabetes_splits(seeds: int = 40):
    # 442 rows: 309 fit (154 calibration), 133 test. Per split the coverage has
    # sd ~0.035 (calibration and test draws); 40 random splits: ~0.0055 around 140/155
    X, y = load_diabetes(return_X_y=True)
    for seed in range(seeds):
        Xa, Xt, ya, yt = train_test_split(X, y, test_size=0.3, random_state=seed)
        yield Xa, ya, Xt, yt


@pytest.mark.parametrize("backend", BACKENDS)
@pytest.mark.parametrize("dataset", ["heteroscedastic", "diabetes"])
def test_conformal_coverage_is_kept(backend, dataset, record_property):
    splits = _heteroscedastic_splits() if dataset == "heteroscedastic" else _diabetes_splits()
    conformal, raw = _mean_coverage(backend, splits)
    record_property("coverage_conformal", conformal)
    record_property("coverage_raw", raw)
    print(f"{dataset}/{backend}: 90% coverage conformal {conformal:.3f}, raw {raw:.3f}")
    assert 0.88 <= conformal <= 0.92, f"conformal {conformal:.3f} (raw {raw:.3f})"


@pytest.mark.parametrize("backend", BACKENDS)
def test_intervals_are_wider_where_the_noise_is_larger(backend):
    rng = np.random.default_rng(1)
    X, y = heteroscedastic(2000, rng)
    # the extreme quantiles need more rounds than the coverage tests to take shape
    model = _model(backend, True, 0, n_estimators=200).fit(X, y)
    grid = np.linspace(0.0, 10.0, 201)[:, None]
    width = np.diff(model.predict_interval(grid), axis=1)[:, 0]
    low, high = width[grid[:, 0] < 3].mean(), width[grid[:, 0] > 7].mean()
    # the true 5%-95% width of the noise: about 2.6 on x in [0, 3], 9.2 on [7, 10];
    # a constant-width interval would give a ratio of 1
    assert high > 1.6 * low, (low, high)


@pytest.mark.parametrize("backend", BACKENDS)
def test_fit_and_predict_contract(backend):
    rng = np.random.default_rng(2)
    X, y = heteroscedastic(400, rng)
    model = _model(backend, True, 0).fit(X, y)
    q = model.predict_quantiles(X)
    iv = model.predict_interval(X)
    assert q.shape == (400, 3) and iv.shape == (400, 2) and model.predict(X).shape == (400,)
    assert model.quantiles_ == pytest.approx((0.05, 0.5, 0.95))
    assert np.all(np.diff(q, axis=1) >= 0)
    np.testing.assert_array_equal(model.predict(X), q[:, 1])
    c = model.correction_
    if c >= 0:
        np.testing.assert_allclose(iv, np.column_stack([q[:, 0] - c, q[:, 2] + c]))
    assert np.all(iv[:, 0] <= iv[:, 1])
    assert model.n_calibration_ == 200
    raw = _model(backend, False, 0).fit(X, y)
    assert raw.n_calibration_ == 0 and raw.correction_ == 0.0
    np.testing.assert_array_equal(raw.predict_interval(X), raw.predict_quantiles(X)[:, [0, 2]])


def test_equal_sample_weights_change_nothing():
    rng = np.random.default_rng(3)
    X, y = heteroscedastic(400, rng)
    a = _model("lightgbm", True, 0).fit(X, y)
    b = _model("lightgbm", True, 0).fit(X, y, sample_weight=np.full(400, 2.5))
    np.testing.assert_allclose(a.predict_interval(X), b.predict_interval(X), rtol=1e-6, atol=1e-9)


def test_weighted_calibration_targets_the_weighted_distribution():
    """Importance weights w(x) = density ratio of a shifted test distribution:
    the weighted conformal interval covers 90% of draws from that distribution."""
    conf, seeds = [], 4
    for seed in range(seeds):
        rng = np.random.default_rng(seed)
        X, y = heteroscedastic(3000, rng)
        w = np.exp(X[:, 0] / 2.5)  # test x has density proportional to exp(x / 2.5) on [0, 10]
        u = rng.uniform(size=20000)
        xt = 2.5 * np.log1p(u * (np.exp(10 / 2.5) - 1))  # inverse-CDF draw from that density
        sigma = 0.5 + xt / 10
        yt = xt * np.sin(xt) + rng.lognormal(sigma=sigma) - np.exp(sigma ** 2 / 2)
        model = _model("lightgbm", True, seed).fit(X, y, sample_weight=w)
        conf.append(coverage(yt, model.predict_interval(xt[:, None])))
    assert 0.87 <= np.mean(conf) <= 0.93, conf


# ---- 4. bad input ----------------------------------------------------------------
@pytest.fixture(scope="module")
def small():
    rng = np.random.default_rng(4)
    return heteroscedastic(200, rng)


@pytest.mark.parametrize("value", [0.0, 1.0, -0.5, 1.5, float("nan"), "0.9", None])
def test_bad_coverage(small, value):
    with pytest.raises(ValueError, match=r"coverage .*\(0, 1\)"):
        IntervalRegressor(coverage=value).fit(*small)


@pytest.mark.parametrize("value", [0.0, 1.0, -0.1, 2.0, float("inf"), None])
def test_bad_calibration_size(small, value):
    with pytest.raises(ValueError, match=r"calibration_size .*\(0, 1\)"):
        IntervalRegressor(calibration_size=value).fit(*small)


def test_unknown_backend(small):
    with pytest.raises(ValueError, match=r"backend must be one of \('xgboost', 'lightgbm'\)"):
        IntervalRegressor(backend="catboost").fit(*small)


def test_unknown_device(small):
    with pytest.raises(ValueError, match="device"):
        IntervalRegressor(device="tpu").fit(*small)


@pytest.mark.parametrize("n,calibration_size,level", [(30, 0.25, 0.9), (70, 0.25, 0.95), (8, 0.5, 0.9)])
def test_too_few_calibration_rows(n, calibration_size, level):
    X, y = heteroscedastic(n, np.random.default_rng(5))
    need = math.ceil(level / (1 - level) - 1e-9)  # smallest m with ceil((m + 1) level) <= m
    with pytest.raises(ValueError, match=rf"calibration rows.*at least {need}"):
        IntervalRegressor(coverage=level, calibration_size=calibration_size).fit(X, y)
    # the same rows are fine without the conformal step
    IntervalRegressor(coverage=level, conformal=False, n_estimators=5, params=ONE_THREAD).fit(X, y)


@pytest.mark.parametrize("backend", BACKENDS)
@pytest.mark.parametrize("bad", [np.nan, np.inf])
def test_non_finite_labels(small, backend, bad):
    X, y = small
    y = y.copy()
    y[3] = bad
    with pytest.raises(ValueError, match="y"):
        IntervalRegressor(backend=backend).fit(X, y)


@pytest.mark.parametrize("w", [lambda n: -np.ones(n), lambda n: np.full(n, np.nan), lambda n: np.ones(n - 1),
                               lambda n: np.zeros(n)])
def test_bad_sample_weight(small, w):
    X, y = small
    with pytest.raises(ValueError, match="[Ss]ample.weight|sample_weight|weight"):
        IntervalRegressor(backend="lightgbm").fit(X, y, sample_weight=w(len(y)))


def test_wrong_feature_count_at_predict(small):
    model = _model("lightgbm", True, 0).fit(*small)
    with pytest.raises(ValueError, match="features"):
        model.predict_interval(np.zeros((3, 2)))

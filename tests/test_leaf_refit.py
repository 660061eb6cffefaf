"""The exact leaf refit of the LightGBM drop-ins (boostobj.leaf_refit), trained for real.

Every check recomputes what the refit must give from the finished model
(its predictions before a tree, the tree's leaf of each row) with NumPy's
own weighted quantile, independently of ``grouped_weighted_quantile``.
"""

from __future__ import annotations

import subprocess
import sys
import warnings

import lightgbm as lgb
import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from sklearn.base import clone

import boostobj
from boostobj.leaf_refit import LeafRefit, builtin_metrics, refit_blockers
from boostobj.losses import grouped_weighted_quantile
from boostobj.sklearn import LGBMRegressor
from refit_common import (assert_two_threads_train_what_one_does, count_pred_leaf, short_tail_ratios, skewed,
                          small_leaf_factor)

KW = dict(n_estimators=30, learning_rate=0.1, num_leaves=8, max_depth=3, verbose=-1, n_jobs=1)


def assert_leaves_are_quantiles(model, X, y, alphas, iterations, weight=None, lam=0.0, prior=0.5):
    """Leaf i of tree (t, k) is lr x the weighted alpha_k quantile of its rows' residuals before t
    (times W / (W + lambda), and shrunk by ``prior`` where the leaf is too small for its level)."""
    booster = model.booster_
    k = booster.num_model_per_iteration()
    lr = model.learning_rate
    checked = 0
    for t in iterations:
        before = booster.predict(X, num_iteration=t, raw_score=True).reshape(len(y), k)
        leaf = booster.predict(X, start_iteration=t, num_iteration=1, pred_leaf=True).reshape(len(y), k)
        for j, a in enumerate(alphas):
            r = y - before[:, j]
            for i in np.unique(leaf[:, j]):
                rows = leaf[:, j] == i
                w = None if weight is None else weight[rows]
                q = np.quantile(r[rows], a, weights=w, method="inverted_cdf")
                # lambda and the small-leaf prior count the user's weights: a weight of 2 is two rows
                total = rows.sum() if weight is None else weight[rows].sum()
                expected = lr * q * small_leaf_factor(total, a, prior) * total / (total + lam)
                got = booster.get_leaf_output(t * k + j, int(i))
                assert got == pytest.approx(expected, rel=1e-6, abs=1e-9), (t, j, i)
                checked += 1
    assert checked > len(iterations) * len(alphas)  # the trees split: there was something to refit


@given(n=st.integers(1, 80), groups=st.integers(1, 6), q=st.floats(0.001, 0.999),
       seed=st.integers(0, 2**32 - 1), weighted=st.booleans(), sort_rows=st.sampled_from([0, 1 << 12]))
@settings(max_examples=150, deadline=None)
def test_grouped_quantile_equals_numpy_per_group(n, groups, q, seed, weighted, sort_rows):
    """Both unweighted routes (one sort of all rows, or a selection per group: sort_rows 0 forces
    the second) and the weighted one."""
    import boostobj.weighted

    boostobj.weighted._SORT_ROWS, saved = sort_rows, boostobj.weighted._SORT_ROWS
    try:
        _check_grouped_quantile(n, groups, q, seed, weighted)
    finally:
        boostobj.weighted._SORT_ROWS = saved


@pytest.mark.skipif(not boostobj._compiled.available(), reason="the compiled pass")
@given(n=st.integers(1, 4000), groups=st.integers(1, 9), q=st.floats(0.0001, 0.9999),
       seed=st.integers(0, 2**32 - 1), digits=st.integers(0, 3), order=st.sampled_from(["random", "up", "down"]))
@settings(max_examples=150, deadline=None)
def test_compiled_grouped_quantile_equals_numpy_per_group(n, groups, q, seed, digits, order):
    """The refit's compiled pass (counting sort by group, a selection per group, which narrows a
    group of over 600 rows to a sample first): each group's inverted-CDF quantile and row count,
    NaN and 0 for a group without rows; ties and already ordered rows included."""
    from boostobj import _compiled

    rng = np.random.default_rng(seed)
    v = rng.normal(size=n).round(digits)
    v = {"random": v, "up": np.sort(v), "down": np.sort(v)[::-1]}[order]
    g = rng.integers(0, groups, n)
    out, counts = _compiled.grouped_quantile(v, g, groups, q)
    for j in range(groups):
        rows = g == j
        assert counts[j] == rows.sum()
        if not rows.any():
            assert np.isnan(out[j])
        else:
            assert out[j] == np.quantile(v[rows], q, method="inverted_cdf")


def _check_grouped_quantile(n, groups, q, seed, weighted):
    rng = np.random.default_rng(seed)
    v = rng.normal(size=n).round(1)  # ties
    g = rng.integers(0, groups, n)
    w = rng.integers(0, 4, n).astype(float) if weighted else None
    out = grouped_weighted_quantile(v, w, g, groups, q)
    same, totals = grouped_weighted_quantile(v, w, g, groups, q, with_totals=True)
    np.testing.assert_array_equal(same, out)
    for j in range(groups):
        rows = (g == j) if w is None else (g == j) & (w > 0)
        # the totals the small-leaf prior reads: rows, or the weight of positive-weight rows
        assert totals[j] == pytest.approx(rows.sum() if w is None else w[rows].sum(), rel=1e-12)
        if not rows.any():
            assert np.isnan(out[j])
        else:
            expected = np.quantile(v[rows], q, weights=None if w is None else w[rows], method="inverted_cdf")
            assert out[j] == expected


@pytest.mark.parametrize("alpha", [0.05, 0.5, 0.95])
def test_every_leaf_is_the_scaled_residual_quantile(alpha):
    X, y = skewed(600, 0)
    m = LGBMRegressor(objective=boostobj.quantile(alpha), **KW).fit(X, y)
    assert_leaves_are_quantiles(m, X, y, [alpha], [1, 2, 15, 29])


@pytest.mark.parametrize("prior", [0.5, 0.0, 2.0])
def test_leaves_too_small_for_their_level_are_shrunk_by_refit_prior(prior):
    # alpha 0.02: a leaf needs 50 rows to hold one beyond its quantile; LightGBM's leaves
    # have at least min_child_samples=20 rows, so many of 300 rows' leaves are smaller
    X, y = skewed(300, 11)
    m = LGBMRegressor(objective=boostobj.quantile(0.02, refit_prior=prior), **KW).fit(X, y)
    assert_leaves_are_quantiles(m, X, y, [0.02], [1, 5, 20], prior=prior)
    leaf = m.booster_.predict(X, start_iteration=5, num_iteration=1, pred_leaf=True).ravel()
    assert np.bincount(leaf).min() < 50  # the prior had a leaf to act on


def test_weights_lambda_and_multi_quantile_leaves():
    X, y = skewed(500, 1)
    w = np.random.default_rng(2).uniform(0.2, 3.0, len(y))
    alphas = [0.1, 0.5, 0.9]
    m = LGBMRegressor(objective=boostobj.quantile(alphas), reg_lambda=20.0, **KW).fit(X, y, sample_weight=w)
    assert_leaves_are_quantiles(m, X, y, alphas, [1, 10, 29], weight=w, lam=20.0)


def test_refit_beats_newton_leaves_on_the_short_tail_and_matches_the_builtin():
    ratios = short_tail_ratios(lambda obj, **kw: LGBMRegressor(objective=obj, **kw),
                               lambda **kw: lgb.LGBMRegressor(objective="quantile", alpha=0.05, **kw), KW)
    assert np.mean(ratios) <= 1.02, ratios


def test_the_default_grows_with_the_refit_guard():
    """quantile(alpha) grows the refit trees on the flat guard; an explicit eps is kept."""
    X, y = skewed(500, 17)
    fit = lambda obj, **kw: LGBMRegressor(objective=obj, **KW, **kw).fit(X, y).predict(X)  # noqa: E731
    default = fit(boostobj.quantile(0.1))
    assert not np.allclose(default, fit(boostobj.quantile(0.1, eps=0.5)))
    # the grower's curvature is eps / (eps + |r|), eps = 64 label scales: nearly flat near the fit
    grower = boostobj.quantile(0.1).base_loss.for_leaf_refit()
    g, h = grower.grad_curvature(np, y, np.full_like(y, np.median(y)), 1.0)
    r = y - np.median(y)
    np.testing.assert_allclose(h, 64.0 / (64.0 + np.abs(r)), rtol=1e-15)
    np.testing.assert_array_equal(g, np.where(r <= 0, 0.9, -0.1))
    newton = fit(boostobj.quantile(0.1), leaf_refit=False)
    np.testing.assert_array_equal(newton, fit(boostobj.quantile(0.1, eps=0.5), leaf_refit=False))


@pytest.mark.parametrize("alpha", [0.01, 0.5, [0.05, 0.95]])
def test_refit_models_are_scale_equivariant(alpha):
    X, y = skewed(200, 20)  # small data, extreme level: many exactly tied splits
    kw = {**KW, "n_estimators": 100, "min_child_samples": 5}
    a = LGBMRegressor(objective=boostobj.quantile(alpha), **kw).fit(X, y).predict(X)
    b = LGBMRegressor(objective=boostobj.quantile(alpha), **kw).fit(X, 1000 * y).predict(X) / 1000
    np.testing.assert_allclose(a, b, rtol=1e-5, atol=1e-5 * np.abs(a).max())


def test_eval_results_and_early_stopping_see_the_refit_model():
    X, y = skewed(600, 5)
    Xv, yv = skewed(400, 6)
    obj = boostobj.quantile(0.1)
    m = LGBMRegressor(objective=obj, **{**KW, "n_estimators": 200}).fit(
        X, y, eval_set=[(Xv, yv), (X, y)], callbacks=[lgb.early_stopping(10, verbose=False)])
    res = m.evals_result_
    (name,) = res["valid_0"]
    assert 10 < m.best_iteration_ < 200  # it stopped early
    # LightGBM keeps the trees up to best_iteration only
    for it in (1, 5, m.best_iteration_ - 1, m.best_iteration_):
        assert res["valid_0"][name][it - 1] == pytest.approx(obj.loss(yv, m.predict(Xv, num_iteration=it)), rel=1e-6)
        assert res["training"][name][it - 1] == pytest.approx(obj.loss(y, m.predict(X, num_iteration=it)), rel=1e-6)
    scores = res["valid_0"][name]
    assert m.best_iteration_ == int(np.argmin(scores)) + 1
    np.testing.assert_array_equal(m.predict(Xv), m.predict(Xv, num_iteration=m.best_iteration_))


@pytest.mark.parametrize("as_list", [False, True])
def test_eval_X_eval_y_are_read_as_lightgbm_reads_them(as_list):
    """LightGBM >= 4.7's eval_X / eval_y: one set, a plain list of labels included; tuples are several."""
    if "eval_X" not in LGBMRegressor.fit.__doc__ + lgb.LGBMRegressor.fit.__doc__:
        pytest.skip("this LightGBM has no eval_X / eval_y")
    X, y = skewed(400, 21)
    Xv, yv = skewed(200, 22)
    obj = boostobj.quantile(0.2)
    one = list(yv) if as_list else yv
    m = LGBMRegressor(objective=obj, **KW).fit(X, y, eval_X=Xv, eval_y=one)
    (name,) = m.evals_result_["valid_0"]
    assert m.evals_result_["valid_0"][name][-1] == pytest.approx(obj.loss(yv, m.predict(Xv)), rel=1e-6)
    two = LGBMRegressor(objective=obj, **KW).fit(X, y, eval_X=(Xv, X[:100]), eval_y=(yv, y[:100]))
    assert two.evals_result_["valid_1"][name][-1] == pytest.approx(
        obj.loss(y[:100], two.predict(X[:100])), rel=1e-6)


def test_continued_training_refits_from_the_saved_model(tmp_path):
    X, y = skewed(500, 7)
    first = LGBMRegressor(objective=boostobj.quantile(0.2), **KW).fit(X, y)
    path = tmp_path / "model.txt"
    first.booster_.save_model(str(path))
    more = LGBMRegressor(objective=boostobj.quantile(0.2), **{**KW, "n_estimators": 10}).fit(
        X, y, init_model=str(path))
    assert more.booster_.current_iteration() == 40
    assert_leaves_are_quantiles(more, X, y, [0.2], [30, 31, 39])


def test_saved_model_predicts_the_same_in_a_fresh_process(tmp_path):
    X, y = skewed(400, 8)
    m = LGBMRegressor(objective=boostobj.quantile(0.9), **KW).fit(X, y)
    np.save(tmp_path / "X.npy", X)
    m.booster_.save_model(str(tmp_path / "m.txt"))
    code = ("import sys, numpy as np, lightgbm as lgb; d = sys.argv[1]; "
            "np.save(d + '/p.npy', lgb.Booster(model_file=d + '/m.txt').predict(np.load(d + '/X.npy')))")
    subprocess.run([sys.executable, "-c", code, str(tmp_path)], check=True, timeout=120)
    np.testing.assert_allclose(np.load(tmp_path / "p.npy"), m.predict(X), rtol=1e-12, atol=1e-12)


def test_integer_weights_equal_repeated_rows():
    X, y = skewed(150, 9)
    X = np.round(X * 2) / 2  # few distinct values: the same histogram bins either way
    w = np.random.default_rng(10).integers(1, 4, len(y))
    # LightGBM counts rows, not weights, in min_data_in_leaf and min_data_in_bin
    kw = {**KW, "min_child_samples": 1, "min_data_in_bin": 1, "n_estimators": 5}
    obj = boostobj.quantile(0.25)
    weighted = LGBMRegressor(objective=obj, **kw).fit(X, y, sample_weight=w.astype(float)).predict(X)
    repeated = LGBMRegressor(objective=obj, **kw).fit(np.repeat(X, w, 0), np.repeat(y, w)).predict(X)
    unweighted = LGBMRegressor(objective=obj, **kw).fit(X, y).predict(X)
    np.testing.assert_allclose(weighted, repeated, rtol=1e-6, atol=1e-6)
    assert np.abs(weighted - unweighted).max() > 0.1


@pytest.mark.parametrize("setting", [{"boosting_type": "dart"}, {"monotone_constraints": [1, 0]},
                                     {"linear_tree": True}, {"leaf_refit": False}])
def test_no_refit_where_it_would_not_be_exact(setting):
    X, y = skewed(300, 11)
    a = LGBMRegressor(objective=boostobj.quantile(0.3), random_state=0, **KW, **setting).fit(X, y)
    off = {**setting, "leaf_refit": False}
    b = LGBMRegressor(objective=boostobj.quantile(0.3), random_state=0, **KW, **off).fit(X, y)
    np.testing.assert_array_equal(a.predict(X), b.predict(X))
    c = LGBMRegressor(objective=boostobj.quantile(0.3), random_state=0, **KW).fit(X, y)
    assert not np.allclose(a.predict(X), c.predict(X))  # the default refits, and that differs


def test_builtin_metric_warns_and_trains_without_refit():
    X, y = skewed(300, 12)
    with pytest.warns(UserWarning, match="leaf_refit=False"):
        a = LGBMRegressor(objective=boostobj.quantile(0.3), metric="l1", **KW).fit(X, y, eval_set=[(X[:50], y[:50])])
    b = LGBMRegressor(objective=boostobj.quantile(0.3), leaf_refit=False, metric="l1", **KW).fit(
        X, y, eval_set=[(X[:50], y[:50])])
    np.testing.assert_array_equal(a.predict(X), b.predict(X))


def test_param_is_an_estimator_param_lightgbm_never_sees():
    X, y = skewed(200, 13)
    m = LGBMRegressor(objective=boostobj.quantile(0.3), leaf_refit=False, **KW)
    assert clone(m).get_params()["leaf_refit"] is False
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # LightGBM warns on unknown parameters
        m.fit(X, y)
    assert "leaf_refit" not in m.booster_.params


def test_two_threads_train_what_one_does():
    assert_two_threads_train_what_one_does(LGBMRegressor(objective=boostobj.quantile(0.1), **KW),
                                           [skewed(400, s) for s in (14, 15)])


def test_interval_regressor_inherits_the_refit():
    X, y = skewed(600, 16)
    m = boostobj.IntervalRegressor(backend="lightgbm", n_estimators=20, conformal=False, random_state=0,
                                   max_depth=3).fit(X, y)
    model = m.model_
    alphas = list(model.objective.base_loss._alphas)
    assert_leaves_are_quantiles(model, X, y, alphas, [1, 19])


def test_lgb_train_with_the_callback():
    """The native entry point, as the module docstring shows it: leaves refit, eval on the refit model."""
    X, y = skewed(500, 18)
    Xv, yv = skewed(300, 19)
    obj = boostobj.quantile(0.1)
    grower = obj.with_loss(obj.base_loss.for_leaf_refit())
    train = obj.dataset(X, y)
    evals: dict = {}
    bst = lgb.train({"objective": grower, "metric": "None", "verbose": -1, "num_threads": 1,
                     "num_leaves": 8, "max_depth": 3}, train, 20,
                    valid_sets=[obj.dataset(Xv, yv, reference=train)], feval=obj.metric,
                    callbacks=[LeafRefit(obj.base_loss, X, [Xv]), lgb.record_evaluation(evals)])
    start = obj.init_score(y)
    for t in (1, 10, 19):
        before = bst.predict(X, num_iteration=t) + start
        leaf = bst.predict(X, start_iteration=t, num_iteration=1, pred_leaf=True).ravel()
        for i in np.unique(leaf):
            q = np.quantile((y - before)[leaf == i], 0.1, method="inverted_cdf")
            assert bst.get_leaf_output(t, int(i)) == pytest.approx(0.1 * q, rel=1e-6, abs=1e-9)
    (name,) = evals["valid_0"]
    assert evals["valid_0"][name][-1] == pytest.approx(obj.loss(yv, bst.predict(Xv) + start), rel=1e-6)


@pytest.mark.parametrize("weights, message", [
    (np.where(np.arange(300) < 150, -1.0, 1.0), "must be >= 0"),
    (np.full(300, np.nan), "NaN or inf"),
    (np.ones(5), "sample_weight has 5 values but y has 300 rows"),
])
def test_bad_weights_get_their_own_message_under_the_refit(weights, message):
    X, y = skewed(300, 23)
    with warnings.catch_warnings():
        warnings.simplefilter("error", RuntimeWarning)  # no 0/0 on the way to the error
        with pytest.raises(ValueError, match=message):
            LGBMRegressor(objective=boostobj.quantile(0.3), **KW).fit(X, y, sample_weight=weights)


def test_helpers_name_what_blocks_the_refit():
    assert refit_blockers({"boosting_type": "gbdt"}) == []
    assert "rescales" in refit_blockers({"boosting": "rf"})[0]
    assert refit_blockers({"monotone_constraints": [0, 0]}) == []
    assert builtin_metrics({"metric": "None"}, None) == []
    assert builtin_metrics({"metric": ["l1", "quantile"]}, ["l2", len]) == ["l1", "quantile", "l2"]
    with pytest.raises(ValueError, match="no exact leaf refit"):
        LeafRefit(boostobj.huber(1.0).base_loss, np.zeros((3, 1)))


@pytest.mark.parametrize("compiled", [True, False])
@given(n=st.integers(1, 300), n_leaves=st.integers(1, 100), dtype=st.sampled_from([np.float32, np.float64]),
       scale=st.sampled_from([1e-3, 1.0, 1e6]), seed=st.integers(0, 2**32 - 1))
@settings(max_examples=80, deadline=None)
def test_leaves_read_off_cached_sums_are_the_true_leaves_or_none(compiled, n, n_leaves, dtype, scale, seed):
    """Both frameworks' refits find each row's leaf from their caches (before + leaf value == after);
    the compiled and the NumPy reading give the row's true leaf, or None where two leaves would fit
    (compiled: up to 8 leaves, up to 64, and more, each its own kernel)."""
    from boostobj import _compiled
    from boostobj.leaf_refit import leaves_from_sums

    if compiled and not _compiled.ENABLED:
        pytest.skip("numba is not installed or BOOSTOBJ_NUMBA=0")
    rng = np.random.default_rng(seed)
    before = (scale * rng.normal(size=n)).astype(dtype)
    values = (0.1 * scale * rng.normal(size=n_leaves)).astype(dtype)
    ids = rng.permutation(200)[:n_leaves]  # leaf ids need not be 0..L-1 (XGBoost's node ids)
    truth = rng.integers(0, n_leaves, n)
    after = before + values[truth]
    with pytest.MonkeyPatch.context() as mp:
        mp.setattr(_compiled, "ENABLED", compiled)
        got = leaves_from_sums(before, after, ids, values)
    ambiguous = any(np.any((before + values[j] == after) & (truth != j)) for j in range(n_leaves))
    if got is None:
        assert ambiguous or len(np.unique(values)) < n_leaves
    else:
        assert not ambiguous
        np.testing.assert_array_equal(got, ids[truth])


def test_leaves_come_from_lightgbms_cached_scores_not_from_passes_over_the_data(monkeypatch):
    """LightGBM's refit asks pred_leaf (row by row over the raw data) only where its cached scores
    cannot tell: never here, for the training set or the eval set."""
    X, y = skewed(2000, 27)
    Xv, yv = skewed(1000, 28)
    asked = count_pred_leaf(monkeypatch, lgb.Booster, len)
    m = LGBMRegressor(objective=boostobj.quantile(0.2), **KW).fit(X, y, eval_set=[(Xv, yv)])
    assert asked == []
    assert_leaves_are_quantiles(m, X, y, [0.2], [1, 29])

"""The exact leaf refit for XGBoost (boostobj.leaf_refit.XGBLeafRefit), trained for real.

Every check recomputes what the refit must give from the finished model (the
margins before a round, each row's leaf in that round's trees, the trees'
values) with NumPy's own weighted quantile, independently of
``grouped_weighted_quantile`` and of the refit's own bookkeeping.
"""

from __future__ import annotations

import json
import pickle
import subprocess
import sys
import warnings

import numpy as np
import pytest
import xgboost as xgb
from sklearn.base import clone

import boostobj
from boostobj.leaf_refit import XGBLeafRefit, xgb_refit_blockers
from boostobj.sklearn import XGBRegressor
from refit_common import (assert_two_threads_train_what_one_does, count_pred_leaf, pinball, small_leaf_factor,
                          short_tail_ratios, skewed)

KW = dict(n_estimators=30, learning_rate=0.1, max_depth=3, n_jobs=1, tree_method="hist")


def assert_leaves_are_quantiles(bst: xgb.Booster, X, y, alphas, rounds, lr=0.1, lam=1.0, weight=None,
                                etas=None, prior=0.5) -> None:
    """Each leaf of round t's tree k is eta_t x the weighted alpha_k quantile of its rows' residuals
    before round t, times W / (W + lambda) for its rows' weight W (and shrunk by ``prior`` where
    the leaf is too small for its level)."""
    d = xgb.DMatrix(X)
    k = len(alphas)
    base = np.asarray(json.loads(bst.save_config())["learner"]["learner_model_param"]["base_score"]
                      .strip("[]").split(","), dtype=np.float64)
    checked = 0
    for t in rounds:
        before = (bst[:t].predict(d, output_margin=True) if t else np.broadcast_to(base, (len(y), k)))
        before = np.asarray(before, dtype=np.float64).reshape(len(y), k)
        one = bst[t:t + 1]
        leaf = one.predict(d, pred_leaf=True).reshape(len(y), k)
        value = (one.predict(d, output_margin=True).reshape(len(y), k) - base).astype(np.float64)
        eta = lr if etas is None else etas[t]
        for j, a in enumerate(alphas):
            r = y - before[:, j]
            for i in np.unique(leaf[:, j]):
                rows = leaf[:, j] == i
                w = None if weight is None else weight[rows]
                q = np.quantile(r[rows], a, weights=w, method="inverted_cdf")
                total = rows.sum() if weight is None else weight[rows].sum()
                expected = eta * q * small_leaf_factor(total, a, prior) * total / (total + lam)
                got = value[rows, j]
                np.testing.assert_allclose(got, expected, rtol=2e-6, atol=2e-6 * (1 + abs(base[j])),
                                           err_msg=str((t, j, i)))
                checked += 1
    assert checked > len(rounds) * k  # the trees split: there was something to refit


@pytest.mark.parametrize("alpha", [0.05, 0.5, 0.95])
def test_every_leaf_is_the_scaled_residual_quantile(alpha):
    X, y = skewed(600, 0)
    m = XGBRegressor(objective=boostobj.quantile(alpha), **KW).fit(X, y)
    assert_leaves_are_quantiles(m.get_booster(), X, y, [alpha], [0, 1, 15, 29])


@pytest.mark.parametrize("prior", [0.5, 0.0, 2.0])
def test_leaves_too_small_for_their_level_are_shrunk_by_refit_prior(prior):
    # alpha 0.98: a leaf needs 50 rows to hold one beyond its quantile; XGBoost's
    # min_child_weight=1 lets depth-3 trees on 300 rows grow far smaller ones
    X, y = skewed(300, 11)
    m = XGBRegressor(objective=boostobj.quantile(0.98, refit_prior=prior), **KW).fit(X, y)
    assert_leaves_are_quantiles(m.get_booster(), X, y, [0.98], [0, 5, 20], prior=prior)
    leaf = m.get_booster()[5:6].predict(xgb.DMatrix(X), pred_leaf=True).ravel().astype(int)
    assert np.bincount(leaf)[np.unique(leaf)].min() < 50  # the prior had a leaf to act on


def test_weights_lambda_and_multi_quantile_leaves():
    X, y = skewed(500, 1)
    w = np.random.default_rng(2).uniform(0.2, 3.0, len(y))
    alphas = [0.1, 0.5, 0.9]
    m = XGBRegressor(objective=boostobj.quantile(alphas), reg_lambda=20.0, **KW).fit(X, y, sample_weight=w)
    assert_leaves_are_quantiles(m.get_booster(), X, y, alphas, [1, 10, 29], lam=20.0, weight=w)
    p = m.predict(X)
    assert np.all(np.diff(p, axis=1) >= 0)  # never crossing


def test_max_delta_step_clips_the_refit_leaf():
    X, y = skewed(400, 3)
    m = XGBRegressor(objective=boostobj.quantile(0.9), max_delta_step=0.5, reg_lambda=0.0, **KW).fit(X, y)
    bst = m.get_booster()
    values = np.concatenate([np.asarray(t["split_conditions"])[np.asarray(t["left_children"]) == -1]
                             for t in json.loads(bst.save_raw("json"))["learner"]["gradient_booster"]
                             ["model"]["trees"]])
    assert np.abs(values).max() <= 0.1 * 0.5 * (1 + 1e-6)
    assert np.isclose(np.abs(values).max(), 0.05, rtol=1e-5)  # some leaf wanted more


def test_refit_beats_newton_leaves_on_the_short_tail_and_matches_the_builtins():
    ratios = short_tail_ratios(
        lambda obj, **kw: XGBRegressor(objective=obj, **kw),
        lambda **kw: xgb.XGBRegressor(objective="reg:quantileerror", quantile_alpha=0.05, **kw), KW)
    assert np.mean(ratios) <= 1.0, ratios


@pytest.mark.parametrize("alpha", [0.01, 0.5, [0.05, 0.95]])
def test_refit_models_are_scale_equivariant_up_to_xgboosts_split_threshold(alpha):
    """As good at labels x1000, but not bit for bit: XGBoost splits where the float32 gain exceeds a
    fixed 1e-6, and the refit's nearly flat curvature makes gains of that size (two children with
    nearly proportional gradient sums); float32 labels and margins rounded differently at another
    scale put some on the other side of it. The float32-exact start, the float64 training margins
    and the scale-free growth gradients leave that as the only difference (measured: the models
    agree to 1e-7 until the first such split, which can come in the first rounds)."""
    X, y = skewed(200, 20)  # small data, extreme level: many exactly tied splits
    Xt, yt = skewed(2000, 21)
    kw = {**KW, "n_estimators": 100, "reg_lambda": 0.0}  # lambda is in curvature units: not scale-free
    a = XGBRegressor(objective=boostobj.quantile(alpha), **kw).fit(X, y).predict(Xt)
    b = XGBRegressor(objective=boostobj.quantile(alpha), **kw).fit(X, 1000 * y).predict(Xt) / 1000
    for j, level in enumerate(np.atleast_1d(alpha)):
        pa, pb = a.reshape(len(yt), -1)[:, j], b.reshape(len(yt), -1)[:, j]
        # measured up to 8% apart on 200 rows (XGBoost 3.4.1, alpha 0.05): what another seed gives
        assert pinball(yt, pb, level) == pytest.approx(pinball(yt, pa, level), rel=0.1)


def test_eval_results_and_early_stopping_see_the_refit_model():
    X, y = skewed(300, 5)
    Xv, yv = skewed(400, 6)
    obj = boostobj.quantile(0.1)
    m = XGBRegressor(objective=obj, early_stopping_rounds=10,
                     **{**KW, "n_estimators": 300, "max_depth": 6, "learning_rate": 0.3}).fit(
        X, y, eval_set=[(X, y), (Xv, yv)], verbose=False)  # XGBoost stops on the last set
    res = m.evals_result()
    (name,) = res["validation_1"]
    assert 10 < m.best_iteration < 290  # it stopped early
    for it in (1, 5, m.best_iteration, m.best_iteration + 1):
        assert res["validation_1"][name][it - 1] == pytest.approx(
            obj.loss(yv, m.predict(Xv, iteration_range=(0, it))), rel=1e-5)
        assert res["validation_0"][name][it - 1] == pytest.approx(
            obj.loss(y, m.predict(X, iteration_range=(0, it))), rel=1e-5)
    assert m.best_iteration == int(np.argmin(res["validation_1"][name]))
    # predict uses the best iteration, as stock XGBoost does
    np.testing.assert_array_equal(m.predict(Xv), m.predict(Xv, iteration_range=(0, m.best_iteration + 1)))


def test_a_builtin_metric_sees_the_refit_model_too():
    """XGBoost computes its own metrics from its own margins: the refit leaves are written first."""
    X, y = skewed(400, 7)
    Xv, yv = skewed(200, 8)
    obj = boostobj.quantile(0.3)
    a = XGBRegressor(objective=obj, eval_metric="mae", **KW).fit(X, y, eval_set=[(Xv, yv)], verbose=False)
    b = XGBRegressor(objective=obj, **KW).fit(X, y, eval_set=[(Xv, yv)], verbose=False)
    np.testing.assert_allclose(a.predict(Xv), b.predict(Xv), rtol=1e-6, atol=1e-6)
    mae = a.evals_result()["validation_0"]["mae"]
    for it in (1, 10, 30):
        assert mae[it - 1] == pytest.approx(np.mean(np.abs(yv - a.predict(Xv, iteration_range=(0, it)))),
                                            rel=1e-5)


def test_continued_training_refits_from_the_saved_model(tmp_path):
    X, y = skewed(500, 9)
    first = XGBRegressor(objective=boostobj.quantile(0.2), **KW).fit(X, y)
    path = tmp_path / "model.json"
    first.save_model(path)
    more = XGBRegressor(objective=boostobj.quantile(0.2), **{**KW, "n_estimators": 10}).fit(
        X, y, xgb_model=str(path))
    bst = more.get_booster()
    assert bst.num_boosted_rounds() == 40
    np.testing.assert_array_equal(bst[:30].predict(xgb.DMatrix(X)), first.get_booster().predict(xgb.DMatrix(X)))
    assert_leaves_are_quantiles(bst, X, y, [0.2], [30, 31, 39])


@pytest.mark.parametrize("suffix", ["json", "ubj"])
def test_saved_model_predicts_the_same_in_a_fresh_process(tmp_path, suffix):
    X, y = skewed(400, 10)
    m = XGBRegressor(objective=boostobj.quantile(0.9), **KW).fit(X, y)
    np.save(tmp_path / "X.npy", X)
    m.save_model(tmp_path / f"m.{suffix}")
    code = ("import sys, numpy as np, xgboost as xgb; d, s = sys.argv[1:]; b = xgb.Booster(); "
            "b.load_model(d + '/m.' + s); np.save(d + '/p.npy', b.predict(xgb.DMatrix(np.load(d + '/X.npy'))))")
    subprocess.run([sys.executable, "-c", code, str(tmp_path), suffix], check=True, timeout=120)
    np.testing.assert_array_equal(np.load(tmp_path / "p.npy"), m.predict(X))


def test_integer_weights_equal_repeated_rows():
    X, y = skewed(150, 11)
    w = np.random.default_rng(12).integers(1, 4, len(y))
    kw = {**KW, "n_estimators": 10}
    obj = boostobj.quantile(0.25)
    weighted = XGBRegressor(objective=obj, **kw).fit(X, y, sample_weight=w.astype(float)).predict(X)
    repeated = XGBRegressor(objective=obj, **kw).fit(np.repeat(X, w, 0), np.repeat(y, w)).predict(X)
    unweighted = XGBRegressor(objective=obj, **kw).fit(X, y).predict(X)
    np.testing.assert_allclose(weighted, repeated, rtol=1e-5, atol=1e-5)
    assert np.abs(weighted - unweighted).max() > 0.1


@pytest.mark.parametrize("setting", [{"booster": "dart", "rate_drop": 0.2}, {"monotone_constraints": (1, 0)},
                                     {"num_parallel_tree": 2, "subsample": 0.8}])
def test_no_refit_where_it_would_not_be_exact(setting):
    X, y = skewed(300, 13)
    with pytest.warns(UserWarning, match="without the exact leaf refit"):
        a = XGBRegressor(objective=boostobj.quantile(0.3), random_state=0, **KW, **setting).fit(X, y)
    b = XGBRegressor(objective=boostobj.quantile(0.3), random_state=0, leaf_refit=False, **KW,
                     **setting).fit(X, y)
    np.testing.assert_array_equal(a.predict(X), b.predict(X))
    c = XGBRegressor(objective=boostobj.quantile(0.3), random_state=0, **KW).fit(X, y)
    d = XGBRegressor(objective=boostobj.quantile(0.3), random_state=0, leaf_refit=False, **KW).fit(X, y)
    assert not np.allclose(c.predict(X), d.predict(X))  # the default refits, and that differs


def test_vector_leaves_train_without_the_refit():
    X, y = skewed(300, 14)
    obj = boostobj.quantile([0.1, 0.9])
    with pytest.warns(UserWarning, match="vector leaves"):
        m = XGBRegressor(objective=obj, multi_strategy="multi_output_tree", **KW).fit(X, y)
    assert np.all(np.isfinite(m.predict(X)))


def test_param_is_an_estimator_param_xgboost_never_sees():
    X, y = skewed(200, 15)
    m = XGBRegressor(objective=boostobj.quantile(0.3), leaf_refit=False, **KW)
    assert clone(m).get_params()["leaf_refit"] is False
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # XGBoost warns on parameters it does not use
        m.fit(X, y)
        XGBRegressor(objective=boostobj.quantile(0.3), **KW).fit(X, y)
    assert "leaf_refit" not in m.get_booster().save_config()


def test_two_threads_train_what_one_does():
    assert_two_threads_train_what_one_does(XGBRegressor(objective=boostobj.quantile(0.1), **KW),
                                           [skewed(400, s) for s in (16, 17)])


def test_interval_regressor_inherits_the_refit():
    X, y = skewed(600, 18)
    m = boostobj.IntervalRegressor(backend="xgboost", n_estimators=20, conformal=False, random_state=0,
                                   max_depth=3).fit(X, y)
    model = m.model_
    alphas = list(model.objective.base_loss._alphas)
    assert_leaves_are_quantiles(model.get_booster(), X, y, alphas, [1, 19], lr=model.learning_rate or 0.3)


def _native(X, y, rounds, callbacks=(), **params):
    obj = boostobj.quantile(0.1)
    grower = obj.with_loss(obj.base_loss.for_leaf_refit())
    p = {"eta": 0.1, "max_depth": 3, "nthread": 1, "base_score": float(obj.init_score(y)), **params}
    return obj, xgb.train(p, xgb.DMatrix(X, label=y), rounds, obj=grower,
                          callbacks=[XGBLeafRefit(obj.base_loss), *callbacks])


def test_xgb_train_with_the_callback_and_a_learning_rate_schedule():
    X, y = skewed(500, 19)
    etas = [0.3 * 0.9 ** t for t in range(20)]
    _, bst = _native(X, y, 20, [xgb.callback.LearningRateScheduler(lambda t: etas[t])],
                     disable_default_eval_metric=1)
    assert type(bst) is xgb.Booster  # handed back as it came
    # XGBoost's scheduler sets the rate after each round, for the next one
    assert_leaves_are_quantiles(bst, X, y, [0.1], [0, 1, 10, 19], etas=[0.1] + etas[:-1])


def test_checkpoints_and_pickles_during_training_hold_the_refit_leaves(tmp_path):
    X, y = skewed(400, 20)
    seen: list = []

    class Snapshot(xgb.callback.TrainingCallback):
        def after_iteration(self, model, epoch, evals_log):
            if epoch == 9:
                seen.append(pickle.loads(pickle.dumps(model)))
                seen.append(xgb.Booster(model_file=model.save_raw()))
                seen.append(model[:])
            return False

    _, bst = _native(X, y, 20, [Snapshot()], disable_default_eval_metric=1)
    d = xgb.DMatrix(X)
    for snap in seen:
        assert type(snap) is xgb.Booster
        np.testing.assert_array_equal(snap.predict(d), bst[:10].predict(d))
    assert_leaves_are_quantiles(bst, X, y, [0.1], [5, 12, 19])


def test_the_default_eval_metric_of_xgb_train_is_exact_too():
    """xgb.train computes rmse by default: the refit leaves are written before each evaluation."""
    X, y = skewed(300, 21)
    ev: dict = {}
    _, bst = _native(X, y, 10, [], )
    d = xgb.DMatrix(X, label=y)
    obj, bst2 = boostobj.quantile(0.1), None
    grower = obj.with_loss(obj.base_loss.for_leaf_refit())
    bst2 = xgb.train({"eta": 0.1, "max_depth": 3, "nthread": 1, "base_score": float(obj.init_score(y))},
                     d, 10, obj=grower, evals=[(d, "train")], evals_result=ev, verbose_eval=False,
                     callbacks=[XGBLeafRefit(obj.base_loss)])
    np.testing.assert_allclose(bst2.predict(d), bst.predict(d), rtol=1e-6, atol=1e-6)
    for it in (1, 5, 10):
        assert ev["train"]["rmse"][it - 1] == pytest.approx(
            np.sqrt(np.mean((y - bst2.predict(d, iteration_range=(0, it))) ** 2)), rel=1e-5)


def test_the_callback_names_its_misuse():
    X, y = skewed(100, 22)
    d = xgb.DMatrix(X, label=y)
    with pytest.raises(ValueError, match="no exact leaf refit"):
        XGBLeafRefit(boostobj.huber(1.0).base_loss)
    with pytest.raises(ValueError, match="obj="):
        xgb.train({}, d, 2, callbacks=[XGBLeafRefit(boostobj.quantile(0.5).base_loss)])
    with pytest.raises(ValueError, match="rescales"):
        xgb.train({"booster": "dart", "rate_drop": 0.2}, d, 2, obj=boostobj.quantile(0.5),
                  callbacks=[XGBLeafRefit(boostobj.quantile(0.5).base_loss)])
    with pytest.raises(ValueError, match="leaf_refit=False"):
        XGBRegressor(objective=boostobj.quantile(0.5), n_estimators=2,
                     callbacks=[XGBLeafRefit(boostobj.quantile(0.5).base_loss)]).fit(X, y)
    cb = XGBLeafRefit(boostobj.quantile(0.5).base_loss)
    xgb.train({}, d, 2, obj=boostobj.quantile(0.5), callbacks=[cb])
    with pytest.raises(RuntimeError, match="one training"):
        xgb.train({}, d, 2, obj=boostobj.quantile(0.5), callbacks=[cb])


def test_helpers_name_what_blocks_the_refit():
    assert xgb_refit_blockers({"max_depth": 3}) == []
    assert "no tree leaves" in xgb_refit_blockers({"booster": "gblinear"})[0]
    assert xgb_refit_blockers({"monotone_constraints": "(0,0)"}) == []
    assert "averages" in xgb_refit_blockers({"num_parallel_tree": 4})[0]


def test_leaves_read_off_the_cache_are_xgboosts_own():
    """The refit finds each row's leaf from XGBoost's cached margins where that is unambiguous;
    wherever it answers, the answer is XGBoost's pred_leaf."""
    from boostobj.leaf_refit._shared import round_leaves as _round_leaves
    from boostobj.leaf_refit._xgboost import _xgb_grown

    X, y = skewed(3000, 23)
    X = np.column_stack([X, np.random.default_rng(24).normal(size=(3000, 3))])
    d = xgb.DMatrix(X, label=y)
    answered = 0
    bst = xgb.train({"max_depth": 5, "eta": 0.3, "nthread": 1, "base_score": 10.0}, d, 1)
    for t in range(1, 25):
        before = bst.predict(d, output_margin=True, training=True)
        bst.update(d, t)
        after = bst.predict(d, output_margin=True, training=True)
        one = bst[t:t + 1]
        model = json.loads(one.save_raw("json"))["learner"]["gradient_booster"]["model"]
        got = _round_leaves(before, after, _xgb_grown(model))
        if got is not None:
            np.testing.assert_array_equal(got[:, 0], one.predict(d, pred_leaf=True).astype(np.intp))
            answered += 1
    assert answered >= 20
    # a tree whose leaves share a value cannot be read off: None, never a guess
    model["trees"][0]["split_conditions"] = [0.0] * len(model["trees"][0]["split_conditions"])
    assert _round_leaves(before, after, _xgb_grown(model)) is None


def test_leaves_come_from_the_caches_not_from_passes_over_the_data(monkeypatch):
    """The refit asks XGBoost for pred_leaf (a pass over the raw data) only where its cached margins
    cannot tell: once per eval set, when it first sees it; never for the training set here."""
    X, y = skewed(2000, 25)
    Xv, yv = skewed(1000, 26)
    from boostobj.leaf_refit import _xgboost

    asked = count_pred_leaf(monkeypatch, xgb.Booster, lambda d: d.num_row())
    leaf_ids = _xgboost.xgboost_leaf_ids
    monkeypatch.setattr(_xgboost, "xgboost_leaf_ids",
                        lambda b, d, lo, hi: asked.append(d.num_row()) or leaf_ids(b, d, lo, hi))
    m = XGBRegressor(objective=boostobj.quantile(0.2), **KW).fit(X, y, eval_set=[(Xv, yv)], verbose=False)
    assert asked == [1000]
    obj = boostobj.quantile(0.2)
    assert m.evals_result()["validation_0"]["quantile@0.2"][-1] == pytest.approx(obj.loss(yv, m.predict(Xv)), rel=1e-5)


def _refit_both_ways(monkeypatch, params: dict, alpha, weight=None, rounds=25):
    """Train twice with XGBLeafRefit: reading each round's leaves off the gradients and writing the model
    in place (the default on small data), and reading every round's tree from the model and writing
    the model through JSON; return both boosters, callbacks and eval histories."""
    from boostobj.leaf_refit import _xgboost

    X, y = skewed(1500, 40)
    Xv, yv = skewed(500, 41)
    obj = boostobj.quantile(alpha)
    runs = []
    for model_reads in (False, True):
        with monkeypatch.context() as m:
            if model_reads:
                m.setattr(_xgboost, "_GRADIENT_ROWS", 0)
                m.setattr(_xgboost, "_ubj_trees", lambda raw: None)
            start = obj.init_score_array(y, weight)
            d = xgb.DMatrix(X, label=y, weight=weight, base_margin=start)
            dv = xgb.DMatrix(Xv, label=yv, base_margin=np.resize(start[0], (len(yv),) + start.shape[1:]))
            cb = obj.leaf_refit()
            res: dict = {}
            k = np.size(alpha)
            bst = xgb.train({"max_depth": 4, "eta": 0.2, "nthread": 1, "disable_default_eval_metric": 1,
                             "seed": 3, **({"num_target": k} if k > 1 else {}), **params}, d, rounds, obj=obj,
                            callbacks=[cb], evals=[(dv, "v")], custom_metric=obj.metric, evals_result=res,
                            verbose_eval=False)
            runs.append((bst, cb._xgboost, res["v"]))
    return runs, xgb.DMatrix(Xv, base_margin=np.resize(start[0], (len(Xv),) + start.shape[1:]))


@pytest.mark.parametrize("params, alpha, weighted, shared_values", [
    ({}, 0.9, False, False),
    ({"lambda": 0.0, "min_child_weight": 3.0}, 0.1, True, False),
    ({"alpha": 0.05, "max_delta_step": 2.0}, 0.5, False, True),
    ({"grow_policy": "lossguide", "max_leaves": 12, "max_depth": 0}, [0.1, 0.9], True, False),
    # leaves clipped to one value cannot be told apart by their margins' change: XGBoost names them
    ({"max_delta_step": 0.3}, 0.5, False, True),
])
def test_leaves_read_off_the_gradients_give_the_model_read_from_the_trees(monkeypatch, params, alpha, weighted,
                                                                           shared_values):
    """On small data each round's leaves come from XGBoost's cached margins, the round's gradients and
    XGBoost's leaf formula, with no read of the model (where two leaves share a value, with the
    rows' leaf ids from XGBoost); the refit model, its eval history and its file are bit for bit
    those of reading every round's tree from the model."""
    from boostobj.leaf_refit import _xgboost

    w = np.random.default_rng(42).uniform(0.2, 3.0, 1500) if weighted else None
    asked: list = []
    leaf_ids = _xgboost.xgboost_leaf_ids
    monkeypatch.setattr(_xgboost, "xgboost_leaf_ids",
                        lambda b, d, lo, hi: asked.append(d.num_row()) or leaf_ids(b, d, lo, hi))
    ((fast, fast_cb, fast_eval), (slow, slow_cb, slow_eval)), dv = _refit_both_ways(monkeypatch, params, alpha, w)
    assert slow_cb.model_reads == 25
    assert fast_cb.model_reads == 0
    assert (1500 in asked) == shared_values  # the training set's leaf ids, only where values are shared
    assert np.array_equal(fast.predict(dv, output_margin=True), slow.predict(dv, output_margin=True))
    assert fast_eval == slow_eval
    trees = [json.loads(b.save_raw("json"))["learner"]["gradient_booster"]["model"]["trees"] for b in (fast, slow)]
    assert [t["split_conditions"] for t in trees[0]] == [t["split_conditions"] for t in trees[1]]


def test_subsampled_rounds_read_their_trees_from_the_model(monkeypatch):
    """Rows left out of a round grow from zero gradients, which the leaf formula cannot see: each such
    round's tree is read from the model, and the refit is the same."""
    ((fast, fast_cb, fast_eval), (slow, _, slow_eval)), dv = _refit_both_ways(
        monkeypatch, {"subsample": 0.7}, 0.8)
    assert fast_cb.model_reads == 25
    assert np.array_equal(fast.predict(dv, output_margin=True), slow.predict(dv, output_margin=True))
    assert fast_eval == slow_eval


@pytest.mark.skipif(not boostobj._compiled.available(), reason="the compiled grouping")
@pytest.mark.parametrize("seed", range(6))
def test_compiled_grouping_of_margin_changes_never_splits_a_leaf_and_matches_the_sort(seed):
    """Rows of one leaf change their float32 margins by its value up to rounding: the compiled grouping
    (buckets, no sort) puts each leaf's rows in one group, and gives the sort's groups here."""
    from boostobj import _compiled
    from boostobj.leaf_refit._xgboost import _group_changes_sorted

    rng = np.random.default_rng(seed)
    n, leaves = 5000, int(rng.integers(1, 80))
    values = rng.normal(scale=10.0 ** rng.uniform(-4, 0), size=leaves).astype(np.float32)
    leaf = rng.integers(0, leaves, n)
    before = (rng.normal(size=n) * 10.0 ** rng.uniform(-1, 3)).astype(np.float32)
    after = before + values[leaf]  # float32 sums, as XGBoost's cache adds a leaf
    change = after.astype(np.float64) - before
    step = np.spacing(np.abs(after)).astype(np.float64)
    place, m = _compiled.group_changes(change, step)
    for j in np.unique(leaf):
        assert len(np.unique(place[leaf == j])) == 1
    sorted_place, sorted_m = _group_changes_sorted(change, step)
    assert m == sorted_m and np.array_equal(place, sorted_place)
    assert m <= len(np.unique(values[np.unique(leaf)]))


@pytest.mark.skipif(not boostobj._compiled.available(), reason="the compiled pass")
@pytest.mark.parametrize("seed", range(6))
def test_compiled_gradient_leaves_give_the_numpy_passes(monkeypatch, seed):
    """One compiled loop (grouping, gradient sums, XGBoost's formula, the check of every row) gives
    what the NumPy passes give: the same places and float32 values, and None where a row misses."""
    from boostobj import _compiled
    from boostobj.leaf_refit._xgboost import _leaves_from_gradients

    rng = np.random.default_rng(seed)
    n, leaves = 3000, int(rng.integers(2, 60))
    leaf = rng.integers(0, leaves, n)
    grad = rng.normal(size=n).astype(np.float32)
    hess = rng.uniform(0.1, 2.0, n).astype(np.float32)
    params = {"eta": 0.3, "lambda": 1.0, "alpha": float(rng.choice([0.0, 0.5])),
              "max_delta_step": float(rng.choice([0.0, 0.7])), "min_child_weight": 1.0}
    g, h = np.bincount(leaf, weights=grad, minlength=leaves), np.bincount(leaf, weights=hess, minlength=leaves)
    w = -np.sign(g) * np.maximum(np.abs(g) - params["alpha"], 0.0) / (h + params["lambda"])
    if params["max_delta_step"]:
        w = np.clip(w, -params["max_delta_step"], params["max_delta_step"])
    values = np.where(h < 1.0, 0.0, w).astype(np.float32) * np.float32(0.3)  # XGBoost's leaves, as it adds them
    before = (rng.normal(size=n) * 10.0 ** rng.uniform(-1, 2)).astype(np.float32)
    after = before + values[leaf]
    compiled = _leaves_from_gradients(before, after, (grad, hess), params)
    monkeypatch.setattr(_compiled, "gradient_leaves", lambda *a: None)
    numpy = _leaves_from_gradients(before, after, (grad, hess), params)
    # leaves of one value (clipped, or 0 under the L1 threshold) merge into one group, whose sums
    # may then miss (None both ways); distinct values are all found
    assert numpy is not None or len(np.unique(values)) < leaves
    assert (compiled is None) == (numpy is None)
    if numpy is not None:
        assert np.array_equal(compiled[1], numpy[1])
        assert [v.tobytes() for v in compiled[0]] == [v.tobytes() for v in numpy[0]]
        assert np.array_equal(compiled[0][0][compiled[1][:, 0]], values[leaf])
    monkeypatch.undo()
    after[int(rng.integers(n))] += np.float32(1.0)  # a row its leaf does not explain
    assert _leaves_from_gradients(before, after, (grad, hess), params) is None


@pytest.mark.parametrize("alpha, weighted", [(0.9, False), ([0.1, 0.5, 0.9], False), (0.2, True)])
def test_drop_in_calls_its_objective_on_the_dmatrix_as_xgboosts_wrapper_would(monkeypatch, alpha, weighted):
    """The refitting XGBRegressor calls its growth objective on the DMatrix, not through XGBoost's
    sklearn wrapper (which copies the labels and weights out every round): the model file and
    the eval history are bit for bit those of the wrapper's call."""
    from boostobj.leaf_refit import _xgboost

    X, y = skewed(1500, 60)
    Xv, yv = skewed(300, 61)
    w = np.random.default_rng(62).uniform(0.2, 3.0, len(y)) if weighted else None
    update, direct = _xgboost.XGBLeafRefit._update, []

    def through_the_wrapper(self, booster, dtrain, iteration, fobj):
        direct.append(self._sklearn_objective is not None)
        self._sklearn_objective = None
        return update(self, booster, dtrain, iteration, fobj)

    runs = []
    for wrapper in (False, True):
        with monkeypatch.context() as m:
            if wrapper:
                m.setattr(_xgboost.XGBLeafRefit, "_update", through_the_wrapper)
            est = XGBRegressor(objective=boostobj.quantile(alpha), n_estimators=30, max_depth=4)
            est.fit(X, y, sample_weight=w, eval_set=[(Xv, yv)], verbose=False)
            runs.append((bytes(est.get_booster().save_raw("ubj")), est.evals_result()))
    assert direct[0]  # the drop-in had set it: the first run called the objective directly
    assert runs[0] == runs[1]


def test_leaf_nodes_pair_by_rank_and_refuse_a_tree_whose_leaves_differ():
    """The writer finds each refit leaf's node by the rank of its grown value among the tree's leaves,
    and stops rather than write a leaf where the model's values are not those it grew."""
    from boostobj.leaf_refit._xgboost import _leaf_nodes

    left = np.array([1, 3, -1, -1, -1])  # node 0 splits into 1 (which splits into 3, 4) and 2
    values = np.array([0.0, 0.0, 0.25, -0.5, 0.125], dtype=np.float32)
    grown = np.array([0.125, -0.5, 0.25], dtype=np.float32)
    assert _leaf_nodes(left, values, grown).tolist() == [4, 3, 2]
    with pytest.raises(RuntimeError, match="could not find"):
        _leaf_nodes(left, values, np.array([0.125, -0.5, 0.3], dtype=np.float32))
    with pytest.raises(RuntimeError, match="could not find"):
        _leaf_nodes(left, values, np.array([0.125, -0.5], dtype=np.float32))


@pytest.mark.parametrize("metric", ["mae", None])
def test_margins_kept_from_the_last_round_are_xgboosts_own(monkeypatch, metric):
    """The refit hands XGBoost's next round the cached margins it read after the last one, unless a
    write of the model (a built-in metric writes it every round) reset XGBoost's caches: the model
    and eval history are bit for bit those of asking XGBoost every round."""
    from boostobj.leaf_refit import _xgboost

    X, y = skewed(1200, 70)
    Xv, yv = skewed(300, 71)
    obj = boostobj.quantile(0.8)
    refit = _xgboost.XGBLeafRefit._refit

    def asking_every_round(self, booster, dtrain):
        refit(self, booster, dtrain)
        self._after = None

    runs = []
    for kept in (True, False):
        with monkeypatch.context() as m:
            if not kept:
                m.setattr(_xgboost.XGBLeafRefit, "_refit", asking_every_round)
            d, dv, res = xgb.DMatrix(X, y), xgb.DMatrix(Xv, yv), {}
            params = {"max_depth": 3, "base_score": float(obj.init_score(y)),
                      **({"eval_metric": metric} if metric else {"disable_default_eval_metric": 1})}
            bst = xgb.train(params, d, 20, obj=obj, evals=[(dv, "v"), (d, "t")], callbacks=[obj.leaf_refit()],
                            evals_result=res, custom_metric=obj.metric, verbose_eval=False)
            runs.append((bytes(bst.save_raw("ubj")), res))
    assert runs[0] == runs[1]

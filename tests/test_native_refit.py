"""The leaf refit in native training with one argument: ``callbacks=[obj.leaf_refit()]``.

``xgb.train(params, d, n, obj=obj, callbacks=[obj.leaf_refit()])`` and
``lgb.train({"objective": obj, ...}, train, n, callbacks=[obj.leaf_refit()])``
must train what the drop-ins train: every leaf the learning rate times its
rows' residual quantile (recomputed here with NumPy from the finished model),
the short tail's quality, eval sets and early stopping on the refit model,
continued training and model files in a fresh process.
"""

from __future__ import annotations

import subprocess
import sys

import lightgbm as lgb
import numpy as np
import pytest
import xgboost as xgb

import boostobj
from refit_common import pinball, skewed, small_leaf_factor

LGB = {"verbose": -1, "num_threads": 1, "num_leaves": 8, "max_depth": 3, "learning_rate": 0.1}
XGB = {"max_depth": 3, "eta": 0.1, "nthread": 1, "lambda": 0.0, "disable_default_eval_metric": 1}


def _lgb(obj, X, y, rounds, refit=True, **kw):
    train = obj.dataset(X, y)
    callbacks = [obj.leaf_refit()] if refit else []
    return obj.record(lgb.train({"objective": obj, **LGB}, train, rounds, callbacks=callbacks, **kw), train)


def _xgb(obj, X, y, rounds, refit=True, **kw):
    d = xgb.DMatrix(X, label=y)
    callbacks = [obj.leaf_refit()] if refit else []
    return xgb.train({**XGB, "base_score": obj.init_score(y)}, d, rounds, obj=obj, callbacks=callbacks, **kw)


def _lgb_leaves(bst, X, t):
    return bst.predict(X, start_iteration=t, num_iteration=1, pred_leaf=True).ravel().astype(int)


def assert_refit(margin_before, leaf_of, leaf_value, y, alpha, rounds, lr=0.1, atol=1e-6):
    checked = 0
    for t in rounds:
        before, leaf = margin_before(t), leaf_of(t)
        for i in np.unique(leaf):
            rows = leaf == i
            q = np.quantile((y - before)[rows], alpha, method="inverted_cdf")
            expected = lr * q * small_leaf_factor(rows.sum(), alpha, 0.5)  # the default refit_prior
            assert leaf_value(t, i) == pytest.approx(expected, rel=1e-5, abs=atol), (t, i)
            checked += 1
    assert checked > len(rounds)  # the trees split


@pytest.mark.parametrize("alpha", [0.05, 0.5, 0.9])
def test_lgb_train_leaves_are_the_residual_quantiles(alpha):
    X, y = skewed(600, 1)
    obj = boostobj.quantile(alpha)
    bst = _lgb(obj, X, y, 20)
    assert_refit(lambda t: bst.predict(X, num_iteration=t, raw_score=True), lambda t: _lgb_leaves(bst, X, t),
                 lambda t, i: bst.get_leaf_output(t, int(i)), y, alpha, [1, 10, 19])


@pytest.mark.parametrize("alpha", [0.05, 0.5, 0.9])
def test_xgb_train_leaves_are_the_residual_quantiles(alpha):
    X, y = skewed(600, 2)
    obj = boostobj.quantile(alpha)
    bst = _xgb(obj, X, y, 20)
    d = xgb.DMatrix(X)
    start = np.float32(obj.init_score(y))

    def before(t):
        return bst[:t].predict(d, output_margin=True).astype(np.float64) if t else np.full(len(y), start)

    def value(t, i):
        one = bst[t:t + 1]
        leaf = one.predict(d, pred_leaf=True).astype(int)
        return float(np.mean(one.predict(d, output_margin=True)[leaf == i]) - start)

    # leaf values read back as differences of float32 margins: their rounding, not the refit's
    assert_refit(before, lambda t: bst[t:t + 1].predict(d, pred_leaf=True).astype(int), value, y, alpha,
                 [1, 10, 19], atol=4 * float(np.spacing(np.float32(np.max(np.abs(y))))))


@pytest.mark.parametrize("framework", ["xgboost", "lightgbm"])
def test_the_short_tail_gets_the_drop_ins_quality_natively(framework):
    """Held-out pinball at alpha 0.05: natively with the callback as the drop-in (same settings,
    200 rounds), and after 50 rounds far ahead of native Newton leaves, which move a short tail slowly."""
    from boostobj.sklearn import LGBMRegressor, XGBRegressor

    for seed in (3, 5):
        X, y = skewed(1000, seed)
        Xt, yt = skewed(5000, seed + 1)
        obj = boostobj.quantile(0.05)
        if framework == "lightgbm":
            ours = pinball(yt, _lgb(obj, X, y, 200).predict(Xt), 0.05)
            short = pinball(yt, _lgb(obj, X, y, 50).predict(Xt), 0.05)
            plain = pinball(yt, _lgb(obj, X, y, 50, refit=False).predict(Xt), 0.05)
            drop_in = LGBMRegressor(objective=obj, n_estimators=200, learning_rate=0.1, num_leaves=8, max_depth=3,
                                    n_jobs=1, verbose=-1)
        else:
            ours = pinball(yt, _xgb(obj, X, y, 200).predict(xgb.DMatrix(Xt), output_margin=True), 0.05)
            short = pinball(yt, _xgb(obj, X, y, 50).predict(xgb.DMatrix(Xt), output_margin=True), 0.05)
            plain = pinball(yt, _xgb(obj, X, y, 50, refit=False).predict(xgb.DMatrix(Xt), output_margin=True), 0.05)
            drop_in = XGBRegressor(objective=obj, n_estimators=200, learning_rate=0.1, max_depth=3, n_jobs=1,
                                   reg_lambda=0.0)
        reference = pinball(yt, drop_in.fit(X, y).predict(Xt), 0.05)
        assert ours <= 1.02 * reference, (seed, ours, reference)
        assert short < 0.8 * plain, (seed, short, plain)


def test_lgb_eval_sets_and_early_stopping_see_the_refit_model():
    X, y = skewed(600, 4)
    Xv, yv = skewed(400, 5)
    obj = boostobj.quantile(0.1)
    train = obj.dataset(X, y)
    valid = obj.dataset(Xv, yv, reference=train)
    evals: dict = {}
    bst = lgb.train({"objective": obj, **LGB, "metric": "None"}, train, 300, valid_sets=[valid], feval=obj.metric,
                    callbacks=[obj.leaf_refit(), lgb.record_evaluation(evals),
                               lgb.early_stopping(5, verbose=False)])
    (name,) = evals["valid_0"]
    history = evals["valid_0"][name]
    start = obj.init_score(y)
    assert bst.best_iteration < 300
    for t in (1, bst.best_iteration):
        assert history[t - 1] == pytest.approx(obj.loss(yv, bst.predict(Xv, num_iteration=t) + start), rel=1e-6)


def test_xgb_eval_sets_and_early_stopping_see_the_refit_model():
    X, y = skewed(600, 6)
    Xv, yv = skewed(400, 7)
    obj = boostobj.quantile(0.1)
    dv = xgb.DMatrix(Xv, label=yv)
    evals: dict = {}
    bst = _xgb(obj, X, y, 300, evals=[(dv, "valid")], custom_metric=obj.metric, evals_result=evals,
               early_stopping_rounds=5, verbose_eval=False)
    (name,) = evals["valid"]
    assert bst.best_iteration < 299
    for t in (1, bst.best_iteration + 1):
        margin = bst.predict(dv, output_margin=True, iteration_range=(0, t))
        # XGBoost records custom metrics as printed (6 decimals)
        assert evals["valid"][name][t - 1] == pytest.approx(obj.loss(yv, margin), abs=2e-6)


def test_lgb_continued_training_refits_from_the_loaded_model(tmp_path):
    X, y = skewed(600, 8)
    obj = boostobj.quantile(0.2)
    first = _lgb(obj, X, y, 10)
    path = tmp_path / "m.txt"
    first.save_model(path)
    loaded = lgb.Booster(model_file=str(path))
    more = lgb.train({"objective": obj, **LGB}, lgb.Dataset(X, y), 5, init_model=loaded,
                     callbacks=[obj.leaf_refit()])
    assert more.current_iteration() == 15
    assert_refit(lambda t: more.predict(X, num_iteration=t, raw_score=True), lambda t: _lgb_leaves(more, X, t),
                 lambda t, i: more.get_leaf_output(t, int(i)), y, 0.2, [10, 14])


def test_xgb_continued_training_refits_from_the_loaded_model(tmp_path):
    X, y = skewed(600, 9)
    obj = boostobj.quantile(0.2)
    first = _xgb(obj, X, y, 10)
    path = tmp_path / "m.json"
    first.save_model(path)
    d = xgb.DMatrix(X, label=y)
    more = xgb.train(XGB, d, 5, obj=obj, xgb_model=str(path), callbacks=[obj.leaf_refit()])
    assert more.num_boosted_rounds() == 15
    dx = xgb.DMatrix(X)
    for t in (10, 14):
        before = more[:t].predict(dx, output_margin=True).astype(np.float64)
        one_leaf = more[t:t + 1].predict(dx, pred_leaf=True).astype(int)
        after = more[:t + 1].predict(dx, output_margin=True).astype(np.float64)
        for i in np.unique(one_leaf):
            rows = one_leaf == i
            q = np.quantile((y - before)[rows], 0.2, method="inverted_cdf") * small_leaf_factor(rows.sum(), 0.2, 0.5)
            assert np.mean(after[rows] - before[rows]) == pytest.approx(0.1 * q, rel=1e-4, abs=1e-5)


PREDICT = r"""
import sys, numpy as np, lightgbm as lgb, xgboost as xgb, boostobj
path, kind, data = sys.argv[1:4]
X = np.load(data)
if kind == "lightgbm":
    b = lgb.Booster(model_file=path); print(boostobj.objective_of(path)); np.save(data + ".out.npy", b.predict(X))
else:
    b = xgb.Booster(model_file=path); np.save(data + ".out.npy", b.predict(xgb.DMatrix(X), output_margin=True))
"""


@pytest.mark.parametrize("framework", ["lightgbm", "xgboost"])
def test_saved_models_predict_the_same_in_a_fresh_process(tmp_path, framework):
    X, y = skewed(500, 10)
    obj = boostobj.quantile(0.3)
    if framework == "lightgbm":
        bst = _lgb(obj, X, y, 15)
        here = bst.predict(X)
        path = tmp_path / "m.txt"
    else:
        bst = _xgb(obj, X, y, 15)
        here = bst.predict(xgb.DMatrix(X), output_margin=True)
        path = tmp_path / "m.json"
    bst.save_model(path)
    np.save(tmp_path / "X.npy", X)
    done = subprocess.run([sys.executable, "-c", PREDICT, str(path), framework, str(tmp_path / "X.npy")],
                          capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr[-2000:]
    np.testing.assert_array_equal(np.load(tmp_path / "X.npy.out.npy"), here)
    if framework == "lightgbm":
        assert done.stdout.strip() == repr(obj)


def test_misuse_is_named():
    X, y = skewed(300, 11)
    with pytest.raises(ValueError, match="no exact leaf refit"):
        boostobj.huber(1.0).leaf_refit()
    obj = boostobj.quantile(0.5)
    with pytest.raises(ValueError, match="'metric': 'None' and feval=obj.metric"):
        lgb.train({"objective": obj, **LGB, "metric": "l1"}, obj.dataset(X, y), 3, callbacks=[obj.leaf_refit()])
    with pytest.raises(ValueError, match="rescales or averages trees"):
        lgb.train({"objective": obj, **LGB, "boosting": "dart"}, obj.dataset(X, y), 3,
                  callbacks=[obj.leaf_refit()])
    callback = obj.leaf_refit()
    _ = lgb.train({"objective": obj, **LGB}, obj.dataset(X, y), 3, callbacks=[callback])
    with pytest.raises(RuntimeError, match="one training"):
        lgb.train({"objective": obj, **LGB}, obj.dataset(X, y), 3, callbacks=[callback])
    with pytest.raises(RuntimeError, match="one training"):
        xgb.train(XGB, xgb.DMatrix(X, label=y), 3, obj=obj, callbacks=[callback])


def test_rounds_whose_leaves_cannot_be_told_apart_keep_their_grown_leaves():
    """Without raw data, a round whose leaves share a value keeps them, and the margins stay the model's."""
    from boostobj.leaf_refit import _lightgbm

    X, y = skewed(400, 12)
    obj = boostobj.quantile(0.5)
    real = _lightgbm.round_leaves
    calls = []

    def undecidable_once(*args):
        calls.append(1)
        return None if len(calls) == 3 else real(*args)

    _lightgbm.round_leaves = undecidable_once
    try:
        callback = obj.leaf_refit()
        train = obj.dataset(X, y)
        evals: dict = {}
        bst = obj.record(lgb.train({"objective": obj, **LGB, "metric": "None"}, train, 6, valid_sets=[train],
                                   valid_names=["train"], feval=obj.metric,
                                   callbacks=[callback, lgb.record_evaluation(evals)]), train)
    finally:
        _lightgbm.round_leaves = real
    assert callback._lightgbm.unrefit_rounds == 1
    (name,) = evals["train"]
    for t in (3, 6):  # the served margins are the saved model's, before and after that round
        assert evals["train"][name][t - 1] == pytest.approx(obj.loss(y, bst.predict(X, num_iteration=t)), rel=1e-6)

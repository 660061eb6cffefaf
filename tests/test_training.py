"""End-to-end: real XGBoost and LightGBM models trained with boostobj objectives."""

from __future__ import annotations

import warnings

import lightgbm as lgb
import numpy as np
import pytest
import xgboost as xgb

import boostobj
from boostobj import sklearn as bsk

ROUNDS = 40
XGB_PARAMS = {"max_depth": 3, "eta": 0.3, "nthread": 1, "disable_default_eval_metric": 1}
LGB_PARAMS = {"num_leaves": 8, "learning_rate": 0.3, "num_threads": 1, "verbose": -1}


def regression_data(n=400, scale=1.0, seed=0):
    rng = np.random.default_rng(seed)
    X = rng.uniform(-3, 3, size=(n, 3))
    y = 10 * np.sin(X[:, 0]) + 3 * X[:, 1] + rng.standard_t(3, n) * 2 + 50
    return X, scale * y


def binary_data(n=600, seed=0, strength=1.0):
    """A well-specified logistic problem: logit = strength * (1.5 x0 - x1) - 1."""
    rng = np.random.default_rng(seed)
    X = rng.normal(size=(n, 3))
    p = 1 / (1 + np.exp(-(strength * (1.5 * X[:, 0] - X[:, 1]) - 1.0)))
    return X, (rng.random(n) < p).astype(float)


def multiclass_data(n=600, seed=0):
    rng = np.random.default_rng(seed)
    X = rng.normal(size=(n, 3))
    logits = np.column_stack([X[:, 0], X[:, 1], -X[:, 0] - X[:, 1]]) * 2
    p = np.exp(logits) / np.exp(logits).sum(axis=1, keepdims=True)
    y = np.array([rng.choice(3, p=row) for row in p], dtype=float)
    return X, y


OBJECTIVES = {
    "squared_error": (boostobj.squared_error, "regression"),
    "log_cosh": (boostobj.log_cosh, "regression"),
    "huber": (lambda: boostobj.huber(3.0), "regression"),
    "quantile": (lambda: boostobj.quantile(0.8), "regression"),
    "multi_quantile": (lambda: boostobj.quantile([0.1, 0.5, 0.9]), "regression"),
    "exponential": (boostobj.exponential, "binary"),
    "focal": (lambda: boostobj.focal(2.0, 0.25), "binary"),
    "focal_multiclass": (lambda: boostobj.focal(2.0), "multiclass"),
    "expectile": (lambda: boostobj.expectile(0.8), "regression"),
    "multi_expectile": (lambda: boostobj.expectile([0.1, 0.5, 0.9]), "regression"),
    "hinge": (boostobj.hinge, "binary"),
    "modified_huber": (boostobj.modified_huber, "binary"),
}


def _data(kind, seed):
    if kind == "regression":
        return regression_data(seed=seed)
    if kind == "binary":
        # a clear signal: the exponential loss overfits label noise fast at eta 0.3
        return binary_data(seed=seed, strength=3.0)
    return multiclass_data(seed=seed)


def _n_out(obj, kind):
    return 3 if kind == "multiclass" else obj.n_outputs()


def train_margin(entry: str, obj, kind: str, X, y, w, X_test, lgb_extra=None, rounds=ROUNDS):
    """Train through one entry point; return the test margins (start included)."""
    lgb_extra = lgb_extra or {}
    k = _n_out(obj, kind)
    # classification losses overfit 600 noisy rows within 40 rounds at eta 0.3
    # (the exponential loss grows like exp(|margin|/2) on misclassified rows)
    eta = 0.1 if kind != "regression" else 0.3
    init = obj.init_score(y, w)
    if entry == "xgb.train":
        params = dict(XGB_PARAMS, eta=eta, base_score=np.atleast_1d(init).tolist() if k > 1 else init)
        if k > 1:
            params["num_class" if kind == "multiclass" else "num_target"] = k
        bst = xgb.train(params, xgb.DMatrix(X, y, weight=w), rounds, obj=obj)
        return bst.predict(xgb.DMatrix(X_test), output_margin=True)
    if entry == "lgb.train":
        params = dict(LGB_PARAMS, objective=obj, learning_rate=eta, **lgb_extra)
        if k > 1:
            params["num_class"] = k
        ds = lgb.Dataset(X, y, weight=w, init_score=obj.init_score_array(y, w))
        bst = lgb.train(params, ds, rounds)
        return bst.predict(X_test) + init
    if entry in ("XGB sklearn", "LGBM sklearn"):
        if entry == "XGB sklearn":
            cls = bsk.XGBRegressor if kind == "regression" else bsk.XGBClassifier
            model = cls(objective=obj, n_estimators=rounds, max_depth=3, learning_rate=eta, n_jobs=1)
        else:
            cls = bsk.LGBMRegressor if kind == "regression" else bsk.LGBMClassifier
            model = cls(objective=obj, n_estimators=rounds, num_leaves=8, learning_rate=eta, n_jobs=1,
                        verbose=-1, **lgb_extra)
        model.fit(X, y.astype(int) if kind != "regression" else y, sample_weight=w)
        if kind == "regression":
            pred = model.predict(X_test)  # target scale; identity link (sorted for K quantiles)
            return pred
        if entry == "XGB sklearn":
            margin = model.get_booster().predict(xgb.DMatrix(X_test), output_margin=True)
        else:
            margin = model.predict(X_test, raw_score=True)  # the start is baked in
        np.testing.assert_allclose(model.decision_function(X_test), margin, rtol=1e-6, atol=1e-6)
        if obj.name == "hinge":  # no probabilities: classes from the margin's sign
            assert not hasattr(model, "predict_proba")
            assert (model.predict(X_test) == (margin > 0)).all()
            return margin
        proba = model.predict_proba(X_test)
        np.testing.assert_allclose(proba.sum(axis=1), 1.0, rtol=1e-6)
        expected = obj.predict(margin)
        np.testing.assert_allclose(proba[:, 1] if kind == "binary" else proba, expected, rtol=1e-5, atol=1e-7)
        return margin
    raise AssertionError(entry)


ENTRIES = ["xgb.train", "lgb.train", "XGB sklearn", "LGBM sklearn"]


@pytest.mark.parametrize("weighted", [False, True], ids=["unweighted", "weighted"])
@pytest.mark.parametrize("entry", ENTRIES)
@pytest.mark.parametrize("name", list(OBJECTIVES))
def test_every_loss_trains_in_every_entry_point_and_beats_the_best_constant(name, entry, weighted):
    make, kind = OBJECTIVES[name]
    obj = make()
    X, y = _data(kind, seed=1)
    Xt, yt = _data(kind, seed=2)
    w = np.random.default_rng(3).uniform(0.5, 2.0, len(y)) if weighted else None
    with warnings.catch_warnings():
        warnings.simplefilter("error", boostobj.StartValueWarning)  # every path here starts right
        margin = train_margin(entry, obj, kind, X, y, w, Xt)
    k = _n_out(obj, kind)
    assert margin.shape == ((len(yt),) if k == 1 else (len(yt), k))
    constant = np.broadcast_to(obj.init_score(y, w), margin.shape)
    model_loss, constant_loss = obj.loss(yt, margin), obj.loss(yt, constant)
    assert model_loss < 0.9 * constant_loss, (model_loss, constant_loss)


@pytest.mark.parametrize("name", ["huber", "quantile", "focal", "focal_multiclass"])
@pytest.mark.parametrize("entry", ENTRIES)
def test_weights_act_like_repeated_rows(name, entry):
    """Integer weights give the same model as repeating rows: weights are applied, not ignored."""
    make, kind = OBJECTIVES[name]
    obj = make()
    rng = np.random.default_rng(4)
    X, y = _data(kind, seed=5)
    X = np.round(X * 2) / 2  # few distinct values: identical histogram bins either way
    w = rng.integers(1, 4, len(y)).astype(float)
    reps = np.repeat(np.arange(len(y)), w.astype(int))
    Xt = X[:50]
    # LightGBM counts rows (not weights) in min_data_in_leaf and min_data_in_bin
    extra = {"min_data_in_leaf": 1, "min_data_in_bin": 1}
    if entry == "LGBM sklearn" and name == "quantile":
        # the objective's weights here; the drop-in's exact leaf refit has its own test
        # (tests/test_leaf_refit.py): its discrete gradients make near-tied splits, which the
        # last bits of weighted vs repeated sums break apart within 3 rounds on this data
        extra["leaf_refit"] = False
    # few rounds: float32 sums over weights and over copies differ in the last
    # bits, and over many rounds leaf-wise growth can break a near-tie apart
    weighted = train_margin(entry, obj, kind, X, y, w, Xt, extra, rounds=5)
    repeated = train_margin(entry, make(), kind, X[reps], y[reps], None, Xt, extra, rounds=5)
    unweighted = train_margin(entry, make(), kind, X, y, None, Xt, extra, rounds=5)
    np.testing.assert_allclose(weighted, repeated, rtol=2e-3, atol=2e-3 * np.abs(repeated).max())
    assert np.abs(weighted - unweighted).max() > 10 * np.abs(weighted - repeated).max()


def _xgb_fit(obj, X, y, **params):
    p = dict(max_depth=3, nthread=1, disable_default_eval_metric=1, base_score=obj.init_score(y), **params)
    return xgb.train(p, xgb.DMatrix(X, y), 30, obj=obj).predict(xgb.DMatrix(X))


def _lgb_fit(obj, X, y, **params):
    ds = lgb.Dataset(X, y, init_score=obj.init_score_array(y))
    bst = lgb.train(dict(objective=obj, verbose=-1, num_threads=1, **params), ds, 30)
    return bst.predict(X) + obj.init_score(y)


def _xgb_fit_in_label_units(obj, X, y, c):
    # XGBoost drops every split whose gain is <= kRtEps = 1e-6, an absolute
    # cutoff, while split gains scale with c^2 (normalised gradients scale with
    # c, curvatures do not). At c = 1e-3 which late split falls under it is
    # seed luck (0 to 0.165 label std over seeds 0-7, on 3.2 and 3.4). Given a
    # min_split_loss in squared label units (here 1 at c = 1, above the cutoff
    # at every c tested), the fits are equivariant.
    return _xgb_fit(obj, X, y, min_split_loss=float(c * c))


def _lgb_fit_in_label_units(obj, X, y, c):
    return _lgb_fit(obj, X, y)  # LightGBM's defaults have no absolute gain cutoff


@pytest.mark.parametrize("fit", [_xgb_fit_in_label_units, _lgb_fit_in_label_units], ids=["xgboost", "lightgbm"])
@pytest.mark.parametrize("c", [1e-3, 1.0, 1e3])
@pytest.mark.parametrize("make", [lambda c: boostobj.quantile(0.9), lambda c: boostobj.quantile(0.5),
                                  lambda c: boostobj.huber(2.0 * c)], ids=["quantile(0.9)", "quantile(0.5)",
                                                                          "huber(2c)"])
def test_training_is_scale_equivariant(make, c, fit):
    X, y = regression_data(n=500, seed=6)
    y = y - 50  # the scale must be carried by the labels, not an offset
    pred_1 = fit(make(1.0), X, y, 1.0)
    pred_c = fit(make(c), X, c * y, c)
    deviation = np.abs(pred_c / c - pred_1).max() / y.std()
    # measured over seeds 6-13, c in {1e-3, 1e3}, XGBoost 3.2 and 3.4: at most
    # 1.2e-6 (XGBoost, float32 rounding) and 1e-7 (LightGBM)
    assert deviation < 1e-5, deviation
    # and it learned something at every scale
    obj = make(1.0)
    assert obj.loss(y, pred_1) < 0.8 * obj.loss(y, np.full_like(y, obj.init_score(y)))


@pytest.mark.parametrize("fit", [_xgb_fit, _lgb_fit], ids=["xgboost", "lightgbm"])
def test_log_cosh_learns_at_label_scale_1000(fit):
    X, y = regression_data(n=500, seed=7)
    y = 1000 * y
    obj = boostobj.log_cosh()
    pred = fit(obj, X, y)
    const = obj.loss(y, np.full_like(y, obj.init_score(y)))
    assert obj.loss(y, pred) < 0.5 * const  # measured: 0.28 (XGBoost), 0.38 (LightGBM)


def test_focal_gamma0_reproduces_xgboost_binary_logistic():
    X, y = binary_data(n=800, seed=8)
    dtrain = xgb.DMatrix(X, y)
    params = {"max_depth": 3, "nthread": 1}
    builtin = xgb.train({**params, "objective": "binary:logistic", "base_score": 0.5}, dtrain, 30)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", boostobj.StartValueWarning)  # base_score 0 on purpose
        ours = xgb.train({**params, "base_score": 0.0, "disable_default_eval_metric": 1}, dtrain, 30,
                         obj=boostobj.focal(gamma=0.0))
    m_builtin = builtin.predict(dtrain, output_margin=True)
    m_ours = ours.predict(dtrain, output_margin=True)
    assert np.abs(m_builtin - m_ours).max() < 1e-5


@pytest.mark.parametrize(
    "make",
    [boostobj.exponential, lambda: boostobj.focal(0.0), lambda: boostobj.focal(2.0), lambda: boostobj.focal(5.0)],
    ids=["exponential", "focal(0)", "focal(2)", "focal(5)"],
)
@pytest.mark.parametrize("cls", [bsk.XGBClassifier, bsk.LGBMClassifier], ids=["xgboost", "lightgbm"])
def test_probabilities_are_calibrated_on_a_logistic_problem(make, cls):
    X, y = binary_data(n=3000, seed=9)
    Xt, yt = binary_data(n=5000, seed=10)
    kw = dict(n_estimators=60, learning_rate=0.1, n_jobs=1)
    if cls is bsk.LGBMClassifier:
        kw.update(num_leaves=4, verbose=-1)
    else:
        kw.update(max_depth=2)
    ours = cls(objective=make(), **kw).fit(X, y).predict_proba(Xt)[:, 1]
    reference = cls(**kw).fit(X, y).predict_proba(Xt)[:, 1]  # the built-in logistic loss
    true_p = 1 / (1 + np.exp(-(1.5 * Xt[:, 0] - Xt[:, 1] - 1.0)))
    brier_ours, brier_ref = np.mean((ours - yt) ** 2), np.mean((reference - yt) ** 2)
    # measured: within 0.3% of the logistic model for all four (focal(2) without
    # the posterior transform: 0.178 vs 0.152)
    assert brier_ours < 1.01 * brier_ref, (brier_ours, brier_ref)
    assert abs(ours.mean() - true_p.mean()) < 0.02  # calibration in the large
    assert np.mean(np.abs(ours - true_p)) < 0.06


@pytest.mark.parametrize("entry", ["xgb.train", "lgb.train"])
def test_multiclass_focal_uses_n_by_k_margins(entry):
    obj = boostobj.focal(2.0)
    X, y = multiclass_data(seed=11)
    margin = train_margin(entry, obj, "multiclass", X, y, None, X)
    assert margin.shape == (len(y), 3)
    proba = obj.predict(margin)
    np.testing.assert_allclose(proba.sum(axis=1), 1.0, rtol=1e-6)
    assert np.mean(proba.argmax(axis=1) == y) > 0.75


def test_start_value_warning_catches_the_default_start():
    X, y = regression_data(seed=12)
    obj = boostobj.quantile(0.9)
    with pytest.warns(boostobj.StartValueWarning, match="base_score"):
        xgb.train({"nthread": 1}, xgb.DMatrix(X, y), 2, obj=obj)


def test_stock_estimators_accept_the_objective_with_weights():
    """The stock sklearn wrappers call the object with weights; it works there too."""
    X, y = regression_data(seed=13)
    w = np.random.default_rng(0).uniform(0.5, 2, len(y))
    obj = boostobj.huber(2.0)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", boostobj.StartValueWarning)  # stock XGBoost starts at 0.5
        xm = xgb.XGBRegressor(objective=obj, n_estimators=60, n_jobs=1).fit(X, y, sample_weight=w)
        lm = lgb.LGBMRegressor(objective=obj, n_estimators=60, n_jobs=1, verbose=-1).fit(X, y, sample_weight=w)
    const = obj.loss(y, np.full_like(y, obj.init_score(y, w)), w)
    assert obj.loss(y, xm.predict(X), w) < 0.5 * const
    assert obj.loss(y, lm.predict(X), w) < 0.5 * const


def test_lgbm_drop_in_bakes_the_start_into_the_booster(tmp_path):
    X, y = regression_data(seed=14)
    model = bsk.LGBMRegressor(objective=boostobj.quantile(0.5), n_estimators=20, verbose=-1).fit(X, y)
    path = tmp_path / "model.txt"
    model.booster_.save_model(path)
    reloaded = lgb.Booster(model_file=str(path))
    np.testing.assert_allclose(reloaded.predict(X), model.predict(X), rtol=1e-12)
    assert abs(np.median(model.predict(X)) - np.median(y)) < 0.2 * y.std()


def test_eval_metric_drives_early_stopping_in_both_drop_ins():
    X, y = regression_data(n=600, seed=15)
    Xv, yv = regression_data(n=300, seed=16)
    obj = boostobj.quantile(0.9)
    xm = bsk.XGBRegressor(objective=obj, n_estimators=500, learning_rate=0.3, early_stopping_rounds=5, n_jobs=1)
    xm.fit(X, y, eval_set=[(Xv, yv)], verbose=False)
    assert list(xm.evals_result()["validation_0"]) == [obj.metric_name]
    assert xm.best_iteration < 499
    lm = bsk.LGBMRegressor(objective=obj, n_estimators=500, learning_rate=0.3, n_jobs=1, verbose=-1)
    fit_eval = {"eval_X": (Xv,), "eval_y": (yv,)} if "eval_X" in lgb.LGBMRegressor.fit.__code__.co_varnames \
        else {"eval_set": [(Xv, yv)]}  # LightGBM 4.7 renamed eval_set
    lm.fit(X, y, callbacks=[lgb.early_stopping(5, verbose=False)], **fit_eval)
    assert list(lm.evals_result_["valid_0"]) == [obj.metric_name]
    assert lm.best_iteration_ < 500
    recorded = lm.evals_result_["valid_0"][obj.metric_name][lm.best_iteration_ - 1]
    assert recorded == pytest.approx(obj.loss(yv, lm.predict(Xv, num_iteration=lm.best_iteration_)), rel=1e-6)


def test_native_metric_values_are_the_loss():
    X, y = regression_data(seed=17)
    obj = boostobj.log_cosh()
    dtrain = xgb.DMatrix(X, y)
    log: dict = {}
    bst = xgb.train({"base_score": obj.init_score(y), "disable_default_eval_metric": 1, "nthread": 1}, dtrain, 5,
                    obj=obj, custom_metric=obj.metric, evals=[(dtrain, "train")], evals_result=log)
    assert log["train"]["log_cosh"][-1] == pytest.approx(obj.loss(y, bst.predict(dtrain)), rel=1e-5)
    ds = lgb.Dataset(X, y, init_score=obj.init_score_array(y))
    rec: dict = {}
    lgb.train({"objective": obj, "verbose": -1, "num_threads": 1}, ds, 5, valid_sets=[ds], valid_names=["train"],
              feval=obj.metric, callbacks=[lgb.record_evaluation(rec)])
    assert len(rec["train"]["log_cosh"]) == 5 and rec["train"]["log_cosh"][-1] < rec["train"]["log_cosh"][0]

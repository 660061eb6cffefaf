"""Labels and inputs: odd labels, margins and parameters give the right answer or a clear ValueError."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
import xgboost as xgb
from sklearn.metrics import mean_pinball_loss, r2_score
from sklearn.model_selection import cross_val_score

import boostobj
from boostobj.intervals import IntervalRegressor, coverage
from boostobj.sklearn import LGBMClassifier, LGBMRegressor, XGBClassifier, XGBRegressor

rng = np.random.default_rng(3)
X = rng.normal(size=(200, 3))
Y_REG = 10 * X[:, 0] + rng.normal(size=200)
Y_BIN = (X[:, 0] + rng.normal(size=200) > 0).astype(float)
XGB = {"n_estimators": 5, "max_depth": 3, "n_jobs": 1}
LGB = {"n_estimators": 5, "num_leaves": 7, "n_jobs": 1, "verbose": -1}


# ---- labels --------------------------------------------------------------------
@pytest.mark.parametrize("bad", [np.nan, np.inf])
def test_classifiers_reject_non_finite_labels_naming_y(bad):
    y = Y_BIN.copy()
    y[5] = bad
    # LGBMClassifier: ours, not scikit-learn's "Input contains NaN", which names no y
    for cls, kw in ((XGBClassifier, XGB), (LGBMClassifier, LGB)):
        with pytest.raises(ValueError, match="y contains NaN or inf; class labels must be finite"):
            cls(objective=boostobj.focal(), **kw).fit(X, y)


@pytest.mark.parametrize("bad", [np.nan, np.inf])
@pytest.mark.parametrize("cls, obj, y, kw", [
    (XGBRegressor, boostobj.huber(), Y_REG, XGB), (LGBMRegressor, boostobj.huber(), Y_REG, LGB),
    (XGBClassifier, boostobj.focal(), Y_BIN, XGB), (LGBMClassifier, boostobj.focal(), Y_BIN, LGB)])
def test_non_finite_eval_set_labels_are_named(cls, obj, y, kw, bad):
    # unchecked, LightGBM reported a metric every round (its Dataset stores NaN as 0),
    # XGBoost failed in its C++ data layer, the classifiers called NaN an unseen class
    y_valid = y[:50].copy()
    y_valid[7] = bad
    with pytest.raises(ValueError, match=r"eval_set\[1\] y contains NaN or inf"):
        cls(objective=obj, **kw).fit(X, y, eval_set=[(X[:50], y[:50]), (X[:50], y_valid)])


def test_a_lightgbm_validation_set_checks_its_labels():
    import lightgbm as lgb

    obj = boostobj.focal()
    train = obj.dataset(X, Y_BIN)
    y_valid = Y_BIN[:50].copy()
    y_valid[7] = np.nan
    with pytest.raises(ValueError, match="y contains NaN or inf"):
        obj.dataset(X[:50], y_valid, reference=train)
    y_valid[7] = 2.0  # in a multiclass model a class, not for a binary model's validation set
    with pytest.raises(ValueError, match="labels must be 0 or 1"):
        obj.dataset(X[:50], y_valid, reference=train)
    # a training set that starts at 0 (init_score None): finiteness is still checked
    bare = lgb.Dataset(X, Y_BIN)
    y_valid[7] = np.inf
    with pytest.raises(ValueError, match="y contains NaN or inf"):
        obj.dataset(X[:50], y_valid, reference=bare)
    y_valid[7] = 1.0
    valid = obj.dataset(X[:50], y_valid, reference=train)
    assert np.array_equal(valid.get_label(), y_valid)
    # a reference not constructed yet (get_init_score raised there): its start as given
    start = obj.init_score_array(Y_BIN)
    valid = obj.dataset(X[:50], y_valid, reference=lgb.Dataset(X, Y_BIN, init_score=start))
    assert np.array_equal(valid.init_score, np.full(50, start[0]))
    assert obj.dataset(X[:50], y_valid, reference=bare).init_score is None


DROP_INS = [(XGBRegressor, boostobj.huber(), Y_REG, XGB), (LGBMRegressor, boostobj.huber(), Y_REG, LGB),
            (XGBClassifier, boostobj.focal(), Y_BIN, XGB), (LGBMClassifier, boostobj.focal(), Y_BIN, LGB)]


@pytest.mark.parametrize("cls, obj, y, kw", DROP_INS)
def test_labels_of_another_length_than_x_name_both_counts(cls, obj, y, kw):
    # XGBoost's own message is a failed C++ check ("p_info->Size() % n_samples"),
    # LightGBM's for an eval set a LightGBMError: both before anything names y
    with pytest.raises(ValueError, match=r"^y has 199 labels but X has 200 rows"):
        cls(objective=obj, **kw).fit(X, y[:-1])
    with pytest.raises(ValueError, match=r"^eval_set\[1\] y has 150 labels but eval_set\[1\] X has 200 rows"):
        cls(objective=obj, **kw).fit(X, y, eval_set=[(X, y), (X, y[:150])])
    with pytest.raises(ValueError, match=r"^y has 200 labels but X has 150 rows"):
        cls(objective=obj, **kw).fit(pd.DataFrame(X[:150]), y)


@pytest.mark.parametrize("cls, obj, y, kw", DROP_INS)
@pytest.mark.parametrize("eval_set, got", [([(X,)], "a tuple of 1"), ([X], "a ndarray"),
                                           ([(X, Y_REG, Y_REG)], "a tuple of 3")])
def test_an_eval_set_entry_that_is_no_pair_is_named(cls, obj, y, kw, eval_set, got):
    # unpacked by the frameworks (and the refit) otherwise: "not enough values to unpack"
    with pytest.raises(ValueError, match=rf"^eval_set\[0\] must be an \(X, y\) pair, got {got}"):
        cls(objective=obj, **kw).fit(X, y, eval_set=eval_set)


@pytest.mark.parametrize("cls, obj, y, kw", DROP_INS)
def test_matching_lists_and_frames_still_fit(cls, obj, y, kw):
    m = cls(objective=obj, **kw).fit(pd.DataFrame(X), list(y), eval_set=[(pd.DataFrame(X), list(y))])
    assert m.predict(X).shape == (200,)


@pytest.mark.parametrize("top", [4999.0, 1e6, 1e300])
def test_labels_implying_an_absurd_class_count_need_an_explicit_k(top):
    with pytest.raises(ValueError, match=r"imply K=\d+ classes.*given explicitly.*n_outputs=K.*num_class"):
        boostobj.focal().init_score(np.r_[0.0, 1.0, top])


def test_an_explicit_k_and_up_to_1000_implied_classes_work():
    y = np.r_[0.0, 1.0, 5.0, 5.0]
    assert boostobj.focal().init_score(y, n_outputs=7).shape == (7,)
    assert boostobj.focal().init_score(np.r_[0.0, 1.0, 999.0]).shape == (1000,)  # the limit itself
    assert boostobj.focal(2.0, [1.0] * 6).init_score(y).shape == (6,)  # K from alpha


# ---- margins -------------------------------------------------------------------
def test_list_margins_just_work():
    obj, y = boostobj.huber(1.0), np.array([0.0, 1.0, 3.0])
    assert obj.loss(y, [0.0, 0.5, 1.0]) == obj.loss(y, np.array([0.0, 0.5, 1.0]))
    g_list, h_list = obj.grad_hess(y, [0.0, 0.5, 1.0])
    g_arr, h_arr = obj.grad_hess(y, np.array([0.0, 0.5, 1.0]))
    assert np.array_equal(g_list, g_arr) and np.array_equal(h_list, h_arr)
    assert boostobj.focal().predict([0.0]).tolist() == [0.5]


@pytest.mark.parametrize("margin", [np.array(0.0), np.zeros((3, 1, 1)), np.zeros((3, 2, 2))])
def test_0d_and_3d_margins_are_rejected(margin):
    obj, y = boostobj.huber(1.0), np.array([0.0, 1.0, 3.0])
    for call in (lambda: obj.loss(y, margin), lambda: obj.grad_hess(y, margin), lambda: obj.predict(margin),
                 lambda: obj(y, margin)):
        with pytest.raises(ValueError, match=r"margin must be 1-D \(n,\) or 2-D \(n, K\), got shape"):
            call()


def test_complex_margins_are_rejected_like_complex_labels():
    obj, y = boostobj.quantile(0.5), np.array([0.0, 1.0, 3.0])
    m = np.zeros(3) + 1j
    for call in (lambda: obj.loss(y, m), lambda: obj.grad_hess(y, m), lambda: obj.predict(m), lambda: obj(y, m)):
        with pytest.raises(ValueError, match="margin must be real numbers, got dtype complex128"):
            call()


# ---- output_margin ---------------------------------------------------------------
def test_xgb_drop_ins_return_the_raw_margin_with_output_margin():
    obj = boostobj.quantile(0.8)
    reg = XGBRegressor(objective=obj, **XGB).fit(X, Y_REG)
    margin = reg.predict(X, output_margin=True)
    np.testing.assert_array_equal(margin, reg.get_booster().predict(xgb.DMatrix(X), output_margin=True))
    np.testing.assert_allclose(obj.predict(margin), reg.predict(X))
    focal = boostobj.focal(2.0)
    clf = XGBClassifier(objective=focal, **XGB).fit(X, Y_BIN)
    margin = clf.predict(X, output_margin=True)
    np.testing.assert_array_equal(margin, clf.get_booster().predict(xgb.DMatrix(X), output_margin=True))
    np.testing.assert_allclose(focal.predict(margin), clf.predict_proba(X)[:, 1], rtol=1e-6)
    assert not np.array_equal(margin, clf.predict_proba(X)[:, 1])  # a margin, not a probability


# ---- multi-quantile score ----------------------------------------------------------
@pytest.mark.parametrize("cls, kw", [(XGBRegressor, XGB), (LGBMRegressor, LGB)])
def test_multi_quantile_score_is_minus_the_mean_pinball_loss(cls, kw):
    alphas = [0.1, 0.5, 0.9]
    model = cls(objective=boostobj.quantile(alphas), **kw).fit(X, Y_REG)
    pred = model.predict(X)
    w = rng.uniform(0.5, 2.0, size=len(Y_REG))
    expected = -np.mean([mean_pinball_loss(Y_REG, pred[:, k], alpha=a, sample_weight=w)
                         for k, a in enumerate(alphas)])
    assert model.score(X, Y_REG, sample_weight=w) == pytest.approx(expected, rel=1e-12)
    scores = cross_val_score(cls(objective=boostobj.quantile(alphas), **kw), X, Y_REG, cv=2)
    assert np.isfinite(scores).all() and (scores < 0).all()
    # a better model scores higher: more rounds fit the training data better
    longer = cls(objective=boostobj.quantile(alphas), **{**kw, "n_estimators": 40}).fit(X, Y_REG)
    assert longer.score(X, Y_REG) > model.score(X, Y_REG)


@pytest.mark.parametrize("cls, kw", [(XGBRegressor, XGB), (LGBMRegressor, LGB)])
def test_single_output_regressors_keep_r2(cls, kw):
    model = cls(objective=boostobj.quantile(0.5), **kw).fit(X, Y_REG)
    assert model.score(X, Y_REG) == pytest.approx(r2_score(Y_REG, model.predict(X)))


# ---- IntervalRegressor ------------------------------------------------------------
@pytest.mark.parametrize("backend", ["xgboost", "lightgbm"])
def test_interval_regressor_passes_pandas_categoricals_to_the_backend(backend):
    r = np.random.default_rng(0)
    n = 600
    city = r.choice(["a", "b", "c"], size=n)
    x = r.normal(size=n)
    truth = x + np.select([city == "a", city == "b"], [0.0, 20.0], -20.0)
    y = truth + r.normal(size=n)
    df = pd.DataFrame({"x": x, "city": pd.Categorical(city)})
    model = IntervalRegressor(backend=backend, n_estimators=60, random_state=0).fit(df[:400], y[:400])
    assert model.categorical_
    # the category carries a 40-unit spread that only the categorical column explains
    assert np.abs(model.predict(df[400:]) - truth[400:]).mean() < 3.0
    assert coverage(y[400:], model.predict_interval(df[400:])) > 0.75


@pytest.mark.parametrize("backend", ["xgboost", "lightgbm"])
@pytest.mark.parametrize("param, value, match", [
    ("learning_rate", float("nan"), "learning_rate must be a finite number > 0"),
    ("learning_rate", 0.0, "learning_rate must be a finite number > 0"),
    ("n_estimators", -1, "n_estimators must be an integer >= 1"),
    ("n_estimators", 2.5, "n_estimators must be an integer >= 1"),
    ("max_depth", 0, "max_depth must be an integer >= 1 or None"),
    ("coverage", 1 - 1e-13, "coverage=.* is too close to 0 or 1"),
    ("coverage", 1e-13, "coverage=.* is too close to 0 or 1"),
])
def test_interval_regressor_names_its_own_bad_parameters(backend, param, value, match):
    with pytest.raises(ValueError, match=match):
        IntervalRegressor(backend=backend, **{param: value}).fit(X, Y_REG)

"""Class-imbalance controls are honoured as sample weights (start included) or refused, never ignored.

Each setting must give exactly the model that the equivalent explicit
``sample_weight`` gives (weights computed here by hand, not by the code under
test), and a different model from the unweighted fit.
"""

from __future__ import annotations

import warnings

import lightgbm as lgb
import numpy as np
import pytest
import xgboost as xgb

import boostobj
from boostobj.sklearn import LGBMClassifier, LGBMRegressor, XGBClassifier, XGBRegressor

rng = np.random.default_rng(7)
X = rng.normal(size=(240, 3))
Y = (rng.random(240) < 0.12 + 0.25 * (X[:, 0] > 0.5)).astype(int)  # about 1 in 5 positive
N_POS, N_NEG = int(Y.sum()), int((1 - Y).sum())
Y3 = np.digitize(X[:, 1] + 0.5 * rng.normal(size=240), [-0.3, 0.9])  # 3 classes, unbalanced

SMALL = {"n_estimators": 8, "random_state": 0}
XGB = dict(SMALL, max_depth=3, n_jobs=1)
LGB = dict(SMALL, num_leaves=7, n_jobs=1, verbose=-1, min_child_samples=5)


def _fit_proba(cls, kw, **fit_kw):
    with warnings.catch_warnings():
        warnings.simplefilter("error", boostobj.StartValueWarning)  # the start accounts for the weights
        model = cls(objective=boostobj.focal(2.0), **kw).fit(X, Y, **fit_kw)
    return model.predict_proba(X)[:, 1]


BALANCED = np.where(Y == 1, len(Y) / (2 * N_POS), len(Y) / (2 * N_NEG))  # n / (K * n_class)
CASES = [
    ("xgb scale_pos_weight", XGBClassifier, XGB, {"scale_pos_weight": 4.0}, np.where(Y == 1, 4.0, 1.0)),
    ("lgb scale_pos_weight", LGBMClassifier, LGB, {"scale_pos_weight": 4.0}, np.where(Y == 1, 4.0, 1.0)),
    # LightGBM's rule: the rarer class weighs (count of the other) / (its count)
    ("lgb is_unbalance", LGBMClassifier, LGB, {"is_unbalance": True}, np.where(Y == 1, N_NEG / N_POS, 1.0)),
    ("lgb unbalance alias", LGBMClassifier, LGB, {"unbalance": "true"}, np.where(Y == 1, N_NEG / N_POS, 1.0)),
    ("xgb class_weight balanced", XGBClassifier, XGB, {"class_weight": "balanced"}, BALANCED),
    ("lgb class_weight balanced", LGBMClassifier, LGB, {"class_weight": "balanced"}, BALANCED),
    ("xgb class_weight dict", XGBClassifier, XGB, {"class_weight": {0: 0.5, 1: 3.0}}, np.where(Y == 1, 3.0, 0.5)),
    ("lgb class_weight dict", LGBMClassifier, LGB, {"class_weight": {0: 0.5, 1: 3.0}}, np.where(Y == 1, 3.0, 0.5)),
]


@pytest.mark.parametrize("name, cls, kw, setting, weights", CASES, ids=[c[0] for c in CASES])
def test_imbalance_setting_equals_the_explicitly_weighted_fit(name, cls, kw, setting, weights):
    honoured = _fit_proba(cls, {**kw, **setting})
    explicit = _fit_proba(cls, kw, sample_weight=weights)
    plain = _fit_proba(cls, kw)
    np.testing.assert_allclose(honoured, explicit, rtol=1e-6, atol=1e-7)
    assert np.abs(honoured - plain).max() > 0.02  # and it is not ignored
    assert honoured.mean() > plain.mean()  # up-weighting the rare positives raises P(y=1)


@pytest.mark.parametrize("cls, kw", [(XGBClassifier, XGB), (LGBMClassifier, LGB)])
def test_class_weight_multiplies_the_sample_weights(cls, kw):
    w = rng.uniform(0.5, 2.0, size=len(Y))
    both = _fit_proba(cls, {**kw, "class_weight": {0: 1.0, 1: 2.5}}, sample_weight=w)
    explicit = _fit_proba(cls, kw, sample_weight=w * np.where(Y == 1, 2.5, 1.0))
    np.testing.assert_allclose(both, explicit, rtol=1e-6, atol=1e-7)


def test_class_weight_with_string_labels_keys_the_original_labels():
    labels = np.where(Y == 1, "fraud", "ok")
    for cls, kw in [(XGBClassifier, XGB), (LGBMClassifier, LGB)]:
        a = cls(objective=boostobj.exponential(), class_weight={"fraud": 3.0, "ok": 1.0}, **kw).fit(X, labels)
        b = cls(objective=boostobj.exponential(), **kw).fit(X, labels, sample_weight=np.where(Y == 1, 3.0, 1.0))
        np.testing.assert_allclose(a.predict_proba(X), b.predict_proba(X), rtol=1e-6, atol=1e-7)


def test_a_binary_loss_in_the_regressor_drop_ins_names_the_classifier():
    for cls, kw in [(XGBRegressor, XGB), (LGBMRegressor, LGB)]:
        with pytest.raises(ValueError, match=r"is a classification loss: use boostobj.sklearn.\w+Classifier"):
            cls(objective=boostobj.exponential(), scale_pos_weight=3.0, **kw).fit(X, Y)


@pytest.mark.parametrize("cls, kw", [(XGBRegressor, XGB), (LGBMRegressor, LGB)])
def test_positive_class_weight_is_refused_where_there_is_no_positive_class(cls, kw):
    y = X[:, 0] * 100
    with pytest.raises(ValueError, match=r"scale_pos_weight weights the positive class.*sample_weight"):
        cls(objective=boostobj.huber(10.0), scale_pos_weight=3.0, **kw).fit(X, y)
    if cls is LGBMRegressor:
        with pytest.raises(ValueError, match=r"is_unbalance weights the positive class"):
            cls(objective=boostobj.huber(10.0), is_unbalance=True, **kw).fit(X, y)


@pytest.mark.parametrize("cls, kw", [(XGBClassifier, XGB), (LGBMClassifier, LGB)])
def test_positive_class_weight_is_refused_for_multiclass(cls, kw):
    with pytest.raises(ValueError, match=r"scale_pos_weight .* 3 output columns.*class_weight"):
        cls(objective=boostobj.focal(2.0), scale_pos_weight=3.0, **kw).fit(X, Y3)


def test_bad_scale_pos_weight_values_are_named():
    for bad in (-1.0, float("nan"), "3"):
        with pytest.raises(ValueError, match="scale_pos_weight must be a positive finite number"):
            XGBClassifier(objective=boostobj.focal(), scale_pos_weight=bad, **XGB).fit(X, Y)
    with pytest.raises(ValueError, match="not both"):
        LGBMClassifier(objective=boostobj.focal(), scale_pos_weight=2.0, is_unbalance=True, **LGB).fit(X, Y)


@pytest.mark.parametrize("params", [{"scale_pos_weight": 3.0}, {"is_unbalance": True}, {"unbalanced_sets": "true"}])
def test_native_lightgbm_refuses_settings_it_would_ignore(params):
    obj = boostobj.focal()
    ds = lgb.Dataset(X, Y, init_score=obj.init_score_array(Y))
    name = next(iter(params))
    with pytest.raises(ValueError, match=rf"{name} is ignored by LightGBM.*weight=w"):
        lgb.train({"objective": obj, "verbose": -1, **params}, ds, 2)


def test_native_lightgbm_with_neutral_settings_trains():
    obj = boostobj.focal()
    ds = lgb.Dataset(X, Y, init_score=obj.init_score_array(Y))
    bst = lgb.train({"objective": obj, "verbose": -1, "scale_pos_weight": 1.0, "is_unbalance": False}, ds, 2)
    assert np.isfinite(bst.predict(X)).all()


@pytest.mark.parametrize("cls, kw", [(XGBClassifier, XGB), (LGBMClassifier, LGB)])
def test_focal_alpha_tuple_trains_k_classes_in_both_drop_ins(cls, kw):
    flat = cls(objective=boostobj.focal(2.0, (1.0, 1.0, 1.0)), **kw).fit(X, Y3).predict_proba(X)
    none = cls(objective=boostobj.focal(2.0), **kw).fit(X, Y3).predict_proba(X)
    np.testing.assert_allclose(flat, none, rtol=1e-6, atol=1e-7)  # equal weights: alpha=None
    heavy = cls(objective=boostobj.focal(2.0, (1.0, 1.0, 6.0)), **kw).fit(X, Y3).predict_proba(X)
    assert heavy.shape == (len(Y3), 3) and np.allclose(heavy.sum(axis=1), 1.0)
    assert heavy[:, 2].mean() > none[:, 2].mean() + 0.02  # the weighted class gains probability


def test_focal_scalar_alpha_with_more_than_two_classes_names_alpha():
    obj = boostobj.focal(2.0, 0.25)
    with pytest.raises(ValueError, match=r"alpha=0.25 is the binary focal weight.*3 class weights"):
        obj.grad_hess(Y3.astype(float), np.zeros((len(Y3), 3)))
    for cls, kw in [(XGBClassifier, XGB), (LGBMClassifier, LGB)]:
        with pytest.raises(ValueError, match=r"alpha=0.25 is the binary focal weight"):
            cls(objective=obj, **kw).fit(X, Y3)
    with pytest.raises(ValueError, match=r"alpha=0.25 is the binary focal weight"):
        xgb.train({"num_class": 3, "base_score": 0.0}, xgb.DMatrix(X, Y3), 1, obj=obj)

"""Bad input: a clear ValueError naming the parameter or data problem and the valid range."""

from __future__ import annotations

import lightgbm as lgb
import numpy as np
import pytest
import xgboost as xgb

import boostobj


@pytest.mark.parametrize(
    "factory, match",
    [
        (lambda: boostobj.quantile(0.0), r"alpha must be in \[1e-07, 0.9999999\], got 0.0"),
        (lambda: boostobj.quantile(1.0), r"alpha must be in \[1e-07, 0.9999999\]"),
        (lambda: boostobj.quantile(-0.2), r"alpha must be in \[1e-07, 0.9999999\]"),
        (lambda: boostobj.quantile(float("nan")), r"alpha must be in \[1e-07, 0.9999999\]"),
        (lambda: boostobj.quantile("0.5"), r"alpha must be a real number in \[1e-07, 0.9999999\]"),
        (lambda: boostobj.quantile([0.1, 1.2]), r"alpha\[1\] must be in \[1e-07, 0.9999999\]"),
        (lambda: boostobj.quantile(0.1, refit_prior=-0.5), r"refit_prior must be in \[0, 1000000\], got -0.5"),
        (lambda: boostobj.quantile(0.1, refit_prior=float("nan")), r"refit_prior must be in \[0, 1000000\]"),
        (lambda: boostobj.quantile([0.5, 0.1]), r"alpha must be strictly increasing"),
        (lambda: boostobj.quantile([]), r"non-empty increasing list"),
        (lambda: boostobj.quantile(0.5, eps=0.0), r"eps must be in \[0.001, 100\]"),
        (lambda: boostobj.huber(0.0), r"delta must be in \[1.1754944e-38, 3.4028235e\+38\], got 0.0"),
        (lambda: boostobj.huber(-1.0), r"delta must be in \[1.17"),
        (lambda: boostobj.huber(float("inf")), r"delta must be in \[1.17"),
        (lambda: boostobj.huber(True), r"delta must be a real number"),
        (lambda: boostobj.focal(-0.5), r"gamma must be in \[0, 50\], got -0.5"),
        (lambda: boostobj.focal(float("nan")), r"gamma must be in \[0, 50\]"),
        (lambda: boostobj.focal(2.0, 0.0), r"alpha must be in \[1e-07, 0.9999999\]"),
        (lambda: boostobj.focal(2.0, 1.5), r"alpha must be in \[1e-07, 0.9999999\]"),
        (lambda: boostobj.focal(2.0, [0.5, -1.0, 0.2]), r"alpha\[1\] must be in \[1e-06, 1000000\]"),
        (lambda: boostobj.focal(2.0, [0.5]), r"one positive weight per class"),
        (lambda: boostobj.expectile(1.0), r"alpha must be in \[1e-07, 0.9999999\], got 1.0"),
        (lambda: boostobj.expectile([0.9, 0.5]), r"alpha must be strictly increasing"),
        (lambda: boostobj.hinge(eps=0.0), r"eps must be in \[1e-06, 100\], got 0.0"),
        # the ends of each range, from the arithmetic (each factory's docstring says why)
        (lambda: boostobj.huber(1e39), r"delta must be in \[1.17.*\], got 1e\+39"),
        (lambda: boostobj.huber(1e-300), r"delta must be in \[1.17.*\], got 1e-300"),
        (lambda: boostobj.expectile(1e-300), r"alpha must be in \[1e-07, 0.9999999\], got 1e-300"),
        (lambda: boostobj.quantile(1 - 1e-9), r"alpha must be in \[1e-07, 0.9999999\]"),
        (lambda: boostobj.focal(gamma=1e39), r"gamma must be in \[0, 50\], got 1e\+39"),
        (lambda: boostobj.focal(gamma=50.5), r"gamma must be in \[0, 50\]"),
        (lambda: boostobj.focal(alpha=[1e300, 1]), r"alpha\[0\] must be in \[1e-06, 1000000\], got 1e\+300"),
        (lambda: boostobj.log_cosh(eps=100.0), r"eps must be in \[1e-06, 10\], got 100.0"),
        (lambda: boostobj.log_cosh(eps=0.0), r"eps must be in \[1e-06, 10\]"),
        (lambda: boostobj.quantile(0.5, eps=1e3), r"eps must be in \[0.001, 100\]"),
        (lambda: boostobj.quantile(0.5, refit_prior=1e7), r"refit_prior must be in \[0, 1000000\]"),
        (lambda: boostobj.hinge(eps=1e3), r"eps must be in \[1e-06, 100\]"),
        (lambda: boostobj.quantile([[0.1, 0.9]]), r"flat list of levels"),
    ],
)
def test_invalid_parameters_fail_at_construction(factory, match):
    with pytest.raises(ValueError, match=match):
        factory()


ALL = [boostobj.squared_error, boostobj.log_cosh, boostobj.huber, boostobj.quantile, boostobj.exponential,
       boostobj.focal, boostobj.expectile, boostobj.hinge, boostobj.modified_huber]


@pytest.mark.parametrize("make", ALL)
@pytest.mark.parametrize("bad", [np.nan, np.inf, -np.inf])
def test_nan_or_inf_labels_are_rejected(make, bad):
    obj = make()
    y = np.array([0.0, 1.0, bad, 1.0])
    for call in (lambda: obj.grad_hess(y, np.zeros(4)), lambda: obj.loss(y, np.zeros(4)),
                 lambda: obj.init_score(y), lambda: obj(y, np.zeros(4))):
        with pytest.raises(ValueError, match="NaN or inf"):
            call()


@pytest.mark.parametrize("make", [boostobj.exponential, boostobj.focal, boostobj.hinge, boostobj.modified_huber])
def test_binary_losses_reject_labels_outside_0_1(make):
    with pytest.raises(ValueError, match=r"labels must be 0 or 1, got \[-1.0\]"):
        make().grad_hess(np.array([0.0, 1.0, -1.0]), np.zeros(3))
    with pytest.raises(ValueError, match="labels must be 0 or 1"):
        make().init_score(np.array([0.0, 0.5, 1.0]))


def test_multiclass_labels_must_be_integers_in_range():
    obj = boostobj.focal(2.0)
    with pytest.raises(ValueError, match=r"integers in \[0, 2\].*got \[1.5\]"):
        obj.grad_hess(np.array([0.0, 1.5, 2.0]), np.zeros((3, 3)))
    with pytest.raises(ValueError, match=r"integers in \[0, 2\].*got \[3.0\]"):
        obj.grad_hess(np.array([0.0, 1.0, 3.0]), np.zeros((3, 3)))
    with pytest.raises(ValueError, match="3 class weights but the model has 4"):
        boostobj.focal(2.0, [0.2, 0.3, 0.5]).grad_hess(np.array([0.0, 1.0, 2.0]), np.zeros((3, 4)))


@pytest.mark.parametrize("make", ALL)
def test_weight_problems_are_rejected(make):
    obj = make()
    y, m = np.array([0.0, 1.0, 1.0]), np.zeros(3)
    with pytest.raises(ValueError, match="sample_weight must be >= 0"):
        obj.grad_hess(y, m, np.array([1.0, -1.0, 1.0]))
    with pytest.raises(ValueError, match="sample_weight has 2 rows but y has 3"):
        obj.grad_hess(y, m, np.array([1.0, 1.0]))
    with pytest.raises(ValueError, match="sample_weight contains NaN or inf"):
        obj.loss(y, m, np.array([1.0, np.nan, 1.0]))
    with pytest.raises(ValueError, match="positive sum"):
        obj.init_score(y, np.zeros(3))


@pytest.mark.parametrize("make", ALL)
def test_shape_mismatches_are_rejected(make):
    obj = make()
    with pytest.raises(ValueError, match="margin has 2 rows but y has 3"):
        obj.grad_hess(np.array([0.0, 1.0, 1.0]), np.zeros(2))
    with pytest.raises(ValueError, match=r"y must be 1-D \(one value per row\), got shape \(3, 2\)"):
        obj.grad_hess(np.zeros((3, 2)), np.zeros(3))
    with pytest.raises(ValueError, match="y must be real numbers"):
        obj.loss(np.array(["a", "b"]), np.zeros(2))
    with pytest.raises(ValueError, match="y must be real numbers, got dtype complex128"):
        obj.loss(np.array([1 + 1j, 0]), np.zeros(2))


def test_multi_quantile_needs_k_outputs():
    obj = boostobj.quantile([0.1, 0.5, 0.9])
    with pytest.raises(ValueError, match=r"needs 3 margin column\(s\).*num_target \(XGBoost\) or num_class"):
        obj.grad_hess(np.arange(5.0), np.zeros(5))
    with pytest.raises(ValueError, match=r"needs 1 margin column"):
        boostobj.huber().grad_hess(np.arange(5.0), np.zeros((5, 2)))


def test_errors_surface_from_inside_real_training_and_lose_nothing():
    from boostobj.sklearn import LGBMRegressor, XGBRegressor

    X = np.random.default_rng(0).normal(size=(50, 2))
    y = X[:, 0].copy()
    y[3] = np.nan
    obj = boostobj.huber(1.0)
    # Natively the objective never sees a NaN label: xgb.DMatrix refuses it, and
    # lgb.Dataset silently stores it as 0. The drop-ins check y before either.
    for cls in (XGBRegressor, LGBMRegressor):
        with pytest.raises(ValueError, match="NaN or inf"):
            cls(objective=obj, n_estimators=2).fit(X, y)
    # the same object still trains on good data afterwards: nothing cached from the failure
    y[3] = 0.0
    bst = xgb.train({"nthread": 1, "base_score": obj.init_score(y)}, xgb.DMatrix(X, y), 5, obj=obj)
    assert np.isfinite(bst.predict(xgb.DMatrix(X))).all()


def test_binary_labels_checked_inside_the_sklearn_drop_ins():
    from boostobj.sklearn import LGBMRegressor, XGBRegressor

    X = np.zeros((4, 1))
    # a binary loss in a regressor is refused before its labels are read: the classifier is the fix
    with pytest.raises(ValueError, match="is a classification loss: use boostobj.sklearn.XGBClassifier"):
        XGBRegressor(objective=boostobj.exponential(), n_estimators=2).fit(X, np.array([0.0, 1.0, 2.0, 1.0]))
    with pytest.raises(ValueError, match="is a classification loss: use boostobj.sklearn.LGBMClassifier"):
        LGBMRegressor(objective=boostobj.focal(), n_estimators=2, verbose=-1).fit(
            X, np.array([0.0, 1.0, 2.0, 1.0]))

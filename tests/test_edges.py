"""The edges: each input either gives the right answer or a ValueError that names it and the fix.

One test (or a few) per kind of edge: one-level lists, empty weights, weights as
repeated rows in the refitting drop-ins, extreme parameters, starts at the ends
of float64 and float32, missing class labels, a loss in the wrong estimator,
model records, LightGBM files without their record, early stopping at small
label scales, and the experiment scripts' exit status.
"""

from __future__ import annotations

import warnings

import lightgbm as lgb
import numpy as np
import pytest
import xgboost as xgb

import boostobj
from boostobj.sklearn import LGBMClassifier, LGBMRegressor, XGBClassifier, XGBRegressor

pytestmark = pytest.mark.filterwarnings("ignore::boostobj.StartValueWarning")


def _data(n=300, seed=0, scale=1.0):
    rng = np.random.default_rng(seed)
    X = rng.normal(size=(n, 3))
    y = scale * (20 * X[:, 0] + 5 * np.sin(3 * X[:, 1]) + rng.standard_t(3, n))
    return X, y


# ---- a list of one level is that level ----------------------------------------------------------
@pytest.mark.parametrize("factory", [boostobj.quantile, boostobj.expectile])
def test_one_level_list_is_the_scalar_level(factory):
    one, scalar = factory([0.3]), factory(0.3)
    m = np.array([3.0, 1.0, 2.0])
    # a row's outputs are sorted, never the rows themselves
    np.testing.assert_array_equal(one.predict(m), m)
    assert one.n_outputs() == 1
    y = np.arange(10.0)
    assert one.init_score(y) == scalar.init_score(y)
    np.testing.assert_array_equal(one.grad_hess(y, np.zeros(10))[0], scalar.grad_hess(y, np.zeros(10))[0])


@pytest.mark.parametrize("factory", [boostobj.quantile, boostobj.expectile])
@pytest.mark.parametrize("entry", ["xgb.train", "lgb.train", "XGBRegressor", "LGBMRegressor"])
def test_one_level_list_trains_as_the_scalar_form(factory, entry):
    X, y = _data()

    def fit(obj):
        if entry == "xgb.train":
            bst = xgb.train({"base_score": obj.init_score(y), "disable_default_eval_metric": 1, "max_depth": 3},
                            xgb.DMatrix(X, y), 10, obj=obj)
            return obj.predict(bst.predict(xgb.DMatrix(X), output_margin=True))
        if entry == "lgb.train":
            bst = lgb.train({"objective": obj, "verbose": -1, "num_leaves": 8}, obj.dataset(X, y), 10)
            return obj.predict(bst.predict(X) + obj.init_score(y))
        est = XGBRegressor(n_estimators=10, max_depth=3) if entry == "XGBRegressor" else \
            LGBMRegressor(n_estimators=10, num_leaves=8, verbose=-1)
        return est.set_params(objective=obj).fit(X, y).predict(X)

    one, scalar = np.asarray(fit(factory([0.8]))), np.asarray(fit(factory(0.8)))
    assert one.shape in ((len(y),), (len(y), 1))
    np.testing.assert_allclose(one.reshape(-1), scalar, rtol=1e-6, atol=1e-5 * np.std(y))


# ---- weights: empty is an error everywhere --------------------------------------------------------
@pytest.mark.parametrize("call", ["init_score", "init_score_array", "grad_hess", "loss", "label_scale", "dataset"])
def test_empty_weights_are_an_error_in_every_public_call(call):
    obj, y = boostobj.huber(), np.arange(5.0)
    args = {"init_score": lambda: obj.init_score(y, np.array([])),
            "init_score_array": lambda: obj.init_score_array(y, np.array([])),
            "grad_hess": lambda: obj.grad_hess(y, np.zeros(5), np.array([])),
            "loss": lambda: obj.loss(y, np.zeros(5), np.array([])),
            "label_scale": lambda: obj.label_scale(y, np.array([])),
            "dataset": lambda: obj.dataset(np.zeros((5, 1)), y, weight=np.array([]))}
    with pytest.raises(ValueError, match="sample_weight is empty: pass one weight per row of y, or None"):
        args[call]()


@pytest.mark.parametrize("est", [XGBRegressor, LGBMRegressor, XGBClassifier, LGBMClassifier])
@pytest.mark.parametrize("weights", [np.array([]), np.ones(7), 2.0])
def test_empty_or_wrong_length_weights_are_an_error_in_the_drop_ins(est, weights):
    X, y = _data(50)
    obj = boostobj.huber() if "Regressor" in est.__name__ else boostobj.focal()
    if "Classifier" in est.__name__:
        y = (y > 0).astype(int)
    with pytest.raises(ValueError, match=r"sample_weight has .* but y has 50 rows: pass one weight per row"):
        est(objective=obj, n_estimators=2).fit(X, y, sample_weight=weights)


def test_weights_beyond_float32_are_an_error():
    with pytest.raises(ValueError, match=r"sample_weight has values up to 1e\+300, above float32's largest"):
        boostobj.huber().init_score(np.arange(3.0), np.array([1.0, 1e300, 1.0]))


# ---- weights are repeated rows, also in the refitting quantile drop-ins ----------------------------
@pytest.mark.parametrize("est", [LGBMRegressor, XGBRegressor])
# (Huber with a delta that clips most rows makes many splits tie to float32 rounding, which a
# weight times the normalisation factor and repeated rows reach by different roundings.)
@pytest.mark.parametrize("obj", [boostobj.quantile(0.5), boostobj.quantile(0.8), boostobj.huber(20.0)],
                         ids=["quantile(0.5)", "quantile(0.8)", "huber"])
@pytest.mark.parametrize("seed", [0, 1])
def test_integer_weights_train_as_repeated_rows(est, obj, seed):
    rng = np.random.default_rng(seed)
    X = rng.integers(0, 8, size=(120, 2)).astype(float)  # integer features: the same bins either way
    y = 10 * X[:, 0] + rng.normal(size=120) * 30
    w = rng.integers(1, 4, 120)
    reps = np.repeat(np.arange(120), w)
    if est is LGBMRegressor:
        params = dict(n_estimators=6, min_child_samples=1, min_child_weight=0, min_data_in_bin=1,
                      reg_lambda=1.0, num_leaves=8, verbose=-1)
    else:
        params = dict(n_estimators=6, min_child_weight=0, reg_lambda=1.0, max_depth=3)
    weighted = est(objective=obj, **params).fit(X, y, sample_weight=w.astype(float)).predict(X)
    repeated = est(objective=obj, **params).fit(X[reps], y[reps]).predict(X)
    np.testing.assert_allclose(weighted, repeated, rtol=0, atol=1e-4 * np.ptp(y))


# ---- the start at the ends of the number types -----------------------------------------------------
@pytest.mark.parametrize("make", [lambda: boostobj.focal(2.0, [0.2, 0.5, 0.3]), lambda: boostobj.focal(1.0),
                                  lambda: boostobj.exponential(), lambda: boostobj.hinge(),
                                  lambda: boostobj.modified_huber(), lambda: boostobj.huber(2.0),
                                  lambda: boostobj.log_cosh(), lambda: boostobj.quantile([0.2, 0.7]),
                                  lambda: boostobj.expectile(0.3)],
                         ids=["focal-3-classes", "focal", "exponential", "hinge", "modified_huber", "huber",
                              "log_cosh", "quantiles", "expectile"])
@pytest.mark.parametrize("c", [1e-10, 1e10])
def test_weights_of_one_common_scale_give_the_same_start(make, c):
    obj = make()
    rng = np.random.default_rng(3)
    k = 3 if obj.n_outputs() == 3 else 1
    if obj.task == "regression":
        y = rng.normal(size=200) * 5
    else:
        y = rng.choice(k if k > 1 else 2, 200, p=[0.6, 0.3, 0.1] if k > 1 else [0.7, 0.3]).astype(float)
    w = rng.uniform(0.5, 2.0, 200)
    np.testing.assert_allclose(obj.init_score(y, c * w), obj.init_score(y, w), rtol=1e-6, atol=1e-8)


def test_quantile_start_is_right_in_float64_below_float32():
    y = np.array([3e-299, 5e-299, 7e-299])
    assert boostobj.quantile(0.9).init_score(y) == 7e-299
    assert boostobj.quantile(0.5).init_score(y) == 5e-299


@pytest.mark.parametrize("bad", [3e-299, 1e39])
@pytest.mark.parametrize("entry", ["XGBRegressor", "LGBMRegressor", "dataset"])
def test_labels_float32_cannot_hold_are_an_error(bad, entry):
    X, y = _data(20)
    y[3] = bad
    with pytest.raises(ValueError, match=r"label\(s\) that float32.*cannot hold.*rescale the labels"):
        if entry == "dataset":
            boostobj.quantile(0.5).dataset(X, y)
        else:
            est = XGBRegressor if entry == "XGBRegressor" else LGBMRegressor
            est(objective=boostobj.quantile(0.5), n_estimators=2).fit(X, y)


# ---- class labels ----------------------------------------------------------------------------------
@pytest.mark.parametrize("est", [XGBClassifier, LGBMClassifier])
@pytest.mark.parametrize("missing", [None, float("nan")])
def test_missing_class_labels_are_an_error(est, missing):
    X, _ = _data(30)
    y = np.array(["a", "b"] * 15, dtype=object)
    y[4] = missing
    with pytest.raises(ValueError, match=r"y contains (a missing label|NaN)"):
        est(objective=boostobj.focal(), n_estimators=2).fit(X, y)


# ---- a loss in the wrong kind of estimator ---------------------------------------------------------
@pytest.mark.parametrize("est, fix", [(XGBClassifier, "XGBRegressor"), (LGBMClassifier, "LGBMRegressor")])
def test_regression_loss_in_a_classifier_names_the_regressor(est, fix):
    X, y = _data(40)
    with pytest.raises(ValueError, match=rf"is a regression loss: use boostobj.sklearn.{fix}"):
        est(objective=boostobj.huber(1.0), n_estimators=2).fit(X, (y > 0).astype(int))


@pytest.mark.parametrize("est, fix", [(XGBRegressor, "XGBClassifier"), (LGBMRegressor, "LGBMClassifier")])
def test_classification_loss_in_a_regressor_names_the_classifier(est, fix):
    X, y = _data(40)
    with pytest.raises(ValueError, match=rf"is a classification loss: use boostobj.sklearn.{fix}"):
        est(objective=boostobj.exponential(), n_estimators=2).fit(X, (y > 0).astype(float))


@pytest.mark.parametrize("est", [XGBClassifier, LGBMClassifier])
def test_binary_loss_with_three_classes_says_so(est):
    X, y = _data(60)
    y3 = np.digitize(y, np.quantile(y, [1 / 3, 2 / 3]))
    with pytest.raises(ValueError, match=r"exponential is a binary loss .*\(3 classes\).*boostobj.focal\(\)"):
        est(objective=boostobj.exponential(), n_estimators=2).fit(X, y3)


# ---- clearer errors for wrong inputs ---------------------------------------------------------------
def test_margin_as_a_list_or_bool_is_named():
    obj, y = boostobj.huber(), np.arange(4.0)
    dtrain = xgb.DMatrix(np.zeros((4, 1)), y)
    g, _ = obj([0.0, 0.0, 0.0, 0.0], dtrain)  # a list works as an array
    assert g.shape == (4,)
    with pytest.raises(ValueError, match=r"margin must be real numbers, got dtype bool"):
        obj(np.zeros(4, dtype=bool), dtrain)


def test_scalar_y_is_named():
    with pytest.raises(ValueError, match="y must be an array with one label per row, got the scalar"):
        LGBMRegressor(objective=boostobj.quantile(0.5)).fit(np.zeros((1, 1)), np.float64(3.0))


def test_focal_labels_that_skip_a_class_name_num_class():
    X = np.zeros((6, 1))
    with pytest.warns(UserWarning, match=r"labels \[0, 2\] imply K=3 classes.*num_class=3"):
        boostobj.focal().dataset(X, np.array([0, 2, 0, 2, 0, 2.0]))


# ---- the experiment scripts' exit status -----------------------------------------------------------
def test_experiment_exit_status_follows_its_checks():
    import sys
    from pathlib import Path

    sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "experiments"))
    try:
        from _shared import exit_status
    finally:
        sys.path.pop(0)

    class Check:
        def __init__(self, passed):
            self.passed = passed

    assert exit_status([Check(True), Check(True)], allow_failures=False) == 0
    assert exit_status([Check(True), Check(False)], allow_failures=False) == 1
    assert exit_status([Check(False)], allow_failures=True) == 0


# ---- model records: every field checked against the model --------------------------------------
def _xgb_classifier():
    X, y = _data(80)
    return XGBClassifier(objective=boostobj.exponential(), n_estimators=3).fit(X, (y > 0).astype(int)), X


def _tampered(model, **fields):
    import json

    rec = json.loads(model.get_booster().attr("boostobj"))
    rec.update(fields)
    model.get_booster().set_attr(boostobj=json.dumps(rec))
    return model.get_booster()


@pytest.mark.parametrize("fields, match", [
    ({"start": float("nan")}, r"start must be finite numbers"),
    ({"start": [0.1, 0.2]}, r"start must be one number"),
    ({"pinned": [[float("inf")], [1.0]]}, r"pinned start must be finite numbers"),
    ({"pinned": [[0.0], [-1.0]]}, r"pinned scale must be positive"),
    ({"classes": {"values": [0, 1, 2], "dtype": "<i8"}}, r"3 classes but the model has 1 output column"),
    ({"n_outputs": 3}, r"says 3 output column\(s\) but the model has 1"),
    ({"factory": ["exponential"]}, r"factory must be a factory name \(a string\)"),
    ({"params": ["gamma"]}, r"params must be a JSON object"),
    ({"factory": "not_registered_anywhere", "module": "mylosses"},
     r"factory 'not_registered_anywhere'.*registered by the module 'mylosses'"),
])
def test_tampered_records_are_refused(fields, match):
    import json
    import pickle

    model, X = _xgb_classifier()
    booster = _tampered(model, **fields)
    with pytest.raises(ValueError, match=match):
        boostobj.objective_of(booster)
    raw = booster.save_raw("json")
    with pytest.raises(ValueError, match=match):
        XGBClassifier().load_model(bytearray(raw))
    # nothing was executed: loading refused before calling anything the record names
    assert pickle.loads(pickle.dumps(json.loads(booster.attr("boostobj"))))


def test_lightgbm_record_lives_in_the_file_the_string_and_copies(tmp_path):
    import copy

    X, y = _data(100)
    model = LGBMClassifier(objective=boostobj.focal(1.0), n_estimators=3, verbose=-1).fit(X, (y > 0).astype(int))
    path = tmp_path / "m.txt"
    model.booster_.save_model(path)
    (tmp_path / "m.txt.boostobj.json").unlink()  # moved without its sidecar
    moved = tmp_path / "moved.txt"
    path.rename(moved)
    assert boostobj.objective_of(moved) == boostobj.focal(1.0)
    text = model.booster_.model_to_string()
    assert boostobj.objective_of(text) == boostobj.focal(1.0)
    np.testing.assert_allclose(lgb.Booster(model_str=text).predict(X), model.booster_.predict(X))
    assert boostobj.objective_of(copy.deepcopy(model.booster_)) == boostobj.focal(1.0)
    assert boostobj.objective_of(copy.copy(model.booster_)) == boostobj.focal(1.0)


def test_lightgbm_file_without_its_record_warns(tmp_path):
    X, y = _data(100)
    obj = boostobj.focal(1.0)
    ds = obj.dataset(X, (y > 0).astype(float))
    bst = lgb.train({"objective": obj, "verbose": -1}, ds, 3)  # never recorded
    path = tmp_path / "m.txt"
    bst.save_model(path)
    with pytest.warns(UserWarning, match=r"m.txt' was trained with a custom objective but its record "
                                         r".*m.txt.boostobj.json' is missing.*raw margins"):
        assert boostobj.objective_of(path) is None
    with pytest.warns(UserWarning, match=r"booster was trained with a custom objective"):
        assert boostobj.objective_of(lgb.Booster(model_file=path)) is None
    # a built-in objective's model says nothing
    plain = tmp_path / "plain.txt"
    lgb.train({"objective": "binary", "verbose": -1}, lgb.Dataset(X, (y > 0).astype(float)), 2).save_model(plain)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        assert boostobj.objective_of(plain) is None


# ---- early stopping sees the loss at any label scale (XGBoost prints six decimals) -----------------
def _best_iteration(entry, c, seed=5):
    X, y = _data(600, seed=seed)
    tr, va = slice(0, 400), slice(400, 600)
    obj, yc = boostobj.huber(2.0 * c), y * c
    if entry in ("XGBRegressor", "LGBMRegressor"):
        if entry == "XGBRegressor":
            m = XGBRegressor(objective=obj, n_estimators=300, learning_rate=0.1, max_depth=3,
                             early_stopping_rounds=10)
            m.fit(X[tr], yc[tr], eval_set=[(X[va], yc[va])], verbose=False)
        else:
            m = LGBMRegressor(objective=obj, n_estimators=300, learning_rate=0.1, num_leaves=8, verbose=-1)
            m.fit(X[tr], yc[tr], eval_set=[(X[va], yc[va])], callbacks=[lgb.early_stopping(10, verbose=False)])
        history = m.evals_result_["valid_0"] if entry == "LGBMRegressor" else m.evals_result()["validation_0"]
        return m.best_iteration if entry == "XGBRegressor" else m.best_iteration_ - 1, next(iter(history.values()))
    dtrain, dvalid = xgb.DMatrix(X[tr], yc[tr]), xgb.DMatrix(X[va], yc[va])
    evals: dict = {}
    bst = xgb.train({"base_score": obj.init_score(yc[tr]), "disable_default_eval_metric": 1,
                     "max_depth": 3, "eta": 0.1}, dtrain, 300, obj=obj, custom_metric=obj.metric,
                    evals=[(dvalid, "valid")], early_stopping_rounds=10, evals_result=evals, verbose_eval=False)
    return bst.best_iteration, next(iter(evals["valid"].values()))


@pytest.mark.parametrize("entry", ["XGBRegressor", "xgb.train"])
def test_xgboost_early_stopping_reads_the_loss_at_labels_x1e_minus_5(entry):
    at_one, _ = _best_iteration(entry, 1.0)
    small, history = _best_iteration(entry, 1e-5)
    assert 20 < at_one < 290  # it trained, then stopped
    # XGBoost grows its trees with absolute thresholds (split gains below 1e-6 are dropped), so
    # at 1e-5 its late trees differ from those at scale 1 for any objective, its own too: the
    # stop is then near, not at, the same round; it is no longer at round 0
    assert small > at_one / 2
    assert min(history) >= 1.0  # in units that keep XGBoost's six decimals meaningful


@pytest.mark.parametrize("entry", ["XGBRegressor", "xgb.train", "LGBMRegressor"])
def test_early_stopping_is_scale_equivariant_where_the_trees_are(entry):
    """Where the framework's trees are the same at both scales (LightGBM at 1e-5; XGBoost at a
    power of two whose gains stay above its thresholds) the stop is the same round."""
    c = 2.0**-17 if entry == "LGBMRegressor" else 2.0**-7  # powers of two: every float32 scales exactly
    at_one, one = _best_iteration(entry, 1.0)
    small, scaled = _best_iteration(entry, c)
    assert small == at_one
    unit = 1.0 if entry == "LGBMRegressor" else scaled[0] / (one[0] * c * c)  # the metric's 10^e
    # to the six decimals XGBoost prints at each scale
    np.testing.assert_allclose(np.asarray(scaled) / unit, c * c * np.asarray(one), rtol=3e-5)


def test_metric_unit_is_named_and_fixed_per_dataset():
    y = 1e-5 * np.arange(1.0, 11.0)
    dtrain = xgb.DMatrix(np.zeros((10, 1)), y)
    obj = boostobj.huber(1e-5)
    name, value = obj.metric(np.zeros(10), dtrain)
    assert name.startswith("huber[x1e") and 1 <= value < 10
    name2, value2 = obj.metric(np.full(10, 5e-5), dtrain)  # another round, same units
    assert name2 == name and value2 < value
    assert boostobj.huber().metric(np.zeros(10), xgb.DMatrix(np.zeros((10, 1)), np.arange(10.0)))[0] == "huber"


# ---- valid settings that cannot move the model on the data at hand: one warning, saying why --------
@pytest.mark.parametrize("est", [XGBRegressor, LGBMRegressor])
@pytest.mark.parametrize("make, match", [
    (lambda: boostobj.quantile(1e-6), r"level 1e-06 is beyond the sample's resolution: with 300 rows"),
    (lambda: boostobj.quantile([0.5, 1 - 1e-6]), r"level 0.999999 is beyond the sample's resolution"),
    (lambda: boostobj.expectile(1e-6), r"level 1e-06 is beyond the sample's resolution"),
    (lambda: boostobj.huber(1e-30), r"Newton steps at the start are .* below 1e-6 of the labels' typical residual"),
], ids=["quantile(1e-6)", "quantiles", "expectile(1e-6)", "huber(1e-30)"])
def test_settings_that_cannot_move_the_model_warn_once(est, make, match):
    X, y = _data(300)
    with warnings.catch_warnings(record=True) as seen:
        warnings.simplefilter("always")
        est(objective=make(), n_estimators=5).fit(X, y)
    stalled = [w for w in seen if issubclass(w.category, boostobj.StalledFitWarning)]
    assert len(stalled) == 1 and __import__("re").search(match, str(stalled[0].message)), \
        [str(w.message) for w in stalled]


@pytest.mark.parametrize("obj", [boostobj.focal(gamma=50), boostobj.hinge(eps=100)], ids=["focal(50)", "hinge(100)"])
def test_too_little_curvature_for_a_split_warns_naming_the_leaf_size_control(obj):
    X, y = _data(300)
    with pytest.warns(boostobj.StalledFitWarning, match=r"curvature at the start sums to .* min_child_weight=1"):
        XGBClassifier(objective=obj, n_estimators=3).fit(X, (y > 0).astype(int))


@pytest.mark.parametrize("obj", [boostobj.huber(1.0), boostobj.quantile(0.01), boostobj.expectile(0.99),
                                 boostobj.log_cosh(1e-6), boostobj.quantile(0.5, eps=1e-3)],
                         ids=["huber", "quantile(0.01)", "expectile(0.99)", "log_cosh(1e-6)", "quantile eps 1e-3"])
@pytest.mark.parametrize("est", [XGBRegressor, LGBMRegressor])
def test_ordinary_settings_do_not_warn_and_do_train(obj, est):
    X, y = _data(300)
    with warnings.catch_warnings():
        warnings.simplefilter("error", boostobj.StalledFitWarning)
        pred = est(objective=obj, n_estimators=100).fit(X, y).predict(X)
    assert np.std(pred) > 0.3 * np.std(y)


@pytest.mark.parametrize("obj", [boostobj.focal(2.0), boostobj.focal(5.0), boostobj.hinge(1e-6),
                                 boostobj.exponential()], ids=["focal(2)", "focal(5)", "hinge(1e-6)", "exponential"])
def test_ordinary_classifiers_do_not_warn(obj):
    X, y = _data(300)
    with warnings.catch_warnings():
        warnings.simplefilter("error", boostobj.StalledFitWarning)
        model = XGBClassifier(objective=obj, n_estimators=30).fit(X, (y > 0).astype(int))
    assert np.std(model.decision_function(X)) > 0.1


def test_sinc_experiment_with_failing_checks_exits_non_zero(tmp_path):
    import subprocess
    import sys
    from pathlib import Path

    script = Path(__file__).resolve().parents[1] / "experiments" / "sinc.py"
    args = [sys.executable, str(script), "--n-train", "60", "--quiet", "--backend", "lightgbm", "--seeds", "1",
            "--out", str(tmp_path)]
    run = subprocess.run(args, capture_output=True, text=True, timeout=600)
    assert "FAIL" in run.stdout  # 60 rows are too few for the paper's observations
    assert run.returncode == 1, run.stderr
    assert "checks FAILED; exit status 1" in run.stderr


@pytest.mark.parametrize("entry", ["lgb.train", "drop-in", "drop-in alias"])
def test_lightgbm_random_forest_with_a_boostobj_objective_is_named(entry):
    """LightGBM's random forest takes only built-in objectives; with a start it stopped on an internal
    check ("init_score == nullptr") before reading the objective."""
    rng = np.random.default_rng(0)
    X = rng.normal(size=(200, 3))
    y = X[:, 0] + rng.normal(size=200)
    obj = boostobj.huber(1.0)
    with pytest.raises(ValueError, match="random forest trains only its built-in objectives.*'gbdt'"):
        if entry == "lgb.train":
            lgb.train({"objective": obj, "boosting": "rf", "bagging_fraction": 0.8, "bagging_freq": 1,
                       "verbose": -1}, obj.dataset(X, y), 3)
        elif entry == "drop-in":
            LGBMRegressor(objective=obj, boosting_type="rf", subsample=0.8, subsample_freq=1, n_estimators=3,
                          verbose=-1).fit(X, y)
        else:
            LGBMRegressor(objective=obj, boosting="random_forest", n_estimators=3, verbose=-1).fit(X, y)
    # the same Dataset trains as ever with gradient boosting
    assert lgb.train({"objective": obj, "verbose": -1}, obj.dataset(X, y), 3).num_trees() == 3

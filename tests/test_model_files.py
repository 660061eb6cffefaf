"""Model files describe themselves; validation sets and continued training keep the start.

Model files: save/load in a fresh process, ``objective_of``,
``obj.record`` for native training, ``obj.dataset`` for LightGBM validation
sets, and ``init_model`` / ``xgb_model`` continuation, in both frameworks.
"""

from __future__ import annotations

import json
import subprocess
import sys
import textwrap
import warnings
from pathlib import Path

import lightgbm as lgb
import numpy as np
import pytest
import xgboost as xgb

import boostobj
from boostobj import sklearn as bsk
from boostobj.model_io import FACTORIES, make_record, objective_from_record, sidecar_path
from cases import ALL_CASES, labels_for

ROOT = Path(__file__).resolve().parent.parent
XGB = {"max_depth": 3, "learning_rate": 0.3, "n_jobs": 1}
LGB = {"num_leaves": 8, "learning_rate": 0.3, "n_jobs": 1, "verbose": -1}


def _data(n=300, seed=0):
    rng = np.random.default_rng(seed)
    X = rng.normal(size=(n, 3))
    y = 500 + 100 * X[:, 0] + 30 * rng.standard_t(3, n)
    labels = np.where(X[:, 1] + 0.5 * rng.normal(size=n) > 0.8, "yes", "no")
    classes3 = np.array(["a", "b", "c"])[np.digitize(X[:, 2] + 0.3 * rng.normal(size=n), [-0.5, 0.5])]
    return X, y, labels, classes3


# ---- 1. save / load in a fresh process ----------------------------------------
LOADER = textwrap.dedent("""
    import json, sys
    import numpy as np, xgboost as xgb, lightgbm as lgb, boostobj
    from boostobj.sklearn import XGBRegressor, XGBClassifier
    d = sys.argv[1]
    X = np.load(d + "/X.npy")
    out = {}
    for name, kind in json.load(open(d + "/files.json")).items():
        path = d + "/" + name
        obj = boostobj.objective_of(path)
        out[name + ":objective"] = repr(obj)
        if kind == "xgb-reg":
            m = XGBRegressor(); m.load_model(path); out[name] = m.predict(X).tolist()
        elif kind == "xgb-clf":
            m = XGBClassifier(); m.load_model(path)
            out[name] = m.predict_proba(X).tolist(); out[name + ":predict"] = m.predict(X).tolist()
        elif kind == "xgb-native":
            out[name] = obj.predict(xgb.Booster(model_file=path).predict(xgb.DMatrix(X), output_margin=True)).tolist()
        else:  # LightGBM: the raw score includes the start; the sidecar gives the objective
            out[name] = obj.predict(lgb.Booster(model_file=path).predict(X, raw_score=True)).tolist()
    json.dump(out, open(d + "/out.json", "w"))
""")


def test_models_round_trip_through_files_in_a_fresh_process(tmp_path):
    X, y, labels, classes3 = _data()
    mq = boostobj.quantile([0.1, 0.5, 0.9], refit_prior=0.25)  # a non-default parameter survives too
    expected, files = {}, {}

    def keep(name, kind, value, objective):
        files[name] = kind
        expected[name] = np.asarray(value)
        expected[name + ":objective"] = repr(objective)

    xr = bsk.XGBRegressor(objective=mq, n_estimators=8, **XGB).fit(X, y)
    xc = bsk.XGBClassifier(objective=boostobj.focal(2.0), n_estimators=8, **XGB).fit(X, labels)
    xm = bsk.XGBClassifier(objective=boostobj.focal(1.0), n_estimators=8, **XGB).fit(X, classes3)
    for ext in ("json", "ubj"):
        xr.save_model(tmp_path / f"xr.{ext}")
        keep(f"xr.{ext}", "xgb-reg", xr.predict(X), mq)
        xc.save_model(tmp_path / f"xc.{ext}")
        keep(f"xc.{ext}", "xgb-clf", xc.predict_proba(X), xc.objective)
        expected[f"xc.{ext}:predict"] = xc.predict(X)
    loaded = bsk.XGBRegressor()
    loaded.load_model(tmp_path / "xr.json")
    assert loaded.objective.base_loss.refit_prior == 0.25  # the record keeps it, not the default
    xm.save_model(tmp_path / "xm.json")
    keep("xm.json", "xgb-clf", xm.predict_proba(X), xm.objective)
    expected["xm.json:predict"] = xm.predict(X)

    lr = bsk.LGBMRegressor(objective=mq, n_estimators=8, **LGB).fit(X, y)
    lr.booster_.save_model(tmp_path / "lr.txt")
    keep("lr.txt", "lgb", lr.predict(X), mq)
    lc = bsk.LGBMClassifier(objective=boostobj.exponential(), n_estimators=8, **LGB).fit(X, labels)
    lc.booster_.save_model(tmp_path / "lc.txt")
    keep("lc.txt", "lgb", lc.predict_proba(X)[:, 1], lc.objective)

    # native training: one obj.record call
    obj = boostobj.huber(30.0)
    bst = xgb.train({"base_score": obj.init_score(y), "disable_default_eval_metric": 1, "max_depth": 3,
                     "nthread": 1}, xgb.DMatrix(X, y), 8, obj=obj)
    obj.record(bst).save_model(tmp_path / "xn.ubj")
    keep("xn.ubj", "xgb-native", bst.predict(xgb.DMatrix(X)), obj)
    ds = obj.dataset(X, y)
    lbst = lgb.train({"objective": obj, "verbose": -1, "num_threads": 1}, ds, 8)
    unrecorded = lbst.predict(X)
    obj.record(lbst, ds).save_model(tmp_path / "ln.txt")
    keep("ln.txt", "lgb-native", lbst.predict(X), obj)
    # the native LightGBM file carries the start: off by the whole start without it
    np.testing.assert_allclose(lbst.predict(X), unrecorded + obj.init_score(y), rtol=1e-12)

    np.save(tmp_path / "X.npy", X)
    (tmp_path / "files.json").write_text(json.dumps(files))
    subprocess.run([sys.executable, "-c", LOADER, str(tmp_path)], check=True, cwd=ROOT,
                   env={"PYTHONPATH": str(ROOT), "PATH": "/usr/bin:/bin"})
    got = json.loads((tmp_path / "out.json").read_text())
    for key, want in expected.items():
        if key.endswith(":objective"):
            assert got[key] == want, key
        elif key.endswith(":predict"):
            assert got[key] == want.tolist(), key  # string classes come back as strings
        else:
            np.testing.assert_array_equal(np.asarray(got[key]), want, err_msg=key)
    q = np.asarray(got["xr.ubj"])
    assert (np.diff(q, axis=1) >= 0).all()  # sorted quantiles after loading


def test_objective_of_every_kind_of_model(tmp_path):
    X, y, labels, _ = _data(n=120)
    obj = boostobj.quantile(0.8)
    for model in (bsk.XGBRegressor(objective=obj, n_estimators=2, **XGB).fit(X, y),
                  bsk.LGBMRegressor(objective=obj, n_estimators=2, **LGB).fit(X, y)):
        assert boostobj.objective_of(model) == obj
        booster = model.get_booster() if hasattr(model, "get_booster") else model.booster_
        assert boostobj.objective_of(booster) == obj
    # trained without a boostobj objective: None, for boosters and files alike
    plain_x = xgb.train({"nthread": 1}, xgb.DMatrix(X, y), 2)
    plain_l = lgb.train({"verbose": -1, "num_threads": 1}, lgb.Dataset(X, y), 2)
    plain_x.save_model(tmp_path / "p.json")
    plain_l.save_model(tmp_path / "p.txt")
    for m in (plain_x, plain_l, tmp_path / "p.json", str(tmp_path / "p.txt"),
              xgb.XGBRegressor(n_estimators=2).fit(X, y)):
        assert boostobj.objective_of(m) is None
    with pytest.raises(ValueError, match="no model file"):
        boostobj.objective_of(tmp_path / "missing.json")


@pytest.mark.parametrize("make, kind", ALL_CASES)
def test_every_objective_rebuilds_from_its_record(make, kind):
    obj = make()
    init = obj.init_score(labels_for(kind, 30, np.random.default_rng(0), obj))
    for o in (obj, obj.with_start(init, np.ones(np.shape(init))),
              obj.on_device("cuda")):
        rec = json.loads(json.dumps(make_record(o, start=0.0)))  # plain JSON data
        assert objective_from_record(rec) == o
    assert obj.factory in FACTORIES


def test_bad_records_give_clear_errors(tmp_path):
    X, y, _, _ = _data(n=80)
    bst = xgb.train({"nthread": 1, "base_score": boostobj.huber(5.0).init_score(y), "disable_default_eval_metric": 1},
                    xgb.DMatrix(X, y), 2, obj=boostobj.huber(5.0))
    boostobj.huber(5.0).record(bst)
    rec = json.loads(bst.attr("boostobj"))
    bst.set_attr(boostobj=json.dumps(dict(rec, factory="os.system")))
    with pytest.raises(ValueError, match="factory 'os.system'.*not registered"):
        boostobj.objective_of(bst)
    bst.set_attr(boostobj=json.dumps(dict(rec, params={"delta": -1.0})))
    with pytest.raises(ValueError, match="rejects.*delta"):
        boostobj.objective_of(bst)
    bst.set_attr(boostobj="{not json")
    with pytest.raises(ValueError, match="not valid JSON"):
        boostobj.objective_of(bst)
    # a LightGBM sidecar goes through the same checks
    lbst = lgb.train({"verbose": -1, "num_threads": 1}, lgb.Dataset(X, y), 2)
    lbst.save_model(tmp_path / "m.txt")
    sidecar_path(tmp_path / "m.txt").write_text(json.dumps(dict(rec, params={"delta": 1, "x": 2})))
    with pytest.raises(ValueError, match="rejects"):
        boostobj.objective_of(tmp_path / "m.txt")


def test_lightgbm_record_needs_the_train_set_and_bakes_once():
    X, y, _, _ = _data(n=150)
    obj = boostobj.log_cosh()
    ds = obj.dataset(X, y)
    bst = lgb.train({"objective": obj, "verbose": -1, "num_threads": 1}, ds, 5)
    with pytest.raises(ValueError, match="train_set"):
        obj.record(bst)
    before = bst.predict(X)
    obj.record(bst, ds)
    obj.record(bst, ds)  # recording again must not add the start again
    np.testing.assert_allclose(bst.predict(X), before + obj.init_score(y), rtol=1e-12)


# ---- 2. LightGBM validation sets ------------------------------------------------
def test_lightgbm_validation_set_helper_and_the_loud_mistake():
    X, y, _, _ = _data(n=600, seed=1)
    Xv, yv, _, _ = _data(n=300, seed=2)
    obj = boostobj.quantile(0.9)
    params = {"objective": obj, "verbose": -1, "num_threads": 1, "learning_rate": 0.1, "num_leaves": 8}

    def train(valid_of):
        ds = obj.dataset(X, y)
        evals: dict = {}
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            bst = lgb.train(params, ds, 60, valid_sets=[valid_of(ds)], feval=obj.metric,
                            callbacks=[lgb.early_stopping(5, verbose=False), lgb.record_evaluation(evals)])
        return bst, [w for w in caught if issubclass(w.category, boostobj.StartValueWarning)]

    good, good_warnings = train(lambda ds: obj.dataset(Xv, yv, reference=ds))
    bad, bad_warnings = train(lambda ds: lgb.Dataset(Xv, yv, reference=ds))
    assert good_warnings == []
    assert len(bad_warnings) == 1 and "init_score" in str(bad_warnings[0].message)  # once, naming it
    assert bad.best_iteration == 1 < good.best_iteration  # the trap this warning exposes
    start = obj.init_score(y)
    pin = lambda bst: obj.loss(yv, bst.predict(Xv, num_iteration=bst.best_iteration) + start)  # noqa: E731
    assert pin(good) < 0.9 * pin(bad)


# ---- 3. continued training ----------------------------------------------------
N, M = 6, 4


def _same(a, b, scale):
    np.testing.assert_allclose(a, b, rtol=0, atol=1e-5 * scale)


@pytest.mark.parametrize("framework", ["xgboost", "lightgbm"])
@pytest.mark.parametrize("task", ["regression", "binary", "multiclass"])
def test_drop_ins_continue_from_the_models_margins(framework, task):
    X, y, labels, classes3 = _data()
    target, obj = {"regression": (y, boostobj.huber(30.0)), "binary": (labels, boostobj.focal(2.0)),
                   "multiclass": (classes3, boostobj.focal(1.0))}[task]
    if framework == "xgboost":
        cls = bsk.XGBRegressor if task == "regression" else bsk.XGBClassifier
        make = lambda n: cls(objective=obj, n_estimators=n, **XGB)  # noqa: E731
        more = lambda m: {"xgb_model": m.get_booster()}  # noqa: E731
    else:
        cls = bsk.LGBMRegressor if task == "regression" else bsk.LGBMClassifier
        make = lambda n: cls(objective=obj, n_estimators=n, **LGB)  # noqa: E731
        more = lambda m: {"init_model": m}  # noqa: E731
    predict = (lambda m: m.predict(X)) if task == "regression" else (lambda m: m.predict_proba(X))
    straight = make(N + M).fit(X, target)
    with warnings.catch_warnings():
        warnings.simplefilter("error", boostobj.StartValueWarning)
        first = make(N).fit(X, target)
        continued = make(M).fit(X, target, **more(first))
    _same(predict(continued), predict(straight), np.std(y) if task == "regression" else 1.0)
    assert boostobj.objective_of(continued) == obj


@pytest.mark.parametrize("framework", ["xgboost", "lightgbm"])
def test_native_continuation_recipes(framework):
    X, y, _, _ = _data()
    obj = boostobj.quantile(0.7)
    with warnings.catch_warnings():
        warnings.simplefilter("error", boostobj.StartValueWarning)
        if framework == "xgboost":
            params = {"base_score": obj.init_score(y), "disable_default_eval_metric": 1, "max_depth": 3,
                      "nthread": 1}
            d = xgb.DMatrix(X, y)
            straight = xgb.train(params, d, N + M, obj=obj).predict(d)
            first = obj.record(xgb.train(params, d, N, obj=obj))
            continued = xgb.train(params, d, M, obj=obj, xgb_model=first).predict(d)
        else:
            params = {"objective": obj, "verbose": -1, "num_threads": 1, "num_leaves": 8}
            ds = obj.dataset(X, y)
            straight = obj.record(lgb.train(params, ds, N + M), ds).predict(X)
            ds = obj.dataset(X, y, free_raw_data=False)  # LightGBM needs the raw data to continue
            first = obj.record(lgb.train(params, ds, N), ds)  # the start goes into the model
            ds2 = lgb.Dataset(X, y, free_raw_data=False)
            continued = obj.record(lgb.train(params, ds2, M, init_model=first), ds2).predict(X)
    _same(continued, straight, np.std(y))

"""The public loss contract: a loss written by a user gets everything the shipped ones get.

Two ways to write one, each with no change anywhere else: ``boostobj.custom``
(the Cauchy and Tweedie factories of ``cases.py``) and a ``boostobj.Loss``
subclass (pseudo-Huber, below). Each trains in the four entry points, goes
through a model file read back in a fresh process, and starts from the same
constant under Dask as on one machine.
"""

from __future__ import annotations

import json
import pickle
import subprocess
import sys
from pathlib import Path

import lightgbm as lgb
import numpy as np
import pytest
import xgboost as xgb
from cases import cauchy, tweedie

import boostobj
from boostobj.sklearn import LGBMRegressor, XGBRegressor

pytestmark = pytest.mark.filterwarnings("ignore::boostobj.StartValueWarning")


class PseudoHuber(boostobj.Loss):
    r"""Pseudo-Huber loss :math:`\delta^2 (\sqrt{1 + (r/\delta)^2} - 1)` with its MM curvature
    :math:`1 / \sqrt{1 + (r/\delta)^2}` (the IRLS weight psi(r)/r)."""

    name = "pseudo_huber"

    def __init__(self, delta: float = 1.0):
        self.delta = float(delta)

    def _params(self):
        return {"delta": self.delta}

    def point_loss(self, xp, t, m, scale):
        u = (t - m) / self.delta
        return self.delta**2 * (xp.sqrt(1.0 + u * u) - 1.0)

    def grad_curvature(self, xp, t, m, scale):
        u = (t - m) / self.delta
        root = xp.sqrt(1.0 + u * u)
        return (m - t) / root, 1.0 / root


@boostobj.register
def pseudo_huber(delta: float = 1.0) -> boostobj.Objective:
    return boostobj.Objective(PseudoHuber(delta), "pseudo_huber")


USER_LOSSES = {"custom cauchy": lambda: cauchy(2.0), "custom tweedie": lambda: tweedie(1.5),
               "Loss subclass": lambda: pseudo_huber(3.0)}


def _data(obj, n=400, seed=0):
    rng = np.random.default_rng(seed)
    X = rng.normal(size=(n, 3))
    if obj.name == "tweedie":  # amounts: zeros and a positive part growing with X[:, 0]
        y = np.where(rng.random(n) < 0.3, 0.0, rng.gamma(2.0, np.exp(0.5 + 0.8 * X[:, 0])))
    else:
        y = 10 * X[:, 0] + rng.standard_t(2, n)
    return X, y


@pytest.mark.parametrize("make", USER_LOSSES.values(), ids=USER_LOSSES.keys())
@pytest.mark.parametrize("entry", ["xgb.train", "lgb.train", "XGBRegressor", "LGBMRegressor"])
def test_a_user_loss_trains_in_every_entry_point(make, entry):
    obj = make()
    X, y = _data(obj)
    start = obj.loss(y, np.full(len(y), obj.init_score(y)))
    if entry == "xgb.train":
        bst = xgb.train({"base_score": obj.init_score(y), "disable_default_eval_metric": 1, "max_depth": 3},
                        xgb.DMatrix(X, y), 30, obj=obj)
        margin = bst.predict(xgb.DMatrix(X), output_margin=True)
    elif entry == "lgb.train":
        ds = obj.dataset(X, y)
        bst = obj.record(lgb.train({"objective": obj, "verbose": -1, "num_leaves": 8}, ds, 30), ds)
        margin = bst.predict(X)
    else:
        est = XGBRegressor(max_depth=3) if entry == "XGBRegressor" else LGBMRegressor(num_leaves=8, verbose=-1)
        model = est.set_params(objective=obj, n_estimators=30).fit(X, y)
        margin = obj.base_loss.link.link(model.predict(X))
        assert boostobj.objective_of(model) == obj
    trained = obj.loss(y, margin)
    assert trained < 0.9 * start  # it learned from the features, from the loss-optimal start


@pytest.mark.parametrize("make", USER_LOSSES.values(), ids=USER_LOSSES.keys())
def test_a_user_loss_passes_check_loss(make):
    report = boostobj.check_loss(make())
    assert report.passed, str(report)


@pytest.mark.parametrize("make", USER_LOSSES.values(), ids=USER_LOSSES.keys())
def test_a_user_loss_comes_back_from_a_model_file_in_a_fresh_process(make, tmp_path):
    obj = make()
    X, y = _data(obj, 200)
    paths = {}
    for name, est in (("xgb.json", XGBRegressor(n_estimators=5)), ("lgb.txt", LGBMRegressor(n_estimators=5, verbose=-1))):
        model = est.set_params(objective=obj).fit(X, y)
        path = tmp_path / name
        (model.get_booster() if name == "xgb.json" else model.booster_).save_model(path)
        paths[name] = str(path)
    module = Path(__file__).resolve().parent
    script = (f"import sys, json; sys.path.insert(0, {str(module)!r})\n"
              "import test_custom, cases, boostobj\n"  # the modules that register the factories
              f"print(json.dumps({{k: repr(boostobj.objective_of(p)) for k, p in {paths!r}.items()}}))")
    out = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=300)
    assert out.returncode == 0, out.stderr
    assert set(json.loads(out.stdout.strip().splitlines()[-1]).values()) == {repr(obj)}
    # without the module that registers it, the error names it
    bare = subprocess.run([sys.executable, "-c", f"import boostobj; boostobj.objective_of({paths['xgb.json']!r})"],
                          capture_output=True, text=True, timeout=300)
    assert bare.returncode != 0 and f"factory {obj.name!r}" in bare.stderr and "registered by the module" in bare.stderr


@pytest.mark.parametrize("make", USER_LOSSES.values(), ids=USER_LOSSES.keys())
def test_a_user_loss_starts_alike_under_dask(make):
    da = pytest.importorskip("dask.array")
    from boostobj.dask import global_start

    obj = make()
    _, y = _data(obj, 1000, seed=3)
    w = np.random.default_rng(1).uniform(0.5, 2.0, len(y))
    start = global_start(obj, da.from_array(y, chunks=250), da.from_array(w, chunks=250))
    spread = float(np.ptp(obj.base_loss.link.link(y[y > 0]) if obj.name == "tweedie" else y))
    assert float(start.init) == pytest.approx(obj.init_score(y, w), abs=1e-9 * spread)
    assert float(start.scale) == pytest.approx(obj.label_scale(y, w), rel=1e-9)


@pytest.mark.parametrize("make", USER_LOSSES.values(), ids=USER_LOSSES.keys())
def test_a_user_loss_pickles_and_compares_by_name_and_params(make):
    obj = make()
    again = pickle.loads(pickle.dumps(obj))
    assert again == obj and repr(again) == repr(obj)
    assert obj != make().with_start(0.5, 1.0)


def test_custom_rejects_what_it_cannot_use():
    def loss(y, m):
        return (y - m) ** 2

    with pytest.raises(ValueError, match=r"curvature must be 'newton', 'mm' or a function"):
        boostobj.custom("x", loss, gradient=loss, curvature="exact")
    with pytest.raises(ValueError, match=r"link must be one of \['identity', 'log', 'logit'\]"):
        boostobj.custom("x", loss, gradient=loss, curvature="mm", link="probit")
    with pytest.raises(ValueError, match=r"labels must be one of"):
        boostobj.custom("x", loss, gradient=loss, curvature="mm", labels="counts")
    with pytest.raises(ValueError, match=r"name must be a Python identifier"):
        boostobj.custom("my loss", loss, gradient=loss, curvature="mm")
    with pytest.raises(ValueError, match=r"params must be a dict"):
        boostobj.custom("x", loss, gradient=loss, curvature="mm", params=[1])
    obj = boostobj.custom("x", loss, gradient=lambda y, m: 2 * (m - y), curvature="mm", labels="positive")
    with pytest.raises(ValueError, match=r"x takes labels > 0 \(labels='positive'\), got \[-1.0\]"):
        obj.init_score(np.array([1.0, -1.0]))
    with pytest.raises(TypeError, match=r"decorate the function that calls boostobj.custom with @boostobj.register"):
        pickle.dumps(obj)


def test_omitted_derivatives_need_the_autodiff_extra():
    try:
        import jax  # noqa: F401
    except ImportError:
        with pytest.raises(ValueError, match=r"gradient was not given .* install the 'autodiff' extra"):
            boostobj.custom("x", lambda y, m: (y - m) ** 2)
        return
    import jax.numpy as jnp

    obj = boostobj.custom("x", lambda y, m: jnp.log(jnp.cosh(y - m)))
    g, h = obj.grad_hess(np.array([0.0, 1.0]), np.array([0.5, 0.5]))
    np.testing.assert_allclose(g, -np.tanh(np.array([-0.5, 0.5])), rtol=1e-12)
    np.testing.assert_allclose(h, 1 / np.cosh(np.array([-0.5, 0.5])) ** 2, rtol=1e-12)


def test_check_loss_names_what_is_wrong():
    flipped = boostobj.custom("flipped", lambda y, m: 0.5 * (y - m) ** 2, gradient=lambda y, m: y - m,
                              hessian=lambda y, m: 1.0 + 0 * m)
    with pytest.raises(boostobj.LossCheckError, match=r"FAIL gradient"):
        boostobj.check_loss(flipped)
    not_mm = boostobj.custom("not_mm", lambda y, m: np.abs(y - m) ** 3,
                             gradient=lambda y, m: 3 * np.sign(m - y) * (m - y) ** 2, curvature="mm")
    report = boostobj.check_loss(not_mm, raise_on_failure=False)
    assert [c.name for c in report.failed] == ["majorization"]  # |r|^3's slope over r grows

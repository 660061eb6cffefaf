"""Per-dataset caches and threads: one objective object, used as users do.

- two threads training at once with one objective (same dataset, or drop-ins
  on equal labels) give the models of sequential runs;
- labels and weights changed after the first round (``set_label``,
  ``set_weight``, in-place edits) are seen;
- an eval set does not rebuild the per-dataset state every round.
"""

from __future__ import annotations

import threading

import lightgbm as lgb
import numpy as np
import pytest
import xgboost as xgb

import boostobj
import boostobj.objective as objective_module
from boostobj import frameworks
from boostobj import sklearn as bsk

ROUNDS = 8
XGB = {"max_depth": 3, "nthread": 1, "disable_default_eval_metric": 1}
LGB = {"num_leaves": 8, "num_threads": 1, "verbose": -1, "min_data_in_leaf": 5}
DATASET = {"verbose": -1, "min_data_in_leaf": 5}


def _data(n=200, seed=0):
    rng = np.random.default_rng(seed)
    X = rng.normal(size=(n, 3))
    y = 100 * X[:, 0] + 30 * rng.standard_t(3, n) + 500
    return X, y


def _in_two_threads(fn, args_a, args_b):
    """Run fn(*args_a) and fn(*args_b) at once; return both results (re-raising errors)."""
    out: dict = {}

    def run(key, args):
        try:
            out[key] = fn(*args)
        except BaseException as e:  # noqa: BLE001 - re-raised below
            out[key] = e

    threads = [threading.Thread(target=run, args=(k, a)) for k, a in (("a", args_a), ("b", args_b))]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    for v in out.values():
        if isinstance(v, BaseException):
            raise v
    return out["a"], out["b"]


class _Lockstep:
    """Wraps an objective so that two trainings compute their gradients, then both
    wait until the other has computed its own before handing them to the framework:
    the worst interleaving for any shared output buffer, every round."""

    def __init__(self, obj, barrier):
        self.obj = obj
        self.barrier = barrier

    def __deepcopy__(self, memo):
        # lgb.train deep-copies its params: share this wrapper (and so the one
        # objective) between the threads, the case under test
        return self

    def __call__(self, *args):
        g, h = self.obj(*args)
        if self.barrier is not None:
            self.barrier.wait()
        return g, h


def _xgb_train(obj, dtrain, eta, barrier):
    params = dict(XGB, eta=eta, base_score=obj.init_score(dtrain.get_label()))
    return xgb.train(params, dtrain, ROUNDS, obj=_Lockstep(obj, barrier)).predict(dtrain)


def _lgb_train(obj, dtrain, eta, barrier):
    bst = lgb.train(dict(LGB, learning_rate=eta, objective=_Lockstep(obj, barrier)), dtrain, ROUNDS)
    return bst.predict(dtrain.data)


@pytest.mark.parametrize("framework", ["xgboost", "lightgbm"])
def test_two_threads_one_objective_one_dataset(framework):
    X, y = _data()
    obj = boostobj.huber(20.0)
    if framework == "xgboost":
        data, train = xgb.DMatrix(X, y), _xgb_train
    else:
        data = lgb.Dataset(X, y, init_score=obj.init_score_array(y), params=DATASET,
                           free_raw_data=False).construct()
        train = _lgb_train
    alone = [train(obj, data, eta, None) for eta in (0.3, 0.1)]
    barrier = threading.Barrier(2, timeout=30)
    together = _in_two_threads(train, (obj, data, 0.3, barrier), (obj, data, 0.1, barrier))
    for a, b in zip(alone, together):
        np.testing.assert_array_equal(a, b)
    assert not np.allclose(alone[0], alone[1])  # the two trainings really differ


class _LockstepObjective(boostobj.Objective):
    """A boostobj objective (so the drop-ins treat it as theirs) with the lockstep above."""

    barrier: threading.Barrier | None = None

    def __call__(self, *args, **kwargs):
        g, h = super().__call__(*args, **kwargs)
        if self.barrier is not None:
            self.barrier.wait()
        return g, h


@pytest.mark.parametrize("cls", [bsk.XGBRegressor, bsk.LGBMRegressor], ids=["xgboost", "lightgbm"])
def test_two_threads_drop_ins_sharing_one_objective(cls):
    X, y = _data()
    obj = _LockstepObjective(boostobj.quantile(0.8).base_loss, "quantile")
    extra = {"verbose": -1, "min_child_samples": 5} if cls is bsk.LGBMRegressor else {}

    def fit(eta):
        return cls(objective=obj, n_estimators=ROUNDS, learning_rate=eta, n_jobs=1, **extra).fit(X, y).predict(X)

    alone = [fit(eta) for eta in (0.3, 0.1)]
    obj.barrier = threading.Barrier(2, timeout=30)
    try:
        together = _in_two_threads(fit, (0.3,), (0.1,))
    finally:
        obj.barrier = None
    for a, b in zip(alone, together):
        np.testing.assert_array_equal(a, b)


def _xgb_model(obj, dtrain, rounds=ROUNDS):
    w = dtrain.get_weight()  # empty for an unweighted DMatrix, which init_score refuses: None then
    params = dict(XGB, eta=0.3, base_score=obj.init_score(dtrain.get_label(), w if w.size else None))
    return xgb.train(params, dtrain, rounds, obj=obj).predict(dtrain, output_margin=True)


def test_xgboost_set_label_and_set_weight_are_seen():
    X, y = _data()
    w = np.random.default_rng(1).uniform(0.5, 2.0, len(y))
    obj = boostobj.huber(20.0)
    d = xgb.DMatrix(X, y)
    _xgb_model(obj, d)  # fills the cache for d
    d.set_label(3 * y - 200)
    np.testing.assert_array_equal(_xgb_model(obj, d), _xgb_model(boostobj.huber(20.0), xgb.DMatrix(X, 3 * y - 200)))
    d.set_weight(w)
    np.testing.assert_array_equal(_xgb_model(obj, d),
                                  _xgb_model(boostobj.huber(20.0), xgb.DMatrix(X, 3 * y - 200, weight=w)))


def _lgb_model(obj, ds):
    return lgb.train(dict(LGB, learning_rate=0.3, objective=obj), ds, ROUNDS).predict(ds.data, raw_score=True)


def test_lightgbm_set_label_and_set_weight_are_seen():
    X, y = _data()
    w = np.random.default_rng(1).uniform(0.5, 2.0, len(y))
    obj = boostobj.log_cosh()

    def dataset(labels, weight=None):
        return lgb.Dataset(X, labels, weight=weight, init_score=obj.init_score_array(labels, weight),
                           params=DATASET, free_raw_data=False).construct()

    ds = dataset(y)
    _lgb_model(obj, ds)
    y2 = 3 * y - 200
    ds.set_label(y2)
    ds.set_init_score(obj.init_score_array(y2))
    np.testing.assert_array_equal(_lgb_model(obj, ds), _lgb_model(boostobj.log_cosh(), dataset(y2)))
    ds.set_weight(w)
    ds.set_init_score(obj.init_score_array(y2, w))
    np.testing.assert_array_equal(_lgb_model(obj, ds), _lgb_model(boostobj.log_cosh(), dataset(y2, w)))
    # labels edited in place, then handed to LightGBM again under the same array
    y3 = y2.astype(np.float32)
    ds = dataset(y3)
    _lgb_model(obj, ds)
    y3 *= 2
    ds.set_label(y3)
    ds.set_init_score(obj.init_score_array(y3))
    np.testing.assert_array_equal(_lgb_model(obj, ds), _lgb_model(boostobj.log_cosh(), dataset(y3.copy())))


@pytest.mark.parametrize("make", [lambda: boostobj.huber(2.0), lambda: boostobj.quantile(0.3),
                                  lambda: boostobj.focal(2.0)], ids=["huber", "quantile", "focal"])
def test_labels_edited_in_place_are_seen(make):
    rng = np.random.default_rng(0)
    obj = make()
    binary = obj.task == "binary"
    y = (rng.random(200) < 0.3).astype(float) if binary else rng.normal(size=200) * 5
    w = rng.uniform(0.5, 2.0, 200)
    m = rng.normal(size=200)
    obj.init_score(y, w), obj.grad_hess(y, m, w), obj.loss(y, m, w)
    if binary:
        y[:100] = 1 - y[:100]
    else:
        y *= 3
    w[:50] = 0.0
    fresh = make()
    assert obj.init_score(y, w) == fresh.init_score(y, w)
    assert obj.loss(y, m, w) == fresh.loss(y, m, w)
    for a, b in zip(obj.grad_hess(y, m, w), fresh.grad_hess(y, m, w)):
        np.testing.assert_array_equal(a, b)
    for a, b in zip(obj(y, m, w), fresh(y, m, w)):
        np.testing.assert_array_equal(a, b)


@pytest.mark.parametrize("cls", [bsk.XGBRegressor, bsk.LGBMRegressor], ids=["xgboost", "lightgbm"])
def test_eval_set_does_not_rebuild_state_every_round(cls, monkeypatch):
    X, y = _data()
    Xv, yv = _data(100, seed=1)
    builds = []
    init = objective_module._DataState.__init__

    def counting_init(self, *args, **kwargs):
        builds.append(1)
        init(self, *args, **kwargs)

    monkeypatch.setattr(objective_module._DataState, "__init__", counting_init)
    extra = {"verbose": -1} if cls is bsk.LGBMRegressor else {}
    rounds = 40
    model = cls(objective=boostobj.huber(20.0), n_estimators=rounds, n_jobs=1, **extra)
    model.fit(X, y, eval_set=[(Xv, yv)])
    # a state for y (init_score), for the framework's float32 copy of it, for the eval labels
    assert len(builds) <= 4, f"{len(builds)} state builds in {rounds} rounds"
    history = model.evals_result_
    curve = next(iter(next(iter(history.values())).values()))
    assert len(curve) == rounds and curve[-1] < curve[0]


def test_copies_share_the_solved_start(monkeypatch):
    """lgb.train and clone() deep-copy the objective: the copy reuses the start already solved."""
    import copy

    X, y = _data()
    obj = boostobj.huber(20.0)
    start = obj.init_score(y)
    builds = []
    init = objective_module._DataState.__init__
    monkeypatch.setattr(objective_module._DataState, "__init__",
                        lambda self, *a, **k: (builds.append(1), init(self, *a, **k))[1])
    twin = copy.deepcopy(obj)
    assert twin == obj and twin.metric.objective is twin
    assert twin.init_score(y) == start and builds == []
    # and LightGBM, which deep-copies its params, trains from it without a new state for y
    ds = lgb.Dataset(X, y, init_score=obj.init_score_array(y), params=DATASET)
    lgb.train(dict(LGB, objective=obj), ds, 2)
    assert len(builds) == 1  # the float32 labels LightGBM stores: a new state, adopting the start


@pytest.mark.parametrize("matrix", [xgb.DMatrix, xgb.QuantileDMatrix])
def test_xgboost_label_reader_equals_the_public_getters(matrix):
    """The zero-copy reader of the hot path gives what get_label / get_weight give."""
    rng = np.random.default_rng(5)
    X, y = rng.normal(size=(300, 3)), rng.normal(size=300) * 1e3
    d = matrix(X, y)
    view_y, view_w = frameworks._labels_and_weights(d)
    assert frameworks._xgboost_info_view(d, b"label") is not None  # the fast path, not the fallback
    np.testing.assert_array_equal(view_y, d.get_label())
    assert view_y.dtype == d.get_label().dtype and np.size(view_w) == 0 == np.size(d.get_weight())
    assert not view_y.flags.writeable  # a view of XGBoost's memory: never written to
    # later calls hand out the kept view while XGBoost names the same memory (address and length)
    assert frameworks._labels_and_weights(d)[0] is view_y
    assert frameworks._float_info_address(d, b"label")[1] == 300
    from xgboost.core import _LIB
    assert _LIB.XGDMatrixGetFloatInfo.argtypes is None  # XGBoost's own function object untouched
    np.testing.assert_array_equal(d.get_float_info("label"), y.astype(np.float32))
    d.set_label(y + 1.0)
    d.set_weight(rng.uniform(0.5, 2.0, 300))
    view_y, view_w = frameworks._labels_and_weights(d)
    np.testing.assert_array_equal(view_y, d.get_label())
    np.testing.assert_array_equal(view_w, d.get_weight())


def test_xgboost_training_is_the_same_without_the_fast_label_reader(monkeypatch):
    """The public getters (the fallback) and the reader train the identical model."""
    rng = np.random.default_rng(6)
    X, y = rng.normal(size=(400, 4)), rng.normal(size=400)
    w = rng.uniform(0.5, 2.0, 400)

    def fit():
        obj = boostobj.quantile(0.8)
        params = {"base_score": obj.init_score(y, w), "max_depth": 3, "disable_default_eval_metric": 1}
        return xgb.train(params, xgb.DMatrix(X, y, weight=w), 10, obj=obj).predict(xgb.DMatrix(X))

    fast = fit()
    monkeypatch.setattr(frameworks, "_xgboost_info_view", lambda data, field: None)
    np.testing.assert_array_equal(fit(), fast)


@pytest.mark.parametrize("make", [boostobj.huber, lambda: boostobj.quantile(0.9), boostobj.focal])
def test_a_call_leaves_the_arrays_of_the_last_calls_alone(make):
    """The framework entry point hands out a ring of output pairs (``_OUTPUT_RING``) so a call does
    not rewrite the arrays the framework read last round: each of the last ring-size calls' arrays
    still hold that call's values (fails with one reused pair), and the next call takes the first pair again."""
    rng = np.random.default_rng(3)
    n = 5000
    binary = make is boostobj.focal
    y = (rng.random(n) < 0.3).astype(np.float64) if binary else rng.normal(size=n) * 50
    margins = [rng.normal(size=n).astype(np.float32) for _ in range(4)]  # the ring's size
    expected = []
    for m in margins:  # one fresh objective per call: nothing of it can be reused
        g, h = make()(y, m)
        expected.append((g.copy(), h.copy()))
    obj = make()
    held = [obj(y, m) for m in margins]
    for (g, h), (ge, he) in zip(held, expected):
        np.testing.assert_array_equal(g, ge)
        np.testing.assert_array_equal(h, he)
    again = obj(y, margins[0])
    assert np.shares_memory(again[0], held[0][0]) and np.shares_memory(again[1], held[0][1])
    assert not any(np.shares_memory(again[0], g) for g, _ in held[1:])


def test_output_ring_is_fewer_pairs_when_four_would_take_too_much_memory():
    """Over the cap: one pair for XGBoost's float32 margins, two for LightGBM's float64 margins."""
    state = objective_module._DataState(boostobj.huber().base_loss, np.arange(4.0), None, None)
    rows = objective_module._OUTPUT_RING_BYTES // 8 // 2 + 1  # four float32 pairs just over the cap
    for margin, pairs in ((np.float32, 1), (np.float64, 2)):
        small = {id(state.buffers((1000,), np.float32, margin)[0]) for _ in range(8)}
        assert len(small) == 4
        big = {id(state.buffers((rows,), np.float32, margin)[0]) for _ in range(8)}  # np.empty: nothing touched
        assert len(big) == pairs


@pytest.mark.skipif(not boostobj._compiled.ENABLED, reason="the compiled pass releases the labels")
def test_a_dataset_trained_in_the_compiled_pass_keeps_no_float64_labels():
    """After its compiled rounds a training set's state holds no float64 copy of the labels, and a
    state made later (an eval set first scored after training, whose start it adopts) leaves it so;
    the labels come back when asked, equal to the framework's."""
    import xgboost as xgb

    rng = np.random.default_rng(0)
    X = rng.normal(size=(2000, 3)).astype(np.float32)
    y = (X[:, 0] + rng.normal(size=2000)).astype(np.float32)
    obj = boostobj.huber(1.0)
    d = xgb.DMatrix(X, y)
    start = boostobj.huber(1.0).init_score(y)  # another object's: obj's only states are the datasets'
    bst = xgb.train({"base_score": start, "disable_default_eval_metric": 1}, d, 4, obj=obj)
    state = obj._by_dataset[d]
    assert state._y is None and not obj._arrays
    d_later = xgb.DMatrix(X, y)  # the same labels: its state adopts the training set's start
    obj.metric(bst.predict(d_later, output_margin=True), d_later)
    assert obj._by_dataset[d_later]._init is state._init
    assert state._y is None
    np.testing.assert_array_equal(state.y, y.astype(np.float64))


@pytest.mark.skipif(not boostobj._compiled.ENABLED, reason="the compiled pass releases the labels")
def test_init_score_then_training_keeps_one_copy_of_the_labels_and_no_float64():
    """``obj.init_score(y)`` keeps its state (the training that follows adopts its start) but not its
    float64 labels; the training set's state shares that state's private copy of the labels instead
    of holding a second one; both still answer as before."""
    import xgboost as xgb

    rng = np.random.default_rng(1)
    X = rng.normal(size=(2000, 3)).astype(np.float32)
    y = (X[:, 0] + rng.normal(size=2000)).astype(np.float32)
    obj = boostobj.huber(1.0)
    start = obj.init_score(y)
    assert start == pytest.approx(boostobj.huber(1.0).init_score(y.astype(np.float64)), rel=1e-12)
    (given,) = obj._arrays
    assert given._y is None
    d = xgb.DMatrix(X, y)
    xgb.train({"base_score": start, "disable_default_eval_metric": 1}, d, 3, obj=obj)
    state = obj._by_dataset[d]
    assert state._init is given._init
    assert state.source_labels() is given.source_labels()
    assert given._y is None and state._y is None
    assert obj.label_scale(y) == boostobj.huber(1.0).label_scale(y)  # built again where asked
    y[:5] += 1.0  # the user's array edited in place: the private copy is not
    np.testing.assert_array_equal(state.source_labels()[:5], d.get_label()[:5])


@pytest.mark.skipif(not boostobj._compiled.ENABLED, reason="the compiled pass releases the labels")
@pytest.mark.parametrize("estimator", ["xgboost", "lightgbm"])
def test_the_drop_ins_keep_no_float64_labels_after_their_compiled_rounds(estimator):
    """The drop-ins call the objective with arrays (y, margin): after its first compiled round their
    state keeps the float32 copy it compares with, not float64 labels."""
    from boostobj.sklearn import LGBMRegressor, XGBRegressor

    rng = np.random.default_rng(2)
    X = rng.normal(size=(3000, 4)).astype(np.float32)
    y = (X[:, 0] + rng.normal(size=3000)).astype(np.float32)
    obj = boostobj.huber(1.0)
    est = XGBRegressor(objective=obj, n_estimators=4) if estimator == "xgboost" else \
        LGBMRegressor(objective=obj, n_estimators=4, verbose=-1)
    est.fit(X, y)
    states = [s for s in obj._arrays if s.n_rows == 3000]
    assert states and all(s._y is None for s in states)
    np.testing.assert_array_equal(states[0].y, y.astype(np.float64))  # back where asked

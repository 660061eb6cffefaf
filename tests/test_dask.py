"""Distributed training on a 2-worker Dask cluster equals single-machine training.

The partitions are deliberately unlike each other: the rows are sorted by the
label before they are split in two, and each half lives on its own worker.
Per-partition statistics would then give each worker a different start and
curvature normalisation; the pinned objective from ``boostobj.dask`` must not.

Measured (2000 rows, 10 rounds), max |distributed - single| / label scale:

| loss | XGBoost | XGBoost unpinned | LightGBM | LightGBM unpinned |
|---|---|---|---|---|
| quantile(0.9) | 5.6e-07 | 8.3e-02 | 1.3e-08 | 9.6e-02 |
| huber(30) | 2.1e-06 | 2.0e-01 | 2.8e-08 | 1.0e-02 |
| log_cosh | 0 | 1.5e-01 | 2.1e-08 | 3.4e-01 |
| squared_error | 0 | 0 | 3.8e-15 | 0 |
| exponential | 0 | 0 | 8.9e-16 | 0 |
| focal(2,0.25) | 0 | 0 | 2.2e-16 | 0 |

(one run, XGBoost 3.2 / LightGBM 4.7; the differences left are float32
rounding of margins near 1000 and vary between runs: log-cosh on LightGBM
has also measured 2.0e-7). Asserted, the bound the README quotes:
``|distributed - single| <= 1e-5 * label scale`` (label scale 1 for binary
margins), and for quantile that the unpinned objective is off by more than
100 times that, so the check can fail.

LightGBM notes. Its data-parallel learner is not always its serial learner:
with the default ``min_child_samples=20`` its trees differ from the serial
ones whenever the hessian is not constant (seen with a plain-function
log-cosh objective too; ``min_child_samples=1`` removes it), and on this
binary data with ``num_leaves >= 8`` even the built-in ``binary`` objective
gives other trees (margins 2.3 apart). Both happen for shuffled partitions as
well and do not involve boostobj (we did not trace them inside LightGBM), so
the comparison uses ``num_leaves=4, min_child_samples=1``, where the
built-ins match exactly.
"""

from __future__ import annotations

import logging
import pickle
import warnings

import numpy as np
import pytest

distributed = pytest.importorskip("distributed")
da = pytest.importorskip("dask.array")

import lightgbm as lgb  # noqa: E402
import lightgbm.dask  # noqa: E402,F401
import xgboost as xgb  # noqa: E402
import xgboost.dask  # noqa: E402,F401

import boostobj  # noqa: E402
from boostobj.dask import DaskStart, global_start, init_score  # noqa: E402
from boostobj.device import DeviceFallbackWarning  # noqa: E402

N = 2000
ROUNDS = 10
REL_TOL = 1e-5

OBJECTIVES = {
    "quantile(0.9)": lambda: boostobj.quantile(0.9),
    "huber(30)": lambda: boostobj.huber(30.0),
    "log_cosh": lambda: boostobj.log_cosh(),
    "squared_error": lambda: boostobj.squared_error(),
    "exponential": lambda: boostobj.exponential(),
    "focal(2,0.25)": lambda: boostobj.focal(2.0, 0.25),
}


# ---- data and cluster --------------------------------------------------------------
def _data(binary: bool, seed: int = 0, positive_rate: float = 0.3):
    """Integer features with 8 levels (exact histogram bins in both frameworks),
    sorted by the label: the two halves see very different labels."""
    rng = np.random.default_rng(seed)
    X = rng.integers(0, 8, size=(N, 4)).astype(np.float64)
    if binary:
        z = (X[:, 0] - 3.5) / 1.5 + rng.logistic(size=N)
        y = (z > np.quantile(z, 1 - positive_rate)).astype(np.float64)
    else:
        y = 1000 + 60 * X[:, 0] + 25 * X[:, 1] - 10 * X[:, 2] + 40 * rng.standard_t(3, size=N)
    w = rng.uniform(0.5, 2.0, size=N)
    order = np.argsort(y, kind="stable")
    return X[order], y[order], w[order]


@pytest.fixture(scope="module")
def client():
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # distributed's own start-up chatter
        cluster = distributed.LocalCluster(n_workers=2, threads_per_worker=1, processes=True,
                                           dashboard_address=None, host="127.0.0.1",
                                           silence_logs=logging.ERROR)
    with cluster, distributed.Client(cluster) as c:
        yield c


def _split(client, *arrays):
    """Each array as a dask array of two halves, half i held by worker i."""
    client.wait_for_workers(2)
    # the live workers' addresses, asked of the scheduler: scheduler_info() returns the client's
    # cached identity, which its periodic refresh (without per-worker details) may overwrite
    # between the fetch and the read; it once listed no workers here ("Need array(s) to
    # concatenate", a fresh clone's suite)
    workers = sorted(client.run(lambda: None))
    assert len(workers) == 2, workers
    out = []
    for a in arrays:
        halves = [a[: len(a) // 2], a[len(a) // 2:]]
        futures = [client.scatter(h, workers=[w]) for h, w in zip(halves, workers)]
        x = da.concatenate([da.from_delayed(f, shape=h.shape, dtype=h.dtype)
                            for f, h in zip(futures, halves)])
        x = x.persist()  # holds the halves (the scattered futures die with this frame)
        distributed.wait(x)
        where = client.who_has(x)
        assert len({w for holders in where.values() for w in holders}) == 2, where
        out.append(x)
    return out


def _tol(start: DaskStart) -> float:
    return REL_TOL * float(np.max(start.scale))


# ---- the global start ------------------------------------------------------------
@pytest.mark.parametrize("weighted", [False, True])
@pytest.mark.parametrize("name", [*OBJECTIVES, "quantile([.1,.5,.9])", "focal(2)x3"])
def test_global_start_equals_single_machine(client, name, weighted):
    make = {"quantile([.1,.5,.9])": lambda: boostobj.quantile([0.1, 0.5, 0.9]),
            "focal(2)x3": lambda: boostobj.focal(2.0)}.get(name, OBJECTIVES.get(name))
    obj = make()
    _, y, w = _data(binary=obj.task != "regression")
    if name == "focal(2)x3":
        y = np.sort(np.random.default_rng(1).integers(0, 3, size=N)).astype(np.float64)
    w = w if weighted else None
    yd, = _split(client, y)
    wd = None if w is None else _split(client, w)[0]
    # a small gather_limit forces the selection rounds of the exact quantile
    start = global_start(obj, yd, wd, gather_limit=50)
    # the documented accuracy of each method (boostobj/dask.py), not a looser catch-all
    if obj.name == "quantile":
        atol = 0.0  # an exact selection: the same label as the single-machine rule
    elif obj.name in ("huber", "log_cosh"):
        atol = 1e-12 * np.ptp(y)  # both solvers stop within this of the M-estimate
    elif name == "focal(2)x3":
        atol = 1e-9  # the multi-class L-BFGS solve on the class table
    else:
        atol = 1e-12  # the weighted mean (summation order) and the binary root
    np.testing.assert_allclose(start.init, obj.init_score(y, w), rtol=0, atol=atol)
    np.testing.assert_allclose(start.scale, obj.label_scale(y, w), rtol=0, atol=atol)
    # the pinned objective carries exactly these statistics, whatever rows it is given
    half, k = y[N // 2:], obj.n_outputs(y)
    np.testing.assert_array_equal(start.objective.init_score(half), start.init)
    np.testing.assert_array_equal(start.objective.label_scale(half), start.scale)
    # and a worker's framework call on its half equals the whole data's call on those rows.
    # The probe margin is the start itself: residuals there are about one label scale, so
    # the guards (quantile, log-cosh) and the normalisation factor (every loss) are live,
    # and both depend on the start and scale a partition would compute for itself.
    m = np.broadcast_to(np.asarray(start.init, dtype=np.float64), (N, k)).copy()
    m = m[:, 0] if k == 1 else m
    g_full, h_full = (a.copy() for a in start.objective(y, m))
    g_half, h_half = start.objective(half, m[N // 2:])
    if obj.base_loss.normalize_per_round:
        # the per-round factor (mean curvature 1 per row) is a sum over the rows a call
        # sees; in training xgboost.dask allreduces it. Without a collective here, a
        # half's call differs from the whole's by that factor alone (per output), while
        # the step g / h, where the pinned guards act, is the same row by row.
        np.testing.assert_allclose(g_full[N // 2:] / h_full[N // 2:], g_half / h_half, rtol=1e-6)
        ratio = h_full[N // 2:] / h_half
        np.testing.assert_allclose(ratio, np.broadcast_to(ratio[0], ratio.shape), rtol=1e-6)
    else:
        np.testing.assert_array_equal(g_full[N // 2:], g_half)
        np.testing.assert_array_equal(h_full[N // 2:], h_half)


def test_quantile_selection_is_exact_on_ties_and_many_blocks():
    import dask

    rng = np.random.default_rng(3)
    y = np.sort(np.round(rng.standard_t(2, size=3000) * 10))  # many ties, sorted
    w = rng.integers(0, 3, size=3000).astype(np.float64)      # zero weights too
    with dask.config.set(scheduler="sync"):  # exactness needs no cluster
        for q in (0.01, 0.3, 0.77, 0.99):
            obj = boostobj.quantile(q)
            for weights in (None, w):
                wd = None if weights is None else da.from_array(weights, chunks=377)
                # gather_limit=7: several selection rounds before the gather
                got = global_start(obj, da.from_array(y, chunks=377), wd, gather_limit=7)
                assert got.init == obj.init_score(y, weights)
                assert got.scale == obj.label_scale(y, weights)


def test_init_score_accepts_dask_dataframe_columns():
    dd = pytest.importorskip("dask.dataframe")
    pd = pytest.importorskip("pandas")
    y = np.arange(100.0)
    s = dd.from_pandas(pd.Series(y), npartitions=3)
    assert init_score(boostobj.quantile(0.25), s) == boostobj.quantile(0.25).init_score(y)
    start = global_start(boostobj.quantile([0.1, 0.9]), s.to_frame())
    rows = start.init_score(s).compute()
    assert rows.shape == (100, 2) and np.allclose(rows.to_numpy(), start.init)


@pytest.mark.parametrize("bad, match", [
    (dict(y=np.array([1.0, np.nan, 3.0])), "NaN"),
    (dict(w=np.array([1.0, -1.0, 1.0])), "negative"),
    (dict(w=np.array([0.0, 0.0, 0.0])), "positive sum"),
    (dict(w=np.ones(2)), "rows"),
    (dict(y=np.ones((3, 2))), "1-D"),
])
def test_global_start_rejects_bad_input(bad, match):
    y = da.from_array(bad.get("y", np.array([1.0, 2.0, 3.0])), chunks=2)
    w = bad.get("w")
    with pytest.raises(ValueError, match=match):
        global_start(boostobj.huber(1.0), y, None if w is None else da.from_array(w, chunks=2))


def test_global_start_rejects_labels_outside_the_loss():
    with pytest.raises(ValueError, match="labels must be 0 or 1"):
        global_start(boostobj.exponential(), da.from_array(np.array([0.0, 1.0, 2.0]), chunks=2))
    with pytest.raises(ValueError, match="gather_limit"):
        global_start(boostobj.quantile(0.5), da.arange(3.0, chunks=2), gather_limit=0)
    with pytest.raises(TypeError, match="Objective"):
        global_start("reg:squarederror", da.arange(3.0, chunks=2))


# ---- objects travel to the workers ---------------------------------------------------
@pytest.mark.parametrize("name", OBJECTIVES)
def test_objectives_pickle(name):
    cloudpickle = pytest.importorskip("cloudpickle")
    rng = np.random.default_rng(0)
    obj = OBJECTIVES[name]()
    y = (rng.random(50) < 0.3).astype(float) if obj.task != "regression" else rng.normal(size=50) * 100
    m = rng.normal(size=50)
    obj.grad_hess(y, m)  # fill the caches: they must not travel
    for o in (obj, obj.with_start(obj.init_score(y), obj.label_scale(y)), obj.on_device("cuda:1")):
        for dumps, loads in ((pickle.dumps, pickle.loads), (cloudpickle.dumps, pickle.loads)):
            back = loads(dumps(o))
            assert back == o and repr(back) == repr(o) and back.device == o.device
            assert back._arrays == [] and len(back._by_dataset) == 0
            with warnings.catch_warnings():
                warnings.simplefilter("ignore", DeviceFallbackWarning)  # no GPU here: NumPy
                for a, b in zip(back(y, m), o(y, m)):
                    assert np.array_equal(np.asarray(a), np.asarray(b))


def test_start_pickles():
    start = global_start(boostobj.quantile([0.1, 0.9]), da.arange(100.0, chunks=30))
    back = pickle.loads(pickle.dumps(start))
    assert back.objective == start.objective and np.array_equal(back.init, start.init)
    assert back.base_score == [9.0, 89.0]


# ---- training: distributed equals single machine -------------------------------------
def _xgb_single(obj, X, y, params):
    bst = xgb.train({**params, "base_score": obj.init_score(y)}, xgb.DMatrix(X, y), ROUNDS, obj=obj)
    return bst.predict(xgb.DMatrix(X), output_margin=True)


def _xgb_dask(client, obj, start, Xd, yd, params):
    dtrain = xgb.dask.DaskDMatrix(client, Xd, yd)
    out = xgb.dask.train(client, {**params, "base_score": start.base_score}, dtrain, ROUNDS, obj=obj)
    return xgb.dask.predict(client, out["booster"], Xd, output_margin=True).compute()


XGB_PARAMS = {"max_depth": 3, "eta": 0.3, "tree_method": "hist", "nthread": 1,
              "disable_default_eval_metric": 1}


@pytest.mark.parametrize("name", OBJECTIVES)
def test_xgboost_dask_equals_single_machine(client, name):
    obj = OBJECTIVES[name]()
    X, y, _ = _data(binary=obj.task != "regression")
    Xd, yd = _split(client, X, y)
    start = global_start(obj, yd)
    single = _xgb_single(obj, X, y, XGB_PARAMS)
    dist = _xgb_dask(client, start.objective, start, Xd, yd, XGB_PARAMS)
    assert np.max(np.abs(dist - single)) <= _tol(start)
    if name == "quantile(0.9)":  # unpinned, each worker normalises by its own half: visibly off
        # (each worker warns, in its own process, that its start is not its local optimum)
        unpinned = _xgb_dask(client, obj, start, Xd, yd, XGB_PARAMS)
        assert np.max(np.abs(unpinned - single)) > 100 * _tol(start)


LGB_PARAMS = dict(n_estimators=ROUNDS, num_leaves=4, learning_rate=0.3, min_child_samples=1,
                  verbose=-1)


def _lgb_dask_fit(make, Xd, yd, init, attempts: int = 3):
    """LightGBM dask opens a port per worker; a port taken meanwhile by another
    process on this shared machine makes that fit fail, so try again."""
    for attempt in range(attempts):
        try:
            with warnings.catch_warnings():
                warnings.filterwarnings("ignore", message="Parameter n_jobs will be ignored")
                return make().fit(Xd, yd, init_score=init)
        except lgb.basic.LightGBMError as exc:
            text = str(exc).lower()
            if attempt == attempts - 1 or not any(s in text for s in ("bind", "port", "socket", "connect")):
                raise


@pytest.mark.parametrize("name", OBJECTIVES)
def test_lightgbm_dask_equals_single_machine(client, name):
    obj = OBJECTIVES[name]()
    binary = obj.task != "regression"
    X, y, _ = _data(binary=binary)  # 30% positives: the lower half holds only zeros
    Xd, yd = _split(client, X, y)
    start = global_start(obj, yd)
    single_cls = lgb.LGBMClassifier if binary else lgb.LGBMRegressor
    dask_cls = lgb.DaskLGBMClassifier if binary else lgb.DaskLGBMRegressor
    single = single_cls(objective=obj, **LGB_PARAMS).fit(X, y, init_score=obj.init_score_array(y))
    expected = single.predict(X, raw_score=True) + start.init
    model = _lgb_dask_fit(lambda: dask_cls(objective=start.objective, time_out=1, **LGB_PARAMS),
                          Xd, yd, start.init_score(yd))
    start.bake(model)  # the start is now inside the first trees
    got = model.predict(Xd, raw_score=True).compute()
    assert np.max(np.abs(got - expected)) <= _tol(start)
    if name == "quantile(0.9)":
        unpinned = _lgb_dask_fit(lambda: dask_cls(objective=obj, time_out=1, **LGB_PARAMS),
                                 Xd, yd, start.init_score(yd))
        raw = unpinned.predict(Xd, raw_score=True).compute() + start.init
        assert np.max(np.abs(raw - expected)) > 100 * _tol(start)


def test_lightgbm_dask_regressor_for_binary_losses_when_a_worker_lacks_a_class(client):
    # 70% positives: the upper half holds only ones, which DaskLGBMClassifier's
    # per-worker label encoder would turn into zeros. The regressor keeps 0/1.
    obj = boostobj.focal(2.0, 0.25)
    X, y, _ = _data(binary=True, positive_rate=0.7)
    assert set(y[N // 2:]) == {1.0}
    Xd, yd = _split(client, X, y)
    start = global_start(obj, yd)
    single = lgb.LGBMRegressor(objective=obj, **LGB_PARAMS).fit(X, y, init_score=obj.init_score_array(y))
    model = _lgb_dask_fit(lambda: lgb.DaskLGBMRegressor(objective=start.objective, time_out=1, **LGB_PARAMS),
                          Xd, yd, start.init_score(yd))
    proba = start.objective.predict(start.bake(model).predict(Xd, raw_score=True).compute())
    expected = obj.predict(single.predict(X, raw_score=True) + start.init)
    assert np.max(np.abs(proba - expected)) <= 1e-6

"""The array-generic path, proven on the CPU with ``array_api_strict``.

CI has no GPU. The GPU path (``obj.on_device("cuda")`` with XGBoost) runs the
same kernels and the same ``Objective`` code with CuPy arrays in place of
NumPy ones. ``array_api_strict`` is a namespace that has only the Array API
standard's functions and refuses NumPy-only ones, so a kernel that passes
here uses nothing CuPy lacks. Every result must equal NumPy's to the bit.
"""

from __future__ import annotations

import pickle
import warnings

import numpy as np
import pytest
from cases import ALL_CASES, labels_for, margin_shape

import boostobj
import boostobj.objective as objective_module
from boostobj._array import namespace
from boostobj.device import DeviceFallbackWarning, gradient_namespace, normalize_device

xps = pytest.importorskip("array_api_strict")

N = 64


def _strict(a: np.ndarray):
    return xps.asarray(a)


def _host(a) -> np.ndarray:
    assert namespace(a) is xps, f"left the strict namespace: {type(a)}"
    return np.asarray(a)


def _same(strict_result, numpy_result) -> None:
    np.testing.assert_array_equal(_host(strict_result), numpy_result)


def _inputs(make, kind, dtype, seed=0):
    rng = np.random.default_rng(seed)
    obj = make()
    y = labels_for(kind, N, rng, obj)
    m = (rng.normal(size=margin_shape(obj, kind, N)) * 3).astype(dtype)
    m[:3] = 40.0  # far out: the clipped and floored branches run too
    w = rng.exponential(size=N)
    return obj, y, m, w


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
@pytest.mark.parametrize("make, kind", ALL_CASES)
def test_kernels_match_numpy(make, kind, dtype):
    obj, y, m, _ = _inputs(make, kind, dtype)
    loss = obj.base_loss
    k = m.shape[1] if m.ndim == 2 else 1
    scale = np.asarray(obj.label_scale(y))
    t_np = loss.encode_labels(np, y.astype(dtype), k)
    t_xp = loss.encode_labels(xps, _strict(y.astype(dtype)), k)
    _same(t_xp, t_np)
    g_xp, h_xp = loss.grad_curvature(xps, t_xp, _strict(m), scale)
    g_np, h_np = loss.grad_curvature(np, t_np, m, scale)
    _same(g_xp, g_np)
    _same(h_xp, h_np)
    _same(loss.point_loss(xps, t_xp, _strict(m), scale), loss.point_loss(np, t_np, m, scale))
    assert g_xp.dtype == _strict(m).dtype  # float32 margins give float32 gradients


@pytest.mark.parametrize("make, kind", ALL_CASES)
def test_predict_links_match_numpy(make, kind):
    obj, _, m, _ = _inputs(make, kind, np.float64)
    _same(obj.predict(_strict(m)), obj.predict(m))


@pytest.mark.parametrize("weighted", [False, True])
@pytest.mark.parametrize("make, kind", ALL_CASES)
def test_objective_matches_numpy(make, kind, weighted, monkeypatch):
    # against the NumPy path of the same Array API kernels (the compiled row
    # kernels differ by float32 rounding; tests/test_fast_path.py holds them)
    monkeypatch.setattr(boostobj._compiled, "ENABLED", False)
    obj, y, m, w = _inputs(make, kind, np.float32)
    w = w if weighted else None
    for a, b in zip(obj.grad_hess(y, _strict(m), w), obj.grad_hess(y, m, w)):
        _same(a, b)
    # the framework path: fixed curvature normalisation, weights folded in
    # (XGBoost's sklearn call; a GPU margin takes exactly this route)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", boostobj.StartValueWarning)
        for a, b in zip(obj(y, _strict(m), sample_weight=w), obj(y, m, sample_weight=w)):
            _same(a, b)
    assert obj.loss(y, _strict(m), w) == obj.loss(y, m, w)


# ---- device selection (no GPU here: the fallback; with one, the real thing) -------------
def test_device_strings():
    assert normalize_device("gpu") == "cuda" and normalize_device("CUDA:1") == "cuda:1"
    for bad in ("tpu", "cpu:0", "cuda:x", ""):
        with pytest.raises(ValueError, match="device"):
            boostobj.huber().on_device(bad)


def test_on_device_is_a_pinned_copy_that_keeps_its_start():
    y = np.arange(20.0)
    obj = boostobj.quantile(0.3)
    pinned = obj.with_start(obj.init_score(y), obj.label_scale(y)).on_device("gpu:0")
    assert pinned.device == "cuda:0" and obj.device == "cpu"
    assert pinned.with_start(1.0, 2.0).device == "cuda:0"
    assert repr(pinned).endswith(".on_device('cuda:0')")
    assert pickle.loads(pickle.dumps(pinned)) == pinned
    assert pinned.on_device("cpu") == obj.with_start(obj.init_score(y), obj.label_scale(y))


def _gpu_usable() -> bool:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DeviceFallbackWarning)
        return gradient_namespace("cuda") is not None


@pytest.mark.skipif(_gpu_usable(), reason="a GPU is usable here: the fallback does not apply")
def test_cuda_without_a_usable_gpu_falls_back_to_numpy_with_one_warning():
    rng = np.random.default_rng(0)
    y, m = rng.normal(size=50) * 100, rng.normal(size=50)
    obj = boostobj.log_cosh()
    gpu = obj.on_device("cuda:7")  # a device number no test uses elsewhere: its own warning
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        first = gpu(y, m)
        second = gpu(y, m)
    fallbacks = [w for w in caught if issubclass(w.category, DeviceFallbackWarning)]
    assert len(fallbacks) == 1 and "NumPy" in str(fallbacks[0].message)
    for a, b, c in zip(first, second, obj(y, m)):
        assert isinstance(a, np.ndarray) and np.array_equal(a, c) and np.array_equal(b, c)


@pytest.mark.skipif(not _gpu_usable(), reason="needs CuPy and a CUDA GPU")
def test_cuda_gradients_are_cupy_and_match_numpy():  # pragma: no cover - GPU machines only
    import cupy
    import xgboost as xgb

    rng = np.random.default_rng(0)
    X = rng.normal(size=(2000, 4)).astype(np.float32)
    y = 1000 * X[:, 0] + 100 * rng.standard_t(2, size=2000)
    w = rng.exponential(size=2000)
    obj = boostobj.huber(100.0)
    gpu = obj.on_device("cuda")
    dtrain = xgb.DMatrix(X, y, weight=w)
    m = np.zeros(2000, dtype=np.float32) + np.float32(obj.init_score(y, w))
    g, h = gpu(m, dtrain)
    assert isinstance(g, cupy.ndarray) and isinstance(h, cupy.ndarray)
    g0, h0 = obj(m, xgb.DMatrix(X, y, weight=w))
    np.testing.assert_allclose(cupy.asnumpy(g), g0, rtol=1e-6)
    np.testing.assert_allclose(cupy.asnumpy(h), h0, rtol=1e-6)
    params = {"device": "cuda", "tree_method": "hist", "base_score": obj.init_score(y, w),
              "disable_default_eval_metric": 1}
    p_gpu = xgb.train(params, dtrain, 20, obj=gpu).predict(xgb.DMatrix(X))
    p_cpu = xgb.train(params, dtrain, 20, obj=obj).predict(xgb.DMatrix(X))
    np.testing.assert_allclose(p_gpu, p_cpu, rtol=1e-4, atol=1e-3 * obj.label_scale(y, w))


class _RecordingGPU:
    """Stands in for CuPy on a CPU: records which device each gradient call ran on.

    ``asarray`` returns NumPy arrays, so training still works, but every call
    routed to the "GPU" leaves a record: the routing is tested without a GPU.
    """

    def __init__(self):
        self.calls: list[int] = []
        self._device: list[int] = []
        gpu = self

        class _Device:
            def __init__(self, n):
                self.n = n

            def __enter__(self):
                gpu._device.append(self.n)

            def __exit__(self, *exc):
                gpu._device.pop()

        self.cuda = type("cuda", (), {"Device": _Device})

    def asarray(self, a):
        self.calls.append(self._device[-1] if self._device else -1)
        return np.asarray(a)


@pytest.fixture
def fake_gpu(monkeypatch):
    """Route GPU gradients to a recording stand-in (boostobj.objective looks CuPy up here)."""
    gpu = _RecordingGPU()
    monkeypatch.setattr(objective_module, "gradient_namespace", lambda device: gpu)
    return gpu


def test_lightgbm_calls_get_host_arrays_even_on_a_gpu_objective(fake_gpu):
    lgb = pytest.importorskip("lightgbm")
    xgb = pytest.importorskip("xgboost")
    rng = np.random.default_rng(0)
    X = rng.normal(size=(200, 2))
    y = 100 * X[:, 0] + rng.normal(size=200)
    obj = boostobj.huber(5.0).on_device("cuda:1")
    start = np.full(200, obj.init_score(y))
    # LightGBM's sklearn call (4 arguments) and native call (a lightgbm.Dataset): host
    obj(y, start, None, None)
    lgb.LGBMRegressor(objective=obj, n_estimators=3, verbose=-1).fit(X, y, init_score=obj.init_score_array(y))
    lgb.train({"objective": obj, "verbose": -1}, lgb.Dataset(X, y, init_score=start), 3)
    assert fake_gpu.calls == []
    # the same objective in XGBoost's calls goes to its device, once per call
    obj(y, start)
    obj(start.astype(np.float32), xgb.DMatrix(X, y))
    assert fake_gpu.calls == [1, 1]


def test_xgboost_estimator_with_a_gpu_device_uses_a_gpu_objective_and_restores_it(fake_gpu, monkeypatch):
    import boostobj.sklearn as sk

    rng = np.random.default_rng(0)
    X = rng.normal(size=(300, 3))
    y = 1000 + 100 * X[:, 0] + 10 * rng.standard_t(2, size=300)
    obj = boostobj.quantile(0.8)
    # on a GPU the drop-in trains without the exact leaf refit (host-side, not measured there)
    on_cpu = sk.XGBRegressor(objective=obj, n_estimators=5, leaf_refit=False).fit(X, y)
    assert fake_gpu.calls == []  # device unset: the CPU objective
    # XGBoost reports that it really trains on the GPU: the drop-in must follow it
    monkeypatch.setattr(sk, "resolve_device", lambda device, framework: "cuda")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)  # XGBoost's own CPU fallback here
        on_gpu = sk.XGBRegressor(objective=obj, device="gpu:0", n_estimators=5).fit(X, y)
    assert fake_gpu.calls == [0] * 5  # every round's gradients on cuda:0
    assert on_gpu.objective is obj and obj.device == "cpu"  # the parameter is left as given
    np.testing.assert_allclose(on_gpu.predict(X), on_cpu.predict(X), rtol=0, atol=1e-3 * obj.label_scale(y))
    # and where XGBoost falls back to the CPU, so do the gradients
    monkeypatch.setattr(sk, "resolve_device", lambda device, framework: "cpu")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)
        sk.XGBRegressor(objective=obj, device="cuda", n_estimators=5).fit(X, y)
    assert fake_gpu.calls == [0] * 5

"""Which device a framework will really train on, with one clear warning on fallback.

Policy
------
- XGBoost (``device="cuda"``): its pip wheel is CUDA-enabled and falls back to
  the CPU by itself when no GPU is visible; boostobj detects that once,
  warns once (``DeviceFallbackWarning``) and reports ``"cpu"``.
- LightGBM (``device_type="gpu"``, OpenCL; ``"cuda"`` needs a source build):
  the framework raises instead of falling back, so boostobj probes once with
  a tiny dataset and, if that fails, falls back to the CPU with one warning.
- Gradients of a boostobj objective (``obj.on_device("cuda")``): computed with
  CuPy on the GPU when CuPy is installed and sees a CUDA device, else with
  NumPy on the CPU, with one ``DeviceFallbackWarning``
  (``gradient_namespace``). Only XGBoost takes device gradients; LightGBM's
  calls always get NumPy.

Examples
--------
>>> from boostobj.device import resolve_device
>>> resolve_device("cpu", "xgboost")
'cpu'
"""

from __future__ import annotations

import functools
import importlib.metadata
import re
import warnings
from typing import Any

import numpy as np

__all__ = ["DeviceFallbackWarning", "gradient_namespace", "normalize_device", "resolve_device",
           "xgboost_device_params", "lightgbm_device_params"]

_VALID = ("cpu", "cuda", "gpu")


class DeviceFallbackWarning(UserWarning):
    """A GPU was requested but is not usable; training runs on the CPU."""


@functools.lru_cache(maxsize=None)
def _xgboost_gpu_works() -> tuple[bool, str]:
    import xgboost as xgb

    if not xgb.build_info().get("USE_CUDA", False):
        return False, "this XGBoost build has no CUDA support"
    X = np.arange(20, dtype=np.float32).reshape(10, 2)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        try:
            bst = xgb.train({"device": "cuda", "tree_method": "hist"}, xgb.DMatrix(X, np.arange(10.0)), 1)
            used = bst.save_config()
        except Exception as exc:  # noqa: BLE001 - any failure means "no usable GPU"
            return False, f"XGBoost could not train on cuda ({str(exc).splitlines()[0][:120]})"
    fallback = any("cuda" in str(w.message).lower() or "gpu" in str(w.message).lower() for w in caught)
    if fallback or '"cuda' not in used:
        return False, "no CUDA device is visible to XGBoost"
    return True, ""


@functools.lru_cache(maxsize=None)
def _lightgbm_gpu_works(device_type: str) -> tuple[bool, str]:
    import lightgbm as lgb

    X = np.arange(200, dtype=np.float64).reshape(100, 2)
    try:
        lgb.train({"device_type": device_type, "verbose": -1, "num_leaves": 2},
                  lgb.Dataset(X, np.arange(100.0)), 1)
    except Exception as exc:  # noqa: BLE001 - LightGBM raises LightGBMError or a C++ fatal
        return False, f"LightGBM device_type={device_type!r} failed ({str(exc).splitlines()[0][:120]})"
    return True, ""


def resolve_device(device: str, framework: str) -> str:
    """The device ``framework`` will actually use for ``device`` ("cpu" or "cuda").

    Requests for a GPU that is not usable return ``"cpu"`` and warn once.
    Raises ValueError for an unknown device or framework.
    """
    if device not in _VALID:
        raise ValueError(f"device must be one of {_VALID}, got {device!r}")
    if framework not in ("xgboost", "lightgbm"):
        raise ValueError(f"framework must be 'xgboost' or 'lightgbm', got {framework!r}")
    if device == "cpu":
        return "cpu"
    ok, why = _xgboost_gpu_works() if framework == "xgboost" else _lightgbm_gpu_works("gpu")
    if ok:
        return "cuda"
    _warn_once(framework, why)
    return "cpu"


@functools.lru_cache(maxsize=None)
def _warn_once(framework: str, why: str) -> None:
    warnings.warn(f"GPU requested for {framework} but {why}; training on the CPU instead.",
                  DeviceFallbackWarning, stacklevel=3)


def xgboost_device_params(device: str) -> dict:
    """XGBoost params for the resolved device (``{"device": ..., "tree_method": "hist"}``)."""
    return {"device": resolve_device(device, "xgboost"), "tree_method": "hist"}


def lightgbm_device_params(device: str) -> dict:
    """LightGBM params for the resolved device (``device_type`` "gpu" or "cpu")."""
    return {"device_type": "gpu" if resolve_device(device, "lightgbm") == "cuda" else "cpu"}


def normalize_device(device: str) -> str:
    """XGBoost-style device string as boostobj keeps it: "cpu", "cuda" or "cuda:N".

    "gpu" and "gpu:N" are XGBoost's aliases for "cuda" and "cuda:N".

    >>> normalize_device("gpu:1")
    'cuda:1'
    """
    d = str(device).strip().lower()
    m = re.fullmatch(r"(cpu|cuda|gpu)(?::(\d+))?", d)
    if m is None or (m.group(1) == "cpu" and m.group(2) is not None):
        raise ValueError(f"device must be 'cpu', 'cuda', 'cuda:N', 'gpu' or 'gpu:N', got {device!r}")
    if m.group(1) == "cpu":
        return "cpu"
    return "cuda" if m.group(2) is None else f"cuda:{int(m.group(2))}"


def cuda_ordinal(device: str) -> int:
    """The GPU number in "cuda:N" (0 for "cuda")."""
    return int(device.split(":")[1]) if ":" in device else 0


def xgboost_cuda(build_info: dict | None = None, requires: list[str] | None = None) -> tuple[int | None, str]:
    """(CUDA major version XGBoost was built for, where that was read); None for a CPU build.

    ``build_info()["CUDA_VERSION"]`` when the build has CUDA, else the wheel's
    ``nvidia-nccl-cuNN`` requirement. The arguments default to the installed XGBoost.

    Examples
    --------
    >>> xgboost_cuda({"USE_CUDA": True, "CUDA_VERSION": [12, 8]}, [])
    (12, 'build_info CUDA_VERSION 12.8')
    """
    if build_info is None:
        import xgboost

        build_info = xgboost.build_info()
    if requires is None:
        requires = importlib.metadata.requires("xgboost") or []
    version = build_info.get("CUDA_VERSION")
    if build_info.get("USE_CUDA") and version:
        return int(version[0]), f"build_info CUDA_VERSION {'.'.join(map(str, version))}"
    for req in requires:
        m = re.match(r"\s*nvidia-nccl-cu(\d+)", req)
        if m:
            return int(m.group(1)), f"wheel requires {req.split(';')[0].strip()}"
    return None, "CPU-only build"


def cupy_extra(cuda: int | None = None) -> str:
    """The boostobj extra whose CuPy matches the CUDA of the installed XGBoost ("gpu" when unknown).

    Examples
    --------
    >>> cupy_extra(12), cupy_extra(13), cupy_extra(None)
    ('gpu-cuda12', 'gpu-cuda13', 'gpu')
    """
    return f"gpu-cuda{cuda}" if cuda in (12, 13) else "gpu"


@functools.lru_cache(maxsize=None)
def gradient_namespace(device: str) -> Any | None:
    """CuPy, when objective gradients for ``device`` can be computed on that GPU; else None.

    None means NumPy on the CPU; a request for a GPU that CuPy cannot use
    warns once (``DeviceFallbackWarning``) and returns None. The answer is
    cached per process, so each Dask worker probes once.

    >>> gradient_namespace("cpu") is None
    True
    """
    device = normalize_device(device)
    if device == "cpu":
        return None
    try:
        import cupy
    except ImportError:
        extra = cupy_extra(xgboost_cuda()[0])
        why = (f"CuPy is not installed (from a checkout: pip install \".[{extra}]\", the CuPy for the CUDA "
               "of the installed XGBoost)")
    else:
        try:
            count = int(cupy.cuda.runtime.getDeviceCount())
        except Exception as exc:  # noqa: BLE001 - CUDARuntimeError and driver errors alike
            count, why = 0, f"CuPy sees no CUDA device ({str(exc).splitlines()[0][:120]})"
        else:
            why = f"CuPy sees {count} CUDA device(s), so {device!r} is not usable"
        if cuda_ordinal(device) < count:
            return cupy
    warnings.warn(f"GPU gradients requested ({device!r}) but {why}; boostobj computes them with "
                  "NumPy on the CPU instead.", DeviceFallbackWarning, stacklevel=4)
    return None

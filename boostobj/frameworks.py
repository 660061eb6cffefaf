"""Framework specifics, in one place: XGBoost's label views, LightGBM's parameter names.

- ``_labels_and_weights``: a dataset's current labels and weights. For an
  XGBoost ``DMatrix`` a view of XGBoost's own memory (``XGDMatrixGetFloatInfo``
  through ctypes, the array-interface string only when the memory moves),
  else the public getters; any surprise from the private path falls back to
  them. ``tests/test_caches.py`` fails where an XGBoost version breaks it.
- ``ALIASES`` and ``param``: LightGBM's (and XGBoost's) names for the
  parameters boostobj reads, one table; ``_truthy``: the one parser of
  their boolean values.
- ``_refuse_ignored_params``: LightGBM settings that custom objectives
  silently ignore, refused with the fix.
- ``lightgbm_score_reader``, ``serve_lightgbm_scores``,
  ``lightgbm_cached_scores``: LightGBM's private per-data-set score cache,
  which the leaf refit reads and replaces (LightGBM's own cache does not see
  ``set_leaf_output``).

Elsewhere boostobj reaches into the frameworks twice, both by subclassing:
the XGBoost leaf refit makes a booster an instance of a subclass that
intercepts ``update`` and ``predict`` while it trains
(``leaf_refit.XGBLeafRefit``), and a recorded LightGBM booster one whose
``save_model`` writes the record (``model_io.RecordedBooster``).
``tests/test_framework_internals.py`` holds every private name used here to
the installed versions.

Examples
--------
>>> from boostobj.frameworks import param
>>> param({"eta": 0.3}, "learning_rate", 0.1), param({}, "lambda_l2", 0.0)
(0.3, 0.0)
"""

from __future__ import annotations

import ctypes
import json
import re
from typing import Any

import numpy as np

_UNSET: Any = object()

#: each parameter boostobj reads, under every name the frameworks accept for it
ALIASES: dict[str, tuple[str, ...]] = {
    "learning_rate": ("learning_rate", "shrinkage_rate", "eta"),
    "lambda_l2": ("lambda_l2", "reg_lambda", "lambda", "l2_regularization"),
    "max_delta_step": ("max_delta_step", "max_tree_output", "max_leaf_output"),
    "boosting": ("boosting", "boosting_type", "boost"),
    "monotone_constraints": ("monotone_constraints", "mc", "monotone_constraint", "monotonic_cst"),
    "metric": ("metric", "metrics", "metric_types"),
    "num_threads": ("num_threads", "num_thread", "nthread", "nthreads", "n_jobs"),
    "is_unbalance": ("is_unbalance", "unbalance", "unbalanced_sets"),
}


def param(params: dict, name: str, default: float) -> float:
    """The value of parameter ``name`` under any of its aliases, as a float, or ``default``."""
    for alias in ALIASES[name]:
        if params.get(alias) is not None:
            return float(params[alias])
    return default


class _ArrayInterface:
    """Holds an ``__array_interface__`` dict, so ``np.asarray`` views the memory it names."""

    __slots__ = ("__array_interface__",)


# (DMatrix handle, field) -> ((address, length) XGDMatrixGetFloatInfo names, the view of that memory)
_INFO_VIEWS: dict = {}
_FLOAT_INFO: Any = _UNSET  # XGBoost's XGDMatrixGetFloatInfo with our argument types, once looked up


def _float_info_function() -> Any:
    """``XGDMatrixGetFloatInfo`` as a ctypes function of our own (None without it).

    ``_LIB[name]`` makes a new function object, so the argument types set
    here leave XGBoost's own calls through ``_LIB`` alone; declared types
    also spare ctypes guessing them on every call.
    """
    global _FLOAT_INFO
    if _FLOAT_INFO is _UNSET:
        try:
            from xgboost.core import _LIB

            fn = _LIB["XGDMatrixGetFloatInfo"]
            fn.argtypes = [ctypes.c_void_p, ctypes.c_char_p, ctypes.POINTER(ctypes.c_uint64),
                           ctypes.POINTER(ctypes.c_void_p)]
            fn.restype = ctypes.c_int
            _FLOAT_INFO = fn
        except Exception:  # an XGBoost without it: every call takes the array-interface path
            _FLOAT_INFO = None
    return _FLOAT_INFO


def _float_info_address(data: Any, field: bytes) -> tuple[int | None, int] | None:
    """(address, length) of a DMatrix float field's host memory as XGBoost names it now, or None."""
    fn = _FLOAT_INFO if _FLOAT_INFO is not _UNSET else _float_info_function()
    if fn is None:
        return None
    length, address = ctypes.c_uint64(), ctypes.c_void_p()
    if fn(data.handle, field, ctypes.byref(length), ctypes.byref(address)) != 0:
        return None  # XGBoost's error stays in its last-error slot; the public getters will raise it
    return address.value, length.value


def _xgboost_info_view(data: Any, field: bytes) -> np.ndarray | None:
    """A read-only view of a DMatrix's float info (labels, weights) in host memory, or None.

    ``DMatrix.get_label()`` copies the labels and builds a Python class on
    every call (``get_weight()`` too, even when there are none). Every objective call
    reads both to catch ``set_label`` / ``set_weight``, so the first call
    asks XGBoost's C API for a reference (``XGDMatrixGetInfoRef``, the call
    ``get_label`` itself makes: an array-interface string, parsed here) and
    keeps the view made from it. Later calls ask ``XGDMatrixGetFloatInfo``
    (what ``get_float_info`` calls) for the field's address and length
    only, and hand the kept view out again while XGBoost names the same
    memory, which costs less than comparing the reference's string. The values
    may have changed in place: callers compare them; states keep their own
    copies. None, and the caller falls back to the public getters, when the
    library lacks the calls or the memory is not host memory.
    """
    try:
        key = (data.handle.value, field)
        hit = _INFO_VIEWS.get(key)
        if hit is not None:
            if _float_info_address(data, field) == hit[0]:
                return hit[1]  # XGBoost names the memory the kept view reads
        from xgboost.core import _LIB, _check_call

        ptr = ctypes.c_char_p()
        _check_call(_LIB.XGDMatrixGetInfoRef(data.handle, field, ctypes.byref(ptr)))
        inf = json.loads(ptr.value)
        if "stream" in inf or inf.get("typestr") not in ("<f4", "<f8"):
            return None  # device memory (XGBoost's own test), or a layout this reader does not expect
        if 0 in inf["shape"]:  # no weights: the pointer may be null (XGBoost special-cases it too)
            view = np.empty(tuple(inf["shape"]), np.dtype(inf["typestr"]))
        else:
            holder = _ArrayInterface()
            holder.__array_interface__ = {
                "data": tuple(inf["data"]), "shape": tuple(inf["shape"]), "typestr": inf["typestr"],
                "strides": tuple(inf["strides"]) if inf.get("strides") else None, "version": 3,
            }
            view = np.asarray(holder)
        address = _float_info_address(data, field)
        # kept only when both calls name the same float32 memory (an empty field: any address)
        if (address is not None and address[1] == view.size and view.dtype == np.float32
                and (view.size == 0 or address[0] == inf["data"][0])):
            if len(_INFO_VIEWS) >= 64:  # a few datasets in use at a time
                _INFO_VIEWS.clear()
            _INFO_VIEWS[key] = (address, view)
        return view
    except Exception:  # any surprise from a private path: the public getters are always right
        return None


def _labels_and_weights(data: Any) -> tuple[Any, Any]:
    """A dataset's current labels and weights (XGBoost ``DMatrix`` or LightGBM ``Dataset``)."""
    if type(data).__module__.startswith("xgboost") and hasattr(data, "handle"):
        y, w = _xgboost_info_view(data, b"label"), _xgboost_info_view(data, b"weight")
        if y is not None and w is not None:
            return y, w
    return data.get_label(), data.get_weight()


def _refuse_ignored_params(params: dict | None) -> None:
    """LightGBM applies these only in its built-in objectives: never ignore them silently.

    A LightGBM ``Dataset`` carries the training parameters (an XGBoost
    ``DMatrix`` does not, so ``xgb.train`` cannot be checked: see the README).
    """
    if not params:
        return
    unbalance = [k for k in UNBALANCE_KEYS if _truthy(params.get(k))]
    spw = params.get("scale_pos_weight")
    if unbalance or (spw is not None and spw != 1):
        name = unbalance[0] if unbalance else "scale_pos_weight"
        raise ValueError(
            f"{name} is ignored by LightGBM with a custom objective: pass class weights as "
            "sample weights instead, lgb.Dataset(X, y, weight=w, init_score=obj.init_score_array(y, w)) "
            "with e.g. w = np.where(y == 1, positive_weight, 1.0), or use "
            "boostobj.sklearn.LGBMClassifier, which applies it for you"
        )


# LightGBM's is_unbalance and its aliases
UNBALANCE_KEYS = ALIASES["is_unbalance"]


def refuse_lightgbm_forest(params: dict | None) -> None:
    """LightGBM's random forest takes only its built-in objectives: say so before it stops inside.

    Given a start (``init_score``, which every boostobj entry point sets)
    LightGBM stops on an internal check before it reads the objective.

    >>> refuse_lightgbm_forest({"boosting_type": "gbdt"})
    >>> refuse_lightgbm_forest({"boosting": "rf"})
    Traceback (most recent call last):
    ...
    ValueError: boosting='rf': LightGBM's random forest trains only its built-in objectives, ...
    """
    for key in ALIASES["boosting"]:
        value = (params or {}).get(key)
        if isinstance(value, str) and value.strip().lower() in ("rf", "random_forest"):
            raise ValueError(
                f"{key}={value!r}: LightGBM's random forest trains only its built-in objectives, not a "
                "custom one such as a boostobj objective; train with boosting 'gbdt' (bagging_fraction, "
                "bagging_freq and feature_fraction give its trees a forest's randomness) or with "
                "LightGBM's own objective")


def from_lightgbm(data: Any) -> bool:
    """Whether ``data`` is one of LightGBM's objects (a ``Dataset`` subclass, ``obj.dataset``'s too)."""
    return any(c.__module__.startswith("lightgbm") for c in type(data).__mro__)


def _truthy(v: Any) -> bool:
    """A boolean parameter that is on: True, a non-zero number, or "true" / "1" / "yes" (either framework's)."""
    if isinstance(v, str):
        return v.strip().lower() in ("true", "1", "yes")
    return bool(v) if isinstance(v, (bool, int, float, np.bool_, np.integer, np.floating)) else False


# ---- LightGBM's cached scores (the leaf refit's two hooks) -------------------------------------
_SCORES = "_Booster__inner_predict"  # LightGBM's private reader of its cached scores, per data set


def lightgbm_score_reader(booster: Any) -> Any:
    """LightGBM's private reader of a booster's cached scores (``data_idx=`` keyword), or None."""
    return getattr(booster, _SCORES, None)


def serve_lightgbm_scores(booster: Any, reader: Any) -> None:
    """Make ``booster``'s own objective and metric calls read their scores from ``reader(data_idx=...)``.

    LightGBM hands its training and validation scores to a callable
    objective and metric through this reader; the leaf refit keeps the
    model's true margins (its cache does not see ``set_leaf_output``) and
    serves them here. ``tests/test_framework_internals.py`` fails where a
    LightGBM version renames it.
    """
    setattr(booster, _SCORES, reader)


def lightgbm_cached_scores(booster: Any, data_idx: int, k: int) -> np.ndarray | None:
    """A copy of LightGBM's cached raw scores of its data set ``data_idx`` as (n, K); None if hidden.

    The same C call as LightGBM's private ``__inner_predict``, into a fresh
    array (that one reuses one buffer and a per-iteration flag).
    """
    try:
        from lightgbm.basic import _LIB, _safe_call

        n = booster.train_set.num_data() if data_idx == 0 else booster.valid_sets[data_idx - 1].num_data()
        out = np.empty(n * k, dtype=np.float64)
        got = ctypes.c_int64(0)
        _safe_call(_LIB.LGBM_BoosterGetPredict(booster._handle, ctypes.c_int(data_idx), ctypes.byref(got),
                                               out.ctypes.data_as(ctypes.POINTER(ctypes.c_double))))
        return out.reshape(k, n).T if got.value == n * k else None  # class-major in LightGBM
    except Exception:  # a LightGBM whose internals moved: the caller asks pred_leaf instead
        return None


_NUM_LEAVES = re.compile(rb"^num_leaves=(\d+)$", re.M)


_FORCED_SPLITS = ("forcedsplits_filename", "fs", "forced_splits_filename", "forced_splits_file", "forced_splits")


def _lightgbm_splits(booster: Any, iterations: int) -> int:
    """The number of splits of positive gain in ``booster``'s first ``iterations`` iterations' trees."""
    from lightgbm.basic import _LIB, _safe_call

    if iterations <= 0:
        return 0  # LightGBM reads 0 as "every iteration"
    out = np.zeros(booster.num_feature(), dtype=np.float64)
    _safe_call(_LIB.LGBM_BoosterFeatureImportance(booster._handle, ctypes.c_int(iterations), ctypes.c_int(0),
                                                  out.ctypes.data_as(ctypes.POINTER(ctypes.c_double))))
    return int(out.sum())


def lightgbm_leaf_counts(booster: Any, iteration: int, k: int) -> list[int]:
    """The number of leaves of each of iteration ``iteration``'s ``k`` trees, in tree order.

    With one tree per iteration: its splits plus one, its splits counted by
    LightGBM's split importance (``LGBM_BoosterFeatureImportance``) up to
    this iteration and up to the one before; LightGBM grows only splits of
    positive gain, which that counts, unless forced splits are given.
    Otherwise read off the model text of that one iteration (LightGBM's
    ``LGBM_BoosterSaveModelToString``, the call behind ``model_to_string``,
    into one buffer), several times the cost; ``Booster.dump_model`` gives
    the same from its JSON, at several times that, where the others fail.
    """
    try:
        from lightgbm.basic import _LIB, _safe_call

        if k == 1 and not any(booster.params.get(name) for name in _FORCED_SPLITS):
            return [_lightgbm_splits(booster, iteration + 1) - _lightgbm_splits(booster, iteration) + 1]

        size = 1 << 16
        for _ in range(2):  # the second time with the length the first reported
            buf = ctypes.create_string_buffer(size)
            got = ctypes.c_int64(0)
            _safe_call(_LIB.LGBM_BoosterSaveModelToString(
                booster._handle, ctypes.c_int(iteration), ctypes.c_int(1), ctypes.c_int(0),
                ctypes.c_int64(size), ctypes.byref(got), ctypes.c_char_p(ctypes.addressof(buf))))
            if got.value <= size:
                counts = [int(c) for c in _NUM_LEAVES.findall(buf.raw[:got.value])]
                if len(counts) == k:
                    return counts
                break
            size = int(got.value)
    except Exception:  # noqa: BLE001 - a LightGBM whose internals moved: the public route
        pass
    info = booster.dump_model(start_iteration=iteration, num_iteration=1)["tree_info"]
    return [int(t["num_leaves"]) for t in info]


def lightgbm_leaf_values(booster: Any, tree: int, n_leaves: int) -> np.ndarray:
    """Tree ``tree``'s leaf values, as ``Booster.get_leaf_output`` gives them one by one.

    The same C call (``LGBM_BoosterGetLeafValue``) without the Python
    wrapper's per-leaf arguments: the leaf refit reads every new leaf, every
    round.
    """
    from lightgbm.basic import _LIB, _safe_call

    get, handle, out, value = _LIB.LGBM_BoosterGetLeafValue, booster._handle, np.empty(n_leaves), ctypes.c_double()
    ref, t = ctypes.byref(value), ctypes.c_int(tree)
    for i in range(n_leaves):
        _safe_call(get(handle, t, ctypes.c_int(i), ref))
        out[i] = value.value
    return out


def lightgbm_set_leaf_values(booster: Any, tree: int, leaves: np.ndarray, values: np.ndarray) -> None:
    """``Booster.set_leaf_output(tree, leaf, value)`` for each leaf and value, in one loop of the C call."""
    from lightgbm.basic import _LIB, _safe_call

    put, handle, t = _LIB.LGBM_BoosterSetLeafValue, booster._handle, ctypes.c_int(tree)
    for leaf, value in zip(leaves.tolist(), values.tolist()):
        _safe_call(put(handle, t, ctypes.c_int(leaf), ctypes.c_double(value)))


def _xgboost_slice(booster: Any, begin: int, end: int) -> ctypes.c_void_p:
    """A bare handle on ``booster[begin:end]`` (``XGBoosterSlice``); the caller frees it.

    The Python ``Booster`` that ``__getitem__`` would build around it costs
    more than the slice, every round of the leaf refit.
    """
    from xgboost.core import _LIB, _check_call

    handle = ctypes.c_void_p()
    _check_call(_LIB.XGBoosterSlice(booster.handle, ctypes.c_int(begin), ctypes.c_int(end), ctypes.c_int(1),
                                    ctypes.byref(handle)))
    return handle


def xgboost_round_model(booster: Any, t: int) -> dict:
    """The JSON model of XGBoost round ``t`` alone: ``booster[t:t + 1]`` saved as JSON, parsed.

    The same two C calls as ``Booster.__getitem__`` and ``save_raw("json")``
    (``XGBoosterSlice``, ``XGBoosterSaveModelToBuffer``) on a bare handle,
    freed at once. Falls back to those public calls where the C ones fail.
    """
    try:
        from xgboost.core import _LIB, _check_call

        handle = _xgboost_slice(booster, t, t + 1)
        try:
            length = ctypes.c_uint64()
            cptr = ctypes.POINTER(ctypes.c_char)()
            _check_call(_LIB.XGBoosterSaveModelToBuffer(handle, ctypes.c_char_p(b'{"format": "json"}'),
                                                        ctypes.byref(length), ctypes.byref(cptr)))
            raw = ctypes.string_at(cptr, length.value)
        finally:
            _LIB.XGBoosterFree(handle)
    except Exception:  # noqa: BLE001 - an XGBoost whose internals moved: the public route
        import xgboost as xgb

        raw = xgb.Booster.__getitem__(booster, slice(t, t + 1)).save_raw("json")
    return json.loads(raw)["learner"]["gradient_booster"]["model"]


def _xgboost_predict(handle: Any, data: Any, config: ctypes.c_char_p, dtype: Any) -> np.ndarray:
    """``XGBoosterPredictFromDMatrix`` (the C call behind ``Booster.predict``) on a booster handle.

    Its result in the shape XGBoost gives it, copied out as ``dtype``:
    XGBoost reuses the buffer at its next predict.
    """
    from xgboost.core import _LIB, _check_call, c_bst_ulong

    shape, dims, out = ctypes.POINTER(c_bst_ulong)(), c_bst_ulong(), ctypes.POINTER(ctypes.c_float)()
    _check_call(_LIB.XGBoosterPredictFromDMatrix(handle, data.handle, config, ctypes.byref(shape),
                                                 ctypes.byref(dims), ctypes.byref(out)))
    size = tuple(int(shape[i]) for i in range(dims.value))
    return np.array(np.ctypeslib.as_array(out, size), dtype=dtype) if all(size) else np.empty(size, dtype)


_LEAF_IDS_CONFIG = ctypes.c_char_p(
    b'{"type": 6, "training": false, "iteration_begin": 0, "iteration_end": 0, "strict_shape": true}')


def xgboost_leaf_ids(booster: Any, data: Any, begin: int, end: int) -> np.ndarray:
    """``booster[begin:end].predict(data, pred_leaf=True)`` as (rows, trees) node ids.

    XGBoost predicts leaves only from the first round, so a later round's
    come from a slice: taken here on a bare handle (``_xgboost_slice``), with
    the C call behind ``predict``, since the public route builds a Python
    ``Booster`` and checks its arguments each time. Falls back to that route
    where the C calls fail.
    """
    try:
        from xgboost.core import _LIB

        handle = _xgboost_slice(booster, begin, end)
        try:
            leaves = _xgboost_predict(handle, data, _LEAF_IDS_CONFIG, np.intp)
        finally:
            _LIB.XGBoosterFree(handle)
    except Exception:  # noqa: BLE001 - an XGBoost whose internals moved: the public route
        import xgboost as xgb

        leaves = np.asarray(xgb.Booster.__getitem__(booster, slice(begin, end)).predict(data, pred_leaf=True),
                            dtype=np.intp)
    return leaves.reshape(data.num_row(), -1)


_TRAINING_MARGIN_CONFIG = ctypes.c_char_p(
    b'{"type": 1, "training": true, "iteration_begin": 0, "iteration_end": 0, "strict_shape": false}')


def xgboost_training_margin(booster: Any, dtrain: Any) -> np.ndarray | None:
    """``booster.predict(dtrain, output_margin=True, training=True)``: XGBoost's cached training margins.

    The one C call behind ``Booster.predict`` (``XGBoosterPredictFromDMatrix``)
    with its request written once, and the result copied as ``predict``
    copies it: ``predict``'s own checks (argument binding, feature names,
    array wrappers) cost more than the call on small data, and the leaf
    refit reads these margins every round. For a ``DMatrix`` the booster
    has trained on (its features checked then); None where the call fails.
    """
    try:
        return _xgboost_predict(booster.handle, dtrain, _TRAINING_MARGIN_CONFIG, np.float32)
    except Exception:  # noqa: BLE001 - an XGBoost whose internals moved: the caller predicts
        return None


_SPLIT_COUNT_CONFIG = ctypes.c_char_p(b'{"importance_type": "weight", "feature_map": ""}')


def xgboost_split_count(booster: Any) -> int | None:
    """The number of split nodes in all of ``booster``'s trees; None where it cannot be read.

    XGBoost's ``weight`` feature importance (``XGBoosterFeatureScore``, the
    call behind ``get_score``) counts every split of every tree, so a
    round's trees have that round's increase in splits plus one leaves per
    tree. The leaf refit reads it once a round: it walks the trees' nodes,
    where the model JSON of one round costs a copy of the learner.
    """
    try:
        from xgboost.core import _LIB, _check_call, c_bst_ulong

        n_features, features = c_bst_ulong(), ctypes.POINTER(ctypes.c_char_p)()
        dim, shape, scores = c_bst_ulong(), ctypes.POINTER(c_bst_ulong)(), ctypes.POINTER(ctypes.c_float)()
        _check_call(_LIB.XGBoosterFeatureScore(booster.handle, _SPLIT_COUNT_CONFIG, ctypes.byref(n_features),
                                               ctypes.byref(features), ctypes.byref(dim), ctypes.byref(shape),
                                               ctypes.byref(scores)))
        count = float(np.ctypeslib.as_array(scores, (n_features.value,)).sum()) if n_features.value else 0.0
    except Exception:  # noqa: BLE001 - an XGBoost whose internals moved: the caller reads the trees
        return None
    return int(count) if count < 2**24 else None  # float32 counts stop being exact there

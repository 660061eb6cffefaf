"""The one generic adapter: a loss becomes an object that every entry point takes.

``Objective`` wraps a ``boostobj.losses.Loss``. The same instance works as

- ``xgb.train(params, dtrain, obj=obj)``                -> ``obj(predt, dmatrix)``
- ``lgb.train({"objective": obj}, train_set)``          -> ``obj(preds, dataset)``
- ``xgb.XGBRegressor(objective=obj)``                   -> ``obj(y, pred[, sample_weight=w])``
- ``lgb.LGBMRegressor(objective=obj)``                  -> ``obj(y, pred, weight, group)``

It knows nothing about any particular loss. Per dataset (a ``DMatrix`` /
``Dataset``, or for array calls the last few label arrays) it caches what
does not change between rounds: validated and encoded labels, weights folded
together with the curvature normalisation factor, the start value. Every
call checks the cache against the current labels and weights (a comparison
with a private copy), so ``set_label``,
``set_weight`` and in-place edits are picked up. The framework outputs are
float32 buffers reused per dataset and per thread, so one objective can train
several models at once from several threads. The framework paths return
weighted (gradient, curvature) times the fixed factor; ``grad_hess`` returns
the true weighted gradient.

Examples
--------
>>> import numpy as np
>>> import boostobj
>>> obj = boostobj.quantile(alpha=0.9)
>>> y = np.arange(10.0)
>>> float(obj.init_score(y))
8.0
>>> g, h = obj.grad_hess(y, np.zeros(10))
>>> bool((h > 0).all())
True
"""

from __future__ import annotations

import math
import os
import threading
import warnings
import weakref
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import numpy as np

from boostobj import _compiled, model_io
from boostobj._array import is_numpy, namespace
from boostobj._math import F32_MAX as _F32_MAX
from boostobj.device import cuda_ordinal, gradient_namespace, normalize_device
from boostobj.exceptions import StalledFitWarning, StartValueWarning
from boostobj.frameworks import _labels_and_weights, _refuse_ignored_params, from_lightgbm
from boostobj.losses import Loss
from boostobj.registry import qualified_name
from boostobj.validation import _as_float_1d, _check_user_weights, _check_weights

Array = Any
_UNSET: Any = object()


# In a call's block sums: the compiled pass has applied the round's factor already.
_SCALED = object()


class _RoundPlan:
    """A dataset's compiled pass for one thread, and the margin and labels it was built for.

    Later calls whose margin and labels have the same dtype, shape and
    layout skip the dispatch, state lookups and checks that only depend on
    those, a large part of a call on small data.
    """

    __slots__ = ("rows", "own_labels", "shape", "mtype", "ytype", "weight_total", "ring", "turn", "shaped",
                 "sums_in_pass")

    def __init__(self, rows: Any, own_labels: bool, weight_total: float | None, ring: list, turn: int,
                 sums_in_pass: bool = False):
        self.rows, self.own_labels = rows, own_labels
        # the per-round factor's sum taken as the rows are written (RowPass.run_summed), not before
        self.sums_in_pass = sums_in_pass
        self.shape, self.mtype = None, None
        self.ytype = None
        self.weight_total = weight_total  # not None: the per-round factor is applied here
        self.ring, self.turn = ring, turn  # the state's output pairs; rows.g, rows.h is ring[turn]
        self.shaped: list = []

    def bind(self, margin: np.ndarray, y_now: np.ndarray | None) -> None:
        """Remember the call's layout, and the outputs in the margin's shape."""
        self.shape, self.mtype = margin.shape, margin.dtype
        self.ytype = None if y_now is None else (y_now.dtype, y_now.shape)
        self.shaped = [(g.reshape(margin.shape), h.reshape(margin.shape)) for g, h in self.ring]

    def next_outputs(self) -> tuple[np.ndarray, np.ndarray]:
        """Point the pass at the ring's next pair (see ``_OUTPUT_RING``); that pair in the margin's shape."""
        self.turn = turn = (self.turn + 1) % len(self.ring)
        self.rows.g, self.rows.h = self.ring[turn]
        return self.shaped[turn]

    def fits(self, margin: Any, y_now: np.ndarray | None) -> bool:
        if type(margin) is not np.ndarray or margin.shape != self.shape or margin.dtype != self.mtype:
            return False
        if not margin.flags.c_contiguous:
            return False
        if y_now is None:
            return self.own_labels
        return (not self.own_labels and (y_now.dtype, y_now.shape) == self.ytype
                and y_now.flags.c_contiguous)

    def labels(self, y_now: np.ndarray | None) -> np.ndarray:
        return self.rows.y_was if y_now is None else y_now

    @staticmethod
    def flat(margin: np.ndarray) -> np.ndarray:
        return margin.reshape(-1) if margin.ndim == 2 else margin

    def run(self, y: np.ndarray, m: np.ndarray) -> bool:
        """The round's pass (with its factor, for ``normalize_per_round``); True: the labels changed."""
        factor = 1.0
        if self.weight_total is not None:
            if self.sums_in_pass:  # the rows and their curvature sum in one pass, then the factor
                bad, total = self.rows.run_summed(y, m)
                factor = _round_factor(self.weight_total, total) or 1.0
                if factor != 1.0 and not bad:
                    self.rows.scale(factor)
                return bad
            factor = _round_factor(self.weight_total, self.rows.curvature_sum(y, m)) or 1.0
        return self.rows.run(y, m, factor)


class _StaleLabels(Exception):
    """The dataset's labels are no longer those of the state the call was given."""


# Rows per block in the NumPy hot path: small enough to stay in cache, large enough that the
# reference kernels' per-block temporaries cost little (smaller blocks made them slower).
_BLOCK_ROWS = 65536
# Threads for the blocks. One by default: inside training the framework's OpenMP threads
# still hold the cores, and a second pool thread competes with them. BOOSTOBJ_THREADS=N opts in.
_POOL_THREADS = max(1, int(os.environ.get("BOOSTOBJ_THREADS", "1")))
_POOL: ThreadPoolExecutor | None = None


def _raise_malloc_threshold() -> None:
    """Let the kernels' block temporaries come from the heap, not fresh pages.

    glibc serves allocations at or above its mmap threshold (128 KB, raised
    to the size of the largest mmapped block freed so far, up to 32 MB) with
    fresh zero-filled pages, page-faulted in on first touch and unmapped on
    free. The reference kernels (without numba, or for losses without a
    compiled row, and ``grad_hess`` on float64 margins) make temporaries
    of a block each, 256 KB (float32) or 512 KB (float64) for 64K rows, just
    at the threshold their own frees set: each is mapped, faulted in and
    unmapped anew, which made those kernels several times slower. Freeing one
    16 MB buffer raises the threshold the way any large free in the process
    does; other allocators ignore it.
    """
    buf = np.empty(16 << 20, np.uint8)  # untouched: no page is faulted in
    del buf


_raise_malloc_threshold()


_POOL_LOCK = threading.Lock()

def _pool() -> ThreadPoolExecutor:
    global _POOL
    with _POOL_LOCK:  # objectives may be called from several threads at once
        if _POOL is None:
            _POOL = ThreadPoolExecutor(_POOL_THREADS, thread_name_prefix="boostobj")
    return _POOL


# Rows the stall check reads at the start (every k-th row of larger data sets).
_STALL_ROWS = 20000

# Array states kept per objective: a training set, a few eval sets, init_score calls.
_ARRAY_STATES = 8

# Output pairs each thread cycles through per dataset, one per call. The framework's threads
# read the gradient arrays we return; writing the same pair again next round would first take
# those cache lines back from the other core.
_OUTPUT_RING = 4
# Above this for the whole ring (four pairs of float32 up to about a million rows), fewer pairs
# (by the margins' dtype): XGBoost's float32 margins one, 24 bytes a row fewer at the same speed;
# LightGBM's float64 margins two, where one made its calls slower (and four no faster than two):
# benchmarks/results/speed/speed_inprocess_output_ring_*.md and ..._one_output_pair_*.md.
_OUTPUT_RING_BYTES = 32 << 20
_OUTPUT_PAIRS_ABOVE = {"float32": 1, "float64": 2}


class _DataState:
    """What an objective caches for one dataset (labels, weights, start, scale).

    It keeps a copy of the labels and weights it was built from, as the
    caller gave them: ``matches`` compares the current ones with it (one
    vectorised comparison), so labels changed
    with ``set_label`` / ``set_weight`` or edited in place are never trained
    on stale.
    """

    def __init__(self, loss: Loss, y: Any, w: Any, n_outputs: int | None,
                 start: tuple[np.ndarray, np.ndarray] | None = None):
        self.loss = loss
        # private copies: the caller may edit its arrays in place later
        self._source = (np.array(y, copy=True), _snapshot(w))
        self._y: np.ndarray | None = _as_float_1d("y", self._source[0])
        self.n_rows = self._y.shape[0]
        if self.n_rows == 0:
            raise ValueError("y is empty")
        self.w = _check_weights(self._source[1], self.n_rows)
        self.n_outputs = loss.n_outputs(self.y) if n_outputs is None else n_outputs
        loss.check_n_outputs(self.n_outputs)
        loss.check_labels(self.y, self.n_outputs)
        # a pinned (start, scale) replaces the local statistics: every worker
        # of a distributed fit then normalises its partition identically
        self._init, self._scale = start if start is not None else (None, None)
        self._encoded: dict = {}
        self._row_labels: np.ndarray | None = None
        self._compared: np.ndarray | None = None
        self._weight_total: float | None = None
        # output buffers per thread: two threads training with one objective
        # on one dataset must not overwrite each other's gradients
        self._local = threading.local()
        self.warned = False

    @property
    def y(self) -> np.ndarray:
        """The labels in float64, for the start, the scale, the checks and the reference kernels.

        Built again from the private copy after ``release_labels``: a dataset
        trained in the compiled pass reads the framework's labels every round
        and keeps no float64 copy of them.
        """
        y = self._y
        if y is None:
            y = self._y = _as_float_1d("y", self._source[0])
        return y

    def release_labels(self) -> None:
        """Drop the float64 labels where they are a copy (``y`` rebuilds them when asked)."""
        if self._y is not self._source[0]:
            self._y = None

    def matches(self, y: Any, w: Any) -> bool:
        """True when ``y`` and ``w`` are still the labels and weights this state was built from."""
        return _equal(self._source[0], y) and _equal(self._source[1], w)

    def matches_labels(self, y: Any) -> bool:
        """True when ``y`` are still the labels this state was built from."""
        return _equal(self._source[0], y)

    def could_match(self, y: Any, w: Any) -> bool:
        """The weights match and ``y`` has the labels' dtype and shape: only its values are left to compare."""
        src = self._source[0]
        y = np.asarray(y)
        return y.dtype == src.dtype and y.shape == src.shape and _equal(self._source[1], w)

    def plan(self) -> "_RoundPlan | None":
        """This thread's compiled-pass plan for the dataset, or None."""
        return getattr(self._local, "plan", None)

    def set_plan(self, plan: "_RoundPlan") -> None:
        self._local.plan = plan

    def source_labels(self) -> np.ndarray:
        """The labels as the caller gave them (the copy ``matches`` compares with)."""
        return self._source[0]

    def compared_labels(self) -> np.ndarray:
        """``source_labels`` as the compiled pass compares the framework's labels with them.

        uint8 when every label is an integer in [0, 255] (binary and
        multiclass labels, small counts): a quarter of the bytes of the
        float32 copy, and the same verdict, since any other value of the
        framework's labels differs from the stored one. Used for rows that
        memory bounds (not ``Loss.compiled_row_blocks``).
        """
        if self._compared is None:
            src = self._source[0]
            small = src.dtype.kind in "fiu" and src.size and np.all((src >= 0) & (src <= 255))
            y8 = src.astype(np.uint8) if small else None
            self._compared = y8 if y8 is not None and np.array_equal(y8, src) else src
        return self._compared

    def row_labels(self) -> np.ndarray:
        """The labels for the compiled rows: float32 where that holds them exactly, else float64."""
        if self._row_labels is None:
            src = self._source[0]
            if src.dtype == np.float32 and src.ndim == 1 and src.flags.c_contiguous:
                self._row_labels = src  # the frameworks' labels: no second copy
            else:
                y32 = self.y.astype(np.float32)
                self._row_labels = y32 if np.array_equal(y32, self.y) else self.y
        return self._row_labels

    def adopt(self, other: "_DataState") -> None:
        """Reuse another state's start and scale when its labels and weights are the same values.

        ``obj.init_score(y)`` then ``xgb.train(..., obj=obj)`` see the same
        labels twice (as the user's array, then as the framework's float32
        copy): the start is solved once.
        """
        if self._init is not None or other._init is None or other.n_outputs != self.n_outputs:
            return
        # other's labels without keeping them: a released state stays released
        other_y = other._y if other._y is not None else _as_float_1d("y", other._source[0])
        if not (_equal(other_y, self.y) and _equal(other.w, self.w)):
            return
        self._init, self._scale = other._init, other._scale
        mine, theirs = self._source[0], other._source[0]
        if mine.dtype == theirs.dtype and mine.shape == theirs.shape:  # equal values: one private copy for both
            self._source = (theirs, self._source[1])
            self._compared = self._row_labels = None

    @property
    def init(self) -> np.ndarray:
        if self._init is None:
            self._init = np.asarray(
                self.loss.fit_intercept_only(self.y, self.w, self.n_outputs), dtype=np.float64
            )
        return self._init

    @property
    def scale(self) -> np.ndarray:
        if self._scale is None:
            self._scale = self.loss.label_scale(self.y, self.w, self.init)
        return self._scale

    @property
    def tiny_scale(self) -> bool:
        """Labels so small (typical residual < 1e-12) that float32 kernels lose them."""
        return bool(np.min(self.scale) < 1e-12)

    def factor(self) -> np.ndarray:
        """Fixed curvature normalisation: 1 / curvature at a typical residual.

        A function of the labels alone (through start and scale), so every
        round and every worker that shares the start and scale agrees on it.
        """
        if not self.loss.normalize_curvature:
            return np.ones(np.shape(self.init))
        return 1.0 / self.loss.typical_curvature(self.init, self.scale)

    def weight_total(self) -> float:
        """Sum of the sample weights (the row count when unweighted)."""
        if self._weight_total is None:
            self._weight_total = float(self.n_rows if self.w is None else np.sum(self.w))
        return self._weight_total

    def buffers(self, shape: tuple, dtype: Any, margin_dtype: Any = np.float32) -> tuple[np.ndarray, np.ndarray]:
        """This thread's next gradient and hessian output arrays: a ring of pairs (``_OUTPUT_RING``)
        handed out in turn, so a call does not write the arrays the framework read in the last
        rounds (on large data, as many as ``_OUTPUT_PAIRS_ABOVE`` gives for ``margin_dtype``)."""
        key = (shape, np.dtype(dtype), np.dtype(margin_dtype))
        local = self._local
        if getattr(local, "key", None) != key:
            local.key = key
            pair_bytes = 2 * int(np.prod(shape)) * np.dtype(dtype).itemsize
            size = _OUTPUT_RING if _OUTPUT_RING * pair_bytes <= _OUTPUT_RING_BYTES \
                else min(_OUTPUT_PAIRS_ABOVE.get(np.dtype(margin_dtype).name, 2), _OUTPUT_RING)
            local.ring = [(np.empty(shape, dtype), np.empty(shape, dtype)) for _ in range(size)]
            local.turn = 0
        local.turn = (local.turn + 1) % len(local.ring)
        return local.ring[local.turn]

    def output_ring(self, g: np.ndarray, h: np.ndarray) -> tuple[list, int]:
        """This thread's output pairs and the index of (g, h) in them, when ``buffers`` handed it
        out last; else (g, h) alone (arrays of one call)."""
        ring, turn = getattr(self._local, "ring", None), getattr(self._local, "turn", 0)
        if ring is None or ring[turn][0] is not g or ring[turn][1] is not h:
            return [(g, h)], 0
        return ring, turn

    def encoded(self, xp: Any, dtype: Any, normalized: bool) -> tuple[Array, Array | None]:
        """(encoded labels, weights x factor) in the margin's namespace and dtype."""
        return self.encoded_labels(xp, dtype), self.encoded_weights(xp, dtype, normalized)

    def encoded_labels(self, xp: Any, dtype: Any) -> Array:
        """The labels as the reference kernels take them (``Loss.encode_labels``), cached per dtype.

        Only the reference kernels read them: the compiled pass reads the
        framework's own labels, so a dataset trained there keeps no copy.
        """
        key = ("labels", id(xp), np.dtype(dtype) if is_numpy(xp) else str(dtype))
        hit = self._encoded.get(key)
        if hit is None:
            y = self.y.astype(dtype) if is_numpy(xp) else xp.asarray(self.y, dtype=dtype)
            hit = self._encoded[key] = self.loss.encode_labels(xp, y, self.n_outputs)
        return hit

    def encoded_weights(self, xp: Any, dtype: Any, normalized: bool) -> Array | None:
        """The weights times the curvature factor (``normalized``) in the margin's namespace and dtype."""
        key = ("weights", id(xp), np.dtype(dtype) if is_numpy(xp) else str(dtype), normalized)
        if key in self._encoded:
            return self._encoded[key]
        w = self.w
        if normalized:
            f = self.factor()
            if w is not None:
                w = w[:, None] * f[None, :] if self.n_outputs > 1 else w * float(f)
            elif np.any(f != 1.0):
                w = f  # unweighted: the factor alone, broadcast (a scalar or one per output)
        if w is not None:
            # positive weights stay positive (and finite) in a narrower dtype
            info = xp.finfo(dtype)
            w = np.where(w > 0, np.clip(w, info.smallest_normal, info.max), 0.0)
            w = w.astype(dtype) if is_numpy(xp) else xp.asarray(w, dtype=dtype)
            if self.n_outputs > 1 and w.ndim == 1 and self.w is not None:
                w = w[:, None]
        self._encoded[key] = w
        return w


class Metric:
    """The loss as an eval metric for every entry point (weighted mean on margins).

    - XGBoost native: ``xgb.train(..., custom_metric=obj.metric)`` with
      ``disable_default_eval_metric=1`` -> ``(name, value)``;
    - LightGBM native: ``lgb.train(..., feval=obj.metric)``
      -> ``(name, value, False)``;
    - XGBoost sklearn: ``eval_metric=obj.metric`` -> value (named by
      ``__name__``);
    - LightGBM sklearn: ``eval_metric=obj.metric`` -> ``(name, value, False)``.

    Lower is better. ``boostobj.sklearn`` estimators set it for you.

    XGBoost prints a custom metric with six decimals and its early stopping
    reads that print, so a loss below 0.01 would lose its digits (all of
    them at labels x1e-5). There the value is reported in units of
    10^-e, named in the metric: ``huber[x1e10]`` is the loss times 1e10.
    ``unit`` fixes e for every dataset (the XGBoost drop-ins set it from
    their training labels, ``for_labels``); by default ``xgb.train`` takes
    it from each dataset's loss at its start, so it stays the same in
    every round. LightGBM keeps the value as it is.

    Examples
    --------
    >>> import numpy as np, boostobj
    >>> y = 1e-5 * np.arange(10.0)
    >>> m = boostobj.huber(1e-5).metric.for_labels(y)
    >>> m.__name__, round(float(m(y, np.zeros(10))), 4)   # the loss times 1e10
    ('huber[x1e10]', 4.05)
    """

    def __init__(self, objective: "Objective", unit: int | None = None):
        self.objective = objective
        self.unit = unit
        self.__name__ = objective.metric_name + _unit_suffix(unit or 0)
        self._start_checked: "weakref.WeakSet[Any]" = weakref.WeakSet()

    def for_labels(self, y: Any, sample_weight: Any = None, n_outputs: int | None = None) -> "Metric":
        """This metric with its XGBoost unit fixed from these (training) labels' loss at the start."""
        state = self.objective._state_for_arrays(y, sample_weight, n_outputs=n_outputs)
        return Metric(self.objective, self.objective._metric_unit(state))

    def __call__(self, a: Any, b: Any, sample_weight: Any = None, group: Any = _UNSET) -> Any:
        obj = self.objective
        name = self.__name__
        if hasattr(b, "get_label"):  # native: (margin, dataset)
            state = obj._state_for_dataset(b, a)
            value = obj._loss_value(state, a)
            if from_lightgbm(b):
                model_io.warn_if_valid_set_lacks_start(b, self._start_checked)
                return name, value, False
            unit = self.unit if self.unit is not None else obj._metric_unit(state)
            return obj.metric_name + _unit_suffix(unit), value * 10.0**unit
        value = obj._loss_value(obj._state_for_arrays(a, sample_weight, b), b)
        if group is not _UNSET:  # LightGBM's sklearn wrapper passes 4 arguments
            return name, value, False
        return value * 10.0 ** (self.unit or 0)  # XGBoost's sklearn wrapper: named by __name__

    def __reduce__(self):
        return (Metric, (self.objective, self.unit))


def _unit_suffix(unit: int) -> str:
    return f"[x1e{unit}]" if unit else ""


class Objective:
    """A boosting objective usable unchanged in XGBoost and LightGBM.

    Create one with the factories (``boostobj.quantile(0.9)`` etc.). Public
    contract:

    - ``grad_hess(y, margin, sample_weight=None)``: exact weighted gradient and
      the weighted boosting curvature, shaped like ``margin``;
    - ``loss(y, margin, sample_weight=None)``: weighted mean loss;
    - ``init_score(y, sample_weight=None)``: loss-optimal constant margin;
    - ``predict(margin)``: margin to target scale (probabilities for binary
      and multi-class losses);
    - ``metric``: the matching eval metric for every entry point;
    - calling the object: the framework objective for all four entry points.

    Examples
    --------
    >>> import numpy as np, xgboost as xgb, boostobj
    >>> X = np.random.default_rng(0).normal(size=(200, 3)); y = 1000 * X[:, 0]
    >>> obj = boostobj.huber(delta=100.0)
    >>> bst = xgb.train({"base_score": obj.init_score(y), "disable_default_eval_metric": 1},
    ...                 xgb.DMatrix(X, y), 20, obj=obj)
    >>> obj.loss(y, bst.predict(xgb.DMatrix(X))) < obj.loss(y, np.full(200, obj.init_score(y)))
    True
    """

    def __init__(self, loss: Loss, factory: str | None = None,
                 start: tuple[Any, Any] | None = None, device: str = "cpu"):
        self.base_loss = loss
        self.factory = factory or loss.name
        self._start = None if start is None else (
            np.asarray(start[0], dtype=np.float64), np.asarray(start[1], dtype=np.float64))
        self.device = normalize_device(device)
        self._reset_caches()

    # ---- identity, pickling ----------------------------------------------
    def _reset_caches(self) -> None:
        self._by_dataset: "weakref.WeakKeyDictionary[Any, _DataState]" = weakref.WeakKeyDictionary()
        # states for arrays (sklearn entry points, init_score, grad_hess): the
        # training set and its eval sets alternate every round, so keep several
        self._arrays: list[_DataState] = []
        self._lock = threading.Lock()
        self._gpu: Any = _UNSET  # the device array module, resolved on first use per process
        self.metric = Metric(self)

    def __deepcopy__(self, memo: dict) -> "Objective":
        # lgb.train and scikit-learn's clone deep-copy the objective on every
        # fit. The caches are checked against the labels on every call and are
        # thread-safe, so the copy shares them: a start solved by
        # obj.init_score(y) is not solved again inside training.
        new = object.__new__(type(self))
        new.__dict__.update(self.__dict__)  # (copy.copy would go through __getstate__)
        new.metric = Metric(new)
        memo[id(self)] = new
        return new

    def __getstate__(self) -> dict:
        return {"base_loss": self.base_loss, "factory": self.factory, "start": self._start,
                "device": self.device}

    def __setstate__(self, state: dict) -> None:
        self.base_loss = state["base_loss"]
        self.factory = state["factory"]
        self._start = state.get("start")
        self.device = state.get("device", "cpu")
        self._reset_caches()

    def with_start(self, init_score: Any, label_scale: Any) -> "Objective":
        """A copy that uses this start margin and label scale on every dataset.

        Distributed training needs it: each worker sees only its partition,
        and the curvature normalisation (a function of start and scale) must
        be the same everywhere. ``boostobj.dask`` computes both globally.

        Examples
        --------
        >>> import numpy as np, boostobj
        >>> obj = boostobj.quantile(0.5)
        >>> y = np.arange(100.0)
        >>> pinned = obj.with_start(obj.init_score(y), obj.label_scale(y))
        >>> a, b = obj.grad_hess(y, np.zeros(100)), pinned.grad_hess(y[:50], np.zeros(50))
        >>> bool(np.array_equal(a[1][:50], b[1]))
        True
        """
        return Objective(self.base_loss, self.factory, (init_score, label_scale), self.device)

    def leaf_refit(self) -> Any:
        """The exact leaf refit for ``xgb.train`` and ``lgb.train``: a callback to pass in ``callbacks``.

        Keep this objective as ``obj=`` (XGBoost) or ``params["objective"]``
        (LightGBM): the callback grows each tree with the refit's growth loss
        and sets every leaf to its rows' exact optimum (the weighted quantile
        of their residuals for ``quantile``), as LightGBM's own quantile
        objective does and as the ``boostobj.sklearn`` drop-ins do by
        default. A new callback per training; ``ValueError`` for a loss
        without an exact refit. See ``boostobj.leaf_refit.RefitCallback``.

        Examples
        --------
        >>> import numpy as np, lightgbm as lgb, boostobj
        >>> rng = np.random.default_rng(0)
        >>> X = rng.normal(size=(300, 2)); y = X[:, 0] + rng.lognormal(size=300)
        >>> obj = boostobj.quantile(0.05)
        >>> train = obj.dataset(X, y)
        >>> m = obj.record(lgb.train({"objective": obj, "verbose": -1}, train, 20,
        ...                          callbacks=[obj.leaf_refit()]), train)
        >>> bool(np.mean(y < m.predict(X)) < 0.1)
        True
        """
        from boostobj.leaf_refit import RefitCallback  # the refit sits above the adapter

        return RefitCallback(self)

    def with_loss(self, loss: Loss) -> "Objective":
        """A copy with another loss and this one's factory name, pinned start and device.

        Examples
        --------
        >>> import boostobj
        >>> from boostobj.losses import Quantile
        >>> boostobj.quantile(0.9).on_device("cuda").with_loss(Quantile(0.9, eps=2.0))
        boostobj.quantile(alpha=0.9, eps=2.0).on_device('cuda')
        """
        return Objective(loss, self.factory, self._start, self.device)

    def on_device(self, device: str) -> "Objective":
        """A copy whose XGBoost gradients are computed on ``device``: "cpu", "cuda" or "cuda:N".

        XGBoost with ``device="cuda"`` hands the objective host NumPy margins
        every round (dmlc/xgboost#10049) but takes CuPy gradients. On "cuda"
        the copy moves the margin to the GPU, computes gradient and curvature
        there with the same kernels (labels and weights are copied once per
        ``DMatrix``; the sklearn-style call keeps only the last label array,
        so alternating datasets copy them again) and returns CuPy arrays. Without CuPy or a visible GPU it
        computes with NumPy and warns once (``DeviceFallbackWarning``).
        LightGBM takes host arrays only: its calls always get NumPy. The
        ``boostobj.sklearn`` XGBoost estimators do this for you when their
        ``device`` is a GPU.

        Examples
        --------
        >>> import xgboost as xgb, boostobj
        >>> obj = boostobj.huber(delta=2.0).on_device("cuda")
        >>> obj
        boostobj.huber(delta=2.0).on_device('cuda')
        >>> # xgb.train({"device": "cuda", "base_score": obj.init_score(y)}, dtrain, obj=obj)
        """
        return Objective(self.base_loss, self.factory, self._start, device)

    def record(self, booster: Any, train_set: Any = None) -> Any:
        """Store this objective in a natively trained booster's model; returns the booster.

        After ``xgb.train`` the record is a booster attribute, kept by
        ``save_model`` (JSON and UBJ). After ``lgb.train`` pass the training
        ``Dataset``: its constant ``init_score`` (the start) is added into the
        first trees, so ``booster.predict`` and saved models include it, and
        ``booster.save_model(path)`` also writes the record to
        ``path + ".boostobj.json"``. Recording twice never adds the start twice.
        ``boostobj.objective_of`` reads it back. The drop-in estimators record
        by themselves.

        Examples
        --------
        >>> import numpy as np, lightgbm as lgb, boostobj
        >>> X = np.random.default_rng(0).normal(size=(200, 2)); y = 100 + 10 * X[:, 0]
        >>> obj = boostobj.huber(5.0)
        >>> ds = obj.dataset(X, y)
        >>> bst = obj.record(lgb.train({"objective": obj, "verbose": -1}, ds, 20), ds)
        >>> bool(abs(bst.predict(X).mean() - 100) < 1)   # the start is in the model now
        True
        >>> boostobj.objective_of(bst) == obj
        True
        """
        return model_io.record(self, booster, train_set)

    def dataset(self, X: Any, y: Any, weight: Any = None, reference: Any = None, **kwargs: Any) -> Any:
        """An ``lgb.Dataset`` that starts where this objective's training starts.

        Without ``reference``: the training set, ``init_score`` =
        ``init_score_array(y, weight)``. With ``reference=train_set``: a
        validation set whose ``init_score`` is the *training* set's start, so
        its scores (and so the metric and early stopping) see the same
        margins as the model. Other keywords go to ``lgb.Dataset``.

        Examples
        --------
        >>> import numpy as np, boostobj
        >>> obj = boostobj.quantile(0.9)
        >>> train = obj.dataset(np.zeros((10, 1)), np.arange(10.0))
        >>> valid = obj.dataset(np.zeros((3, 1)), np.array([50.0, 60.0, 70.0]), reference=train)
        >>> valid.get_init_score().tolist()   # the training start, not the validation labels'
        [8.0, 8.0, 8.0]
        """
        return model_io.dataset(self, X, y, weight, reference, **kwargs)

    def label_scale(self, y: Any, sample_weight: Any = None) -> float | np.ndarray:
        """Typical residual at the start (weighted median of |y - init_score|).

        It sets the curvature normalisation and the quantile curvature guard.
        """
        _check_user_weights(sample_weight)
        scale = self._state_for_arrays(y, sample_weight).scale
        return float(scale) if np.ndim(scale) == 0 else np.array(scale)

    def __repr__(self) -> str:
        params = ", ".join(f"{k}={v!r}" for k, v in self.base_loss._params().items())
        pinned = "" if self._start is None else f".with_start({self._start[0].tolist()!r}, {self._start[1].tolist()!r})"
        on = "" if self.device == "cpu" else f".on_device({self.device!r})"
        return f"{qualified_name(self.factory)}({params}){pinned}{on}"

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Objective) and repr(self) == repr(other)

    def __hash__(self) -> int:
        return hash(repr(self))

    @property
    def name(self) -> str:
        """Short loss name."""
        return self.base_loss.name

    @property
    def metric_name(self) -> str:
        """Name under which the eval metric reports."""
        p = self.base_loss._params()
        if self.base_loss.name == "quantile":
            return f"quantile@{p['alpha']}" if np.ndim(p["alpha"]) == 0 else "multi_quantile"
        return self.base_loss.name

    @property
    def task(self) -> str:
        """"regression", "binary" or "multiclass" (for a softmax model)."""
        return self.base_loss.task

    # ---- data state ---------------------------------------------------------
    def _state_for_dataset(self, data: Any, margin: Any, labels_weights: tuple | None = None) -> _DataState:
        # read labels and weights every call: set_label / set_weight change them
        y, w = _labels_and_weights(data) if labels_weights is None else labels_weights
        with self._lock:
            state = self._by_dataset.get(data)
        if state is None or not state.matches(y, w):
            _refuse_ignored_params(getattr(data, "params", None))
            state = self._new_state(y, w, _n_outputs(margin))
            with self._lock:
                self._by_dataset[data] = state
        self._check_margin(state, margin)
        return state

    def _state_for_call(self, data: Any, margin: Any) -> tuple[_DataState, np.ndarray | None]:
        """``_state_for_dataset`` for a framework call, which may leave comparing the labels to the kernel.

        Returns (state, labels): the labels, when not None, are still to be
        compared with the state's (``_numpy_grad_hess`` does it in its
        compiled pass over the rows, which reads them anyway, instead of a
        separate pass here).
        """
        y, w = _labels_and_weights(data)
        with self._lock:
            state = self._by_dataset.get(data)
        if state is not None and state.could_match(y, w):
            self._check_margin(state, margin)
            return state, np.asarray(y)
        return self._state_for_dataset(data, margin, (y, w)), None

    def _state_for_arrays(self, y: Any, w: Any, margin: Any = None, n_outputs: int | None = None) -> _DataState:
        n_out = n_outputs if margin is None else _n_outputs(margin)
        with self._lock:
            for i, state in enumerate(self._arrays):
                if (n_out is None or n_out == state.n_outputs) and state.matches(y, w):
                    if i:
                        self._arrays.insert(0, self._arrays.pop(i))
                    break
            else:
                state = None
        if state is None:
            state = self._new_state(y, w, n_out)
            with self._lock:
                self._arrays.insert(0, state)
                del self._arrays[_ARRAY_STATES:]
        if margin is not None:
            self._check_margin(state, margin)
        return state

    def _new_state(self, y: Any, w: Any, n_outputs: int | None) -> _DataState:
        state = _DataState(self.base_loss, y, w, n_outputs, self._start)
        with self._lock:
            others = [*self._arrays, *self._by_dataset.values()]
        for other in others:
            state.adopt(other)
        return state

    def _check_margin(self, state: _DataState, margin: Any) -> None:
        shape = tuple(margin.shape)
        n = state.n_rows
        if shape[0] != n:
            raise ValueError(f"margin has {shape[0]} rows but y has {n}")
        if _n_outputs(margin) != state.n_outputs:
            raise ValueError(
                f"{self!r} was set up for {state.n_outputs} output column(s) on this data, "
                f"got a margin of shape {shape}"
            )

    # ---- the framework objective -------------------------------------------
    def __call__(self, a: Any, b: Any, sample_weight: Any = None, group: Any = _UNSET) -> tuple[Array, Array]:
        """Framework entry point: (margin, dataset) natively, (y, margin, ...) in sklearn.

        Returns the weighted gradient and curvature times the dataset's fixed
        normalisation factor, as float32 (what both frameworks train on). The
        arrays are this dataset's buffers for the calling thread, reused a
        few calls later by that thread's calls on the same dataset: the
        frameworks use them at once; copy them yourself to keep them, or use
        ``grad_hess``.
        """
        if hasattr(b, "get_label"):
            a = _as_margin(a)
            margin, (state, y_now) = a, self._state_for_call(b, a)
            host_only = from_lightgbm(b)
            try:
                return self._framework_call(state, margin, host_only, y_now)
            except _StaleLabels:  # set_label since the last call: a new state
                return self._framework_call(self._state_for_dataset(b, a), margin, host_only, None)
        b = _as_margin(b)
        margin, state = b, self._state_for_arrays(a, sample_weight, b)
        host_only = group is not _UNSET  # LightGBM's sklearn wrapper passes 4 arguments
        return self._framework_call(state, margin, host_only, None)

    def _framework_call(self, state: _DataState, margin: Any, host_only: bool,
                        y_now: np.ndarray | None) -> tuple[Array, Array]:
        if not state.warned and y_now is None:
            self._warn_once(state, margin, host_only)
        plan = state.plan()
        if plan is not None and plan.fits(margin, y_now) and (self.device == "cpu" or host_only
                                                            or self._gpu is None):
            # every round after the first: the compiled pass with what it fixed then
            g, h = plan.next_outputs()
            if plan.run(plan.labels(y_now), plan.flat(margin)):
                raise _StaleLabels
            return g, h
        if self.device != "cpu" and not host_only:
            if self._gpu is _UNSET:
                self._gpu = gradient_namespace(self.device)
            if self._gpu is not None:
                with self._gpu.cuda.Device(cuda_ordinal(self.device)):
                    g, h = self._boosting_grad_hess(state, self._gpu.asarray(margin), normalized=True,
                                                    y_now=y_now)
                    return self._per_round(state, g, h, host_only)
        sums: list = []  # the NumPy path sums h block by block, while each block is in cache
        g, h = self._boosting_grad_hess(state, margin, normalized=True, sums=sums, y_now=y_now)
        plan = state.plan()
        if (plan is not None and plan.shape is None and type(margin) is np.ndarray
                and margin.dtype in (np.float32, np.float64) and margin.flags.c_contiguous):
            plan.bind(margin, y_now)  # built by this call: later rounds with this layout reuse it
        if not state.warned:  # the labels are checked now: the state is this dataset's
            self._warn_once(state, margin, host_only)
        if plan is not None:  # the compiled rounds read the framework's labels, or the state's copy
            state.release_labels()
        return self._per_round(state, g, h, host_only, sums)

    def _per_round(self, state: _DataState, g: Array, h: Array, lightgbm: bool,
                   block_sums: list | None = None) -> tuple[Array, Array]:
        """Scale g and h (in place) so the weighted mean curvature per row is 1, per output.

        Only for losses with ``normalize_per_round``. The Newton step is
        unchanged. Distributed: under ``xgboost.dask`` the two sums are
        reduced across workers (``xgboost.collective``); LightGBM's workers
        cannot share them from Python, so a pinned objective (``with_start``,
        as ``boostobj.dask`` builds) keeps the fixed normalisation there.
        """
        if not self.base_loss.normalize_per_round or (lightgbm and self._start is not None):
            return g, h
        if block_sums and block_sums[0] is _SCALED:  # the compiled pass applied the factor
            return g, h
        if block_sums and h.ndim == 1 and self._start is None:
            # the common case in Python floats, cheaper per call than the general path
            k = _round_factor(state.weight_total(), math.fsum(float(b) for b in block_sums))
            if k is not None:
                with np.errstate(over="ignore"):
                    g *= k
                    h *= k
                if k > 1:  # saturate, not overflow (see _numpy_grad_hess)
                    _clip_finite(g, h)
            return g, h
        xp = namespace(h)
        if block_sums:
            sums = np.sum(np.asarray(block_sums, dtype=np.float64), axis=0)
        else:
            sums = xp.sum(h, axis=0) if h.ndim == 2 else xp.sum(h)
        sums = np.array([*np.atleast_1d(np.asarray(sums.get() if hasattr(sums, "get") else sums,
                                                   dtype=np.float64)), state.weight_total()])
        if self._start is not None:
            sums = _allreduce_if_distributed(sums)
        with np.errstate(divide="ignore", over="ignore"):
            k = sums[-1] / sums[:-1]
        if not np.all((k >= _ROUND_FACTOR_RANGE[0]) & (k <= _ROUND_FACTOR_RANGE[1])):
            return g, h  # degenerate margins or weights: keep the fixed normalisation (no overflow)
        # a Python float keeps h's dtype (NumPy and the Array API treat it as weak)
        k = float(k[0]) if h.ndim == 1 else xp.asarray(k, dtype=h.dtype)
        with np.errstate(over="ignore"):  # saturated by the clip
            g *= k
            h *= k
        _clip_finite(g, h)
        return g, h

    def _boosting_grad_hess(self, state: _DataState, margin: Any, normalized: bool,
                            sums: list | None = None, y_now: np.ndarray | None = None):
        xp = namespace(margin)
        m = margin if not is_numpy(xp) else np.asarray(margin)
        if is_numpy(xp) and m.dtype not in (np.float32, np.float64):
            m = m.astype(np.float64)
        shape = m.shape
        m = _flat(m)
        if is_numpy(xp):
            return self._numpy_grad_hess(state, m, shape, reuse=normalized, sums=sums, y_now=y_now)
        if y_now is not None and not state.matches_labels(y_now):
            raise _StaleLabels
        t, w = state.encoded(xp, m.dtype, normalized)
        g, h = self.base_loss.grad_curvature(xp, t, m, state.scale)
        g = xp.clip(g, -float(xp.finfo(g.dtype).max), float(xp.finfo(g.dtype).max))
        if w is not None:
            g = g * w
            h = h * w
        _clip_finite(g, h)
        return xp.reshape(g, shape), xp.reshape(h, shape)

    def _numpy_grad_hess(self, state: _DataState, m: np.ndarray, shape: tuple,
                         reuse: bool, sums: list | None = None,
                         y_now: np.ndarray | None = None) -> tuple[np.ndarray, np.ndarray]:
        """The kernel over row blocks that fit in cache, written into the outputs.

        Where the result is float32 (the frameworks' dtype: ``reuse``, or a
        float32 margin) and the loss has a compiled row, one compiled pass
        writes the outputs (``_compiled_grad_hess``); otherwise each block
        runs the reference kernel in float32 (``_reference_block``), blocks
        small enough that every pass stays in the core's cache. Float64
        margins (LightGBM's) are used as ``Loss.float64_margin`` allows. For the frameworks the float32
        outputs are reused across rounds (one pair per thread): they copy
        gradients in at once. Float64 results (``grad_hess`` on float64
        margins) run the reference kernel per block. With ``sums`` (a list,
        for ``normalize_per_round`` losses) each block's curvature sum is
        appended while the block is still in cache. With ``y_now`` (the
        dataset's current labels, whose comparison with the state's
        ``_state_for_dataset`` left to this call) it raises ``_StaleLabels``
        when they are not the state's labels; the compiled pass compares them
        while it reads the rows anyway.
        """
        n = m.shape[0]
        dtype = np.float32 if reuse else m.dtype
        loss = self.base_loss
        mode = loss.float64_margin if m.dtype == np.float64 else "exact"
        if mode != "exact" and state.tiny_scale:
            mode = "exact"  # float32 guards (sqrt of its tiny) would bend curvatures this small
        fast = dtype == np.float32 and (m.dtype == np.float32 or mode != "exact")
        w = state.encoded_weights(np, np.float32 if fast else m.dtype, reuse)
        if reuse:
            g_out, h_out = state.buffers(m.shape, dtype, m.dtype)
        else:
            g_out, h_out = np.empty(m.shape, dtype), np.empty(m.shape, dtype)
        kernel, scale = loss.grad_curvature, state.scale
        per_row = w is not None and state.w is not None  # else a broadcast factor (or nothing)
        compiled = fast and m.ndim == 1 and loss.compiled_row is not None and _compiled.available()
        params = loss.row_params(scale) if compiled else None
        if params is not None:
            self._compiled_grad_hess(state, m, w if per_row else None,
                                     1.0 if w is None or per_row else float(np.ravel(w)[0]),
                                     params, g_out, h_out, y_now, sums)
            return g_out.reshape(shape), h_out.reshape(shape)
        if y_now is not None and not state.matches_labels(y_now):
            raise _StaleLabels
        # the residual is formed in the margin's precision (float64_margin "residual")
        t = state.encoded_labels(np, m.dtype if not fast or mode == "residual" else np.float32)
        floor, top = np.finfo(dtype).smallest_normal, np.finfo(dtype).max
        step = max(1, _BLOCK_ROWS // (m.shape[1] if m.ndim == 2 else 1))
        want_sums = sums is not None and loss.normalize_per_round

        def block(index: int, rows: slice) -> None:
            # margins and weights near the dtype's largest overflow: the clips below saturate
            with np.errstate(over="ignore"):
                _block(index, rows)

        def _block(index: int, rows: slice) -> None:
            g, h = g_out[rows], h_out[rows]
            if fast:
                _reference_block(loss, mode, t[rows], m[rows], scale, g, h)
                # a residual or margin beyond float32's range overflows a gradient: its largest
                # value instead, before a weight of 0 could make inf a NaN
                np.clip(g, -top, top, out=g)
                if w is not None:
                    wr = w[rows] if per_row else w
                    np.multiply(g, wr, out=g)
                    np.multiply(h, wr, out=h)
            else:
                gg, hh = kernel(np, t[rows], m[rows], scale)
                gg = np.clip(gg, -top, top)
                if w is None:
                    g[...], h[...] = gg, hh
                else:
                    wr = w[rows] if per_row else w
                    np.multiply(gg, wr, out=g, casting="same_kind")
                    np.multiply(hh, wr, out=h, casting="same_kind")
            if w is not None or not fast:
                # weights can overflow either output, and a curvature can underflow in a
                # narrower output (the kernels' own are >= CURVATURE_FLOOR); clip is
                # vectorised, maximum with a scalar is not
                np.clip(g, -top, top, out=g)
                np.clip(h, floor, top, out=h)
            if want_sums:
                sums[index] = np.sum(h, axis=0)  # float32 pairwise: half the time of a float64 sum

        blocks = [slice(start, start + step) for start in range(0, n, step)]
        if want_sums:  # one slot per block: the total is summed in a fixed order
            sums[:] = [None] * len(blocks)
        if len(blocks) > 1 and _POOL_THREADS > 1:
            # NumPy ufuncs release the GIL, so blocks can run on several cores
            list(_pool().map(block, range(len(blocks)), blocks))
        else:
            for index, rows in enumerate(blocks):
                block(index, rows)
        return g_out.reshape(shape), h_out.reshape(shape)

    def _compiled_grad_hess(self, state: _DataState, m: np.ndarray, w: np.ndarray | None,
                            wk: float, params: tuple, g: np.ndarray, h: np.ndarray,
                            y_now: np.ndarray | None, sums: list | None) -> None:
        """``_numpy_grad_hess`` in one compiled pass over the rows (``boostobj._compiled``).

        The rows read the labels as the framework holds them (``y_now``,
        float32 in both frameworks) and compare them with the state's copy in
        the same pass; for ``normalize_per_round`` losses the round's factor
        is applied in that pass too, from a first pass that reads only
        labels and margins to sum the curvature, or, for rows of the residual
        (quantile's), the curvature is summed as the rows are written and
        they are scaled in place after (``RowPass.run_summed``). What stays
        fixed between rounds is kept as this thread's ``_RoundPlan`` for the
        dataset.
        """
        loss = self.base_loss
        if y_now is None:
            y = y_was = state.row_labels()
        else:
            # bytes for a memory-bound row; for one bound by arithmetic (focal) the conversion
            # from bytes cost more than the bytes saved (benchmarks/results/speed/speed_inprocess_compared_labels.md)
            y, y_was = y_now, state.source_labels() if loss.compiled_row_blocks else state.compared_labels()
        rows = _compiled.RowPass(loss.compiled_row, loss.float64_margin == "residual", w, wk, params,
                                 y_was, g, h, loss.compiled_row_blocks)
        per_round = sums is not None and loss.normalize_per_round
        if per_round and self._start is not None:
            # distributed: no block sums, _per_round sums h and reduces them across workers
            if rows.run(y, m):
                raise _StaleLabels
            return
        plan = _RoundPlan(rows, y_now is None, state.weight_total() if per_round else None,
                          *state.output_ring(g, h),
                          sums_in_pass=rows.residual)
        if plan.run(y, m):
            raise _StaleLabels
        if sums is not None:
            sums[:] = [_SCALED]
        state.set_plan(plan)

    def _metric_unit(self, state: _DataState) -> int:
        """e with the loss at the start times 10^e in [1, 10) where that loss is below 0.01, else 0."""
        unit = getattr(state, "metric_unit", None)
        if unit is None:
            t, m, w = self._start_sample(state)  # its order of magnitude is all the unit needs
            per = self.base_loss.point_loss(np, t, m, state.scale)
            with np.errstate(over="ignore"):
                at_start = float(np.average(np.sum(per, axis=1) if per.ndim == 2 else per, weights=w))
            unit = int(-math.floor(math.log10(at_start))) if 0 < at_start < 1e-2 else 0
            state.metric_unit = unit
        return unit

    def _start_sample(self, state: _DataState) -> tuple[np.ndarray, np.ndarray, np.ndarray | None]:
        """(encoded labels, start margins, weights) of every k-th row, at most ``_STALL_ROWS`` of them.

        For the one-off checks at a dataset's first call: no full-length copy is made or kept.
        """
        rows = slice(None, None, max(1, state.n_rows // _STALL_ROWS))
        y = state.y[rows]
        init = np.ascontiguousarray(np.broadcast_to(state.init, (len(y),) + np.shape(state.init)))
        return (self.base_loss.encode_labels(np, y, state.n_outputs), _flat(init),
                None if state.w is None else state.w[rows])

    def _warn_once(self, state: _DataState, margin: Any, lightgbm: bool) -> None:
        """The first framework call on a dataset: a far start, or a setting that cannot move the model."""
        state.warned = True
        self._warn_if_bad_start(state, margin)
        self._warn_if_stalled(state, lightgbm)

    def _warn_if_stalled(self, state: _DataState, lightgbm: bool) -> None:
        """Warn once per dataset where a valid setting cannot move the model from its start.

        The loss's own reason first (a level beyond the sample's resolution),
        then two read off the (gradient, curvature) the framework gets at the
        start, on up to ``_STALL_ROWS`` rows: Newton steps below 1e-6 of the
        typical residual (curvature at its floor), or a total curvature below
        what the framework's default leaf-size control needs for a split.
        """
        loss = self.base_loss
        reason = loss.stall_reason(state.y, state.w)
        if reason is None and loss.task != "regression" and np.all(state.y == state.y[0]):
            return  # one class: the start is the whole answer, nothing to move towards
        if reason is None:
            n = state.n_rows
            t, m, w = self._start_sample(state)
            with np.errstate(over="ignore", under="ignore"):
                g, h = loss.grad_curvature(np, t, m, state.scale)
                # as the framework gets them: times the weights and the fixed normalisation
                wr = np.ones(len(m)) if w is None else w
                wr = (wr[:, None] if g.ndim == 2 else wr) * state.factor()
                g, h = g * wr, h * wr
            h = np.maximum(h, 1e-300)
            # rows with a gradient: a row sitting at a kink (the hinge's) has none and its own curvature
            steps = np.where(g != 0, np.abs(g) / h, np.nan)
            with warnings.catch_warnings():
                warnings.simplefilter("ignore", RuntimeWarning)  # an output without any gradient
                typical = np.nan_to_num(np.nanmedian(steps, axis=0), nan=np.inf)
            reference = state.scale if loss.task == "regression" else 1.0
            total = np.sum(h, axis=0) * (n / len(m))
            if loss.normalize_per_round:  # the framework paths rescale it to one per unit of weight
                total = np.full(np.shape(total), state.weight_total())
            need, setting = (2e-3, "min_sum_hessian_in_leaf=1e-3 (LightGBM's default)") if lightgbm else \
                (2.0, "min_child_weight=1 (XGBoost's default)")
            # only where the curvature depends on the label scale, which a parameter can push to
            # the floor (a classification loss's tiny steps far from the fit are its saturation,
            # which the curvature total below judges; a refit growth's steps are not the leaves)
            if loss.normalize_curvature and np.any(typical < 1e-6 * np.asarray(reference)):
                reason = (f"its Newton steps at the start are {float(np.min(typical)):.3g}, below 1e-6 of the "
                          f"labels' typical residual ({float(np.min(reference)):.3g}): the curvature is at its "
                          f"floor ({loss!r} is far outside its useful range for these labels)")
            elif np.any(total < need):
                reason = (f"its curvature at the start sums to {float(np.min(total)):.3g} over all {n} rows, "
                          f"too little for any split under {setting}: lower that setting "
                          "(min_child_weight / min_sum_hessian_in_leaf), or use more data")
        if reason is not None:
            warnings.warn(f"{self!r} cannot move the model from its start on this data: {reason}",
                          StalledFitWarning, stacklevel=4)

    def _warn_if_bad_start(self, state: _DataState, margin: Any) -> None:
        m = np.asarray(margin)
        first = m[0]
        if not np.all(m == first):
            return  # not a constant start: continued training or a custom offset
        init = np.broadcast_to(state.init, np.shape(first))
        tol = 1e-3 * np.maximum(np.broadcast_to(state.scale, np.shape(first)), 1e-12)
        if self.base_loss.task != "regression":
            tol = 1e-3 + 1e-4 * np.abs(init)
        first = np.asarray(first, dtype=np.float64)  # rounding float32's largest overflows
        if np.any(np.abs(first - init) > tol):
            warnings.warn(
                f"{self!r}: training starts from the constant margin {_rounded(first)}, "
                f"not the loss-optimal {_rounded(init)}. Pass "
                "base_score=obj.init_score(y) (XGBoost) or Dataset(init_score=obj.init_score_array(y)) "
                "(LightGBM), or use the boostobj.sklearn estimators, which do it for you.",
                StartValueWarning,
                stacklevel=3,
            )

    # ---- framework-free contract ---------------------------------------------
    def grad_hess(self, y: Any, margin: Any, sample_weight: Any = None) -> tuple[Array, Array]:
        """Exact weighted gradient and weighted curvature of the loss at ``margin``.

        Examples
        --------
        >>> import numpy as np, boostobj
        >>> g, h = boostobj.log_cosh().grad_hess(np.array([0.0, 5.0]), np.zeros(2))
        >>> np.round(g, 4).tolist(), np.round(h, 4).tolist()  # h: tanh(a)/a, a = max(|r|, guard)
        ([-0.0, -0.9999], [0.6786, 0.2])
        """
        _check_user_weights(sample_weight)
        margin = _as_margin(margin)
        state = self._state_for_arrays(y, sample_weight, margin)
        return self._boosting_grad_hess(state, margin, normalized=False)

    def loss(self, y: Any, margin: Any, sample_weight: Any = None) -> float:
        """Weighted mean loss (for K quantiles: the sum of the K pinball losses).

        Examples
        --------
        >>> import numpy as np, boostobj
        >>> boostobj.quantile(0.5).loss(np.array([1.0, -1.0]), np.zeros(2))
        0.5
        """
        _check_user_weights(sample_weight)
        margin = _as_margin(margin)
        state = self._state_for_arrays(y, sample_weight, margin)
        return self._loss_value(state, margin)

    def _loss_value(self, state: _DataState, margin: Any) -> float:
        xp = namespace(margin)
        m = _flat(np.asarray(margin, dtype=np.float64) if is_numpy(xp) else xp.astype(margin, xp.float64))
        t = state.encoded_labels(xp, m.dtype)
        per = self.base_loss.point_loss(xp, t, m, state.scale)
        if per.ndim == 2:
            per = xp.sum(per, axis=1)
        per = np.asarray(per.get() if hasattr(per, "get") else per, dtype=np.float64)
        with np.errstate(over="ignore"):  # losses near float64's largest: the mean saturates
            value = float(np.average(per, weights=state.w))
        top = float(np.finfo(np.float64).max)
        return min(max(value, -top), top) if not math.isnan(value) else value

    def init_score(self, y: Any, sample_weight: Any = None, n_outputs: int | None = None) -> float | np.ndarray:
        """The loss-optimal constant margin: a float, or an array of K starts.

        ``n_outputs`` is the number of margin columns of the model; by default
        the loss decides (K alphas for multi-quantile; for focal, K classes
        when the labels hold more than two).

        Examples
        --------
        >>> import numpy as np, boostobj
        >>> round(boostobj.exponential().init_score(np.array([1, 1, 1, 0])), 6)  # log-odds
        1.098612
        """
        _check_user_weights(sample_weight)
        init = self._started(self._state_for_arrays(y, sample_weight, n_outputs=n_outputs))
        return float(init) if init.ndim == 0 else init.copy()

    def init_score_array(self, y: Any, sample_weight: Any = None, n_outputs: int | None = None) -> np.ndarray:
        """Per-row start margins for ``lgb.Dataset(init_score=...)``: (n,) or (n, K)."""
        _check_user_weights(sample_weight)
        state = self._state_for_arrays(y, sample_weight, n_outputs=n_outputs)
        init = self._started(state)
        shape = (state.n_rows,) + np.shape(init)
        return np.broadcast_to(init, shape).copy()

    @staticmethod
    def _started(state: _DataState) -> np.ndarray:
        """The state's start; its float64 labels dropped once it is solved: the training that follows
        reads the framework's copy (``y`` builds them again where asked)."""
        init = state.init
        state.release_labels()
        return init

    def n_outputs(self, y: Any = None) -> int:
        """Margin columns the model needs (1 = a 1-D margin)."""
        return self.base_loss.n_outputs(None if y is None else _as_float_1d("y", y))

    def predict(self, margin: Any) -> Array:
        """Margin to target scale: identity (sorted for K quantiles), or probabilities.

        Examples
        --------
        >>> import numpy as np, boostobj
        >>> boostobj.focal().predict(np.array([0.0])).tolist()
        [0.5]
        """
        margin = _as_margin(margin)
        k = _n_outputs(margin)
        xp = namespace(margin)
        m = _flat(margin if not is_numpy(xp) else np.asarray(margin))
        return self.base_loss.predict_link(k).inverse(m)


# Per-round factors outside this range (margins 1e6 label scales off, weights
# spanning many decades) could overflow float32 or underflow a curvature to 0.
_ROUND_FACTOR_RANGE = (1e-6, 1e6)


def _reference_block(loss: Loss, mode: str, t: np.ndarray, m: np.ndarray, scale: Any,
                     g: np.ndarray, h: np.ndarray) -> None:
    """Write one block's (gradient, curvature) from the reference kernel into the float32 ``g``, ``h``.

    ``mode`` is ``Loss.float64_margin`` for a float64 margin ("exact" for a
    float32 one): "residual" runs the kernel in float32 on ``(t - m, 0)``,
    the residual formed in the margin's precision; "float32" on the margin
    rounded (and clipped) into float32's range.
    """
    if mode == "residual" and m.dtype != np.float32:
        gg, hh = loss.grad_curvature(np, (t - m).astype(np.float32), np.float32(0.0), scale)
    else:
        if m.dtype != np.float32:  # a float64 margin beyond float32's range is its largest, not inf
            m = np.clip(m, -_F32_MAX, _F32_MAX).astype(np.float32)
        gg, hh = loss.grad_curvature(np, t, m, scale)
    np.copyto(g, gg, casting="same_kind")
    np.copyto(h, hh, casting="same_kind")


def _rounded(a: Any) -> Any:
    """Values for a message: 4 decimals, or 5 significant digits where that would overflow."""
    with np.errstate(over="ignore", invalid="ignore"):
        r = np.round(np.asarray(a, dtype=np.float64), 4)
    out = np.where(np.isfinite(r), r, np.asarray(a, dtype=np.float64))
    return [float(f"{v:.5g}") if abs(v) >= 1e12 else float(v) for v in np.ravel(out)] \
        if out.ndim else (float(f"{out:.5g}") if abs(out) >= 1e12 else float(out))


def _clip_finite(g: Array, h: Array) -> None:
    """Clip gradient and curvature in place to their dtype's finite range (curvature > 0)."""
    xp = namespace(g)
    info = xp.finfo(g.dtype)
    top = float(info.max)
    if is_numpy(xp):
        np.clip(g, -top, top, out=g)
        np.clip(h, float(info.smallest_normal), top, out=h)
    else:
        g[...] = xp.clip(g, -top, top)
        h[...] = xp.clip(h, float(info.smallest_normal), top)


def _round_factor(weight_total: float, curvature_total: float) -> float | None:
    """The per-round factor that makes the mean curvature per unit weight 1; None: keep the fixed one."""
    k = weight_total / curvature_total if curvature_total > 0 else math.inf
    return k if _ROUND_FACTOR_RANGE[0] <= k <= _ROUND_FACTOR_RANGE[1] else None


def _allreduce_if_distributed(sums: np.ndarray) -> np.ndarray:
    """Sum over the workers inside ``xgboost.dask`` training; the local sums elsewhere."""
    try:
        from xgboost import collective
    except ImportError:  # pragma: no cover - xgboost is a dependency
        return sums
    if not collective.is_distributed():
        return sums
    return np.asarray(collective.allreduce(sums, collective.Op.SUM), dtype=np.float64)


def _n_outputs(margin: Any) -> int:
    """Margin columns; a ValueError for margins that are not (n,) or (n, K) real arrays."""
    shape = tuple(margin.shape)
    if len(shape) not in (1, 2):
        raise ValueError(f"margin must be 1-D (n,) or 2-D (n, K), got shape {shape}")
    kind = getattr(margin.dtype, "kind", None)  # NumPy / CuPy dtypes; Array API ones lack it
    if kind is None:
        xp = namespace(margin)
        real = xp.isdtype(margin.dtype, ("real floating", "integral"))
    else:
        real = kind in "iuf"
    if not real:  # complex would silently lose its imaginary part; bool has no arithmetic
        raise ValueError(f"margin must be real numbers, got dtype {margin.dtype}")
    return shape[1] if len(shape) == 2 else 1


def _as_margin(margin: Any) -> Any:
    """Arrays of any namespace pass; lists, tuples and scalars become NumPy arrays."""
    if hasattr(margin, "shape") and hasattr(margin, "dtype"):
        return margin
    try:
        return np.asarray(margin)
    except (TypeError, ValueError) as e:  # ragged lists and the like
        raise ValueError(f"margin must be an array of real numbers (n,) or (n, K): {e}") from None


def _flat(m: Any) -> Any:
    """An (n, 1) margin is a single output: work on it as (n,)."""
    return m[:, 0] if m.ndim == 2 and m.shape[1] == 1 else m


def _snapshot(a: Any) -> np.ndarray | None:
    """A private copy of labels or weights (None for XGBoost's empty "no weights")."""
    if a is None:
        return None
    a = np.array(a, copy=True)
    return None if a.size == 0 else a


def _equal(ref: np.ndarray | None, b: Any) -> bool:
    """``b`` holds exactly the values of the snapshot ``ref`` (same dtype and shape)."""
    if ref is not None and ref.size == 0:
        ref = None
    if b is None or ref is None:
        return ref is None and (b is None or np.size(b) == 0)
    b = np.asarray(b)
    if b.dtype != ref.dtype or b.shape != ref.shape:
        return False
    # a few rows first: an eval set of the training set's length fails here cheaply
    return bool(np.array_equal(ref[:8], b[:8]) and np.array_equal(ref, b))

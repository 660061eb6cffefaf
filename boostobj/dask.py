"""Distributed training: one global start value and label scale for every worker.

On a Dask cluster each worker calls the objective on its own partition. The
objective's start value and its curvature normalisation (a function of the
start and the label scale) must then come from the *whole* data set:
per-partition statistics would give each partition its own factor and so
silently reweight the partitions against each other. ``global_start``
computes both over the cluster and returns them with a pinned objective
(``obj.with_start(init, scale)``) that every worker uses unchanged.

How exact the global start is:

- squared error: the weighted mean, exact;
- binary and multi-class losses (exponential, focal): the weighted label
  counts are gathered (a handful of numbers) and the single-machine solver
  runs on them: the same answer, up to that solver's own tolerance (1e-12 for
  the binary root, about 1e-9 for the multi-class L-BFGS);
- quantile (and the label scale, a weighted median of ``|y - init|``): an
  exact distributed selection. Each round reads the data twice (local
  quantiles as pivots, then the global weight at or below each pivot) and
  narrows the bracket around the answer, until at most ``gather_limit`` rows
  are left, which are gathered and finished like ``np.quantile(...,
  method="inverted_cdf")``. Rounds: about log(n / gather_limit) / log(1024);
  none at all when n <= gather_limit.
- Huber, log-cosh (M-estimates, the root of the weighted mean gradient): a
  bracketed multi-section on the mean gradient, 17 to 32 points per pass
  over the data (15 uniform points plus a cluster around the secant root),
  until the bracket is at most ``1e-12 * (max(y) - min(y))`` wide, the
  tolerance of the single-machine Brent solve. Bound:
  ``|init - exact| <= 1e-12 * (max(y) - min(y))``; typically 3 to 5 passes.
  Where the mean gradient is 0 on a whole stretch (Huber with a gap wider
  than 2 delta in the labels at the centre) every point of it is an
  M-estimate, and the two solvers may return different ones.

Every pass is one ``dask.compute`` of a few numbers per block: persist the
label (and weight) arrays first (``y = y.persist()``) so the passes do not
re-read the source.

How to pass the start to each framework:

- XGBoost: ``params["base_score"] = start.base_score`` (margin units, a list
  for K outputs) and ``obj=start.objective`` in ``xgboost.dask.train`` or
  ``DaskXGBRegressor``. (``DaskXGBClassifier`` trains under
  ``binary:logistic``, whose ``base_score`` is a probability:
  ``1 / (1 + exp(-start.init))``.)
- LightGBM (``lightgbm.dask``): ``fit(..., init_score=start.init_score(y))``,
  then ``start.bake(model)`` adds the start into the first trees, so
  ``model.predict(X, raw_score=True)`` (and saved models) include it, as
  ``boostobj.sklearn`` does on one machine. (Without baking, add
  ``start.init`` to the raw scores yourself.)

LightGBM's ``DaskLGBMClassifier`` label-encodes each worker's partition on
its own (each worker fits a local ``LGBMClassifier``): a worker whose
partition holds only class 1 encodes it as 0 (see also
lightgbm-org/LightGBM#2419). With labels already 0/1 (or 0..K-1 with
``num_class=K``) and partitions that may miss a class, use
``DaskLGBMRegressor`` with the boostobj classification objective and
``start.objective.predict`` for probabilities.

Examples
--------
>>> import numpy as np, dask.array as da, boostobj
>>> from boostobj.dask import global_start
>>> y = da.from_array(np.arange(1000.0), chunks=250)          # 4 partitions, sorted
>>> start = global_start(boostobj.quantile(0.9), y)  # threaded scheduler, no cluster
>>> float(start.init) == boostobj.quantile(0.9).init_score(np.arange(1000.0))
True
>>> start.objective
boostobj.quantile(alpha=0.9).with_start(899.0, 399.0)
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any, Callable

import numpy as np

from boostobj.losses import Loss, abs_residuals, first_positive
from boostobj.objective import Objective

__all__ = ["DaskStart", "global_start", "init_score"]

#: Rows left in the bracket at which the quantile selection gathers them.
GATHER_LIMIT = 1 << 16
_PIVOTS_PER_BLOCK = 64
_MAX_CANDIDATES = 1024
_UNIFORM_POINTS = 15


def _dask():
    try:
        import dask
        import dask.array as da
    except ImportError as exc:  # pragma: no cover - dask is an optional extra
        raise ImportError("boostobj.dask needs dask: the dask extra, pip install \".[dask]\" from a checkout") from exc
    return dask, da


# ---- inputs -------------------------------------------------------------------
def _as_dask_vector(name: str, a: Any) -> Any:
    """A 1-D dask array with known chunk sizes from a dask/NumPy vector or column."""
    _, da = _dask()
    if hasattr(a, "to_dask_array"):  # dask DataFrame / Series
        a = a.to_dask_array(lengths=True)
    elif not isinstance(a, da.Array):
        a = da.from_array(np.asarray(a), chunks=-1)
    if a.ndim == 2 and a.shape[1] == 1:
        a = a[:, 0]
    if a.ndim != 1:
        raise ValueError(f"{name} must be 1-D (one value per row), got shape {a.shape}")
    if any(math.isnan(c) for c in a.chunks[0]):
        a = a.compute_chunk_sizes()
    if not (np.issubdtype(a.dtype, np.number) or a.dtype == bool):
        raise ValueError(f"{name} must be numeric, got dtype {a.dtype}")
    return a


def _blocks(y: Any, w: Any) -> list[tuple[Any, Any]]:
    y = _as_dask_vector("y", y)
    if w is None:
        return [(b, None) for b in y.to_delayed().ravel().tolist()]
    w = _as_dask_vector("sample_weight", w)
    if w.shape[0] != y.shape[0]:
        raise ValueError(f"sample_weight has {w.shape[0]} rows but y has {y.shape[0]}")
    w = w.rechunk(y.chunks)
    return list(zip(y.to_delayed().ravel().tolist(), w.to_delayed().ravel().tolist()))


def _run(fn: Callable, blocks: list, *args: Any) -> list:
    """One pass: ``fn(y_block, w_block, *args)`` on every block, results gathered."""
    dask, _ = _dask()
    call = dask.delayed(fn, pure=True)
    return list(dask.compute(*[call(yb, wb, *args) for yb, wb in blocks]))


def _vec(a: Any) -> np.ndarray:
    return np.asarray(a, dtype=np.float64).reshape(-1)


# ---- block kernels (run on the workers) ------------------------------------------
def _summary(y: Any, w: Any, loss: Loss, table: bool) -> dict:
    """Validation, sizes, sums, range and (for classification) the label table."""
    y = _vec(y)
    out: dict = {"n": y.size}
    if table:
        vals, inv = np.unique(y, return_inverse=True)
        out["table"] = (vals, np.bincount(inv, weights=None if w is None else _vec(w), minlength=vals.size))
    elif y.size:
        loss.check_labels(y, loss.n_outputs())
    if w is not None:
        w = _vec(w)
        if not np.isfinite(w).all():
            raise ValueError("sample_weight contains NaN or inf; weights must be finite and >= 0")
        if (w < 0).any():
            raise ValueError("sample_weight must be >= 0, got negative weights")
    out["wsum"] = float(y.size if w is None else w.sum())
    out["wysum"] = float(y.sum() if w is None else np.dot(w, y))
    out["min"] = float(y.min()) if y.size else math.inf
    out["max"] = float(y.max()) if y.size else -math.inf
    positive = y[y > 0]
    out["min_positive"] = float(positive.min()) if positive.size else math.inf  # a log link's range
    return out


def _in_bracket(y: Any, w: Any, center: float | None, lo: float, hi: float) -> tuple[np.ndarray, np.ndarray]:
    """Values (|y - center| if a center is given) in (lo, hi] with positive weight, sorted."""
    v = _vec(y)
    if center is not None:
        v = abs_residuals(v, center)
    ww = np.ones_like(v) if w is None else _vec(w)
    keep = (v > lo) & (v <= hi) & (ww > 0)
    v, ww = v[keep], ww[keep]
    order = np.argsort(v, kind="stable")
    return v[order], ww[order]


def _pivots(y: Any, w: Any, center: float | None, lo: float, hi: float, cap: int) -> tuple:
    """In-bracket count, the values themselves when at most ``cap``, local quantile pivots."""
    v, ww = _in_bracket(y, w, center, lo, hi)
    if v.size == 0:
        return 0, v, ww, v
    cum = np.cumsum(ww)
    levels = np.linspace(0.0, 1.0, _PIVOTS_PER_BLOCK) * cum[-1]
    idx = np.minimum(np.searchsorted(cum, levels, side="left"), v.size - 1)
    piv = np.unique(np.concatenate([v[:1], v[idx]]))  # v[0]: the block's minimum
    if v.size <= cap:
        return v.size, v, ww, piv
    return v.size, None, None, piv


def _weight_at_or_below(y: Any, w: Any, center: float | None, lo: float, cands: np.ndarray) -> np.ndarray:
    """Weight of the rows in (lo, c] for each candidate c."""
    v, ww = _in_bracket(y, w, center, lo, math.inf)
    cum = np.concatenate([[0.0], np.cumsum(ww)])
    return cum[np.searchsorted(v, cands, side="right")]


def _abs_dev_sum(y: Any, w: Any, center: float) -> float:
    r = abs_residuals(_vec(y), center)
    return float(r.sum() if w is None else np.dot(_vec(w), r))


def _grad_sums(y: Any, w: Any, loss: Loss, points: np.ndarray) -> np.ndarray:
    """sum_i w_i grad(y_i, c) for each c in ``points``."""
    y = _vec(y)
    w = None if w is None else _vec(w)
    scale = np.asarray(1.0)
    out = np.empty(points.size)
    for i, c in enumerate(points):
        g, _ = loss.grad_curvature(np, y, np.full_like(y, c), scale)
        out[i] = g.sum() if w is None else np.dot(w, g)
    return out


# ---- global statistics (on the client) -------------------------------------------
def _inverted_cdf_rank(n: int, q: float) -> int:
    """1-based rank NumPy's unweighted ``inverted_cdf`` quantile picks (same float ops)."""
    index = n * np.float64(q) - 1
    prev = np.floor(index)
    j = prev if index - prev == 0 else prev + 1
    return int(max(j, 0)) + 1


def _select(blocks: list, q: float, weighted: bool, n: int, total: float,
            center: float | None = None, gather_limit: int = GATHER_LIMIT) -> float:
    """Exact weighted (inverted-CDF) q-quantile of y, or of |y - center|.

    Matches ``boostobj.losses.weighted_quantile``: the smallest value whose
    cumulative weight fraction reaches q (unweighted: NumPy's rank rule).
    """
    if weighted:
        def reached(cum: np.ndarray) -> np.ndarray:
            return cum / total >= q
    else:
        rank = _inverted_cdf_rank(n, q)

        def reached(cum: np.ndarray) -> np.ndarray:
            return cum >= rank

    lo, hi, below = -math.inf, math.inf, 0.0  # the answer lies in (lo, hi]; weight <= lo is `below`
    cap = max(1, gather_limit // len(blocks))
    while True:
        parts = _run(_pivots, blocks, center, lo, hi, cap)
        count = sum(p[0] for p in parts)
        if count <= gather_limit:
            if any(p[1] is None for p in parts):  # a block held more than its share: gather now
                parts = _run(_pivots, blocks, center, lo, hi, gather_limit)
            v = np.concatenate([p[1] for p in parts])
            ww = np.concatenate([p[2] for p in parts])
            order = np.argsort(v, kind="stable")
            ok = reached(below + np.cumsum(ww[order]))
            return float(v[order][np.argmax(ok)] if ok.any() else v[order][-1])
        cands = np.unique(np.concatenate([p[3] for p in parts]))  # cands[0]: the bracket's minimum
        if cands.size > _MAX_CANDIDATES:
            keep = np.unique(np.linspace(0, cands.size - 1, _MAX_CANDIDATES).round().astype(int))
            cands = cands[keep]
        cum = below + np.sum(_run(_weight_at_or_below, blocks, center, lo, cands), axis=0)
        ok = reached(cum)
        if not ok.any():  # only by rounding: cands[-1] is the bracket's maximum, so the answer
            return float(cands[-1])
        k = int(np.argmax(ok))
        if k == 0:
            return float(cands[0])
        lo, below, hi = float(cands[k - 1]), float(cum[k - 1]), float(cands[k])


def _m_estimate(blocks: list, loss: Loss, lo: float, hi: float) -> float:
    """Root of the (monotone) weighted gradient sum in [lo, hi], to 1e-12 of the range."""
    if lo == hi:
        return lo
    xtol = 1e-12 * (hi - lo)
    a, b = lo, hi
    ga = gb = None
    while b - a > xtol:
        width = b - a
        pts = list(np.linspace(a, b, _UNIFORM_POINTS + 2)[1:-1])
        if ga is None:
            pts += [a, b]
        elif gb > ga:  # a cluster around the secant root of the bracket
            s = a - ga * width / (gb - ga)
            pts += [s + sign * width * 10.0 ** -e for e in range(1, 9) for sign in (-1, 1)] + [s]
        pts = np.unique(np.clip(pts, a, b))
        g = np.sum(_run(_grad_sums, blocks, loss, pts), axis=0)
        if np.any(g == 0):
            return float(pts[np.argmax(g == 0)])
        pos = np.flatnonzero(g > 0)
        first = pos[0] if pos.size else pts.size
        if pos.size:
            b, gb = float(pts[first]), float(g[first])
        neg = np.flatnonzero(g[:first] < 0)  # below the first positive: robust to rounding noise
        if neg.size:
            a, ga = float(pts[neg[-1]]), float(g[neg[-1]])
        if ga is None or gb is None:  # the root sits at an end of the data range
            return a if ga is None else b
    return a - ga * (b - a) / (gb - ga) if gb > ga else 0.5 * (a + b)


def _gradient_sum(y: Any, w: Any, loss: Loss, c: float) -> float:
    """The block's weighted gradient at the constant margin ``c``."""
    y = _vec(y)
    g, _ = loss.grad_curvature(np, loss.encode_labels(np, y, 1), np.full(y.size, c), np.ones(()))
    return float(np.sum(g) if w is None else np.dot(_vec(w), g))


def _loss_sum(y: Any, w: Any, loss: Loss, c: float) -> float:
    """The block's weighted loss at the constant margin ``c``."""
    y = _vec(y)
    per = loss.point_loss(np, loss.encode_labels(np, y, 1), np.full(y.size, c), np.ones(()))
    return float(np.sum(per) if w is None else np.dot(_vec(w), per))


def _global(obj: Objective, y: Any, sample_weight: Any, gather_limit: int) -> tuple[np.ndarray, np.ndarray]:
    loss = obj.base_loss
    blocks = _blocks(y, sample_weight)
    weighted = sample_weight is not None
    table = loss.task != "regression"
    parts = _run(_summary, blocks, loss, table)
    n = sum(p["n"] for p in parts)
    if n == 0:
        raise ValueError("y is empty")
    total = sum(p["wsum"] for p in parts)
    if weighted and not total > 0:
        raise ValueError("sample_weight must have a positive sum")
    if table:
        # labels take few values: the weighted label table is all the solver needs
        vals = np.concatenate([p["table"][0] for p in parts])
        sums = np.concatenate([p["table"][1] for p in parts])
        vals, inv = np.unique(vals, return_inverse=True)
        sums = np.bincount(inv, weights=sums, minlength=vals.size)
        local = Objective(loss, obj.factory)
        return np.asarray(local.init_score(vals, sums)), np.asarray(local.label_scale(vals, sums))

    lo = min(p["min"] for p in parts)
    hi = max(p["max"] for p in parts)
    kind = loss.start
    if kind == "mean":
        init = np.asarray(sum(p["wysum"] for p in parts) / total)
    elif kind == "quantile":
        k = loss.n_outputs()
        levels = np.atleast_1d(loss.alpha)
        init = np.empty(len(levels))
        for i, a in enumerate(levels):
            v = _select(blocks, a, weighted, n, total, None, gather_limit)
            # the loss's own finishing of its optimum (a label): on one row every
            # quantile is that row, so fit_intercept_only returns it as it would
            init[i] = np.ravel(loss.fit_intercept_only(np.array([v] * len(levels)), None, k))[i]
        init = init if k > 1 else init[0]
    elif kind == "m_estimate":  # one root per output: the mean gradient of a convex loss
        init = np.asarray(_m_estimate(blocks, loss, lo, hi))
    elif kind == "minimize":
        from boostobj.custom import minimize_mean_loss

        positive = [p["min_positive"] for p in parts if np.isfinite(p["min_positive"])]
        summary = np.array([lo, hi] + ([min(positive)] if positive else []))
        init = np.asarray(minimize_mean_loss(
            loss, summary, None, lambda c: sum(_run(_loss_sum, blocks, loss, float(c))) / total,
            lambda c: sum(_run(_gradient_sum, blocks, loss, float(c))) / total))
    else:
        raise ValueError(
            f"{loss!r} finds its start as {kind!r}, which boostobj.dask cannot reduce over the cluster "
            "(a start function needs every label at once): compute the start and scale yourself "
            "and use obj.with_start(init, scale)")
    scale = np.empty(init.shape)
    for k, c in np.ndenumerate(init):  # as Loss.label_scale, with the same helpers
        c = loss.target_of(float(c))
        scale[k] = first_positive(lambda: _select(blocks, 0.5, weighted, n, total, c, gather_limit),
                                  lambda: sum(_run(_abs_dev_sum, blocks, c)) / total,
                                  lambda: sum(_run(_abs_dev_sum, blocks, 0.0)) / total)
    return init, scale


# ---- public API -----------------------------------------------------------------
def _scalar_or_array(a: np.ndarray) -> float | np.ndarray:
    return float(a) if np.ndim(a) == 0 else np.array(a, dtype=np.float64)


@dataclass(frozen=True)
class DaskStart:
    """The global start of a distributed fit and the objective pinned to it.

    Attributes
    ----------
    objective : Objective
        ``obj.with_start(init, scale)``: pass it to every worker.
    init : float or ndarray
        The loss-optimal constant margin over all partitions (K values for K
        outputs).
    scale : float or ndarray
        The global label scale (typical |residual| at the start).

    Examples
    --------
    >>> import numpy as np, boostobj
    >>> from boostobj.dask import DaskStart
    >>> obj = boostobj.huber(1.0)
    >>> start = DaskStart(obj.with_start(2.0, 1.5), 2.0, 1.5)   # what global_start returns
    >>> start.base_score, start.objective.init_score(np.array([0.0, 100.0]))
    (2.0, 2.0)
    """

    objective: Objective
    init: float | np.ndarray
    scale: float | np.ndarray

    @property
    def base_score(self) -> float | list[float]:
        """The start for XGBoost's ``base_score`` param (margin units)."""
        return float(self.init) if np.ndim(self.init) == 0 else [float(v) for v in np.ravel(self.init)]

    def init_score(self, like: Any) -> Any:
        """Per-row start margins, partitioned like ``like`` (the labels), for
        ``lightgbm.dask``'s ``init_score=``: shape (n,) or (n, K).

        A dask Series/DataFrame gives a dask Series/DataFrame, anything else a
        dask array.
        """
        init = np.asarray(self.init, dtype=np.float64)
        if hasattr(like, "map_partitions"):
            import pandas as pd

            if init.ndim == 0:
                return like.map_partitions(lambda s: pd.Series(float(init), index=s.index),
                                           meta=pd.Series(dtype=np.float64))
            cols = list(range(init.size))
            meta = pd.DataFrame({c: pd.Series(dtype=np.float64) for c in cols})
            return like.map_partitions(
                lambda s: pd.DataFrame(np.broadcast_to(init, (len(s), init.size)), index=s.index, columns=cols),
                meta=meta)
        y = _as_dask_vector("like", like)
        if init.ndim == 0:
            return y.map_blocks(lambda b: np.full(b.shape, float(init)), dtype=np.float64)
        return y.map_blocks(lambda b: np.broadcast_to(init, (b.shape[0], init.size)).copy(),
                            dtype=np.float64, new_axis=1, chunks=(y.chunks[0], (init.size,)))

    def bake(self, model: Any) -> Any:
        """Add the start into the first trees of a LightGBM model trained with
        ``init_score=self.init_score(y)``, so its raw predictions include it.

        Takes a ``lightgbm.Booster`` or a fitted (Dask)LGBM estimator; returns it.
        Call it once per model.
        """
        from boostobj.sklearn import _bake_init_score

        booster = model.booster_ if hasattr(model, "booster_") else model
        _bake_init_score(booster, self.init)
        return model


def global_start(obj: Objective, y: Any, sample_weight: Any = None, *,
                 gather_limit: int = GATHER_LIMIT) -> DaskStart:
    """Start value and label scale of ``obj`` over distributed labels, and ``obj`` pinned to them.

    ``y`` (and ``sample_weight``) may be dask arrays, dask Series or
    single-column DataFrames, or NumPy arrays. The passes run on the current
    Dask scheduler (the active ``distributed.Client`` if there is one). See
    the module docstring for how exact each loss's start is.

    Raises ValueError for the inputs the single-machine objective rejects
    (NaN labels, labels outside the loss's domain, negative weights, ...).

    Examples
    --------
    >>> import numpy as np, dask.array as da, boostobj
    >>> y = da.from_array(np.array([0, 0, 0, 1.0]), chunks=2)
    >>> start = global_start(boostobj.exponential(), y)
    >>> round(start.init, 6), start.base_score == start.init
    (-1.098612, True)
    """
    if not isinstance(obj, Objective):
        raise TypeError(f"obj must be a boostobj Objective, got {type(obj).__name__}")
    if int(gather_limit) < 1:
        raise ValueError(f"gather_limit must be >= 1, got {gather_limit!r}")
    init, scale = _global(obj, y, sample_weight, int(gather_limit))
    return DaskStart(obj.with_start(init, scale), _scalar_or_array(init), _scalar_or_array(scale))


def init_score(obj: Objective, y: Any, sample_weight: Any = None) -> float | np.ndarray:
    """``obj.init_score`` for distributed labels (see ``global_start``).

    Examples
    --------
    >>> import numpy as np, dask.array as da, boostobj
    >>> init_score(boostobj.squared_error(), da.arange(10.0, chunks=3))
    4.5
    """
    return global_start(obj, y, sample_weight).init

"""The losses: each defined once, here, with its math and its reference.

A loss is a small bundle (in the spirit of XGBoost's ``regression_loss.h`` and
``sklearn._loss.loss``):

- ``point_loss``: the per-row loss value;
- ``grad_curvature``: the exact first derivative with respect to the margin,
  and the *curvature* used for the Newton step: the exact second derivative
  where that is positive and informative, otherwise a majorize-minimize (MM)
  curvature that is strictly positive and keeps its scale;
- ``encode_labels`` / ``check_labels``: the label contract;
- ``fit_intercept_only``: the loss-optimal constant margin;
- ``link``: margin to target scale.

All kernels take the array namespace ``xp`` first and use only Array API
functions, so they run unchanged on NumPy and CuPy. Labels reach the kernels
already encoded (``encode_labels``): a column for multi-output regression, the
sign ``s = 2y - 1`` for binary losses, a one-hot matrix for multi-class. The
framework adapter (``boostobj.objective``) caches the encoding per dataset.

Notation: margin ``m``, residual ``r = y - m``; for binary losses ``s = 2y - 1``
and ``z = s m``. Gradients are with respect to ``m``.

Example
-------
>>> import numpy as np
>>> from boostobj.losses import Huber
>>> loss = Huber(delta=1.0)
>>> g, h = loss.grad_curvature(np, np.array([3.0]), np.array([0.0]), scale=1.0)
>>> float(g[0]), float(h[0])   # grad -clip(r), MM curvature delta/|r|
(-1.0, 0.3333333333333333)
"""

from __future__ import annotations

import math
from numbers import Real
from typing import Any, Sequence

import numpy as np

from boostobj import _compiled, _math
from boostobj._compiled import f32 as _f32
from boostobj.link import (
    ClippedLinearLink,
    FocalLogitLink,
    FocalSoftmaxLink,
    IdentityLink,
    LogitLink,
    SignLink,
    SortedIdentityLink,
)

Array = Any

# Floor on every curvature, as XGBoost's own logistic loss does (kRtEps):
# keeps hessians strictly positive where the exact value underflows.
CURVATURE_FLOOR = 1e-16
_F32_MAX = np.float32(np.finfo(np.float32).max)


def _guard_floor(xp: Any, dtype: Any) -> float:
    """The least curvature guard in ``dtype``: sqrt of its tiny, so weights / guard stay finite."""
    return float(np.sqrt(xp.finfo(dtype).smallest_normal))  # Array API name of tiny


# the quantile guard's lower bound in float32, for the in-place kernel
_F32_SQRT_TINY = np.float32(_guard_floor(np, np.float32))


def _floor(xp: Any, h: Array) -> Array:
    return xp.maximum(h, CURVATURE_FLOOR)


def _check_real(name: str, value: Any, low: float, high: float, *, low_open: bool = True,
                high_open: bool = True) -> float:
    """Validate a scalar parameter; raise ValueError naming it and the range."""
    lo = "(" if low_open else "["
    hi = ")" if high_open else "]"
    interval = f"{lo}{low:.8g}, {high:.8g}{hi}"
    if isinstance(value, bool) or not isinstance(value, Real):
        raise ValueError(f"{name} must be a real number in {interval}, got {value!r}")
    v = float(value)
    ok = math.isfinite(v) or (v == high and not high_open)
    ok = ok and (v > low if low_open else v >= low)
    ok = ok and (v < high if high_open else v <= high)
    if not ok:
        raise ValueError(f"{name} must be in {interval}, got {value!r}")
    return v


def weighted_quantile(values: np.ndarray, weights: np.ndarray | None, q: Any) -> np.ndarray:
    """Weighted quantile with the inverted-CDF rule (smallest v with F(v) >= q).

    Integer weights give exactly the quantile of the rows repeated that many
    times, which is the loss-optimal constant of the pinball loss.
    """
    if weights is None:
        return np.quantile(values, q, method="inverted_cdf")
    keep = weights > 0  # rows of zero weight do not exist for the quantile
    return np.quantile(values[keep], q, weights=weights[keep], method="inverted_cdf")


def grouped_weighted_quantile(values: np.ndarray, weights: np.ndarray | None, groups: np.ndarray,
                              n_groups: int, q: float, with_totals: bool = False) -> Any:
    """``weighted_quantile(values[groups == j], weights[groups == j], q)`` for every j at once.

    One sort for all groups (the residuals, then stably by group), so a
    tree's leaves cost one pass, not one per leaf. Groups without a row of
    positive weight give NaN. ``with_totals``: also each group's weight of
    positive-weight rows (its row count without weights), which the
    selection counts anyway, as a second array.
    """
    values = np.asarray(values, dtype=np.float64)
    groups = np.asarray(groups, dtype=np.intp)
    if weights is not None:
        keep = np.asarray(weights) > 0
        values, groups, weights = values[keep], groups[keep], np.asarray(weights, dtype=np.float64)[keep]
    out = np.full(n_groups, np.nan)
    if not len(values):
        return (out, np.zeros(n_groups)) if with_totals else out
    # NumPy radix-sorts 16-bit integers stably (5x faster than intp)
    small = groups.astype(np.int16) if n_groups <= np.iinfo(np.int16).max else groups
    if weights is None:
        # without weights the quantile is the ceil(q n)-th smallest: one selection per group
        # (np.partition, linear) instead of a sort of all rows
        counts = np.bincount(groups, minlength=n_groups)
        ends = np.cumsum(counts)
        v = values[np.argsort(small, kind="stable")]
        for j in np.flatnonzero(counts):
            n = int(counts[j])
            k = min(max(int(np.ceil(q * n)) - 1, 0), n - 1)
            out[j] = np.partition(v[ends[j] - n:ends[j]], k)[k]
        return (out, counts.astype(np.float64)) if with_totals else out
    order = np.argsort(values)  # NumPy's vectorised sort; ties need no stable order
    order = order[np.argsort(small[order], kind="stable")]  # by group, ascending values within
    v = values[order]
    w = np.ones(len(v)) if weights is None else weights[order]
    total = np.bincount(groups[order], weights=w, minlength=n_groups)
    counts = np.bincount(groups, minlength=n_groups)
    first = np.concatenate([[0], np.cumsum(counts)[:-1]])
    # within each group, the first row whose cumulative weight reaches q of the group's:
    # the inverted-CDF rule of weighted_quantile (exact for integer weights)
    cum = np.cumsum(w)
    before = np.where(first > 0, cum[np.maximum(first - 1, 0)], 0.0)
    at = np.searchsorted(cum, before + q * total, side="left")
    has = counts > 0
    out[has] = v[np.clip(at[has], first[has], first[has] + counts[has] - 1)]
    return (out, total) if with_totals else out


def abs_residuals(y: np.ndarray, c: float) -> np.ndarray:
    """|y - c|, with residuals below float32 resolution set to exactly 0.

    XGBoost and LightGBM store labels in float32 (and the quantile start is a
    float32 label), so smaller residuals are 0 to them; counting them as 0
    keeps a mass of labels at the start from producing an absurdly small
    scale out of rounding errors.
    """
    r = np.abs(y - c)
    r[r <= 2.0**-22 * np.maximum(np.abs(y), abs(c))] = 0.0
    return r


def first_positive(*candidates: Any) -> float:
    """The first of the lazily computed candidates that is > 0, else 1.0."""
    for candidate in candidates:
        value = candidate()
        if value > 0:
            return value
    return 1.0


class Loss:
    """The loss contract: subclass it to add a loss (or build one with ``boostobj.custom``).

    What a loss must give, with a default where one is sound:

    - ``point_loss(xp, t, m, scale)``: the per-row loss (required);
    - ``grad_curvature(xp, t, m, scale)``: the gradient in the margin and the
      curvature the Newton step divides by, positive and finite (required):
      the second derivative where that is, a majorizing (MM) curvature where
      it is not;
    - ``link``: margin to prediction (default identity); ``task``:
      "regression", "binary" or "multiclass";
    - ``check_labels``: a ValueError for labels outside the domain (default:
      finite);
    - ``fit_intercept_only``: the loss-optimal constant margin (default: the
      root of the weighted mean gradient, for convex losses), and ``start``,
      how it is found, so ``boostobj.dask`` finds it alike over a cluster.

    Both kernels take the array namespace ``xp`` and use Array API functions
    only, so the same code runs on NumPy and CuPy; they are the reference
    the tests compare with. Speed is optional: one compiled row
    (``compiled_row``, numba) per loss. Wrap a loss as
    ``boostobj.Objective(MyLoss(...), "my_factory")`` in a factory decorated
    with ``boostobj.register``.

    Example
    -------
    >>> import numpy as np, boostobj
    >>> class Squared(boostobj.Loss):
    ...     name = "squared"
    ...     def point_loss(self, xp, t, m, scale):
    ...         return 0.5 * (t - m) ** 2
    ...     def grad_curvature(self, xp, t, m, scale):
    ...         return m - t, xp.ones_like(m)
    >>> obj = boostobj.Objective(Squared(), "squared")
    >>> round(obj.init_score(np.array([1.0, 2.0, 6.0])), 12)   # the root of the mean gradient
    3.0

    Attributes
    ----------
    name : str
        Short name, also the eval-metric name.
    task : {"regression", "binary", "multiclass"}
    link : object with ``link`` / ``inverse``
    normalize_curvature : bool
        True for regression losses whose curvature depends on the label scale.
        The adapter then multiplies grad and hess by one fixed factor per
        dataset so that the curvature at a typical residual is 1 (as for
        squared error); the Newton step is unchanged but ``lambda`` and
        ``min_child_weight`` keep their squared-error meaning at any scale.
    float64_margin : {"exact", "residual", "float32"}
        How the framework adapter may compute on float64 margins (LightGBM's),
        whose gradients it returns in float32 anyway. "exact" (the default):
        in float64. "residual": the kernel depends on ``t - m`` only, so the
        adapter forms the residual in float64 and runs the kernel in float32
        on ``(residual, 0)``. "float32": the kernel is well conditioned in the
        margin, so it runs on the float32-rounded margin (what XGBoost hands
        every objective). float32 transcendentals are several times faster.
    numpy_kernel : method
        The NumPy hot path (the CPU path without numba, or for losses
        without ``compiled_row``): ``numpy_kernel(t, m, scale, g, h, scratch)`` writes
        one block's (gradient, curvature) into the float32 arrays ``g`` and
        ``h``. The default evaluates ``grad_curvature`` (the reference) and
        copies; losses override it with in-place NumPy (``out=`` into
        ``scratch``, float32 work arrays of the block's length) where that is
        cheaper, and ``tests/test_fast_path.py`` holds every loss to the
        reference within float32 rounding.
    compiled_row : scalar function or None
        The same math for one row, ``compiled_row(y, m, p0, p1, p2) -> (g, h)``
        on float32 scalars: the label as stored (``encode_labels`` is the
        row's own job), the margin, the parameters of ``row_params(scale)``,
        decorated with ``boostobj._compiled.scalar``. Where numba is
        installed (the ``fast`` extra) the adapter runs it over all rows in
        one compiled pass instead of ``numpy_kernel`` (``boostobj._compiled``);
        ``tests/test_fast_path.py`` holds it to the reference too.
    compiled_row_blocks : bool
        True where the row's arithmetic, not memory, bounds the compiled pass
        (focal; for rows of the margin, not ``float64_margin = "residual"``).
        float64 margins are then converted to float32 a block at a
        time, so the row vectorises 16 lanes wide instead of 8. Rows that
        memory bounds stay in one streaming pass, which is faster for them.
    exact_leaf_refit : bool
        True where ``leaf_values`` gives each leaf's exact loss-optimal value
        from its rows' residuals. The drop-ins then grow each tree
        with the loss of ``for_leaf_refit()`` and set its leaves to those
        values (``boostobj.leaf_refit``), as LightGBM's own quantile
        objective does.
    normalize_per_round : bool
        True where the curvature per row drifts as the fit improves (MM
        curvature that grows as residuals shrink). The framework paths then
        also rescale grad and hess, every round and per output, by one
        factor so that the weighted mean curvature per row is exactly 1:
        the Newton step is unchanged, and ``lambda`` / ``min_child_weight``
        mean about one row's curvature, as for squared error, at every round.
    """

    name = "loss"
    task = "regression"
    link: Any = IdentityLink()
    #: how the start is found, which ``boostobj.dask`` reduces over the cluster alike:
    #: "mean", "quantile", "m_estimate" (the root of the mean gradient, for convex losses),
    #: "class_table" (a solve on the weighted label counts) or "minimize" (the weighted mean
    #: loss minimised numerically over the labels' margin range)
    start = "m_estimate"
    normalize_curvature = True
    float64_margin = "exact"
    normalize_per_round = False
    exact_leaf_refit = False
    compiled_row: Any = None
    compiled_row_blocks = False

    # ---- labels -----------------------------------------------------------
    def n_outputs(self, y: np.ndarray | None = None) -> int:
        """Number of margin columns (1 means a 1-D margin)."""
        return 1

    def check_n_outputs(self, k: int) -> None:
        """Raise ValueError unless a model with ``k`` margin columns fits this loss."""
        if k != self.n_outputs():
            raise ValueError(
                f"{self!r} needs {self.n_outputs()} margin column(s), the model has {k}; "
                "set num_target (XGBoost) or num_class (LightGBM) to match"
            )

    def check_labels(self, y: np.ndarray, n_outputs: int) -> None:
        """Raise ValueError for labels outside the loss's domain."""
        if not np.isfinite(y).all():
            raise ValueError("y contains NaN or inf; labels must be finite real numbers")

    def encode_labels(self, xp: Any, y: Array, n_outputs: int) -> Array:
        """Labels in the form the kernels take (regression: y, as a column when K > 1)."""
        return y[:, None] if n_outputs > 1 else y

    # ---- math -------------------------------------------------------------
    def point_loss(self, xp: Any, t: Array, m: Array, scale: Any) -> Array:
        """Per-row (per-output) loss value; ``t`` are encoded labels."""
        raise NotImplementedError

    def grad_curvature(self, xp: Any, t: Array, m: Array, scale: Any) -> tuple[Array, Array]:
        """Unweighted (gradient, curvature) with respect to the margin."""
        raise NotImplementedError

    def numpy_kernel(self, t: np.ndarray, m: np.ndarray, scale: Any, g: np.ndarray, h: np.ndarray,
                     scratch: list[np.ndarray]) -> None:
        """Write (gradient, curvature) of one block into the float32 ``g`` and ``h``.

        ``t`` is float32, or float64 with a float64 ``m`` for "residual"
        losses (the residual is formed in float64, then rounded); ``m`` is
        the framework's margin block (float32, or LightGBM's float64). The
        default runs the reference kernel: in float32 on ``(t - m, 0)`` for
        "residual", on the rounded margin for "float32".
        """
        if self.float64_margin == "residual" and m.dtype != np.float32:
            gg, hh = self.grad_curvature(np, (t - m).astype(np.float32), np.float32(0.0), scale)
        elif self.float64_margin == "float32":
            if m.dtype != np.float32:  # rounded into float32's range, not to inf
                m = np.clip(m, -_F32_MAX, _F32_MAX).astype(np.float32)
            gg, hh = self.grad_curvature(np, t, m, scale)
        else:
            gg, hh = self.grad_curvature(np, t, m, scale)
        np.copyto(g, gg, casting="same_kind")
        np.copyto(h, hh, casting="same_kind")

    def row_params(self, scale: Any) -> tuple[float, float, float] | None:
        """The three parameters of ``compiled_row`` at this label scale; None: no compiled path here."""
        return (0.0, 0.0, 0.0) if self.compiled_row is not None else None

    def fit_intercept_only(self, y: np.ndarray, w: np.ndarray | None, n_outputs: int) -> np.ndarray:
        """Loss-optimal constant margin (float64; shape () or (K,))."""
        return _root_of_mean_gradient(self, y, w)

    def leaf_values(self, residual: np.ndarray, weight: np.ndarray | None, leaf: np.ndarray,
                    n_leaves: int, k: int) -> np.ndarray:
        """The loss-optimal value of each leaf of output ``k`` (NaN for a leaf without rows).

        ``residual`` is ``y - margin`` before the tree, ``leaf`` each row's
        leaf index. Only for losses with ``exact_leaf_refit``.
        """
        raise NotImplementedError(f"{self!r} has no exact leaf refit")

    def for_leaf_refit(self) -> "Loss":
        """The loss whose gradient and curvature grow the trees when ``leaf_values`` sets their leaves."""
        return self

    def predict_link(self, n_outputs: int) -> Any:
        """The link for a model with ``n_outputs`` margin columns."""
        return self.link

    def typical_curvature(self, init: np.ndarray, scale: np.ndarray) -> np.ndarray:
        """The curvature at a residual of one label scale (what ``normalize_curvature`` divides by).

        A function of the start and the scale alone, so every worker of a
        distributed fit that shares them agrees on it.
        """
        s = np.atleast_1d(scale)
        m = np.zeros((1, s.size)) if self.n_outputs() > 1 else np.zeros(1)
        t = s[None, :] if m.ndim == 2 else s
        _, h = self.grad_curvature(np, t, m, scale)
        return np.reshape(h, np.shape(init))

    def target_of(self, margin: float) -> float:
        """A start margin on the labels' scale, where ``label_scale`` measures residuals from."""
        return float(self.link.inverse(np.asarray([margin], dtype=np.float64))[0]) \
            if self.task == "regression" and not isinstance(self.link, IdentityLink) else float(margin)

    def stall_reason(self, y: np.ndarray, w: np.ndarray | None) -> str | None:
        """Why a fit of these labels cannot move from its start under this loss's parameters, or None."""
        return None

    def label_scale(self, y: np.ndarray, w: np.ndarray | None, init: np.ndarray) -> np.ndarray:
        """Typical residual size at the start: weighted median of |y - init|.

        Falls back to the weighted mean |y - init| when more than half the
        residuals are 0, then (constant labels) to the mean |y|, so the scale
        stays proportional to the labels; 1 only when every label is 0.
        Same shape as ``init``.
        """
        init = np.asarray(init, dtype=np.float64)
        out = np.empty(init.shape)
        for k, c in np.ndenumerate(init):
            r = abs_residuals(y, self.target_of(float(c)))
            out[k] = first_positive(lambda: float(weighted_quantile(r, w, 0.5)),
                                    lambda: float(np.average(r, weights=w)),
                                    lambda: float(np.average(np.abs(y), weights=w)))
        return out

    def __repr__(self) -> str:
        params = ", ".join(f"{k}={v!r}" for k, v in self._params().items())
        return f"{type(self).__name__}({params})"

    def _params(self) -> dict:
        return {}


def _root_of_mean_gradient(loss: Loss, y: np.ndarray, w: np.ndarray | None) -> np.ndarray:
    """Constant c with sum_i w_i grad(y_i, c) = 0, for a convex regression loss.

    The weighted gradient sum is monotone in c and changes sign between
    min(y) and max(y), so Brent's method finds the exact M-estimate in a few
    passes over the data.
    """
    from scipy.optimize import brentq  # scipy: a hard dependency of sklearn and xgboost

    support = y if w is None else y[w > 0]  # rows of zero weight do not bracket the root
    lo, hi = float(np.min(support)), float(np.max(support))
    if lo == hi:
        return np.asarray(lo)
    scale = np.asarray(1.0)
    total = float(len(y) if w is None else np.sum(w))

    def mean_grad(c: float) -> float:
        acc = 0.0
        for start in range(0, len(y), _INIT_BLOCK):  # blocks: no large temporaries
            rows = slice(start, start + _INIT_BLOCK)
            g, _ = loss.grad_curvature(np, y[rows], np.full(len(y[rows]), c), scale)
            acc += float(np.sum(g) if w is None else np.dot(w[rows], g))
        return acc / total

    # disp=False: at the limits of float precision take the best bracketed estimate
    xtol = max(1e-12 * (hi - lo), 1e-300)  # stays positive for subnormal spreads
    root = brentq(mean_grad, lo, hi, xtol=xtol, rtol=1e-14, maxiter=200, disp=False)
    step = 1e-6 * (hi - lo)
    tol = 1e-12 * float(np.max(np.abs(loss.grad_curvature(np, y, np.full_like(y, root), scale)[0])))
    if abs(mean_grad(root - step)) <= tol or abs(mean_grad(root + step)) <= tol:
        # A flat stretch of minimisers (Huber with a gap wider than 2 delta in
        # the data): return its middle, so the answer does not depend on
        # where the root finder happened to land (weights vs repeated rows).
        left, right = _bisect(lambda c: mean_grad(c) < -tol, lo, root), _bisect(
            lambda c: mean_grad(c) <= tol, root, hi)
        root = 0.5 * (left + right)
    else:
        # At a mass of equal labels the exact root is that label: snap to it, so
        # the rows there have residual exactly 0 (not a root-finder's 1e-13,
        # which would then set the label scale) at every label scale.
        nearest = float(support[np.argmin(np.abs(support - root))])
        if abs(nearest - root) <= 4 * xtol:
            root = nearest
    return np.asarray(root)


_INIT_BLOCK = 131072


def _bisect(below: Any, a: float, b: float) -> float:
    """Boundary in [a, b] where the monotone predicate ``below`` turns False."""
    for _ in range(200):
        mid = 0.5 * (a + b)
        if mid in (a, b):
            break
        a, b = (mid, b) if below(mid) else (a, mid)
    return 0.5 * (a + b)


# Guards given as multiples of the labels' typical residual (quantile) or in margin units
# (hinge): below the range no row is ever inside the guard, above it nearly every row is.
GUARD_MIN, GUARD_MAX = 1e-6, 100.0
# The quantile guard holds the rows at the start's label, whose curvature is 1 / (2 guard): below
# 1e-3 those rows outweigh all others by 1e3 or more and the trees stop splitting (400-row
# fits stayed constant at 1e-4 and below; benchmarks/edges.py).
QUANTILE_EPS_MIN = 1e-3
# Log-cosh's guard lowers the curvature below the MM weight inside it, so its steps grow with
# it: past 10 typical residuals they overshoot (benchmarks/edges.py).
LOG_COSH_EPS_MAX = 10.0
# Huber's delta is a normal float32: the kernels clip residuals to it and divide by it there.
DELTA_MIN = float(np.finfo(np.float32).smallest_normal)
DELTA_MAX = float(np.finfo(np.float32).max)
# Focal's q^gamma is 2^-gamma at p_t = 1/2: past 50 the start's curvature reaches the floor (1e-16).
GAMMA_MAX = 50.0
# Focal's per-class weights multiply gradients and curvatures: past this ratio to 1 they leave
# float32's useful range at the start.
CLASS_WEIGHT_MIN, CLASS_WEIGHT_MAX = 1e-6, 1e6
REFIT_PRIOR_MAX = 1e6


def _check_guard(name: str, value: Any) -> float:
    return _check_real(name, value, GUARD_MIN, GUARD_MAX, low_open=False, high_open=False)


# Levels closer to 0 or 1 than this round to 0 or 1 in the frameworks' float32 gradients
# (1 - alpha, alpha times a weight): the loss would no longer be the one asked for.
LEVEL_MIN = 1e-7
LEVEL_MAX = 1.0 - LEVEL_MIN


def _check_level(name: str, value: Any) -> float:
    return _check_real(name, value, LEVEL_MIN, LEVEL_MAX, low_open=False, high_open=False)


def _level_stall_reason(alphas: np.ndarray, y: np.ndarray, w: np.ndarray | None, what: str) -> str | None:
    """A level closer to 0 or 1 than one row of the sample: its fit sits on the extreme label."""
    n = int(np.sum(w > 0)) if w is not None else len(y)
    a = float(np.min(np.minimum(alphas, 1.0 - alphas)))
    if a * n >= 1:
        return None
    return (f"the level {a if a in alphas else 1 - a:g} is beyond the sample's resolution: with {n} rows "
            f"fewer than one lies beyond it (min(alpha, 1 - alpha) < 1/n), so every leaf's {what} is its "
            "extreme row; use a level within [1/n, 1 - 1/n] or more rows")


def _check_levels(alpha: Any) -> tuple[float | tuple[float, ...], np.ndarray, bool]:
    """One level in [1e-7, 1 - 1e-7], or a strictly increasing list of them (K outputs).

    Returns (alpha as given back to the user, the levels as an array, multi).
    A list of one level is that level: one output, as the scalar form.
    Shared by the level-indexed losses (quantile, expectile).
    """
    if np.ndim(alpha) == 0:
        a = _check_level("alpha", alpha)
        return a, np.asarray([a]), False
    if np.ndim(alpha) > 1:
        raise ValueError(f"alpha must be a number or a flat list of levels, got shape {np.shape(alpha)}")
    alphas = [_check_level(f"alpha[{i}]", a) for i, a in enumerate(alpha)]
    if len(alphas) == 0:
        raise ValueError("alpha must be a number in [1e-07, 1 - 1e-07] or a non-empty increasing list")
    if len(alphas) == 1:
        return alphas[0], np.asarray(alphas), False
    if any(b <= a for a, b in zip(alphas, alphas[1:])):
        raise ValueError(f"alpha must be strictly increasing, got {list(alpha)!r}")
    return tuple(alphas), np.asarray(alphas), True


class SquaredError(Loss):
    r"""Squared error, the reference objective.

    .. math:: l(r) = r^2 / 2,\quad g = -r,\quad h = 1

    The optimal constant is the weighted mean.
    """

    name = "squared_error"
    float64_margin = "residual"
    start = "mean"

    def point_loss(self, xp, t, m, scale):
        r = t - m
        return 0.5 * r * r

    def grad_curvature(self, xp, t, m, scale):
        g = m - t
        return g, xp.ones_like(g)

    @staticmethod
    @_compiled.scalar
    def compiled_row(y, m, p0, p1, p2):
        # the residual of a margin past float32's range is +-inf here: its gradient is the largest
        return min(max(m - y, -_F32_MAX), _F32_MAX), _f32(1.0)

    def fit_intercept_only(self, y, w, n_outputs):
        return np.asarray(np.average(y, weights=w))


class LogCosh(Loss):
    r"""Log-cosh loss, a smooth loss that is quadratic near 0 and linear far out.

    .. math::
        l(r) = \log\cosh r = |r| + \operatorname{log1p}(e^{-2|r|}) - \log 2,
        \quad g = -\tanh r,\quad h = \tanh(a) / a,\ a = \max(|r|, \epsilon)

    The exact second derivative :math:`\operatorname{sech}^2 r` vanishes
    exponentially, so Newton steps explode or stall at large residuals. The
    curvature used is the MM (IRLS) weight :math:`\psi(r)/r = \tanh(r)/r`,
    which majorizes log-cosh (it is even, with :math:`\psi(r)/r` decreasing
    in :math:`|r|`), equals 1 at 0, and decays only like :math:`1/|r|`.
    Reference: de Leeuw & Lange 2009, "Sharp quadratic majorization in one
    dimension", Comput. Stat. Data Anal.

    Log-cosh has a fixed unit scale: on labels in the hundreds it is
    absolute error, and the MM weight then pins each leaf to its rows of
    smallest residual, as the quantile curvature does with too tight a
    guard. The weight is therefore evaluated at :math:`\max(|r|, \epsilon)`
    with :math:`\epsilon` = ``eps`` times the dataset's typical residual at
    the start (below it, rows share one curvature; the gradient is exact).
    Its effect at labels x1000 is measured in ``benchmarks/results/quality_xgb<version>.md``
    (log-cosh table and note). The optimal constant is the M-estimate solving
    :math:`\sum w \tanh(y - c) = 0`.
    """

    name = "log_cosh"
    float64_margin = "residual"

    def __init__(self, eps: float = 0.5):
        self.eps = _check_real("eps", eps, GUARD_MIN, LOG_COSH_EPS_MAX, low_open=False, high_open=False)

    def _params(self):
        return {"eps": self.eps}

    def point_loss(self, xp, t, m, scale):
        a = xp.abs(t - m)
        return a + xp.log1p(xp.exp(-2.0 * a)) - math.log(2.0)

    def grad_curvature(self, xp, t, m, scale):
        r = t - m
        th = xp.tanh(r)
        # tanh(r)/r -> 1 as r -> 0: adding 1 to both sides where r == 0 keeps
        # 0/0 out (arithmetic on a 0/1 mask is several times faster than where)
        zero = xp.astype(r == 0, r.dtype)
        h = (th + zero) / (r + zero)
        # tanh(a)/a decreases in a, so evaluating it at max(|r|, guard) is a minimum
        guard = self.eps * float(np.max(scale))
        if guard > 0:
            h = xp.minimum(h, math.tanh(guard) / guard)
        return -th, _floor(xp, h)

    def numpy_kernel(self, t, m, scale, g, h, scratch):
        # u = m - t = -r: tanh(u) is the gradient and tanh(u)/u the weight, in 5 passes
        u = scratch[0]
        np.subtract(m, t, out=u, casting="same_kind")
        np.tanh(u, out=g)
        with np.errstate(invalid="ignore"):
            np.divide(g, u, out=h)  # 0/0 = NaN where r == 0 ...
        guard = self.eps * float(np.max(scale))
        cap = math.tanh(guard) / guard if guard > 0 else 1.0
        np.fmin(h, np.float32(cap), out=h)  # ... which fmin replaces by the cap, as the reference
        np.clip(h, np.float32(CURVATURE_FLOOR), np.float32(cap), out=h)

    def row_params(self, scale):
        guard = self.eps * float(np.max(scale))
        return (math.tanh(guard) / guard if guard > 0 else 1.0, CURVATURE_FLOOR, 0.0)

    @staticmethod
    @_compiled.scalar
    def compiled_row(y, m, cap, floor, p2):
        u = m - y
        th = _compiled.tanh32(u)
        h = th / u if u != 0 else cap  # tanh(u)/u -> 1 at 0, and the cap is <= 1
        return th, min(max(h, floor), cap)


class Huber(Loss):
    r"""Huber loss with threshold ``delta`` (Huber 1964, Ann. Math. Statist.).

    .. math::
        l(r) = \begin{cases} r^2/2 & |r| \le \delta \\
                             \delta(|r| - \delta/2) & |r| > \delta \end{cases},
        \quad g = -\operatorname{clip}(r, -\delta, \delta),
        \quad h = \min(1, \delta / |r|)

    The exact second derivative is 0 outside delta; the curvature used there
    is the MM (IRLS) weight :math:`\psi(r)/r = \delta/|r|`, a valid majorizer
    (Hunter & Lange 2004, "A tutorial on MM algorithms", Am. Stat.). The
    optimal constant is the Huber M-estimate of location.
    """

    name = "huber"
    float64_margin = "residual"

    def __init__(self, delta: float = 1.0):
        self.delta = _check_real("delta", delta, DELTA_MIN, DELTA_MAX, low_open=False, high_open=False)

    def _params(self):
        return {"delta": self.delta}

    def point_loss(self, xp, t, m, scale):
        a = xp.abs(t - m)
        d = self.delta
        return xp.where(a <= d, 0.5 * a * a, d * (a - 0.5 * d))

    def grad_curvature(self, xp, t, m, scale):
        r = t - m
        d = self.delta
        g = -xp.clip(r, -d, d)
        h = d / xp.maximum(xp.abs(r), d)  # 1 inside delta, delta/|r| outside
        return g, _floor(xp, h)

    def numpy_kernel(self, t, m, scale, g, h, scratch):
        u, d = scratch[0], np.float32(self.delta)
        np.subtract(m, t, out=u, casting="same_kind")  # -r: clip(-r) = -clip(r)
        np.clip(u, -d, d, out=g)
        np.abs(u, out=h)
        # |r| clipped to [delta, delta / floor]: the curvature is >= the floor by construction
        np.clip(h, d, np.float32(min(self.delta / CURVATURE_FLOOR, float(_F32_MAX))), out=h)
        np.divide(d, h, out=h)

    def row_params(self, scale):
        return (self.delta, min(self.delta / CURVATURE_FLOOR, float(_F32_MAX)), 0.0)

    @staticmethod
    @_compiled.scalar
    def compiled_row(y, m, d, top, p2):
        u = m - y  # -r: clip(-r) = -clip(r)
        return min(max(u, -d), d), d / min(max(abs(u), d), top)


class Quantile(Loss):
    r"""Pinball (quantile) loss at level(s) ``alpha`` (Koenker & Bassett 1978).

    .. math::
        l(r) = \max(\alpha r, (\alpha - 1) r),
        \quad g = -\alpha \text{ if } r > 0 \text{ else } 1 - \alpha,
        \quad h = 1 / (2 \max(|r|, \epsilon))

    The true second derivative is 0. The curvature is that of the MM
    quadratic :math:`\rho_\alpha(r) \le r^2/(4|r_0|) + (\alpha - 1/2) r + c`
    (Hunter & Lange 2000, "Quantile regression via an MM algorithm", J. Comp.
    Graph. Stat.): a Newton step on it is one IRLS step. The guard is
    :math:`\epsilon = \text{eps} \cdot 2\min(\alpha, 1-\alpha) \cdot s`, with
    s the dataset's typical residual at the start (the ``scale``), so the
    curvature is scale-equivariant. Rows inside the guard share one
    curvature instead of pinning the leaf with 1/|r|, which makes the steps
    too small when the guard is too tight, while tail quantiles, whose
    gradients are lopsided, train best with a tighter one; hence the factor
    2 min(alpha, 1 - alpha). The default's test loss against the built-ins is
    in ``benchmarks/results/quality_xgb<version>.md``; other guards have no committed
    result.

    ``eps=None`` (the default) means 0.5 when the leaves are Newton steps
    on this curvature (every entry point but the drop-ins). The drop-ins set
    each leaf to its rows' exact residual quantile after the tree is grown
    (``boostobj.leaf_refit``; shrunk in a leaf too small for its level, see
    ``leaf_values`` and ``refit_prior``); there the curvature only shapes the splits,
    and by default they grow the trees with ``QuantileRefitGrowth``'s nearly
    flat curvature, as LightGBM's own quantile objective does.

    Rows near the fit get up to :math:`1/(2\epsilon)`, 20 times the curvature
    at a typical start residual for alpha 0.05 or 0.95, and the mean grows as
    the fit improves (measured, 200 diabetes rows, alpha 0.05: 3.0 per row at
    the start, 10.4 after 200 rounds), so the framework paths rescale it to
    a mean of 1 per row every round (``normalize_per_round``).

    A list of increasing alphas gives K outputs trained in one booster; the
    loss of a row is the sum of its K pinball losses, and predictions are
    sorted along each row so quantiles never cross. The optimal constant is
    the weighted alpha-quantile of y.
    """

    name = "quantile"
    float64_margin = "residual"
    start = "quantile"
    normalize_per_round = True
    exact_leaf_refit = True
    DEFAULT_EPS = 0.5
    REFIT_GUARD = 64.0  # QuantileRefitGrowth's epsilon, in label scales

    DEFAULT_REFIT_PRIOR = 0.5

    def __init__(self, alpha: float | Sequence[float] = 0.5, eps: float | None = None,
                 refit_prior: float = DEFAULT_REFIT_PRIOR):
        self.alpha, self._alphas, self.multi = _check_levels(alpha)
        if self.multi:
            self.link = SortedIdentityLink()
        self._eps_given = None if eps is None else _check_real("eps", eps, QUANTILE_EPS_MIN, GUARD_MAX,
                                                                 low_open=False, high_open=False)
        self.eps = self.DEFAULT_EPS if eps is None else self._eps_given
        self._guards = self.eps * 2.0 * np.minimum(self._alphas, 1.0 - self._alphas)
        self.refit_prior = _check_real("refit_prior", refit_prior, 0.0, REFIT_PRIOR_MAX, low_open=False,
                                       high_open=False)

    @property
    def guard(self) -> float | np.ndarray:
        """The curvature guard as a multiple of the label scale: eps * 2 min(alpha, 1 - alpha)."""
        return self._guards.copy() if self.multi else float(self._guards[0])

    def _params(self):
        params = {"alpha": self.alpha}
        if self._eps_given is not None:
            params["eps"] = self.eps
        if self.refit_prior != self.DEFAULT_REFIT_PRIOR:
            params["refit_prior"] = self.refit_prior
        return params

    def n_outputs(self, y=None):
        return len(self._alphas) if self.multi else 1

    def leaf_values(self, residual, weight, leaf, n_leaves, k):
        """Each leaf's weighted alpha_k-quantile of residuals (what LightGBM's ``quantile`` refits),
        shrunk towards 0 in a leaf too small to hold a row beyond it.

        A leaf of weight W < N = 1 / min(alpha, 1 - alpha) rows (100 at alpha
        0.01, 2 at the median) has its quantile times W / (W + refit_prior N):
        its quantile is then its extreme row, and XGBoost's default
        ``min_child_weight=1`` lets the small data sets' tail trees grow such
        leaves. ``refit_prior=0`` refits every leaf to its exact quantile, as
        LightGBM's built-in does. The default 0.5 was chosen on sinc, Friedman
        #1, diabetes and the heteroscedastic data (not on engel or randhie)
        against 0.25 and 1 and against a prior on every leaf, W / (W + c N);
        its effect is in ``benchmarks/results/quality_quantile_xgb<version>.md``.
        """
        alpha = float(self._alphas[k])
        if self.refit_prior == 0:
            return grouped_weighted_quantile(residual, weight, leaf, n_leaves, alpha)
        q, w = grouped_weighted_quantile(residual, weight, leaf, n_leaves, alpha, with_totals=True)
        need = 1.0 / min(alpha, 1.0 - alpha)
        small = w < need
        q[small] *= w[small] / (w[small] + self.refit_prior * need)
        return q

    def stall_reason(self, y, w):
        return _level_stall_reason(self._alphas, y, w, "quantile")

    def for_leaf_refit(self):
        """``QuantileRefitGrowth`` at the same levels, unless ``eps`` was given (then this loss)."""
        return self if self._eps_given is not None else QuantileRefitGrowth(self.alpha)

    def _alpha_row(self, xp, m):
        # an array in the margin's dtype, so float32 margins give float32 gradients
        return xp.asarray(self._alphas if self.multi else self.alpha, dtype=m.dtype)

    def point_loss(self, xp, t, m, scale):
        r = t - m
        a = self._alpha_row(xp, m)
        return xp.maximum(a * r, (a - 1.0) * r)

    def grad_curvature(self, xp, t, m, scale):
        r = t - m
        a = self._alpha_row(xp, m)
        g = xp.astype(r <= 0, r.dtype) - a  # -alpha above the fit, 1 - alpha at or below
        # the guard stays above sqrt(tiny) of the dtype, so weights times 1/eps stay finite
        guard = xp.asarray(self._guards if self.multi else self._guards[0], dtype=m.dtype)
        eps = xp.maximum(guard * xp.asarray(scale, dtype=m.dtype), _guard_floor(xp, m.dtype))
        h = 0.5 / xp.maximum(xp.abs(r), eps)
        return g, _floor(xp, h)

    def _eps32(self, scale):
        # the reference's float32 arithmetic: guard x scale rounded as there
        return max(np.float32(self._guards[0]) * np.float32(scale), _F32_SQRT_TINY)

    def _curvature_into(self, r, eps, h):
        """The curvature of the float32 residuals ``r`` written into ``h`` (``numpy_kernel``'s)."""
        np.abs(r, out=h)
        np.clip(h, eps, np.float32(0.5 / CURVATURE_FLOOR), out=h)  # floor by construction
        np.divide(np.float32(0.5), h, out=h)

    def numpy_kernel(self, t, m, scale, g, h, scratch):
        if self.multi:  # (n, K) blocks: the reference kernel
            return super().numpy_kernel(t, m, scale, g, h, scratch)
        r, below = scratch[0], scratch[1].view(np.bool_)[: len(g)]
        np.subtract(t, m, out=r, casting="same_kind")
        np.less_equal(r, 0, out=below)
        np.subtract(below, np.float32(self.alpha), out=g)
        self._curvature_into(r, self._eps32(scale), h)

    def row_params(self, scale):
        if self.multi:
            return None  # (n, K) margins: the NumPy path
        return (self.alpha, float(self._eps32(scale)), 0.5 / CURVATURE_FLOOR)

    @staticmethod
    @_compiled.scalar
    def compiled_row(y, m, alpha, eps, top):
        r = y - m
        g = (_f32(1.0) if r <= 0 else _f32(0.0)) - alpha
        return g, _f32(0.5) / min(max(abs(r), eps), top)

    def fit_intercept_only(self, y, w, n_outputs):
        q = np.asarray(weighted_quantile(y, w, self._alphas if self.multi else self.alpha), dtype=np.float64)
        # The optimum is a label. XGBoost and LightGBM store labels in float32:
        # starting from that label's float32 value puts its row at a residual
        # of exactly 0 in the framework at any label scale, instead of a
        # rounding error whose sign (hence gradient) depends on the scale.
        with np.errstate(over="ignore"):
            q32 = q.astype(np.float32).astype(np.float64)
        # only where float32 holds it: a label it rounds to 0 (or inf) keeps its float64 value
        held = np.isfinite(q32) & ((q32 != 0) | (q == 0))
        return np.where(held, q32, q)


class QuantileRefitGrowth(Quantile):
    r"""The pinball gradient with the curvature that grows trees whose leaves are refit exactly.

    .. math::
        g = -\alpha \text{ if } r > 0 \text{ else } 1 - \alpha,
        \quad h = \epsilon / (\epsilon + |r|),\quad \epsilon = 64 s

    Under an exact leaf refit (``boostobj.leaf_refit``) the curvature only
    shapes the splits. This one is nearly flat (above 0.94 within 4 label
    scales s), as LightGBM's own quantile objective grows its trees, and
    strictly decreasing in |r|, so no two candidate splits tie exactly.
    Measured against it (LightGBM, 9 levels, heteroscedastic, sinc,
    Friedman, diabetes; then the extreme levels on diabetes, engel and the
    heteroscedastic data; ratios to LightGBM's built-in, 5 seeds): the
    ``Quantile`` guard eps with its level factor over-fits the extreme
    levels of 309 diabetes rows (eps 8: 1.27-1.32); epsilon = 8 s here was
    up to 1.107 there; a curvature exactly flat inside the guard made
    splits tie, and rounding broke the ties differently at another label
    scale or weight (labels x1000 changed engel's 1% quantile model by up to
    39%); this one was within 1.012 everywhere it was measured. No
    normalisation: the curvature is at most 1 per unit of weight, so
    ``lambda`` and ``min_child_weight`` count rows (LightGBM's drop-in
    passes weights of mean 1 under the refit; XGBoost's keeps the weights
    as given, so there they count weight, as for squared error).
    """

    normalize_curvature = False
    normalize_per_round = False

    def __init__(self, alpha: float | Sequence[float] = 0.5):
        super().__init__(alpha)
        self._guards = np.full_like(self._guards, self.REFIT_GUARD)

    def grad_curvature(self, xp, t, m, scale):
        r = t - m
        g = xp.astype(r <= 0, r.dtype) - self._alpha_row(xp, m)
        eps = xp.maximum(xp.asarray(self.REFIT_GUARD * np.asarray(scale), dtype=m.dtype),
                         _guard_floor(xp, m.dtype))
        return g, _floor(xp, eps / (eps + xp.abs(r)))

    # The drop-ins' default quantile objective, so a hot path (the reference kernel cost a
    # third of LightGBM's own tree at 1M rows): Quantile's kernels with this curvature.
    def _eps32(self, scale):
        # the reference's float32 epsilon: the guard times the scale in float64, then rounded
        return max(np.float32(self.REFIT_GUARD * float(scale)), _F32_SQRT_TINY)

    def _curvature_into(self, r, eps, h):
        np.abs(r, out=h)
        np.add(h, eps, out=h)
        np.divide(eps, h, out=h)
        np.maximum(h, np.float32(CURVATURE_FLOOR), out=h)

    @staticmethod
    @_compiled.scalar
    def compiled_row(y, m, alpha, eps, top):  # top: Quantile's, unused here
        r = y - m
        g = (_f32(1.0) if r <= 0 else _f32(0.0)) - alpha
        return g, max(eps / (eps + abs(r)), _f32(CURVATURE_FLOOR))

    def for_leaf_refit(self):
        return self


# Labels that imply more classes than this need an explicit K (focal).
MAX_IMPLIED_CLASSES = 1000


def weighted_expectile(values: np.ndarray, weights: np.ndarray | None, alpha: Any) -> np.ndarray:
    """The exact weighted alpha-expectile(s): the c with sum w |alpha - [y < c]| (y - c) = 0.

    Between consecutive sorted labels that equation is linear in c, so the
    root is the weighted mean, with weights w (1 - alpha) below and w alpha
    above, of the one segment that contains it (Newey & Powell 1987).
    """
    keep = slice(None) if weights is None else weights > 0
    y = np.asarray(values, dtype=np.float64)[keep]
    w = np.ones_like(y) if weights is None else np.asarray(weights, dtype=np.float64)[keep]
    order = np.argsort(y, kind="stable")
    y, w = y[order], w[order]
    cw = np.concatenate([[0.0], np.cumsum(w)])  # weight of the j smallest labels
    cwy = np.concatenate([[0.0], np.cumsum(w * y)])
    lo = np.concatenate([[-np.inf], y])  # segment j: c in [y[j-1], y[j]]
    hi = np.concatenate([y, [np.inf]])
    out = []
    for a in np.atleast_1d(alpha):
        c = ((1 - a) * cwy + a * (cwy[-1] - cwy)) / ((1 - a) * cw + a * (cw[-1] - cw))
        miss = np.maximum(lo - c, 0.0) + np.maximum(c - hi, 0.0)  # 0 in its own segment
        out.append(c[np.argmin(miss)])
    return np.asarray(out if np.ndim(alpha) else out[0])


class Expectile(Loss):
    r"""Expectile loss: the asymmetric squared loss (Newey & Powell 1987,
    "Asymmetric least squares estimation and testing", Econometrica).

    .. math::
        l(r) = |\alpha - [r < 0]|\, r^2,\quad
        g = -2 |\alpha - [r < 0]|\, r,\quad h = 2 |\alpha - [r < 0]|

    The smooth sibling of the quantile loss: alpha = 0.5 is squared error
    r^2/2 exactly. The second derivative is exact (it only jumps at r = 0)
    and label-scale free, so no MM curvature or normalisation is needed. A
    list of increasing alphas gives K outputs in one booster, sorted along
    each row like multi-quantile (expectiles of a distribution are
    increasing in alpha). The optimal constant is the weighted sample
    expectile (``weighted_expectile``).
    """

    name = "expectile"
    normalize_curvature = False  # the curvature 2|alpha - [r<0]| does not depend on the label scale

    def __init__(self, alpha: float | Sequence[float] = 0.5):
        self.alpha, self._alphas, self.multi = _check_levels(alpha)
        if self.multi:
            self.link = SortedIdentityLink()

    def _params(self):
        return {"alpha": self.alpha}

    def n_outputs(self, y=None):
        return len(self._alphas) if self.multi else 1

    def stall_reason(self, y, w):
        return _level_stall_reason(self._alphas, y, w, "expectile")

    def _weight(self, xp, r):
        a = xp.asarray(self._alphas if self.multi else self.alpha, dtype=r.dtype)
        # alpha at r >= 0, 1 - alpha below, without a where
        return a + (1.0 - 2.0 * a) * xp.astype(r < 0, r.dtype)

    def point_loss(self, xp, t, m, scale):
        r = t - m
        return self._weight(xp, r) * r * r

    def grad_curvature(self, xp, t, m, scale):
        r = t - m
        c = 2.0 * self._weight(xp, r)
        return -c * r, c

    def fit_intercept_only(self, y, w, n_outputs):
        return weighted_expectile(y, w, self._alphas if self.multi else self.alpha)


# Exponential margins are clipped here: exp(30) ~ 1e13 keeps loss, gradient
# and curvature finite in float32 for any |m| (the loss continues linearly).
_EXP_CLIP = 30.0


def _class_totals(y: np.ndarray, w: np.ndarray | None) -> tuple[float, float]:
    """Total weight of the positive and of the negative labels."""
    return (float(np.sum(y == 1) if w is None else np.sum(w[y == 1])),
            float(np.sum(y == 0) if w is None else np.sum(w[y == 0])))


class _BinaryLoss(Loss):
    """Binary loss on the logit margin: labels {0, 1}, P(y=1) = sigmoid(m)."""

    task = "binary"
    link = LogitLink()
    normalize_curvature = False  # curvature is label-scale free already
    start = "class_table"

    def check_labels(self, y, n_outputs):
        super().check_labels(y, n_outputs)
        bad = (y != 0) & (y != 1)
        if bad.any():
            raise ValueError(
                f"{self.name} is a binary loss: labels must be 0 or 1, "
                f"got {np.unique(y[bad])[:5].tolist()}"
            )

    def check_n_outputs(self, k):
        if k != 1:
            raise ValueError(
                f"{self.name} is a binary loss (one margin column, labels 0 and 1), but the model has "
                f"{k} output columns ({k} classes): use boostobj.focal() for {k} classes (softmax), "
                "or train one binary model per class"
            )

    def encode_labels(self, xp, y, n_outputs):
        return 2.0 * y - 1.0  # the sign s

    def label_scale(self, y, w, init):
        return np.ones(np.shape(init))

    def fit_intercept_only(self, y, w, n_outputs):
        """1-D solve of the two-group problem (all rows share the margin)."""
        from scipy.optimize import brentq

        w1, w0 = _class_totals(y, w)
        s = np.array([1.0, -1.0])
        ww = np.array([w1, w0])

        def d(c: float) -> float:
            g, _ = self.grad_curvature(np, s, np.full(2, c), np.ones(()))
            return float(np.dot(ww, g))

        lo, hi = -2 * _EXP_CLIP, 2 * _EXP_CLIP
        if d(lo) >= 0:
            return np.asarray(lo)
        if d(hi) <= 0:
            return np.asarray(hi)
        return np.asarray(brentq(d, lo, hi, xtol=1e-12, rtol=1e-14, maxiter=200, disp=False))


class Exponential(_BinaryLoss):
    r"""Exponential (AdaBoost) loss on the logit margin.

    The population minimiser of :math:`E[e^{-sF}]` is half the log-odds
    (Friedman, Hastie & Tibshirani 2000, "Additive logistic regression", Ann.
    Statist.). On the margin :math:`m = 2F`:

    .. math::
        l = e^{-s m/2},\quad g = -\tfrac{s}{2} e^{-s m/2},\quad h = \tfrac14 e^{-s m/2}

    so :math:`\operatorname{sigmoid}(m) = P(y=1)`. The exponent is clipped at
    30; beyond it the loss continues linearly (value and gradient stay
    consistent) and the curvature stays at its value there, so nothing
    overflows for any finite margin. The optimal constant is the log-odds.
    """

    name = "exponential"
    float64_margin = "float32"

    def point_loss(self, xp, t, m, scale):
        z = -0.5 * t * m
        zc = xp.minimum(z, _EXP_CLIP)
        return xp.exp(zc) * (1.0 + (z - zc))

    def grad_curvature(self, xp, t, m, scale):
        e = xp.exp(xp.minimum(-0.5 * t * m, _EXP_CLIP))
        return -0.5 * t * e, _floor(xp, 0.25 * e)

    def numpy_kernel(self, t, m, scale, g, h, scratch):
        u, z = scratch[0], scratch[1]
        np.multiply(t, np.float32(-0.5), out=u)  # -s/2, exact
        np.multiply(u, m, out=z, casting="same_kind")  # the rounded margin times -s/2, exact
        # clip with two bounds: NumPy vectorises it, not minimum with a scalar
        np.clip(z, -_F32_MAX, np.float32(_EXP_CLIP), out=z)
        np.exp(z, out=h)
        np.multiply(u, h, out=g)
        np.multiply(h, np.float32(0.25), out=h)
        np.clip(h, np.float32(CURVATURE_FLOOR), _F32_MAX, out=h)

    def row_params(self, scale):
        return (_EXP_CLIP, CURVATURE_FLOOR, 0.0)

    @staticmethod
    @_compiled.scalar
    def compiled_row(y, m, clip, floor, p2):
        u = _f32(0.5) - y  # -s/2 = 1/2 - y, exact
        e = _compiled.exp32(min(u * m, clip))
        return u * e, max(e * _f32(0.25), floor)


class Focal(_BinaryLoss):
    r"""Focal loss (Lin, Goyal, Girshick, He & Dollar 2017, "Focal Loss for
    Dense Object Detection", ICCV).

    Binary, with :math:`p_t` the probability of the true class and
    :math:`z = s m` so that :math:`p_t = \sigma(z)`, :math:`q = 1 - p_t`,
    :math:`L = -\log p_t = \operatorname{softplus}(-z)`:

    .. math::
        FL = \alpha_t q^\gamma L,\quad
        \frac{\partial FL}{\partial m} = -s\,\alpha_t q^\gamma (\gamma p_t L + q)

    The exact second derivative
    :math:`\alpha_t q^\gamma p_t [q(1+2\gamma) + \gamma L(\gamma p_t - q)]`
    is negative for badly misclassified rows (minimum about -0.047 near
    :math:`|z| = 3.85` for gamma=2); the curvature used is the exact one where
    it is at least the Gauss-Newton term :math:`\alpha_t q^\gamma p_t q`, and
    that term otherwise, so it is never negative and is exactly the logistic
    hessian :math:`p(1-p)` when gamma=0 (then the loss is the logistic loss).

    Multi-class (a margin with K >= 2 columns, labels 0..K-1): softmax
    probabilities, :math:`FL = -\alpha_c (1-u)^\gamma \log u` with u the
    probability of the true class c. Gradient
    :math:`D (p_k - [k=c])` with
    :math:`D = \alpha_c (1-u)^\gamma (1 + \gamma u (-\log u)/(1-u)) \ge 0`;
    curvature :math:`\tfrac{K}{K-1} D p_k (1 - p_k)` (Friedman 2001's
    multi-class scaling), positive.

    ``alpha`` weights the positive class in the binary case (alpha_t = alpha
    for y=1, 1-alpha for y=0; None means 1 for both). For multi-class it may
    be a sequence of K positive class weights, which also fixes K; a scalar
    alpha with K > 2 classes is a ValueError naming ``alpha``. Without such a
    sequence K is inferred from the labels (0..K-1) up to
    ``MAX_IMPLIED_CLASSES``; more classes must be given explicitly.
    """

    name = "focal"
    float64_margin = "float32"
    compiled_row_blocks = True  # exp, log1p and a division per row

    def __init__(self, gamma: float = 2.0, alpha: float | Sequence[float] | None = None):
        self.gamma = _check_real("gamma", gamma, 0.0, GAMMA_MAX, low_open=False, high_open=False)
        if alpha is None:
            self.alpha = None
        elif np.ndim(alpha) == 0:
            self.alpha = _check_level("alpha", alpha)
        else:
            weights = [_check_real(f"alpha[{i}]", a, CLASS_WEIGHT_MIN, CLASS_WEIGHT_MAX, low_open=False,
                                   high_open=False) for i, a in enumerate(alpha)]
            if len(weights) < 2:
                raise ValueError("alpha as a sequence needs one positive weight per class (K >= 2)")
            self.alpha = tuple(weights)

    def _params(self):
        return {"gamma": self.gamma, "alpha": self.alpha}

    # ---- labels: binary for a 1-D margin, softmax for K columns -----------
    def n_outputs(self, y=None):
        if isinstance(self.alpha, tuple):
            return len(self.alpha)
        if y is None or len(y) == 0 or not np.isfinite(y).all():
            return 1  # the label check then names the problem
        top = float(np.max(y))
        if top != int(top) or np.min(y) < 0:
            return 1  # not class indices: the binary label check names the problem
        k = int(top) + 1
        if k > MAX_IMPLIED_CLASSES:
            # a stray label (an id, a count) would otherwise build a K x K start problem
            raise ValueError(
                f"focal: the labels (largest {top:g}) imply K={k} classes; more than "
                f"{MAX_IMPLIED_CLASSES} classes must be given explicitly: alpha with K class weights, "
                "n_outputs=K (init_score), num_class=K (xgb.train / lgb.train). Labels must be the "
                "class indices 0..K-1: encode them with sklearn's LabelEncoder, or use the "
                "boostobj.sklearn classifiers, which do"
            )
        return 1 if k <= 2 else k

    def check_n_outputs(self, k):
        if isinstance(self.alpha, tuple) and k != len(self.alpha):
            hint = " (two classes: a scalar alpha, the weight of class 1)" if k == 1 else ""
            raise ValueError(
                f"alpha has {len(self.alpha)} class weights but the model has {k} output "
                f"column(s){hint}"
            )
        if self.alpha is not None and not isinstance(self.alpha, tuple) and k > 1:
            raise ValueError(
                f"alpha={self.alpha!r} is the binary focal weight (alpha for class 1, 1 - alpha for "
                f"class 0); a {k}-class model needs alpha as a sequence of {k} class weights "
                "(or alpha=None)"
            )

    def check_labels(self, y, n_outputs):
        if n_outputs == 1:
            return super().check_labels(y, n_outputs)
        Loss.check_labels(self, y, n_outputs)
        bad = (y != np.round(y)) | (y < 0) | (y >= n_outputs)
        if bad.any():
            raise ValueError(
                f"multi-class focal: labels must be integers in [0, {n_outputs - 1}] "
                f"(K={n_outputs} outputs), got {np.unique(y[bad])[:5].tolist()}"
            )

    def encode_labels(self, xp, y, n_outputs):
        if n_outputs == 1:
            return super().encode_labels(xp, y, n_outputs)
        classes = xp.arange(n_outputs, dtype=y.dtype)
        return xp.astype(y[:, None] == classes[None, :], y.dtype)  # one-hot

    def predict_link(self, n_outputs: int):
        # the focal optimum is not the class posterior for gamma > 0: invert it
        return FocalLogitLink(self.gamma) if n_outputs == 1 else FocalSoftmaxLink(self.gamma)

    # ---- binary kernels ---------------------------------------------------
    def _alpha_t(self, xp, s, m):
        if self.alpha is None:
            return 1.0
        # alpha for s = +1, 1 - alpha for s = -1, without a where
        return (self.alpha - 0.5) * s + 0.5

    def point_loss(self, xp, t, m, scale):
        if m.ndim == 2 and m.shape[1] > 1:
            return self._multi_loss(xp, t, m)
        z = t * m
        q = _math.sigmoid(xp, -z)
        return self._alpha_t(xp, t, m) * q**self.gamma * _math.softplus(xp, -z)

    def grad_curvature(self, xp, t, m, scale):
        if m.ndim == 2 and m.shape[1] > 1:
            return self._multi_grad(xp, t, m)
        gam = self.gamma
        z = t * m
        # one exp(-|z|), one log1p and one division give -log p_t, p_t and q,
        # all to full relative precision and with no overflow for any finite z:
        # with e = exp(-|z|) and d = 1/(1+e), {p_t, q} = {d, e d}, d for the
        # larger one. A 0/1 mask picks the numerator (1 or e) exactly and is
        # ~30x cheaper than where; 1 - p_t would lose q when p_t ~ 1.
        e = xp.exp(-xp.abs(z))
        d = 1.0 / (1.0 + e)
        pos = xp.astype(z >= 0, z.dtype)
        neg = 1.0 - pos
        p_t = (pos + neg * e) * d
        q = (neg + pos * e) * d
        big_l = xp.maximum(-z, 0.0) + xp.log1p(e)  # softplus(-z) = -log p_t
        a = self._alpha_t(xp, t, m)
        if gam == 0:
            aq = a * xp.ones_like(q)
        elif gam == int(gam) and gam <= 4:
            aq = a * q ** int(gam)  # small integer powers are multiplications
        else:
            aq = a * xp.exp(-gam * (big_l + z))  # q^gamma, log q = -softplus(z)
        g = -t * aq * (gam * p_t * big_l + q)
        if gam == 0:
            return g, _floor(xp, aq * p_t * q)
        # exact = aq p_t [q(1 + 2 gamma) + gamma L (gamma p_t - q)], Gauss-Newton
        # aq p_t q: the larger of the two is aq p_t times the larger bracket
        bracket = xp.maximum(q * (1.0 + 2.0 * gam) + gam * big_l * (gam * p_t - q), q)
        return g, _floor(xp, aq * p_t * bracket)

    def numpy_kernel(self, t, m, scale, g, h, scratch):
        if m.ndim == 2:  # softmax blocks: the reference kernel
            return super().numpy_kernel(t, m, scale, g, h, scratch)
        # the reference's exact forms in place (a 0/1 mask picks 1 or e exactly,
        # as there; masked copies and where are 10x slower than arithmetic)
        z, e, big_l, pos, neg, d = scratch[:6]
        gam, f32 = self.gamma, np.float32
        np.multiply(t, m, out=z, casting="same_kind")  # s = +-1: the rounded margin, sign-flipped
        np.abs(z, out=e)
        np.negative(e, out=e)
        np.exp(e, out=e)  # e = exp(-|z|)
        np.log1p(e, out=big_l)
        np.clip(z, -_F32_MAX, f32(0.0), out=pos)
        np.subtract(big_l, pos, out=big_l)  # L = max(-z, 0) + log1p(e) = -log p_t
        np.greater_equal(z, f32(0.0), out=pos, casting="unsafe")  # 1.0 where z >= 0
        np.subtract(f32(1.0), pos, out=neg)
        np.add(e, f32(1.0), out=d)
        np.divide(f32(1.0), d, out=d)
        np.multiply(neg, e, out=h)
        np.add(h, pos, out=h)
        np.multiply(h, d, out=h)  # p_t = (pos + neg e) d
        np.multiply(pos, e, out=g)
        np.add(neg, g, out=neg)
        np.multiply(neg, d, out=neg)  # q = (neg + pos e) d
        p_t, q, aq, tmp = e, neg, d, pos
        np.copyto(p_t, h)
        # aq = alpha_t q^gamma; every product below in the reference's order,
        # so the result is bit-identical to it (tests/test_array_api.py)
        if gam == 0:
            aq.fill(1.0)
        elif gam == 2:
            np.multiply(q, q, out=aq)
        elif gam == int(gam) and gam <= 4:
            np.power(q, f32(gam), out=aq)
        else:
            np.add(big_l, z, out=aq)
            np.multiply(aq, f32(-gam), out=aq)
            np.exp(aq, out=aq)  # q^gamma = exp(-gamma softplus(z)), softplus(z) = L + z
        if self.alpha is not None:
            np.multiply(t, f32(self.alpha - 0.5), out=tmp)
            np.add(tmp, f32(0.5), out=tmp)
            np.multiply(tmp, aq, out=aq)
        # g = -s aq (gamma p_t L + q); s aq is exact (s = +-1)
        np.multiply(p_t, f32(gam), out=g)
        np.multiply(g, big_l, out=g)
        np.add(g, q, out=g)
        np.multiply(g, aq, out=g)
        np.multiply(g, t, out=g)
        np.negative(g, out=g)
        # h = (aq p_t) max(q (1 + 2 gamma) + (gamma L) (gamma p_t - q), q)
        if gam == 0:
            np.copyto(h, q)
        else:
            np.multiply(p_t, f32(gam), out=h)
            np.subtract(h, q, out=h)
            np.multiply(big_l, f32(gam), out=tmp)
            np.multiply(tmp, h, out=h)
            np.multiply(q, f32(1.0 + 2.0 * gam), out=tmp)
            np.add(tmp, h, out=h)
            np.maximum(h, q, out=h)
        np.multiply(aq, p_t, out=tmp)
        np.multiply(tmp, h, out=h)
        np.clip(h, f32(CURVATURE_FLOOR), _F32_MAX, out=h)

    def row_params(self, scale):
        if isinstance(self.alpha, tuple):
            return None  # softmax: the NumPy path
        # alpha_t = a s + b: alpha for s = +1, 1 - alpha for s = -1 (1 for both without alpha)
        a, b = (0.0, 1.0) if self.alpha is None else (self.alpha - 0.5, 0.5)
        return (self.gamma, a, b)

    @property
    def compiled_row(self):
        # gamma fixed at compile time: a branch on it per row stops the loop vectorising (15x slower)
        g = self.gamma
        return _FOCAL_ROWS[int(g)] if g == int(g) and g in _FOCAL_ROWS else _FOCAL_ROWS[-1]

    # ---- multi-class kernels ----------------------------------------------
    def _class_alpha(self, xp, onehot, m):
        if self.alpha is None:
            return 1.0
        a = xp.asarray(self.alpha, dtype=m.dtype)
        return xp.sum(onehot * a[None, :], axis=1)

    def _true_class(self, xp, onehot, m):
        logp = _math.log_softmax(xp, m)
        # picked by where, not by a product: logp is -inf 1e308 below the largest margin
        log_u = xp.sum(xp.where(onehot > 0, logp, 0.0), axis=1)
        return logp, log_u

    def _multi_loss(self, xp, onehot, m):
        _, log_u = self._true_class(xp, onehot, m)
        one_minus_u = -xp.expm1(log_u)
        return self._class_alpha(xp, onehot, m) * one_minus_u**self.gamma * (-log_u)

    def _multi_grad(self, xp, onehot, m):
        gam = self.gamma
        k = m.shape[1]
        logp, log_u = self._true_class(xp, onehot, m)
        p = xp.exp(logp)
        u = xp.exp(log_u)
        one_minus_u = -xp.expm1(log_u)
        safe = xp.where(one_minus_u > 0, one_minus_u, 1.0)
        # (-log u)/(1-u) -> 1 as u -> 1; -log u capped at the dtype's largest, so u = 0
        # (a margin 1e308 below another) gives u * ratio = 0, not 0 * inf
        neg_log_u = xp.minimum(-log_u, float(xp.finfo(m.dtype).max))
        ratio = xp.where(one_minus_u > 0, neg_log_u / safe, 1.0)
        d = self._class_alpha(xp, onehot, m) * one_minus_u**gam * (1.0 + gam * u * ratio)
        d = d[:, None]
        g = d * (p - onehot)
        h = (k / (k - 1.0)) * d * p * (1.0 - p)
        return g, _floor(xp, h)

    def fit_intercept_only(self, y, w, n_outputs):
        if n_outputs == 1:
            return super().fit_intercept_only(y, w, n_outputs)
        return self._multi_intercept(y, w, n_outputs)

    def _multi_intercept(self, y, w, k):
        """K-dim solve on K pseudo-rows (one per class, weight = class weight)."""
        from scipy.optimize import minimize

        ww = np.bincount(y.astype(np.int64), weights=w, minlength=k).astype(np.float64)
        # class shares, not totals: the solver's tolerances are absolute, and weights of one
        # common scale (1e-10 or 1e10) must give the same start
        ww = ww / ww.sum()
        onehot = np.eye(k)
        prior = np.log(np.clip(ww / ww.sum(), 1e-12, None))
        prior -= prior.mean()

        def fun(c):
            m = np.broadcast_to(c, (k, k))
            val = float(np.dot(ww, self._multi_loss(np, onehot, m)))
            g, _ = self._multi_grad(np, onehot, m)
            return val, ww @ g

        bound = 2 * _EXP_CLIP
        res = minimize(fun, prior, jac=True, method="L-BFGS-B",
                       bounds=[(-bound, bound)] * k, options={"gtol": 1e-12, "ftol": 1e-15})
        c = res.x - res.x.mean()
        return np.clip(c, -bound, bound)


@_compiled.scalar
def _focal_row(y, m, gam, a, b, power):
    """Focal's binary ``grad_curvature`` for one row (the same exact forms: see there), on the label y.

    ``power``: gamma when it is an integer 0-4 (q^gamma by multiplication,
    as the reference), else -1 (q^gamma = exp(-gamma softplus(z))); a
    constant in each caller, so the compiler removes the other branches.
    """
    t = _f32(2.0) * y - _f32(1.0)  # the sign s, exact
    z = t * m
    e = _compiled.exp32_nonpositive(-abs(z))
    d = _f32(1.0) / (_f32(1.0) + e)
    p_t = d if z >= 0 else e * d
    q = e * d if z >= 0 else d
    # -log p_t = max(-z, 0) + log1p(e), e in [0, 1]
    big_l = max(-z, _f32(0.0)) + _compiled.log1p_unit32(e)
    at = a * t + b
    if power == 0:
        aq = at
    elif power == 1:
        aq = at * q
    elif power == 2:
        aq = at * (q * q)
    elif power == 3:
        aq = at * (q * q * q)
    elif power == 4:
        aq = at * ((q * q) * (q * q))
    else:
        aq = at * _compiled.exp32(-gam * (big_l + z))
    g = -t * aq * (gam * p_t * big_l + q)
    if power == 0:
        return g, max(aq * p_t * q, _f32(CURVATURE_FLOOR))
    bracket = max(q * (_f32(1.0) + _f32(2.0) * gam) + gam * big_l * (gam * p_t - q), q)
    return g, max(aq * p_t * bracket, _f32(CURVATURE_FLOOR))


def _focal_row_for(power: int) -> Any:
    def row(y, m, gam, a, b):
        return _focal_row(y, m, gam, a, b, power)
    row.__qualname__ = row.__name__ = f"focal_row_{power if power >= 0 else 'any'}"
    return _compiled.scalar(row)


_FOCAL_ROWS = {k: _focal_row_for(k) for k in (0, 1, 2, 3, 4, -1)}


class Hinge(_BinaryLoss):
    r"""Hinge loss of the support vector machine (Cortes & Vapnik 1995,
    "Support-vector networks", Machine Learning), labels {0, 1}, s = 2y - 1,
    z = s m:

    .. math::
        l = \max(0, 1 - z),\quad g = -s\,[z < 1],
        \quad h = \frac{1}{2 \max(|1 - z|, \epsilon)}

    The second derivative is 0 and the gradient jumps at the hinge. The
    curvature is that of the MM quadratic of Hunter & Lange 2000 (the hinge
    is the pinball loss of level 1 in u = 1 - z:
    :math:`\max(0, u) \le u^2/(4|u_0|) + u/2 + |u_0|/4`), so a Newton step
    is one IRLS step and steps stay bounded at any margin. Within ``eps``
    (margin units) of the hinge the rows share the curvature 1/(2 eps).

    The hinge loss has no probability link: its population minimiser is
    sign(2p - 1) (Lin 2002, "Support vector machines and the Bayes rule in
    classification", Data Min. Knowl. Disc.). ``predict`` gives the class
    (1.0 where m > 0, else 0.0); calibrate the margin (scikit-learn's
    ``CalibratedClassifierCV``) for probabilities. The optimal constant is
    +1 or -1 (the majority class's side of the hinge), 0 on a tie
    (to 1e-6 relative: the frameworks keep weights in float32).
    """

    name = "hinge"
    link = SignLink()

    def __init__(self, eps: float = 0.5):
        self.eps = _check_guard("eps", eps)

    def _params(self):
        return {"eps": self.eps}

    def point_loss(self, xp, t, m, scale):
        return xp.maximum(1.0 - t * m, 0.0)

    def grad_curvature(self, xp, t, m, scale):
        u = 1.0 - t * m
        g = -t * xp.astype(u > 0, m.dtype)
        return g, _floor(xp, 0.5 / xp.maximum(xp.abs(u), self.eps))

    float64_margin = "float32"  # a slope of +-1 and a bounded curvature: well conditioned in m

    def row_params(self, scale):
        return (self.eps, CURVATURE_FLOOR, 0.0)

    @staticmethod
    @_compiled.scalar
    def compiled_row(y, m, eps, floor, p2):
        t = _f32(2.0) * y - _f32(1.0)  # the sign s, exact
        u = _f32(1.0) - t * m
        g = -t if u > _f32(0.0) else _f32(0.0)
        return g, max(_f32(0.5) / max(abs(u), eps), floor)

    def fit_intercept_only(self, y, w, n_outputs):
        w1, w0 = _class_totals(y, w)
        # The constant loss is piecewise linear with slope w0 - w1 on [-1, 1]. A
        # tie (balanced class weights) to float32 precision, the weights' precision
        # in the frameworks, is a tie: any c in [-1, 1] is optimal, take 0.
        if abs(w1 - w0) <= 1e-6 * (w1 + w0):
            return np.asarray(0.0)
        return np.asarray(float(np.sign(w1 - w0)))


class ModifiedHuber(_BinaryLoss):
    r"""Modified Huber loss, scikit-learn's ``SGDClassifier(loss="modified_huber")``
    (Zhang 2004, "Statistical behavior and consistency of classification
    methods based on convex risk minimization", Ann. Statist.), the
    "truncated squared loss" of the loss-function study. With z = s m:

    .. math::
        l = \begin{cases} \max(0, 1 - z)^2 & z \ge -1 \\ -4z & z < -1 \end{cases},
        \quad g = -2 s \operatorname{clip}(1 - z, 0, 2),
        \quad h = \frac{2}{\max(1, z, (1 - z)/2)}

    l(z) = 2 Huber_2(1 - z) for z <= 1 and 0 beyond, so the curvature is
    exact (2) for |z| <= 1, the Huber IRLS weight 4/(1 - z) below -1, and
    2/z above 1, where the exact value 0 is replaced by the smallest
    curvature whose quadratic still majorizes the loss (at z0 > 1 the
    binding point is z = -z0). Every step is an MM step.

    Its population minimiser is clip(2p - 1, -1, 1), so
    P(y=1) = (clip(m, -1, 1) + 1) / 2, scikit-learn's ``predict_proba`` for
    this loss. The estimate saturates at 0 and 1 for |m| >= 1 and is only
    as good as the margin is near [-1, 1] (see the classification
    experiment for how calibrated it is). The optimal constant is
    (W1 - W0) / (W1 + W0).
    """

    name = "modified_huber"
    link = ClippedLinearLink()

    def point_loss(self, xp, t, m, scale):
        z = t * m
        u = xp.clip(1.0 - z, 0.0, 2.0)
        return u * u + 4.0 * xp.maximum(-1.0 - z, 0.0)  # where-free, no squares of large z

    def grad_curvature(self, xp, t, m, scale):
        z = t * m
        g = -2.0 * t * xp.clip(1.0 - z, 0.0, 2.0)
        h = 2.0 / xp.maximum(xp.maximum(z, 0.5 * (1.0 - z)), 1.0)
        return g, _floor(xp, h)

    float64_margin = "float32"  # gradient and curvature Lipschitz in m: well conditioned

    def row_params(self, scale):
        return (0.0, CURVATURE_FLOOR, 0.0)

    @staticmethod
    @_compiled.scalar
    def compiled_row(y, m, p0, floor, p2):
        t = _f32(2.0) * y - _f32(1.0)  # the sign s, exact
        z = t * m
        g = _f32(-2.0) * t * min(max(_f32(1.0) - z, _f32(0.0)), _f32(2.0))
        h = _f32(2.0) / max(max(z, _f32(0.5) * (_f32(1.0) - z)), _f32(1.0))
        return g, max(h, floor)

    def fit_intercept_only(self, y, w, n_outputs):
        w1, w0 = _class_totals(y, w)
        return np.asarray((w1 - w0) / (w1 + w0))

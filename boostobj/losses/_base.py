"""The loss contract (``Loss``), the parameter ranges and the pieces every loss shares."""

from __future__ import annotations

import math
from numbers import Real
from typing import Any

import numpy as np

from boostobj.link import (
    IdentityLink,
)
from boostobj.weighted import (
    weighted_quantile,
)

Array = Any

# Floor on every curvature, as XGBoost's own logistic loss does (kRtEps):
# keeps hessians strictly positive where the exact value underflows.
CURVATURE_FLOOR = 1e-16


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
    (``compiled_row``, numba) per loss, the same math for one row. Wrap a loss as
    ``boostobj.Objective(MyLoss(...), "my_factory")`` in a factory decorated
    with ``boostobj.register``.

    Examples
    --------
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
    compiled_row : scalar function or None
        The same math for one row, ``compiled_row(y, m, p0, p1, p2) -> (g, h)``
        on float32 scalars: the label as stored (``encode_labels`` is the
        row's own job), the margin, the parameters of ``row_params(scale)``,
        decorated with ``boostobj._compiled.scalar``. The adapter runs it over
        all rows in one compiled pass (numba, ``boostobj._compiled``); without
        it, or where numba is unavailable, every call runs
        ``grad_curvature``, a block of rows at a time. These two kernels are
        the only ones a loss has; ``tests/test_fast_path.py`` holds the row
        to the reference within float32 rounding.
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

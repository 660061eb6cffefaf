"""Losses written by users: ``boostobj.custom`` turns element-wise functions into an Objective.

A user loss gets what the shipped ones get: a positive, finite curvature
(Newton, the majorizing IRLS weight, or the user's own), the loss-optimal
start, the matching eval metric, scale normalisation, the link to the target
scale, label checks, model files (through a factory decorated with
``boostobj.register``), the drop-ins, Dask and continued training.
``boostobj.check_loss`` then tests it the way the shipped losses are tested.

Examples
--------
A Lorentzian (Cauchy) loss, robust and not convex, with the majorizing
curvature gradient / residual:

>>> import numpy as np, boostobj
>>> @boostobj.register
... def lorentzian(c: float = 1.0) -> boostobj.Objective:
...     return boostobj.custom(
...         "lorentzian",
...         loss=lambda y, m: 0.5 * c**2 * np.log1p(((y - m) / c) ** 2),
...         gradient=lambda y, m: (m - y) / (1.0 + ((y - m) / c) ** 2),
...         curvature="mm", params={"c": c})
>>> obj = lorentzian(2.0)
>>> obj
boostobj.lorentzian(c=2.0)
>>> y = np.array([0.0, 1.0, 2.0, 50.0])   # one outlier
>>> round(obj.init_score(y), 2)            # near the bulk, not the mean (13.25)
1.04
"""

from __future__ import annotations

import math
from typing import Any, Callable, Mapping

import numpy as np

from boostobj.link import IdentityLink, LogitLink, LogLink
from boostobj.losses import CURVATURE_FLOOR, Loss, weighted_quantile
from boostobj.objective import Objective
from boostobj.registry import FACTORIES

__all__ = ["CustomLoss", "custom"]

Function = Callable[[np.ndarray, np.ndarray], np.ndarray]

LINKS = {"identity": IdentityLink, "log": LogLink, "logit": LogitLink}
LABELS = ("real", "nonnegative", "positive", "binary")
CURVATURES = ("newton", "mm")

# The margin range searched for the start, per link (logit: the binary losses' bound).
_LOGIT_RANGE = 60.0
_LOG_FLOOR = 30.0
_START_GRID = 65


def _check_function(name: str, f: Any, required: bool) -> Function | None:
    if f is None:
        if required:
            raise ValueError(f"{name} is required: pass an element-wise function {name}(y, m)")
        return None
    if not callable(f):
        raise ValueError(f"{name} must be a function {name}(y, m) of NumPy arrays, got {type(f).__name__}")
    return f


def _autodiff(loss: Function, what: str, order: int) -> Function:
    """The ``order``-th derivative of ``loss`` in m (element-wise) by JAX, or a ValueError naming the extra."""
    try:
        import jax
        import jax.numpy as jnp
    except ImportError:
        raise ValueError(
            f"{what} was not given and automatic differentiation needs JAX, which is not installed: "
            f"pass {what}=..., or install the 'autodiff' extra (pip install \".[autodiff]\") and write "
            "loss with jax.numpy") from None
    jax.config.update("jax_enable_x64", True)
    first = jax.grad(lambda y, m: loss(y, m), argnums=1)
    d = jax.vmap(first if order == 1 else jax.grad(first, argnums=1))

    def derivative(y: np.ndarray, m: np.ndarray) -> np.ndarray:
        return np.asarray(d(jnp.asarray(y, dtype=jnp.float64), jnp.asarray(m, dtype=jnp.float64)))

    return derivative


class CustomLoss(Loss):
    """A loss from element-wise NumPy functions of the label and the margin (see ``custom``).

    The reference kernels call the user's functions in float64 (on the host:
    they are NumPy functions); there is no compiled row, so the objective
    runs the NumPy path.
    """

    float64_margin = "exact"

    def __init__(self, name: str, loss: Function, gradient: Function, hessian: Function | None,
                 curvature: str | Function, link: str, params: Mapping[str, Any], start: Any,
                 labels: str | Callable[[np.ndarray], None]):
        self.name = name
        self._loss, self._gradient, self._hessian = loss, gradient, hessian
        self.curvature = curvature
        self.link_name = link
        self.link = LINKS[link]()
        self.params = dict(params)
        self._start = start
        self.labels = labels
        self.task = "binary" if labels == "binary" else "regression"
        # how the start is found (boostobj.dask reduces each kind over the cluster); a start
        # function of its own needs every label at once
        self.start = "class_table" if self.task == "binary" else ("given" if callable(start) else "minimize")
        # scale-dependent curvature normalisation for regression; a binary loss's is scale free
        self.normalize_curvature = self.task == "regression"

    def _params(self) -> dict:
        return dict(self.params)

    # ---- labels -----------------------------------------------------------
    def check_labels(self, y: np.ndarray, n_outputs: int) -> None:
        super().check_labels(y, n_outputs)
        if callable(self.labels):
            self.labels(y)
            return
        bad = {"real": np.zeros(len(y), bool), "nonnegative": y < 0, "positive": y <= 0,
               "binary": (y != 0) & (y != 1)}[self.labels]
        if bad.any():
            want = {"nonnegative": ">= 0", "positive": "> 0", "binary": "0 or 1"}[self.labels]
            raise ValueError(f"{self.name} takes labels {want} (labels={self.labels!r}), "
                             f"got {np.unique(y[bad])[:5].tolist()}")

    def encode_labels(self, xp: Any, y: Any, n_outputs: int) -> Any:
        return y  # the user's functions take the labels as given

    # ---- math: the user's functions, guarded ------------------------------
    def _host(self, t: Any, m: Any) -> tuple[np.ndarray, np.ndarray]:
        return tuple(np.broadcast_arrays(_to_numpy(t), _to_numpy(m)))  # type: ignore[return-value]

    def point_loss(self, xp: Any, t: Any, m: Any, scale: Any) -> Any:
        y, mm = self._host(t, m)
        with np.errstate(all="ignore"):  # a user's exp(m) far out: saturated below, not a warning
            out = np.asarray(self._loss(y, mm), dtype=np.float64)
        top = float(np.finfo(np.float64).max)
        return _back(np.clip(out, -top, top), t)

    def grad_curvature(self, xp: Any, t: Any, m: Any, scale: Any) -> tuple[Any, Any]:
        dtype = getattr(m, "dtype", np.float64)
        y, mm = self._host(t, m)
        with np.errstate(all="ignore"):
            g = np.asarray(self._gradient(y, mm), dtype=np.float64)
            h = self._curvature_of(y, mm, g, scale)
        top = _largest(m)  # the output dtype's: a float32 output saturates, never inf
        g = np.clip(np.nan_to_num(g, nan=0.0), -top, top)
        # positive and finite whatever the user's function gave: NaN (0/0 at a kink) and
        # non-positive values take the floor, as XGBoost's own losses do
        h = np.where(np.isfinite(h) & (h > CURVATURE_FLOOR), np.minimum(h, top), CURVATURE_FLOOR)
        if not isinstance(m, np.ndarray) and hasattr(m, "__array_namespace__"):
            xp = m.__array_namespace__()
            return xp.asarray(g, dtype=dtype), xp.asarray(h, dtype=dtype)
        return g.astype(dtype, copy=False), h.astype(dtype, copy=False)

    def _curvature_of(self, y: np.ndarray, m: np.ndarray, g: np.ndarray, scale: Any) -> np.ndarray:
        if callable(self.curvature):
            return np.asarray(self.curvature(y, m), dtype=np.float64)
        if self.curvature == "newton":
            return np.asarray(self._hessian(y, m), dtype=np.float64)
        # "mm": gradient / residual, the IRLS weight psi(r)/r; near r = 0 it is taken at a
        # residual of 1e-6 label scales (a majorizing weight decreases in |r|, so that is its
        # value at 0 to within its smoothness)
        r = m - y
        near = 1e-6 * max(float(np.max(scale)), 1e-300)
        small = np.abs(r) < near
        if not small.any():
            return g / r
        step = np.where(small, np.where(r < 0, -near, near), r)
        g_at = np.where(small, np.asarray(self._gradient(y, y + step), dtype=np.float64), g)
        return g_at / step

    # ---- start and scale ---------------------------------------------------
    def fit_intercept_only(self, y: np.ndarray, w: np.ndarray | None, n_outputs: int) -> np.ndarray:
        if callable(self._start):
            start = np.asarray(self._start(y, w), dtype=np.float64)
            if start.ndim != 0 or not np.isfinite(start):
                raise ValueError(f"{self.name}: start(y, w) must return one finite margin, got {start!r}")
            return start
        def mean_gradient(c: float) -> float:
            g, _ = self.grad_curvature(np, y, np.full(len(y), c), np.ones(()))
            with np.errstate(over="ignore"):
                return float(np.average(g, weights=w))

        return np.asarray(minimize_mean_loss(self, y, w, mean_gradient=mean_gradient))

    def margin_range(self, y: np.ndarray) -> tuple[float, float]:
        """The margins the start is searched in: the labels' range on the margin scale."""
        if self.link_name == "logit":
            return -_LOGIT_RANGE, _LOGIT_RANGE
        if self.link_name == "log":
            positive = y[y > 0]
            if not positive.size:  # all labels 0: the infimum is at -inf; start where exp(m) ~ 1e-13
                return -_LOG_FLOOR, -_LOG_FLOOR
            # a mean over zeros and positives (a log link's usual optimum) can lie below the
            # smallest positive label: the range reaches 1e-13 of it
            return math.log(float(positive.min())) - _LOG_FLOOR, math.log(float(positive.max()))
        return float(np.min(y)), float(np.max(y))

    def label_scale(self, y: np.ndarray, w: np.ndarray | None, init: np.ndarray) -> np.ndarray:
        """The base rule (residuals on the target scale, through ``target_of``); 1 for a binary loss."""
        return np.ones(np.shape(init)) if self.task != "regression" else super().label_scale(y, w, init)

    def typical_curvature(self, init: np.ndarray, scale: np.ndarray) -> np.ndarray:
        """The curvature at the start margin for a label one scale above the start's prediction."""
        m = np.atleast_1d(np.asarray(init, dtype=np.float64))
        t = self.link.inverse(m) + np.atleast_1d(scale)
        return np.reshape(self.grad_curvature(np, t, m, scale)[1], np.shape(init))

    def __reduce__(self) -> Any:
        # rebuilt by its registered factory (pickled by reference), so user functions
        # defined inline (lambdas) travel to Dask workers and into pickled models
        factory = FACTORIES.get(self.name)
        if factory is None:
            raise TypeError(f"{self.name}: a custom loss is pickled through its factory; decorate the "
                            "function that calls boostobj.custom with @boostobj.register (at module level)")
        return _rebuild, (factory, self.params)


def _largest(like: Any) -> float:
    """The largest finite value of ``like``'s floating dtype (float64 for anything else)."""
    dtype = getattr(like, "dtype", np.float64)
    if not isinstance(like, np.ndarray) and hasattr(like, "__array_namespace__"):
        return float(like.__array_namespace__().finfo(dtype).max)
    return float(np.finfo(dtype if np.dtype(dtype).kind == "f" else np.float64).max)


def _to_numpy(a: Any) -> np.ndarray:
    """A float64 NumPy copy of an array of any namespace (CuPy's ``get``, DLPack, or ``asarray``)."""
    if hasattr(a, "get") and not isinstance(a, np.ndarray):
        a = a.get()
    elif not isinstance(a, (np.ndarray, np.generic, float, int)) and hasattr(a, "__dlpack__"):
        a = np.from_dlpack(a)
    return np.asarray(a, dtype=np.float64)


def _back(out: np.ndarray, like: Any) -> Any:
    """``out`` in the namespace of ``like`` (NumPy stays NumPy)."""
    if isinstance(like, np.ndarray) or not hasattr(like, "__array_namespace__"):
        return out
    return like.__array_namespace__().asarray(out)


def _rebuild(factory: Callable[..., Objective], params: dict) -> Loss:
    return factory(**params).base_loss


def minimize_mean_loss(loss: Loss, y: np.ndarray, w: np.ndarray | None,
                       mean_loss: Callable[[float], float] | None = None,
                       mean_gradient: Callable[[float], float] | None = None) -> float:
    """The constant margin that minimises the weighted mean loss over the labels' margin range.

    A grid first (the loss need not be convex: the best grid point brackets
    the global minimum on the grid's resolution), then Brent's bounded search
    between its neighbours, then a root of the mean gradient there where it
    crosses 0. ``mean_loss(c)`` and ``mean_gradient(c)`` replace the local
    evaluations (``boostobj.dask`` passes distributed ones).
    """
    from scipy.optimize import brentq, minimize_scalar

    if w is not None:  # a row of weight 0 is no row: it neither bounds the range nor counts
        y, w = y[w > 0], w[w > 0]
    lo, hi = loss.margin_range(y)
    if mean_loss is None:
        def mean_loss(c: float) -> float:
            with np.errstate(over="ignore"):  # far from the labels the mean saturates: not the minimum
                return float(np.average(loss.point_loss(np, y, np.full(len(y), c), np.ones(())), weights=w))
    if lo == hi:
        return lo
    # candidates: an even grid and the labels' quantiles on the margin scale, so a narrow
    # basin around a cluster of labels (a robust, non-convex loss) is not stepped over
    levels = np.linspace(0.0, 1.0, _START_GRID)
    at_labels = np.asarray(weighted_quantile(y, w, levels), dtype=np.float64)
    with np.errstate(divide="ignore", invalid="ignore"):
        at_labels = np.asarray(loss.link.link(at_labels), dtype=np.float64) if loss.task == "regression" \
            else np.array([])
    grid = np.unique(np.clip(np.concatenate([np.linspace(lo, hi, _START_GRID),
                                             at_labels[np.isfinite(at_labels)]]), lo, hi))
    values = np.array([mean_loss(float(c)) for c in grid])
    i = int(np.nanargmin(values))
    a, b = grid[max(i - 1, 0)], grid[min(i + 1, len(grid) - 1)]
    found = minimize_scalar(mean_loss, bounds=(a, b), method="bounded",
                            options={"xatol": 1e-12 * (hi - lo) + 1e-300})
    best = float(found.x) if found.fun <= values[i] else float(grid[i])
    # polish on the mean gradient, which crosses 0 at a smooth minimum to full precision
    # (the loss itself is flat there to sqrt(eps))
    if mean_gradient is not None and a < b:
        ga, gb = mean_gradient(a), mean_gradient(b)
        if np.isfinite(ga) and np.isfinite(gb) and ga < 0 < gb:
            root = brentq(mean_gradient, a, b, xtol=1e-14 * (hi - lo) + 1e-300, rtol=1e-15)
            at_best = mean_loss(best)
            if mean_loss(root) <= at_best + 1e-12 * abs(at_best):  # equal to rounding: the root is exact
                best = float(root)
    return best


def custom(name: str, loss: Function, gradient: Function | None = None, hessian: Function | None = None, *,
           curvature: str | Function = "newton", link: str = "identity",
           params: Mapping[str, Any] | None = None,
           start: Callable[[np.ndarray, np.ndarray | None], float] | None = None,
           labels: str | Callable[[np.ndarray], None] = "real") -> Objective:
    """An Objective from element-wise NumPy functions of the label ``y`` and the margin ``m``.

    Parameters
    ----------
    name : str
        The loss's name: the metric's name, and the factory name in model
        files (``@boostobj.register`` a factory of that name that calls
        ``custom``, so ``objective_of`` can rebuild it in a fresh process).
    loss : function
        ``loss(y, m)``: the per-row loss, element-wise on float64 arrays.
    gradient, hessian : function, optional
        ``d loss / d m`` and ``d^2 loss / d m^2``, element-wise. Omitted
        where the optional ``autodiff`` extra (JAX) is installed: then
        derived by automatic differentiation, and ``loss`` must be written
        with ``jax.numpy``; without it a ValueError names the extra.
    curvature : {"newton", "mm"} or function
        What the Newton step divides by. "newton": the second derivative
        (``hessian``), floored to stay positive (1e-16) where it is not;
        fine for convex losses. "mm": the majorizing IRLS weight
        ``gradient / (m - y)``, for losses of the residual whose slope over
        the residual does not grow (Huber, log-cosh, Cauchy); each step then
        never increases the loss. A function ``curvature(y, m)``: your own
        positive curvature.
    link : {"identity", "log", "logit"}
        How the margin maps to the prediction (``obj.predict``): itself,
        ``exp(m)`` (counts, amounts) or ``sigmoid(m)`` (probabilities).
    params : dict, optional
        The keyword arguments the registered factory was called with: they
        are recorded in model files, and ``==`` and ``repr`` compare them.
    start : function, optional
        ``start(y, w) -> margin``. Default: the margin minimising the
        weighted mean loss over the labels' range (a grid, then Brent).
    labels : {"real", "nonnegative", "positive", "binary"} or function
        The valid labels; a function raises ValueError for invalid ones.
        "binary" makes it a classification loss (labels 0 and 1).

    Returns
    -------
    Objective
        Works as every shipped objective does: ``obj=`` in ``xgb.train``,
        the objective in ``lgb.train``, the ``boostobj.sklearn`` drop-ins.

    Examples
    --------
    A Tweedie deviance with a log link (Jorgensen 1987), power p in (1, 2):

    >>> import numpy as np, boostobj
    >>> p = 1.5
    >>> tweedie = boostobj.custom(
    ...     "tweedie",
    ...     loss=lambda y, m: -y * np.exp((1 - p) * m) / (1 - p) + np.exp((2 - p) * m) / (2 - p),
    ...     gradient=lambda y, m: -y * np.exp((1 - p) * m) + np.exp((2 - p) * m),
    ...     hessian=lambda y, m: -(1 - p) * y * np.exp((1 - p) * m) + (2 - p) * np.exp((2 - p) * m),
    ...     link="log", labels="nonnegative", params={"p": p})
    >>> y = np.array([0.0, 1.0, 3.0, 4.0])
    >>> round(float(tweedie.predict(np.array([tweedie.init_score(y)]))[0]), 6)   # the mean
    2.0
    """
    if not isinstance(name, str) or not name.isidentifier():
        raise ValueError(f"name must be a Python identifier (the factory's name), got {name!r}")
    _check_function("loss", loss, required=True)
    if not (callable(curvature) or curvature in CURVATURES):
        raise ValueError(f"curvature must be 'newton', 'mm' or a function curvature(y, m), got {curvature!r}")
    if link not in LINKS:
        raise ValueError(f"link must be one of {sorted(LINKS)}, got {link!r}")
    if not (callable(labels) or labels in LABELS):
        raise ValueError(f"labels must be one of {list(LABELS)} or a function, got {labels!r}")
    if params is not None and (not isinstance(params, Mapping) or not all(isinstance(k, str) for k in params)):
        raise ValueError(f"params must be a dict of the factory's keyword arguments, got {params!r}")
    if start is not None and not callable(start):
        raise ValueError(f"start must be a function start(y, w) -> margin, got {start!r}")
    gradient = _check_function("gradient", gradient, required=False) or _autodiff(loss, "gradient", 1)
    if curvature == "newton":
        hessian = _check_function("hessian", hessian, required=False) or _autodiff(loss, "hessian", 2)
    custom_loss = CustomLoss(name, loss, gradient, hessian, curvature, link, params or {}, start, labels)
    return Objective(custom_loss, name)

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

Examples
--------
>>> import numpy as np
>>> from boostobj.losses import Huber
>>> loss = Huber(delta=1.0)
>>> g, h = loss.grad_curvature(np, np.array([3.0]), np.array([0.0]), scale=1.0)
>>> float(g[0]), float(h[0])   # grad -clip(r), MM curvature delta/|r|
(-1.0, 0.3333333333333333)

The losses by family: ``regression`` (squared error, log-cosh, Huber),
``quantile`` (quantile, expectile), ``binary`` (exponential, hinge, modified
Huber) and ``focal``, over the contract in ``_base`` (``Loss``, the parameter
ranges).
"""

from boostobj.losses._base import (
    CLASS_WEIGHT_MAX,
    CLASS_WEIGHT_MIN,
    CURVATURE_FLOOR,
    DELTA_MAX,
    DELTA_MIN,
    GAMMA_MAX,
    GUARD_MAX,
    GUARD_MIN,
    LEVEL_MAX,
    LEVEL_MIN,
    LOG_COSH_EPS_MAX,
    QUANTILE_EPS_MIN,
    REFIT_PRIOR_MAX,
    Loss,
    abs_residuals,
    first_positive,
)
from boostobj.losses.binary import Exponential, Hinge, ModifiedHuber
from boostobj.losses.focal import MAX_IMPLIED_CLASSES, Focal
from boostobj.losses.quantile import Expectile, Quantile, QuantileRefitGrowth
from boostobj.losses.regression import Huber, LogCosh, SquaredError
from boostobj.weighted import (
    grouped_weighted_quantile,
    weighted_expectile,
    weighted_quantile,
)

__all__ = [
    "CLASS_WEIGHT_MAX", "CLASS_WEIGHT_MIN", "CURVATURE_FLOOR", "DELTA_MAX", "DELTA_MIN", "GAMMA_MAX",
    "GUARD_MAX", "GUARD_MIN", "LEVEL_MAX", "LEVEL_MIN", "LOG_COSH_EPS_MAX", "MAX_IMPLIED_CLASSES",
    "QUANTILE_EPS_MIN", "REFIT_PRIOR_MAX", "Exponential", "Expectile", "Focal", "Hinge", "Huber",
    "LogCosh", "Loss", "ModifiedHuber", "Quantile", "QuantileRefitGrowth", "SquaredError",
    "abs_residuals", "first_positive", "grouped_weighted_quantile", "weighted_expectile",
    "weighted_quantile",
]

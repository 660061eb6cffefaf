"""Losses of the residual: squared error, log-cosh (Saleh & Saleh 2022) and Huber (Huber 1964)."""

from __future__ import annotations

import math

import numpy as np

from boostobj import _compiled
from boostobj._compiled import f32 as _f32
from boostobj._math import F32_MAX as _F32_MAX
from boostobj.losses._base import (
    CURVATURE_FLOOR,
    DELTA_MAX,
    DELTA_MIN,
    GUARD_MIN,
    LOG_COSH_EPS_MAX,
    Loss,
    _check_real,
    _floor,
)


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
    Its effect at labels x1000 is measured in ``benchmarks/results/quality/quality_xgb<version>.md``
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
        # 0/0 out (arithmetic on a 0/1 mask, which costs less than where)
        zero = xp.astype(r == 0, r.dtype)
        h = (th + zero) / (r + zero)
        # tanh(a)/a decreases in a, so evaluating it at max(|r|, guard) is a minimum
        guard = self.eps * float(np.max(scale))
        if guard > 0:
            h = xp.minimum(h, math.tanh(guard) / guard)
        return -th, _floor(xp, h)

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

    def row_params(self, scale):
        return (self.delta, min(self.delta / CURVATURE_FLOOR, float(_F32_MAX)), 0.0)

    @staticmethod
    @_compiled.scalar
    def compiled_row(y, m, d, top, p2):
        u = m - y  # -r: clip(-r) = -clip(r)
        return min(max(u, -d), d), d / min(max(abs(u), d), top)

"""Losses indexed by levels: quantile (pinball; Koenker & Bassett 1978) and expectile (Newey & Powell 1987)."""

from __future__ import annotations

from typing import Sequence

import numpy as np

from boostobj import _compiled
from boostobj._compiled import f32 as _f32
from boostobj.link import (
    SortedIdentityLink,
)
from boostobj.losses._base import (
    _F32_SQRT_TINY,
    CURVATURE_FLOOR,
    GUARD_MAX,
    QUANTILE_EPS_MIN,
    REFIT_PRIOR_MAX,
    Loss,
    _check_levels,
    _check_real,
    _floor,
    _guard_floor,
    _level_stall_reason,
)
from boostobj.weighted import (
    grouped_weighted_quantile,
    weighted_expectile,
    weighted_quantile,
)


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
    in ``benchmarks/results/quality/quality_xgb<version>.md``; other guards have no committed
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
    the fit improves (more rows near the fit), so the framework paths rescale it to
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
        its effect is in ``benchmarks/results/quantile/quality_quantile_xgb<version>.md``.
        """
        alpha = float(self._alphas[k])
        # unweighted, one compiled pass where there is one (the refit's call each round)
        found = _compiled.grouped_quantile(residual, leaf, n_leaves, alpha) if weight is None else None
        q, w = found or grouped_weighted_quantile(residual, weight, leaf, n_leaves, alpha, with_totals=True)
        if self.refit_prior == 0:
            return q
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
    Chosen against the alternatives on held-out data at the extreme levels
    (``benchmarks/results/quantile/``): the ``Quantile`` guard with its
    level factor over-fits the extreme levels of small data sets, a smaller
    epsilon does too, and a curvature exactly flat inside the guard makes
    splits tie, which rounding then breaks differently at another label
    scale or weight (a model that changes when the labels are rescaled). No
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

    def _eps32(self, scale):
        # the reference's float32 epsilon: the guard times the scale in float64, then rounded
        return max(np.float32(self.REFIT_GUARD * float(scale)), _F32_SQRT_TINY)

    @staticmethod
    @_compiled.scalar
    def compiled_row(y, m, alpha, eps, top):  # top: Quantile's, unused here
        r = y - m
        g = (_f32(1.0) if r <= 0 else _f32(0.0)) - alpha
        return g, max(eps / (eps + abs(r)), _f32(CURVATURE_FLOOR))

    def for_leaf_refit(self):
        return self


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

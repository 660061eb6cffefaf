"""Binary losses of the margin z = s m: exponential (AdaBoost), hinge and modified Huber."""

from __future__ import annotations

import numpy as np

from boostobj import _compiled
from boostobj._compiled import f32 as _f32
from boostobj.link import (
    ClippedLinearLink,
    LogitLink,
    SignLink,
)
from boostobj.losses._base import (
    CURVATURE_FLOOR,
    Loss,
    _check_guard,
    _floor,
)

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

    def row_params(self, scale):
        return (_EXP_CLIP, CURVATURE_FLOOR, 0.0)

    @staticmethod
    @_compiled.scalar
    def compiled_row(y, m, clip, floor, p2):
        u = _f32(0.5) - y  # -s/2 = 1/2 - y, exact
        e = _compiled.exp32(min(u * m, clip))
        return u * e, max(e * _f32(0.25), floor)


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

"""Focal loss (Lin et al. 2017), binary and multi-class, with its compiled rows."""

from __future__ import annotations

from typing import Any, Sequence

import numpy as np

from boostobj import _compiled, _math
from boostobj._compiled import f32 as _f32
from boostobj.link import (
    FocalLogitLink,
    FocalSoftmaxLink,
)
from boostobj.losses._base import (
    CLASS_WEIGHT_MAX,
    CLASS_WEIGHT_MIN,
    CURVATURE_FLOOR,
    GAMMA_MAX,
    Loss,
    _check_level,
    _check_real,
    _floor,
)
from boostobj.losses.binary import _EXP_CLIP, _BinaryLoss

# Labels that imply more classes than this need an explicit K (focal).
MAX_IMPLIED_CLASSES = 1000


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

    def row_params(self, scale):
        if isinstance(self.alpha, tuple):
            return None  # softmax: the NumPy path
        # alpha_t = a s + b: alpha for s = +1, 1 - alpha for s = -1 (1 for both without alpha)
        a, b = (0.0, 1.0) if self.alpha is None else (self.alpha - 0.5, 0.5)
        return (self.gamma, a, b)

    @property
    def compiled_row(self):
        # gamma fixed at compile time: a branch on it per row stops the loop vectorising
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

"""Links between the boosting margin and the target scale.

A link maps the raw margin a booster produces to the quantity the user wants
(the inverse link, ``inverse``), and a target-scale constant back to a margin
(``link``). Modelled on ``sklearn._loss.link``.

Examples
--------
>>> import numpy as np
>>> from boostobj.link import LogitLink
>>> float(LogitLink().inverse(np.array([0.0]))[0])
0.5
"""

from __future__ import annotations

from typing import Any

import numpy as np

from boostobj import _math
from boostobj._array import namespace

Array = Any


class IdentityLink:
    """Margin is the prediction (regression)."""

    name = "identity"

    def link(self, value: Array) -> Array:
        """Target-scale value to margin."""
        return value

    def inverse(self, margin: Array) -> Array:
        """Margin to target scale."""
        return margin


class SortedIdentityLink(IdentityLink):
    """Identity for K quantile outputs, sorted along each row.

    Monotone rearrangement (Chernozhukov, Fernandez-Val & Galichon 2010,
    "Quantile and probability curves without crossing", Econometrica):
    sorting the K predicted quantiles of a row never increases the total
    pinball loss and removes crossing.
    """

    name = "sorted-identity"

    def inverse(self, margin: Array) -> Array:
        """Margin (n, K) to quantiles (n, K), sorted along each row."""
        xp = namespace(margin)
        return xp.sort(margin, axis=-1)


class LogitLink:
    """Margin is the log-odds: P(y=1) = sigmoid(margin)."""

    name = "logit"

    def link(self, value: Array) -> Array:
        """Probability to log-odds."""
        p = np.clip(np.asarray(value, dtype=np.float64), 1e-15, 1 - 1e-15)
        return np.log(p) - np.log1p(-p)

    def inverse(self, margin: Array) -> Array:
        """Log-odds to probability of the positive class."""
        return _math.sigmoid(namespace(margin), margin)


class LogLink:
    """Margin is the log of the prediction (counts, amounts): prediction = exp(margin)."""

    name = "log"

    def link(self, value: Array) -> Array:
        """Positive prediction to margin."""
        return np.log(np.asarray(value, dtype=np.float64))

    def inverse(self, margin: Array) -> Array:
        """Margin to prediction, exp(margin); margins past the dtype's log-largest give its largest."""
        xp = namespace(margin)
        top = float(np.log(xp.finfo(margin.dtype).max)) - 1e-4  # exp(top) rounds below the largest
        return xp.exp(xp.minimum(margin, top))


class ClippedLinearLink:
    """Margin in [-1, 1] is 2 P(y=1) - 1 (the modified Huber loss):
    P(y=1) = (clip(m, -1, 1) + 1) / 2, as scikit-learn's ``SGDClassifier``."""

    name = "clipped-linear"

    def link(self, value: Array) -> Array:
        """Probability to margin 2p - 1."""
        return 2.0 * np.asarray(value, dtype=np.float64) - 1.0

    def inverse(self, margin: Array) -> Array:
        """Margin to probability of the positive class."""
        xp = namespace(margin)
        return 0.5 * (xp.clip(margin, -1.0, 1.0) + 1.0)


class SignLink:
    """No probability: the margin's sign is the class (the hinge loss).

    ``probability = False`` tells the drop-in classifiers to refuse
    ``predict_proba`` and point to calibration instead.
    """

    name = "sign"
    probability = False

    def link(self, value: Array) -> Array:
        """Class (0 or 1) to the margin on its side of the hinge (-1 or +1)."""
        return 2.0 * np.asarray(value, dtype=np.float64) - 1.0

    def inverse(self, margin: Array) -> Array:
        """Margin to the predicted class as 0.0 / 1.0 (1 where margin > 0)."""
        xp = namespace(margin)
        return xp.astype(margin > 0, margin.dtype)


class SoftmaxLink:
    """Margins (n, K) are unnormalised log-probabilities of K classes."""

    name = "softmax"

    def link(self, value: Array) -> Array:
        """Class probabilities to centred log-probabilities."""
        logp = np.log(np.clip(np.asarray(value, dtype=np.float64), 1e-15, None))
        return logp - logp.mean(axis=-1, keepdims=True)

    def inverse(self, margin: Array) -> Array:
        """Margins (n, K) to class probabilities; each row sums to 1."""
        return _math.softmax(namespace(margin), margin)


def _softplus_over_sigmoid(xp: Any, m: Array) -> Array:
    """softplus(-m) / sigmoid(-m) = -log(p) / (1 - p) for p = sigmoid(m), stably.

    Tends to 1 as m -> +inf (both numerator and denominator underflow there).
    """
    u = xp.exp(-xp.abs(m))
    ratio = xp.where(u > 0, xp.log1p(u) / xp.where(u > 0, u, 1.0), 1.0)  # log1p(u)/u
    positive = (1.0 + u) * ratio
    negative = (1.0 + u) * (xp.abs(m) + xp.log1p(u))
    return xp.where(m >= 0, positive, negative)


class _FocalLink:
    """Shared by the focal links: the focusing parameter, and no forward link."""

    def __init__(self, gamma: float):
        self.gamma = gamma

    def link(self, value: Array) -> Array:
        """Not needed for boosting (starts are solved on the margin)."""
        raise NotImplementedError("the focal start value is solved directly on the margin")


class FocalLogitLink(_FocalLink):
    """Focal-loss margin to the class posterior (binary).

    The focal loss is minimised by a probability p* = sigmoid(m) that is
    pulled towards 1/2, not by P(y=1). Charoenphakdee, Vongkulbhisal,
    Chairatanakul & Sugiyama 2021 ("On Focal Loss for Class-Posterior
    Probability Estimation: A Theoretical Perspective", CVPR) show the map is
    invertible; from the stationarity condition of the expected loss,

    .. math:: \\operatorname{logit} q = (\\gamma + 1) m
              - \\log(1 + \\gamma p\\,\\tfrac{-\\log p}{1-p})
              + \\log(1 + \\gamma (1-p)\\,\\tfrac{-\\log(1-p)}{p})

    (gamma = 0 gives q = p). With ``alpha`` the result is the posterior for
    the alpha-weighted classes, as sample weights would give.
    """

    name = "focal-logit"

    def inverse(self, margin: Array) -> Array:
        """Margin to P(y=1)."""
        xp = namespace(margin)
        g = self.gamma
        if g == 0:
            return LogitLink().inverse(margin)
        p = _math.sigmoid(xp, margin)
        q = _math.sigmoid(xp, -margin)
        z = ((g + 1.0) * margin - xp.log1p(g * p * _softplus_over_sigmoid(xp, margin))
             + xp.log1p(g * q * _softplus_over_sigmoid(xp, -margin)))
        return _math.sigmoid(xp, z)


class FocalSoftmaxLink(_FocalLink):
    """Multi-class focal margins (n, K) to class posteriors.

    Stationarity of the expected softmax focal loss gives
    q_c proportional to 1 / A(p_c) with A(p) = gamma (1-p)^(gamma-1) (-log p) + (1-p)^gamma / p,
    i.e. log q_c = log p_c - (gamma - 1) log(1 - p_c) - log(gamma p_c (-log p_c) + 1 - p_c)
    up to a constant (Charoenphakdee et al. 2021); gamma = 0 gives the softmax.
    """

    name = "focal-softmax"

    def inverse(self, margin: Array) -> Array:
        """Margins (n, K) to class probabilities; each row sums to 1."""
        xp = namespace(margin)
        g = self.gamma
        if g == 0:
            return SoftmaxLink().inverse(margin)
        logp = _math.log_softmax(xp, margin)
        p = xp.exp(logp)
        tiny = float(xp.finfo(margin.dtype).smallest_normal)
        log1mp = xp.log(xp.maximum(-xp.expm1(logp), tiny))
        score = logp - (g - 1.0) * log1mp - xp.log(xp.maximum(g * p * (-logp) + 1.0 - p, tiny))
        return _math.softmax(xp, score)

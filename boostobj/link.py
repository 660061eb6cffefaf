"""Links between the boosting margin and the target scale.

A link maps the raw margin a booster produces to the quantity the user wants
(the inverse link, ``inverse``), and a target-scale constant back to a margin
(``link``). Modelled on ``sklearn._loss.link``.

Example
-------
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

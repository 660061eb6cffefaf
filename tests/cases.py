"""Every loss over a grid of its parameters, shared by the test modules."""

from __future__ import annotations

import numpy as np
import pytest

import boostobj
from boostobj.losses import QuantileRefitGrowth

@boostobj.register
def cauchy(c: float = 1.0) -> boostobj.Objective:
    """Cauchy (Lorentzian) loss (c^2 / 2) log(1 + (r / c)^2): robust, not convex, MM curvature."""
    return boostobj.custom(
        "cauchy",
        loss=lambda y, m: 0.5 * c**2 * np.log1p(((y - m) / c) ** 2),
        gradient=lambda y, m: (m - y) / (1.0 + ((y - m) / c) ** 2),
        curvature="mm", params={"c": c})


@boostobj.register
def tweedie(p: float = 1.5) -> boostobj.Objective:
    """Tweedie deviance for power p in (1, 2) with a log link (Jorgensen 1987)."""
    # y exp((1 - p) m) as exp(log y + (1 - p) m): 0 for y = 0 at any margin, never 0 * inf
    def y_term(y, m):
        return np.exp(np.log(y) + (1 - p) * m)

    return boostobj.custom(
        "tweedie",
        loss=lambda y, m: -y_term(y, m) / (1 - p) + np.exp((2 - p) * m) / (2 - p),
        gradient=lambda y, m: -y_term(y, m) + np.exp((2 - p) * m),
        hessian=lambda y, m: -(1 - p) * y_term(y, m) + (2 - p) * np.exp((2 - p) * m),
        link="log", labels="nonnegative", params={"p": p})


REGRESSION = {
    "squared_error": lambda: boostobj.squared_error(),
    "log_cosh": lambda: boostobj.log_cosh(),
    "huber(0.5)": lambda: boostobj.huber(0.5),
    "huber(2)": lambda: boostobj.huber(2.0),
    "quantile(0.1)": lambda: boostobj.quantile(0.1),
    "quantile(0.5)": lambda: boostobj.quantile(0.5),
    "quantile(0.9)": lambda: boostobj.quantile(0.9),
    "quantile([.05,.5,.95])": lambda: boostobj.quantile([0.05, 0.5, 0.95]),
    # what the drop-ins grow their refit trees on (boostobj.leaf_refit)
    "quantile(0.05) refit growth": lambda: boostobj.quantile(0.05).with_loss(QuantileRefitGrowth(0.05)),
    "quantile([.1,.9]) refit growth": lambda: boostobj.quantile([0.1, 0.9]).with_loss(
        QuantileRefitGrowth([0.1, 0.9])),
    "expectile(0.1)": lambda: boostobj.expectile(0.1),
    "expectile(0.5)": lambda: boostobj.expectile(0.5),
    "expectile(0.9)": lambda: boostobj.expectile(0.9),
    "expectile([.1,.5,.9])": lambda: boostobj.expectile([0.1, 0.5, 0.9]),
    # written by users with boostobj.custom: every shared test holds them as it holds ours
    "cauchy(2) custom": lambda: cauchy(2.0),
    "tweedie(1.5) custom": lambda: tweedie(1.5),
}
BINARY = {
    "exponential": lambda: boostobj.exponential(),
    "focal(0)": lambda: boostobj.focal(0.0),
    "focal(0.5,0.25)": lambda: boostobj.focal(0.5, 0.25),
    "focal(2)": lambda: boostobj.focal(2.0),
    "focal(5,0.75)": lambda: boostobj.focal(5.0, 0.75),
    "hinge": lambda: boostobj.hinge(),
    "hinge(eps=0.1)": lambda: boostobj.hinge(eps=0.1),
    "modified_huber": lambda: boostobj.modified_huber(),
}
MULTICLASS = {
    "focal(0)x3": lambda: boostobj.focal(0.0),
    "focal(2)x3": lambda: boostobj.focal(2.0),
    "focal(1,alpha3)": lambda: boostobj.focal(1.0, [0.2, 0.5, 0.3]),
}


def label_domain(obj: boostobj.Objective | None) -> str:
    """The labels a loss takes ("real" for ours; a custom loss's ``labels``)."""
    domain = getattr(getattr(obj, "base_loss", None), "labels", "real")
    return domain if isinstance(domain, str) else "real"


def in_domain(y: np.ndarray, obj: boostobj.Objective | None) -> np.ndarray:
    """Regression labels moved into the loss's domain."""
    domain = label_domain(obj)
    if domain == "nonnegative":
        return np.abs(y)
    if domain == "positive":
        return np.abs(y) + 0.5
    return y


def labels_for(kind: str, n: int, rng: np.random.Generator, obj: boostobj.Objective | None = None) -> np.ndarray:
    """Valid labels for a kind of loss (and for ``obj``'s label domain, where it has one)."""
    if kind == "regression":
        return in_domain(rng.normal(size=n) * 3.0, obj)
    if kind == "binary":
        return rng.integers(0, 2, n).astype(np.float64)
    return rng.integers(0, 3, n).astype(np.float64)


def margin_shape(obj: boostobj.Objective, kind: str, n: int) -> tuple[int, ...]:
    """Margin shape a model of this objective has."""
    if kind == "multiclass":
        return (n, 3)
    k = obj.n_outputs()
    return (n,) if k == 1 else (n, k)


ALL_CASES = (
    [pytest.param(f, "regression", id=k) for k, f in REGRESSION.items()]
    + [pytest.param(f, "binary", id=k) for k, f in BINARY.items()]
    + [pytest.param(f, "multiclass", id=k) for k, f in MULTICLASS.items()]
)

# the same cases by name: {id: (factory, kind)}
ALL_CASES_BY_NAME = {
    **{k: (f, "regression") for k, f in REGRESSION.items()},
    **{k: (f, "binary") for k, f in BINARY.items()},
    **{k: (f, "multiclass") for k, f in MULTICLASS.items()},
}

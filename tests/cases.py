"""Every loss over a grid of its parameters, shared by the test modules."""

from __future__ import annotations

import numpy as np
import pytest

import boostobj
from boostobj.losses import QuantileRefitGrowth

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


def labels_for(kind: str, n: int, rng: np.random.Generator) -> np.ndarray:
    """Valid labels for a kind of loss."""
    if kind == "regression":
        return rng.normal(size=n) * 3.0
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

"""The factory registry: how a model file's record names the objective that rebuilds it.

It sits at the bottom of the package (it imports nothing of boostobj), so the
model records, the adapter's ``repr`` and the custom losses all read it
without importing upwards.

Examples
--------
>>> import boostobj
>>> from boostobj.registry import FACTORIES
>>> {"quantile", "focal", "hinge"} <= set(FACTORIES)
True
"""

from __future__ import annotations

from typing import Any, Callable

__all__ = ["FACTORIES", "register", "qualified_name"]

#: factory name -> factory; ``Objective.factory`` names the entry that rebuilds it
FACTORIES: dict[str, Callable[..., Any]] = {}


def register(factory: Callable[..., Any]) -> Callable[..., Any]:
    """Make a factory reconstructible from model files (use as a decorator).

    The factory's ``__name__`` must be the name its objectives carry (the
    ``name`` given to ``boostobj.custom``), and its keyword arguments the
    ``params`` recorded with them. A model file records the factory's
    module too: to load the model in another process, import that module
    first (``objective_of`` never imports anything itself).

    Examples
    --------
    >>> import numpy as np, boostobj
    >>> @boostobj.register
    ... def half_squared(scale: float = 1.0) -> boostobj.Objective:
    ...     return boostobj.custom("half_squared", loss=lambda y, m: 0.5 * scale * (y - m) ** 2,
    ...                            gradient=lambda y, m: scale * (m - y),
    ...                            hessian=lambda y, m: scale + 0 * m, params={"scale": scale})
    >>> from boostobj.sklearn import XGBRegressor
    >>> boostobj.objective_of(XGBRegressor(
    ...     objective=half_squared(2.0), n_estimators=2).fit(np.zeros((4, 1)), np.arange(4.0)))
    boostobj.half_squared(scale=2.0)
    """
    if not callable(factory) or not getattr(factory, "__name__", "").isidentifier():
        raise ValueError(f"register takes a named factory function, got {factory!r}")
    FACTORIES[factory.__name__] = factory
    return factory


def qualified_name(name: str) -> str:
    """How ``repr`` names an objective of factory ``name``: ``boostobj.quantile``, ``mylosses.cauchy``."""
    factory = FACTORIES.get(name)
    module = getattr(factory, "__module__", None) or "boostobj"
    return f"boostobj.{name}" if module.startswith("boostobj") else f"{module}.{name}"

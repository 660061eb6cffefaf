"""The warnings boostobj raises, at the bottom of the package so every layer can raise them.

Examples
--------
>>> import warnings, numpy as np, boostobj
>>> with warnings.catch_warnings(record=True) as seen:
...     warnings.simplefilter("always")
...     _ = boostobj.huber()(np.arange(5.0), np.zeros(5))   # a start of 0, not the median 2
>>> seen[0].category.__name__
'StartValueWarning'
"""

from __future__ import annotations

__all__ = ["StalledFitWarning", "StartValueWarning"]


class StartValueWarning(UserWarning):
    """Training started from a constant margin far from the loss-optimal one.

    Examples
    --------
    >>> import warnings, numpy as np, boostobj
    >>> with warnings.catch_warnings(record=True) as seen:
    ...     warnings.simplefilter("always")
    ...     _ = boostobj.quantile(0.5)(np.arange(5.0), np.zeros(5))   # a start of 0, not the median 2
    >>> issubclass(seen[0].category, boostobj.StartValueWarning)
    True
    """


class StalledFitWarning(UserWarning):
    """A valid setting that cannot move the model from its start on this data (the message says why).

    Examples
    --------
    >>> import warnings, numpy as np, boostobj
    >>> y = np.arange(300.0)
    >>> with warnings.catch_warnings(record=True) as seen:
    ...     warnings.simplefilter("always")
    ...     obj = boostobj.quantile(1e-6)                 # beyond what 300 rows resolve
    ...     _ = obj(y, np.full(300, obj.init_score(y)))
    >>> [w.category.__name__ for w in seen]
    ['StalledFitWarning']
    """

"""Array namespace shim: one code path for NumPy, CuPy and Array API arrays.

Why a shim rather than ``array_api_compat``: the kernels only use functions
that NumPy (>= 2.0), CuPy and every Array API namespace already expose under
their standard names, so looking the namespace up is all that is needed, and
the core keeps its dependency list to numpy, xgboost, lightgbm and
scikit-learn. ``array_api_compat`` would add wrappers for namespaces whose
names differ from the standard (older NumPy, PyTorch), which boostobj does
not target. ``tests/test_array_api.py`` runs every kernel, link and the
``Objective`` itself under ``array_api_strict`` (only standard functions)
and compares with NumPy to the bit, on a CPU. That covers the standard
names the kernels call, not CuPy itself: the CuPy-only branches (below,
and the device context in ``Objective``) run only in that file's CuPy
tests, on a machine with a GPU.
"""

from __future__ import annotations

from typing import Any

import numpy as np


def namespace(*arrays: Any) -> Any:
    """The array namespace of the first non-NumPy array, else NumPy.

    Examples
    --------
    >>> import numpy as np
    >>> namespace(np.zeros(2)) is np
    True
    """
    for a in arrays:
        if a is None or isinstance(a, (np.ndarray, np.generic, float, int)):
            continue
        get = getattr(a, "__array_namespace__", None)
        if get is not None:
            return get()
        module = type(a).__module__.split(".")[0]
        if module == "cupy":  # older CuPy without __array_namespace__
            import cupy

            return cupy
    return np


def is_numpy(xp: Any) -> bool:
    """True when ``xp`` is NumPy itself."""
    return xp is np

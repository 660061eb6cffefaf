"""Input checks shared by the adapter, the model records and the drop-ins: one home each.

Labels and weights reach boostobj from users (arrays of any kind) and from the
frameworks (float32 buffers, XGBoost's empty "no weights"); these turn them
into float64 arrays or raise a ValueError naming the input and the fix.

Examples
--------
>>> import numpy as np
>>> from boostobj.validation import check_float32_labels
>>> check_float32_labels(np.array([1.0, 1e39]))
Traceback (most recent call last):
...
ValueError: y has 1 label(s) that float32, the type XGBoost and LightGBM store labels in, cannot hold (e.g. 1e+39; it holds 0 and magnitudes in [1.4e-45, 3.4e+38]): rescale the labels, e.g. y / s with s their typical size, and multiply the predictions by s
"""

from __future__ import annotations

from typing import Any

import numpy as np

from boostobj._math import F32_MAX as _F32_MAX

__all__ = ["check_float32_labels"]


def _as_float_1d(name: str, a: Any) -> np.ndarray:
    arr = np.asarray(a)
    if arr.ndim == 2 and arr.shape[1] == 1:
        arr = arr[:, 0]
    if arr.ndim != 1:
        raise ValueError(f"{name} must be 1-D (one value per row), got shape {arr.shape}")
    if arr.dtype.kind == "O":  # numbers in an object array, as scikit-learn accepts them
        try:
            arr = arr.astype(np.float64)
        except (TypeError, ValueError):
            raise ValueError(f"{name} must be real numbers, got objects that are not "
                             "(Unknown label type)") from None
    if arr.dtype.kind not in "biuf":  # complex would silently lose its imaginary part
        raise ValueError(f"{name} must be real numbers, got dtype {arr.dtype}")
    return arr.astype(np.float64, copy=False)


def _check_weights(w: Any, n: int) -> np.ndarray | None:
    if w is None:
        return None
    w = np.asarray(w)
    if w.size == 0:  # XGBoost's "no weights"
        return None
    w = _as_float_1d("sample_weight", w)
    if w.shape[0] != n:
        raise ValueError(f"sample_weight has {w.shape[0]} rows but y has {n}")
    if not np.isfinite(w).all():
        raise ValueError("sample_weight contains NaN or inf; weights must be finite and >= 0")
    if (w < 0).any():
        raise ValueError("sample_weight must be >= 0, got negative weights")
    if not w.sum() > 0:
        raise ValueError("sample_weight must have a positive sum")
    if w.max() > _F32_MAX:
        raise ValueError(f"sample_weight has values up to {w.max():.3g}, above float32's largest "
                         f"({float(_F32_MAX):.3g}), the frameworks' gradient type: divide the weights "
                         "by a common factor")
    return w


def check_float32_labels(y: Any, name: str = "y") -> None:
    """Labels the frameworks can store: XGBoost and LightGBM keep labels as float32.

    A non-zero label that float32 rounds to 0, or one beyond its largest
    value (3.4e38), would be trained on as 0 or inf: a ValueError that
    names a rescaling instead.
    """
    y64 = np.asarray(y, dtype=np.float64).ravel()
    with np.errstate(over="ignore"):
        y32 = y64.astype(np.float32)
    bad = np.isfinite(y64) & (~np.isfinite(y32) | ((y32 == 0) & (y64 != 0)))
    if bad.any():
        raise ValueError(
            f"{name} has {int(bad.sum())} label(s) that float32, the type XGBoost and LightGBM store "
            f"labels in, cannot hold (e.g. {y64[bad][0]:.3g}; it holds 0 and magnitudes in "
            f"[{np.finfo(np.float32).smallest_subnormal:.3g}, {float(_F32_MAX):.3g}]): rescale the labels, "
            "e.g. y / s with s their typical size, and multiply the predictions by s"
        )


def _check_user_weights(sample_weight: Any) -> None:
    """A weight array a user passed: empty is an error here, never "no weights".

    (XGBoost hands its own calls an empty array for "no weights": only the
    framework entry points accept that.)
    """
    if sample_weight is not None and np.asarray(sample_weight).size == 0:
        raise ValueError("sample_weight is empty: pass one weight per row of y, or None for no weights "
                         "(an unweighted DMatrix's get_weight() is empty: pass None there)")



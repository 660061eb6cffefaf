"""Numerically stable elementwise kernels, written once for any array namespace.

Every function takes the array namespace ``xp`` (NumPy, CuPy, or any Array API
namespace) and uses only functions from the Array API standard, so the same
code runs on the CPU and on a GPU.
"""

from __future__ import annotations

from typing import Any

import numpy as np

Array = Any

# float32's largest value: the frameworks' gradients are float32, so outputs saturate here
F32_MAX = np.float32(np.finfo(np.float32).max)


def softplus(xp: Any, x: Array) -> Array:
    """log(1 + exp(x)) without overflow: max(x, 0) + log1p(exp(-|x|))."""
    return xp.maximum(x, 0.0) + xp.log1p(xp.exp(-xp.abs(x)))


def sigmoid(xp: Any, x: Array) -> Array:
    """1 / (1 + exp(-x)); exp is only ever taken of a non-positive number."""
    e = xp.exp(-xp.abs(x))
    return xp.where(x >= 0, 1.0 / (1.0 + e), e / (1.0 + e))


def log_softmax(xp: Any, x: Array) -> Array:
    """Row-wise log-softmax of a 2-D array (max-shifted log-sum-exp)."""
    shifted = x - xp.max(x, axis=1, keepdims=True)
    return shifted - xp.log(xp.sum(xp.exp(shifted), axis=1, keepdims=True))


def softmax(xp: Any, x: Array) -> Array:
    """Row-wise softmax of a 2-D array."""
    return xp.exp(log_softmax(xp, x))

"""What both halves of the leaf refit share: the refit targets and reading leaves off cached scores."""

from __future__ import annotations

from typing import Sequence

import numpy as np

from boostobj import _compiled
from boostobj.losses import Loss


def leaf_targets(loss: Loss, residual: np.ndarray, weight: np.ndarray | None, leaf: np.ndarray,
                  n_leaves: int, k: int, lam: float, cap: float) -> np.ndarray:
    """Each leaf's refit value before the learning rate (NaN for a leaf without rows).

    ``loss.leaf_values`` of its rows, times W / (W + lambda) for its rows'
    weight W and clipped to ``max_delta_step`` (``cap``, 0: none), as both
    frameworks treat their own leaves.
    """
    exact = loss.leaf_values(residual, weight, leaf, n_leaves, k)
    if lam > 0:
        w = np.bincount(leaf, weights=weight, minlength=n_leaves)
        exact = exact * (w / (w + lam))
    if cap > 0:
        exact = np.clip(exact, -cap, cap)
    return exact


def leaves_from_sums(before: np.ndarray, after: np.ndarray, leaves: np.ndarray,
                     values: np.ndarray) -> np.ndarray | None:
    """Each row's leaf in a new tree, read off a framework's cached scores before and after it.

    XGBoost and LightGBM add a new tree's leaf value to the cached score of
    every row (XGBoost in float32, LightGBM in float64). A row's leaf is the
    one whose value v gives ``before + v == after`` in the cache's dtype. The
    answer is given only where that holds for exactly one leaf of every row
    (``leaves[i]`` has value ``values[i]``); else None, and the caller asks
    ``predict(pred_leaf=True)``, a pass over the raw data that costs more
    than this on large data.

    >>> import numpy as np
    >>> before = np.array([1.0, 2.0, 3.0], np.float32)
    >>> leaves_from_sums(before, before + np.float32([0.5, -0.25, 0.5]), np.array([3, 4]), np.array([-0.25, 0.5])).tolist()
    [4, 3, 4]
    """
    dtype = np.result_type(before, after)
    order = np.argsort(values)
    v = np.asarray(values, dtype=dtype)[order]
    if np.any(v[1:] == v[:-1]):
        return None  # two leaves of one value
    if len(v) == 1:
        pick = np.zeros(len(before), dtype=np.intp)
    elif before.dtype == after.dtype == v.dtype and _compiled.available():
        pick = _compiled.nearest_leaves(before, after, v)
        return None if pick is None else np.asarray(leaves)[order][pick]  # one gather of n rows
    else:
        d = after.astype(np.float64) - before
        i = np.clip(np.searchsorted(v, d), 1, len(v) - 1)
        pick = np.where(d - v[i - 1] <= v[i] - d, i - 1, i)
    if not np.array_equal(before + v[pick], after):
        return None
    for side in (pick - 1, pick + 1):  # a neighbour that fits as well: ambiguous
        ok = (side >= 0) & (side < len(v))
        if np.any(before[ok] + v[side[ok]] == after[ok]):
            return None
    return np.asarray(leaves)[order][pick]


def round_leaves(before: np.ndarray, after: np.ndarray, grown: Sequence) -> np.ndarray | None:
    """Each row's leaf in one round's trees (a column per tree), from a framework's cached scores.

    ``before`` / ``after``: the scores around the round, (n, K) or (n,);
    ``grown``: per tree (its output, its leaf ids, their values as grown),
    e.g. from ``_xgb_grown`` or ``_RefitTree``. None where ``leaves_from_sums``
    cannot tell for some tree.
    """
    n = len(before)
    before, after = np.reshape(before, (n, -1)), np.reshape(after, (n, -1))
    out = np.empty((n, len(grown)), dtype=np.intp)
    for col, (group, nodes, values, *_) in enumerate(grown):
        found = leaves_from_sums(before[:, group], after[:, group], nodes, values)
        if found is None:
            return None
        out[:, col] = found
    return out

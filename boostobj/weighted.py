"""Weighted statistics of labels: quantiles (also per group) and expectiles.

The exact weighted statistics the losses' optimal constants and the leaf
refit are made of; ``boostobj.dask`` reduces the same statistics over a
cluster.
"""

from __future__ import annotations

from typing import Any

import numpy as np


def weighted_quantile(values: np.ndarray, weights: np.ndarray | None, q: Any) -> np.ndarray:
    """Weighted quantile with the inverted-CDF rule (smallest v with F(v) >= q).

    Integer weights give exactly the quantile of the rows repeated that many
    times, which is the loss-optimal constant of the pinball loss.
    """
    if weights is None:
        return np.quantile(values, q, method="inverted_cdf")
    keep = weights > 0  # rows of zero weight do not exist for the quantile
    return np.quantile(values[keep], q, weights=weights[keep], method="inverted_cdf")


# Rows up to which the unweighted grouped quantile sorts them all at once; above, one linear
# selection per group costs less than the sort.
_SORT_ROWS = 1 << 12


def grouped_weighted_quantile(values: np.ndarray, weights: np.ndarray | None, groups: np.ndarray,
                              n_groups: int, q: float, with_totals: bool = False) -> Any:
    """``weighted_quantile(values[groups == j], weights[groups == j], q)`` for every j at once.

    One sort for all groups (the residuals, then stably by group), so a
    tree's leaves cost one pass, not one per leaf. Groups without a row of
    positive weight give NaN. ``with_totals``: also each group's weight of
    positive-weight rows (its row count without weights), which the
    selection counts anyway, as a second array.
    """
    values = np.asarray(values, dtype=np.float64)
    groups = np.asarray(groups, dtype=np.intp)
    if weights is not None:
        keep = np.asarray(weights) > 0
        values, groups, weights = values[keep], groups[keep], np.asarray(weights, dtype=np.float64)[keep]
    out = np.full(n_groups, np.nan)
    if not len(values):
        return (out, np.zeros(n_groups)) if with_totals else out
    # NumPy radix-sorts 16-bit integers stably, where wider ones take a comparison sort
    small = groups.astype(np.int16) if n_groups <= np.iinfo(np.int16).max else groups
    if weights is None and len(values) <= _SORT_ROWS:
        # without weights the quantile is the ceil(q n)-th smallest of its group: on few rows one
        # sort by (group, value) picks every group's at once
        counts = np.bincount(groups, minlength=n_groups)
        first = np.cumsum(counts) - counts
        k = np.clip(np.ceil(q * counts).astype(np.intp) - 1, 0, np.maximum(counts - 1, 0))
        v = values[np.lexsort((values, small))]
        has = counts > 0
        out[has] = v[first[has] + k[has]]
        return (out, counts.astype(np.float64)) if with_totals else out
    if weights is None:
        # on many rows one selection per group (np.partition, linear) instead of a sort of all
        counts = np.bincount(groups, minlength=n_groups)
        ends = np.cumsum(counts)
        v = values[np.argsort(small, kind="stable")]
        for j in np.flatnonzero(counts):
            n = int(counts[j])
            k = min(max(int(np.ceil(q * n)) - 1, 0), n - 1)
            out[j] = np.partition(v[ends[j] - n:ends[j]], k)[k]
        return (out, counts.astype(np.float64)) if with_totals else out
    order = np.argsort(values)  # NumPy's vectorised sort; ties need no stable order
    order = order[np.argsort(small[order], kind="stable")]  # by group, ascending values within
    v = values[order]
    w = np.ones(len(v)) if weights is None else weights[order]
    total = np.bincount(groups[order], weights=w, minlength=n_groups)
    counts = np.bincount(groups, minlength=n_groups)
    first = np.concatenate([[0], np.cumsum(counts)[:-1]])
    # within each group, the first row whose cumulative weight reaches q of the group's:
    # the inverted-CDF rule of weighted_quantile (exact for integer weights)
    cum = np.cumsum(w)
    before = np.where(first > 0, cum[np.maximum(first - 1, 0)], 0.0)
    at = np.searchsorted(cum, before + q * total, side="left")
    has = counts > 0
    out[has] = v[np.clip(at[has], first[has], first[has] + counts[has] - 1)]
    return (out, total) if with_totals else out


def weighted_expectile(values: np.ndarray, weights: np.ndarray | None, alpha: Any) -> np.ndarray:
    """The exact weighted alpha-expectile(s): the c with sum w |alpha - [y < c]| (y - c) = 0.

    Between consecutive sorted labels that equation is linear in c, so the
    root is the weighted mean, with weights w (1 - alpha) below and w alpha
    above, of the one segment that contains it (Newey & Powell 1987).
    """
    keep = slice(None) if weights is None else weights > 0
    y = np.asarray(values, dtype=np.float64)[keep]
    w = np.ones_like(y) if weights is None else np.asarray(weights, dtype=np.float64)[keep]
    order = np.argsort(y, kind="stable")
    y, w = y[order], w[order]
    cw = np.concatenate([[0.0], np.cumsum(w)])  # weight of the j smallest labels
    cwy = np.concatenate([[0.0], np.cumsum(w * y)])
    lo = np.concatenate([[-np.inf], y])  # segment j: c in [y[j-1], y[j]]
    hi = np.concatenate([y, [np.inf]])
    out = []
    for a in np.atleast_1d(alpha):
        c = ((1 - a) * cwy + a * (cwy[-1] - cwy)) / ((1 - a) * cw + a * (cw[-1] - cw))
        miss = np.maximum(lo - c, 0.0) + np.maximum(c - hi, 0.0)  # 0 in its own segment
        out.append(c[np.argmin(miss)])
    return np.asarray(out if np.ndim(alpha) else out[0])

"""The compiled loops of ``boostobj._compiled``: imported on first use, the only module that imports numba.

Each loop runs a row kernel (a loss's ``compiled_row``, found by its literal
key in ``ROWS``) over whole arrays in one pass; see
``boostobj._compiled`` for the contract and ``RowPass`` for the callers.
"""

from __future__ import annotations

import math
from typing import Any, Callable

import numba
import numpy as np
from llvmlite import ir as _ir
from numba.core import types as _types
from numba.extending import intrinsic as _intrinsic
from numba.extending import overload as _overload

f32 = np.float32
_F32_MAX = f32(np.finfo(np.float32).max)
# as boostobj._compiled's helpers: FMA contraction and sign-of-zero freedom, no reassociation
_FASTMATH = {"contract", "nsz"}

# Row kernels (numba dispatchers) by their key: filled by boostobj._compiled._row_key, which
# imports this module only once numba is wanted (this module imports nothing of boostobj).
ROWS: dict[int, Any] = {}


@_intrinsic
def _int_bits_as_f32(typingctx, x):
    """The float32 whose bit pattern is the int32 ``x`` (vectorises to nothing)."""
    sig = _types.float32(_types.int32)

    def codegen(context, builder, signature, args):
        return builder.bitcast(args[0], _ir.FloatType())

    return sig, codegen


@_intrinsic
def _f32_bits(typingctx, x):
    """The int32 bit pattern of the float32 ``x``."""
    sig = _types.int32(_types.float32)

    def codegen(context, builder, signature, args):
        return builder.bitcast(args[0], _ir.IntType(32))

    return sig, codegen


def _call_row(key, t, m, p0, p1, p2):
    """The row kernel registered under the literal ``key`` (resolved and inlined when compiled)."""
    raise NotImplementedError("compiled code only")


@_overload(_call_row, inline="always")
def _call_row_impl(key, t, m, p0, p1, p2):
    if not isinstance(key, _types.IntegerLiteral):
        return None
    row = ROWS[key.literal_value]

    def impl(key, t, m, p0, p1, p2):
        return row(t, m, p0, p1, p2)

    return impl


_LOOP = {"nogil": True, "fastmath": _FASTMATH, "error_model": "numpy", "cache": True}


def _loop(**options: Any) -> Callable:
    """numba.njit with a disk cache where numba finds a writable place for one, else without."""
    def decorate(fn: Callable) -> Callable:
        try:
            return numba.njit(**options)(fn)
        except RuntimeError:  # "cannot cache function ...: no locator available"
            return numba.njit(**{**options, "cache": False})(fn)
    return decorate


def _weigh(gi, hi, w, i, wk, floor, k):
    """A row's (gradient, curvature) weighted, floored and times the round's factor."""
    raise NotImplementedError("compiled code only")


@_overload(_weigh, inline="always")
def _weigh_impl(gi, hi, w, i, wk, floor, k):
    # chosen by the argument types when compiled: ``wk`` and ``k`` None (no weights, factor
    # 1; RowPass.run passes them so) leave out the multiplies by 1, the same values bit for
    # bit and a faster row
    # the clips keep both outputs finite where a large weight (up to float32's largest) or
    # the round's factor overflows float32 (values that fit come out bit for bit the same)
    if isinstance(k, _types.NoneType):  # the rows' own gradients are finite (see _finite32)
        def impl(gi, hi, w, i, wk, floor, k):
            return gi, min(max(hi, floor), _F32_MAX)
    elif isinstance(w, _types.NoneType):  # wk, the normalisation, and k keep gi * wk * k finite
        def impl(gi, hi, w, i, wk, floor, k):
            return gi * wk * k, min(min(max(hi * wk, floor), _F32_MAX) * k, _F32_MAX)
    else:
        def impl(gi, hi, w, i, wk, floor, k):
            wi = w[i]
            return (min(max(gi * wi * k, -_F32_MAX), _F32_MAX),
                    min(min(max(hi * wi, floor), _F32_MAX) * k, _F32_MAX))
    return impl


def _finite32(x):
    """``x`` as a float32 clipped to float32's range (a float64 margin of 1e308 is not inf).

    For focal's blocked rows, whose z = s m would make inf * 0 of an infinite margin. Every
    other row returns finite outputs for an infinite residual or margin (squared error
    clips its own), so the unweighted loops need no clip of their outputs.
    """
    raise NotImplementedError("compiled code only")


@_overload(_finite32, inline="always")
def _finite32_impl(x):
    def impl(x):  # rounded first, then clipped in float32 (twice the lanes of a float64 compare)
        return min(max(f32(x), -_F32_MAX), _F32_MAX)
    return impl


# Two loops, not one with a flag: a branch per row around a large inlined
# row stops the loop vectorising too.


@_loop(**_LOOP)
def _rows_residual(key, y, m, w, wk, p0, p1, p2, y_was, floor, k, g, h):
    bad = False
    for i in range(g.shape[0]):
        # the residual in the margin's precision, then rounded (float64_margin "residual")
        gi, hi = _call_row(key, f32(y[i] - m[i]), f32(0.0), p0, p1, p2)
        g[i], h[i] = _weigh(gi, hi, w, i, wk, floor, k)
        bad |= y[i] != y_was[i]  # the framework's labels still the cached ones, in the same pass
    return bad


@_loop(**_LOOP)
def _rows_margin(key, y, m, w, wk, p0, p1, p2, y_was, floor, k, g, h):
    bad = False
    for i in range(g.shape[0]):
        gi, hi = _call_row(key, f32(y[i]), f32(m[i]), p0, p1, p2)
        g[i], h[i] = _weigh(gi, hi, w, i, wk, floor, k)
        bad |= y[i] != y_was[i]
    return bad


# the sums may be added in any order (vectorised): they set one factor per round
_SUM = {**_LOOP, "fastmath": _FASTMATH | {"reassoc"}}


# The rows of the residual and the sum of the curvature they write, in one pass, for the
# per-round factor (``RowPass.run_summed``): one read of the rows instead of two
# (benchmarks/results/speed/speed_paired_quantile_one_pass_<rows>.md). Compiled as the row loops
# are (reassociation would change the curvature's last bits): the sum goes into 16 float64 lanes, one per row of each group of 16, so the loop still
# vectorises; the rows are written as ``_rows_residual`` writes them. ``k`` is None
# (unweighted) or 1: the round's factor is applied afterwards (``_scale_pair``), the same
# float32 multiply the rows would have made last.
_LANES = 16


@_loop(**_LOOP)
def _rows_residual_summed(key, y, m, w, wk, p0, p1, p2, y_was, floor, k, g, h):
    n = g.shape[0]
    whole = n - n % _LANES
    lanes = np.zeros(_LANES)
    bad = False
    for s in range(0, whole, _LANES):
        for j in range(_LANES):
            i = s + j
            gi, hi = _call_row(key, f32(y[i] - m[i]), f32(0.0), p0, p1, p2)
            g[i], h[i] = _weigh(gi, hi, w, i, wk, floor, k)
            lanes[j] += h[i]
            bad |= y[i] != y_was[i]
    bad |= _rows_residual(key, y[whole:], m[whole:], None if w is None else w[whole:], wk, p0, p1, p2,
                          y_was[whole:], floor, k, g[whole:], h[whole:])
    return bad, lanes.sum() + h[whole:].astype(np.float64).sum()


@_loop(**_LOOP)
def _scale_pair(g, h, k):
    for i in range(g.shape[0]):
        g[i] *= k
        h[i] *= k


@_loop(**_LOOP)
def _scale_pair_clipped(g, h, k):
    for i in range(g.shape[0]):
        g[i] = min(max(g[i] * k, -_F32_MAX), _F32_MAX)  # saturate as _weigh does
        h[i] = min(h[i] * k, _F32_MAX)


@_loop(**_SUM)
def _sum_residual(key, y, m, w, wk, p0, p1, p2, floor):
    total = 0.0
    for i in range(y.shape[0]):
        hi = _call_row(key, f32(y[i] - m[i]), f32(0.0), p0, p1, p2)[1]
        total += min(max(hi * (wk if w is None else w[i]), floor), _F32_MAX)
    return total


@_loop(**_SUM)
def _sum_margin(key, y, m, w, wk, p0, p1, p2, floor):
    total = 0.0
    for i in range(y.shape[0]):
        hi = _call_row(key, f32(y[i]), f32(m[i]), p0, p1, p2)[1]
        total += min(max(hi * (wk if w is None else w[i]), floor), _F32_MAX)
    return total


# float64 margins (LightGBM's) for rows that arithmetic bounds (Loss.compiled_row_blocks):
# the same rows in blocks. A loop that loads float64 is vectorised 8 lanes wide, and the
# row's float32 math with it; the margin converted to float32 a block at a time first (in
# L1) lets the row run 16 wide, the same values bit for bit. Rows that memory bounds (the
# residual's, and float32 margins) stream their arrays better in one flat pass. The inner
# loops keep the label check: without it LLVM vectorised focal's rows worse.
_BLOCK = 2048


# Each block's slice indexes from 0, so the loops vectorise (an offset index would be
# checked for wrap-around per row).


@_loop(**_LOOP)
def _rows_margin_blocked(key, y, m, w, wk, p0, p1, p2, y_was, floor, k, g, h):
    n, bad = g.shape[0], False
    x = np.empty(_BLOCK, np.float32)
    for s in range(0, n, _BLOCK):
        e = min(s + _BLOCK, n)
        ms, xs = m[s:e], x[:e - s]
        for j in range(e - s):
            xs[j] = _finite32(ms[j])  # a margin past float32's range as its largest: focal's z = +-inf would be NaN
        if w is None:  # not one call with ``w if w is None else w[s:e]``: an Optional, slower
            bad |= _rows_margin(key, y[s:e], xs, w, wk, p0, p1, p2, y_was[s:e], floor, k,
                                g[s:e], h[s:e])
        else:
            bad |= _rows_margin(key, y[s:e], xs, w[s:e], wk, p0, p1, p2, y_was[s:e], floor, k,
                                g[s:e], h[s:e])
    return bad


# No fastmath: the sums are compared exactly, as the framework rounded them. Each row's leaf
# is found by counting the midpoints between consecutive sorted leaf values that lie below
# the row's score difference: a fixed number of comparisons (the midpoints as a tuple of 7,
# unrolled; more leaves through an 8 x 7 table of the finer ones, gathered), so the row loop
# vectorises, where a binary search per row is a chain of dependent loads (kept for more than
# 64 leaves).


@_loop(nogil=True, error_model="numpy", cache=True)
def _ranks_8(before, after, mids, pick):
    for i in range(before.shape[0]):
        d = float(after[i]) - float(before[i])
        j = np.int32(0)
        for m in mids:
            j += np.int32(d > m)
        pick[i] = j


@_loop(nogil=True, error_model="numpy", cache=True)
def _ranks_64(before, after, coarse, fine, pick):
    for i in range(before.shape[0]):
        d = float(after[i]) - float(before[i])
        c = np.int32(0)
        for m in coarse:
            c += np.int32(d > m)
        j = c * np.int32(8)
        for k in range(7):
            j += np.int32(d > fine[c, k])
        pick[i] = j


@_loop(nogil=True, error_model="numpy", cache=True)
def _sums_match(before, after, v, pick):
    last = v.shape[0] - 1
    bad = 0
    for i in range(before.shape[0]):
        b, a, j = before[i], after[i], pick[i]
        jm, jp = max(j - 1, 0), min(j + 1, last)
        # no leaf, or two (a neighbour fits as well), gives this row's sum
        bad += (b + v[j] != a) | ((jm < j) & (b + v[jm] == a)) | ((jp > j) & (b + v[jp] == a))
    return bad == 0


# more leaves than 64: a branch-free binary search per row


@_loop(nogil=True, error_model="numpy", cache=True)
def _nearest_leaves(before, after, v, pick):
    n_values = v.shape[0]
    for i in range(before.shape[0]):
        d = float(after[i]) - float(before[i])
        j, length = 0, n_values
        while length > 1:  # the last value <= d (or the first)
            half = length // 2
            j = j + half if v[j + half] <= d else j
            length -= half
        if j + 1 < n_values and v[j + 1] - d < d - v[j]:
            j += 1  # the nearer of the two around d
        pick[i] = j



_ENTRIES: dict[tuple, Any] = {}


def entry(loop: Any, args: tuple) -> Any:
    """The compiled entry point of ``loop`` for these arguments (the first, a row key, as a literal).

    Called directly: the dispatcher would resolve the literal key anew on
    every call, which costs more than the loop on small data.
    """
    sig = (loop, args[0], *(_layout(a) if isinstance(a, np.ndarray) or a is None else type(a)
                            for a in args[1:]))
    found = _ENTRIES.get(sig)
    if found is None:
        types = [_types.literal(args[0])] + [numba.typeof(a) for a in args[1:]]
        found = _ENTRIES[sig] = loop.compile(tuple(types))
    return found


def _layout(a: np.ndarray | None) -> tuple | None:
    """What numba's type of an array argument depends on (cheaper than ``numba.typeof``)."""
    if a is None:
        return None
    f = a.flags
    return a.dtype.char, a.ndim, f.c_contiguous, f.f_contiguous, f.aligned, f.writeable



@_loop(nogil=True, error_model="numpy", cache=True)
def _group_changes(change, step, low, width, size, place):
    # size: the hash table's, a power of two; -1 where more than half of it would fill
    n = change.shape[0]
    keys = np.full(size, -1, np.int64)  # open addressing: a bucket's id, then its rank
    slot = np.empty(n, np.int64)
    distinct = 0
    for i in range(n):
        b = np.int64((change[i] - low) / width)
        h = b & (size - 1)
        while keys[h] != -1 and keys[h] != b:
            h = (h + 1) & (size - 1)
        if keys[h] == -1:
            if 2 * (distinct + 1) > size:
                return -1
            keys[h] = b
            distinct += 1
        slot[i] = h
    ids = np.empty(distinct, np.int64)
    slots = np.empty(distinct, np.int64)
    j = 0
    for h in range(size):
        if keys[h] != -1:
            ids[j] = keys[h]
            slots[j] = h
            j += 1
    order = np.argsort(ids)
    for r in range(distinct):
        keys[slots[order[r]]] = r
    lo = np.full(distinct, np.inf)
    hi = np.full(distinct, -np.inf)
    most = np.zeros(distinct)
    for i in range(n):
        r = keys[slot[i]]
        lo[r] = min(lo[r], change[i])
        hi[r] = max(hi[r], change[i])
        most[r] = max(most[r], step[i])
    cut = np.zeros(distinct + 1, np.bool_)  # cut[r]: a group starts at bucket rank r
    cut[0] = True
    cut[distinct] = True
    largest = most.max()
    for r in range(1, distinct):
        cut[r] = lo[r] - hi[r - 1] > largest
    changed = True
    while changed:  # each group again by its own rows' largest step
        changed = False
        start = 0
        for r in range(1, distinct + 1):
            if cut[r]:
                limit = most[start:r].max()
                for q in range(start + 1, r):
                    if not cut[q] and lo[q] - hi[q - 1] > limit:
                        cut[q] = True
                        changed = True
                start = r
    group = np.empty(distinct, np.int64)
    g = -1
    for r in range(distinct):
        if cut[r]:
            g += 1
        group[r] = g
    for i in range(n):
        place[i] = group[keys[slot[i]]]
    return g + 1


@_loop(nogil=True, error_model="numpy", cache=True)
def _select(a, left, right, k):
    # the value of rank k in a[left:right + 1] (k absolute), reordering it: Floyd & Rivest's
    # selection (CACM 18(3), 1975, Algorithm 489), which first narrows a large range to a sample
    # around rank k, so it reads the rows about once and a half where a quickselect reads them
    # about three times
    while right > left:
        if right - left > 600:
            n = right - left + 1
            i = k - left + 1
            z = math.log(n)
            s = 0.5 * math.exp(2.0 * z / 3.0)
            sd = 0.5 * math.sqrt(z * s * (n - s) / n) * (1.0 if 2 * i >= n else -1.0)
            _select(a, max(left, np.int64(k - i * s / n + sd)), min(right, np.int64(k + (n - i) * s / n + sd)), k)
        t = a[k]
        i, j = left, right
        a[left], a[k] = a[k], a[left]
        if a[right] > t:
            a[right], a[left] = a[left], a[right]
        while i < j:
            a[i], a[j] = a[j], a[i]
            i += 1
            j -= 1
            while a[i] < t:
                i += 1
            while a[j] > t:
                j -= 1
        if a[left] == t:
            a[left], a[j] = a[j], a[left]
        else:
            j += 1
            a[j], a[right] = a[right], a[j]
        if j <= k:
            left = j + 1
        if k <= j:
            right = j - 1
    return a[k]


@_loop(nogil=True, error_model="numpy", cache=True)
def _grouped_kth(values, groups, q, out, counts):
    n, m = values.shape[0], out.shape[0]
    count = np.zeros(m, np.int64)
    for i in range(n):
        count[groups[i]] += 1
    start = np.empty(m + 1, np.int64)
    start[0] = 0
    for j in range(m):
        start[j + 1] = start[j] + count[j]
    fill = start[:m].copy()
    buf = np.empty(n, np.float64)  # the values, by group (a counting sort)
    for i in range(n):
        g = groups[i]
        buf[fill[g]] = values[i]
        fill[g] += 1
    for j in range(m):
        c = count[j]
        counts[j] = c
        if c == 0:
            out[j] = np.nan
        else:
            k = min(max(np.int64(np.ceil(q * c)) - 1, 0), c - 1)
            out[j] = _select(buf, start[j], start[j] + c - 1, start[j] + k)


@_loop(nogil=True, error_model="numpy", cache=True)
def _gradient_leaves(before, after, grad, hess, eta, lam, alpha, cap, least, size, place, values):
    # _leaves_from_gradients' NumPy passes in one: the margins' changes grouped, each group's value
    # by XGBoost's leaf formula, every row checked. Returns the number of groups; -1: the table is
    # full (call again with a larger size); -2: a row misses its margin; -3: no grouping here
    n = before.shape[0]
    change = np.empty(n)
    step = np.empty(n)
    low, high, largest = np.inf, -np.inf, 0.0
    for i in range(n):
        c = np.float64(after[i]) - np.float64(before[i])
        a = abs(after[i])
        # np.spacing(a): the next float32 up, less a (exact), from the bits, which vectorises
        s = np.float64(_int_bits_as_f32(_f32_bits(a) + np.int32(1)) - a)
        change[i] = c
        step[i] = s
        low = min(low, c)
        high = max(high, c)
        largest = max(largest, s)
    width = largest / 2
    if not width > 0 or (high - low) / width > 2.0**62:
        return -3
    m = _group_changes(change, step, low, width, size, place)
    if m < 0:
        return -1
    g = np.zeros(m)
    h = np.zeros(m)
    for i in range(n):  # in row order, as np.bincount sums
        g[place[i]] += np.float64(grad[i])
        h[place[i]] += np.float64(hess[i])
    for j in range(m):
        w = -np.sign(g[j]) * max(abs(g[j]) - alpha, 0.0) / (h[j] + lam)
        if cap > 0:
            w = min(max(w, -cap), cap)
        if h[j] < least or h[j] <= 0:
            w = 0.0
        values[j] = np.float32(w) * np.float32(eta)
    for i in range(n):
        if before[i] + values[place[i]] != after[i]:
            return -2
    return m

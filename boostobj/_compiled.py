"""Compiled CPU kernels: one fused pass per objective call (numba).

A loss may give a *row kernel*: ``row(y, m, p0, p1, p2) -> (g, h)`` on
float32 scalars (the label as stored, not encoded; the margin; three float32
parameters from ``Loss.row_params``), the same math as its
``grad_curvature``, written for one row. ``RowPass`` runs it over a whole
array in one compiled loop that reads the labels and the margin once and
writes the gradient and the curvature once, with the weights, the float32
floor of the curvature and the check that the framework's labels are still
the ones the objective cached, all in the same pass. The reference kernel
(``Loss.grad_curvature`` on whole arrays) makes one pass per operation
instead, each a read and a write of a block.

Why numba: it has wheels for Linux, macOS and Windows on every supported
Python, needs no compiler at install time, and compiles for the machine it
runs on. It is imported on first use, not with ``boostobj`` (this module
imports nothing heavy; ``boostobj._compiled_loops`` holds the loops): a
process that never trains pays nothing for it. Each loop is compiled once
per machine and row kernel and cached on disk (``cache=True``, next to the
package or in numba's user cache directory). ``BOOSTOBJ_NUMBA=0``, or a
numba that fails to import, sends every call to the reference kernel.

Transcendentals: numba calls libm's scalar ``expf`` per row, which does not
vectorise. ``exp32``, ``log1p32`` and ``tanh32`` are the Cephes
single-precision algorithms (Moshier 1992, "Methods and Programs for
Mathematical Functions"), range reduction plus a short polynomial in float32
arithmetic, which the compiler vectorises (within 1.5 ulp of the exact value
over float32's normal range: ``tests/test_fast_path.py``).
``exp32_nonpositive`` and ``log1p_unit32`` are the same algorithms cut to the
ranges focal needs. Written as plain Python on NumPy float32 scalars, so they
also run (slowly) without numba.
"""

from __future__ import annotations

import hashlib
import importlib.util
import inspect
import os
import threading
import warnings
from pathlib import Path
from typing import Any, Callable

import numpy as np

from boostobj._math import F32_MAX

f32 = np.float32
_F32_MAX = F32_MAX
_F32_TINY = f32(np.finfo(np.float32).smallest_normal)

# FMA contraction and sign-of-zero freedom only: no reassociation, which would
# undo the two-constant range reduction of exp32 and log1p32.
_FASTMATH = {"contract", "nsz"}

# True until numba is found missing, disabled or broken; ``available()`` settles it.
ENABLED = os.environ.get("BOOSTOBJ_NUMBA", "1") != "0" and importlib.util.find_spec("numba") is not None
numba: Any = None  # the module, once ``available()`` has imported it
_loops: Any = None  # boostobj._compiled_loops, once imported
_LOAD_LOCK = threading.Lock()
_SCALARS: list[Callable] = []  # the plain functions ``scalar`` marked, compiled by ``available()``
_JITTED: dict[Any, Any] = {}  # plain function -> its numba dispatcher


def scalar(fn: Callable) -> Callable:
    """Mark a scalar row function or helper for numba (compiled and inlined once numba is loaded).

    Returns ``fn`` itself before numba is loaded (plain Python on NumPy
    float32 scalars), its dispatcher after.
    """
    if _loops is not None:
        return _jit(fn)
    _SCALARS.append(fn)
    return fn


def _jit(fn: Callable) -> Any:
    dispatcher = _JITTED.get(fn)
    if dispatcher is None:
        dispatcher = _JITTED[fn] = numba.njit(inline="always", fastmath=_FASTMATH, error_model="numpy")(fn)
    return dispatcher


def available() -> bool:
    """Whether the compiled passes run here: imports numba and the loops on the first call."""
    global ENABLED, numba, _loops
    if _loops is not None or not ENABLED:
        return ENABLED
    with _LOAD_LOCK:
        if _loops is None and ENABLED:
            try:
                import numba as nb
                numba = nb
                from boostobj import _compiled_loops as loops
            except Exception as exc:  # noqa: BLE001 - any failure means the reference kernel
                numba, ENABLED = None, False
                warnings.warn(f"numba could not be loaded ({exc!r}); boostobj uses its NumPy kernels",
                              stacklevel=2)
                return False
            globals().update(_int_bits_as_f32=loops._int_bits_as_f32, _f32_bits=loops._f32_bits)
            # the marked functions call each other (and loss rows call them) by their module's
            # global names: compiled code must find dispatchers there
            for fn in _SCALARS:
                dispatcher = _jit(fn)
                if fn.__globals__.get(fn.__name__) is fn:
                    fn.__globals__[fn.__name__] = dispatcher
            _loops = loops
    return ENABLED


# pure Python (before numba is loaded, or without it): the helpers take NumPy float32 scalars
def _int_bits_as_f32(x):
    return np.array(x, np.int32).view(np.float32)[()]

def _f32_bits(x):
    return np.array(x, np.float32).view(np.int32)[()]



@scalar
def _pow2(k):
    """2**k as a float32, for int32 k in [-126, 127]."""
    return _int_bits_as_f32((k + np.int32(127)) << np.int32(23))


@scalar
def _exp_parts(x):
    """(p, k) with e**x = p 2**k, p in [1/sqrt 2, sqrt 2] (Cephes expf's reduction and polynomial)."""
    k = np.floor(x * f32(1.44269504088896341) + f32(0.5))
    r = x - k * f32(0.693359375)  # x - k ln2 in two parts, exact in the first
    r = r - k * f32(-2.12194440e-4)
    p = f32(1.9875691500e-4)
    p = p * r + f32(1.3981999507e-3)
    p = p * r + f32(8.3334519073e-3)
    p = p * r + f32(4.1665795894e-2)
    p = p * r + f32(1.6666665459e-1)
    p = p * r + f32(5.0000001201e-1)
    return p * r * r + r + f32(1.0), np.int32(k)


@scalar
def exp32(x):
    """e**x in float32 (Cephes expf), 0 below -104 and clipped above 88."""
    p, ki = _exp_parts(min(max(x, f32(-104.0)), f32(88.0)))
    k1 = ki >> np.int32(1)  # 2**k as two factors: k down to -150 (subnormal results) stays exact
    return p * _pow2(k1) * _pow2(ki - k1)


@scalar
def exp32_nonpositive(x):
    """e**x in float32 for x <= 0; 0 below -87.336 (float32 is normal down to e**-87.3365).

    exp32 without its upper clip and with one power of two instead of two
    (no subnormal results): focal's exp(-|z|), where a subnormal and 0 give
    the same gradient and the floored curvature.
    """
    p, k = _exp_parts(max(x, f32(-87.336)))  # e**-87.336 = 1.1761e-38: normal, k >= -126
    return p * _pow2(k) if x >= f32(-87.336) else f32(0.0)


@scalar
def log1p_unit32(x):
    """log(1 + x) in float32 for x in [0, 1] (Cephes logf's polynomial, without its bit tricks).

    1 + x is in [1, 2]: the reduction to [sqrt(1/2) - 1, sqrt(2) - 1) is x
    itself below sqrt(2) - 1 (exact: no rounding of 1 + x to undo) and
    (x - 1) / 2 above, plus log 2.
    """
    big = x > f32(0.41421356)
    return _log_series((x - f32(1.0)) * f32(0.5) if big else x, f32(1.0) if big else f32(0.0))


@scalar
def log1p32(x):
    """log(1 + x) in float32 for x >= 0, to full relative precision for small x."""
    u = f32(1.0) + x
    # (1 + x) - u, the rounding of u, is exact; log(1 + x) = log u + that / u
    return log32(u) + (x - (u - f32(1.0))) / u


@scalar
def log32(u):
    """log(u) in float32 for normal u > 0 (Cephes logf)."""
    bits = _f32_bits(u)
    e = (bits >> np.int32(23)) - np.int32(127)  # u = 2**e * v, v in [1, 2)
    v = _int_bits_as_f32((bits & np.int32(0x007FFFFF)) | np.int32(0x3F800000))
    big = v > f32(1.41421356)  # reduce v to [sqrt(1/2), sqrt(2)): log v = log(v / 2) + log 2
    f = (v * f32(0.5) if big else v) - f32(1.0)
    return _log_series(f, f32(e) + (f32(1.0) if big else f32(0.0)))


@scalar
def _log_series(f, ef):
    """log(1 + f) + ef log 2 for f in [sqrt(1/2) - 1, sqrt(2) - 1) (Cephes logf's polynomial)."""
    z = f * f
    p = f32(7.0376836292e-2)
    p = p * f - f32(1.1514610310e-1)
    p = p * f + f32(1.1676998740e-1)
    p = p * f - f32(1.2420140846e-1)
    p = p * f + f32(1.4249322787e-1)
    p = p * f - f32(1.6668057665e-1)
    p = p * f + f32(2.0000714765e-1)
    p = p * f - f32(2.4999993993e-1)
    p = p * f + f32(3.3333331174e-1)
    return (f + (p * f * z - f32(0.5) * z + ef * f32(-2.12194440e-4))) + ef * f32(0.693359375)


@scalar
def tanh32(x):
    """tanh(x) in float32 (Cephes tanhf): an odd polynomial below 0.625, else 1 - 2 / (e^{2|x|} + 1)."""
    a = abs(x)
    z = x * x
    p = f32(-5.70498872745e-3)
    p = p * z + f32(2.06390887954e-2)
    p = p * z - f32(5.37397155531e-2)
    p = p * z + f32(1.33314422036e-1)
    p = p * z - f32(3.33332819422e-1)
    small = p * z * x + x
    e = exp32(f32(-2.0) * a)  # <= 1: no overflow
    large = (f32(1.0) - e) / (f32(1.0) + e)
    large = -large if x < 0 else large
    return small if a < f32(0.625) else large


# Row kernels by key: a hash of the source file that defines the row and its
# name. The compiled loops take the key as a literal, so each row is inlined
# into its own loop (passed as a function argument, a large row such as
# focal's is called, not inlined, and the loop does not vectorise: 15x
# slower), and numba's disk cache, which keys on the loop's signature, stays
# valid across processes and is missed when the row's source file changes.
_KEYS: dict[Any, int] = {}


def _row_key(row: Any) -> int:
    key = _KEYS.get(row)
    if key is None:
        fn = getattr(row, "py_func", row)
        try:
            source = Path(inspect.getsourcefile(fn)).read_bytes()
        except (TypeError, OSError):  # no source file: a process-local key (not cached usefully)
            source = repr(id(fn)).encode()
        digest = hashlib.sha256(source + fn.__module__.encode() + fn.__qualname__.encode()).digest()
        key = int.from_bytes(digest[:7], "little")  # 56 bits: a positive int64 literal
        _loops.ROWS[key] = _jit(row)  # compiled code calls the row's dispatcher
        _KEYS[row] = key
    return key



class RowPass:
    """The compiled passes of one row kernel, bound to everything that stays fixed between rounds.

    Built once per (dataset, thread); the layout of the first call's arrays
    fixes the compiled code (callers keep it; ``_RoundPlan.fits`` checks it).
    Each round then calls
    ``curvature_sum`` and ``run`` with the labels and the margin only.
    ``w`` (float32 per-row weights, or None and the scalar ``wk``),
    ``params`` (the three row parameters), ``y_was`` (the labels ``run``
    compares the given ones with) and the float32 outputs ``g``, ``h`` are
    fixed; ``residual``: the row gets ``(y - m, 0)``, the residual formed in
    the margin's precision, then rounded to float32.
    """

    __slots__ = ("key", "residual", "blocked", "w", "wk", "p0", "p1", "p2", "y_was", "g", "h", "_rows",
                 "_rows_plain", "_plain", "_sum", "_summed")

    def __init__(self, row: Any, residual: bool, w: np.ndarray | None, wk: float, params: tuple,
                 y_was: np.ndarray, g: np.ndarray, h: np.ndarray, blocked: bool = False):
        if not available():
            raise RuntimeError("the compiled passes need numba (see boostobj._compiled.available)")
        self.key, self.residual, self.blocked = _row_key(row), residual, blocked
        self.w, self.wk = w, f32(wk)
        self.p0, self.p1, self.p2 = (f32(p) for p in params)
        self.y_was, self.g, self.h = y_was, g, h
        # each compiled on first use: most losses never sum (compiling costs 0.7-2 s the first time)
        self._rows = self._rows_plain = self._sum = self._summed = None
        self._plain = bool(w is None and self.wk == 1)  # unweighted: the factor-1 rounds skip the multiplies

    def curvature_sum(self, y: np.ndarray, m: np.ndarray) -> float:
        """The sum of the weighted curvatures ``run`` would write, in float64, reading only y and m."""
        args = (self.key, y, m, self.w, self.wk, self.p0, self.p1, self.p2, _F32_TINY)
        if self._sum is None:
            self._sum = _loops.entry(_loops._sum_residual if self.residual else _loops._sum_margin, args)
        return self._sum(*args)

    def _args(self, y: np.ndarray, m: np.ndarray, factor: float) -> tuple[bool, tuple]:
        """(plain, the row loops' arguments): plain when there is nothing to multiply (see _weigh)."""
        if self._plain and factor == 1:
            return True, (self.key, y, m, None, None, self.p0, self.p1, self.p2, self.y_was,
                          _F32_TINY, None, self.g, self.h)
        return False, (self.key, y, m, self.w, self.wk, self.p0, self.p1, self.p2, self.y_was,
                       _F32_TINY, f32(factor), self.g, self.h)

    def run_summed(self, y: np.ndarray, m: np.ndarray) -> tuple[bool, float]:
        """``run`` with factor 1 that also returns the sum of the curvature it wrote (float64).

        One pass instead of ``curvature_sum`` then ``run`` (the caller then
        applies the round's factor with ``scale``: the same values, the
        factor's float32 multiply last either way; the sum, added in
        another order, may round the factor to the next float32). Rows of
        the residual only (``float64_margin = "residual"``: quantile's).
        """
        if not self.residual:
            raise ValueError("run_summed takes rows of the residual (float64_margin 'residual')")
        _, args = self._args(y, m, 1.0)
        if self._summed is None:
            self._summed = _loops.entry(_loops._rows_residual_summed, args)
        return self._summed(*args)

    def scale(self, factor: float) -> None:
        """Multiply the outputs ``g`` and ``h`` by ``factor`` in float32, in place, in one pass.

        Saturating at float32's largest where per-row weights (up to it) and a factor above 1
        could overflow; otherwise the rows' bounds keep the products finite.
        """
        clip = self.w is not None and factor > 1
        (_loops._scale_pair_clipped if clip else _loops._scale_pair)(self.g, self.h, f32(factor))

    def run(self, y: np.ndarray, m: np.ndarray, factor: float = 1.0) -> bool:
        """Write the weighted (gradient, curvature) times ``factor`` into ``g``, ``h``.

        Returns True when ``y`` differs from ``y_was`` anywhere (compared in
        the same pass: the caller then recomputes with fresh state).
        """
        plain, args = self._args(y, m, factor)
        rows = self._rows_plain if plain else self._rows
        if rows is None:
            if self.residual:
                loop = _loops._rows_residual
            else:
                loop = _loops._rows_margin_blocked if self.blocked and m.dtype != np.float32 else _loops._rows_margin
            rows = _loops.entry(loop, args)
            if plain:
                self._rows_plain = rows
            else:
                self._rows = rows
        return rows(*args)


def curvature_sum(row: Any, residual: bool, y: np.ndarray, m: np.ndarray, w: np.ndarray | None,
                  wk: float, params: tuple) -> float:
    """The sum of the weighted curvatures ``grad_hess_rows`` would write, in float64, reading only y and m."""
    g = np.empty(0, np.float32)  # the sum writes nothing
    return RowPass(row, residual, w, wk, params, y, g, g).curvature_sum(y, m)


def grad_hess_rows(row: Any, residual: bool, y: np.ndarray, m: np.ndarray, w: np.ndarray | None,
                   wk: float, params: tuple, g: np.ndarray, h: np.ndarray, y_was: np.ndarray | None = None,
                   factor: float = 1.0, blocked: bool = False) -> bool:
    """Write ``row``'s weighted (gradient, curvature) of every row into the float32 ``g``, ``h``.

    One-off form of ``RowPass``: ``y`` the labels (not encoded), ``m`` the
    margin; ``factor`` multiplies both outputs after the weights and the
    float32 floor; ``y_was`` (default ``y``) is compared with ``y`` in the
    same pass and True returned when they differ anywhere; ``blocked``: a
    float64 ``m`` in float32 blocks (``Loss.compiled_row_blocks``; rows of
    the margin only, a residual row ignores it).
    """
    y_was = y if y_was is None else y_was
    return bool(RowPass(row, residual, w, wk, params, y_was, g, h, blocked).run(y, m, factor))


def group_changes(change: np.ndarray, step: np.ndarray) -> tuple[np.ndarray, int] | None:
    """Rows grouped by value ``change`` (float64), cut where neighbours lie further apart than steps allow.

    As sorting ``change`` and cutting between neighbours further apart than
    the largest ``step`` of the rows, then again within each group by its
    own rows' largest step, until no group changes; but in one pass over
    buckets of half the largest step (hashed, so only the buckets that hold
    rows are kept) instead of a sort of the rows, which the refit would pay
    every round. Gaps within a bucket are never cut, so groups are at most
    as fine as the sorted version's. Returns (each row's group, numbered in
    ascending order of value; the number of groups), or None without
    compiled loops or where the buckets would not fit an int64.
    """
    if not available() or not change.shape[0]:
        return None
    low, width = float(change.min()), float(step.max()) / 2
    if not width > 0 or (float(change.max()) - low) / width > 2.0**62:
        return None
    place = np.empty(change.shape[0], dtype=np.intp)
    groups = _loops._group_changes(change, step, low, width, _table_size(change.shape[0]), place)
    return place, int(groups)


def _table_size(n: int) -> int:
    """The hash table of ``n`` rows' buckets that never fills: the power of two from 4 n."""
    return 1 << max(4 * n - 1, 1).bit_length()


# The first table of the refit's grouping: a tree's leaves fill a few buckets each, and a small
# table stays in cache where one of 4 n rows would not
_FIRST_TABLE = 1 << 12


def gradient_leaves(before: np.ndarray, after: np.ndarray, grad: np.ndarray, hess: np.ndarray,
                    params: tuple[float, float, float, float, float]
                    ) -> tuple[np.ndarray, np.ndarray | None] | None:
    """One XGBoost tree's leaves from its float32 cached margins around it and its gradients.

    The XGBoost refit's ``_leaves_from_gradients`` for one output in one
    compiled pass: the margins' changes grouped as ``group_changes``
    groups them, each group's value by XGBoost's leaf formula from its
    gradient sums (``params``: eta, lambda, alpha, max_delta_step,
    min_child_weight), every row checked to reach ``after`` with it. Returns
    (each row's group, the groups' float32 values), the values None where a
    row misses; None without compiled loops or where the changes cannot be
    bucketed (the caller's NumPy route then decides).
    """
    if not available() or not before.shape[0]:
        return None
    n = before.shape[0]
    place, values = np.empty(n, dtype=np.intp), np.empty(n, dtype=np.float32)
    size = min(_FIRST_TABLE, _table_size(n))
    while True:
        m = _loops._gradient_leaves(before, after, grad, hess, *params, size, place, values)
        if m != -1:
            break
        size = _table_size(n)  # more buckets than the first table holds: one that cannot fill
    if m == -3:
        return None
    return place, (values[:m].copy() if m >= 0 else None)


def grouped_quantile(values: np.ndarray, groups: np.ndarray, n_groups: int, q: float
                     ) -> tuple[np.ndarray, np.ndarray] | None:
    """Each group's ``q``-quantile of ``values`` by the inverted-CDF rule, and its row count.

    ``weighted.grouped_weighted_quantile`` without weights (the rank
    ``ceil(q n) - 1`` value of each group's ``n`` rows; NaN for a group
    without rows), in one compiled pass: the rows are placed by group (a
    counting sort), then each group's value of that rank is selected (Floyd
    and Rivest's selection), linear in the rows where NumPy sorts them or
    selects group by group from Python. ``groups`` in ``[0, n_groups)``.
    None without compiled loops.
    """
    if not available():
        return None
    out, counts = np.empty(n_groups), np.empty(n_groups)
    _loops._grouped_kth(np.ascontiguousarray(values, dtype=np.float64),
                        np.ascontiguousarray(groups, dtype=np.intp), float(q), out, counts)
    return out, counts


def nearest_leaves(before: np.ndarray, after: np.ndarray, v: np.ndarray) -> np.ndarray | None:
    """For each row the index of the one value of the sorted ``v`` with ``before + v == after``.

    The sums in the arrays' dtype (``v`` must have it too; its values
    distinct). None if some row has no such value, or two. Compiled passes
    where ``leaf_refit.leaves_from_sums`` makes ten NumPy passes for it.
    """
    if not available():
        return None
    k = v.shape[0]
    pick = np.empty(before.shape[0], dtype=np.int32 if k <= 64 else np.intp)
    if k > 64:
        _loops._nearest_leaves(before, after, v, pick)
    else:
        vv = v.astype(np.float64)
        mids = np.full(64, np.inf)  # 63 midpoints at most, +inf past the last
        mids[:k - 1] = vv[:-1] + (vv[1:] - vv[:-1]) / 2  # ordered, no overflow
        if k <= 8:
            _loops._ranks_8(before, after, tuple(mids[:7].tolist()), pick)
        else:
            _loops._ranks_64(before, after, tuple(mids[7::8][:7].tolist()), mids.reshape(8, 8)[:, :7].copy(), pick)
    return pick if _loops._sums_match(before, after, v, pick) else None


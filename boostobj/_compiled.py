"""Compiled CPU kernels: one fused pass per objective call (numba, the ``fast`` extra).

A loss may give a *row kernel*: ``row(y, m, p0, p1, p2) -> (g, h)`` on
float32 scalars (the label as stored, not encoded; the margin; three float32
parameters from ``Loss.row_params``), the same math as its
``grad_curvature``, written for one row. ``RowPass`` runs it over a whole
array in one compiled loop that reads the labels and the margin once and
writes the gradient and the curvature once, with the weights, the float32
floor of the curvature and the check that the framework's labels are still
the ones the objective cached, all in the same pass. NumPy's in-place kernels (``Loss.numpy_kernel``) make
one pass per operation instead: 5 for Huber, 25 for focal, each a read and a
write of a block.

Why numba: it is an ordinary dependency with wheels for Linux, macOS and
Windows on every supported Python, needs no compiler at install time, and
compiles for the machine it runs on (AVX-512 where there is one). It is
optional: without it (or with ``BOOSTOBJ_NUMBA=0``) every call takes the
NumPy path, which stays the reference the tests compare this one against.
Its cost: importing it adds ~0.16 s to ``import boostobj``; each row kernel
is compiled once per machine and cached on disk (``cache=True``, next to
this file or in numba's user cache directory).

Transcendentals: numba calls libm's scalar ``expf`` per row (not
vectorised: 5x slower than NumPy's SIMD ``exp``). ``exp32``, ``log1p32``
and ``tanh32`` are the Cephes single-precision algorithms (Moshier 1992,
"Methods and Programs for Mathematical Functions"), range reduction plus a
short polynomial in float32 arithmetic, which the compiler vectorises:
within 1.5 ulp of the exact value over float32's normal range (measured over
1.2 million points each: exp32 0.99 ulp, log1p32 0.80, tanh32 1.49; NumPy's
own float32 functions 2.40, 1.72, 1.36). ``exp32_nonpositive`` and
``log1p_unit32`` are the same algorithms cut to the ranges focal needs
(0.98 and 1.37 ulp), a few operations per row fewer.
"""

from __future__ import annotations

import hashlib
import inspect
import os
from pathlib import Path
from typing import Any, Callable

import numpy as np

try:  # the optional "fast" extra
    if os.environ.get("BOOSTOBJ_NUMBA", "1") == "0":
        raise ImportError("disabled by BOOSTOBJ_NUMBA=0")
    import numba
    from llvmlite import ir as _ir
    from numba.core import types as _types
    from numba.extending import intrinsic as _intrinsic
except ImportError:
    numba = None

ENABLED = numba is not None

f32 = np.float32
_F32_MAX = f32(np.finfo(np.float32).max)
_F32_TINY = f32(np.finfo(np.float32).smallest_normal)

# FMA contraction and sign-of-zero freedom only: no reassociation, which would
# undo the two-constant range reduction of exp32 and log1p32.
_FASTMATH = {"contract", "nsz"}


def scalar(fn: Callable) -> Callable:
    """Decorate a scalar row function or helper: compiled and inlined with numba, plain Python without."""
    if numba is None:
        return fn
    return numba.njit(inline="always", fastmath=_FASTMATH, error_model="numpy")(fn)


if numba is not None:
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
else:  # pure Python: the helpers take NumPy float32 scalars
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
_ROWS: dict[int, Any] = {}
_KEYS: dict[Any, int] = {}
_ENTRIES: dict[tuple, Any] = {}


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
        _ROWS[key] = row
        _KEYS[row] = key
    return key


if numba is not None:
    from numba.extending import overload as _overload

    def _call_row(key, t, m, p0, p1, p2):
        """The row kernel registered under the literal ``key`` (resolved and inlined when compiled)."""
        raise NotImplementedError("compiled code only")

    @_overload(_call_row, inline="always")
    def _call_row_impl(key, t, m, p0, p1, p2):
        if not isinstance(key, _types.IntegerLiteral):
            return None
        row = _ROWS[key.literal_value]

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
        # bit: focal's row in a warm loop 5% faster
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


if numba is not None:
    # the sums may be added in any order (vectorised): they set one factor per round
    _SUM = {**_LOOP, "fastmath": _FASTMATH | {"reassoc"}}

    # The rows of the residual and the sum of the curvature they write, in one pass, for the
    # per-round factor (``RowPass.run_summed``): one read of the rows instead of two
    # (benchmarks/results/speed_paired_quantile_one_pass_<rows>.md). Compiled as the row loops
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


if numba is not None:
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


def _entry(loop: Any, args: tuple) -> Any:
    """The compiled entry point of ``loop`` for these arguments (the first, a row key, as a literal).

    Called directly: the dispatcher would resolve the literal key anew on
    every call (~8 ms).
    """
    sig = (loop, args[0], *(_layout(a) if isinstance(a, np.ndarray) or a is None else type(a)
                            for a in args[1:]))
    entry = _ENTRIES.get(sig)
    if entry is None:
        types = [_types.literal(args[0])] + [numba.typeof(a) for a in args[1:]]
        entry = _ENTRIES[sig] = loop.compile(tuple(types))
    return entry


def _layout(a: np.ndarray | None) -> tuple | None:
    """What numba's type of an array argument depends on (cheaper than ``numba.typeof``)."""
    if a is None:
        return None
    f = a.flags
    return a.dtype.char, a.ndim, f.c_contiguous, f.f_contiguous, f.aligned, f.writeable


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
            self._sum = _entry(_sum_residual if self.residual else _sum_margin, args)
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
            self._summed = _entry(_rows_residual_summed, args)
        return self._summed(*args)

    def scale(self, factor: float) -> None:
        """Multiply the outputs ``g`` and ``h`` by ``factor`` in float32, in place, in one pass.

        Saturating at float32's largest where per-row weights (up to it) and a factor above 1
        could overflow; otherwise the rows' bounds keep the products finite.
        """
        clip = self.w is not None and factor > 1
        (_scale_pair_clipped if clip else _scale_pair)(self.g, self.h, f32(factor))

    def run(self, y: np.ndarray, m: np.ndarray, factor: float = 1.0) -> bool:
        """Write the weighted (gradient, curvature) times ``factor`` into ``g``, ``h``.

        Returns True when ``y`` differs from ``y_was`` anywhere (compared in
        the same pass: the caller then recomputes with fresh state).
        """
        plain, args = self._args(y, m, factor)
        rows = self._rows_plain if plain else self._rows
        if rows is None:
            if self.residual:
                loop = _rows_residual
            else:
                loop = _rows_margin_blocked if self.blocked and m.dtype != np.float32 else _rows_margin
            rows = _entry(loop, args)
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


if numba is not None:
    # No fastmath: the sums are compared exactly, as the framework rounded them. Each row's leaf
    # is found by counting the midpoints between consecutive sorted leaf values that lie below
    # the row's score difference: a fixed number of comparisons (the midpoints as a tuple of 7,
    # unrolled; more leaves through an 8 x 7 table of the finer ones, gathered), so the row loop
    # vectorises. A binary search per row is a chain of dependent loads: 20-35 ms at 1M rows,
    # against 2-4 ms for the counts and the check together (measured, 8 and 64 leaves).
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


def nearest_leaves(before: np.ndarray, after: np.ndarray, v: np.ndarray) -> np.ndarray | None:
    """For each row the index of the one value of the sorted ``v`` with ``before + v == after``.

    The sums in the arrays' dtype (``v`` must have it too; its values
    distinct). None if some row has no such value, or two. Compiled passes
    (``leaf_refit.leaves_from_sums`` makes ten NumPy passes for it: 56 ms at
    1M rows).
    """
    k = v.shape[0]
    pick = np.empty(before.shape[0], dtype=np.int32 if k <= 64 else np.intp)
    if k > 64:
        _nearest_leaves(before, after, v, pick)
    else:
        vv = v.astype(np.float64)
        mids = np.full(64, np.inf)  # 63 midpoints at most, +inf past the last
        mids[:k - 1] = vv[:-1] + (vv[1:] - vv[:-1]) / 2  # ordered, no overflow
        if k <= 8:
            _ranks_8(before, after, tuple(mids[:7].tolist()), pick)
        else:
            _ranks_64(before, after, tuple(mids[7::8][:7].tolist()), mids.reshape(8, 8)[:, :7].copy(), pick)
    return pick if _sums_match(before, after, v, pick) else None

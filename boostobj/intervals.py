"""Prediction intervals that keep their promised coverage.

``IntervalRegressor`` trains the three quantiles ``(1 - coverage) / 2``, 0.5
and ``1 - (1 - coverage) / 2`` as ONE multi-quantile booster (XGBoost or
LightGBM, through the ``boostobj.sklearn`` drop-ins) and, by default,
conformalizes the interval on a held-out calibration split: conformalized
quantile regression (CQR; Romano, Patterson & Candes 2019, "Conformalized
Quantile Regression", NeurIPS). Raw quantile intervals from a boosted model
have no coverage guarantee and miss in either direction on new data (in
``benchmarks/results/intervals/intervals.md`` the raw 90% interval covers 0.916 on the
heteroscedastic example and 0.676-0.719 on diabetes); CQR has a
finite-sample guarantee ``P(y in interval) >= coverage`` for exchangeable
data.

The helpers ``coverage``, ``mean_width`` and ``interval_score`` score any
``(n, 2)`` interval.

Examples
--------
>>> import numpy as np
>>> from boostobj.intervals import IntervalRegressor, coverage
>>> rng = np.random.default_rng(0)
>>> X = rng.uniform(0, 10, size=(2000, 1)); y = X[:, 0] + rng.normal(size=2000) * (0.1 + 0.2 * X[:, 0])
>>> model = IntervalRegressor(coverage=0.9, n_estimators=50, random_state=0).fit(X[:1000], y[:1000])
>>> interval = model.predict_interval(X[1000:])
>>> interval.shape
(1000, 2)
>>> bool(0.85 < coverage(y[1000:], interval) < 0.95)
True
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np
from sklearn.base import BaseEstimator, RegressorMixin
from sklearn.utils import check_random_state
from sklearn.utils.validation import (
    _check_sample_weight,
    check_array,
    check_consistent_length,
    check_is_fitted,
    column_or_1d,
)

try:
    from sklearn.utils.validation import validate_data
except ImportError:  # scikit-learn < 1.6 (untested here): the method, with the old keyword

    def validate_data(estimator: Any, *args: Any, ensure_all_finite: Any = True, **kwargs: Any) -> Any:
        return estimator._validate_data(*args, force_all_finite=ensure_all_finite, **kwargs)

__all__ = ["IntervalRegressor", "conformal_quantile", "coverage", "interval_score", "mean_width",
           "min_calibration_rows"]

_BACKENDS = ("xgboost", "lightgbm")
# (n + 1) * coverage is computed in floating point: 10 * 0.9 is 9.000000000000002
_TOL = 1e-9
_MIN_LEAF_ROWS = 20  # rows per leaf on both backends: LightGBM's default min_child_samples


# ---- scoring helpers --------------------------------------------------------
def _check_interval(interval: Any, y: Any = None) -> tuple[np.ndarray, np.ndarray | None]:
    iv = np.asarray(interval, dtype=np.float64)
    if iv.ndim != 2 or iv.shape[1] != 2:
        raise ValueError(f"interval must have shape (n, 2) (lower, upper), got {iv.shape}")
    if y is None:
        return iv, None
    yy = np.asarray(y, dtype=np.float64).reshape(-1)
    if yy.shape[0] != iv.shape[0]:
        raise ValueError(f"y has {yy.shape[0]} rows but interval has {iv.shape[0]}")
    return iv, yy


def coverage(y: Any, interval: Any) -> float:
    """Fraction of rows with ``lower <= y <= upper``.

    Parameters
    ----------
    y : array of shape (n,)
    interval : array of shape (n, 2)
        Lower and upper bounds per row.

    Examples
    --------
    >>> import numpy as np
    >>> from boostobj.intervals import coverage
    >>> coverage(np.array([0.0, 1.0, 5.0, 2.0]), np.array([[0, 1], [0, 1], [0, 1], [2, 3]]))
    0.75
    """
    iv, yy = _check_interval(interval, y)
    return float(np.mean((iv[:, 0] <= yy) & (yy <= iv[:, 1])))


def mean_width(interval: Any) -> float:
    """Mean width ``upper - lower`` of an ``(n, 2)`` interval.

    Examples
    --------
    >>> import numpy as np
    >>> from boostobj.intervals import mean_width
    >>> mean_width(np.array([[0.0, 1.0], [2.0, 5.0]]))
    2.0
    """
    iv, _ = _check_interval(interval)
    return float(np.mean(iv[:, 1] - iv[:, 0]))


def interval_score(y: Any, interval: Any, alpha: float) -> float:
    """Mean interval (Winkler) score of a central ``1 - alpha`` interval; lower is better.

    Per row ``(u - l) + (2 / alpha) * (l - y) * [y < l] + (2 / alpha) * (y - u) * [y > u]``
    (Winkler 1972; Gneiting & Raftery 2007, "Strictly Proper Scoring Rules",
    JASA, eq. 43). It rewards narrow intervals and charges ``2 / alpha`` per
    unit of miss, so it is minimised by the true ``alpha/2`` and
    ``1 - alpha/2`` quantiles.

    Parameters
    ----------
    y : array of shape (n,)
    interval : array of shape (n, 2)
    alpha : float in (0, 1)
        Miscoverage level: 0.1 for a 90% interval.

    Examples
    --------
    >>> import numpy as np
    >>> from boostobj.intervals import interval_score
    >>> # widths 1 and 1; the second row misses by 0.5: 1 + 1 + (2 / 0.1) * 0.5 = 12 in all
    >>> interval_score(np.array([0.5, 1.5]), np.array([[0.0, 1.0], [0.0, 1.0]]), alpha=0.1)
    6.0
    """
    if not (isinstance(alpha, (int, float, np.floating, np.integer)) and 0.0 < float(alpha) < 1.0):
        raise ValueError(f"alpha must be a miscoverage level in the open interval (0, 1), got {alpha!r}")
    iv, yy = _check_interval(interval, y)
    lo, hi = iv[:, 0], iv[:, 1]
    a = float(alpha)
    score = (hi - lo) + (2.0 / a) * np.maximum(lo - yy, 0.0) + (2.0 / a) * np.maximum(yy - hi, 0.0)
    return float(np.mean(score))


# ---- the conformal step -----------------------------------------------------
def min_calibration_rows(coverage: float) -> int:
    """Smallest calibration set n with ``ceil((n + 1) * coverage) <= n``.

    With fewer rows the finite-sample conformal quantile is infinite.

    Examples
    --------
    >>> from boostobj.intervals import min_calibration_rows
    >>> min_calibration_rows(0.9), min_calibration_rows(0.95)
    (9, 19)
    """
    return max(1, math.ceil(coverage / (1.0 - coverage) - _TOL))


def conformal_quantile(scores: Any, coverage: float, sample_weight: Any = None) -> float:
    """The finite-sample conformal quantile of calibration conformity scores.

    Unweighted: the ``k``-th smallest score, ``k = ceil((n + 1) * coverage)``
    (the empirical ``ceil((n + 1)(1 - a)) / n`` quantile, ``a = 1 - coverage``).

    Weighted: the smallest score ``s`` whose calibration weight at or below
    ``s`` reaches ``coverage * (W + w_test)``, where ``W`` is the total
    calibration weight and the unseen test point (placed at +inf) gets the
    mean calibration weight ``w_test = W / n``. Equal weights give exactly the
    unweighted rule; integer weights act like repeated rows (except in
    ``w_test``). This is the weighted split-conformal quantile of Tibshirani,
    Barber, Candes & Ramdas 2019 ("Conformal Prediction Under Covariate
    Shift", NeurIPS) with the test weight set to the average.

    Raises ValueError when the quantile would be +inf (too few calibration
    rows, or too little calibration weight, for ``coverage``).

    Examples
    --------
    >>> import numpy as np
    >>> from boostobj.intervals import conformal_quantile
    >>> conformal_quantile(np.arange(1.0, 20.0), 0.9)  # n = 19: k = ceil(20 * 0.9) = 18
    18.0
    """
    s = np.asarray(scores, dtype=np.float64).reshape(-1)
    n = s.shape[0]
    if sample_weight is None:
        k = math.ceil((n + 1) * coverage - _TOL)
        if k > n:
            raise ValueError(
                f"{n} calibration rows are too few for coverage={coverage}: the conformal quantile "
                f"needs ceil((n + 1) * coverage) <= n, i.e. at least {min_calibration_rows(coverage)} "
                "calibration rows. Use more data, a larger calibration_size or a lower coverage."
            )
        return float(np.sort(s)[k - 1])
    w = np.asarray(sample_weight, dtype=np.float64).reshape(-1)
    if w.shape[0] != n:
        raise ValueError(f"sample_weight has {w.shape[0]} rows but scores has {n}")
    total = float(w.sum())
    if not total > 0:
        raise ValueError("the calibration rows have zero total sample_weight; cannot calibrate")
    order = np.argsort(s, kind="stable")
    cum = np.cumsum(w[order])
    need = coverage * (total + total / n) * (1.0 - _TOL)
    idx = int(np.searchsorted(cum, need, side="left"))
    if idx >= n:
        raise ValueError(
            f"the calibration rows carry too little sample_weight for coverage={coverage}: the weighted "
            "conformal quantile is infinite. Use more data, a larger calibration_size or a lower coverage."
        )
    return float(s[order][idx])


# ---- the estimator -----------------------------------------------------------
class IntervalRegressor(RegressorMixin, BaseEstimator):
    """Central prediction intervals from one multi-quantile booster, conformalized.

    Trains the quantiles ``(1 - coverage) / 2``, 0.5 and
    ``1 - (1 - coverage) / 2`` as one multi-output booster
    (``boostobj.quantile([lo, 0.5, hi])`` in ``boostobj.sklearn.XGBRegressor``
    or ``LGBMRegressor``), so they never cross.

    With ``conformal=True`` (default) a random ``calibration_size`` fraction
    of the rows is held out; the model is trained on the rest, and the
    conformity scores ``max(lo - y, y - hi)`` on the held-out rows give the
    correction ``q`` (their finite-sample ``ceil((n + 1) * coverage) / n``
    quantile; see ``conformal_quantile``). The interval is ``[lo - q, hi + q]``
    (CQR, Romano, Patterson & Candes 2019). For exchangeable data it covers at
    least ``coverage`` of new points on average. ``q`` may be negative (the
    raw interval was too wide); where that would make lower > upper, both
    bounds are set to their midpoint. With ``conformal=False`` the model is
    trained on all rows and the raw quantile interval is returned.

    Sample weights weight the pinball losses in training and, for the
    calibration, give the weighted conformal quantile described in
    ``conformal_quantile`` (the unseen test point gets the mean calibration
    weight; equal weights reproduce the unweighted rule).

    Parameters
    ----------
    backend : {"xgboost", "lightgbm"}
    coverage : float in (0, 1), default 0.9
        Target probability that the interval contains y.
    conformal : bool, default True
        Conformalize on a calibration split (else: raw quantiles, all data).
    calibration_size : float in (0, 1), default 0.25
        Fraction of the rows held out for calibration when ``conformal``.
    n_estimators, learning_rate, max_depth : int >= 1, float > 0, int >= 1 or None; default 200, 0.1, 3
        Boosting settings. ``max_depth`` also sets LightGBM's
        ``num_leaves = 2 ** max_depth``. The 5% and 95% quantiles move from
        the marginal start more slowly than a mean does, hence 200 rounds.
        Both backends keep at least 20 rows in a leaf (LightGBM's default
        ``min_child_samples``; XGBoost gets ``min_child_weight=20``, which
        under the quantile refit counts rows): a leaf's exact 5% quantile of
        a handful of rows is its noisiest row (XGBoost's default of one
        gives wider conformal intervals: the comparison is in
        ``benchmarks/results/intervals/intervals_mapie*.md``).
    random_state : int, RandomState or None
        Seeds the calibration split and the booster.
    device : {"cpu", "cuda", "gpu"}, default "cpu"
        Falls back to the CPU with one warning when no GPU is usable.
    params : dict or None
        Extra keyword arguments for the backend's estimator (they win over
        the settings above), e.g. ``{"n_jobs": 1}`` or ``{"reg_lambda": 0}``.

    Attributes
    ----------
    model_ : boostobj.sklearn.XGBRegressor or LGBMRegressor
        The fitted three-quantile model.
    quantiles_ : tuple of three floats
        The trained quantile levels (lower, median, upper).
    correction_ : float
        The conformal correction ``q`` (0.0 with ``conformal=False``).
    n_calibration_ : int
        Rows used for calibration (0 with ``conformal=False``).
    categorical_ : bool
        X was a pandas DataFrame with categorical columns: they go to the
        backend as they are (XGBoost with ``enable_categorical=True``,
        LightGBM's pandas categoricals), and ``predict`` takes such a frame.

    Examples
    --------
    >>> import numpy as np
    >>> from boostobj.intervals import IntervalRegressor
    >>> rng = np.random.default_rng(1)
    >>> X = rng.normal(size=(500, 2)); y = 3 * X[:, 0] + rng.normal(size=500)
    >>> m = IntervalRegressor(backend="lightgbm", n_estimators=30, random_state=0).fit(X, y)
    >>> m.predict_interval(X[:3]).shape, m.predict(X[:3]).shape, m.predict_quantiles(X[:3]).shape
    ((3, 2), (3,), (3, 3))
    >>> bool((m.predict_interval(X)[:, 0] <= m.predict(X)).mean() > 0.99)
    True
    """

    def __init__(
        self,
        backend: str = "xgboost",
        coverage: float = 0.9,
        conformal: bool = True,
        calibration_size: float = 0.25,
        n_estimators: int = 200,
        learning_rate: float = 0.1,
        max_depth: int = 3,
        random_state: int | np.random.RandomState | None = None,
        device: str = "cpu",
        params: dict | None = None,
    ):
        self.backend = backend
        self.coverage = coverage
        self.conformal = conformal
        self.calibration_size = calibration_size
        self.n_estimators = n_estimators
        self.learning_rate = learning_rate
        self.max_depth = max_depth
        self.random_state = random_state
        self.device = device
        self.params = params

    # ---- validation -------------------------------------------------------
    def _check_params(self) -> None:
        if self.backend not in _BACKENDS:
            raise ValueError(f"backend must be one of {_BACKENDS}, got {self.backend!r}")
        if not (_is_real(self.coverage) and 0.0 < float(self.coverage) < 1.0):
            raise ValueError(
                f"coverage must be a number in the open interval (0, 1), got {self.coverage!r}")
        if not (_is_real(self.calibration_size) and 0.0 < float(self.calibration_size) < 1.0):
            raise ValueError(
                "calibration_size must be a fraction in the open interval (0, 1), "
                f"got {self.calibration_size!r}")
        if self.params is not None and not isinstance(self.params, dict):
            raise ValueError(f"params must be a dict or None, got {type(self.params).__name__}")
        if not (_is_real(self.learning_rate) and float(self.learning_rate) > 0):
            raise ValueError(f"learning_rate must be a finite number > 0, got {self.learning_rate!r}")
        if not (_is_int(self.n_estimators) and self.n_estimators >= 1):
            raise ValueError(f"n_estimators must be an integer >= 1, got {self.n_estimators!r}")
        if self.max_depth is not None and not (_is_int(self.max_depth) and self.max_depth >= 1):
            raise ValueError(f"max_depth must be an integer >= 1 or None, got {self.max_depth!r}")
        lo, _, hi = self._quantile_levels()
        if not 0.0 < lo < 0.5 < hi < 1.0:  # the rounded levels collapse at a coverage near 0 or 1
            raise ValueError(
                f"coverage={self.coverage!r} is too close to 0 or 1: its quantile levels "
                f"{(lo, hi)} must lie strictly between 0 and 0.5 and between 0.5 and 1")

    def _quantile_levels(self) -> tuple[float, float, float]:
        a = 1.0 - float(self.coverage)  # rounded: 1 - 0.9 is 0.09999999999999998
        return (round(a / 2.0, 12), 0.5, round(1.0 - a / 2.0, 12))

    def _make_model(self, seed: int, categorical: bool = False) -> Any:
        from boostobj import device as _device
        from boostobj import sklearn as _sk
        from boostobj.registry import FACTORIES

        obj = FACTORIES["quantile"](list(self._quantile_levels()))
        extra = dict(self.params or {})
        if self.backend == "xgboost":
            kw: dict = dict(objective=obj, n_estimators=self.n_estimators, learning_rate=self.learning_rate,
                            max_depth=self.max_depth, min_child_weight=_MIN_LEAF_ROWS, random_state=seed)
            if categorical:  # pandas categorical columns: XGBoost's own categorical splits
                kw["enable_categorical"] = True
            kw.update(_device.xgboost_device_params(self.device))
            kw.update(extra)
            return _sk.XGBRegressor(**kw)
        depth = self.max_depth if self.max_depth is not None else -1
        kw = dict(objective=obj, n_estimators=self.n_estimators, learning_rate=self.learning_rate,
                  max_depth=depth, num_leaves=2 ** depth if depth > 0 else 31,
                  random_state=seed, verbose=-1)
        kw.update(_device.lightgbm_device_params(self.device))
        kw.update(extra)
        return _sk.LGBMRegressor(**kw)

    # ---- fit / predict ----------------------------------------------------
    def fit(self, X: Any, y: Any, sample_weight: Any = None) -> "IntervalRegressor":
        """Train the three-quantile model (and calibrate it when ``conformal``).

        Raises ValueError for invalid parameters, non-finite labels or
        weights, and too few calibration rows for ``coverage``.

        >>> import numpy as np
        >>> from boostobj.intervals import IntervalRegressor
        >>> X = np.linspace(0, 1, 200)[:, None]; y = 10 * X[:, 0] + np.random.default_rng(0).normal(size=200)
        >>> m = IntervalRegressor(n_estimators=20, random_state=0).fit(X, y)
        >>> m.n_calibration_, m.quantiles_
        (50, (0.05, 0.5, 0.95))
        """
        self._check_params()
        self.categorical_ = _has_categories(X)
        if self.categorical_:
            # pandas categorical columns go to the backend as they are (XGBoost
            # enable_categorical, LightGBM's pandas categoricals): names and count checked only
            validate_data(self, X, skip_check_array=True)
            y = check_array(column_or_1d(y), ensure_2d=False, dtype=np.float64, input_name="y")
            check_consistent_length(X, y)
        else:
            X, y = validate_data(self, X, y, ensure_all_finite="allow-nan", y_numeric=True,
                                 dtype=np.float64)
        y = np.asarray(y, dtype=np.float64)
        w = None
        if sample_weight is not None:
            w = _check_sample_weight(sample_weight, X, dtype=np.float64, ensure_non_negative=True)
            if not w.sum() > 0:
                raise ValueError("sample_weight is all zero: at least one weight must be positive")
        rs = check_random_state(self.random_state)
        n = X.shape[0]
        self.quantiles_ = self._quantile_levels()
        if not self.conformal:
            seed = int(rs.randint(np.iinfo(np.int32).max))
            self.model_ = self._make_model(seed, self.categorical_).fit(X, y, sample_weight=w)
            self.correction_ = 0.0
            self.n_calibration_ = 0
            return self
        n_cal = int(math.floor(float(self.calibration_size) * n))
        need = min_calibration_rows(float(self.coverage))
        if n_cal < need or n - n_cal < 1:
            raise ValueError(
                f"n_samples={n}: calibration_size={self.calibration_size} gives {n_cal} calibration rows, "
                f"but coverage={self.coverage} needs at least {need} (ceil((n_cal + 1) * coverage) <= "
                "n_cal) and at least one training row. Use more data, a larger calibration_size "
                "or a lower coverage."
            )
        perm = rs.permutation(n)
        seed = int(rs.randint(np.iinfo(np.int32).max))
        cal, tr = perm[:n_cal], perm[n_cal:]
        w_tr = None if w is None else w[tr]
        w_cal = None if w is None else w[cal]
        if w_tr is not None and not w_tr.sum() > 0:
            raise ValueError("the training split has zero total sample_weight")
        self.model_ = self._make_model(seed, self.categorical_).fit(_rows(X, tr), y[tr], sample_weight=w_tr)
        q = np.asarray(self.model_.predict(_rows(X, cal)))
        scores = np.maximum(q[:, 0] - y[cal], y[cal] - q[:, 2])
        self.correction_ = conformal_quantile(scores, float(self.coverage), w_cal)
        self.n_calibration_ = n_cal
        return self

    def predict_quantiles(self, X: Any) -> np.ndarray:
        """The model's raw (not conformalized) quantiles, shape (n, 3), sorted per row.

        Columns are the levels in ``quantiles_``: lower, median, upper.

        >>> import numpy as np
        >>> from boostobj.intervals import IntervalRegressor
        >>> X = np.linspace(0, 1, 200)[:, None]; y = 10 * X[:, 0] + np.random.default_rng(0).normal(size=200)
        >>> m = IntervalRegressor(n_estimators=20, random_state=0).fit(X, y)
        >>> q = m.predict_quantiles(X)
        >>> q.shape, bool(np.all(np.diff(q, axis=1) >= 0))
        ((200, 3), True)
        """
        check_is_fitted(self, "model_")
        if getattr(self, "categorical_", False):
            validate_data(self, X, reset=False, skip_check_array=True)
        else:
            X = validate_data(self, X, reset=False, ensure_all_finite="allow-nan", dtype=np.float64)
        return np.asarray(self.model_.predict(X), dtype=np.float64).reshape(-1, 3)

    def predict_interval(self, X: Any) -> np.ndarray:
        """Lower and upper bounds, shape (n, 2): conformalized when ``conformal``.

        >>> import numpy as np
        >>> from boostobj.intervals import IntervalRegressor
        >>> X = np.linspace(0, 1, 200)[:, None]; y = 10 * X[:, 0] + np.random.default_rng(0).normal(size=200)
        >>> m = IntervalRegressor(n_estimators=20, random_state=0).fit(X, y)
        >>> iv = m.predict_interval(X)
        >>> bool(np.allclose(iv, m.predict_quantiles(X)[:, [0, 2]] + [-m.correction_, m.correction_]))
        True
        """
        q = self.predict_quantiles(X)
        c = self.correction_
        lo, hi = q[:, 0] - c, q[:, 2] + c
        crossed = lo > hi  # only when the correction is negative
        mid = 0.5 * (lo + hi)
        return np.column_stack([np.where(crossed, mid, lo), np.where(crossed, mid, hi)])

    def predict(self, X: Any) -> np.ndarray:
        """The median prediction, shape (n,).

        >>> import numpy as np
        >>> from boostobj.intervals import IntervalRegressor
        >>> X = np.linspace(0, 1, 200)[:, None]; y = 10 * X[:, 0] + np.random.default_rng(0).normal(size=200)
        >>> m = IntervalRegressor(n_estimators=20, random_state=0).fit(X, y)
        >>> bool(np.abs(m.predict(X) - 10 * X[:, 0]).mean() < 1.0)
        True
        """
        return self.predict_quantiles(X)[:, 1]

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.input_tags.allow_nan = True  # both backends route missing values
        return tags

    def _more_tags(self) -> dict:  # the same for scikit-learn < 1.6
        return {"allow_nan": True}


def _has_categories(X: Any) -> bool:
    """A pandas DataFrame with categorical columns."""
    dtypes = getattr(X, "dtypes", None)
    return hasattr(X, "iloc") and dtypes is not None and np.ndim(dtypes) == 1 \
        and any(str(d) == "category" for d in dtypes)


def _rows(X: Any, idx: np.ndarray) -> Any:
    return X.iloc[idx] if hasattr(X, "iloc") else X[idx]


def _is_int(v: Any) -> bool:
    return isinstance(v, (int, np.integer)) and not isinstance(v, bool)


def _is_real(v: Any) -> bool:
    return isinstance(v, (int, float, np.integer, np.floating)) and not isinstance(v, bool) \
        and math.isfinite(float(v))

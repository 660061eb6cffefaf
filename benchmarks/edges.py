"""Where each factory parameter stops training well: the measurements behind its valid range.

For each loss, parameter values at and beyond the ends of its range are
trained with both drop-ins (400 rows, 3 features, 100 rounds, default trees)
on labels at scale 1 and x1000; the table gives the spread of the fitted
values over that of the labels (about 1 for a model that learned the signal,
0 for one that never moved, far above 1 for one that overshot) and whether
boostobj warned that the fit cannot move (``StalledFitWarning``). Values
outside a range are passed to the loss class with its check bypassed, to
show what the range keeps out.

    python -m benchmarks.edges [--out benchmarks/results/edges/edges.md]
"""

from __future__ import annotations

import argparse
import platform
import sys
import time
import warnings
from datetime import date
from pathlib import Path

import lightgbm as lgb
import numpy as np
import xgboost as xgb

import boostobj
from boostobj import losses
from boostobj.losses import binary, focal, quantile, regression
from boostobj.objective import Objective
from boostobj.sklearn import LGBMClassifier, LGBMRegressor, XGBClassifier, XGBRegressor

ROWS, ROUNDS = 400, 100


def unchecked(cls, *args, **kwargs):
    """A loss built with its parameter checks bypassed (to measure outside the valid range)."""
    families = (regression, quantile, binary, focal)
    saved = [family._check_real for family in families]
    for family in families:
        family._check_real = lambda name, value, *a, **k: float(value)
    try:
        return Objective(cls(*args, **kwargs), cls.name)
    finally:
        for family, check in zip(families, saved):
            family._check_real = check


CASES = [
    ("log_cosh eps", "regression", [("1e-06", lambda: boostobj.log_cosh(1e-6)),
                                    ("10", lambda: boostobj.log_cosh(10.0)),
                                    ("100 (outside)", lambda: unchecked(losses.LogCosh, 100.0)),
                                    ("1e6 (outside)", lambda: unchecked(losses.LogCosh, 1e6))]),
    ("quantile(0.05) eps", "regression", [("1e-06 (outside)", lambda: unchecked(losses.Quantile, 0.05, 1e-6)),
                                          ("1e-04 (outside)", lambda: unchecked(losses.Quantile, 0.05, 1e-4)),
                                          ("1e-03", lambda: boostobj.quantile(0.05, eps=1e-3)),
                                          ("100", lambda: boostobj.quantile(0.05, eps=100.0))]),
    ("quantile alpha", "regression", [("1e-07", lambda: boostobj.quantile(1e-7)),
                                      ("0.01", lambda: boostobj.quantile(0.01))]),
    ("expectile alpha", "regression", [("1e-07", lambda: boostobj.expectile(1e-7)),
                                       ("0.01", lambda: boostobj.expectile(0.01))]),
    ("huber delta", "regression", [("1e-30", lambda: boostobj.huber(1e-30)),
                                   ("1e-3", lambda: boostobj.huber(1e-3)),
                                   ("3.4e38", lambda: boostobj.huber(3.4e38))]),
    ("focal gamma", "binary", [("5", lambda: boostobj.focal(5.0)), ("20", lambda: boostobj.focal(20.0)),
                               ("50", lambda: boostobj.focal(50.0))]),
    ("hinge eps", "binary", [("1e-06", lambda: boostobj.hinge(1e-6)), ("100", lambda: boostobj.hinge(100.0))]),
]


def fit_spread(est, obj, X, y, classification):
    with warnings.catch_warnings(record=True) as seen:
        warnings.simplefilter("always")
        kwargs = {"verbose": -1} if est in (LGBMRegressor, LGBMClassifier) else {}
        model = est(objective=obj, n_estimators=ROUNDS, **kwargs).fit(X, y)
        out = model.decision_function(X) if classification else model.predict(X)
    stalled = any(issubclass(w.category, boostobj.StalledFitWarning) for w in seen)
    spread = float(np.std(out) / (1.0 if classification else np.std(y)))
    return spread, stalled


def run() -> str:
    rng = np.random.default_rng(0)
    X = rng.normal(size=(ROWS, 3))
    y = 30 * X[:, 0] + rng.standard_t(2, size=ROWS)
    yb = (X[:, 0] + 0.5 * rng.normal(size=ROWS) > 0).astype(int)
    lines = ["| parameter | value | labels | XGBoost | LightGBM |", "|---|---|---|---|---|"]
    for name, kind, values in CASES:
        for label, make in values:
            scales = (1.0, 1000.0) if kind == "regression" else (None,)
            for scale in scales:
                cells = []
                for est in ((XGBRegressor, LGBMRegressor) if kind == "regression" else (XGBClassifier, LGBMClassifier)):
                    spread, stalled = fit_spread(est, make(), X, yb if scale is None else y * scale, scale is None)
                    cells.append(f"{spread:.3g}{' (warned)' if stalled else ''}")
                lines.append(f"| {name} | {label} | {'0/1' if scale is None else f'x{scale:g}'} | "
                             + " | ".join(cells) + " |")
    return "\n".join(lines)


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--out", type=Path, default=Path(__file__).parent / "results" / "edges" / "edges.md")
    a = p.parse_args()
    t0 = time.perf_counter()
    table = run()
    head = (f"# Parameter ranges: fits at and beyond the ends\n\nGenerated by `python -m benchmarks.edges` "
            f"on {date.today()} in {time.perf_counter() - t0:.0f} s. Python {platform.python_version()}, "
            f"boostobj {boostobj.__version__}, XGBoost {xgb.__version__}, LightGBM {lgb.__version__}, "
            f"NumPy {np.__version__}. {ROWS} rows, {ROUNDS} rounds, default trees; spread = std of the "
            "fitted values / std of the labels (regression) or std of the margin (classification); "
            "(warned): boostobj.StalledFitWarning was raised.\n\n")
    a.out.write_text(head + table + "\n")
    print(head + table)


if __name__ == "__main__":
    sys.exit(main())

"""Quality: is a boostobj objective as good as the built-in one?

Run by hand (not in CI)::

    python -m benchmarks.quality            # full run: 5 seeds, 200 rounds (about 2.5 min on 2 cores)
    python -m benchmarks.quality --quick    # smoke run: 1 seed, 50 rounds, smaller data (prints only)
    # the quantile grid alone, into its own file per XGBoost generation
    python -m benchmarks.quality --only quantile --alphas 0.01 0.05 0.5 0.95 0.99 --seeds 3 \
        --out benchmarks/results/quantile/quality_quantile_xgb$(python -c "import xgboost; print(xgboost.__version__)").md
    python -m benchmarks.quality --convergence   # test pinball vs rounds, figure + table

Test loss at equal rounds and equal tree settings. Every model, ours and the
compared ones, gets ``--rounds`` rounds (200), learning rate 0.1, trees of
depth 3 (XGBoost ``max_depth=3``; LightGBM ``num_leaves=8, max_depth=3``;
scikit-learn ``max_depth=3``, plus ``max_leaf_nodes=8`` for the histogram
model) and one thread. Everything else is each library's default, and within
a framework ours and the built-in share every parameter. Nothing is tuned
per row.

boostobj runs in both frameworks through the drop-in estimators
``boostobj.sklearn.XGBRegressor / LGBMRegressor / XGBClassifier /
LGBMClassifier`` (optimal constant start, predictions on the target scale,
calibrated ``predict_proba``).

Rows (each compared with the models named):

- quantile alpha in {0.05, 0.5, 0.95} (``--alphas``: any grid, e.g. the tails'
  0.01 ... 0.99): XGBoost ``reg:quantileerror`` (named with the installed
  version: 3.2 refits leaves, 3.4 uses smooth MM curvature),
  LightGBM ``quantile``, scikit-learn ``GradientBoostingRegressor`` and
  ``HistGradientBoostingRegressor`` (``loss="quantile"``); test pinball loss;
- huber(delta): XGBoost ``reg:pseudohubererror`` (``huber_slope=delta``),
  LightGBM ``huber`` (``alpha=delta``), ``GradientBoostingRegressor(loss=
  "huber")``, whose ``alpha`` is a quantile of the absolute residuals (its
  delta is re-set every stage to that quantile): we keep its default 0.9 and
  report the delta it ended at; test Huber loss at our delta;
- log_cosh: XGBoost pseudo-Huber (slope 1, where log-cosh bends) and squared
  error, LightGBM squared error; RMSE to the clean function (sinc and
  Friedman) and MAE;
- exponential: ``GradientBoostingClassifier(loss="exponential")``, XGBoost
  ``binary:logistic``, LightGBM ``binary``; log loss and 1 - AUC;
- focal (binary, gamma in {1, 2}): XGBoost / LightGBM logistic; 1 - average
  precision and log loss;
- focal (multi-class, gamma in {1, 2}): ``multi:softprob`` / LightGBM
  ``multiclass`` on the 10 digits; log loss and error rate (1 - accuracy).
  Both focal tables also show gamma = 0, which is the logistic / softmax loss
  run through boostobj: a control row (is the machinery equal to the
  built-in?), not counted in the headline.

Data. Regression, each at label scale x1 and x1000 (y, the clean function and
the Huber delta multiplied by 1000): *sinc*, y = sin(x)/x + N(0, 0.2^2) +
Bern(0.1) x 2, x ~ U(-10, 10) (``experiments/sinc.py``'s generator), 1000
training rows and a fresh draw of 5000 test rows per seed, delta = 1;
*friedman1*, ``make_friedman1`` (10 features, noise 0) plus Student-t(2)
noise, 2000 / 5000 rows, delta = 1; *diabetes*, scikit-learn's bundled 442
rows, random 70/30 splits, delta = 30 (labels 25-346); *heteroscedastic*
(quantile rows only), scikit-learn's "Prediction Intervals for Gradient
Boosting Regression" data, y = x sin x + lognormal noise whose sigma grows
with x (right-skewed: the 0.05 level is the short tail), 1000 / 5000 rows;
real skewed data shipped by statsmodels (quantile rows only, random 70/30
splits, used for no tuning): *engel*, 235 households' food expenditure vs
income, and *randhie*, 20190 person-years of outpatient visits. Binary: *digits 8 vs
rest* (scikit-learn's bundled digits, about 10% positives, random stratified
70/30 splits) and *logistic*, a synthetic problem with a known ground truth
P(y=1|x) = sigmoid(-3 + 1.5 sin(2 x0) + x1 - 0.5 x2^2 + x3 x4), x ~ N(0, I_10)
(about 9% positives), 5000 / 10000 rows. Multi-class: the digits, 10 classes,
random stratified 70/30 splits.

Every cell is the mean (and sd) over seeds of the test metric, lower is better
(scores are turned into losses: 1 - AUC, 1 - AP, 1 - accuracy). "best" is the
compared model with the lowest mean. The ratio is ours / best per framework.
A row meets the goal when the ratio is <= 1.00, or <= 1.02 and the paired
per-seed difference ours - best is within 2 standard errors of 0 (a tie).
Seeds run in ``--jobs`` processes (default 2), every model and OpenMP on
one thread. Writes ``benchmarks/results/quality/quality_xgb<XGBoost version>.md`` and,
next to it, the same name with ``.json``: every seed's value of every model.
The report ends with the goal applied to every model in turn (each compared
model against the best of the others): how many rows any one model can meet.
"""

from __future__ import annotations

import argparse
import json
import math
import platform
import sys
import time
import warnings
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable, Iterable, Iterator

import lightgbm as lgb
import numpy as np
import sklearn
import xgboost as xgb
from sklearn.datasets import load_diabetes, load_digits, make_friedman1
from sklearn.ensemble import (
    GradientBoostingClassifier,
    GradientBoostingRegressor,
    HistGradientBoostingRegressor,
)
from sklearn.metrics import average_precision_score, log_loss, roc_auc_score
from sklearn.model_selection import train_test_split
from threadpoolctl import threadpool_limits

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "experiments"))

import boostobj  # noqa: E402
from benchmarks._common import command  # noqa: E402
from boostobj.sklearn import LGBMClassifier, LGBMRegressor, XGBClassifier, XGBRegressor  # noqa: E402
from sinc import make_data as sinc_data  # noqa: E402

RESULTS = ROOT / "benchmarks" / "results" / "quality"
QUANTILE = ROOT / "benchmarks" / "results" / "quantile"  # the tails, the convergence figure
OURS = ("ours XGBoost", "ours LightGBM")
ALPHAS = (0.05, 0.5, 0.95)
ALPHA_GRID = (0.01, 0.05, 0.1, 0.25, 0.5, 0.75, 0.9, 0.95, 0.99)  # the tails' grid
# every XGBoost column names the installed version: built-ins changed between 3.2 and 3.4
XGB = f"XGB {xgb.__version__}"
XGB_QUANTILE = f"{XGB} reg:quantileerror"
# datasets with quantile rows only; engel and randhie are real skewed data that statsmodels
# ships (installed with boostobj's dev extra; skipped without it), never used to tune anything
QUANTILE_ONLY = ("heteroscedastic", "engel", "randhie")
HELD_OUT = ("engel", "randhie")  # real data that tuned no default: reported apart in the headline
GAMMAS = (1.0, 2.0)
CONTROL_GAMMA = 0.0  # focal with gamma 0 is the logistic / softmax loss: a control row, not a goal
SCALES = (1.0, 1000.0)
HUBER_DELTA = {"sinc": 1.0, "friedman1": 1.0, "diabetes": 30.0}
GBR_HUBER_ALPHA = 0.9  # scikit-learn's default residual quantile


@dataclass
class Config:
    seeds: int = 5
    rounds: int = 200
    learning_rate: float = 0.1
    depth: int = 3
    leaves: int = 8
    n_sinc: int = 1000
    n_friedman: int = 2000
    n_logistic: int = 5000
    n_test: int = 5000
    n_test_logistic: int = 10000
    n_hetero: int = 1000
    n_real: int | None = None  # rows kept of the statsmodels data (None: all)
    alphas: tuple = ALPHAS
    datasets: tuple | None = None  # None: all
    sections: tuple = ("quantile", "huber", "log_cosh", "exponential", "focal", "focal_multi")


def quick_config() -> Config:
    return Config(seeds=1, rounds=50, n_sinc=500, n_friedman=500, n_logistic=2000, n_test=2000,
                  n_test_logistic=4000, n_real=2000)


# ---- the models ---------------------------------------------------------------------
def xgb_kw(cfg: Config, seed: int) -> dict:
    return dict(n_estimators=cfg.rounds, learning_rate=cfg.learning_rate, max_depth=cfg.depth,
                tree_method="hist", n_jobs=1, random_state=seed)


def lgb_kw(cfg: Config, seed: int) -> dict:
    return dict(n_estimators=cfg.rounds, learning_rate=cfg.learning_rate, num_leaves=cfg.leaves,
                max_depth=cfg.depth, n_jobs=1, random_state=seed, verbose=-1)


def gb_kw(cfg: Config, seed: int) -> dict:
    return dict(n_estimators=cfg.rounds, learning_rate=cfg.learning_rate, max_depth=cfg.depth,
                random_state=seed)


def hgb_kw(cfg: Config, seed: int) -> dict:
    return dict(max_iter=cfg.rounds, learning_rate=cfg.learning_rate, max_depth=cfg.depth,
                max_leaf_nodes=cfg.leaves, early_stopping=False, random_state=seed)


def ours_regressors(obj_factory: Callable[[], boostobj.Objective], cfg: Config, seed: int) -> dict:
    return {OURS[0]: XGBRegressor(objective=obj_factory(), **xgb_kw(cfg, seed)),
            OURS[1]: LGBMRegressor(objective=obj_factory(), **lgb_kw(cfg, seed))}


def ours_classifiers(obj_factory: Callable[[], boostobj.Objective], cfg: Config, seed: int) -> dict:
    return {OURS[0]: XGBClassifier(objective=obj_factory(), **xgb_kw(cfg, seed)),
            OURS[1]: LGBMClassifier(objective=obj_factory(), **lgb_kw(cfg, seed))}


# ---- the data -------------------------------------------------------------------------
@dataclass
class Split:
    X: np.ndarray
    y: np.ndarray
    Xt: np.ndarray
    yt: np.ndarray
    ft: np.ndarray | None = None  # the clean function on the test rows, where known (regression)

    def scaled(self, s: float) -> "Split":
        if s == 1.0:
            return self
        return Split(self.X, self.y * s, self.Xt, self.yt * s, None if self.ft is None else self.ft * s)


def regression_splits(cfg: Config, seed: int) -> Iterator[tuple[str, Split]]:
    tr = sinc_data(cfg.n_sinc, [seed, 0], sigma=0.2, p=0.1, amplitude=2.0)
    te = sinc_data(cfg.n_test, [seed, 1], sigma=0.2, p=0.1, amplitude=2.0)
    yield "sinc", Split(tr.X, tr.y, te.X, te.y, te.f)

    rng = np.random.default_rng([seed, 2])
    X, f = make_friedman1(cfg.n_friedman + cfg.n_test, noise=0.0, random_state=seed)
    y = f + rng.standard_t(2, len(f))
    n = cfg.n_friedman
    yield "friedman1", Split(X[:n], y[:n], X[n:], y[n:], f[n:])

    X, y = load_diabetes(return_X_y=True)
    Xa, Xt, ya, yt = train_test_split(X, y, test_size=0.3, random_state=seed)
    yield "diabetes", Split(Xa, ya, Xt, yt)

    rng = np.random.default_rng([seed, 4])
    X, y, f = heteroscedastic(cfg.n_hetero + cfg.n_test, rng)
    n = cfg.n_hetero
    yield "heteroscedastic", Split(X[:n], y[:n], X[n:], y[n:], f[n:])

    for name in ("engel", "randhie"):
        data = statsmodels_data(name)
        if data is not None:
            X, y = data
            if cfg.n_real and len(y) > cfg.n_real:  # --quick: a random subset
                keep = np.random.default_rng([seed, 5]).choice(len(y), cfg.n_real, replace=False)
                X, y = X[keep], y[keep]
            Xa, Xt, ya, yt = train_test_split(X, y, test_size=0.3, random_state=seed)
            yield name, Split(Xa, ya, Xt, yt)


def statsmodels_data(name: str) -> tuple[np.ndarray, np.ndarray] | None:
    """Real right-skewed data that statsmodels ships (no download); None without statsmodels.

    engel: Engel's 235 Belgian households, food expenditure vs income (the
    classic quantile-regression data, Koenker & Bassett 1982). randhie: the
    RAND Health Insurance Experiment, 20190 person-years, outpatient visits
    (a count: median 1, up to 77) vs 9 covariates.
    """
    try:
        from statsmodels import datasets
    except ImportError:
        return None
    if name == "engel":
        df = datasets.engel.load_pandas().data
        return df[["income"]].to_numpy(float), df["foodexp"].to_numpy(float)
    df = datasets.randhie.load_pandas().data
    return df.drop(columns="mdvis").to_numpy(float), df["mdvis"].to_numpy(float)


def heteroscedastic(n: int, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """scikit-learn's interval example: x ~ U(0, 10), y = x sin x + centred lognormal(sigma = 0.5 + x/10)."""
    x = rng.uniform(0.0, 10.0, n)
    sigma = 0.5 + x / 10.0
    f = x * np.sin(x)
    return x[:, None], f + rng.lognormal(sigma=sigma) - np.exp(sigma ** 2 / 2.0), f


def _sigmoid(z: np.ndarray) -> np.ndarray:
    return 1.0 / (1.0 + np.exp(-z))


def binary_splits(cfg: Config, seed: int) -> Iterator[tuple[str, Split]]:
    X, digit = load_digits(return_X_y=True)
    y = (digit == 8).astype(int)
    Xa, Xt, ya, yt = train_test_split(X, y, test_size=0.3, random_state=seed, stratify=y)
    yield "digits 8 vs rest", Split(Xa, ya, Xt, yt)

    rng = np.random.default_rng([seed, 3])
    n = cfg.n_logistic + cfg.n_test_logistic
    X = rng.normal(size=(n, 10))
    p = _sigmoid(-3.0 + 1.5 * np.sin(2 * X[:, 0]) + X[:, 1] - 0.5 * X[:, 2] ** 2 + X[:, 3] * X[:, 4])
    y = (rng.random(n) < p).astype(int)
    k = cfg.n_logistic
    yield "logistic", Split(X[:k], y[:k], X[k:], y[k:])


def multiclass_split(seed: int) -> Split:
    X, y = load_digits(return_X_y=True)
    Xa, Xt, ya, yt = train_test_split(X, y, test_size=0.3, random_state=seed, stratify=y)
    return Split(Xa, ya, Xt, yt)


# ---- the metrics ----------------------------------------------------------------------------
def pinball(y: np.ndarray, q: np.ndarray, alpha: float) -> float:
    r = y - q
    return float(np.mean(np.maximum(alpha * r, (alpha - 1.0) * r)))


def huber_loss(y: np.ndarray, m: np.ndarray, delta: float) -> float:
    a = np.abs(y - m)
    return float(np.mean(np.where(a <= delta, 0.5 * a * a, delta * (a - 0.5 * delta))))


def binary_metrics(y: np.ndarray, p: np.ndarray) -> dict:
    p = np.clip(p, 1e-15, 1 - 1e-15)
    return {"log loss": log_loss(y, p, labels=[0, 1]),
            "1 - AUC": 1.0 - roc_auc_score(y, p),
            "1 - AP": 1.0 - average_precision_score(y, p)}


# ---- the results store ----------------------------------------------------------------------
@dataclass
class Row:
    section: str      # table
    case: str         # objective, e.g. "quantile α=0.05"
    dataset: str
    scale: float
    metric: str
    values: dict = field(default_factory=dict)  # model -> list over seeds
    note: str = ""

    def add(self, model: str, value: float) -> None:
        self.values.setdefault(model, []).append(float(value))


class Store:
    def __init__(self) -> None:
        self.rows: dict[tuple, Row] = {}

    def row(self, section: str, case: str, dataset: str, scale: float, metric: str) -> Row:
        key = (section, case, dataset, scale, metric)
        if key not in self.rows:
            self.rows[key] = Row(section, case, dataset, scale, metric)
        return self.rows[key]


def _fit_predict(model: Any, s: Split, proba: bool = False) -> np.ndarray:
    model.fit(s.X, s.y)
    if proba:
        p = model.predict_proba(s.Xt)
        return p[:, 1] if p.shape[1] == 2 else p
    return np.asarray(model.predict(s.Xt), dtype=np.float64)


# ---- the sections -----------------------------------------------------------------------------
def run_quantile(store: Store, cfg: Config, seed: int, name: str, s: Split, scale: float) -> None:
    for a in cfg.alphas:
        row = store.row("quantile", f"quantile α={a}", name, scale, "pinball")
        models = {**ours_regressors(lambda: boostobj.quantile(a), cfg, seed),
                  XGB_QUANTILE: xgb.XGBRegressor(objective="reg:quantileerror",
                                                            quantile_alpha=a, **xgb_kw(cfg, seed)),
                  "LGB quantile": lgb.LGBMRegressor(objective="quantile", alpha=a, **lgb_kw(cfg, seed)),
                  "sklearn GBR quantile": GradientBoostingRegressor(loss="quantile", alpha=a,
                                                                    **gb_kw(cfg, seed)),
                  "sklearn HGBR quantile": HistGradientBoostingRegressor(loss="quantile", quantile=a,
                                                                         **hgb_kw(cfg, seed))}
        for label, model in models.items():
            row.add(label, pinball(s.yt, _fit_predict(model, s), a))


def run_huber(store: Store, cfg: Config, seed: int, name: str, s: Split, scale: float) -> None:
    delta = HUBER_DELTA[name] * scale
    row = store.row("huber", f"huber δ={HUBER_DELTA[name]:g}", name, scale, "Huber loss")
    gbr = GradientBoostingRegressor(loss="huber", alpha=GBR_HUBER_ALPHA, **gb_kw(cfg, seed))
    models = {**ours_regressors(lambda: boostobj.huber(delta), cfg, seed),
              f"{XGB} reg:pseudohubererror": xgb.XGBRegressor(objective="reg:pseudohubererror",
                                                           huber_slope=delta, **xgb_kw(cfg, seed)),
              "LGB huber": lgb.LGBMRegressor(objective="huber", alpha=delta, **lgb_kw(cfg, seed)),
              "sklearn GBR huber": gbr}
    for label, model in models.items():
        row.add(label, huber_loss(s.yt, _fit_predict(model, s), delta))
    row.values.setdefault("_gbr_delta", []).append(gbr._loss.closs.delta / scale)


def run_log_cosh(store: Store, cfg: Config, seed: int, name: str, s: Split, scale: float) -> None:
    models = {**ours_regressors(boostobj.log_cosh, cfg, seed),
              f"{XGB} pseudo-Huber (slope 1)": xgb.XGBRegressor(objective="reg:pseudohubererror",
                                                             huber_slope=1.0, **xgb_kw(cfg, seed)),
              f"{XGB} squared error": xgb.XGBRegressor(objective="reg:squarederror", **xgb_kw(cfg, seed)),
              "LGB squared error": lgb.LGBMRegressor(objective="regression", **lgb_kw(cfg, seed))}
    rmse = store.row("log_cosh", "log_cosh", name, scale, "RMSE vs f") if s.ft is not None else None
    mae = store.row("log_cosh", "log_cosh", name, scale, "MAE")
    for label, model in models.items():
        pred = _fit_predict(model, s)
        if rmse is not None:
            rmse.add(label, math.sqrt(np.mean((pred - s.ft) ** 2)))
        mae.add(label, np.mean(np.abs(pred - s.yt)))


def builtin_binary(cfg: Config, seed: int, s: Split) -> dict:
    """Probabilities of the built-in logistic models (shared by the exponential and focal rows)."""
    models = {f"{XGB} binary:logistic": xgb.XGBClassifier(objective="binary:logistic", **xgb_kw(cfg, seed)),
              "LGB binary": lgb.LGBMClassifier(objective="binary", **lgb_kw(cfg, seed))}
    return {label: _fit_predict(model, s, proba=True) for label, model in models.items()}


def record_binary(store: Store, section: str, case: str, name: str, s: Split, probs: dict,
                  metrics: tuple) -> None:
    for label, p in probs.items():
        values = binary_metrics(s.yt, p)
        for metric in metrics:
            store.row(section, case, name, 1.0, metric).add(label, values[metric])


def run_binary(store: Store, cfg: Config, seed: int, name: str, s: Split) -> None:
    builtin = builtin_binary(cfg, seed, s)
    if "exponential" in cfg.sections:
        probs = {label: _fit_predict(m, s, proba=True)
                 for label, m in ours_classifiers(boostobj.exponential, cfg, seed).items()}
        gbc = GradientBoostingClassifier(loss="exponential", **gb_kw(cfg, seed))
        probs["sklearn GBC exponential"] = _fit_predict(gbc, s, proba=True)
        record_binary(store, "exponential", "exponential", name, s, {**probs, **builtin},
                      ("log loss", "1 - AUC"))
    if "focal" in cfg.sections:
        for gamma in (*GAMMAS, CONTROL_GAMMA):
            probs = {label: _fit_predict(m, s, proba=True)
                     for label, m in ours_classifiers(lambda: boostobj.focal(gamma), cfg, seed).items()}
            record_binary(store, "focal", focal_case(gamma), name, s, {**probs, **builtin},
                          ("1 - AP", "log loss"))


def focal_case(gamma: float) -> str:
    return f"focal γ={gamma:g}" + (" (control: = cross-entropy)" if gamma == CONTROL_GAMMA else "")


def is_control(case: str) -> bool:
    return "(control" in case


def run_multiclass(store: Store, cfg: Config, seed: int) -> None:
    s = multiclass_split(seed)
    builtin = {f"{XGB} multi:softprob": xgb.XGBClassifier(objective="multi:softprob", **xgb_kw(cfg, seed)),
               "LGB multiclass": lgb.LGBMClassifier(objective="multiclass", **lgb_kw(cfg, seed))}
    builtin_probs = {label: _fit_predict(m, s, proba=True) for label, m in builtin.items()}
    for gamma in (*GAMMAS, CONTROL_GAMMA):
        probs = {label: _fit_predict(m, s, proba=True)
                 for label, m in ours_classifiers(lambda: boostobj.focal(gamma), cfg, seed).items()}
        for label, p in {**probs, **builtin_probs}.items():
            p = np.clip(p, 1e-15, None)
            p = p / p.sum(axis=1, keepdims=True)
            store.row("focal_multi", focal_case(gamma), "digits (10 classes)", 1.0,
                      "log loss").add(label, log_loss(s.yt, p, labels=np.arange(10)))
            store.row("focal_multi", focal_case(gamma), "digits (10 classes)", 1.0,
                      "error rate").add(label, np.mean(np.argmax(p, axis=1) != s.yt))


REGRESSION_SECTIONS = {"quantile": run_quantile, "huber": run_huber, "log_cosh": run_log_cosh}


def run_seed(cfg: Config, seed: int) -> Store:
    """Every section for one seed (one process each with ``--jobs``).

    One thread everywhere, OpenMP included: scikit-learn's histogram model
    otherwise starts a thread per core in each process, and oversubscribed
    OpenMP threads spin (measured: a seed took 170-730 s instead of 30 s).
    """
    with warnings.catch_warnings(), threadpool_limits(1):
        warnings.simplefilter("ignore", UserWarning)
        store = Store()
        t0 = time.perf_counter()
        for name, split in regression_splits(cfg, seed):
            if cfg.datasets is not None and name not in cfg.datasets:
                continue
            for scale in SCALES:
                s = split.scaled(scale)
                for section, fn in REGRESSION_SECTIONS.items():
                    if section in cfg.sections and (section == "quantile" or name not in QUANTILE_ONLY):
                        fn(store, cfg, seed, name, s, scale)
        if "exponential" in cfg.sections or "focal" in cfg.sections:
            for name, s in binary_splits(cfg, seed):
                run_binary(store, cfg, seed, name, s)
        if "focal_multi" in cfg.sections:
            run_multiclass(store, cfg, seed)
    print(f"seed {seed}: {time.perf_counter() - t0:.0f} s", file=sys.stderr, flush=True)
    return store


def run_all(cfg: Config, jobs: int = 1, seed_run: Callable[[Config, int], Store] = run_seed) -> Store:
    """All seeds, merged in seed order (so the result does not depend on ``jobs``)."""
    if jobs > 1:
        from concurrent.futures import ProcessPoolExecutor

        with ProcessPoolExecutor(jobs) as pool:
            stores = list(pool.map(seed_run, [cfg] * cfg.seeds, range(cfg.seeds)))
    else:
        stores = [seed_run(cfg, seed) for seed in range(cfg.seeds)]
    merged = Store()
    for store in stores:
        for key, row in store.rows.items():
            target = merged.row(*key)
            for model, values in row.values.items():
                target.values.setdefault(model, []).extend(values)
    return merged


# ---- the summary ------------------------------------------------------------------------------
@dataclass
class Verdict:
    ratio: float
    diff: float      # mean paired difference ours - best
    se: float        # its standard error (nan with one seed)
    ok: bool
    word: str


def verdict(ours: list, best: list) -> Verdict:
    o, b = np.asarray(ours), np.asarray(best)
    ratio = float(o.mean() / b.mean()) if b.mean() > 0 else (1.0 if o.mean() == 0 else math.inf)
    d = o - b
    se = float(d.std(ddof=1) / math.sqrt(len(d))) if len(d) > 1 else math.nan
    tie = (not math.isnan(se)) and d.mean() <= 2 * se or (math.isnan(se) and ratio <= 1.02)
    if ratio <= 1.0:
        return Verdict(ratio, float(d.mean()), se, True, "yes")
    if ratio <= 1.02 and tie:
        return Verdict(ratio, float(d.mean()), se, True, "tie")
    return Verdict(ratio, float(d.mean()), se, False, "MISS (n.s.)" if tie else "MISS")


def _fmt(v: float) -> str:
    if v == 0:
        return "0"
    a = abs(v)
    if a >= 1000:
        return f"{v:,.0f}"
    if a >= 100:
        return f"{v:.1f}"
    return f"{v:.4g}" if a >= 0.01 else f"{v:.2e}"


def cell(vals: list) -> str:
    a = np.asarray(vals)
    if len(a) == 1:
        return _fmt(float(a[0]))
    return f"{_fmt(float(a.mean()))} ± {_fmt(float(a.std(ddof=1)))}"


def compared_models(values: dict) -> list[str]:
    """The models a row compares ours with: not ours, not an annotation (``_`` keys)."""
    return [k for k in values if k not in OURS and not k.startswith("_")]


def best_of(values: dict, models: Iterable[str]) -> str:
    """The model of ``models`` with the lowest mean over seeds."""
    return min(models, key=lambda k: np.mean(values[k]))


def summarize(store: Store) -> dict[str, list[dict]]:
    out: dict[str, list[dict]] = {}
    for row in store.rows.values():
        compared = {k: row.values[k] for k in compared_models(row.values)}
        best = best_of(row.values, compared)
        verdicts = {k: verdict(row.values[k], compared[best]) for k in OURS}
        own = {}  # ours / the best built-in of the same framework: the objective, not the framework
        for k, prefix in zip(OURS, ("XGB ", "LGB ")):
            same = [m for m in compared if m.startswith(prefix)]
            if same:
                b = best_of(compared, same)
                own[k] = np.mean(row.values[k]) / np.mean(compared[b])
        out.setdefault(row.section, []).append({"row": row, "best": best, "verdicts": verdicts, "own": own})
    return out


def goal_for_every_model(items: list[dict]) -> list[tuple[str, int, int, int]]:
    """How demanding the goal is: the same verdict for every model, each against the others.

    For each model: (name, rows met against the best of the compared models other than itself,
    rows met against the best of every other model, ours included, number of rows). Ours is held
    to the compared models as in the headline (its first count) and to the other drop-in as well
    (its second). A goal that no model meets on every row is a goal against the best of several
    noisy estimates, not against one rival.
    """
    items = [it for it in items if not is_control(it["row"].case)]
    models: list[str] = []
    for it in items:
        models += [k for k in it["row"].values if k not in models and not k.startswith("_")]
    out = []
    for m in models:
        met = [0, 0]
        for it in items:
            vals = it["row"].values
            if m not in vals:
                continue
            for i, pool in enumerate(([k for k in compared_models(vals) if k != m],
                                      [k for k in vals if k != m and not k.startswith("_")])):
                met[i] += verdict(vals[m], vals[best_of(vals, pool)]).ok
        out.append((m, met[0], met[1], sum(m in it["row"].values for it in items)))
    return out


def goal_table(items: list[dict]) -> str:
    lines = ["| model | rows meeting the goal against the best compared model other than itself | "
             "against the best of every other model (both drop-ins included) |", "|---|---:|---:|"]
    for m, vs_compared, vs_all, n in goal_for_every_model(items):
        lines.append(f"| {m} | {vs_compared}/{n} | {vs_all}/{n} |")
    return "\n".join(lines)


SECTION_TITLES = {
    "quantile": "Quantile (test pinball loss)",
    "huber": "Huber (test Huber loss at our δ; sklearn GBR huber at its default alpha=0.9)",
    "log_cosh": "Log-cosh (RMSE to the clean function; MAE to the noisy test labels)",
    "exponential": "Exponential (binary; log loss and 1 - AUC)",
    "focal": "Focal, binary (1 - average precision and log loss; imbalanced)",
    "focal_multi": "Focal, multi-class (digits, 10 classes; log loss and error rate)",
}


NOTES = {
    "quantile": (
        "LightGBM's `quantile`, scikit-learn's GBR and HGBR and XGBoost up to 3.3 re-fit each leaf to "
        "the residual α-quantile after the tree is grown; XGBoost 3.4's `reg:quantileerror` does not "
        "(smooth MM curvature, dmlc/xgboost#12373; the table names the installed version). boostobj's "
        "drop-ins do the same exact refit on both frameworks (`boostobj.leaf_refit`: trees grown on a "
        "nearly flat curvature, each leaf then set to its rows' residual quantile, shrunk towards the "
        "current fit where a leaf has fewer than 1 / min(α, 1 - α) rows (`refit_prior`); LightGBM through "
        "`set_leaf_output`, XGBoost through `XGBLeafRefit`, which keeps the refit margins itself and "
        "writes the leaves into the model when training ends)."
    ),
    "huber": (
        "XGBoost 3.2's `reg:pseudohubererror` estimates its own `base_score` with one Newton step on "
        "the exact curvature, which vanishes for large residuals: on Friedman and diabetes it starts "
        "far outside the labels and 200 rounds do not bring it back (hence its huge losses; "
        "dmlc/xgboost#12576 later replaced that curvature by the MM one). scikit-learn's GBR `huber` "
        "takes `alpha`, a quantile of the absolute residuals, and re-sets its δ to that quantile at "
        "every stage; we keep the default 0.9 and show the δ it ended at (in label units / scale)."
    ),
    "log_cosh": (
        "log cosh is not scale-free: at x1000 every residual is in the thousands, where "
        "log cosh(r) = |r| - log 2, so the loss is absolute error. boostobj evaluates the MM "
        "curvature tanh(r)/r at max(|r|, eps x the label scale), so rows near the fit do not "
        "pin each leaf (without that guard: Friedman x1000 RMSE 2.05 / 2.03)."
    ),
    "exponential": (
        "Log loss is not the exponential loss; the like-for-like comparison is scikit-learn's "
        "`GradientBoostingClassifier(loss=\"exponential\")`."
    ),
    "focal": (
        "The γ=0 control row is the logistic loss through boostobj (not counted in the headline)."
    ),
    "focal_multi": (
        "The γ=0 control row is the softmax cross-entropy through boostobj (not counted in the "
        "headline). Focal losses with γ>0 are not log loss; `predict_proba` inverts the focal link "
        "to posteriors."
    ),
}


def section_table(items: list[dict]) -> str:
    models: list[str] = []
    for it in items:
        for k in it["row"].values:
            if k not in models and not k.startswith("_"):
                models.append(k)
    head = ["objective", "data", "scale", "metric", *models, "best compared", "ratio XGB", "ratio LGB",
            "goal met (XGB / LGB)", "same-framework ratio (XGB / LGB)"]
    lines = ["| " + " | ".join(head) + " |",
             "|" + "---|" * 4 + "---:|" * len(models) + "---|---:|---:|---|---|"]
    for it in items:
        row = it["row"]
        v = it["verdicts"]
        cells = [cell(row.values[m]) if m in row.values else "–" for m in models]
        best = it["best"]
        if "_gbr_delta" in row.values:
            cells[models.index("sklearn GBR huber")] += f" (δ→{np.mean(row.values['_gbr_delta']):.2g})"
        lines.append("| " + " | ".join([
            row.case, row.dataset, f"x{row.scale:g}", row.metric, *cells, best,
            f"{v[OURS[0]].ratio:.3f}", f"{v[OURS[1]].ratio:.3f}",
            f"{v[OURS[0]].word} / {v[OURS[1]].word}",
            " / ".join(f"{it['own'][k]:.3f}" if k in it["own"] else "–" for k in OURS)]) + " |")
    return "\n".join(lines)


def headline(summary: dict[str, list[dict]]) -> str:
    lines = []
    for section, items in summary.items():
        items = [it for it in items if not is_control(it["row"].case)]
        for fw, key in (("XGBoost", OURS[0]), ("LightGBM", OURS[1])):
            n_ok = sum(it["verdicts"][key].ok for it in items)
            misses = [it for it in items if not it["verdicts"][key].ok]
            text = f"- **{section}**, ours on {fw}: {n_ok}/{len(items)} rows meet the goal"
            if misses:
                worst = max(misses, key=lambda it: it["verdicts"][key].ratio)
                r = worst["row"]
                text += (f"; misses: {len(misses)}, worst {worst['verdicts'][key].ratio:.3f}"
                         f" ({r.case}, {r.dataset} x{r.scale:g}, {r.metric}, vs {worst['best']})")
            lines.append(text)
        held = [it for it in items if it["row"].dataset in HELD_OUT]
        if held and len(held) < len(items):
            tuned = [it for it in items if it["row"].dataset not in HELD_OUT]
            count = {name: " / ".join(f"{sum(it['verdicts'][k].ok for it in part)}/{len(part)}" for k in OURS)
                     for name, part in (("held", held), ("tuned", tuned))}
            lines.append(f"  - rows meeting the goal, ours on XGBoost / LightGBM: on the data held out of "
                         f"all tuning ({', '.join(sorted({it['row'].dataset for it in held}))}) "
                         f"{count['held']}; on the rest {count['tuned']}")
    return "\n".join(lines)


def library_state() -> str:
    """The boostobj source the numbers come from: commit, plus a hash of uncommitted changes."""
    import hashlib
    import subprocess

    def git(*args: str) -> str:
        return subprocess.run(["git", *args], cwd=ROOT, capture_output=True, text=True, check=True).stdout

    try:
        head = git("rev-parse", "--short", "HEAD").strip()
        dirty = git("status", "--porcelain", "--", "boostobj").split()
        diff = git("diff", "HEAD", "--", "boostobj")
    except (OSError, subprocess.CalledProcessError):
        return "boostobj source: unknown (no git)"
    if not dirty:
        return f"boostobj source: commit {head}"
    digest = hashlib.sha1(diff.encode()).hexdigest()[:10]
    files = ", ".join(sorted(f for f in dirty if f.endswith(".py")))
    return f"boostobj source: commit {head} plus uncommitted changes to {files} (diff sha1 {digest})"


def versions() -> str:
    return (f"Python {platform.python_version()}, boostobj {boostobj.__version__}, XGBoost {xgb.__version__}, "
            f"LightGBM {lgb.__version__}, scikit-learn {sklearn.__version__}, NumPy {np.__version__}; "
            f"{library_state()}")


def _command(argv: list[str]) -> str:
    """The run's command line as typed (paths relative to the repository)."""
    return command("quality", argv)


def report(cfg: Config, summary: dict[str, list[dict]], seconds: float, quick: bool,
           argv: list[str] | None = None) -> str:
    parts = [
        "# Quality: boostobj vs the built-in objectives",
        "",
        f"Generated by `{_command(['--quick'] if argv is None and quick else argv or [])}` in {seconds:.0f} s "
        f"(2-core machine, one thread per model). {versions()}.",
        "",
        f"Settings for every model: {cfg.rounds} rounds, learning rate {cfg.learning_rate}, depth {cfg.depth} "
        f"(XGBoost max_depth={cfg.depth}; LightGBM num_leaves={cfg.leaves}, max_depth={cfg.depth}; "
        f"sklearn max_depth={cfg.depth}, HGBR max_leaf_nodes={cfg.leaves}), other parameters at each "
        f"library's defaults (ours and the built-in share them). Mean ± sd over {cfg.seeds} seed(s). "
        "Ratio = ours / best compared (lower is better; all metrics are losses). Goal met: ratio <= 1.00, "
        "or 'tie': <= 1.02 with the paired per-seed difference within 2 standard errors; "
        "'MISS (n.s.)' is a miss whose paired difference is within 2 standard errors.",
        "",
        "## Headline",
        "",
        headline(summary),
    ]
    for section, items in summary.items():
        parts += ["", f"## {SECTION_TITLES[section]}", "", section_table(items)]
        if section in NOTES:
            parts += ["", NOTES[section]]
    for section, items in summary.items():
        parts += ["", f"## The same goal for every model: {SECTION_TITLES[section]}", "",
                  "Each model's rows that meet the goal (ratio <= 1.00, or a tie) when it takes the place of "
                  "ours; the control rows are not counted.", "", goal_table(items)]
    return "\n".join(parts) + "\n"


# ---- convergence: test pinball vs rounds ------------------------------------------------------------
CONVERGENCE_ALPHAS = (0.05, 0.5, 0.95)
CONVERGENCE_ROUNDS = (10, 25, 50, 100, 200, 400)


def _staged_pinball(cfg: Config, seed: int) -> dict:
    """{(alpha, model): [test pinball after each of CONVERGENCE_ROUNDS]} for one seed."""
    top = max(CONVERGENCE_ROUNDS)
    c = Config(**{**cfg.__dict__, "rounds": top})
    s = dict(regression_splits(c, seed))["heteroscedastic"]
    out: dict = {}
    with warnings.catch_warnings(), threadpool_limits(1):
        warnings.simplefilter("ignore", UserWarning)
        for a in CONVERGENCE_ALPHAS:
            ours = ours_regressors(lambda: boostobj.quantile(a), c, seed)
            models = {**ours,
                      XGB_QUANTILE: xgb.XGBRegressor(objective="reg:quantileerror", quantile_alpha=a,
                                                     **xgb_kw(c, seed)),
                      "LGB quantile": lgb.LGBMRegressor(objective="quantile", alpha=a, **lgb_kw(c, seed)),
                      "sklearn HGBR quantile": HistGradientBoostingRegressor(loss="quantile", quantile=a,
                                                                             **hgb_kw(c, seed))}
            for label, model in models.items():
                model.fit(s.X, s.y)
                if label.startswith("sklearn"):
                    staged = list(model.staged_predict(s.Xt))
                    preds = [staged[k - 1] for k in CONVERGENCE_ROUNDS]
                elif isinstance(model, xgb.XGBRegressor):
                    preds = [model.predict(s.Xt, iteration_range=(0, k)) for k in CONVERGENCE_ROUNDS]
                else:
                    preds = [model.predict(s.Xt, num_iteration=k) for k in CONVERGENCE_ROUNDS]
                out[(a, label)] = [pinball(s.yt, np.asarray(p, dtype=np.float64), a) for p in preds]
    return out


def convergence(cfg: Config, jobs: int) -> int:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    t0 = time.perf_counter()
    if jobs > 1:
        from concurrent.futures import ProcessPoolExecutor

        with ProcessPoolExecutor(jobs) as pool:
            runs = list(pool.map(_staged_pinball, [cfg] * cfg.seeds, range(cfg.seeds)))
    else:
        runs = [_staged_pinball(cfg, seed) for seed in range(cfg.seeds)]
    mean = {key: np.mean([r[key] for r in runs], axis=0) for key in runs[0]}
    tag = f"xgb{xgb.__version__}"
    fig, axes = plt.subplots(1, len(CONVERGENCE_ALPHAS), figsize=(13, 4))
    lines = [f"# Quantile convergence: test pinball vs rounds ({tag})", "",
             f"Generated by `python -m benchmarks.quality --convergence` in {{seconds:.0f}} s. {versions()}. "
             f"Heteroscedastic data ({cfg.n_hetero} training rows, {cfg.n_test} test rows), label scale x1, "
             f"learning rate {cfg.learning_rate}, depth {cfg.depth} (LightGBM num_leaves={cfg.leaves}), "
             f"mean test pinball over {cfg.seeds} seeds; predictions of one {max(CONVERGENCE_ROUNDS)}-round "
             "model truncated after k rounds. Ratio rows: ours / the best built-in at that round.", ""]
    for ax, a in zip(axes, CONVERGENCE_ALPHAS):
        keys = [k for k in mean if k[0] == a]
        lines += [f"## α = {a}", "", "| model | " + " | ".join(str(k) for k in CONVERGENCE_ROUNDS) + " |",
                  "|---|" + "---:|" * len(CONVERGENCE_ROUNDS)]
        for key in keys:
            label = key[1]
            ax.plot(CONVERGENCE_ROUNDS, mean[key], marker="o", lw=2 if label in OURS else 1,
                    ls="-" if label in OURS else "--", label=label)
            lines.append(f"| {label} | " + " | ".join(f"{v:.4f}" for v in mean[key]) + " |")
        best = np.min([mean[k] for k in keys if k[1] not in OURS], axis=0)
        for o in OURS:
            lines.append(f"| {o} / best built-in | " + " | ".join(
                f"{v:.3f}" for v in mean[(a, o)] / best) + " |")
        lines.append("")
        ax.set(xscale="log", yscale="log", xlabel="rounds", title=f"α = {a}")
        ax.grid(True, which="both", alpha=0.3)
    axes[0].set_ylabel("test pinball loss")
    axes[-1].legend(fontsize=7)
    fig.suptitle(f"Quantile convergence on the heteroscedastic data ({tag}, {cfg.seeds} seeds)")
    fig.tight_layout()
    QUANTILE.mkdir(parents=True, exist_ok=True)
    png = QUANTILE / f"quantile_convergence_{tag}.png"
    fig.savefig(png, dpi=100)
    text = "\n".join(lines).replace("{seconds:.0f}", f"{time.perf_counter() - t0:.0f}") + "\n"
    md = QUANTILE / f"quantile_convergence_{tag}.md"
    md.write_text(text)
    print(text)
    print(f"wrote {png} and {md}", file=sys.stderr)
    return 0


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--quick", action="store_true", help="smoke run: 1 seed, 50 rounds, smaller data")
    ap.add_argument("--seeds", type=int, help="number of seeds (default 5; 1 with --quick)")
    ap.add_argument("--rounds", type=int, help="boosting rounds (default 200; 50 with --quick)")
    ap.add_argument("--jobs", type=int, default=2,
                    help="seeds run in this many processes, one thread per model (default 2)")
    ap.add_argument("--only", nargs="+", choices=Config().sections, help="run only these sections")
    ap.add_argument("--alphas", nargs="+", type=float,
                    help=f"quantile levels (default {' '.join(map(str, ALPHAS))}; the tails' grid: "
                         f"{' '.join(map(str, ALPHA_GRID))})")
    ap.add_argument("--datasets", nargs="+", help="regression datasets to run (default: all)")
    ap.add_argument("--convergence", action="store_true",
                    help="only the convergence figure: test pinball vs rounds on the heteroscedastic "
                         "data, alpha 0.05 / 0.5 / 0.95 (writes benchmarks/results/quantile/quantile_convergence_*)")
    ap.add_argument("--out", type=Path,
                    help="Markdown file to write (default benchmarks/results/quality/quality_xgb<version>.md; "
                         "with --quick nothing is written unless --out is given)")
    args = ap.parse_args(argv)
    cfg = quick_config() if args.quick else Config()
    if args.seeds:
        cfg.seeds = args.seeds
    if args.rounds:
        cfg.rounds = args.rounds
    if args.only:
        cfg.sections = tuple(args.only)
    if args.alphas:
        cfg.alphas = tuple(args.alphas)
    if args.datasets:
        cfg.datasets = tuple(args.datasets)
    if args.convergence:
        return convergence(cfg, args.jobs)
    t0 = time.perf_counter()
    store = run_all(cfg, args.jobs)
    text = report(cfg, summarize(store), time.perf_counter() - t0, args.quick,
                  sys.argv[1:] if argv is None else argv)
    print(text)
    out = args.out or (None if args.quick else RESULTS / f"quality_xgb{xgb.__version__}.md")
    if out is not None:
        out.parent.mkdir(parents=True, exist_ok=True)
        out.write_text(text)
        seeds = out.with_suffix(".json")  # every seed's value, so any summary can be recomputed
        seeds.write_text(json.dumps([{"section": r.section, "case": r.case, "dataset": r.dataset,
                                      "scale": r.scale, "metric": r.metric, "values": r.values}
                                     for r in store.rows.values()], indent=1) + "\n")
        print(f"wrote {out} and {seeds}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

"""Why the extreme quantile levels trail on XGBoost on small one-feature data (leaf size).

Run by hand (not in CI)::

    python -m benchmarks.quantile_leaf_floor --out quantile_leaf_floor   # 5 seeds, ~2 min on 2 cores
    python -m benchmarks.quantile_leaf_floor --grid --out quantile_leaf_floor_grid  # ~15 min

``--grid``: the tails' whole grid (9 levels, every data set, labels x1) with
``benchmarks/quality.py``'s compared models, and ours four ways per
framework: the default floor, the other framework's floor, the floor chosen
per fit by scikit-learn's ``GridSearchCV`` (3-fold, pinball scorer) between
the two, and the per-row best of the two (an oracle: the test set chooses).
It counts the rows where each meets the tails' goal against the best
compared model: whether any one floor, or a floor chosen from the data,
would meet it.

On the heteroscedastic data and engel (one feature each) ours on XGBoost
trails at alpha 0.01 / 0.99 while ours on LightGBM leads
(``quality_quantile_xgb<version>.md``). The two drop-ins differ in their
default leaf floor: LightGBM's ``min_child_samples=20`` counts rows,
XGBoost's ``min_child_weight=1`` counts curvature (about one per row), so
XGBoost's tail trees may isolate single rows, whose refit leaves the
refit prior then shrinks to almost nothing: the split is spent. Each row
of the table swaps one framework's floor for the other's: ours on XGBoost
with ``min_child_weight=20, reg_lambda=0`` (about 20 rows, LightGBM's
``lambda_l2`` 0), ours on LightGBM with ``min_child_samples=1``; against
the built-ins. Test pinball, mean over seeds, ``benchmarks/quality.py``'s
data and settings (200 rounds, learning rate 0.1, depth 3, one thread).
"""

from __future__ import annotations

import argparse
import sys
import time
import warnings
from pathlib import Path
from typing import Callable

import lightgbm as lgb
import numpy as np
import xgboost as xgb
from sklearn.ensemble import GradientBoostingRegressor
from sklearn.metrics import make_scorer, mean_pinball_loss
from sklearn.model_selection import GridSearchCV, KFold
from threadpoolctl import threadpool_limits

HERE = Path(__file__).resolve().parent
from benchmarks import quality

import boostobj  # noqa: E402
from boostobj.sklearn import LGBMRegressor, XGBRegressor  # noqa: E402

RESULTS = HERE / "results" / "quantile"
CASES = [("heteroscedastic", 0.01), ("heteroscedastic", 0.05), ("engel", 0.01), ("engel", 0.99),
         ("diabetes", 0.05), ("diabetes", 0.95)]


def models(cfg: quality.Config, seed: int, alpha: float) -> dict[str, Callable[[], object]]:
    """Column name -> a fresh model (built-ins with the same settings as ours)."""
    xk, lk = quality.xgb_kw(cfg, seed), quality.lgb_kw(cfg, seed)
    return {
        "ours XGB": lambda: XGBRegressor(objective=boostobj.quantile(alpha), **xk),
        "ours XGB, min_child_weight 20, reg_lambda 0":
            lambda: XGBRegressor(objective=boostobj.quantile(alpha), **xk, min_child_weight=20, reg_lambda=0),
        "ours LGB": lambda: LGBMRegressor(objective=boostobj.quantile(alpha), **lk),
        "ours LGB, min_child_samples 1":
            lambda: LGBMRegressor(objective=boostobj.quantile(alpha), **lk, min_child_samples=1),
        "LGB quantile": lambda: lgb.LGBMRegressor(objective="quantile", alpha=alpha, **lk),
        f"XGB {xgb.__version__} quantile": lambda: xgb.XGBRegressor(objective="reg:quantileerror",
                                                                   quantile_alpha=alpha, **xk),
        "sklearn GBR quantile": lambda: GradientBoostingRegressor(loss="quantile", alpha=alpha,
                                                                  **quality.gb_kw(cfg, seed)),
    }


def run(cfg: quality.Config, cases: list, seeds: int) -> dict:
    """(data, alpha) -> column -> test pinball per seed."""
    out: dict = {}
    for seed in range(seeds):
        splits = dict(quality.regression_splits(cfg, seed))
        for name, alpha in cases:
            if name not in splits:  # engel needs statsmodels (the dev extra)
                continue
            s = splits[name]
            for column, make in models(cfg, seed, alpha).items():
                score = quality.pinball(s.yt, quality._fit_predict(make(), s), alpha)
                out.setdefault((name, alpha), {}).setdefault(column, []).append(score)
    return out


XGB_FLOOR = "ours XGB, min_child_weight 20, reg_lambda 0"
LGB_FLOOR = "ours LGB, min_child_samples 1"
XGB_CV, LGB_CV = "ours XGB, floor by 3-fold CV", "ours LGB, floor by 3-fold CV"


def grid_models(cfg: quality.Config, seed: int, alpha: float) -> dict[str, Callable[[], object]]:
    """The ``--grid`` columns beyond quality.py's: the swapped floors and the floors chosen by CV."""
    made = models(cfg, seed, alpha)
    xk, lk = quality.xgb_kw(cfg, seed), quality.lgb_kw(cfg, seed)
    scorer = make_scorer(mean_pinball_loss, alpha=alpha, greater_is_better=False)
    folds = KFold(3, shuffle=True, random_state=seed)
    return {
        XGB_FLOOR: made[XGB_FLOOR],
        XGB_CV: lambda: GridSearchCV(
            XGBRegressor(objective=boostobj.quantile(alpha), **xk),
            [{"min_child_weight": [None], "reg_lambda": [None]}, {"min_child_weight": [20], "reg_lambda": [0]}],
            scoring=scorer, cv=folds),
        LGB_FLOOR: made[LGB_FLOOR],
        LGB_CV: lambda: GridSearchCV(LGBMRegressor(objective=boostobj.quantile(alpha), **lk),
                                     {"min_child_samples": [20, 1]}, scoring=scorer, cv=folds),
    }


def grid_seed(cfg: quality.Config, seed: int) -> quality.Store:
    """One seed of the grid: quality.py's quantile rows at x1, plus ``grid_models``' columns."""
    store = quality.Store()
    with warnings.catch_warnings(), threadpool_limits(1):
        warnings.simplefilter("ignore")
        for name, s in quality.regression_splits(cfg, seed):
            if cfg.datasets is not None and name not in cfg.datasets:
                continue
            quality.run_quantile(store, cfg, seed, name, s, 1.0)
            for alpha in cfg.alphas:
                row = store.row("quantile", f"quantile α={alpha}", name, 1.0, "pinball")
                for column, make in grid_models(cfg, seed, alpha).items():
                    row.add(column, quality.pinball(s.yt, quality._fit_predict(make(), s), alpha))
    return store


ORACLES = {"ours XGB, per-row best floor (oracle)": (quality.OURS[0], XGB_FLOOR),
           "ours LGB, per-row best floor (oracle)": (quality.OURS[1], LGB_FLOOR)}


def grid_counts(store: quality.Store) -> tuple[dict[str, int], dict[tuple, dict[str, str]], int]:
    """Rows meeting the goal per column of ours, the oracles and 'any of ours' (the verdicts by row)."""
    counts: dict[str, int] = {}
    words: dict[tuple, dict[str, str]] = {}
    n = 0
    for key, row in store.rows.items():
        v = row.values
        compared = [k for k in v if not k.startswith("ours")]
        best = v[quality.best_of(v, compared)]
        ok = {k: quality.verdict(v[k], best) for k in v if k.startswith("ours")}
        met = {k: d.ok for k, d in ok.items()}
        for name, (default, floor) in ORACLES.items():
            met[name] = met[default] or met[floor]
        met["any of ours' columns"] = any(met[k] for k in ok)
        for k, m in met.items():
            counts[k] = counts.get(k, 0) + int(m)
        words[key] = {k: f"{d.ratio:.3f} {d.word}" for k, d in ok.items()}
        n += 1
    return counts, words, n


def grid_report(store: quality.Store) -> str:
    counts, words, n = grid_counts(store)
    lines = ["| ours | rows meeting the goal |", "|---|---:|"]
    lines += [f"| {k} | {c}/{n} |" for k, c in counts.items()]
    columns = list(next(iter(words.values())))
    lines += ["", "Ratio to the best compared model and verdict, by row:", "",
              "| data | alpha | " + " | ".join(columns) + " |", "|---|---:|" + "---|" * len(columns)]
    for (_, case, name, *_), w in words.items():
        lines.append(f"| {name} | {case.split('=')[1]} | " + " | ".join(w[c] for c in columns) + " |")
    return "\n".join(lines)


def table(results: dict) -> str:
    columns = list(next(iter(results.values())))
    lines = ["| data | alpha | " + " | ".join(columns) + " |", "|---|---:|" + "---:|" * len(columns)]
    for (name, alpha), row in results.items():
        means = [float(np.mean(row[c])) for c in columns]
        best = min(means)
        lines.append(f"| {name} | {alpha} | " + " | ".join(f"{v:.4g} ({v / best:.3f})" for v in means) + " |")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--seeds", type=int, default=5)
    ap.add_argument("--rounds", type=int, default=200)
    ap.add_argument("--out", help="results/<name>.md")
    ap.add_argument("--grid", action="store_true", help="the tails' whole grid at x1, with floors chosen by CV")
    ap.add_argument("--jobs", type=int, default=2, help="--grid: seeds run in this many processes")
    ap.add_argument("--datasets", nargs="+", help="--grid: only these data sets")
    args = ap.parse_args(argv)
    warnings.simplefilter("ignore")  # the frameworks' chatter
    cfg = quality.Config(rounds=args.rounds, seeds=args.seeds, alphas=quality.ALPHA_GRID)
    if args.datasets:
        cfg.datasets = tuple(args.datasets)
    t0 = time.perf_counter()
    command = " ".join(sys.argv[1:] if argv is None else argv)
    settings = (f"{args.rounds} rounds, learning rate {cfg.learning_rate}, depth {cfg.depth} (LightGBM "
                f"num_leaves {cfg.leaves}), one thread, other parameters at each library's defaults but those "
                f"named in a column")
    if args.grid:
        body = [f"The tails' goal (ratio <= 1.00 to the best compared model, or <= 1.02 in a tie; "
                f"`benchmarks/quality.py`'s compared models and verdict) over {args.seeds} seed(s), every level "
                f"and data set at label scale x1, {settings}. The CV columns choose between the two floors "
                "inside each fit (scikit-learn's GridSearchCV, 3 folds, pinball scorer, then a refit on every "
                "training row); the oracle columns take, per row, whichever floor meets the goal (the test set "
                "chooses: a bound, not a method).",
                grid_report(quality.run_all(cfg, args.jobs, grid_seed))]
    else:
        body = [f"Test pinball, mean over {args.seeds} seed(s), {settings}; in parentheses the ratio to the "
                "row's best.", table(run(cfg, CASES, args.seeds))]
    text = "\n\n".join([
        "# Quantile tails and the leaf floor: ours on XGBoost and LightGBM, each with the other's floor",
        f"Generated by `python -m benchmarks.quantile_leaf_floor {command}` in {time.perf_counter() - t0:.0f} s; "
        f"{quality.versions()}.", *body]) + "\n"
    print(text)
    if args.out:
        RESULTS.mkdir(parents=True, exist_ok=True)
        (RESULTS / f"{args.out}.md").write_text(text)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

"""Issue 10: why the extreme quantile levels trail on XGBoost on small one-feature data (leaf size).

Run by hand (not in CI)::

    python benchmarks/quantile_leaf_floor.py --out quantile_leaf_floor   # 5 seeds, ~2 min on 2 cores

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

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
import quality  # noqa: E402

import boostobj  # noqa: E402
from boostobj.sklearn import LGBMRegressor, XGBRegressor  # noqa: E402

RESULTS = HERE / "results"
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
    args = ap.parse_args(argv)
    warnings.simplefilter("ignore")  # the frameworks' chatter
    cfg = quality.Config(rounds=args.rounds)
    t0 = time.perf_counter()
    results = run(cfg, CASES, args.seeds)
    command = " ".join(sys.argv[1:] if argv is None else argv)
    settings = (f"{args.rounds} rounds, learning rate {cfg.learning_rate}, depth {cfg.depth} (LightGBM "
                f"num_leaves {cfg.leaves}), one thread, other parameters at each library's defaults but those "
                f"named in a column")
    text = "\n\n".join([
        "# Quantile tails and the leaf floor: ours on XGBoost and LightGBM, each with the other's floor",
        f"Generated by `python benchmarks/quantile_leaf_floor.py {command}` in {time.perf_counter() - t0:.0f} s; "
        f"{quality.versions()}.",
        f"Test pinball, mean over {args.seeds} seed(s), {settings}; in parentheses the ratio to the row's best.",
        table(results)]) + "\n"
    print(text)
    if args.out:
        RESULTS.mkdir(exist_ok=True)
        (RESULTS / f"{args.out}.md").write_text(text)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

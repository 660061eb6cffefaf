"""Small data: whole fits of 1k-20k rows, ours against a naive NumPy objective and the built-ins.

Usage (from the repository root)::

    python -m benchmarks.speed_small --rows 1000 2000 20000 --threads 2 1 --out speed_small

n x 10 float32 features, 100 rounds, XGBoost hist depth 6, LightGBM 63
leaves; each cell is the best of ``--reps`` fits (ms, wall), each fit
including the framework's data set, the variants of a row fitted in turn. For each loss: the framework's own
objective (``builtin``; XGBoost 3.2's quantile and LightGBM's refit their
leaves), a naive NumPy objective written from the formulas in the native
``train`` (``naive``), the boostobj drop-in with its leaf refit
(``drop-in``) and without (``drop-in, no refit``, whose trees grow as the
naive objective's do: the objective's cost), and boostobj's objective in the
native ``train`` (``native``).
"""

from __future__ import annotations

import time

import lightgbm as lgb
import numpy as np
import xgboost as xgb

import boostobj
from benchmarks._common import fits_main
from benchmarks.speed import naive_grad_hess
from boostobj.sklearn import LGBMRegressor, XGBRegressor

LOSSES = {"quantile(0.9)": lambda: boostobj.quantile(0.9), "huber(1)": lambda: boostobj.huber(1.0)}
BUILTIN = {
    ("xgboost", "quantile(0.9)"): {"objective": "reg:quantileerror", "quantile_alpha": 0.9},
    ("xgboost", "huber(1)"): {"objective": "reg:pseudohubererror", "huber_slope": 1.0},
    ("lightgbm", "quantile(0.9)"): {"objective": "quantile", "alpha": 0.9},
    ("lightgbm", "huber(1)"): {"objective": "huber", "alpha": 1.0},
}
VARIANTS = ["builtin", "naive", "drop-in", "drop-in, no refit", "native"]


def make_data(n: int, seed: int = 0):
    rng = np.random.default_rng(seed)
    X = rng.normal(size=(n, 10)).astype(np.float32)
    y = (2 * X[:, 0] + np.sin(3 * X[:, 1]) + X[:, 2] * X[:, 3] + rng.standard_t(3, n)).astype(np.float32)
    return X, y


def fit(framework: str, loss: str, variant: str, X, y, threads: int, rounds: int) -> None:
    start = float(np.quantile(y, 0.9)) if loss.startswith("quantile") else float(np.median(y))
    if framework == "xgboost":
        params = {"tree_method": "hist", "max_depth": 6, "nthread": threads, "verbosity": 0}
        if variant.startswith("drop-in"):
            XGBRegressor(objective=LOSSES[loss](), n_estimators=rounds, max_depth=6, n_jobs=threads,
                         leaf_refit=variant == "drop-in").fit(X, y)
            return
        d = xgb.DMatrix(X, y, nthread=threads)
        if variant == "builtin":
            xgb.train({**params, **BUILTIN[framework, loss]}, d, rounds)
        elif variant == "naive":
            g = naive_grad_hess(loss)
            xgb.train({**params, "base_score": start, "disable_default_eval_metric": 1}, d, rounds,
                      obj=lambda p, data: g(data.get_label(), p))
        else:
            obj = LOSSES[loss]()
            xgb.train({**params, "base_score": obj.init_score(y), "disable_default_eval_metric": 1}, d, rounds,
                      obj=obj)
        return
    params = {"num_leaves": 63, "num_threads": threads, "verbose": -1}
    if variant.startswith("drop-in"):
        LGBMRegressor(objective=LOSSES[loss](), n_estimators=rounds, num_leaves=63, n_jobs=threads, verbose=-1,
                      leaf_refit=variant == "drop-in").fit(X, y)
    elif variant == "builtin":
        lgb.train({**params, **BUILTIN[framework, loss]}, lgb.Dataset(X, y), rounds)
    elif variant == "naive":
        g = naive_grad_hess(loss)
        lgb.train({**params, "objective": lambda p, data: g(data.get_label(), p)},
                  lgb.Dataset(X, y, init_score=np.full(len(y), start)), rounds)
    else:
        obj = LOSSES[loss]()
        lgb.train({**params, "objective": obj}, obj.dataset(X, y), rounds)


def measure(rows: list[int], threads: list[int], rounds: int, reps: int) -> list[dict]:
    out = []
    for n in rows:
        X, y = make_data(n)
        for t in threads:
            for framework in ("xgboost", "lightgbm"):
                for loss in LOSSES:
                    # huber has no refit: its drop-in is the row's refit-free fit
                    variants = [v for v in VARIANTS if v != "drop-in, no refit" or loss.startswith("quantile")]
                    for variant in variants:
                        fit(framework, loss, variant, X, y, t, rounds)  # warm: imports, compiled kernels
                    times: dict = {v: [] for v in variants}
                    # the variants in turn, forwards then backwards: a machine whose speed drifts
                    # during the cell slows them alike, so the ratios within a row hold
                    for rep in range(reps):
                        for variant in variants if rep % 2 == 0 else variants[::-1]:
                            t0 = time.perf_counter()
                            fit(framework, loss, variant, X, y, t, rounds)
                            times[variant].append(time.perf_counter() - t0)
                    out += [{"rows": n, "threads": t, "framework": framework, "loss": loss, "variant": v,
                             "ms": 1e3 * min(times[v])} for v in variants]
    return out


def render(results: list[dict], meta: dict) -> str:
    lines = ["# Small data: whole fits against a naive objective and the built-ins", "",
             f"Generated by `{meta['command']}` on {meta['date']}: {meta['stack']}. n x 10 float32, "
             f"{meta['rounds']} rounds, XGBoost hist depth 6, LightGBM 63 leaves; best of {meta['reps']} fits, ms "
             "(wall, the data set included; a row's variants fitted in turn). `no refit / naive`: the drop-in without its leaf refit over the naive "
             "objective (the same trees: the objective's cost); `refit / builtin`: the refitting drop-in over the "
             "framework's own objective (XGBoost's quantile refits up to 3.3, LightGBM's always); `refit share`: "
             "the refit's own cost, (drop-in - drop-in, no refit) / drop-in.", ""]
    head = ("| rows | threads | framework | loss | " + " | ".join(VARIANTS)
            + " | no refit / naive | refit / builtin | refit share |")
    lines += [head, "|" + "---|" * (head.count("|") - 1)]
    keys = dict.fromkeys((r["rows"], r["threads"], r["framework"], r["loss"]) for r in results)
    for key in keys:
        got = {r["variant"]: r["ms"] for r in results if (r["rows"], r["threads"], r["framework"], r["loss"]) == key}
        cells = [f"{got[v]:.0f}" if v in got else "" for v in VARIANTS]
        plain = got.get("drop-in, no refit", got.get("drop-in"))
        ratio = f"{plain / got['naive']:.2f}"
        refit = f"{got['drop-in'] / got['builtin']:.2f}" if "drop-in, no refit" in got else ""
        share = f"{1 - got['drop-in, no refit'] / got['drop-in']:.2f}" if "drop-in, no refit" in got else ""
        lines.append(f"| {key[0]:,} | {key[1]} | {key[2]} | {key[3]} | " + " | ".join(cells)
                     + f" | {ratio} | {refit} | {share} |")
    return "\n".join(lines) + "\n"


def main(argv: list[str] | None = None) -> None:
    fits_main("speed_small", __doc__.splitlines()[0], measure, render, [1000, 2000, 20000], [2, 1], argv)


if __name__ == "__main__":
    main()

"""Training wall time: built-in objective vs a pass-through custom objective vs boostobj.

Run by hand (not in CI):  python benchmarks/speed.py [--rows 1000000 100000] [--reps 5]

For each framework (2 threads), 100 rounds on n x 20 float32 data:
- ``builtin``: the framework's own squared error (regression rows) or
  logistic loss (binary rows);
- ``passthrough``: a minimal custom squared error (grad = p - y, hess = 1),
  the floor any plugin objective pays for the framework's per-round copies;
- the framework's own objective for the same loss, where there is one
  (``builtin:...``: XGBoost pseudo-Huber and quantile, LightGBM huber and
  quantile); different losses grow different trees, and the frameworks'
  tree building time depends on them;
- each boostobj objective, started from ``obj.init_score`` (computed inside
  the timed region, as a user would).

Repetitions are interleaved (every variant once per repetition) and the
table reports medians and the ratios ours/floor and ours/built-in. A second
table isolates the objective's own cost per round (grad + hess for one call
on the training margins), which is free of the frameworks' timing noise.
For quantile it also reports the rounds and time our objective needs to
reach the built-in quantile objective's final test pinball loss.
Writes benchmarks/results/speed.md.
"""

from __future__ import annotations

import argparse
import os
import platform
import statistics
import time
from pathlib import Path

import lightgbm as lgb
import numpy as np
import xgboost as xgb

import boostobj

ROUNDS = 100
THREADS = 2
RESULTS = Path(__file__).parent / "results"


def make_data(n: int, seed: int = 0):
    rng = np.random.default_rng(seed)
    X = rng.normal(size=(n, 20)).astype(np.float32)
    signal = 2 * X[:, 0] + np.sin(3 * X[:, 1]) + X[:, 2] * X[:, 3]
    y_reg = (signal + rng.standard_t(3, n)).astype(np.float32)
    y_bin = (rng.random(n) < 1 / (1 + np.exp(-(signal - 1)))).astype(np.float32)
    return X, y_reg, y_bin


def passthrough_xgb(predt, dtrain):
    return predt - dtrain.get_label(), np.ones_like(predt)


def passthrough_lgb(preds, data):
    return preds - data.get_label(), np.ones_like(preds)


OURS = {
    "squared_error": (boostobj.squared_error, "reg"),
    "log_cosh": (boostobj.log_cosh, "reg"),
    "huber(1)": (lambda: boostobj.huber(1.0), "reg"),
    "quantile(0.5)": (lambda: boostobj.quantile(0.5), "reg"),
    "quantile(0.9)": (lambda: boostobj.quantile(0.9), "reg"),
    "exponential": (boostobj.exponential, "bin"),
    "focal(2)": (lambda: boostobj.focal(2.0), "bin"),
}


# The frameworks' own objective for the same loss, where there is one.
SAME_LOSS_XGB = {
    "huber(1)": {"objective": "reg:pseudohubererror", "huber_slope": 1.0},
    "quantile(0.5)": {"objective": "reg:quantileerror", "quantile_alpha": 0.5},
    "quantile(0.9)": {"objective": "reg:quantileerror", "quantile_alpha": 0.9},
    "exponential": {"objective": "binary:logistic"},
    "focal(2)": {"objective": "binary:logistic"},
}
SAME_LOSS_LGB = {
    "huber(1)": {"objective": "huber", "alpha": 1.0},
    "quantile(0.5)": {"objective": "quantile", "alpha": 0.5},
    "quantile(0.9)": {"objective": "quantile", "alpha": 0.9},
    "exponential": {"objective": "binary"},
    "focal(2)": {"objective": "binary"},
}


def train_xgb(X, y, variant: str, rounds: int = ROUNDS):
    params = {"tree_method": "hist", "max_depth": 6, "nthread": THREADS, "verbosity": 0}
    dtrain = xgb.DMatrix(X, y, nthread=THREADS)
    start = time.perf_counter()
    if variant.startswith("builtin:"):
        bst = xgb.train({**params, **SAME_LOSS_XGB[variant[8:]]}, dtrain, rounds)
    elif variant == "builtin-reg":
        bst = xgb.train({**params, "objective": "reg:squarederror"}, dtrain, rounds)
    elif variant == "builtin-bin":
        bst = xgb.train({**params, "objective": "binary:logistic"}, dtrain, rounds)
    elif variant == "passthrough":
        bst = xgb.train({**params, "disable_default_eval_metric": 1}, dtrain, rounds, obj=passthrough_xgb)
    else:
        obj = OURS[variant][0]()
        p = {**params, "base_score": obj.init_score(y), "disable_default_eval_metric": 1}
        bst = xgb.train(p, dtrain, rounds, obj=obj)
    return time.perf_counter() - start, bst


def train_lgb(X, y, variant: str, rounds: int = ROUNDS):
    params = {"num_leaves": 63, "num_threads": THREADS, "verbose": -1, "max_bin": 255}
    start = time.perf_counter()
    if variant.startswith("builtin:"):
        ds = lgb.Dataset(X, y, params={"verbose": -1})
        bst = lgb.train({**params, **SAME_LOSS_LGB[variant[8:]]}, ds, rounds)
    elif variant == "builtin-reg":
        ds = lgb.Dataset(X, y, params={"verbose": -1})
        bst = lgb.train({**params, "objective": "regression"}, ds, rounds)
    elif variant == "builtin-bin":
        ds = lgb.Dataset(X, y, params={"verbose": -1})
        bst = lgb.train({**params, "objective": "binary"}, ds, rounds)
    elif variant == "passthrough":
        ds = lgb.Dataset(X, y, params={"verbose": -1})
        bst = lgb.train({**params, "objective": passthrough_lgb}, ds, rounds)
    else:
        obj = OURS[variant][0]()
        ds = lgb.Dataset(X, y, init_score=obj.init_score_array(y), params={"verbose": -1})
        bst = lgb.train({**params, "objective": obj}, ds, rounds)
    return time.perf_counter() - start, bst


def objective_cost_ms(framework: str, X, y_reg, y_bin, variant: str, calls: int = 15) -> float:
    """Median time of one objective call on realistic margins (after 20 rounds)."""
    y = y_bin if variant in OURS and OURS[variant][1] == "bin" else y_reg
    if framework == "xgboost":
        _, bst = train_xgb(X, y, "passthrough", rounds=20)
        data = xgb.DMatrix(X, y)
        margin = bst.predict(data, output_margin=True)
    else:
        ds = lgb.Dataset(X, y, params={"verbose": -1}).construct()
        data = ds
        margin = np.asarray(X[:, 0], dtype=np.float64) * 0.5 + 0.1  # LightGBM hands float64 scores
    fn = (passthrough_xgb if framework == "xgboost" else passthrough_lgb) if variant == "passthrough" \
        else OURS[variant][0]()
    fn(margin, data)  # first call: validation, start value, caches
    times = []
    for _ in range(calls):
        t = time.perf_counter()
        fn(margin, data)
        times.append(time.perf_counter() - t)
    return 1e3 * statistics.median(times)


def time_to_reach_builtin_quantile(X, y, Xt, yt, alpha: float = 0.9) -> list[dict]:
    """Rounds and seconds our quantile needs to match the built-in's final test pinball."""
    rows = []
    obj = boostobj.quantile(alpha)

    def pinball(pred):
        r = yt - pred
        return float(np.mean(np.maximum(alpha * r, (alpha - 1) * r)))

    params = {"tree_method": "hist", "max_depth": 6, "nthread": THREADS, "verbosity": 0}
    dtrain, dtest = xgb.DMatrix(X, y), xgb.DMatrix(Xt)
    t = time.perf_counter()
    builtin = xgb.train({**params, "objective": "reg:quantileerror", "quantile_alpha": alpha}, dtrain, ROUNDS)
    t_builtin = time.perf_counter() - t
    target = pinball(builtin.predict(dtest))
    t = time.perf_counter()
    ours = xgb.train({**params, "base_score": obj.init_score(y), "disable_default_eval_metric": 1}, dtrain,
                     ROUNDS, obj=obj)
    t_ours = time.perf_counter() - t
    reach = next((k for k in range(1, ROUNDS + 1)
                  if pinball(ours.predict(dtest, iteration_range=(0, k))) <= target), None)
    rows.append(("xgboost", target, pinball(ours.predict(dtest)), t_builtin, reach, t_ours))

    lparams = {"num_leaves": 63, "num_threads": THREADS, "verbose": -1}
    t = time.perf_counter()
    lbuiltin = lgb.train({**lparams, "objective": "quantile", "alpha": alpha}, lgb.Dataset(X, y), ROUNDS)
    t_lbuiltin = time.perf_counter() - t
    ltarget = pinball(lbuiltin.predict(Xt))
    t = time.perf_counter()
    lours = lgb.train({**lparams, "objective": obj}, lgb.Dataset(X, y, init_score=obj.init_score_array(y)), ROUNDS)
    t_lours = time.perf_counter() - t
    init = obj.init_score(y)
    lreach = next((k for k in range(1, ROUNDS + 1)
                   if pinball(lours.predict(Xt, num_iteration=k) + init) <= ltarget), None)
    rows.append(("lightgbm", ltarget, pinball(lours.predict(Xt) + init), t_lbuiltin, lreach, t_lours))
    return [dict(zip(["framework", "builtin_pinball", "ours_pinball", "builtin_s", "ours_rounds_to_match",
                      "ours_s_100"], r)) for r in rows]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, nargs="+", default=[1_000_000, 100_000])
    parser.add_argument("--reps", type=int, default=5)
    parser.add_argument("--frameworks", nargs="+", default=["xgboost", "lightgbm"])
    args = parser.parse_args()

    lines = [
        "# Training speed: boostobj vs the built-in and a pass-through objective",
        "",
        f"Generated by `python benchmarks/speed.py` ({platform.processor() or platform.machine()}, "
        f"{os.cpu_count()} cores, {THREADS} threads, {ROUNDS} rounds, {args.reps} interleaved repetitions, "
        f"XGBoost {xgb.__version__} hist depth 6, LightGBM {lgb.__version__} 63 leaves). "
        "Medians in seconds; `vs floor` = ours / pass-through custom squared error, `vs built-in` = ours / "
        "the framework's own squared error (regression) or logistic loss (binary).",
        "",
    ]
    # warm-up: first calls import scipy.optimize, start thread pools, etc.
    Xw, yw_reg, yw_bin = make_data(2000)
    for fw in args.frameworks:
        for v in ["builtin-reg", "passthrough", *OURS]:
            yw = yw_bin if v in OURS and OURS[v][1] == "bin" else yw_reg
            (train_xgb if fw == "xgboost" else train_lgb)(Xw, yw, v, rounds=2)
    for n in args.rows:
        X, y_reg, y_bin = make_data(n)
        same_loss = [f"builtin:{k}" for k in SAME_LOSS_XGB if not SAME_LOSS_XGB[k]["objective"].startswith("binary")]
        variants = ["builtin-reg", "builtin-bin", "passthrough", *same_loss, *OURS]
        times: dict = {(fw, v): [] for fw in args.frameworks for v in variants}
        for rep in range(args.reps):
            for fw in args.frameworks:
                for v in variants:
                    y = y_bin if v == "builtin-bin" or (v in OURS and OURS[v][1] == "bin") else y_reg
                    seconds, _ = (train_xgb if fw == "xgboost" else train_lgb)(X, y, v)
                    times[(fw, v)].append(seconds)
            print(f"n={n}: repetition {rep + 1}/{args.reps} done", flush=True)
        lines += [f"## {n:,} rows x 20 features", "",
                  "| framework | objective | median s | vs floor | vs built-in | vs built-in, same loss | "
                  "objective ms/round |",
                  "|---|---|---|---|---|---|---|"]
        for fw in args.frameworks:
            med = {v: statistics.median(times[(fw, v)]) for v in variants}
            floor = med["passthrough"]
            for v in variants:
                builtin = med["builtin-bin"] if (v in OURS and OURS[v][1] == "bin") or v == "builtin-bin" \
                    else med["builtin-reg"]
                same = f"builtin:{v}"
                vs_same = f"{med[v] / med[same]:.3f}" if same in med else ""
                cost = "" if v.startswith("builtin") else f"{objective_cost_ms(fw, X, y_reg, y_bin, v):.2f}"
                lines.append(f"| {fw} | {v} | {med[v]:.3f} | {med[v] / floor:.3f} | {med[v] / builtin:.3f} | "
                             f"{vs_same} | {cost} |")
        lines.append("")
    # quantile: time to reach the built-in's quality
    n = max(args.rows)
    X, y_reg, _ = make_data(n)
    Xt, yt, _ = make_data(100_000, seed=1)
    lines += ["## Quantile 0.9: reaching the built-in's final test pinball loss", "",
              f"{n:,} training rows, 100k test rows. The built-in refits each leaf to the residual quantile "
              "(LightGBM) or uses its own quantile objective (XGBoost).", "",
              "| framework | built-in pinball (100 rounds) | ours pinball (100 rounds) | built-in s | "
              "our rounds to match | our s for 100 rounds |", "|---|---|---|---|---|---|"]
    for row in time_to_reach_builtin_quantile(X, y_reg, Xt, yt):
        reach = row["ours_rounds_to_match"]
        lines.append(f"| {row['framework']} | {row['builtin_pinball']:.4f} | {row['ours_pinball']:.4f} | "
                     f"{row['builtin_s']:.2f} | {reach if reach else 'not within 100'} | {row['ours_s_100']:.2f} |")
    text = "\n".join(lines) + "\n"
    RESULTS.mkdir(parents=True, exist_ok=True)
    (RESULTS / "speed.md").write_text(text)
    print(text)


if __name__ == "__main__":
    main()

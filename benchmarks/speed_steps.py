"""Where a refitting drop-in's fit spends its time on small data, step by step, per round.

Usage (from the repository root)::

    python -m benchmarks.speed_steps --rows 1000 20000 --threads 2 --out speed_steps

The quantile(0.9) drop-ins (``XGBRegressor``, ``LGBMRegressor``) on
``speed_small``'s data, 100 rounds, the same trees (XGBoost hist depth 6,
LightGBM 63 leaves). Each step is timed from inside the fit by a timer
around the function that does it (set up here, for this measurement only),
summed over ``--reps`` fits and divided by their rounds: microseconds per
round. The steps that happen once per fit (the refit leaves written into
XGBoost's model) are spread over its rounds too. ``rest of the fit`` is the
fit's wall time less every step above it: the framework's own Python
around each round, callbacks, the data set and the model's record.
"""

from __future__ import annotations

import collections
import time
from typing import Any, Callable

import lightgbm as lgb
import xgboost as xgb

import boostobj
from benchmarks._common import fits_main
from benchmarks.speed_small import make_data
from boostobj import objective
from boostobj.leaf_refit import _lightgbm, _xgboost
from boostobj.sklearn import LGBMRegressor, XGBRegressor

# (label, owner, attribute): what each step's timer wraps. Nested steps are listed after the step
# they are part of and indented in the table; each framework's "tree growth" is its update less
# the objective call inside it.
STEPS = {
    "xgboost": [
        ("update (tree growth)", xgb.Booster, "update"),
        ("  objective call", objective.Objective, "__call__"),
        ("leaf refit, per round", _xgboost.XGBLeafRefit, "_refit"),
        ("  leaves off margins and gradients", _xgboost, "_leaves_from_gradients"),
        ("  leaf ids where leaves share a value", _xgboost, "xgboost_leaf_ids"),
        ("  split count", _xgboost, "xgboost_split_count"),
        ("  tree read from the model", _xgboost, "xgboost_round_model"),
        ("  leaves' quantiles", _xgboost, "leaf_targets"),
        ("refit leaves written (once a fit)", _xgboost.XGBLeafRefit, "flush"),
    ],
    "lightgbm": [
        ("update (tree growth)", lgb.Booster, "update"),
        ("  objective call", objective.Objective, "__call__"),
        ("leaf refit, per round", _lightgbm.LeafRefit, "_refit"),
        ("  leaf counts", _lightgbm, "lightgbm_leaf_counts"),
        ("  grown leaf values", _lightgbm, "lightgbm_leaf_values"),
        ("  cached scores", _lightgbm, "lightgbm_cached_scores"),
        ("  leaves off the scores", _lightgbm, "round_leaves"),
        ("  leaves' quantiles", _lightgbm, "leaf_targets"),
        ("  refit leaves written", _lightgbm, "lightgbm_set_leaf_values"),
    ],
}
_PARTS_OF_UPDATE = {"  objective call"}


def _estimator(framework: str, threads: int, rounds: int) -> Any:
    if framework == "xgboost":
        return XGBRegressor(objective=boostobj.quantile(0.9), n_estimators=rounds, max_depth=6, n_jobs=threads)
    return LGBMRegressor(objective=boostobj.quantile(0.9), n_estimators=rounds, num_leaves=63, n_jobs=threads,
                         verbose=-1)


def _timed(fn: Callable, label: str, spent: dict, calls: collections.Counter) -> Callable:
    def timed(*args: Any, **kwargs: Any) -> Any:
        t0 = time.perf_counter()
        try:
            return fn(*args, **kwargs)
        finally:
            spent[label] += time.perf_counter() - t0
            calls[label] += 1
    timed.__wrapped__ = fn  # type: ignore[attr-defined]
    return timed


def measure_one(framework: str, n: int, threads: int, rounds: int, reps: int) -> dict:
    """Per-round microseconds of each step of ``reps`` fits (after one warm-up fit)."""
    X, y = make_data(n)
    _estimator(framework, threads, rounds).fit(X, y)  # imports, compiled kernels
    spent: dict = collections.defaultdict(float)
    calls: collections.Counter = collections.Counter()
    saved = []
    for label, owner, name in STEPS[framework]:
        fn = owner.__dict__[name] if isinstance(owner, type) else getattr(owner, name)
        saved.append((owner, name, fn))
        setattr(owner, name, _timed(fn, label, spent, calls))
    try:
        t0 = time.perf_counter()
        for _ in range(reps):
            _estimator(framework, threads, rounds).fit(X, y)
        wall = time.perf_counter() - t0
    finally:
        for owner, name, fn in saved:
            setattr(owner, name, fn)
    per_round = 1e6 / (reps * rounds)
    steps = {label: spent[label] * per_round for label, _, _ in STEPS[framework]}
    update = "update (tree growth)"
    steps[update] -= sum(v for k, v in steps.items() if k in _PARTS_OF_UPDATE)
    top = [label for label, _, _ in STEPS[framework] if not label.startswith(" ")]
    steps["rest of the fit"] = wall * per_round - sum(v for k, v in steps.items() if k in top) \
        - sum(v for k, v in steps.items() if k in _PARTS_OF_UPDATE)
    return {"framework": framework, "rows": n, "threads": threads, "fit_ms": 1e3 * wall / reps,
            "steps": steps, "calls_per_fit": {k: calls[k] / reps for k in calls}}


def measure(rows: list[int], threads: list[int], rounds: int, reps: int) -> list[dict]:
    return [measure_one(framework, n, t, rounds, reps)
            for framework in STEPS for n in rows for t in threads]


def render(results: list[dict], meta: dict) -> str:
    lines = ["# Small data: where a refitting drop-in's fit goes, per round", "",
             f"Generated by `{meta['command']}` on {meta['date']}: {meta['stack']}. quantile(0.9) drop-ins, "
             f"{meta['rounds']} rounds, XGBoost hist depth 6, LightGBM 63 leaves; microseconds per round, summed "
             f"over {meta['reps']} fits. Indented steps are part of the step above them; `update (tree growth)` "
             "is the framework's update less the indented calls inside it; `rest of the fit` is the fit's wall "
             "time less every other row (the frameworks' Python around each round, callbacks, the data set, "
             "the model's record).", ""]
    for framework in STEPS:
        cells = [r for r in results if r["framework"] == framework]
        if not cells:
            continue
        head = f"| {framework} | " + " | ".join(f"{r['rows']:,} rows, {r['threads']} thr." for r in cells) + " |"
        lines += [head, "|---|" + "---:|" * len(cells)]
        labels = [label for label, _, _ in STEPS[framework]] + ["rest of the fit"]
        for label in labels:
            name = label.replace("  ", "&nbsp;&nbsp;", 1) if label.startswith("  ") else label
            lines.append(f"| {name} | " + " | ".join(f"{r['steps'][label]:.0f}" for r in cells) + " |")
        lines.append("| **whole fit, ms** | " + " | ".join(f"**{r['fit_ms']:.0f}**" for r in cells) + " |")
        lines.append("")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> None:
    fits_main("speed_steps", __doc__.splitlines()[0], measure, render, [1000, 20000], [2], argv)


if __name__ == "__main__":
    main()

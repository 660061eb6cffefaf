"""One objective call's cost inside training, with and without one change to the hot path, in one process.

Each change below can be switched back to what it replaced by swapping one
method; both variants then run in the same process, alternating training by
training (the order flips every cycle), so the VM's drift between processes,
which ``speed_paired.py`` has to average over, does not enter. Each cell:
thread CPU time of one call inside training, median over the rounds after
the first, ms; ``after faster in``: in how many cycles the change's call was
the cheaper one.

Changes:

- ``compared_labels``: labels that are integers in [0, 255] are compared
  with the framework's as a uint8 copy (``_DataState.compared_labels``)
  instead of the float32 copy (a quarter of the bytes), by rows that
  memory bounds (focal, bound by arithmetic, keeps the float32 copy: at
  commit fd9e107 it took the bytes, ``speed_inprocess_compared_labels_focal_bytes.md``);
- ``plain_rows``: rows without weights, in a round of factor 1, skip the
  multiplies by 1 (``RowPass._plain``, ``_compiled._weigh``);
- ``output_ring``: two pairs of output arrays per dataset and thread
  against four (``objective._OUTPUT_RING``): fewer pairs keep fewer bytes
  per row.
- ``one_output_pair``: one pair against two, for either framework's
  margins, where four would pass ``objective._OUTPUT_RING_BYTES``
  (``_OUTPUT_PAIRS_ABOVE``), at a size above it (``--rows 2000000``);
  boostobj takes one pair where it was as fast (XGBoost's float32 margins).

    python -m benchmarks.speed_inprocess compared_labels --cycles 12 --out speed_inprocess_compared_labels
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import sys
import time
import warnings
from pathlib import Path
from typing import Any, Callable

import lightgbm as lgb
import numpy as np
import xgboost as xgb

ROOT = Path(__file__).resolve().parent.parent
import boostobj  # noqa: E402
from boostobj import _compiled  # noqa: E402
from boostobj import objective as objective_module  # noqa: E402

RESULTS = ROOT / "benchmarks" / "results" / "speed"


def _float_copy(state: Any) -> np.ndarray:
    return state.source_labels()  # what the pass compared with before: the float32 copy


_ROWPASS_INIT = _compiled.RowPass.__init__


def _never_plain(self: Any, *args: Any, **kwargs: Any) -> None:
    _ROWPASS_INIT(self, *args, **kwargs)
    self._plain = False  # every call multiplies by the weight and the factor, as before


# change -> (owner, attribute, what it replaced, losses[, the changed value: default, the attribute's own])
CHANGES: dict[str, tuple] = {
    "compared_labels": (objective_module._DataState, "compared_labels", _float_copy,
                        {"exponential": boostobj.exponential, "hinge": boostobj.hinge}),
    "output_ring": (objective_module, "_OUTPUT_RING", 4,
                    {"huber(1)": lambda: boostobj.huber(1.0), "quantile(0.9)": lambda: boostobj.quantile(0.9),
                     "focal(2)": lambda: boostobj.focal(2.0), "exponential": boostobj.exponential}, 2),
    "one_output_pair": (objective_module, "_OUTPUT_PAIRS_ABOVE", {"float32": 2, "float64": 2},
                        {"huber(1)": lambda: boostobj.huber(1.0), "quantile(0.9)": lambda: boostobj.quantile(0.9),
                         "focal(2)": lambda: boostobj.focal(2.0), "exponential": boostobj.exponential},
                        {"float32": 1, "float64": 1}),
    "plain_rows": (_compiled.RowPass, "__init__", _never_plain,
                   {"exponential": boostobj.exponential, "focal(2)": lambda: boostobj.focal(2.0),
                    "huber(1)": lambda: boostobj.huber(1.0), "log_cosh": boostobj.log_cosh}),
}


def _one_training(framework: str, make: Callable, X: np.ndarray, y: np.ndarray, threads: int,
                  rounds: int) -> float:
    obj = make()
    times: list[float] = []

    def timed(*args: Any) -> Any:
        t = time.thread_time()
        out = obj(*args)
        times.append(time.thread_time() - t)
        return out

    if framework == "xgboost":
        start = obj.init_score(y)
        if obj.task == "binary":  # XGBoost's base_score is a probability under binary:logistic
            start = 1.0 / (1.0 + np.exp(-start))
        xgb.train({"tree_method": "hist", "max_depth": 6, "nthread": threads, "base_score": float(start)},
                  xgb.DMatrix(X, y, nthread=threads), rounds, obj=timed)
    else:
        lgb.train({"objective": timed, "num_leaves": 63, "num_threads": threads, "verbose": -1},
                  obj.dataset(X, y), rounds)
    return float(np.median(times[1:])) * 1e3


def run(change: str, rows: int, threads: int, rounds: int, cycles: int) -> dict:
    owner, attr, before, losses, *changed = CHANGES[change]
    rng = np.random.default_rng(0)
    X = rng.normal(size=(rows, 20)).astype(np.float32)
    signal = X[:, 0] + X[:, 1] * X[:, 2]
    labels = {"binary": (signal + rng.normal(size=rows) > 0.5).astype(np.float32),
              "regression": (signal + rng.standard_t(3, size=rows)).astype(np.float32)}
    after = changed[0] if changed else owner.__dict__[attr]
    own = owner.__dict__[attr]
    out: dict = {}
    for framework in ("xgboost", "lightgbm"):
        for name, make in losses.items():
            y = labels["regression" if make().task == "regression" else "binary"]
            cell = out[f"{framework} {name}"] = {"after": [], "before": []}
            for c in range(cycles):
                for variant in (("after", "before") if c % 2 == 0 else ("before", "after")):
                    setattr(owner, attr, after if variant == "after" else before)
                    try:
                        cell[variant].append(_one_training(framework, make, X, y, threads, rounds))
                    finally:
                        setattr(owner, attr, own)
    return out


def render(data: dict, meta: dict) -> str:
    lines = [f"# In-process A/B of one hot-path change: {meta['change']}", "",
             f"Generated by `{meta['command']}` on {meta['machine']}: Python {meta['python']}, "
             f"XGBoost {meta['xgboost']}, LightGBM {meta['lightgbm']}; {meta['rows']:,} rows x 20, "
             f"{meta['threads']} thread(s), {meta['rounds']} rounds, {meta['cycles']} cycles; "
             f"boostobj at {meta['commit']}.", "",
             "Both variants in one process, alternating training by training (order flipped each cycle); "
             "`before`: the change switched back. Each value: thread CPU time of one objective call inside "
             "training, median over the rounds after the first, ms; medians and fastest over the cycles. "
             "Binary losses train on binary labels, the others on continuous ones.", "",
             "| framework | loss | before, median | after, median | after / before | before, fastest | "
             "after, fastest | after / before, fastest | after faster in |",
             "|---|---|---|---|---|---|---|---|---|"]
    for key, cell in data.items():
        b, a = np.array(cell["before"]), np.array(cell["after"])
        framework, loss = key.split(" ", 1)
        lines.append(f"| {framework} | {loss} | {np.median(b):.3f} | {np.median(a):.3f} | "
                     f"{np.median(a) / np.median(b):.3f} | {b.min():.3f} | {a.min():.3f} | "
                     f"{a.min() / b.min():.3f} | {int((a < b).sum())}/{len(b)} cycles |")
    return "\n".join(lines) + "\n"


def _commit() -> str:
    import subprocess

    try:
        rev = subprocess.run(["git", "-C", str(ROOT), "rev-parse", "--short", "HEAD"], capture_output=True,
                             text=True, check=True).stdout.strip()
        dirty = subprocess.run(["git", "-C", str(ROOT), "status", "--porcelain", "boostobj"],
                               capture_output=True, text=True, check=True).stdout.strip()
        return rev + (" (with uncommitted changes to boostobj/)" if dirty else "")
    except (OSError, subprocess.CalledProcessError):
        return "unknown"


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("change", choices=sorted(CHANGES))
    p.add_argument("--rows", type=int, default=200_000)
    p.add_argument("--threads", type=int, default=2)
    p.add_argument("--rounds", type=int, default=50)
    p.add_argument("--cycles", type=int, default=12)
    p.add_argument("--out", help="results/<out>.md and .json (default: print only)")
    args = p.parse_args(argv)
    warnings.simplefilter("ignore")  # the frameworks' chatter, not ours to judge here
    data = run(args.change, args.rows, args.threads, args.rounds, args.cycles)
    meta = {"command": "python -m benchmarks.speed_inprocess " + " ".join(sys.argv[1:] if argv is None else argv),
            "change": args.change, "machine": f"{platform.machine()}, {os.cpu_count()} cores",
            "python": platform.python_version(), "xgboost": xgb.__version__, "lightgbm": lgb.__version__,
            "rows": args.rows, "threads": args.threads, "rounds": args.rounds, "cycles": args.cycles,
            "commit": _commit()}
    text = render(data, meta)
    print(text)
    if args.out:
        RESULTS.mkdir(parents=True, exist_ok=True)
        (RESULTS / f"{args.out}.md").write_text(text)
        (RESULTS / f"{args.out}.json").write_text(json.dumps({"meta": meta, "data": data}, indent=1))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

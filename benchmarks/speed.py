"""The objective's cost inside training, against the replay floor.

Run by hand (not in CI):

    python -m benchmarks.speed                      # 200k and 1M rows, 2 threads and 1
    python -m benchmarks.speed --rows 200000 --threads 2 --reps 7 --out speed-200k

For each framework, loss and thread count, on n x 20 float32 data (XGBoost
hist depth 6, LightGBM 63 leaves, ``--rounds`` rounds), one dataset object
reused by every run:

- ``ours``: ``xgb.train(..., obj=obj)`` / ``lgb.train({"objective": obj})``,
  started from ``obj.init_score`` (computed before the timer, as the replay
  needs the same start; its cost is reported in its own column);
- ``replay``: the same training again with an objective that returns the
  (gradient, hessian) arrays recorded from a run of ``ours``: identical trees,
  an objective that costs nothing. ``ours / replay`` is exactly our overhead;
- ``touch``: the replay plus the least work any objective must do (read the
  margin and the labels, write two arrays): ``touch / replay`` is a floor
  under the overhead of every objective, however it is compiled;
- ``passthrough``: a minimal custom squared error (grad = p - y, hess = 1),
  the old floor, kept for continuity (its trees are not ours);
- ``builtin``: the framework's own objective for the same loss where there is
  one (different trees: the frameworks' tree time depends on the gradients);
- per-call cost inside training: each round of an instrumented run calls our
  objective and a naive hand-written NumPy objective for the same loss on the
  same (margin, dataset), alternating which goes first; medians in ms.

Repetitions are interleaved (every variant once per repetition, in turn).
Ratios to the replay are medians over repetitions of the ratio of two runs
made back to back (paired), which cancels the machine's drift between
repetitions; other columns are ratios of medians. The load average before and
after is recorded in the results file.

With ``--eval-set`` it also times the drop-in estimators with and without an
eval set (an eval set must cost only its prediction and metric).
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import sys
import time
from pathlib import Path

import lightgbm as lgb
import numpy as np
import xgboost as xgb

import boostobj
from boostobj import _compiled
from boostobj import sklearn as bsk

RESULTS = Path(__file__).parent / "results" / "speed"

LOSSES = {
    "log_cosh": (boostobj.log_cosh, "reg"),
    "huber(1)": (lambda: boostobj.huber(1.0), "reg"),
    "quantile(0.5)": (lambda: boostobj.quantile(0.5), "reg"),
    "quantile(0.9)": (lambda: boostobj.quantile(0.9), "reg"),
    "exponential": (boostobj.exponential, "bin"),
    "focal(2)": (lambda: boostobj.focal(2.0), "bin"),
    "hinge": (boostobj.hinge, "bin"),
    "modified_huber": (boostobj.modified_huber, "bin"),
}

# The frameworks' own objective for the same loss, where there is one.
BUILTIN_XGB = {
    "hinge": {"objective": "binary:hinge"},
    "huber(1)": {"objective": "reg:pseudohubererror", "huber_slope": 1.0},
    "quantile(0.5)": {"objective": "reg:quantileerror", "quantile_alpha": 0.5},
    "quantile(0.9)": {"objective": "reg:quantileerror", "quantile_alpha": 0.9},
}
BUILTIN_LGB = {
    "huber(1)": {"objective": "huber", "alpha": 1.0},
    "quantile(0.5)": {"objective": "quantile", "alpha": 0.5},
    "quantile(0.9)": {"objective": "quantile", "alpha": 0.9},
}


# ---- naive objectives: the plain NumPy a user would write from the formulas -----
def naive_grad_hess(loss: str):
    """The (gradient, curvature) of ``loss`` as a user writes it in plain NumPy, from the formulas."""
    def grad_hess(y, p):
        if loss == "log_cosh":
            r = y - p
            t = np.tanh(r)
            return -t, np.where(r == 0, 1.0, t / np.where(r == 0, 1.0, r))
        if loss.startswith("huber"):
            r = y - p
            return -np.clip(r, -1.0, 1.0), np.where(np.abs(r) <= 1.0, 1.0, 1.0 / np.abs(r))
        if loss.startswith("quantile"):
            a = float(loss[9:-1])
            r = y - p
            return np.where(r > 0, -a, 1.0 - a), 0.5 / np.maximum(np.abs(r), 0.1)
        s = 2.0 * y - 1.0
        if loss == "exponential":
            e = np.exp(-0.5 * s * p)
            return -0.5 * s * e, 0.25 * e
        if loss == "hinge":  # the MM curvature, as boostobj's (the true one is 0)
            u = 1.0 - s * p
            return np.where(u > 0, -s, 0.0), 0.5 / np.maximum(np.abs(u), 0.5)
        if loss == "modified_huber":
            z = s * p
            return -2.0 * s * np.clip(1.0 - z, 0.0, 2.0), 2.0 / np.maximum(np.maximum(z, 0.5 * (1.0 - z)), 1.0)
        # focal(2), Lin et al. 2017, written with sigmoid and log as in most blog posts
        z = s * p
        pt = 1.0 / (1.0 + np.exp(-z))
        q = 1.0 - pt
        logpt = np.log(np.clip(pt, 1e-12, 1.0))
        g = -s * q**2 * (2.0 * pt * -logpt + q)
        h = np.maximum(q**2 * pt * (q * 5.0 + 2.0 * -logpt * (2.0 * pt - q)), q**2 * pt * q)
        return g, h

    return grad_hess


def _naive(loss: str):
    grad_hess = naive_grad_hess(loss)

    def xgb_obj(predt, dtrain):
        return grad_hess(dtrain.get_label(), predt)

    def lgb_obj(preds, data):
        return grad_hess(data.get_label(), preds)

    return xgb_obj, lgb_obj


def passthrough(predt, data):
    return predt - data.get_label(), np.ones_like(predt)


class Replay:
    """Returns the recorded (gradient, hessian) of round i at call i."""

    def __init__(self, rounds: list):
        self.rounds = rounds
        self.i = 0

    def __call__(self, predt, data):
        g, h = self.rounds[self.i]
        self.i += 1
        return g, h

    def __deepcopy__(self, memo):  # lgb.train deep-copies its params
        return self


class ReplayTouch(Replay):
    """Replay that also makes the least work any objective must do: read the margin and the
    labels once, write a gradient and a curvature array once (one subtraction, one copy).
    Same trees as replay; ``touch / replay`` is a floor under every objective's overhead."""

    def __init__(self, rounds: list, y: np.ndarray):
        super().__init__(rounds)
        self.y = np.asarray(y, np.float32)
        self.g, self.h = np.empty_like(self.y), np.empty_like(self.y)

    def __call__(self, predt, data):
        np.subtract(self.y, predt, out=self.g, casting="unsafe")
        np.copyto(self.h, self.g)
        return super().__call__(predt, data)


class PerCall(Replay):
    """Times each call of ``fn`` (thread CPU time: the machine is shared) and, with ``record``,
    keeps what it returned (the replay's gradients; copied after the timing).

    One objective per training: timing a second objective in the same call
    (as this benchmark once did with the naive one) runs it on caches the
    first has just filled with its own arrays."""

    def __init__(self, fn, record: bool = True):
        super().__init__([])
        self.fn, self.record, self.seconds = fn, record, []

    def __call__(self, predt, data):
        self.i += 1
        t = time.thread_time()
        g, h = self.fn(predt, data)
        self.seconds.append(time.thread_time() - t)
        if self.record:
            self.rounds.append((np.array(g, copy=True), np.array(h, copy=True)))
        return g, h


def make_data(n: int, seed: int = 0):
    rng = np.random.default_rng(seed)
    X = rng.normal(size=(n, 20)).astype(np.float32)
    signal = 2 * X[:, 0] + np.sin(3 * X[:, 1]) + X[:, 2] * X[:, 3]
    y_reg = (signal + rng.standard_t(3, n)).astype(np.float32)
    y_bin = (rng.random(n) < 1 / (1 + np.exp(-(signal - 1)))).astype(np.float32)
    return X, y_reg, y_bin


def _timed(fn) -> tuple[float, float]:
    """(wall seconds, CPU seconds of the whole process) of one training."""
    wall, cpu = time.perf_counter(), time.process_time()
    fn()
    return time.perf_counter() - wall, time.process_time() - cpu


class XGBRunner:
    name = "xgboost"

    def __init__(self, X, y, threads, rounds):
        self.y, self.rounds = y, rounds
        self.params = {"tree_method": "hist", "max_depth": 6, "nthread": threads, "verbosity": 0}
        self.data = xgb.DMatrix(X, y, nthread=threads)

    def train(self, fn, start=None, extra=None):
        params = {**self.params, **(extra or {})}
        if fn is not None:
            params["disable_default_eval_metric"] = 1
        if start is not None:
            params["base_score"] = start
        return _timed(lambda: xgb.train(params, self.data, self.rounds, obj=fn))


class LGBRunner:
    name = "lightgbm"

    def __init__(self, X, y, threads, rounds):
        self.y, self.rounds = y, rounds
        self.params = {"num_leaves": 63, "num_threads": threads, "verbose": -1, "max_bin": 255}
        self.data = lgb.Dataset(X, y, params={"verbose": -1, "max_bin": 255}, free_raw_data=False).construct()

    def train(self, fn, start=None, extra=None):
        self.data.set_init_score(None if start is None else np.full(len(self.y), start))
        params = {**self.params, **(extra or {})}
        if fn is not None:
            params["objective"] = fn
        return _timed(lambda: lgb.train(params, self.data, self.rounds))


def run_block(runner_cls, X, y_reg, y_bin, threads, rounds, reps, losses) -> list[dict]:
    rows = []
    runners = {"reg": runner_cls(X, y_reg, threads, rounds), "bin": runner_cls(X, y_bin, threads, rounds)}
    builtins = BUILTIN_XGB if runner_cls is XGBRunner else BUILTIN_LGB
    for r in runners.values():  # warm-up: binning, thread pools, caches
        r.train(passthrough)
    for loss in losses:
        make, kind = LOSSES[loss]
        runner = runners[kind]
        t = time.perf_counter()
        start = make().init_score(runner.y)
        init_ms = 1e3 * (time.perf_counter() - t)
        naive = _naive(loss)[0 if runner_cls is XGBRunner else 1]
        per_call = rec = PerCall(make())
        runner.train(per_call, start)
        naive_call = PerCall(naive, record=False)  # its own training: see PerCall
        runner.train(naive_call, start)

        def ours():
            obj = make()
            obj.init_score(runner.y)  # as a user would, before training (not timed)
            return runner.train(obj, start)

        variants = {
            "ours": ours,
            "replay": lambda: runner.train(Replay(rec.rounds), start),
            "touch": lambda: runner.train(ReplayTouch(rec.rounds, runner.y), start),
            "passthrough": lambda: runner.train(passthrough, start),
        }
        if loss in builtins:
            variants["builtin"] = lambda: runner.train(None, None, builtins[loss])
        times: dict = {v: [] for v in variants}
        for _ in range(reps):
            for v, fn in variants.items():
                times[v].append(fn())
        med = {v: statistics.median(w for w, _ in ts) for v, ts in times.items()}
        cpu = {v: statistics.median(c for _, c in ts) for v, ts in times.items()}
        # ours and replay run back to back in every repetition: their ratio per
        # repetition cancels most of the machine's drift between repetitions
        paired = sorted(o[0] / r[0] for o, r in zip(times["ours"], times["replay"]))
        paired_cpu = sorted(o[1] / r[1] for o, r in zip(times["ours"], times["replay"]))
        rows.append({
            "framework": runner.name, "loss": loss, "rows": len(runner.y), "threads": threads,
            "ours_s": med["ours"], "replay_s": med["replay"], "passthrough_s": med["passthrough"],
            "builtin_s": med.get("builtin"),
            "ours_cpu_s": cpu["ours"], "replay_cpu_s": cpu["replay"], "passthrough_cpu_s": cpu["passthrough"],
            "builtin_cpu_s": cpu.get("builtin"),
            "ours_ms_per_call": 1e3 * statistics.median(per_call.seconds),
            "naive_ms_per_call": 1e3 * statistics.median(naive_call.seconds),
            "init_score_ms": init_ms, "times": times,
            "paired": statistics.median(paired), "paired_q": _quartiles(paired),
            "paired_cpu": statistics.median(paired_cpu),
            "touch": statistics.median(sorted(t[0] / r[0] for t, r in zip(times["touch"], times["replay"]))),
            # 3% of one replay round: what one objective call may cost for ours / replay <= 1.03
            "budget_ms_per_call": 1e3 * 0.03 * med["replay"] / rounds,
        })
        r = rows[-1]
        print(f"{r['framework']:8s} n={r['rows']} t={threads} {loss:14s} ours/replay "
              f"{r['paired']:.3f} [{r['paired_q'][0]:.3f}, {r['paired_q'][1]:.3f}] (CPU {r['paired_cpu']:.3f}, "
              f"touch {r['touch']:.3f})  "
              f"ours {r['ours_ms_per_call']:.2f} ms/call, naive {r['naive_ms_per_call']:.2f}, "
              f"budget {r['budget_ms_per_call']:.2f}", flush=True)
        del rec
    return rows


def eval_set_block(n: int, reps: int, rounds: int = 40) -> list[dict]:
    """Drop-ins with and without an eval set (the eval set costs its prediction + metric only)."""
    X, y, _ = make_data(n)
    Xv, yv, _ = make_data(n // 4, seed=1)
    out = []
    for cls, extra in ((bsk.XGBRegressor, {}), (bsk.LGBMRegressor, {"verbose": -1})):
        times: dict = {"no eval set": [], "eval set": [], "eval set, stock metric": []}
        for _ in range(reps):
            for v in times:
                kwargs = {} if v == "no eval set" else {"eval_set": [(Xv, yv)]}
                obj = boostobj.huber(1.0)
                model = cls(objective=obj, n_estimators=rounds, n_jobs=2, **extra)
                if v == "eval set, stock metric":
                    model.set_params(eval_metric="l1" if cls is bsk.LGBMRegressor else "mae")
                times[v].append(_timed(lambda: model.fit(X, y, **kwargs))[1])
        out.append({"estimator": cls.__name__, "rows": n, "eval_rows": n // 4, "rounds": rounds,
                    **{v: statistics.median(ts) for v, ts in times.items()}})
        print(out[-1], flush=True)
    return out


def _spread(rows: list[dict]) -> float:
    """Largest max / min over the repetitions of one replay training."""
    return max(max(w for w, _ in r["times"]["replay"]) / min(w for w, _ in r["times"]["replay"])
               for r in rows)


def _quartiles(values: list) -> tuple[float, float]:
    """Lower and upper quartile (the extremes for fewer than 4 values)."""
    if len(values) < 4:
        return min(values), max(values)
    q = statistics.quantiles(values, n=4)
    return q[0], q[2]


def _fmt(x, digits=3):
    return "" if x is None else f"{x:.{digits}f}"


def render(rows: list[dict], evals: list[dict], meta: dict) -> str:
    lines = [
        "# The objective's cost inside training, against the replay floor",
        "",
        f"Generated by `{meta['command']}` on {meta['machine']}: Python {meta['python']}, "
        f"XGBoost {meta['xgboost']} (hist, depth 6), LightGBM {meta['lightgbm']} (63 leaves), "
        f"NumPy {meta['numpy']}; objective kernels: {meta.get('kernels', 'NumPy')}; "
        f"{meta['rounds']} rounds on n x 20 float32 data, "
        f"{meta['reps']} interleaved repetitions, medians.",
        "",
        f"Load average before `{meta['load_before']}`, after `{meta['load_after']}`. The machine is a "
        f"VM ({meta['machine']}) whose speed drifts between repetitions (the same replay training varied "
        f"by up to {_spread(rows):.2f}x here), so "
        "every ratio to the replay floor is the median over repetitions of the ratio of two runs made "
        "back to back, with its interquartile range (the range for fewer than 4 repetitions).",
        "",
        "- `ours / replay`: training with the boostobj objective over training with an objective "
        "that returns our recorded gradients (same trees, zero objective cost): our overhead, in "
        "elapsed time (`CPU`: process CPU time, all threads);",
        "- `touch / replay`: the replay plus the least work any objective does (read the margin and "
        "the labels once, write two arrays once; paired median): a floor under every objective's "
        "overhead, compiled or not; `ours - touch`: the difference of the two medians, what ours "
        "costs beyond that floor;",
        "- `ours / passthrough`, `ours / builtin` (CPU time, ratio of medians): over a minimal custom "
        "squared error, and over the framework's own objective for the same loss (different trees);",
        "- `ms/call`: one objective call measured inside training, thread CPU time, median over the "
        "rounds (ours, and a naive hand-written NumPy objective for the same loss, each in a "
        "training of its own); `budget`: 3% of one replay round, what a call may cost for "
        "ours / replay <= 1.03;",
        "- `init_score ms`: `obj.init_score(y)` once, before training.",
        "",
    ]
    keys = sorted({(r["rows"], r["threads"]) for r in rows}, key=lambda k: (k[0], -k[1]))
    for n, threads in keys:
        lines += [f"## {n:,} rows x 20, {threads} thread{'s' if threads > 1 else ''}", "",
                  "| framework | loss | ours / replay [IQR] | ours / replay, CPU | touch / replay | ours - touch | "
                  "ours / passthrough | "
                  "ours / builtin | ours ms/call | naive ms/call | budget ms/call | init_score ms | "
                  "ours s | replay s |",
                  "|---|---|---|---|---|---|---|---|---|---|---|---|---|---|"]
        for r in rows:
            if (r["rows"], r["threads"]) != (n, threads):
                continue
            b = r["ours_cpu_s"] / r["builtin_cpu_s"] if r["builtin_cpu_s"] else None
            lines.append(
                f"| {r['framework']} | {r['loss']} | {r['paired']:.3f} [{r['paired_q'][0]:.3f}, "
                f"{r['paired_q'][1]:.3f}] | {r['paired_cpu']:.3f} | {r['touch']:.3f} | "
                f"{r['paired'] - r['touch']:+.3f} | "
                f"{r['ours_cpu_s'] / r['passthrough_cpu_s']:.3f} | {_fmt(b)} | "
                f"{r['ours_ms_per_call']:.2f} | {r['naive_ms_per_call']:.2f} | "
                f"{r['budget_ms_per_call']:.2f} | {r['init_score_ms']:.0f} | "
                f"{r['ours_s']:.2f} | {r['replay_s']:.2f} |")
        lines.append("")
    if evals:
        lines += ["## Drop-ins with an eval set (huber(1), 2 threads, CPU seconds)", "",
                  "| estimator | rows | eval rows | rounds | no eval set | eval set | "
                  "eval set, stock metric |", "|---|---|---|---|---|---|---|"]
        for e in evals:
            lines.append(f"| {e['estimator']} | {e['rows']:,} | {e['eval_rows']:,} | {e['rounds']} | "
                         f"{e['no eval set']:.3f} | {e['eval set']:.3f} | {e['eval set, stock metric']:.3f} |")
        lines.append("")
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, nargs="+", default=[200_000, 1_000_000])
    parser.add_argument("--threads", type=int, nargs="+", default=[2, 1])
    parser.add_argument("--reps", type=int, default=3)
    parser.add_argument("--rounds", type=int, default=50)
    parser.add_argument("--frameworks", nargs="*", default=["xgboost", "lightgbm"])
    parser.add_argument("--losses", nargs="*", default=list(LOSSES))
    parser.add_argument("--eval-set", type=int, default=0, metavar="ROWS",
                        help="also time drop-ins with/without an eval set on ROWS rows")
    parser.add_argument("--out", default="speed", help="results/<out>.md and .json")
    parser.add_argument("--render", metavar="JSON", help="only write results/<out>.md again from a saved JSON")
    args = parser.parse_args()
    if args.render:
        saved = json.loads(Path(args.render).read_text())
        (RESULTS / f"{args.out}.md").write_text(render(saved["rows"], saved["eval_set"], saved["meta"]))
        return
    meta = {
        "command": "python -m benchmarks.speed " + " ".join(sys.argv[1:]),
        "machine": f"{platform.machine()}, {os.cpu_count()} cores",
        "python": platform.python_version(), "xgboost": xgb.__version__, "lightgbm": lgb.__version__,
        "numpy": np.__version__, "rounds": args.rounds, "reps": args.reps,
        "kernels": (f"compiled (numba {_compiled.numba.__version__})" if _compiled.available()
                    else "the reference kernels (BOOSTOBJ_NUMBA=0, or numba could not load)"),
        "load_before": " ".join(f"{v:.2f}" for v in os.getloadavg()),
    }
    rows: list[dict] = []
    for n in args.rows:
        X, y_reg, y_bin = make_data(n)
        for threads in args.threads:
            for fw in args.frameworks:
                cls = XGBRunner if fw == "xgboost" else LGBRunner
                rows += run_block(cls, X, y_reg, y_bin, threads, args.rounds, args.reps, args.losses)
    evals = eval_set_block(args.eval_set, args.reps) if args.eval_set else []
    meta["load_after"] = " ".join(f"{v:.2f}" for v in os.getloadavg())
    RESULTS.mkdir(parents=True, exist_ok=True)
    text = render(rows, evals, meta)
    (RESULTS / f"{args.out}.md").write_text(text)
    (RESULTS / f"{args.out}.json").write_text(json.dumps({"meta": meta, "rows": rows, "eval_set": evals},
                                                         indent=1))
    print(text)


if __name__ == "__main__":
    main()

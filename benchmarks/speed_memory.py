"""Memory per row: peak RSS of one fit in a fresh process, above the data, at two sizes.

Usage (from the repository root)::

    python -m benchmarks.speed_memory --rows 2000000 6000000 --rounds 5 --out speed_memory

Each fit runs in its own process: the data (n x 20 float32, made in chunks so
nothing larger is ever allocated) and the frameworks are in memory first,
then the peak RSS is reset (``/proc/self/clear_refs``) and the fit runs;
``above data`` is the fit's peak RSS over the RSS before it, in MB. The
bytes per row that grow with the data are the slope between the two sizes;
what does not grow (boostobj's import, numba and its compiled kernels) is
the intercept. Variants, for Huber (delta 1), 20 float32 features, XGBoost
hist depth 6, LightGBM 63 leaves, 2 threads: the framework's own objective,
a naive NumPy objective written from the formulas (in ``xgb.train`` /
``lgb.train``, the latter also from a start as ``init_score`` as boostobj's
``obj.dataset`` gives, and in the frameworks' own estimators), ``boostobj.huber`` in
``xgb.train`` / ``lgb.train``, and boostobj's drop-in estimator. Linux only.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import time

from benchmarks._common import command, stack, write_results

VARIANTS = ["xgboost builtin", "xgboost naive", "xgboost boostobj", "xgboost naive drop-in", "xgboost drop-in",
            "lightgbm builtin", "lightgbm naive", "lightgbm naive, started", "lightgbm boostobj",
            "lightgbm naive drop-in", "lightgbm drop-in"]


def _rss_kb(field: str) -> int:
    with open("/proc/self/status") as f:
        for line in f:
            if line.startswith(field + ":"):
                return int(line.split()[1])
    raise RuntimeError(f"no {field} in /proc/self/status")


def _data(n: int, features: int = 20):
    import numpy as np

    rng = np.random.default_rng(0)
    X = np.empty((n, features), np.float32)
    y = np.empty(n, np.float32)
    for s in range(0, n, 1 << 18):
        e = min(n, s + (1 << 18))
        X[s:e] = rng.standard_normal((e - s, features), dtype=np.float32)
        y[s:e] = 2 * X[s:e, 0] + np.sin(3 * X[s:e, 1]) + X[s:e, 2] * X[s:e, 3] + rng.standard_t(3, e - s)
    return X, y


def worker(variant: str, n: int, rounds: int) -> dict:
    import lightgbm as lgb
    import numpy as np
    import xgboost as xgb

    from benchmarks.speed import naive_grad_hess

    _naive_huber = naive_grad_hess("huber(1)")
    X, y = _data(n)
    framework, kind = variant.split(" ", 1)
    if kind in ("boostobj", "drop-in"):
        import boostobj
        from boostobj.sklearn import LGBMRegressor, XGBRegressor
    before = _rss_kb("VmRSS")
    with open("/proc/self/clear_refs", "w") as f:
        f.write("5")  # the peak (VmHWM) starts again from the current RSS
    t0 = time.perf_counter()
    if framework == "xgboost":
        params = {"tree_method": "hist", "max_depth": 6, "nthread": 2, "verbosity": 0}
        if kind == "drop-in":
            XGBRegressor(objective=boostobj.huber(1.0), n_estimators=rounds, max_depth=6, n_jobs=2).fit(X, y)
        elif kind == "naive drop-in":
            xgb.XGBRegressor(objective=_naive_huber, n_estimators=rounds, max_depth=6, n_jobs=2,
                             base_score=float(np.median(y))).fit(X, y)
        else:
            d = xgb.DMatrix(X, y, nthread=2)
            if kind == "builtin":
                xgb.train({**params, "objective": "reg:pseudohubererror", "huber_slope": 1.0}, d, rounds)
            elif kind == "naive":
                xgb.train({**params, "disable_default_eval_metric": 1}, d, rounds,
                          obj=lambda p, data: _naive_huber(data.get_label(), p))
            else:
                obj = boostobj.huber(1.0)
                xgb.train({**params, "disable_default_eval_metric": 1, "base_score": obj.init_score(y)}, d, rounds,
                          obj=obj)
    else:
        params = {"num_leaves": 63, "num_threads": 2, "verbose": -1}
        if kind == "drop-in":
            LGBMRegressor(objective=boostobj.huber(1.0), n_estimators=rounds, num_leaves=63, n_jobs=2,
                          verbose=-1).fit(X, y)
        elif kind == "naive drop-in":
            lgb.LGBMRegressor(objective=_naive_huber, n_estimators=rounds, num_leaves=63, n_jobs=2,
                              verbose=-1).fit(X, y, init_score=np.full(len(y), np.median(y)))
        elif kind == "builtin":
            lgb.train({**params, "objective": "huber", "alpha": 1.0}, lgb.Dataset(X, y), rounds)
        elif kind == "naive":
            lgb.train({**params, "objective": lambda p, data: _naive_huber(data.get_label(), p)},
                      lgb.Dataset(X, y), rounds)
        elif kind == "naive, started":  # LightGBM keeps a start twice: its own copy and the Dataset's
            lgb.train({**params, "objective": lambda p, data: _naive_huber(data.get_label(), p)},
                      lgb.Dataset(X, y, init_score=np.full(len(y), np.median(y))), rounds)
        else:
            obj = boostobj.huber(1.0)
            lgb.train({**params, "objective": obj}, obj.dataset(X, y), rounds)
    seconds = time.perf_counter() - t0
    return {"variant": variant, "rows": n, "before_mb": before / 1024, "above_mb": (_rss_kb("VmHWM") - before) / 1024,
            "seconds": seconds}


def measure(rows: list[int], rounds: int, variants: list[str]) -> list[dict]:
    out = []
    for variant in variants:
        for n in rows:
            done = subprocess.run([sys.executable, "-m", "benchmarks.speed_memory", "--worker", variant,
                                   "--rows", str(n), "--rounds", str(rounds)],
                                  capture_output=True, text=True, check=True)
            out.append(json.loads(done.stdout.strip().splitlines()[-1]))
            print(out[-1], file=sys.stderr)
    return out


def render(results: list[dict], meta: dict) -> str:
    rows = sorted({r["rows"] for r in results})
    lo, hi = rows[0], rows[-1]
    lines = [
        "# Memory per row: peak RSS of a fit above the data",
        "",
        f"Generated by `{meta['command']}` on {meta['date']}: {meta['stack']}. Huber (delta 1), n x 20 float32, "
        f"{meta['rounds']} rounds, 2 threads, one fresh process per fit; `above data` is the fit's peak RSS over "
        "the RSS before it (data and frameworks loaded), in MB; `bytes/row` the slope between the two sizes "
        "(what grows with the data); `intercept` what does not (imports, compiled kernels, the frameworks' "
        "fixed buffers).",
        "",
        "| variant | " + " | ".join(f"above data, {n:,} rows (MB)" for n in rows)
        + " | bytes/row | intercept (MB) | fit s, largest |",
        "|---|" + "---|" * (len(rows) + 3),
    ]
    for variant in dict.fromkeys(r["variant"] for r in results):
        got = {r["rows"]: r for r in results if r["variant"] == variant}
        slope = (got[hi]["above_mb"] - got[lo]["above_mb"]) * 2**20 / (hi - lo)
        intercept = got[lo]["above_mb"] - slope * lo / 2**20
        lines.append(f"| {variant} | " + " | ".join(f"{got[n]['above_mb']:.0f}" for n in rows)
                     + f" | {slope:.0f} | {intercept:.0f} | {got[hi]['seconds']:.1f} |")
    return "\n".join(lines) + "\n"


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, nargs="+", default=[2_000_000, 6_000_000])
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--variants", nargs="*", default=VARIANTS)
    parser.add_argument("--out", default="speed_memory", help="results/<out>.md and .json")
    parser.add_argument("--worker", metavar="VARIANT", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.worker:
        print(json.dumps(worker(args.worker, args.rows[0], args.rounds)))
        return
    results = measure(args.rows, args.rounds, args.variants)
    meta = {"command": command("speed_memory", argv), "date": time.strftime("%Y-%m-%d"), "stack": stack(),
            "rounds": args.rounds}
    write_results(args.out, {"meta": meta, "results": results}, render(results, meta))

if __name__ == "__main__":
    main()

"""Where one objective call's time goes inside training: from the least possible call up to ours.

Run by hand (not in CI):

    python -m benchmarks.speed_floor --rows 200000 --threads 2 1 --cycles 4 --out speed_floor_200k

The goal is ``ours / replay <= 1.03``: the objective's whole cost at
most 3% of a training round. ``speed.py`` measures that ratio; this script
asks what the least call costs, inside training, on the same data and
trees, for Huber(1) (a one-pass loss of two branches and a division, the
cheapest row boostobj has but exponential). Each variant below adds one
step to the one before it, so a row's increment is that step's cost:

- ``touch``: ``speed.py``'s floor (NumPy: one subtraction, one copy; the
  labels cached, not read from the dataset);
- ``minimal``: a compiled Huber row over the cached labels into preallocated
  outputs (numba, one pass): what a hand-tuned objective with no checks and
  no Python around it costs;
- ``+ labels``: ``minimal`` reading the dataset's current labels and
  weights each call (``boostobj.objective._labels_and_weights``: XGBoost's
  ``XGDMatrixGetInfoRef``, LightGBM's ``Dataset.get_label``), as an
  objective must to see ``set_label`` / ``set_weight`` between rounds or
  trainings (continued training on relabelled data, the trap the brief
  forbids); float64 margins (LightGBM's) are read as they come;
- ``+ compare``: also comparing those labels with the cached copy the
  state was built from, in the same pass;
- ``ours``: ``boostobj.huber(1.0)`` as users call it.

Each cell: thread CPU time of one call inside training, median over the
rounds but the first, then the median over cycles; in brackets the
training's wall time over that of a replay (``speed.py``'s: the recorded
gradients returned, nothing computed, same trees) made back to back with
it, median over cycles (variants in turn, the order of variants and of
each pair reversed every other cycle). ``budget``: 3% of one replay round
(wall time over rounds, median): what a call may cost for ``/ replay <=
1.03`` if it cost nothing else (it does: its memory traffic also slows the
framework's next steps, hence the brackets).
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

import numpy as np

HERE = Path(__file__).resolve().parent
import boostobj  # noqa: E402
from benchmarks.speed import LGBRunner, PerCall, Replay, ReplayTouch, XGBRunner, make_data  # noqa: E402
from boostobj.objective import _labels_and_weights  # noqa: E402

RESULTS = HERE / "results" / "speed"

try:
    import numba
except ImportError:  # the compiled rows need numba: say so instead of timing something else
    numba = None


def _kernels():
    @numba.njit(nogil=True)
    def huber_rows(y, m, g, h):
        for i in range(g.shape[0]):
            u = np.float32(m[i] - y[i])
            g[i] = min(max(u, np.float32(-1.0)), np.float32(1.0))
            h[i] = np.float32(1.0) / max(abs(u), np.float32(1.0))

    @numba.njit(nogil=True)
    def huber_rows_compared(y, y_was, m, g, h):
        bad = False
        for i in range(g.shape[0]):
            u = np.float32(m[i] - y[i])
            g[i] = min(max(u, np.float32(-1.0)), np.float32(1.0))
            h[i] = np.float32(1.0) / max(abs(u), np.float32(1.0))
            bad |= y[i] != y_was[i]
        return bad

    return huber_rows, huber_rows_compared


class _ThenReplay(Replay):
    """Does ``work`` (margin, dataset), then returns the recorded round: the replay's trees."""

    def __init__(self, rounds: list, work):
        super().__init__(rounds)
        self.work = work

    def __call__(self, predt, data):
        self.work(predt, data)
        return super().__call__(predt, data)


def variants(y: np.ndarray, rounds: list) -> dict:
    """The five objectives, each a fresh callable (margin, dataset) -> (g, h) per training.

    All but ``ours`` return the recorded round after their work (as
    ``speed.py``'s touch does): every variant then grows the same trees as
    the replay and as ours (whose rounds were recorded), so their trainings
    differ by the call alone. A minimal Huber without boostobj's fixed
    normalisation, or touch's arrays, would grow other trees.
    """
    huber_rows, huber_rows_compared = _kernels()
    cached = np.asarray(y, np.float32).copy()
    g, h = np.empty_like(cached), np.empty_like(cached)
    frozen = cached.copy()
    frozen.flags.writeable = False  # XGBoost's label view is read-only: numba compiles it apart
    for dtype in (np.float32, np.float64):  # compile before any timing
        m = np.zeros(len(cached), dtype)
        for labels in (cached, frozen):
            huber_rows(labels, m, g, h)
            huber_rows_compared(labels, cached, m, g, h)

    def minimal(margin, data):
        huber_rows(cached, margin, g, h)

    def labels(margin, data):
        y_now, _ = _labels_and_weights(data)
        huber_rows(np.asarray(y_now), margin, g, h)

    def compare(margin, data):
        y_now, _ = _labels_and_weights(data)
        if huber_rows_compared(np.asarray(y_now), cached, margin, g, h):
            raise RuntimeError("labels changed")  # they never do here

    ours = boostobj.huber(1.0)
    return {"touch": lambda: ReplayTouch(rounds, y), "minimal": lambda: _ThenReplay(rounds, minimal),
            "+ labels": lambda: _ThenReplay(rounds, labels), "+ compare": lambda: _ThenReplay(rounds, compare),
            "ours": lambda: ours}


def measure(runner, cycles: int) -> dict:
    """Per-call ms and / replay of each variant, and the replay round's ms: medians over cycles."""
    start = float(boostobj.huber(1.0).init_score(runner.y))
    recorder = PerCall(boostobj.huber(1.0))
    runner.train(recorder, start)  # warm-up, and the rounds the replay returns
    fns = variants(runner.y, recorder.rounds)
    calls: dict = {k: [] for k in fns}
    ratios: dict = {k: [] for k in fns}
    rounds: list = []
    for cycle in range(cycles):
        order = list(fns) if cycle % 2 == 0 else list(reversed(fns))
        for name in order:
            # back to back with a replay (which first alternates too): the VM drifts in minutes
            timer = PerCall(fns[name](), record=False)
            pair = [lambda: runner.train(Replay(recorder.rounds), start)[0],
                    lambda: runner.train(timer, start)[0]]
            if cycle % 2:
                pair.reverse()
            first, second = pair[0](), pair[1]()
            replay, ours = (first, second) if cycle % 2 == 0 else (second, first)
            ratios[name].append(ours / replay)
            rounds.append(replay / runner.rounds * 1e3)
            calls[name].append(statistics.median(timer.seconds[1:]) * 1e3)
    out = {k: statistics.median(v) for k, v in calls.items()}
    out.update({f"{k} / replay": statistics.median(v) for k, v in ratios.items()})
    out["replay round"] = statistics.median(rounds)
    out["cycles"] = {"calls": calls, "ratios": ratios, "rounds": rounds}
    return out


def table(results: list) -> str:
    names = ["touch", "minimal", "+ labels", "+ compare", "ours"]
    lines = ["| framework | threads | replay round ms | budget ms (3%) | "
             + " | ".join(f"{n} ms [/ replay]" for n in names) + " |",
             "|---|---:|---:|---:|" + "---:|" * len(names)]
    for r in results:
        lines.append(f"| {r['framework']} | {r['threads']} | {r['replay round']:.2f} | "
                     f"{0.03 * r['replay round']:.3f} | "
                     + " | ".join(f"{r[n]:.3f} [{r[n + ' / replay']:.3f}]" for n in names) + " |")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--rows", type=int, default=200_000)
    ap.add_argument("--threads", type=int, nargs="+", default=[2])
    ap.add_argument("--rounds", type=int, default=50)
    ap.add_argument("--cycles", type=int, default=4)
    ap.add_argument("--frameworks", nargs="+", default=["xgboost", "lightgbm"])
    ap.add_argument("--out", help="results/<name>.md and .json")
    args = ap.parse_args(argv)
    if numba is None:
        print("speed_floor.py needs numba (pip install numba): its minimal row is compiled", file=sys.stderr)
        return 2
    import lightgbm as lgb
    import xgboost as xgb

    t0 = time.perf_counter()
    X, y, _ = make_data(args.rows)
    runners = {"xgboost": XGBRunner, "lightgbm": LGBRunner}
    results = []
    for threads in args.threads:
        for fw in args.frameworks:
            r = measure(runners[fw](X, y, threads, args.rounds), args.cycles)
            r.update(framework=fw, threads=threads)
            results.append(r)
            print(table([r]).splitlines()[-1], flush=True)
    text = (f"# One Huber call inside training, from the least possible call up to ours\n\n"
            f"Generated by `python -m benchmarks.speed_floor {' '.join(argv if argv is not None else sys.argv[1:])}` "
            f"in {time.perf_counter() - t0:.0f} s on {platform.machine()}, {os.cpu_count()} cores: "
            f"Python {platform.python_version()}, XGBoost {xgb.__version__} (hist, depth 6), "
            f"LightGBM {lgb.__version__} (63 leaves), NumPy {np.__version__}, numba {numba.__version__}; "
            f"{args.rounds} rounds on {args.rows:,} x 20 float32 rows, {args.cycles} cycles. "
            f"Load average after: `{' '.join(f'{x:.2f}' for x in os.getloadavg())}`.\n\n"
            f"Variants (each adds one step to the one before; see the script's docstring): `touch` "
            f"(NumPy subtraction and copy, cached labels), `minimal` (compiled Huber row, cached labels, "
            f"no checks), `+ labels` (the dataset's labels read each call), `+ compare` (and compared "
            f"with the cached copy in the pass), `ours` (`boostobj.huber(1.0)`). ms: thread CPU time "
            f"per call inside training, medians; [brackets]: training wall time / a replay's made back to back, "
            f"median over cycles. budget: 3% of a replay round.\n\n{table(results)}\n")
    print(text)
    if args.out:
        RESULTS.mkdir(parents=True, exist_ok=True)
        (RESULTS / f"{args.out}.md").write_text(text)
        (RESULTS / f"{args.out}.json").write_text(json.dumps(results, indent=1))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

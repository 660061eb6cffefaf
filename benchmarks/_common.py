"""What the benchmarks share: the repository's paths and the command line a result records."""

from __future__ import annotations

import argparse
import json
import os
import platform
import sys
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
RESULTS = ROOT / "benchmarks" / "results"  # one folder per benchmark, indexed in its README.md
SPEED = RESULTS / "speed"


def command(module: str, argv: list[str] | None = None) -> str:
    """The command that reruns a benchmark module with these arguments, paths relative to the repository.

    >>> command("quality", ["--only", "quantile", "--out", str(ROOT / "x.md")])
    'python -m benchmarks.quality --only quantile --out x.md'
    """
    args = sys.argv[1:] if argv is None else argv
    return f"python -m benchmarks.{module}" + "".join(" " + str(a).replace(str(ROOT) + "/", "") for a in args)


def stack() -> str:
    """The machine and the versions a result was measured with."""
    import lightgbm
    import numpy
    import xgboost

    import boostobj

    return (f"{platform.machine()}, {os.cpu_count()} cores, Python {platform.python_version()}, boostobj "
            f"{boostobj.__version__}, XGBoost {xgboost.__version__}, LightGBM {lightgbm.__version__}, "
            f"NumPy {numpy.__version__}")


def write_results(out: str, payload: dict, markdown: str, folder: Path = SPEED) -> None:
    """``<folder>/<out>.json`` (the data) and ``<folder>/<out>.md`` (the table), and the table on stdout."""
    folder.mkdir(parents=True, exist_ok=True)
    (folder / f"{out}.json").write_text(json.dumps(payload, indent=1))
    (folder / f"{out}.md").write_text(markdown)
    print(markdown)


def fits_main(module: str, description: str, measure: Any, render: Any, rows: list[int], threads: list[int],
              argv: list[str] | None = None) -> None:
    """The command line of the benchmarks that time whole fits over ``--rows`` and ``--threads``.

    ``measure(rows, threads, rounds, reps)`` gives the results that
    ``render(results, meta)`` turns into the table written to
    ``results/speed/<out>.md`` (``--out``, default the module's name).
    """
    parser = argparse.ArgumentParser(description=description)
    parser.add_argument("--rows", type=int, nargs="+", default=rows)
    parser.add_argument("--threads", type=int, nargs="+", default=threads)
    parser.add_argument("--rounds", type=int, default=100)
    parser.add_argument("--reps", type=int, default=5)
    parser.add_argument("--out", default=module, help="results/<out>.md and .json")
    args = parser.parse_args(argv)
    results = measure(args.rows, args.threads, args.rounds, args.reps)
    meta = {"command": command(module, argv), "date": time.strftime("%Y-%m-%d"), "rounds": args.rounds,
            "reps": args.reps, "stack": stack()}
    write_results(args.out, {"meta": meta, "results": results}, render(results, meta))

"""What the benchmarks share: the repository's paths and the command line a result records."""

from __future__ import annotations

import json
import os
import platform
import sys
from pathlib import Path

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

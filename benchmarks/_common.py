"""What the benchmarks share: the repository's paths and the command line a result records."""

from __future__ import annotations

import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
RESULTS = ROOT / "benchmarks" / "results"


def command(module: str, argv: list[str] | None = None) -> str:
    """The command that reruns a benchmark module with these arguments, paths relative to the repository.

    >>> command("quality", ["--only", "quantile", "--out", str(ROOT / "x.md")])
    'python -m benchmarks.quality --only quantile --out x.md'
    """
    args = sys.argv[1:] if argv is None else argv
    return f"python -m benchmarks.{module}" + "".join(" " + str(a).replace(str(ROOT) + "/", "") for a in args)

"""benchmarks/quality.py stays runnable, and every XGBoost built-in it compares names its version
(issue 11: XGBoost 3.2 and 3.4 differ in their built-in objectives)."""

from __future__ import annotations

from pathlib import Path

import pytest
import xgboost as xgb

from conftest import load_benchmark

SCRIPT = Path(__file__).resolve().parent.parent / "benchmarks" / "quality.py"


@pytest.fixture(scope="module")
def quality():
    yield from load_benchmark(SCRIPT, "quality_bench")


def test_every_xgboost_column_names_the_installed_version(quality, tmp_path):
    out = tmp_path / "quality.md"
    assert quality.main(["--quick", "--datasets", "sinc", "--seeds", "1", "--jobs", "1",
                         "--alphas", "0.5", "--out", str(out)]) == 0
    headers = [line for line in out.read_text().splitlines() if line.startswith("| objective")]
    assert len(headers) == 6  # quantile, huber, log-cosh, exponential, focal, focal multi-class
    compared = [c.strip() for h in headers for c in h.split("|") if c.strip().startswith("XGB ")]
    assert len(compared) == 7
    assert all(c.startswith(f"XGB {xgb.__version__} ") for c in compared), compared

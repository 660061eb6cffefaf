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


def test_the_headline_reports_the_held_out_data_apart(quality):
    def item(dataset, ours_xgb, ours_lgb):
        row = quality.Row("quantile", "quantile α=0.5", dataset, 1.0, "pinball")
        best = [1.0, 1.1, 0.9, 1.0, 1.0]
        return {"row": row, "best": "LGB quantile",
                "verdicts": {quality.OURS[0]: quality.verdict(ours_xgb, best),
                             quality.OURS[1]: quality.verdict(ours_lgb, best)}}
    good, bad = [0.9, 1.0, 0.8, 0.9, 0.9], [2.0, 2.1, 1.9, 2.0, 2.0]
    items = [item("engel", good, bad), item("randhie", bad, bad), item("sinc", good, good)]
    text = quality.headline({"quantile": items})
    assert "ours on XGBoost: 2/3 rows meet the goal" in text
    assert ("on the data held out of all tuning (engel, randhie) 1/2 / 0/2; on the rest 1/1 / 1/1"
            in text)
    # a section without held-out rows gets no such line
    assert "held out" not in quality.headline({"huber": [item("sinc", good, bad)]})


def test_the_results_header_gives_the_command_as_run(quality):
    assert quality._command(["--only", "quantile", "--out", str(quality.ROOT / "x.md")]) == \
        "python benchmarks/quality.py --only quantile --out x.md"

"""benchmarks/quality.py stays runnable, and every XGBoost built-in it compares names its version
(XGBoost 3.2 and 3.4 differ in their built-in objectives)."""

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
        "python -m benchmarks.quality --only quantile --out x.md"


def test_the_goal_is_applied_to_every_model_against_the_others(quality):
    def item(values, case="quantile α=0.5"):
        row = quality.Row("quantile", case, "sinc", 1.0, "pinball")
        row.values = values
        return {"row": row}
    o_x, o_l = quality.OURS
    # row 1: LGB beats every compared model; ours XGBoost beats LGB; GBR is far behind
    # row 2: GBR is best; the built-in LGB trails it clearly, ours LightGBM ties it
    rows = [item({o_x: [0.8, 0.81, 0.79], o_l: [1.5, 1.5, 1.5], "LGB quantile": [0.9, 0.91, 0.89],
                  "sklearn GBR quantile": [2.0, 2.0, 2.1]}),
            item({o_x: [3.0, 3.0, 3.1], o_l: [1.01, 1.0, 1.02], "LGB quantile": [1.5, 1.6, 1.5],
                  "sklearn GBR quantile": [1.0, 1.01, 1.0]}),
            item({o_x: [9.0] * 3, o_l: [9.0] * 3, "LGB quantile": [9.0] * 3,
                  "sklearn GBR quantile": [9.0] * 3}, case=quality.focal_case(0.0))]  # a control row: not counted
    got = {m: (a, b, n) for m, a, b, n in quality.goal_for_every_model(rows)}
    assert got[o_x] == (1, 1, 2)
    assert got[o_l] == (1, 1, 2)  # a tie with GBR on row 2
    # LGB is best of the compared models on row 1, but not once ours XGBoost counts
    assert got["LGB quantile"] == (1, 0, 2)
    assert got["sklearn GBR quantile"] == (1, 1, 2)  # row 2: best of all, ours LightGBM ties it
    assert "| LGB quantile | 1/2 | 0/2 |" in quality.goal_table(rows)

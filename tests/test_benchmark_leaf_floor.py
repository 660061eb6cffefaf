"""benchmarks/quantile_leaf_floor.py stays runnable and swaps the leaf floors it says it swaps."""

from __future__ import annotations

import math
from pathlib import Path

import pytest

from conftest import load_benchmark

SCRIPT = Path(__file__).resolve().parent.parent / "benchmarks" / "quantile_leaf_floor.py"


@pytest.fixture(scope="module")
def floor():
    yield from load_benchmark(SCRIPT, "quantile_leaf_floor_bench")


def test_each_column_is_the_model_it_names(floor):
    cfg = floor.quality.Config(rounds=3)
    made = {name: make() for name, make in floor.models(cfg, 0, 0.05).items()}
    xgb_default, xgb_floor = made["ours XGB"].get_params(), made["ours XGB, min_child_weight 20, reg_lambda 0"].get_params()
    assert xgb_default["min_child_weight"] is None and xgb_floor["min_child_weight"] == 20
    assert xgb_floor["reg_lambda"] == 0 and xgb_floor["max_depth"] == xgb_default["max_depth"] == 3
    lgb_floor = made["ours LGB, min_child_samples 1"].get_params()
    assert lgb_floor["min_child_samples"] == 1 and made["ours LGB"].get_params()["min_child_samples"] == 20
    assert made["LGB quantile"].get_params()["alpha"] == 0.05
    assert all(m.get_params().get("n_estimators") == 3 for m in made.values())


def test_a_tiny_run_writes_one_row_per_case(floor, tmp_path, monkeypatch):
    monkeypatch.setattr(floor, "RESULTS", tmp_path)
    monkeypatch.setattr(floor, "CASES", [("heteroscedastic", 0.05), ("diabetes", 0.95)])
    floor.main(["--seeds", "1", "--rounds", "3", "--out", "tiny"])
    rows = [line for line in (tmp_path / "tiny.md").read_text().splitlines()
            if line.startswith("| heteroscedastic") or line.startswith("| diabetes")]
    assert len(rows) == 2
    for line in rows:
        cells = line.strip("|").split("|")[2:]
        assert len(cells) == 7
        ratios = [float(c.split("(")[1].rstrip(") ")) for c in cells]
        assert all(math.isfinite(r) and r >= 1.0 for r in ratios) and min(ratios) == 1.0


def test_the_grid_chooses_between_the_two_floors_by_cross_validation(floor):
    cfg = floor.quality.Config(rounds=3)
    made = {name: make() for name, make in floor.grid_models(cfg, 0, 0.01).items()}
    xgb_cv, lgb_cv = made[floor.XGB_CV], made[floor.LGB_CV]
    assert [g["min_child_weight"] for g in xgb_cv.param_grid] == [[None], [20]]
    assert [g["reg_lambda"] for g in xgb_cv.param_grid] == [[None], [0]]
    assert lgb_cv.param_grid == {"min_child_samples": [20, 1]}
    assert xgb_cv.estimator.objective.base_loss.alpha == 0.01 and xgb_cv.cv.n_splits == 3
    assert made[floor.XGB_FLOOR].get_params()["min_child_weight"] == 20


def test_the_grid_counts_each_column_the_oracles_and_any(floor):
    q = floor.quality
    store = q.Store()
    compared = {"LGB quantile": [1.0, 1.0, 1.0], "sklearn GBR quantile": [1.2, 1.2, 1.2]}
    # row a: only XGBoost's swapped floor meets the goal; row b: only ours LightGBM's default; row c: none
    cells = {"a": {q.OURS[0]: 1.3, q.OURS[1]: 1.3, floor.XGB_FLOOR: 0.9, floor.LGB_FLOOR: 1.3},
             "b": {q.OURS[0]: 1.3, q.OURS[1]: 0.95, floor.XGB_FLOOR: 1.3, floor.LGB_FLOOR: 1.3},
             "c": {q.OURS[0]: 1.3, q.OURS[1]: 1.3, floor.XGB_FLOOR: 1.3, floor.LGB_FLOOR: 1.3}}
    for name, ours in cells.items():
        row = store.row("quantile", "quantile α=0.01", name, 1.0, "pinball")
        row.values = {**compared, **{k: [v, v + 0.01, v - 0.01] for k, v in ours.items()}}
    counts, words, n = floor.grid_counts(store)
    assert n == 3
    assert counts[q.OURS[0]] == 0 and counts[floor.XGB_FLOOR] == 1 and counts[q.OURS[1]] == 1
    assert counts["ours XGB, per-row best floor (oracle)"] == 1
    assert counts["ours LGB, per-row best floor (oracle)"] == 1
    assert counts["any of ours' columns"] == 2
    assert words[("quantile", "quantile α=0.01", "a", 1.0, "pinball")][floor.XGB_FLOOR] == "0.900 yes"

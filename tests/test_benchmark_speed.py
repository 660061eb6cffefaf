"""benchmarks/speed.py stays runnable, and its replay floor really replays our gradients."""

from __future__ import annotations

import math
import sys
from pathlib import Path

import numpy as np
import pytest
import xgboost as xgb

import boostobj
from boostobj import _compiled

from conftest import load_benchmark

SCRIPT = Path(__file__).resolve().parent.parent / "benchmarks" / "speed.py"


@pytest.fixture(scope="module")
def speed():
    yield from load_benchmark(SCRIPT, "speed_bench")


def test_replay_trains_the_same_model_as_ours(speed):
    """The floor is only our overhead if the replayed training grows the identical trees."""
    X, y, _ = speed.make_data(2000)
    runner = speed.XGBRunner(X, y, threads=1, rounds=5)
    obj = boostobj.huber(1.0)
    start = obj.init_score(y)
    rec = speed.PerCall(obj)
    params = {**runner.params, "base_score": start, "disable_default_eval_metric": 1}
    ours = xgb.train(params, runner.data, 5, obj=rec)
    replayed = xgb.train(params, runner.data, 5, obj=speed.Replay(rec.rounds))
    touched = xgb.train(params, runner.data, 5, obj=speed.ReplayTouch(rec.rounds, y))
    np.testing.assert_array_equal(ours.predict(runner.data), replayed.predict(runner.data))
    np.testing.assert_array_equal(ours.predict(runner.data), touched.predict(runner.data))
    assert len(rec.seconds) == len(rec.rounds) == 5
    naive = speed.PerCall(speed._naive("huber(1)")[0], record=False)
    xgb.train(params, runner.data, 5, obj=naive)
    assert len(naive.seconds) == 5 and not naive.rounds


def test_paired_statistics(speed):
    assert speed._quartiles([1.0, 3.0]) == (1.0, 3.0)
    lo, hi = speed._quartiles([1.0, 2.0, 3.0, 4.0, 5.0])
    assert lo < 3.0 < hi
    row = {"times": {"replay": [(1.0, 1.0), (1.5, 1.4), (0.75, 0.8)]}}
    assert speed._spread([row]) == 2.0


def test_a_tiny_run_writes_a_table(speed, tmp_path, monkeypatch):
    monkeypatch.setattr(speed, "RESULTS", tmp_path)
    monkeypatch.setattr(sys, "argv", ["speed.py", "--rows", "3000", "--threads", "1", "--reps", "2",
                                      "--rounds", "3", "--losses", "quantile(0.9)", "--out", "tiny"])
    speed.main()
    text = (tmp_path / "tiny.md").read_text()
    rows = [line for line in text.splitlines() if line.startswith("| xgboost") or line.startswith("| lightgbm")]
    assert len(rows) == 2
    for line in rows:
        ratio = float(line.split("|")[3].split()[0])  # ours / replay, paired median
        assert math.isfinite(ratio) and ratio > 0


def test_the_paired_benchmark_runs_each_checkout_in_its_own_process(tmp_path, monkeypatch):
    """benchmarks/speed_paired.py: a process per checkout and cycle, each timing every loss on the
    boostobj it was pointed at (here this checkout, twice), and a table of the per-cycle values."""
    loaded = load_benchmark(SCRIPT.parent / "speed_paired.py", "speed_paired_bench")
    paired = next(loaded)
    try:
        monkeypatch.setattr(paired, "RESULTS", tmp_path)
        root = str(SCRIPT.parent.parent)
        monkeypatch.setattr(sys, "argv", ["speed_paired.py", "--a", root, "--b", root, "--rows", "2000",
                                          "--threads", "1", "--rounds", "3", "--cycles", "2",
                                          "--losses", "focal(2)", "huber(1)", "--out", "tiny"])
        paired.main()
        text = (tmp_path / "tiny.md").read_text()
        rows = [line.split("|") for line in text.splitlines() if line.startswith(("| xgboost", "| lightgbm"))]
        assert len(rows) == 4
        for cells in rows:
            per_cycle_a, per_cycle_b = cells[3].split(), cells[4].split()
            assert len(per_cycle_a) == len(per_cycle_b) == 2
            assert all(float(v) > 0 for v in per_cycle_a + per_cycle_b)
            assert float(cells[7]) > 0 and float(cells[10]) > 0  # b / a: of the medians, of the fastest
    finally:
        next(loaded, None)



@pytest.mark.skipif(not _compiled.ENABLED, reason="both changes are in the compiled pass (numba)")
@pytest.mark.parametrize("change", ["compared_labels", "plain_rows"])
def test_the_in_process_benchmark_times_both_variants_and_restores_the_change(change):
    """benchmarks/speed_inprocess.py: each variant trains every cycle (the 'before' really is the
    old behaviour), and the change is back in place afterwards."""
    loaded = load_benchmark(SCRIPT.parent / "speed_inprocess.py", "speed_inprocess_bench")
    bench = next(loaded)
    try:
        owner, attr, before, losses = bench.CHANGES[change]
        after = owner.__dict__[attr]
        seen = []
        first = dict([next(iter(losses.items()))])  # one loss: the loop is the same for each
        if change == "plain_rows":  # the before variant's passes all multiply
            def spy(self, *args, **kwargs):
                before(self, *args, **kwargs)
                seen.append(self._plain)
            bench.CHANGES[change] = (owner, attr, spy, first)
        else:
            bench.CHANGES[change] = (owner, attr, before, first)
        losses = first
        data = bench.run(change, rows=2000, threads=1, rounds=3, cycles=2)
        assert owner.__dict__[attr] is after
        if change == "plain_rows":
            assert seen and not any(seen)
        assert set(data) == {f"{f} {loss}" for f in ("xgboost", "lightgbm") for loss in losses}
        for cell in data.values():
            assert len(cell["after"]) == len(cell["before"]) == 2
            assert all(math.isfinite(v) and v >= 0 for v in cell["after"] + cell["before"])
        meta = {"command": "c", "change": change, "machine": "m", "python": "3", "xgboost": "x",
                "lightgbm": "l", "rows": 2000, "threads": 1, "rounds": 3, "cycles": 2, "commit": "abc"}
        table = bench.render(data, meta)
        assert table.count("| xgboost |") == table.count("| lightgbm |") == len(losses)
        assert "/2 cycles |" in table
    finally:
        next(loaded, None)


@pytest.mark.parametrize("loss", ["exponential", "hinge", "modified_huber"])
def test_the_naive_binary_objectives_compute_the_same_loss_as_ours(speed, loss):
    """The naive NumPy baseline must be the same loss, or its time compares nothing."""
    rng = np.random.default_rng(6)
    y = (rng.random(3000) < 0.4).astype(np.float32)
    m = rng.normal(scale=2.0, size=3000).astype(np.float32)
    d = xgb.DMatrix(np.zeros((3000, 1)), y)
    g_naive, h_naive = speed._naive(loss)[0](m, d)
    g, h = speed.LOSSES[loss][0]().grad_hess(y, m)
    np.testing.assert_allclose(g_naive, g, rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(h_naive, h, rtol=1e-5, atol=1e-6)


@pytest.fixture(scope="module")
def speed_floor():
    yield from load_benchmark(SCRIPT.parent / "speed_floor.py", "speed_floor_bench")


@pytest.mark.skipif(not _compiled.ENABLED, reason="speed_floor's minimal row is compiled (numba)")
def test_every_floor_variant_grows_the_replays_trees_and_does_its_work(speed_floor):
    """Each variant's training differs from the replay by its call alone (same trees as ours), and
    the minimal row it times is Huber(1)'s: a faster row computing something else would be no floor."""
    X, y, _ = speed_floor.make_data(2000)
    runner = speed_floor.XGBRunner(X, y, threads=1, rounds=4)
    ours = boostobj.huber(1.0)
    params = {**runner.params, "base_score": ours.init_score(y), "disable_default_eval_metric": 1}
    rec = speed_floor.PerCall(ours)
    expected = xgb.train(params, runner.data, 4, obj=rec).predict(runner.data)
    fns = speed_floor.variants(y, rec.rounds)
    assert list(fns) == ["touch", "minimal", "+ labels", "+ compare", "ours"]
    for name, make in fns.items():
        got = xgb.train(params, runner.data, 4, obj=make()).predict(runner.data)
        np.testing.assert_array_equal(got, expected, err_msg=name)
    m = np.random.default_rng(1).normal(size=len(y)) * 3
    g, h = np.empty(len(y), np.float32), np.empty(len(y), np.float32)
    speed_floor._kernels()[0](y.astype(np.float32), m, g, h)
    u = (m - y).astype(np.float32)
    np.testing.assert_allclose(g, np.clip(u, -1, 1), rtol=1e-6)
    np.testing.assert_allclose(h, 1 / np.maximum(np.abs(u), 1), rtol=1e-6)


@pytest.mark.skipif(not _compiled.ENABLED, reason="speed_floor's minimal row is compiled (numba)")
def test_a_tiny_floor_run_writes_its_table(speed_floor, tmp_path, monkeypatch):
    monkeypatch.setattr(speed_floor, "RESULTS", tmp_path)
    speed_floor.main(["--rows", "3000", "--threads", "1", "--rounds", "3", "--cycles", "2", "--out", "tiny"])
    rows = [line for line in (tmp_path / "tiny.md").read_text().splitlines()
            if line.startswith("| xgboost") or line.startswith("| lightgbm")]
    assert len(rows) == 2
    for line in rows:
        cells = line.split("|")[5:10]  # the five variants: "ms [ratio]"
        for cell in cells:
            ms, ratio = cell.split()
            assert float(ms) > 0 and math.isfinite(float(ratio.strip("[]")))

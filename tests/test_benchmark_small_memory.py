"""benchmarks/speed_small.py, speed_steps.py, speed_memory.py and import_time.py: runnable, measuring what they say."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest
from conftest import load_benchmark

BENCH = Path(__file__).resolve().parent.parent / "benchmarks"


@pytest.fixture(scope="module")
def small():
    yield from load_benchmark(BENCH / "speed_small.py")


@pytest.fixture(scope="module")
def steps():
    yield from load_benchmark(BENCH / "speed_steps.py")


@pytest.fixture(scope="module")
def memory():
    yield from load_benchmark(BENCH / "speed_memory.py")


@pytest.fixture(scope="module")
def imports():
    yield from load_benchmark(BENCH / "import_time.py")


def test_small_data_times_every_variant_and_renders_the_ratios(small):
    results = small.measure([300], [1], rounds=3, reps=1)
    keys = {(r["framework"], r["loss"], r["variant"]) for r in results}
    assert ("lightgbm", "quantile(0.9)", "drop-in, no refit") in keys
    assert ("xgboost", "huber(1)", "drop-in, no refit") not in keys  # huber has no refit
    assert all(r["ms"] > 0 for r in results) and len(results) == 2 * (5 + 4)
    table = small.render(results, {"command": "c", "date": "d", "stack": "s", "rounds": 3, "reps": 1})
    rows = [line for line in table.splitlines() if line.startswith("| 300 |")]
    assert len(rows) == 4 and all(line.count("|") == 13 for line in rows)
    ms = {(r["framework"], r["loss"], r["variant"]): r["ms"] for r in results}
    for row in rows:
        framework, loss, *cells = [c.strip() for c in row.strip("|").split("|")][2:]
        if loss.startswith("quantile"):  # the refit's share of the drop-in's fit
            share = 1 - ms[framework, loss, "drop-in, no refit"] / ms[framework, loss, "drop-in"]
            assert float(cells[-1]) == pytest.approx(share, abs=0.006)
        else:
            assert cells[-1] == ""


def test_the_refit_variant_really_refits(small, monkeypatch):
    """'drop-in' takes the leaf refit and 'drop-in, no refit' does not: the refit's callback runs only there."""
    from boostobj.leaf_refit import _lightgbm

    calls = []
    real = _lightgbm.LeafRefit._refit
    monkeypatch.setattr(_lightgbm.LeafRefit, "_refit", lambda self, i: (calls.append(i), real(self, i))[1])
    X, y = small.make_data(300)
    small.fit("lightgbm", "quantile(0.9)", "drop-in, no refit", X, y, 1, 3)
    assert calls == []
    small.fit("lightgbm", "quantile(0.9)", "drop-in", X, y, 1, 3)
    assert calls == [0, 1, 2]


@pytest.mark.parametrize("framework", ["xgboost", "lightgbm"])
def test_steps_time_the_refit_inside_a_fit_and_leave_every_function_as_it_was(steps, framework):
    """Each step's timer sees its calls (the refit once a round), the steps add up to no more than the
    fit, and the functions it wrapped are the originals again afterwards."""
    wrapped = [(owner, name, owner.__dict__[name] if isinstance(owner, type) else getattr(owner, name))
               for _, owner, name in steps.STEPS[framework]]
    got = steps.measure_one(framework, 300, 1, rounds=4, reps=2)
    assert got["calls_per_fit"]["leaf refit, per round"] == 4
    assert got["calls_per_fit"]["  objective call"] >= 4
    assert got["steps"]["leaf refit, per round"] > 0 and got["steps"]["update (tree growth)"] > 0
    top = [label for label, _, _ in steps.STEPS[framework] if not label.startswith(" ")]
    total = sum(got["steps"][k] for k in top) + got["steps"]["  objective call"] + got["steps"]["rest of the fit"]
    assert total == pytest.approx(1e3 * got["fit_ms"] / 4, rel=1e-9)  # per round, in microseconds
    assert got["steps"]["rest of the fit"] > 0  # no step counted twice
    for owner, name, fn in wrapped:
        assert (owner.__dict__[name] if isinstance(owner, type) else getattr(owner, name)) is fn
    table = steps.render([got], {"command": "c", "date": "d", "stack": "s", "rounds": 4, "reps": 2})
    assert f"| {framework} | 300 rows, 1 thr. |" in table and "leaves' quantiles" in table


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="peak RSS from /proc")
def test_memory_worker_measures_the_fits_peak_above_the_data(memory):
    small = memory.worker("lightgbm boostobj", 20_000, 2)
    assert small["above_mb"] >= 0 and small["before_mb"] > 0
    table = memory.render([{"variant": "v", "rows": n, "above_mb": mb, "before_mb": 1.0, "seconds": 1.0}
                           for n, mb in ((1_000_000, 100.0), (3_000_000, 300.0))],
                          {"command": "c", "date": "d", "stack": "s", "rounds": 5})
    # 200 MB over 2M rows: 104.9 bytes a row (MB = 2**20 bytes), intercept 0
    assert "| v | 100 | 300 | 105 | 0 | 1.0 |" in table


def test_import_time_renders_what_it_measured(imports):
    data = {"import_s": 0.05, "import_added": ["boostobj"],
            "first_call": {"huber": {"compiled_s": 1.5, "cached_s": 0.5, "warm_ms": 0.1}}}
    table = imports.render(data, {"command": "c", "date": "d", "stack": "s", "runs": 3})
    assert "**0.050 s**" in table and "| huber | 1.50 | 0.50 | 0.100 |" in table
    took, added = imports._run(imports.IMPORT)
    assert 0 < took < 30 and "numba" not in added
    first_two, next_one = imports._run(imports.FIRST_REFIT)  # the refit's passes run as written
    assert first_two > next_one > 0

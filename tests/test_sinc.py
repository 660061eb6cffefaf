"""The sinc(x) experiment (experiments/sinc.py): data generator, a tiny end-to-end run, the CLI."""

from __future__ import annotations

import csv
import importlib.util
import math
import sys
from pathlib import Path

import numpy as np
import pytest

_PATH = Path(__file__).resolve().parents[1] / "experiments" / "sinc.py"


def _load():
    # experiments/ is not a package; load the script as a module (registered,
    # so dataclasses can resolve its string annotations).
    if "boostobj_sinc_experiment" in sys.modules:
        return sys.modules["boostobj_sinc_experiment"]
    spec = importlib.util.spec_from_file_location("boostobj_sinc_experiment", _PATH)
    mod = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = mod
    spec.loader.exec_module(mod)
    return mod


sinc = _load()


def test_true_function_is_unnormalised_sinc():
    x = np.array([-7.5, -np.pi, -1.0, 0.0, 0.5, np.pi, 2.0])
    f = sinc.true_function(x)
    assert f[3] == 1.0                                  # the limit at 0, no NaN
    nz = x != 0
    np.testing.assert_allclose(f[nz], np.sin(x[nz]) / x[nz], rtol=1e-12, atol=1e-15)
    assert abs(f[np.argmax(x == np.pi)]) < 1e-12      # sin(pi)/pi = 0 ...
    assert abs(np.sinc(np.pi) - f[np.argmax(x == np.pi)]) > 0.01   # ... which np.sinc(pi) is not


def test_make_data_noise_and_impulses():
    n, p, amp, sigma = 40_000, 0.1, 2.0, 0.2
    d = sinc.make_data(n, 7, sigma=sigma, p=p, amplitude=amp, x_low=-10, x_high=10)
    assert d.x.min() >= -10 and d.x.max() <= 10
    np.testing.assert_array_equal(d.f, np.sinc(d.x / np.pi))
    # impulse fraction near p: 4 binomial sds is about 0.006 here
    assert abs(d.impulse.mean() - p) < 4 * math.sqrt(p * (1 - p) / n)
    eps = d.y - d.f - amp * d.impulse
    assert abs(eps.std() - sigma) < 0.01 and abs(eps.mean()) < 0.01
    # the same seed without impulses: same x and Gaussian noise (the paired scenarios)
    g = sinc.make_data(n, 7, sigma=sigma, p=0.0, amplitude=amp, x_low=-10, x_high=10)
    assert not g.impulse.any()
    np.testing.assert_array_equal(g.x, d.x)
    np.testing.assert_allclose(d.y - g.y, amp * d.impulse)


@pytest.mark.parametrize("kw", [dict(p=1.5), dict(sigma=-0.1), dict(x_low=1.0, x_high=1.0)])
def test_make_data_rejects_bad_arguments(kw):
    args = dict(sigma=0.2, p=0.1, amplitude=2.0) | kw
    with pytest.raises(ValueError):
        sinc.make_data(10, 0, **args)


def test_tiny_run_writes_figures_tables_and_checks(tmp_path, capsys):
    cfg = sinc.Config(n_train=120, n_test=200, n_grid=50, seeds=1, sweep_seeds=1, n_estimators=5, max_depth=2)
    res, summary, checks = sinc.run(cfg, tmp_path, quiet=True)
    for name in ("sinc_fig1.png", "sinc_fig1.pdf", "sinc_intervals.png", "sinc_intervals.pdf",
                 "sinc_sweep.png", "sinc_sweep.pdf", "metrics.md", "metrics.csv", "checks.txt", "run.json",
                 "sweep.md", "sweep.csv"):
        assert (tmp_path / name).stat().st_size > 0, name
    # every model x scenario x backend summarised, and the checks computed with numbers
    n_models = len(sinc.model_specs()) + len(sinc.INTERVAL_KEYS)
    assert len(summary) == n_models * 2 * 2
    assert {s["device"] for s in summary} == {"cpu"}
    assert sorted({c.observation for c in checks}) == [1, 2, 3, 4]
    n_sweep = 2 * len(sinc.SWEEP_AMPLITUDES)            # one sweep check per backend x impulse size
    assert len(checks) == 2 + 2 + 4 + 4 + n_sweep
    assert sum(c.detail.startswith("sweep/") for c in checks) == n_sweep
    assert all(isinstance(c.passed, bool) and any(ch.isdigit() for ch in c.detail) for c in checks)
    out = capsys.readouterr().out
    assert all(c.line() in out for c in checks) and "elapsed:" in out and "sweep: 3 impulse sizes" in out
    assert (tmp_path / "checks.txt").read_text().count("\n") == len(checks)
    md = (tmp_path / "metrics.md").read_text()
    assert "Huber δ=1" in md and "90% interval, conformal" in md and "p=0.1 x +1" in md
    assert md.count("PASS (") + md.count("FAIL (") == len(checks)


def test_sweep_tables_hold_every_fit(tmp_path):
    # The sweep's output: one CSV row per (backend, impulse size, fit), delta = ratio x A,
    # RMSEs that are real numbers, and a Markdown row per (backend, impulse size).
    cfg = sinc.Config(n_train=120, n_grid=50, sweep_seeds=2, n_estimators=5, max_depth=2, backends=("lightgbm",))
    grid = np.linspace(cfg.x_low, cfg.x_high, cfg.n_grid)
    rows = sinc.run_sweep(cfg, grid, {"lightgbm": "cpu"}, progress=False)
    assert len(rows) == 2 * len(sinc.SWEEP_AMPLITUDES) * (2 + len(sinc.SWEEP_RATIOS))
    summary = sinc.summarize(rows, sinc.SWEEP_KEYS)
    assert {s["n_seeds"] for s in summary} == {2}
    checks = sinc.check_sweep(summary, backends=cfg.backends)
    paths = sinc.write_sweep(summary, checks, cfg, tmp_path)
    with paths[1].open() as fh:
        table = list(csv.DictReader(fh))
    assert len(table) == len(sinc.SWEEP_AMPLITUDES) * (2 + len(sinc.SWEEP_RATIOS))
    huber = [r for r in table if r["model"] == "huber"]
    assert {float(r["ratio"]) for r in huber} == set(sinc.SWEEP_RATIOS)
    for r in huber:
        assert float(r["delta"]) == pytest.approx(float(r["ratio"]) * float(r["amplitude"]))
    assert all(r["ratio"] == r["delta"] == "" for r in table if r["model"] != "huber")
    assert all(0 < float(r["rmse_mean"]) < 10 and float(r["rmse_sd"]) >= 0 for r in table)
    md = paths[0].read_text()
    assert md.count("| lightgbm |") == len(sinc.SWEEP_AMPLITUDES) and "δ = 0.125·A" in md
    assert md.count("PASS (2)") + md.count("FAIL (2)") == len(sinc.SWEEP_AMPLITUDES)


def test_sweep_shows_the_condition_on_strong_impulses():
    # The sweep's claim, measured at reduced size: with impulses of 2 and 5 (well above the
    # noise), Huber with delta >= A is the L2 fit and delta <= A/2 has moved toward L1.
    cfg = sinc.Config(n_train=300, n_grid=100, sweep_seeds=1, n_estimators=30, backends=("lightgbm",))
    grid = np.linspace(cfg.x_low, cfg.x_high, cfg.n_grid)
    rows = sinc.run_sweep(cfg, grid, {"lightgbm": "cpu"}, progress=False, amplitudes=(2.0, 5.0))
    summary = sinc.summarize(rows, sinc.SWEEP_KEYS)
    checks = sinc.check_sweep(summary, backends=cfg.backends)
    assert len(checks) == 2 and all(c.passed for c in checks), [c.line() for c in checks]
    rmse = {(s["amplitude"], s["model"], s["ratio"]): s["rmse_mean"] for s in summary}
    for a in (2.0, 5.0):
        assert rmse[(a, "huber", 2.0)] == pytest.approx(rmse[(a, "l2", None)], abs=1e-3)
        assert rmse[(a, "huber", 0.125)] < rmse[(a, "huber", 0.5)] < rmse[(a, "huber", 1.0)]


@pytest.mark.parametrize("rmse, ok", [
    ({4.0: 0.30, 2.0: 0.29, 1.0: 0.28}, True),     # all delta >= A=1, all at L2 (0.30)
    ({4.0: 0.30, 2.0: 0.25, 1.0: 0.20}, False),    # delta >= A but moved: not insensitive
    ({4.0: 0.30, 0.5: 0.15}, True),                # delta = A/2 closed 0.75 of the gap
    ({4.0: 0.30, 0.5: 0.29}, False),               # delta = A/2 did not move
    ({0.75: 0.12}, False),                         # only the transition zone: nothing to test
])
def test_huber_delta_claim(rmse, ok):
    # L2 0.30, L1 0.10: gap 0.20, band 0.2 x gap = 0.04; impulse size 1.
    passed, detail = sinc.huber_delta_claim(rmse, 0.30, 0.10, amplitude=1.0)
    assert passed is ok, detail
    assert sinc.huber_delta_claim({1.0: 0.1}, 0.10, 0.10, 1.0)[0] is False   # no gap: nothing to be robust to


def test_coincidence_note_names_the_curve_underneath():
    x = np.linspace(0, 1, 200)
    base = np.sin(6 * x)
    spike = base.copy()
    spike[100] += 0.5                     # one step apart: close on average, not everywhere
    others = [("far", base + 1.0), ("L2", base)]
    assert sinc.coincidence_note(base + 0.004, others) == " on L2, max|Δ| 0.004"
    assert sinc.coincidence_note(spike, others) == " near L2, mean|Δ| 0.003"
    assert sinc.coincidence_note(base + 0.3, others) == ""
    assert sinc.coincidence_note(base, []) == ""


def test_checks_flag_a_failure():
    # Synthetic summary where the impulses move L1 as much as L2, Huber moves with delta although
    # every delta is >= the impulse size, and the levels and coverage are off: every check FAILs.
    rows = []
    for b in sinc.BACKENDS:
        for s in ("gaussian", "impulse"):
            rmse = {"l2": 0.1, "l1": 0.05, "log_cosh": 0.1, "huber_4": 0.1, "huber_2": 0.1, "huber_1": 0.1}
            if s == "impulse":
                rmse = {"l2": 0.3, "l1": 0.2, "log_cosh": 0.3, "huber_4": 0.3, "huber_2": 0.25, "huber_1": 0.2}
            for key, v in rmse.items():
                rows.append(dict(scenario=s, backend=b, model=key, device="cpu", seed=0,
                                 rmse=v, level=0.7, fit_time_s=0.0))
            for a in sinc.QUANTILE_ALPHAS:
                if a != 0.5:
                    rows.append(dict(scenario=s, backend=b, model=sinc.quantile_key(a), device="cpu",
                                     seed=0, level=a + 0.1, fit_time_s=0.0))
            for key in sinc.INTERVAL_KEYS:
                rows.append(dict(scenario=s, backend=b, model=key, device="cpu", seed=0,
                                 coverage=0.8, width=1.0, fit_time_s=0.0))
    checks = sinc.check_observations(sinc.summarize(rows), amplitude=1.0)
    assert sorted({c.observation for c in checks}) == [1, 2, 3, 4]
    assert not any(c.passed for c in checks), [c.line() for c in checks if c.passed]


@pytest.mark.parametrize("argv", [["--sigma", "-1"], ["--p", "2"], ["--seeds", "0"], ["--sweep-seeds", "-1"],
                                  ["--backend", "catboost"],
                                  ["--device", "tpu"], ["--n-train", "10"], ["--x-range", "5", "1"],
                                  ["--learning-rate", "abc"]])
def test_cli_rejects_bad_input(argv, capsys):
    with pytest.raises(SystemExit) as exc:
        sinc.parse_config(argv)
    assert exc.value.code == 2
    assert "error:" in capsys.readouterr().err


def test_cli_defaults_and_help(capsys):
    cfg, out, quiet = sinc.parse_config([])
    assert cfg == sinc.Config() and out == Path("results/sinc") and not quiet
    # amplitude 1: the paper's xi ~ Bern(p) read literally; the sweep runs by default
    assert (cfg.n_train, cfg.sigma, cfg.p, cfg.amplitude, cfg.seeds, cfg.sweep_seeds) == (1000, 0.2, 0.1, 1.0, 5, 3)
    assert sinc.parse_config(["--sweep-seeds", "0", "--amplitude", "2"])[0].sweep_seeds == 0
    with pytest.raises(SystemExit):
        sinc.parse_config(["--help"])
    text = " ".join(capsys.readouterr().out.split())
    assert "[assumption]" in text and "[substitution]" in text and "default: 1000" in text
    assert "Bern(p) takes the values 0 and 1" in text and "With 2 the impulses" in text
    assert "--sweep-seeds" in text


def test_default_data_has_unit_impulses():
    # The new default: impulses of exactly +1 on top of sin(x)/x + Gaussian noise.
    cfg = sinc.Config()
    d = sinc.make_data(2000, [0, 0], sigma=cfg.sigma, p=cfg.p, amplitude=cfg.amplitude)
    g = sinc.make_data(2000, [0, 0], sigma=cfg.sigma, p=0.0, amplitude=cfg.amplitude)
    assert 0 < d.impulse.sum() < 2000
    np.testing.assert_allclose(d.y - g.y, d.impulse.astype(float), atol=1e-12)

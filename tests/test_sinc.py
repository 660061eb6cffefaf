"""The sinc(x) experiment (experiments/sinc.py): data generator, a tiny end-to-end run, the CLI."""

from __future__ import annotations

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
    cfg = sinc.Config(n_train=120, n_test=200, n_grid=50, seeds=1, n_estimators=5, max_depth=2)
    res, summary, checks = sinc.run(cfg, tmp_path, quiet=True)
    for name in ("sinc_fig1.png", "sinc_fig1.pdf", "sinc_intervals.png", "sinc_intervals.pdf",
                 "metrics.md", "metrics.csv", "checks.txt", "run.json"):
        assert (tmp_path / name).stat().st_size > 0, name
    # every model x scenario x backend summarised, and the checks computed with numbers
    n_models = len(sinc.model_specs()) + len(sinc.INTERVAL_KEYS)
    assert len(summary) == n_models * 2 * 2
    assert {s["device"] for s in summary} == {"cpu"}
    assert sorted({c.observation for c in checks}) == [1, 2, 3, 4]
    assert len(checks) == 2 + 2 + 4 + 4
    assert all(isinstance(c.passed, bool) and any(ch.isdigit() for ch in c.detail) for c in checks)
    out = capsys.readouterr().out
    assert all(c.line() in out for c in checks) and "elapsed:" in out
    assert (tmp_path / "checks.txt").read_text().count("\n") == len(checks)
    md = (tmp_path / "metrics.md").read_text()
    assert "Huber δ=1" in md and "90% interval, conformal" in md
    assert md.count("PASS (") + md.count("FAIL (") == len(checks)


def test_checks_flag_a_failure():
    # Synthetic summary where L2 beats everything and the levels are off: the checks must FAIL.
    rows = []
    for b in sinc.BACKENDS:
        for s in ("gaussian", "impulse"):
            for key in ["l2", "l1", "log_cosh"] + [f"huber_{d:g}" for d in sinc.HUBER_DELTAS]:
                rows.append(dict(scenario=s, backend=b, model=key, device="cpu", seed=0,
                                 rmse=0.1 if key == "l2" else 0.3, level=0.7, fit_time_s=0.0))
            for a in sinc.QUANTILE_ALPHAS:
                if a != 0.5:
                    rows.append(dict(scenario=s, backend=b, model=sinc.quantile_key(a), device="cpu",
                                     seed=0, level=a, fit_time_s=0.0))
            for key in sinc.INTERVAL_KEYS:
                rows.append(dict(scenario=s, backend=b, model=key, device="cpu", seed=0,
                                 coverage=0.8, width=1.0, fit_time_s=0.0))
    checks = sinc.check_observations(sinc.summarize(rows))
    assert not any(c.passed for c in checks)


@pytest.mark.parametrize("argv", [["--sigma", "-1"], ["--p", "2"], ["--seeds", "0"], ["--backend", "catboost"],
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
    assert (cfg.n_train, cfg.sigma, cfg.p, cfg.amplitude, cfg.seeds) == (1000, 0.2, 0.1, 2.0, 5)
    with pytest.raises(SystemExit):
        sinc.parse_config(["--help"])
    text = capsys.readouterr().out
    assert "[assumption]" in text and "[substitution]" in text and "default: 1000" in text

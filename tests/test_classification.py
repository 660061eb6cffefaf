"""The classification experiment (experiments/classification.py): data, the panel-D objective, a tiny run, the CLI."""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path

import numpy as np
import pytest

_PATH = Path(__file__).resolve().parents[1] / "experiments" / "classification.py"


def _load():
    # experiments/ is not a package: load the script as a registered module
    if "boostobj_classification_experiment" in sys.modules:
        return sys.modules["boostobj_classification_experiment"]
    spec = importlib.util.spec_from_file_location("boostobj_classification_experiment", _PATH)
    mod = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = mod
    spec.loader.exec_module(mod)
    return mod


cls = _load()


def test_data_generators():
    X, y, p = cls.make_binary(4000, 0, 3.0, flip=0.1)
    X0, y0, p0 = cls.make_binary(4000, 0, 3.0)
    np.testing.assert_array_equal(X, X0)
    assert (y != y0).sum() == 400  # exactly round(flip * n) labels flipped
    Xi, yi = cls.make_imbalanced(40000, 1, 0.01)
    assert abs(yi.mean() - 0.01) < 4 * np.sqrt(0.01 * 0.99 / 40000)
    Xm, ym = cls.make_multiclass(3000, 2, 5)
    assert set(np.unique(ym)) == set(range(5))
    with pytest.raises(ValueError, match="flip"):
        cls.make_binary(10, 0, 1.0, flip=0.6)


def test_softmax_squared_error_gradient_is_finite_difference_of_its_loss():
    obj = cls.softmax_squared_error()
    rng = np.random.default_rng(0)
    y = rng.integers(0, 4, 30).astype(float)
    y[:4] = [0, 1, 2, 3]
    m = rng.normal(size=(30, 4)) * 2
    g, h = obj.grad_hess(y, m)
    assert (h > 0).all()
    for k in range(4):
        e = np.zeros_like(m)
        e[:, k] = 1e-6
        onehot = np.eye(4)[y.astype(int)]
        sq = lambda mm: ((np.exp(mm) / np.exp(mm).sum(1, keepdims=True) - onehot) ** 2).sum(1)  # noqa: E731
        np.testing.assert_allclose(g[:, k], (sq(m + e) - sq(m - e)) / 2e-6, rtol=1e-5, atol=1e-8)
    p = np.exp(obj.init_score(y, n_outputs=4))
    np.testing.assert_allclose(p / p.sum(), np.bincount(y.astype(int)) / 30, rtol=1e-9)


def test_checks_fail_on_contrary_numbers():
    cfg = cls.Config(seeds=1)
    rows = []
    for b in cfg.backends:
        for f in cfg.flip_rates:  # logistic collapses with noise, exponential does not
            for m in cls.NOISE_MODELS:
                rows.append(dict(panel="B", backend=b, seed=0, setting=f"flip={f:g}", model=m,
                                 accuracy=0.9 - (f if m == "logistic" else 0.0), auc=0.9))
        for r in cfg.positive_rates:
            for m in cls.imbalance_models():
                rows.append(dict(panel="C", backend=b, seed=0, setting=f"positives={r:g}", model=m,
                                 ap=0.5 if m.startswith("logistic") else 0.1, log_loss=0.1))
        for m, ll in (("cross-entropy", 0.9), ("squared error", 0.5)):
            rows.append(dict(panel="D", backend=b, seed=0, setting="K=5", model=m, log_loss=ll, accuracy=0.5))
        for m, ece in (("logistic", 0.01), ("exponential", 0.2), ("modified_huber", 0.01)):
            rows.append(dict(panel="E", backend=b, seed=0, setting="soft task", model=m, ece=ece))
    checks = cls.check_claims(cls.summarize(rows), cfg)
    assert [c.passed for c in checks if c.panel != "D" or "vanishing" not in c.claim] == [False] * (len(checks) - 1)


def test_tiny_run_writes_figure_tables_and_checks(tmp_path, capsys):
    cfg = cls.Config(seeds=1, backends=("xgboost",), n_estimators=3, checkpoint_every=1, n_train=200,
                     n_test=200, flip_rates=(0.0, 0.2), n_imbalance=1000, n_imbalance_test=1000,
                     positive_rates=(0.1, 0.02))
    res, summary, checks = cls.run(cfg, tmp_path, quiet=True)
    for name in ("classification.png", "classification.pdf", "metrics.md", "metrics.csv", "checks.txt", "run.json"):
        assert (tmp_path / name).stat().st_size > 0, name
    assert {s["panel"] for s in summary} == {"B", "C", "D", "E"}
    assert len(checks) == 1 + 2 + 1 + 1 + 1  # per backend: B, C (two claims), D (one), E; D's gradient once
    assert all(isinstance(c.passed, bool) and any(ch.isdigit() for ch in c.detail) for c in checks)
    out = capsys.readouterr().out
    assert all(c.line() in out for c in checks) and "elapsed:" in out
    md = (tmp_path / "metrics.md").read_text()
    assert "focal γ=2 α=0.25" in md and md.count("PASS [") + md.count("FAIL [") == len(checks)


@pytest.mark.parametrize("argv", [["--seeds", "0"], ["--device", "tpu"], ["--n-classes", "2"],
                                  ["--flip-rates", "0.6"], ["--flip-rates", "0.1"], ["--positive-rates", "0"],
                                  ["--n-imbalance", "100"], ["--learning-rate", "abc"]])
def test_cli_rejects_bad_input(argv, capsys):
    with pytest.raises(SystemExit) as exc:
        cls.parse_config(argv)
    assert exc.value.code == 2
    assert "error:" in capsys.readouterr().err


def test_cli_defaults_and_help(capsys):
    cfg, out, quiet = cls.parse_config([])
    assert cfg == cls.Config() and out == Path("results/classification") and not quiet
    with pytest.raises(SystemExit):
        cls.parse_config(["--help"])
    text = capsys.readouterr().out
    assert "[assumption]" in text and "default: 1500" in text and "thresholds" in text

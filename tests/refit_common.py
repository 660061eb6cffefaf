"""What the leaf-refit tests of both frameworks share: the skewed data, the metric, two threads."""

from __future__ import annotations

import threading

import numpy as np
from sklearn.base import clone


def skewed(n: int, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """x sin x + lognormal noise growing with x: scikit-learn's heteroscedastic quantile example."""
    rng = np.random.default_rng(seed)
    X = rng.uniform(0, 10, (n, 2))
    y = X[:, 0] * np.sin(X[:, 0]) + rng.lognormal(sigma=0.5 + X[:, 0] / 10)
    return X, y.astype(np.float32).astype(np.float64)  # the frameworks' float32 labels, exactly


def small_leaf_factor(total: float, alpha: float, prior: float) -> float:
    """Quantile.leaf_values's shrinkage, written out: W / (W + prior N) below N = 1 / min(a, 1 - a)."""
    need = 1.0 / min(alpha, 1.0 - alpha)
    return total / (total + prior * need) if total < need else 1.0


def pinball(y: np.ndarray, q: np.ndarray, a: float) -> float:
    r = y - q
    return float(np.mean(np.maximum(a * r, (a - 1) * r)))


def assert_two_threads_train_what_one_does(est, data) -> None:
    """Clones of ``est`` fitted on each (X, y) of ``data`` at once in threads equal lone fits."""
    alone = [clone(est).fit(X, y).predict(X) for X, y in data]
    out: list = [None] * len(data)

    def fit(i):
        X, y = data[i]
        out[i] = clone(est).fit(X, y).predict(X)

    threads = [threading.Thread(target=fit, args=(i,)) for i in range(len(data))]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    for a, b in zip(alone, out):
        np.testing.assert_array_equal(a, b)


def count_pred_leaf(monkeypatch, booster_cls, rows) -> list:
    """Patch ``booster_cls.predict`` to record ``rows(data)`` of every ``pred_leaf=True`` call."""
    asked: list = []
    predict = booster_cls.predict

    def counting(self, data, *args, **kwargs):
        if kwargs.get("pred_leaf"):
            asked.append(rows(data))
        return predict(self, data, *args, **kwargs)

    monkeypatch.setattr(booster_cls, "predict", counting)
    return asked


def short_tail_ratios(ours, builtin, kw: dict) -> list[float]:
    """The short tail (alpha 0.05) of the skewed data, 3 seeds, 1000 training rows.

    Asserts that ``ours(objective, **kw)``'s refit beats its own Newton
    leaves (``leaf_refit=False``) by more than 20% after 50 rounds; returns,
    per seed, its test pinball after 200 rounds over ``builtin(**kw)``'s.
    """
    import boostobj

    ratios = []
    for seed in (3, 5, 7):
        X, y = skewed(1000, seed)
        Xt, yt = skewed(5000, seed + 1)
        fit = lambda est: pinball(yt, est.fit(X, y).predict(Xt), 0.05)  # noqa: E731
        short = {**kw, "n_estimators": 50}
        newton = fit(ours(boostobj.quantile(0.05), leaf_refit=False, **short))
        assert fit(ours(boostobj.quantile(0.05), **short)) < 0.8 * newton
        full = {**kw, "n_estimators": 200}
        ratios.append(fit(ours(boostobj.quantile(0.05), **full)) / fit(builtin(**full)))
    return ratios

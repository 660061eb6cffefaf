"""Quality of the expectile, hinge and modified Huber objectives against the built-ins.

Two tables, printed and written to ``benchmarks/results/quality/quality_classification.md``:

- expectile: ``boostobj.expectile(alpha)`` against XGBoost's built-in
  ``reg:expectileerror`` (XGBoost >= 3.4; the table says so and is skipped
  where it is missing), test expectile loss at equal rounds and tree
  settings. LightGBM has no built-in expectile; its boostobj row is there
  for reference.
- classification: ``boostobj.hinge()`` and ``boostobj.modified_huber()``
  against the frameworks' built-in logistic loss, test accuracy (and AUC;
  hinge scores by its margin).

Each cell is the mean over seeds (random train/test splits or fresh draws)
and folds; the ratio column is the mean of the per-seed ratios. Data are
scikit-learn's bundled sets (no download) and generated ones. Run by hand:

    PYTHONPATH=. /tmp/v312/bin/python -m benchmarks.quality_classification [--seeds 5] [--quick]
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path
from typing import Any, Callable

import lightgbm as lgb
import numpy as np
import xgboost as xgb
from sklearn.datasets import load_breast_cancer, load_diabetes, make_classification, make_friedman1
from sklearn.metrics import accuracy_score, roc_auc_score
from sklearn.model_selection import train_test_split

import boostobj
from boostobj import sklearn as bsk

RESULTS = Path(__file__).resolve().parent / "results" / "quality" / "quality_classification.md"
ALPHAS = (0.1, 0.5, 0.9)


def has_builtin_expectile() -> bool:
    """True when this XGBoost has ``reg:expectileerror`` (3.4 and later)."""
    try:
        xgb.train({"objective": "reg:expectileerror", "expectile_alpha": [0.5], "nthread": 1},
                  xgb.DMatrix(np.zeros((4, 1)), np.arange(4.0)), 1)
        return True
    except xgb.core.XGBoostError:
        return False


# ---- data ------------------------------------------------------------------------
def regression_sets(seed: int) -> dict[str, tuple[np.ndarray, ...]]:
    """name -> (X, y, X_test, y_test)."""
    X, y = make_friedman1(n_samples=4000, noise=0.0, random_state=seed)
    rng = np.random.default_rng(seed)
    y = y + (0.5 + X[:, 0] * 3) * rng.standard_normal(len(y))  # noise that grows with x0: expectiles differ
    Xd, yd = load_diabetes(return_X_y=True)
    out = {"friedman1 heteroscedastic (4000)": tuple(train_test_split(X, y, test_size=0.5, random_state=seed))}
    out["diabetes (442)"] = tuple(train_test_split(Xd, yd, test_size=0.3, random_state=seed))
    return {k: (v[0], v[2], v[1], v[3]) for k, v in out.items()}


def classification_sets(seed: int) -> dict[str, tuple[np.ndarray, ...]]:
    """name -> (X, y, X_test, y_test)."""
    Xb, yb = load_breast_cancer(return_X_y=True)
    Xc, yc = make_classification(n_samples=4000, n_features=20, n_informative=8, flip_y=0.05, class_sep=0.8,
                                 random_state=seed)
    sets = {"breast_cancer (569)": train_test_split(Xb, yb, test_size=0.3, random_state=seed, stratify=yb),
            "make_classification flip 5% (4000)": train_test_split(Xc, yc, test_size=0.5, random_state=seed)}
    return {k: (v[0], v[2], v[1], v[3]) for k, v in sets.items()}


# ---- models -------------------------------------------------------------------------
def fit_expectile(kind: str, alpha: float, X: np.ndarray, y: np.ndarray, Xt: np.ndarray, cfg: argparse.Namespace,
                  seed: int) -> np.ndarray:
    """Test predictions of one expectile model: 'boostobj xgb', 'built-in xgb' or 'boostobj lgbm'."""
    if kind == "built-in xgb":
        params = {"objective": "reg:expectileerror", "expectile_alpha": [alpha], "max_depth": cfg.depth,
                  "eta": cfg.eta, "nthread": 1, "seed": seed}
        return xgb.train(params, xgb.DMatrix(X, y), cfg.rounds).predict(xgb.DMatrix(Xt))
    obj = boostobj.expectile(alpha)
    if kind == "boostobj xgb":
        model: Any = bsk.XGBRegressor(objective=obj, n_estimators=cfg.rounds, max_depth=cfg.depth,
                                      learning_rate=cfg.eta, n_jobs=1, random_state=seed)
    else:
        model = bsk.LGBMRegressor(objective=obj, n_estimators=cfg.rounds, num_leaves=2 ** cfg.depth,
                                  learning_rate=cfg.eta, n_jobs=1, random_state=seed, verbose=-1)
    return model.fit(X, y).predict(Xt)


CLASSIFIERS: dict[str, Callable[[], Any]] = {
    "logistic (built-in)": lambda: None,
    "hinge": boostobj.hinge,
    "modified_huber": boostobj.modified_huber,
}


def fit_classifier(backend: str, name: str, X: np.ndarray, y: np.ndarray, Xt: np.ndarray,
                   cfg: argparse.Namespace, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """(predicted classes, scores) on the test rows."""
    obj = CLASSIFIERS[name]()
    common = dict(n_estimators=cfg.rounds, learning_rate=cfg.eta, n_jobs=1, random_state=seed)
    if backend == "xgboost":
        model: Any = bsk.XGBClassifier(max_depth=cfg.depth, **common, **({} if obj is None else {"objective": obj}))
    else:
        model = bsk.LGBMClassifier(num_leaves=2 ** cfg.depth, verbose=-1, **common,
                                   **({} if obj is None else {"objective": obj}))
    model.fit(X, y)
    score = model.predict_proba(Xt)[:, 1] if hasattr(model, "predict_proba") else model.decision_function(Xt)
    return model.predict(Xt), score


# ---- tables --------------------------------------------------------------------------
def expectile_table(cfg: argparse.Namespace) -> str:
    builtin = has_builtin_expectile()
    kinds = ["boostobj xgb"] + (["built-in xgb"] if builtin else []) + ["boostobj lgbm"]
    acc: dict[tuple, list] = {}
    for seed in range(cfg.seeds):  # seeds outermost: the load drifts alike for every model
        for data, (X, y, Xt, yt) in regression_sets(seed).items():
            for alpha in ALPHAS:
                loss = boostobj.expectile(alpha)
                vals = {k: loss.loss(yt, fit_expectile(k, alpha, X, y, Xt, cfg, seed)) for k in kinds}
                for k, v in vals.items():
                    acc.setdefault((data, alpha, k), []).append(v)
                if builtin:
                    acc.setdefault((data, alpha, "ratio"), []).append(vals["boostobj xgb"] / vals["built-in xgb"])
    head = ["data", "alpha"] + [f"{k}" for k in kinds] + (["boostobj / built-in (XGBoost)"] if builtin else [])
    lines = ["| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
    for data in regression_sets(0):
        for alpha in ALPHAS:
            cells = [data, f"{alpha:g}"] + [f"{np.mean(acc[(data, alpha, k)]):.4g}" for k in kinds]
            if builtin:
                cells.append(f"{np.mean(acc[(data, alpha, 'ratio')]):.3f}")
            lines.append("| " + " | ".join(cells) + " |")
    note = (f"XGBoost {xgb.__version__}: built-in `reg:expectileerror` "
            + ("present." if builtin else "absent (needs XGBoost >= 3.4): built-in column skipped."))
    return note + "\n\n" + "\n".join(lines) + "\n"


def classification_table(cfg: argparse.Namespace) -> str:
    acc: dict[tuple, list] = {}
    for seed in range(cfg.seeds):
        for data, (X, y, Xt, yt) in classification_sets(seed).items():
            for backend in ("xgboost", "lightgbm"):
                for name in CLASSIFIERS:
                    pred, score = fit_classifier(backend, name, X, y, Xt, cfg, seed)
                    acc.setdefault((data, backend, name, "acc"), []).append(accuracy_score(yt, pred))
                    acc.setdefault((data, backend, name, "auc"), []).append(roc_auc_score(yt, score))
    head = ["data", "backend"] + [f"{n} accuracy" for n in CLASSIFIERS] + [f"{n} AUC" for n in CLASSIFIERS]
    lines = ["| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
    for data in classification_sets(0):
        for backend in ("xgboost", "lightgbm"):
            cells = [data, backend]
            cells += [f"{np.mean(acc[(data, backend, n, 'acc')]):.4f}" for n in CLASSIFIERS]
            cells += [f"{np.mean(acc[(data, backend, n, 'auc')]):.4f}" for n in CLASSIFIERS]
            lines.append("| " + " | ".join(cells) + " |")
    return "\n".join(lines) + "\n"


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--seeds", type=int, default=5, help="random splits / draws (default: %(default)s)")
    p.add_argument("--rounds", type=int, default=200, help="boosting rounds (default: %(default)s)")
    p.add_argument("--depth", type=int, default=3, help="tree depth; LightGBM 2**depth leaves (default: %(default)s)")
    p.add_argument("--eta", type=float, default=0.1, help="learning rate (default: %(default)s)")
    p.add_argument("--out", type=Path, default=RESULTS, help="results file (default: %(default)s)")
    cfg = p.parse_args(argv)
    t0 = time.perf_counter()
    ex = expectile_table(cfg)
    print(ex)
    cl = classification_table(cfg)
    print(cl)
    header = (f"# Quality: expectile, hinge and modified Huber\n\n"
              f"`benchmarks/quality_classification.py --seeds {cfg.seeds} --rounds {cfg.rounds} --depth {cfg.depth} "
              f"--eta {cfg.eta}`; XGBoost {xgb.__version__}, LightGBM {lgb.__version__}, Python "
              f"{sys.version.split()[0]}. Equal rounds and tree settings for every model, one thread; means over "
              f"{cfg.seeds} random splits (bundled data) or fresh draws (generated data). "
              f"Run time {time.perf_counter() - t0:.0f} s.\n\n")
    cfg.out.parent.mkdir(parents=True, exist_ok=True)
    cfg.out.write_text(header + "## Expectile: test expectile loss (lower is better)\n\n" + ex
                       + "\n## Hinge and modified Huber vs the logistic loss: test accuracy and AUC\n\n"
                       + "Hinge AUC uses the margin (it has no probabilities).\n\n" + cl)
    print(f"wrote {cfg.out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())

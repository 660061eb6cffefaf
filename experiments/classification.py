"""The classification half of the loss study, checked on boosted trees (XGBoost and LightGBM).

The loss-function study boostobj follows (Natekin & Knoll 2013, "Gradient
boosting machines, a tutorial", Frontiers in Neurorobotics 7:21, and the
losses it tabulates) treats classification losses as functions of the margin
y f(x) and makes claims about them. This script checks five of them:

- A. the losses against the margin: 0-1, logistic, hinge, modified Huber,
  exponential, squared (on the +-1 label), focal with gamma in {0.5, 1, 2, 5};
- B. label noise: the exponential loss, like squared loss, is sensitive to
  outliers; the logistic loss is more robust (Friedman, Hastie & Tibshirani
  2000; Hastie, Tibshirani & Friedman, ESL 10.6);
- C. imbalance: the focal loss (Lin et al. 2017) down-weights easy negatives
  and helps when positives are rare; alpha = 0.25, gamma = 2 worked best;
- D. squared error on softmax outputs has vanishing gradients far from the
  label, cross-entropy does not (so cross-entropy is the loss to use);
- E. the exponential loss estimates half the log-odds, so sigmoid(margin) of
  ``boostobj.exponential()`` (whose margin is 2F) is a calibrated P(y=1).

Run ``python experiments/classification.py --help`` for every default. The
data are synthetic (the study names none for these claims): every data
setting is an [assumption] and a flag. Trees are depth-limited, one thread
each, the same settings for every loss.
"""

from __future__ import annotations

import time

_T_START = time.perf_counter()  # before the heavy imports: the reported time includes them

import argparse  # noqa: E402
import csv  # noqa: E402
import json  # noqa: E402
import math  # noqa: E402
import sys  # noqa: E402
import warnings  # noqa: E402
from dataclasses import asdict, dataclass, field  # noqa: E402
from pathlib import Path  # noqa: E402
from typing import Any, Callable, Sequence  # noqa: E402

import matplotlib  # noqa: E402

matplotlib.use("Agg")  # files only: no display on CI or the shared machine

import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
from sklearn.metrics import accuracy_score, average_precision_score, log_loss, roc_auc_score  # noqa: E402
from sklearn.utils.class_weight import compute_sample_weight  # noqa: E402

import boostobj  # noqa: E402
from boostobj import _math  # noqa: E402
from boostobj.link import SoftmaxLink  # noqa: E402
from boostobj.losses import Loss  # noqa: E402
from boostobj.objective import Objective  # noqa: E402
from boostobj.sklearn import LGBMClassifier, XGBClassifier  # noqa: E402

sys.path.insert(0, str(Path(__file__).resolve().parent))  # the helpers shared with the other experiments
from _shared import add_run_arguments, exit_status, print_checks, device_params, device_used, float_in, positive_int, save_figure, versions  # noqa: E402

BACKENDS = ("xgboost", "lightgbm")
FOCAL_GAMMAS = (0.5, 1.0, 2.0, 5.0)

# Thresholds of the checks (stated in the printed lines).
NOISE_MARGIN = 0.005      # B: exponential must lose at least this much more accuracy than logistic
FOCAL_GAIN = 0.0          # C: best focal AP minus the logistic AP must exceed this
VANISH_RATIO = 0.1        # D: |grad| of squared error / cross-entropy at p_true = 0.01 below this
ECE_MARGIN = 0.01         # E: exponential ECE at most logistic ECE + this


# ---- configuration ------------------------------------------------------------
@dataclass(frozen=True)
class Config:
    """Everything one run depends on (the CLI defaults)."""

    seeds: int = 1
    backends: tuple[str, ...] = BACKENDS
    device: str = "cpu"
    n_estimators: int = 40
    learning_rate: float = 0.25
    max_depth: int = 3
    n_jobs: int = 1
    # B and E: binary task
    n_train: int = 1500
    n_test: int = 4000
    signal: float = 3.0                           # logit scale of the binary task
    flip_rates: tuple[float, ...] = (0.0, 0.05, 0.1, 0.2)
    # C: imbalance
    n_imbalance: int = 8000                       # training rows
    n_imbalance_test: int = 40000                 # test rows: predicting is cheap, positives are rare
    positive_rates: tuple[float, ...] = (0.1, 0.01, 0.001)
    # D: multi-class
    n_classes: int = 5
    checkpoint_every: int = 4                     # D's learning-curve resolution (rounds)


# ---- data -----------------------------------------------------------------------
def sigmoid(x: np.ndarray) -> np.ndarray:
    """P(y=1) from a logit (stable for any x)."""
    return np.asarray(_math.sigmoid(np, np.asarray(x, dtype=np.float64)))


def binary_logit(X: np.ndarray, signal: float) -> np.ndarray:
    """True logit of the binary task: signal * (x0 - x1 + x2 x3 / 2 + sin(2 x4) / 2)."""
    return signal * (X[:, 0] - X[:, 1] + 0.5 * X[:, 2] * X[:, 3] + 0.5 * np.sin(2 * X[:, 4]))


def make_binary(n: int, seed: int, signal: float, flip: float = 0.0) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(X, y, true P(y=1)): X ~ N(0, I_6), y ~ Bern(sigmoid(logit)); then a fraction ``flip`` of labels flipped.

    Exactly round(flip * n) labels, chosen at random, are flipped.
    """
    if not 0.0 <= flip < 0.5:
        raise ValueError(f"flip must be in [0, 0.5), got {flip}")
    rng = np.random.default_rng(seed)
    X = rng.normal(size=(n, 6))
    p = sigmoid(binary_logit(X, signal))
    y = (rng.random(n) < p).astype(int)
    flipped = rng.choice(n, size=int(round(flip * n)), replace=False)
    y[flipped] = 1 - y[flipped]
    return X, y, p


def make_imbalanced(n: int, seed: int, rate: float) -> tuple[np.ndarray, np.ndarray]:
    """(X, y) with P(y=1) = sigmoid(b + 1.5 x0 + x1 - (x2^2 - 1)), b set so the mean is ``rate``."""
    from scipy.optimize import brentq

    if not 0.0 < rate < 1.0:
        raise ValueError(f"rate must be in (0, 1), got {rate}")
    rng = np.random.default_rng(seed)
    X = rng.normal(size=(n, 8))
    score = 1.5 * X[:, 0] + X[:, 1] - (X[:, 2] ** 2 - 1.0)
    ref = np.random.default_rng(12345).normal(size=(200000, 3))  # the intercept from a fixed large sample
    ref_score = 1.5 * ref[:, 0] + ref[:, 1] - (ref[:, 2] ** 2 - 1.0)
    b = brentq(lambda c: sigmoid(c + ref_score).mean() - rate, -40.0, 40.0)
    y = (rng.random(n) < sigmoid(b + score)).astype(int)
    return X, y


def make_multiclass(n: int, seed: int, k: int) -> tuple[np.ndarray, np.ndarray]:
    """(X, y): K classes, softmax of 1.5 X W with X ~ N(0, I_6) and one fixed W ~ N(0, 1)."""
    W = np.random.default_rng(777).normal(size=(6, k))
    rng = np.random.default_rng(seed)
    X = rng.normal(size=(n, 6))
    p = np.asarray(_math.softmax(np, 1.5 * X @ W))
    y = (rng.random(n)[:, None] > np.cumsum(p, axis=1)).sum(axis=1)
    return X, np.minimum(y, k - 1)


# ---- the squared error on softmax outputs (panel D) -------------------------------
class SoftmaxSquaredError(Loss):
    r"""Squared error on softmax probabilities, an objective written for panel D.

    .. math:: l = \sum_k (p_k - y_k)^2,\quad p = \operatorname{softmax}(m),
              \quad g_j = 2 p_j \big((p_j - y_j) - \textstyle\sum_k p_k (p_k - y_k)\big)

    Curvature: the Gauss-Newton diagonal :math:`2 \sum_k J_{kj}^2` with the
    softmax Jacobian :math:`J = \operatorname{diag}(p) - p p^T`, positive.
    The optimal constant is the log of the class frequencies.
    """

    name = "softmax_squared_error"
    task = "multiclass"
    link = SoftmaxLink()
    normalize_curvature = False

    def n_outputs(self, y=None):
        # like the multi-class focal loss: K from the labels (the classifiers set num_class)
        return 1 if y is None or len(y) == 0 else int(np.max(y)) + 1

    def check_n_outputs(self, k):
        if k < 2:
            raise ValueError("the softmax squared error needs K >= 2 margin columns")

    def check_labels(self, y, n_outputs):
        super().check_labels(y, n_outputs)
        if ((y != np.round(y)) | (y < 0) | (y >= n_outputs)).any():
            raise ValueError(f"labels must be integers in [0, {n_outputs - 1}]")

    def encode_labels(self, xp, y, n_outputs):
        return xp.astype(y[:, None] == xp.arange(n_outputs, dtype=y.dtype)[None, :], y.dtype)

    def point_loss(self, xp, t, m, scale):
        d = _math.softmax(xp, m) - t
        return xp.sum(d * d, axis=1)

    def grad_curvature(self, xp, t, m, scale):
        p = _math.softmax(xp, m)
        d = p - t
        g = 2.0 * p * (d - xp.sum(p * d, axis=1, keepdims=True))
        p2 = xp.sum(p * p, axis=1, keepdims=True)
        # column j of J: p_j (e_j - p); its squared norm p_j^2 ((1 - p_j)^2 + sum_k p_k^2 - p_j^2)
        h = 2.0 * p * p * ((1.0 - p) ** 2 + p2 - p * p)
        return g, xp.maximum(h, 1e-16)

    def fit_intercept_only(self, y, w, n_outputs):
        freq = np.bincount(y.astype(np.int64), weights=w, minlength=n_outputs)
        logp = np.log(np.clip(freq / freq.sum(), 1e-12, None))
        return logp - logp.mean()


def softmax_squared_error() -> Objective:
    """The panel-D objective (K from the labels or the margin's columns)."""
    return Objective(SoftmaxSquaredError(), "softmax_squared_error")


# ---- models -------------------------------------------------------------------------
def make_classifier(backend: str, objective: Any, cfg: Config, seed: int) -> Any:
    """A boostobj drop-in classifier; ``objective=None`` is the framework's built-in logistic / softmax."""
    common = dict(n_estimators=cfg.n_estimators, learning_rate=cfg.learning_rate, max_depth=cfg.max_depth,
                  random_state=seed, n_jobs=cfg.n_jobs, **device_params(backend, cfg.device))
    if backend == "xgboost":
        return XGBClassifier(objective=objective, **common) if objective is not None else XGBClassifier(**common)
    if backend == "lightgbm":
        # num_leaves = 2**depth: the capacity of XGBoost's depth-wise trees
        kw = dict(num_leaves=2 ** cfg.max_depth, verbose=-1, **common)
        return LGBMClassifier(objective=objective, **kw) if objective is not None else LGBMClassifier(**kw)
    raise ValueError(f"backend must be one of {BACKENDS}, got {backend!r}")


NOISE_MODELS: dict[str, Callable[[], Any]] = {
    "logistic": lambda: None,
    "exponential": boostobj.exponential,
    "hinge": boostobj.hinge,
    "modified_huber": boostobj.modified_huber,
    "focal(2)": lambda: boostobj.focal(2.0),
}


def imbalance_models() -> dict[str, tuple[Callable[[], Any], bool]]:
    """Panel C: name -> (objective factory, balanced weights)."""
    models: dict[str, tuple[Callable[[], Any], bool]] = {"logistic": (lambda: None, False),
                                                         "logistic balanced": (lambda: None, True)}
    for a in (None, 0.25):
        for g in FOCAL_GAMMAS:
            name = f"focal γ={g:g}" + ("" if a is None else f" α={a:g}")
            models[name] = ((lambda g=g, a=a: boostobj.focal(g, a)), False)
    return models


CALIBRATION_MODELS: dict[str, Callable[[], Any]] = {
    "logistic": lambda: None,
    "exponential": boostobj.exponential,
    "modified_huber": boostobj.modified_huber,
}


def _scores(model: Any, X: np.ndarray) -> np.ndarray:
    """P(y=1) where the loss has one, else the margin (hinge): enough for AUC and AP."""
    if hasattr(model, "predict_proba"):
        return model.predict_proba(X)[:, 1]
    return model.decision_function(X)


def expected_calibration_error(p: np.ndarray, y: np.ndarray, bins: int = 10) -> float:
    """Weighted mean |mean p - mean y| over equal-width probability bins."""
    idx = np.minimum((p * bins).astype(int), bins - 1)
    total = 0.0
    for b in range(bins):
        sel = idx == b
        if sel.any():
            total += sel.sum() * abs(p[sel].mean() - y[sel].mean())
    return total / len(p)


def reliability(p: np.ndarray, y: np.ndarray, bins: int = 10) -> tuple[np.ndarray, np.ndarray]:
    """(mean predicted, observed frequency) per non-empty equal-width bin."""
    idx = np.minimum((p * bins).astype(int), bins - 1)
    keep = [b for b in range(bins) if (idx == b).sum() >= 5]
    return (np.array([p[idx == b].mean() for b in keep]), np.array([y[idx == b].mean() for b in keep]))


# ---- running -------------------------------------------------------------------------
@dataclass
class Results:
    """Metric rows per (panel, backend, seed, setting, model), plus curves for the figures."""

    cfg: Config
    rows: list[dict] = field(default_factory=list)
    curves: dict[tuple, Any] = field(default_factory=dict)
    devices: dict[str, str] = field(default_factory=dict)


def run_noise(cfg: Config, backend: str, seed: int) -> list[dict]:
    """Panel B: every flip rate and loss; accuracy and AUC on clean test labels."""
    Xt, yt, _ = make_binary(cfg.n_test, 10_000 + seed, cfg.signal)
    rows = []
    for flip in cfg.flip_rates:
        X, y, _ = make_binary(cfg.n_train, seed, cfg.signal, flip)
        for name, make in NOISE_MODELS.items():
            model = make_classifier(backend, make(), cfg, seed).fit(X, y)
            rows.append(dict(panel="B", backend=backend, seed=seed, setting=f"flip={flip:g}", model=name,
                             accuracy=accuracy_score(yt, model.predict(Xt)),
                             auc=roc_auc_score(yt, _scores(model, Xt))))
    return rows


def run_imbalance(cfg: Config, backend: str, seed: int) -> list[dict]:
    """Panel C: average precision and log loss of the posterior, per positive rate and model."""
    rows = []
    for rate in cfg.positive_rates:
        X, y = make_imbalanced(cfg.n_imbalance, seed, rate)
        Xt, yt = make_imbalanced(cfg.n_imbalance_test, 20_000 + seed, rate)
        for name, (make, balanced) in imbalance_models().items():
            w = compute_sample_weight("balanced", y) if balanced else None
            model = make_classifier(backend, make(), cfg, seed).fit(X, y, sample_weight=w)
            p = np.clip(model.predict_proba(Xt)[:, 1], 1e-15, 1 - 1e-15)
            rows.append(dict(panel="C", backend=backend, seed=seed, setting=f"positives={rate:g}", model=name,
                             ap=average_precision_score(yt, p), log_loss=log_loss(yt, p, labels=[0, 1])))
    return rows


def run_multiclass(cfg: Config, backend: str, seed: int, res: Results) -> list[dict]:
    """Panel D: cross-entropy (built-in softmax) vs squared error on softmax outputs, over rounds."""
    X, y = make_multiclass(cfg.n_train, seed, cfg.n_classes)
    Xt, yt = make_multiclass(cfg.n_test, 30_000 + seed, cfg.n_classes)
    rows = []
    rounds = list(range(cfg.checkpoint_every, cfg.n_estimators + 1, cfg.checkpoint_every))
    for name, objective in (("cross-entropy", None), ("squared error", softmax_squared_error())):
        model = make_classifier(backend, objective, cfg, seed).fit(X, y)
        curve = []
        for t in rounds:
            kw = {"iteration_range": (0, t)} if backend == "xgboost" else {"num_iteration": t}
            p = np.clip(model.predict_proba(Xt, **kw), 1e-15, 1.0)
            curve.append((t, log_loss(yt, p, labels=list(range(cfg.n_classes))),
                          accuracy_score(yt, p.argmax(axis=1))))
        if seed == 0:
            res.curves[("D", backend, name)] = np.array(curve)
        rows.append(dict(panel="D", backend=backend, seed=seed, setting=f"K={cfg.n_classes}", model=name,
                         log_loss=curve[-1][1], accuracy=curve[-1][2],
                         rounds_to_se_final=None))
        # rounds cross-entropy needs to reach squared error's final log loss (filled below)
        res.curves[("D-all", backend, seed, name)] = np.array(curve)
    ce = res.curves[("D-all", backend, seed, "cross-entropy")]
    se_final = res.curves[("D-all", backend, seed, "squared error")][-1, 1]
    reached = ce[ce[:, 1] <= se_final, 0]
    rows[0]["rounds_to_se_final"] = float(reached[0]) if reached.size else float("nan")
    return rows


def run_calibration(cfg: Config, backend: str, seed: int, res: Results) -> list[dict]:
    """Panel E: reliability of sigmoid(margin) (exponential) next to logistic and modified Huber."""
    X, y, _ = make_binary(cfg.n_train, 40_000 + seed, 1.0)  # a soft task: probabilities spread over (0, 1)
    Xt, yt, pt = make_binary(cfg.n_test, 50_000 + seed, 1.0)
    rows = []
    for name, make in CALIBRATION_MODELS.items():
        model = make_classifier(backend, make(), cfg, seed).fit(X, y)
        p = model.predict_proba(Xt)[:, 1]
        if seed == 0:
            res.curves[("E", backend, name)] = reliability(p, yt)
        pc = np.clip(p, 1e-15, 1 - 1e-15)
        rows.append(dict(panel="E", backend=backend, seed=seed, setting="soft task", model=name,
                         ece=expected_calibration_error(p, yt), log_loss=log_loss(yt, pc, labels=[0, 1]),
                         mae_true_p=float(np.mean(np.abs(p - pt)))))
    return rows


PANELS = {"B": run_noise, "C": run_imbalance}


def run_experiment(cfg: Config, progress: bool = True) -> Results:
    """Every panel, backend and seed (tqdm progress over the jobs)."""
    from tqdm import tqdm

    res = Results(cfg=cfg)
    res.devices = {b: device_used(b, cfg.device) for b in cfg.backends}
    jobs = [(panel, b, s) for panel in ("B", "C", "D", "E") for b in cfg.backends for s in range(cfg.seeds)]
    for panel, backend, seed in tqdm(jobs, desc="classification runs", unit="run", disable=not progress):
        if panel in PANELS:
            rows = PANELS[panel](cfg, backend, seed)
        elif panel == "D":
            rows = run_multiclass(cfg, backend, seed, res)
        else:
            rows = run_calibration(cfg, backend, seed, res)
        for r in rows:
            r["device"] = res.devices[backend]
        res.rows.extend(rows)
    return res


# ---- summaries and checks ------------------------------------------------------------
METRICS = ("accuracy", "auc", "ap", "log_loss", "ece", "mae_true_p", "rounds_to_se_final")


def summarize(rows: list[dict]) -> list[dict]:
    """Mean and sd over seeds per (panel, setting, backend, model), in first-seen order."""
    groups: dict[tuple, list[dict]] = {}
    for r in rows:
        groups.setdefault((r["panel"], r["setting"], r["backend"], r["model"]), []).append(r)
    out = []
    for (panel, setting, backend, model), rs in groups.items():
        s = dict(panel=panel, setting=setting, backend=backend, model=model, device=rs[0].get("device", ""),
                 n_seeds=len(rs))
        for m in METRICS:
            vals = [r[m] for r in rs if r.get(m) is not None]
            if vals:
                s[f"{m}_mean"] = float(np.mean(vals))
                s[f"{m}_sd"] = float(np.std(vals, ddof=1)) if len(vals) > 1 else 0.0
        out.append(s)
    return out


@dataclass
class Check:
    """One claim of the study, tested: PASS or FAIL with the numbers and the threshold."""

    panel: str
    claim: str
    passed: bool
    detail: str

    def line(self) -> str:
        return f"{'PASS' if self.passed else 'FAIL'} [{self.panel}] {self.claim}: {self.detail}"


def _get(summary: list[dict], panel: str, setting: str, backend: str, model: str, metric: str) -> float:
    for s in summary:
        if (s["panel"], s["setting"], s["backend"], s["model"]) == (panel, setting, backend, model):
            return s.get(f"{metric}_mean", float("nan"))
    return float("nan")


def gradient_norms(p_true: np.ndarray, k: int) -> tuple[np.ndarray, np.ndarray]:
    """|d loss / d margins| for cross-entropy and softmax squared error at true-class probability p_true.

    The other K-1 classes share 1 - p_true equally; computed with the objectives' own gradients
    (``boostobj.focal(0)`` is softmax cross-entropy).
    """
    p = np.column_stack([p_true] + [(1 - p_true) / (k - 1)] * (k - 1))
    m = np.log(p)
    y = np.zeros(len(p_true))
    g_ce, _ = boostobj.focal(0.0).grad_hess(y, m)
    g_se, _ = softmax_squared_error().grad_hess(y, m)
    return np.linalg.norm(g_ce, axis=1), np.linalg.norm(g_se, axis=1)


def check_claims(summary: list[dict], cfg: Config) -> list[Check]:
    """The study's claims, as it states them, per backend."""
    checks = []
    lo, hi = f"flip={min(cfg.flip_rates):g}", f"flip={max(cfg.flip_rates):g}"
    for b in cfg.backends:
        drop = {m: _get(summary, "B", lo, b, m, "accuracy") - _get(summary, "B", hi, b, m, "accuracy")
                for m in ("logistic", "exponential")}
        checks.append(Check("B", f"exponential loss is more sensitive to label noise than logistic ({b})",
                            bool(drop["exponential"] > drop["logistic"] + NOISE_MARGIN),
                            f"test accuracy drop from {lo} to {hi}: exponential {drop['exponential']:.4f}, "
                            f"logistic {drop['logistic']:.4f} (needs exponential > logistic + {NOISE_MARGIN})"))
    rarest = f"positives={min(cfg.positive_rates):g}"
    focal_names = [n for n in imbalance_models() if n.startswith("focal")]
    for b in cfg.backends:
        base = _get(summary, "C", rarest, b, "logistic", "ap")
        best_name = max(focal_names, key=lambda n: _get(summary, "C", rarest, b, n, "ap"))
        best = _get(summary, "C", rarest, b, best_name, "ap")
        checks.append(Check("C", f"focal loss helps when positives are rare ({b})", bool(best - base > FOCAL_GAIN),
                            f"AP at {rarest}: best focal ({best_name}) {best:.4f} vs logistic {base:.4f} "
                            f"(needs best focal - logistic > {FOCAL_GAIN})"))
        wins = []
        for rate in cfg.positive_rates:
            setting = f"positives={rate:g}"
            top = max(focal_names, key=lambda n: _get(summary, "C", setting, b, n, "ap"))
            wins.append(f"{rate:g}: {top}")
        paper = "focal γ=2 α=0.25"
        n_best = sum(w.endswith(paper) for w in wins)
        checks.append(Check("C", f"alpha = 0.25, gamma = 2 is the best focal setting ({b})",
                            n_best == len(cfg.positive_rates),
                            f"highest-AP focal setting per positive rate: {'; '.join(wins)} "
                            f"(needs {paper} at every rate)"))
    ce, se = gradient_norms(np.array([0.01]), cfg.n_classes)
    ratio = float(se[0] / ce[0])
    checks.append(Check("D", "squared error on softmax outputs has vanishing gradients far from the label",
                        ratio < VANISH_RATIO,
                        f"|gradient| at true-class probability 0.01, K={cfg.n_classes}: squared error "
                        f"{se[0]:.4f}, cross-entropy {ce[0]:.4f}, ratio {ratio:.4f} (needs < {VANISH_RATIO})"))
    setting = f"K={cfg.n_classes}"
    for b in cfg.backends:
        l_ce = _get(summary, "D", setting, b, "cross-entropy", "log_loss")
        l_se = _get(summary, "D", setting, b, "squared error", "log_loss")
        a_ce = _get(summary, "D", setting, b, "cross-entropy", "accuracy")
        a_se = _get(summary, "D", setting, b, "squared error", "accuracy")
        checks.append(Check("D", f"cross-entropy trains better classifiers than squared error ({b})",
                            bool(l_ce < l_se and a_ce >= a_se),
                            f"after {cfg.n_estimators} rounds: test log loss {l_ce:.4f} vs {l_se:.4f}, "
                            f"accuracy {a_ce:.4f} vs {a_se:.4f} (needs lower log loss and accuracy >=)"))
    for b in cfg.backends:
        e_exp = _get(summary, "E", "soft task", b, "exponential", "ece")
        e_log = _get(summary, "E", "soft task", b, "logistic", "ece")
        checks.append(Check("E", f"sigmoid(margin) of the exponential loss is calibrated like logistic ({b})",
                            bool(e_exp <= e_log + ECE_MARGIN),
                            f"ECE (10 bins) exponential {e_exp:.4f}, logistic {e_log:.4f} "
                            f"(needs exponential <= logistic + {ECE_MARGIN})"))
    return checks


# ---- writing ---------------------------------------------------------------------------
PANEL_TITLES = {"B": "B. label noise (accuracy and AUC on clean test labels)",
                "C": "C. imbalance (average precision; log loss of the predicted posterior)",
                "D": "D. multi-class: cross-entropy vs squared error on softmax outputs",
                "E": "E. calibration of the predicted P(y=1)"}
PANEL_METRICS = {"B": ("accuracy", "auc"), "C": ("ap", "log_loss"),
                 "D": ("log_loss", "accuracy", "rounds_to_se_final"), "E": ("ece", "mae_true_p", "log_loss")}


def _fmt(s: dict, metric: str) -> str:
    if f"{metric}_mean" not in s:
        return ""
    mean, sd = s[f"{metric}_mean"], s[f"{metric}_sd"]
    if metric == "rounds_to_se_final":
        return f"{mean:.0f}" if math.isfinite(mean) else "never"
    return f"{mean:.4f} ± {sd:.4f}"


def markdown_tables(summary: list[dict]) -> str:
    """One Markdown table per panel: rows are (setting, model), a column pair per backend and metric."""
    out = []
    backends = list(dict.fromkeys(s["backend"] for s in summary))
    for panel, title in PANEL_TITLES.items():
        rows = [s for s in summary if s["panel"] == panel]
        if not rows:
            continue
        metrics = PANEL_METRICS[panel]
        head = ["setting", "model"] + [f"{m} ({b})" for m in metrics for b in backends]
        lines = [f"#### {title}", "", "| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
        keys = list(dict.fromkeys((s["setting"], s["model"]) for s in rows))
        for setting, model in keys:
            cells = [setting, model]
            for m in metrics:
                for b in backends:
                    hit = [s for s in rows if (s["setting"], s["model"], s["backend"]) == (setting, model, b)]
                    cells.append(_fmt(hit[0], m) if hit else "")
            lines.append("| " + " | ".join(cells) + " |")
        out.append("\n".join(lines) + "\n")
    return "\n".join(out)


def write_results(res: Results, summary: list[dict], checks: list[Check], out: Path,
                  elapsed_s: float | None = None) -> list[Path]:
    """metrics.md (tables + checks), metrics.csv, checks.txt and run.json into ``out``."""
    out.mkdir(parents=True, exist_ok=True)
    cfg = res.cfg
    md = out / "metrics.md"
    md.write_text(
        f"Mean ± sd over {cfg.seeds} seed(s); trees: {cfg.n_estimators} x depth {cfg.max_depth} "
        f"(LightGBM: {2 ** cfg.max_depth} leaves), learning rate {cfg.learning_rate}, the same for every loss. "
        f"B and E: {cfg.n_train} training rows, {cfg.n_test} test rows; C: {cfg.n_imbalance} training rows, "
        f"{cfg.n_imbalance_test} test rows; "
        f"D: K={cfg.n_classes} classes, {cfg.n_train} / {cfg.n_test} rows, 'rounds_to_se_final' = rounds "
        "cross-entropy needs to reach squared error's final test log loss. 'logistic' is the framework's "
        "built-in loss; the others are boostobj objectives through the boostobj drop-ins. Hinge has no "
        "probabilities: its AUC uses the margin.\n\n" + markdown_tables(summary)
        + "\n### Claims of the study\n\n" + "".join(f"- {c.line()}\n" for c in checks))
    csv_path = out / "metrics.csv"
    cols = ["panel", "setting", "backend", "device", "model", "n_seeds"] + \
        [f"{m}_{s}" for m in METRICS for s in ("mean", "sd")]
    with csv_path.open("w", newline="") as fh:
        w = csv.DictWriter(fh, fieldnames=cols)
        w.writeheader()
        for s in summary:
            w.writerow({c: s.get(c, "") for c in cols})
    txt = out / "checks.txt"
    txt.write_text("".join(c.line() + "\n" for c in checks))
    info = out / "run.json"
    info.write_text(json.dumps({
        "config": {k: (list(v) if isinstance(v, tuple) else v) for k, v in asdict(cfg).items()},
        "devices_used": res.devices, "elapsed_s": elapsed_s, "checks": [asdict(c) for c in checks],
        "versions": versions()}, indent=2) + "\n")
    return [md, csv_path, txt, info]


# ---- figure ------------------------------------------------------------------------------
BACKEND_STYLE = {"xgboost": "-", "lightgbm": "--"}
BACKEND_MARKER = {"xgboost": "o", "lightgbm": "s"}


def margin_losses(z: np.ndarray) -> dict[str, np.ndarray]:
    """Panel A: each loss as a function of the margin z = y f(x), y in {-1, +1}.

    The boostobj losses are evaluated through their own ``point_loss`` (on the
    logit margin for exponential, whose margin is 2F, so exp(-z) at m = 2z).
    """
    s = np.ones_like(z)

    def ours(obj: Objective, m: np.ndarray) -> np.ndarray:
        return np.asarray(obj.base_loss.point_loss(np, s, m, 1.0))

    curves = {"0-1": (z <= 0).astype(float),
              "logistic (bits)": ours(boostobj.focal(0.0), z) / math.log(2),
              "hinge": ours(boostobj.hinge(), z),
              "modified Huber": ours(boostobj.modified_huber(), z),
              "exponential": ours(boostobj.exponential(), 2 * z),
              "squared (1 - z)²": (1 - z) ** 2}
    for g in FOCAL_GAMMAS:
        curves[f"focal γ={g:g} (bits)"] = ours(boostobj.focal(g), z) / math.log(2)
    return curves


def plot_figure(res: Results, summary: list[dict], out: Path) -> list[Path]:
    """One figure, panels A-E (D in two axes: learning curves and gradient magnitude)."""
    cfg = res.cfg
    fig, axes = plt.subplots(2, 3, figsize=(16, 9.5))
    (a, b, c), (d1, d2, e) = axes

    z = np.linspace(-3, 3, 601)
    colors = plt.cm.tab10(np.arange(10))
    for i, (name, v) in enumerate(margin_losses(z).items()):
        style = ":" if name.startswith("focal") else "-"
        a.plot(z, v, style, color=colors[i % 10], label=name, lw=1.6)
    a.set(xlabel="margin y·f(x)", ylabel="loss", ylim=(0, 4), title="A. losses against the margin")
    a.legend(fontsize=7, ncol=2)

    flips = list(cfg.flip_rates)
    for i, model in enumerate(NOISE_MODELS):
        for bk in cfg.backends:
            acc = [_get(summary, "B", f"flip={f:g}", bk, model, "accuracy") for f in flips]
            b.plot(flips, acc, BACKEND_STYLE[bk], marker=BACKEND_MARKER[bk], ms=3, color=colors[i],
                   label=f"{model} ({bk})")
    b.set(xlabel="fraction of training labels flipped", ylabel="test accuracy (clean labels)",
          title="B. label noise")
    b.legend(fontsize=6.5, ncol=2)

    names = list(imbalance_models())
    x = np.arange(len(names))
    for j, rate in enumerate(cfg.positive_rates):
        for bk in cfg.backends:
            base = _get(summary, "C", f"positives={rate:g}", bk, "logistic", "ap")
            rel = [_get(summary, "C", f"positives={rate:g}", bk, n, "ap") / base for n in names]
            c.plot(x + (0.12 if bk == "lightgbm" else -0.12), rel, BACKEND_MARKER[bk], color=colors[j], ms=5,
                   mfc="none" if bk == "lightgbm" else colors[j], label=f"{rate:g} positives ({bk})")
    c.axhline(1.0, color="0.5", lw=0.8)
    c.set_xticks(x, names, rotation=60, ha="right", fontsize=7)
    c.set(ylabel="average precision / built-in logistic's", title="C. imbalance (AP relative to logistic)")
    c.legend(fontsize=6.5)

    for i, name in enumerate(("cross-entropy", "squared error")):
        for bk in cfg.backends:
            curve = res.curves.get(("D", bk, name))
            if curve is not None:
                d1.plot(curve[:, 0], curve[:, 1], BACKEND_STYLE[bk], color=colors[i], label=f"{name} ({bk})")
    d1.set(xlabel="boosting round", ylabel="test log loss",
           title=f"D. K={cfg.n_classes} classes: learning curves (seed 0)")
    d1.legend(fontsize=7)

    p_true = np.linspace(0.001, 0.999, 400)
    ce, se = gradient_norms(p_true, cfg.n_classes)
    d2.plot(p_true, ce, color=colors[0], label="cross-entropy")
    d2.plot(p_true, se, color=colors[1], label="squared error on softmax")
    d2.set(xlabel="probability of the true class", ylabel="|gradient w.r.t. the K margins|",
           title="D. gradient magnitude (others share the rest)")
    d2.legend(fontsize=7)

    e.plot([0, 1], [0, 1], color="0.6", lw=0.8, label="perfect calibration")
    for i, name in enumerate(CALIBRATION_MODELS):
        for bk in cfg.backends:
            curve = res.curves.get(("E", bk, name))
            if curve is not None:
                e.plot(curve[0], curve[1], BACKEND_STYLE[bk], marker=BACKEND_MARKER[bk], ms=4, color=colors[i + 3],
                       mfc="none" if bk == "lightgbm" else colors[i + 3],
                       label=f"{name} ({bk})")
    e.set(xlabel="predicted P(y=1)", ylabel="observed frequency", title="E. reliability (test set, seed 0)")
    e.legend(fontsize=7)

    fig.suptitle(f"Classification losses on boosted trees ({cfg.n_estimators} trees, depth {cfg.max_depth}; "
                 f"B, C: means over {cfg.seeds} seed(s); solid / filled XGBoost, dashed / open LightGBM)")
    fig.tight_layout()
    return save_figure(fig, out / "classification")


# ---- command line ----------------------------------------------------------------------------
def build_parser() -> argparse.ArgumentParser:
    d = Config()
    p = argparse.ArgumentParser(
        prog="python experiments/classification.py",
        formatter_class=argparse.RawDescriptionHelpFormatter,
        description=__doc__.split("\n\n")[0] + "\n\n" + (
            "Panels: A loss curves; B label noise; C imbalance; D multi-class cross-entropy vs squared\n"
            "error on softmax outputs; E calibration of sigmoid(margin) of the exponential loss.\n"
            "[assumption] marks a data setting the study does not give (it names no data for these claims)."),
        epilog=(
            "Data [assumption]: B and E: X ~ N(0, I_6), logit = signal * (x0 - x1 + x2 x3 / 2 + sin(2 x4) / 2),\n"
            "y ~ Bern(sigmoid(logit)); B flips exactly round(rate * n) training labels and tests on unflipped\n"
            "labels; E uses signal 1 (a soft task, probabilities spread over (0, 1)). C: X ~ N(0, I_8),\n"
            "P(y=1) = sigmoid(b + 1.5 x0 + x1 - (x2^2 - 1)) with b set for the positive rate. D: K classes,\n"
            "softmax(1.5 X W), X ~ N(0, I_6), one fixed W ~ N(0, 1).\n"
            "Models: 'logistic' / 'cross-entropy' are the frameworks' built-in losses (binary:logistic and\n"
            "multi:softprob; binary and multiclass); all others are boostobj objectives in the boostobj\n"
            "drop-in classifiers; 'logistic balanced' uses scikit-learn's balanced sample weights; focal\n"
            "probabilities are boostobj's posterior (the focal link). D's squared error on softmax outputs\n"
            "is an objective defined in this script (Gauss-Newton curvature).\n"
            "Trees (our choice): the same for every loss; one thread per fit (small data).\n"
            f"Check thresholds: B exponential accuracy drop > logistic's + {NOISE_MARGIN}; C best focal AP >\n"
            f"logistic AP at the rarest rate, and gamma 2 / alpha 0.25 the best focal at every rate; D gradient\n"
            f"ratio < {VANISH_RATIO} at p_true = 0.01, cross-entropy lower log loss and accuracy >=; E exponential\n"
            f"ECE <= logistic ECE + {ECE_MARGIN}."))
    add_run_arguments(p, seeds=d.seeds, out=Path("results/classification"))
    g = p.add_argument_group("data (all defaults are [assumption]s)")
    g.add_argument("--n-train", type=positive_int, default=d.n_train,
                   help="training rows for B, D and E (default: %(default)s) [assumption]")
    g.add_argument("--n-test", type=positive_int, default=d.n_test,
                   help="test rows for B, D and E (default: %(default)s) [assumption]")
    g.add_argument("--signal", type=float_in(0.0, math.inf, low_open=True), default=d.signal,
                   help="logit scale of B's binary task (default: %(default)s) [assumption]")
    g.add_argument("--flip-rates", type=float_in(0.0, 0.5, high_open=True), nargs="+", default=list(d.flip_rates),
                   help="B's fractions of flipped training labels (default: 0 0.05 0.1 0.2)")
    g.add_argument("--n-imbalance", type=positive_int, default=d.n_imbalance,
                   help="C's training rows (default: %(default)s) [assumption]")
    g.add_argument("--n-imbalance-test", type=positive_int, default=d.n_imbalance_test,
                   help="C's test rows (default: %(default)s) [assumption]")
    g.add_argument("--positive-rates", type=float_in(0.0, 1.0, True, True), nargs="+",
                   default=list(d.positive_rates), help="C's positive rates (default: 0.1 0.01 0.001)")
    g.add_argument("--n-classes", type=positive_int, default=d.n_classes,
                   help="D's number of classes, >= 3 (default: %(default)s) [assumption]")
    t = p.add_argument_group("trees (our choice, the same for every loss)")
    t.add_argument("--n-estimators", type=positive_int, default=d.n_estimators,
                   help="boosting rounds (default: %(default)s)")
    t.add_argument("--learning-rate", type=float_in(0.0, 1.0, low_open=True), default=d.learning_rate,
                   help="shrinkage in (0, 1] (default: %(default)s)")
    t.add_argument("--max-depth", type=positive_int, default=d.max_depth,
                   help="tree depth; LightGBM gets num_leaves = 2**depth (default: %(default)s)")
    return p


def parse_config(argv: Sequence[str] | None = None) -> tuple[Config, Path, bool]:
    """Parse the command line into a Config, the output folder and the quiet flag (bad input: exit 2)."""
    parser = build_parser()
    a = parser.parse_args(argv)
    if a.max_depth > 16:
        parser.error(f"--max-depth must be <= 16 (LightGBM gets 2**depth leaves), got {a.max_depth}")
    if a.n_classes < 3:
        parser.error(f"--n-classes must be >= 3 (softmax multi-class), got {a.n_classes}")
    if len(a.flip_rates) < 2:
        parser.error("--flip-rates needs at least two rates (the check compares the lowest and the highest)")
    if a.n_imbalance * min(a.positive_rates) < 5:
        parser.error(f"--n-imbalance {a.n_imbalance} gives fewer than 5 expected positives at rate "
                     f"{min(a.positive_rates):g}; use more rows")
    if a.out.exists() and not a.out.is_dir():
        parser.error(f"--out {a.out} exists and is not a folder")
    cfg = Config(seeds=a.seeds, backends=BACKENDS if a.backend == "both" else (a.backend,), device=a.device,
                 n_estimators=a.n_estimators, learning_rate=a.learning_rate, max_depth=a.max_depth,
                 n_train=a.n_train, n_test=a.n_test, signal=a.signal, flip_rates=tuple(sorted(a.flip_rates)),
                 n_imbalance=a.n_imbalance, n_imbalance_test=a.n_imbalance_test, positive_rates=tuple(sorted(a.positive_rates, reverse=True)),
                 n_classes=a.n_classes, checkpoint_every=max(1, a.n_estimators // 10))
    return cfg, a.out, a.quiet


def run(cfg: Config, out: Path, quiet: bool = False,
        t_start: float | None = None) -> tuple[Results, list[dict], list[Check]]:
    """The whole experiment: fit, summarize, check, write the tables and the figure, print the checks."""
    t0 = time.perf_counter() if t_start is None else t_start
    with warnings.catch_warnings():
        warnings.simplefilter("once")  # one device-fallback warning, not one per fit
        res = run_experiment(cfg, progress=not quiet)
    summary = summarize(res.rows)
    checks = check_claims(summary, cfg)
    figs = plot_figure(res, summary, out)
    elapsed = time.perf_counter() - t0
    files = write_results(res, summary, checks, out, elapsed_s=elapsed)
    if not quiet:
        print(markdown_tables(summary))
        print("wrote " + ", ".join(str(p) for p in figs + files))
    print_checks(res.devices, checks)
    print(f"elapsed: {elapsed:.1f} s{' including imports' if t_start is not None else ''} "
          f"({len(cfg.backends)} backend(s) x {cfg.seeds} seed(s))")
    return res, summary, checks


def main(argv: Sequence[str] | None = None) -> int:
    """Run the experiment; the exit status is 1 when a check fails (unless --allow-failures)."""
    cfg, out, quiet = parse_config(argv)
    _, _, checks = run(cfg, out, quiet, t_start=_T_START)
    return exit_status(checks, build_parser().parse_args(argv).allow_failures)


if __name__ == "__main__":
    sys.exit(main())

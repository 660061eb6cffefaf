"""``check_loss``: what to run before trusting a loss, yours or ours.

It tests an objective the way the shipped losses are tested: the gradient
against finite differences of the loss (float64), the curvature positive and
finite, the majorization where the curvature is declared "mm", the start
against a numerical minimiser of the weighted mean loss, and weights as
repeated rows (start and gradients). It returns a report and raises
``LossCheckError`` naming what failed.

Examples
--------
>>> import boostobj
>>> report = boostobj.check_loss(boostobj.huber(2.0))
>>> report.passed, [c.name for c in report.checks]
(True, ['gradient', 'curvature', 'start', 'weights'])
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np

from boostobj.objective import Objective

__all__ = ["LossCheck", "LossCheckError", "LossReport", "check_loss"]


@dataclass(frozen=True)
class LossCheck:
    """One property of a loss, tested: its name, the verdict and the numbers behind it."""

    name: str
    passed: bool
    detail: str


@dataclass
class LossReport:
    """Every check of one objective (``check_loss``); ``passed`` when all passed."""

    objective: Objective
    checks: list[LossCheck] = field(default_factory=list)

    @property
    def passed(self) -> bool:
        return all(c.passed for c in self.checks)

    @property
    def failed(self) -> list[LossCheck]:
        return [c for c in self.checks if not c.passed]

    def __str__(self) -> str:
        lines = [f"check_loss({self.objective!r}): {'passed' if self.passed else 'FAILED'}"]
        lines += [f"  {'PASS' if c.passed else 'FAIL'} {c.name}: {c.detail}" for c in self.checks]
        return "\n".join(lines)


class LossCheckError(ValueError):
    """Raised by ``check_loss`` when a check fails; ``report`` holds them all.

    Examples
    --------
    >>> import numpy as np, boostobj
    >>> wrong = boostobj.custom("wrong_gradient", lambda y, m: (y - m) ** 2,
    ...                         gradient=lambda y, m: m - y, curvature="mm")   # should be 2 (m - y)
    >>> try:
    ...     boostobj.check_loss(wrong)
    ... except boostobj.LossCheckError as error:
    ...     print(error.report.passed)
    False
    """

    def __init__(self, report: LossReport):
        super().__init__(str(report))
        self.report = report


def _labels(obj: Objective, n: int, rng: np.random.Generator) -> np.ndarray:
    """Labels from the loss's domain (a custom loss's ``labels``; the task for ours)."""
    loss = obj.base_loss
    domain = getattr(loss, "labels", "binary" if loss.task != "regression" else "real")
    if domain == "binary":
        return rng.integers(0, 2, n).astype(np.float64)
    if domain == "nonnegative":  # zeros and a skewed positive part, as counts and amounts are
        return np.where(rng.random(n) < 0.3, 0.0, rng.gamma(2.0, 1.5, n))
    if domain == "positive":
        return rng.lognormal(0.5, 0.6, n)
    if callable(domain):  # a check only: try the domains in turn
        for draw in (lambda: rng.normal(size=n) * 3.0, lambda: rng.gamma(2.0, 1.5, n),
                     lambda: rng.integers(0, 2, n).astype(np.float64)):
            y = draw()
            try:
                domain(y)
                return y
            except ValueError:
                continue
        raise ValueError(f"check_loss could not draw labels its labels function accepts for {obj!r}")
    return rng.normal(size=n) * 3.0 + 1.0


def _finite_difference(obj: Objective, y: np.ndarray, m: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Central differences of the per-row loss at two steps, and where they agree (smooth there)."""
    def per_row(mm):
        return obj.base_loss.point_loss(np, obj.base_loss.encode_labels(np, y, 1), mm, obj.label_scale(y))

    out = []
    for step in (1e-5, 1e-6):
        h = step * np.maximum(1.0, np.abs(m))
        out.append((per_row(m + h) - per_row(m - h)) / (2 * h))
    smooth = np.abs(out[0] - out[1]) <= 1e-5 * (1.0 + np.abs(out[0]))
    return out[0], smooth


def check_loss(objective: Objective, *, rows: int = 200, seed: int = 0, raise_on_failure: bool = True
               ) -> LossReport:
    """Test an objective's loss the way boostobj tests its own; raise ``LossCheckError`` on a failure.

    Parameters
    ----------
    objective : Objective
        A one-output objective: ``boostobj.custom(...)``, a registered
        factory's, or a shipped one.
    rows : int
        Labels drawn from the loss's domain (its ``labels``) per check.
    seed : int
        The draws' seed.
    raise_on_failure : bool
        False: return the report with its failures instead of raising.

    Returns
    -------
    LossReport
        ``report.passed``, ``report.checks`` (name, passed, detail), and
        ``print(report)`` for a table.

    Examples
    --------
    >>> import numpy as np, boostobj
    >>> wrong = boostobj.custom("wrong", loss=lambda y, m: (y - m) ** 2,
    ...                         gradient=lambda y, m: m - y, hessian=lambda y, m: 1.0 + 0 * m)
    >>> report = boostobj.check_loss(wrong, raise_on_failure=False)
    >>> [c.name for c in report.failed]       # the gradient of (y - m)^2 is 2 (m - y)
    ['gradient']
    """
    if not isinstance(objective, Objective):
        raise ValueError(f"check_loss takes a boostobj Objective, got {type(objective).__name__}")
    if objective.n_outputs() != 1:
        raise ValueError(f"check_loss checks one-output objectives; {objective!r} has {objective.n_outputs()}")
    rng = np.random.default_rng(seed)
    loss = objective.base_loss
    y = _labels(objective, rows, rng)
    w = rng.uniform(0.5, 2.0, rows)
    report = LossReport(objective)
    start = float(objective.init_score(y, w))
    spread = float(objective.label_scale(y, w)) if loss.task == "regression" and \
        getattr(loss, "link_name", "identity") == "identity" else 1.0
    m = start + rng.normal(size=rows) * spread

    g, h = objective.grad_hess(y, m)
    fd, smooth = _finite_difference(objective, y, m)
    err = np.abs(g - fd)[smooth]
    tol = 1e-4 * (1.0 + np.abs(fd[smooth]))
    bad = int(np.sum(err > tol))
    report.checks.append(LossCheck(
        "gradient", bad == 0,
        f"against central differences of the loss on {int(smooth.sum())} smooth rows of {rows}: "
        f"{bad} off by more than 1e-4 relative (largest difference {float(err.max(initial=0)):.3g})"))

    ok = bool(np.all(np.isfinite(h)) and np.all(h > 0) and np.all(np.isfinite(g)))
    report.checks.append(LossCheck(
        "curvature", ok, f"finite and > 0 on {rows} rows (smallest {float(np.min(h)):.3g}, largest "
                         f"{float(np.max(h)):.3g})"))

    if getattr(loss, "curvature", None) == "mm":
        worst = 0.0
        scale = objective.label_scale(y)
        for d in np.linspace(-4, 4, 17) * spread:
            actual = loss.point_loss(np, y, m + d, scale)
            bound = loss.point_loss(np, y, m, scale) + g * d + 0.5 * h * d * d
            worst = max(worst, float(np.max((actual - bound) / (1.0 + np.abs(bound)))))
        report.checks.append(LossCheck(
            "majorization", worst <= 1e-9,
            f"the quadratic with the 'mm' curvature lies above the loss at 17 steps of up to 4 label "
            f"scales (largest excess {worst:.3g}, relative)"))

    from boostobj.custom import minimize_mean_loss

    found = _numerical_start(objective, y, w, minimize_mean_loss)
    at_start = objective.loss(y, np.full(rows, start), w)
    at_found = objective.loss(y, np.full(rows, found), w)
    report.checks.append(LossCheck(
        "start", at_start <= at_found + 1e-9 * (1.0 + abs(at_found)),
        f"mean loss {at_start:.10g} at init_score {start:.6g}; {at_found:.10g} at the numerical "
        f"minimiser {found:.6g}"))

    counts = rng.integers(0, 4, rows)
    counts[0] = max(counts[0], 1)
    reps = np.repeat(np.arange(rows), counts)
    start_w = float(objective.init_score(y, counts.astype(float)))
    start_r = float(objective.init_score(y[reps]))
    gw, hw = objective.grad_hess(y, m, counts.astype(float))
    gr, hr = objective.grad_hess(y[reps], m[reps])
    gs, hs = np.zeros(rows), np.zeros(rows)
    np.add.at(gs, reps, gr)
    np.add.at(hs, reps, hr)
    kept = counts > 0
    # a numerical start is as exact as the flat bottom of the mean loss allows: ~1e-8 relative
    same = (abs(start_w - start_r) <= 1e-6 * (abs(start_r) + spread)
            and np.allclose(gw[kept], gs[kept], rtol=1e-9, atol=1e-300)
            and np.allclose(hw[kept], hs[kept], rtol=1e-7, atol=1e-300))
    report.checks.append(LossCheck(
        "weights", same, f"integer weights 0-3 against repeated rows: start {start_w:.10g} vs {start_r:.10g}; "
                         "gradient and curvature summed over the copies"))

    if raise_on_failure and not report.passed:
        raise LossCheckError(report)
    return report


def _numerical_start(objective: Objective, y: np.ndarray, w: np.ndarray, minimize: Any) -> float:
    """A numerical minimiser of the weighted mean loss, independent of the loss's own start."""
    loss = objective.base_loss
    if hasattr(loss, "margin_range"):
        return minimize(loss, y, w)

    class _Range:  # a shipped loss: search its margins over the labels' range
        task, link = loss.task, loss.link

        def __init__(self) -> None:
            if loss.task == "regression":
                self.bounds = (float(np.min(y)), float(np.max(y)))
            else:
                self.bounds = (-60.0, 60.0)

        def margin_range(self, _y: np.ndarray) -> tuple[float, float]:
            return self.bounds

        def point_loss(self, xp: Any, t: Any, mm: Any, scale: Any) -> Any:
            return loss.point_loss(np, loss.encode_labels(np, y, 1), mm, objective.label_scale(y))

    return minimize(_Range(), y, w)

"""Exact leaf refit in LightGBM: each new tree's leaves set to the loss's exact optimum.

LightGBM's own ``quantile`` objective grows a tree from its gradients, then
sets every leaf to the alpha-quantile of its rows' residuals
(``RenewTreeOutput``). A custom objective cannot take that step: it hands
over gradient and curvature only, and a Newton step on the pinball loss's
MM curvature moves a tail quantile's leaves slowly (issue 10;
``benchmarks/results/leaf_refit.md``). ``LeafRefit`` takes the step from
Python for every loss with ``exact_leaf_refit``: after each
``Booster.update`` it sets the new trees' leaves with
``Booster.set_leaf_output`` to the learning rate times ``loss.leaf_values``
of their training rows (scaled by W / (W + lambda_l2) for a leaf of weight
W, and clipped to ``max_delta_step``, so both keep their meaning).

LightGBM's cached training and validation scores do not see
``set_leaf_output``. ``LeafRefit`` therefore keeps the model's margins for
the training set and each validation set itself (it adds every tree's
final leaf values, found with ``predict(pred_leaf=True)`` on the raw data)
and hands those to the objective and to every callable metric in place of
the stale cache: the gradients, eval results, early stopping,
``best_iteration`` and continued training all see the model as it is
saved. Built-in (string) metrics are computed inside LightGBM from its
cache, so the drop-ins do not refit when one is asked for (they warn).

``boostobj.sklearn.LGBMRegressor`` uses it (hence ``IntervalRegressor`` with
the LightGBM backend) and grows the trees with ``loss.for_leaf_refit()``
(for the quantile loss a flatter curvature, see ``Quantile``);
``leaf_refit=False`` turns it off. It is exact for
plain gradient boosting only: the drop-ins leave it out for ``dart`` and
``rf`` (which rescale or average trees), ``linear_tree`` (linear leaves)
and monotone constraints (a refit leaf could break them). Leaves are refit
from every training row, also those left out of a bagging round.

With ``lgb.train`` pass the callback yourself, with the raw data of the
training set and of each validation set, and grow with the refit's loss::

    obj = boostobj.quantile(0.1)
    grower = obj.with_loss(obj.base_loss.for_leaf_refit())
    bst = lgb.train({"objective": grower, "metric": "None"}, obj.dataset(X, y), 100,
                    valid_sets=[obj.dataset(X_valid, y_valid, reference=train)], feval=obj.metric,
                    callbacks=[LeafRefit(obj.base_loss, X, [X_valid])])

Example
-------
>>> import numpy as np, boostobj
>>> from boostobj.sklearn import LGBMRegressor
>>> rng = np.random.default_rng(0)
>>> X = rng.uniform(0, 10, (500, 1)); y = X[:, 0] + rng.lognormal(size=500)
>>> m = LGBMRegressor(objective=boostobj.quantile(0.1), n_estimators=5, verbose=-1).fit(X, y)
>>> leaf = m.booster_.predict(X, start_iteration=4, num_iteration=1, pred_leaf=True).ravel()
>>> residual = y - m.booster_.predict(X, num_iteration=4, raw_score=True)
>>> j = leaf[0]  # the last tree's leaf of row 0 is 0.1 x the 10% quantile of its residuals
>>> value = 0.1 * np.quantile(residual[leaf == j], 0.1, method="inverted_cdf")
>>> bool(np.isclose(m.booster_.get_leaf_output(4, int(j)), value, rtol=1e-5))
True
"""

from __future__ import annotations

import warnings
from typing import Any, Sequence

import lightgbm as lgb
import numpy as np

from boostobj.losses import Loss

__all__ = ["LeafRefit", "builtin_metrics", "refit_blockers"]

_LEARNING_RATE = ("learning_rate", "shrinkage_rate", "eta")
_LAMBDA_L2 = ("lambda_l2", "reg_lambda", "lambda", "l2_regularization")
_MAX_DELTA = ("max_delta_step", "max_tree_output", "max_leaf_output")
_BOOSTING = ("boosting", "boosting_type", "boost")
_MONOTONE = ("monotone_constraints", "mc", "monotone_constraint", "monotonic_cst")
_METRIC = ("metric", "metrics", "metric_types")
_THREADS = ("num_threads", "num_thread", "nthread", "nthreads", "n_jobs")
_NO_METRIC = {None, "", "none", "null", "custom", "na"}


def _param(params: dict, names: Sequence[str], default: float) -> float:
    for name in names:
        if params.get(name) is not None:
            return float(params[name])
    return default


def builtin_metrics(params: dict, eval_metric: Any = None) -> list[str]:
    """The built-in (string) metrics LightGBM would compute from its own cached scores.

    >>> builtin_metrics({"metric": "l1,quantile"}, ["None", len])
    ['l1', 'quantile']
    """
    found: list[str] = []
    for value in [params.get(k) for k in _METRIC] + [eval_metric]:
        for m in value if isinstance(value, (list, tuple)) else [value]:
            if isinstance(m, str):
                found += [s.strip() for s in m.split(",") if s.strip().lower() not in _NO_METRIC]
    return found


def refit_blockers(params: dict) -> list[str]:
    """Why an exact refit would not be exact under these LightGBM params (empty: it is).

    >>> refit_blockers({"boosting_type": "dart", "monotone_constraints": [0, 1]})
    ["boosting_type='dart' rescales or averages trees", 'monotone_constraints could be broken by a refit leaf']
    """
    out = []
    for k in _BOOSTING:
        if params.get(k) is not None and str(params[k]).lower() not in ("gbdt", "gbrt", "goss"):
            out.append(f"{k}={params[k]!r} rescales or averages trees")
    if str(params.get("linear_tree", False)).lower() in ("true", "1"):
        out.append("linear_tree=True has linear leaves")
    for k in _MONOTONE:
        if params.get(k) is not None and np.any(np.asarray(params[k]) != 0):
            out.append(f"{k} could be broken by a refit leaf")
    return out


def _raw(X: Any) -> Any:
    """Data Booster.predict takes: pandas and scipy sparse as they are, anything else as an array."""
    if hasattr(X, "iloc") or hasattr(X, "tocsr"):
        return X
    return np.asarray(X)


class LeafRefit:
    """A LightGBM callback that refits each new tree's leaves to ``loss.leaf_values``.

    Pass it in ``callbacks`` with the raw training data ``X`` and the raw data
    of each validation set LightGBM adds (in order, leaving out an eval set
    that is the training set itself). On the first iteration it takes over
    the booster's ``update`` and its cached scores (see the module
    docstring). ``loss`` must have ``exact_leaf_refit``.
    """

    before_iteration = True
    order = 0  # before LightGBM's own before-iteration callbacks

    def __init__(self, loss: Loss, X: Any, eval_X: Sequence[Any] = ()):
        if not loss.exact_leaf_refit:
            raise ValueError(f"{loss!r} has no exact leaf refit")
        self.loss = loss
        self.data = [_raw(X)] + [_raw(Xe) for Xe in eval_X]
        self.booster: lgb.Booster | None = None

    def __call__(self, env: Any) -> None:
        if self.booster is None:
            self._attach(env.model)
        elif env.model is not self.booster:
            raise RuntimeError("a LeafRefit callback serves one training; make a new one per fit")

    def _attach(self, booster: lgb.Booster) -> None:
        cached = getattr(booster, "_Booster__inner_predict", None)
        if cached is None:  # a LightGBM whose internals moved: train unrefit, loudly
            warnings.warn("this LightGBM version hides its cached scores; training without the exact "
                          "leaf refit", RuntimeWarning, stacklevel=3)
            self.booster = booster
            return
        n_sets = 1 + len(booster.valid_sets)
        if n_sets != len(self.data):
            raise RuntimeError(f"LeafRefit was given {len(self.data)} data sets, the booster has {n_sets}")
        self.booster = booster
        self.k = booster.num_model_per_iteration()
        # LightGBM's cache is right until the first refit: init score and init model included
        self.margins = [np.array(cached(data_idx=i), dtype=np.float64) for i in range(n_sets)]
        self.label = np.asarray(booster.train_set.get_label(), dtype=np.float64)
        w = booster.train_set.get_weight()
        self.weight = None if w is None or not len(w) else np.asarray(w, dtype=np.float64)
        booster._Booster__inner_predict = self._margin  # type: ignore[attr-defined]
        booster.update = self._update  # type: ignore[method-assign]

    def _margin(self, *, data_idx: int) -> np.ndarray:
        return self.margins[data_idx]

    def _update(self, train_set: Any = None, fobj: Any = None) -> bool:
        booster = self.booster
        if train_set is not None and train_set is not booster.train_set:
            raise ValueError("the exact leaf refit keeps the training set's margins: it cannot switch "
                             "training sets mid-training")
        finished = lgb.Booster.update(booster, fobj=fobj)
        self._refit(booster.current_iteration() - 1)
        return finished

    def _refit(self, iteration: int) -> None:
        booster, k = self.booster, self.k
        params = booster.params
        lr = _param(params, _LEARNING_RATE, 0.1)
        lam = _param(params, _LAMBDA_L2, 0.0)
        cap = _param(params, _MAX_DELTA, 0.0)
        # Booster.predict takes no thread count from the training params: without one, OpenMP's
        # default (every core) competes with the training threads
        threads = next((int(params[n]) for n in _THREADS if params.get(n) is not None), 0)
        leaves = [np.asarray(booster.predict(X, start_iteration=iteration, num_iteration=1, pred_leaf=True,
                                             num_threads=threads), dtype=np.intp).reshape(-1, k)
                  for X in self.data]
        margins = [m.reshape(len(m), -1) for m in self.margins]  # views: (n, K)
        for j in range(k):
            tree = iteration * k + j
            n_leaves = 1 + max(int(leaf[:, j].max()) for leaf in leaves if len(leaf))
            values = np.array([booster.get_leaf_output(tree, i) for i in range(n_leaves)])
            if n_leaves > 1:  # LightGBM refits only trees that split, too
                leaf = leaves[0][:, j]
                exact = self.loss.leaf_values(self.label - margins[0][:, j], self.weight, leaf, n_leaves, j)
                if lam > 0:
                    weight = np.bincount(leaf, weights=self.weight, minlength=n_leaves)
                    exact = exact * (weight / (weight + lam))
                if cap > 0:
                    exact = np.clip(exact, -cap, cap)
                for i in np.flatnonzero(np.isfinite(exact)):  # a leaf without rows keeps its value
                    values[i] = lr * exact[i]
                    booster.set_leaf_output(tree, int(i), float(values[i]))
            for leaf, m in zip(leaves, margins):
                m[:, j] += values[leaf[:, j]]

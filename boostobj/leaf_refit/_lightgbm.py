"""The LightGBM half of the leaf refit: ``LeafRefit``, a callback that sets leaves with ``set_leaf_output``."""

from __future__ import annotations

import warnings
from typing import Any, Sequence

import lightgbm as lgb
import numpy as np

from boostobj.frameworks import (
    ALIASES,
    lightgbm_cached_scores,
    lightgbm_leaf_counts,
    lightgbm_leaf_values,
    lightgbm_score_reader,
    lightgbm_set_leaf_values,
    param,
    serve_lightgbm_scores,
)
from boostobj.leaf_refit._shared import leaf_targets, round_leaves
from boostobj.losses import Loss

_BOOSTING, _MONOTONE, _METRIC = ALIASES["boosting"], ALIASES["monotone_constraints"], ALIASES["metric"]
_THREADS = ALIASES["num_threads"]
_NO_METRIC = {None, "", "none", "null", "custom", "na"}


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


def _kept_raw(dataset: Any) -> Any:
    """A Dataset's raw data where LightGBM kept it (not a file path), else None."""
    data = getattr(dataset, "data", None)
    return None if data is None or isinstance(data, (str, bytes)) or hasattr(data, "__fspath__") else _raw(data)


def _raw(X: Any) -> Any:
    """Data Booster.predict takes: pandas and scipy sparse as they are, anything else as an array."""
    if hasattr(X, "iloc") or hasattr(X, "tocsr"):
        return X
    return np.asarray(X)


class LeafRefit:
    """A LightGBM callback that refits each new tree's leaves to ``loss.leaf_values``.

    ``obj.leaf_refit()`` is the way to use it in ``lgb.train`` (it also grows
    the trees with the refit's loss). Built by hand, pass it in
    ``callbacks``; ``X`` and ``eval_X`` (the raw data of the training set and
    of each validation set LightGBM adds, in order) are optional: each row's
    leaf is read off LightGBM's cached scores, and the raw data serves only
    when two leaves of a round share one value. On the first iteration it
    takes over the booster's ``update`` and its cached scores (see the module
    docstring). ``loss`` must have ``exact_leaf_refit``. A row of weight w
    refits as w rows, in the leaf values and in their ``lambda`` shrinkage.

    Examples
    --------
    >>> import numpy as np, lightgbm as lgb, boostobj
    >>> from boostobj.leaf_refit import LeafRefit
    >>> rng = np.random.default_rng(0)
    >>> X = rng.uniform(0, 10, (400, 1)); y = X[:, 0] + rng.lognormal(size=400)
    >>> obj = boostobj.quantile(0.2); grower = obj.with_loss(obj.base_loss.for_leaf_refit())
    >>> train = obj.dataset(X, y)
    >>> refit = LeafRefit(obj.base_loss)
    >>> bst = lgb.train({"objective": grower, "verbose": -1, "num_leaves": 4}, train, 5, callbacks=[refit])
    >>> refit.unrefit_rounds   # every round's leaves were told apart and refit
    0
    """

    before_iteration = True
    order = 0  # before LightGBM's own before-iteration callbacks

    def __init__(self, loss: Loss, X: Any = None, eval_X: Sequence[Any] = (), *,
                 regrow: tuple[Any, Any] | None = None):
        if not loss.exact_leaf_refit:
            raise ValueError(f"{loss!r} has no exact leaf refit")
        if X is None and len(eval_X):
            raise ValueError("eval_X needs X: pass the raw data of every set, or of none")
        self.loss = loss
        self.data = None if X is None else [_raw(X)] + [_raw(Xe) for Xe in eval_X]
        # (the objective given in params, the one that grows the trees instead): Objective.leaf_refit's
        self.regrow = regrow
        self.booster: lgb.Booster | None = None

    def __call__(self, env: Any) -> None:
        if self.booster is None:
            self._attach(env.model)
        elif env.model is not self.booster:
            raise RuntimeError("a LeafRefit callback serves one training; make a new one per fit")

    def _attach(self, booster: lgb.Booster) -> None:
        cached = lightgbm_score_reader(booster)
        if cached is None:  # a LightGBM whose internals moved: train unrefit, loudly
            warnings.warn("this LightGBM version hides its cached scores; training without the exact "
                          "leaf refit", RuntimeWarning, stacklevel=3)
            self.booster = booster
            return
        n_sets = 1 + len(booster.valid_sets)
        if self.data is None:  # each set's raw data where LightGBM kept it (free_raw_data=False)
            self.data = [_kept_raw(d) for d in [booster.train_set, *booster.valid_sets]]
        if n_sets != len(self.data):
            raise RuntimeError(f"LeafRefit was given {len(self.data)} data sets, the booster has {n_sets}")
        self.booster = booster
        self.k = booster.num_model_per_iteration()
        # LightGBM's cache is right until the first refit: init score and init model included
        self.margins = [np.array(cached(data_idx=i), dtype=np.float64) for i in range(n_sets)]
        self.label = np.asarray(booster.train_set.get_label(), dtype=np.float64)
        w = booster.train_set.get_weight()
        self.weight = None if w is None or not len(w) else np.asarray(w, dtype=np.float64)
        # LightGBM's own cached scores (unrefit leaves): each round's tree is read off their change
        self.raw = [lightgbm_cached_scores(booster, i, self.k) for i in range(n_sets)]
        self.unrefit_rounds = 0  # rounds whose leaves could not be told apart (see _refit)
        serve_lightgbm_scores(booster, self._margin)
        booster.update = self._update  # type: ignore[method-assign]

    def _margin(self, *, data_idx: int) -> np.ndarray:
        return self.margins[data_idx]

    def _update(self, train_set: Any = None, fobj: Any = None) -> bool:
        booster = self.booster
        if train_set is not None and train_set is not booster.train_set:
            raise ValueError("the exact leaf refit keeps the training set's margins: it cannot switch "
                             "training sets mid-training")
        if self.regrow is not None and fobj is self.regrow[0]:
            fobj = self.regrow[1]
        finished = lgb.Booster.update(booster, fobj=fobj)
        self._refit(booster.current_iteration() - 1)
        return finished

    def _refit(self, iteration: int) -> None:
        booster, k = self.booster, self.k
        params = booster.params
        lr = param(params, "learning_rate", 0.1)
        lam = param(params, "lambda_l2", 0.0)
        cap = param(params, "max_delta_step", 0.0)
        # Booster.predict takes no thread count from the training params: without one, OpenMP's
        # default (every core) competes with the training threads
        threads = next((int(params[n]) for n in _THREADS if params.get(n) is not None), 0)
        grown = [lightgbm_leaf_values(booster, iteration * k + j, n_leaves)
                 for j, n_leaves in enumerate(lightgbm_leaf_counts(booster, iteration, k))]
        leaves, now = [], []
        for idx, X in enumerate(self.data):
            scores = lightgbm_cached_scores(booster, idx, k)
            found = None if scores is None or self.raw[idx] is None else round_leaves(
                self.raw[idx], scores, [(j, np.arange(len(v)), v) for j, v in enumerate(grown)])
            if found is None and X is not None:  # not decidable from the cache: ask LightGBM (raw data)
                found = np.asarray(booster.predict(X, start_iteration=iteration, num_iteration=1,
                                                   pred_leaf=True, num_threads=threads),
                                   dtype=np.intp).reshape(-1, k)
            leaves.append(found)
            now.append(scores)
        if any(found is None for found in leaves):
            # two leaves of one value (or scores hidden) and no raw data to tell them apart: this
            # round's trees keep the leaves they were grown with, and each set's margin takes
            # LightGBM's own change of it
            for idx, m in enumerate(self.margins):
                if now[idx] is None:
                    raise RuntimeError("LightGBM's cached scores are unreadable and no raw data was "
                                       "given: pass X (and eval_X) to LeafRefit")
                m += (now[idx] - self.raw[idx]).reshape(m.shape)
                self.raw[idx] = now[idx]
            self.unrefit_rounds += 1
            return
        self.raw = now
        margins = [m.reshape(len(m), -1) for m in self.margins]  # views: (n, K)
        for j in range(k):
            tree = iteration * k + j
            values = grown[j].copy()
            n_leaves = len(values)
            if n_leaves > 1:  # LightGBM refits only trees that split, too
                exact = leaf_targets(self.loss, self.label - margins[0][:, j], self.weight, leaves[0][:, j],
                                      n_leaves, j, lam, cap)
                refit = np.flatnonzero(np.isfinite(exact))  # a leaf without rows keeps its value
                values[refit] = lr * exact[refit]
                lightgbm_set_leaf_values(booster, tree, refit, values[refit])
            for leaf, m in zip(leaves, margins):
                m[:, j] += values[leaf[:, j]]

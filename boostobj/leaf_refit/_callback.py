"""The leaf refit for native training: one callback for ``xgb.train`` and ``lgb.train``."""

from __future__ import annotations

from typing import Any

import xgboost as xgb

from boostobj.leaf_refit._lightgbm import LeafRefit, builtin_metrics, refit_blockers
from boostobj.leaf_refit._xgboost import XGBLeafRefit


class RefitCallback(xgb.callback.TrainingCallback):
    """The exact leaf refit of a boostobj objective in ``xgb.train`` or ``lgb.train``.

    Made by ``Objective.leaf_refit()``; pass it in ``callbacks`` and the
    objective itself as ``obj=`` (XGBoost) or ``params["objective"]``
    (LightGBM). It grows each tree with the refit's growth loss
    (``loss.for_leaf_refit()``) in place of the objective given, then sets
    every leaf to its rows' exact optimum (``XGBLeafRefit``, ``LeafRefit``),
    with validation sets, early stopping, continued training and model files
    working as without it. LightGBM needs no raw data: each row's leaf is
    read off LightGBM's cached scores (where two leaves of a round share one
    value and the data sets' raw data is gone, that round keeps its grown
    leaves). One callback serves one training.

    Raises ``ValueError`` where the refit would not be exact (dart, random
    forests, linear trees, monotone constraints) and, with LightGBM, for a
    built-in metric (computed from scores that do not see the refit): pass
    ``metric: "None"`` and ``feval=obj.metric`` instead.

    Examples
    --------
    >>> import numpy as np, lightgbm as lgb, xgboost as xgb, boostobj
    >>> rng = np.random.default_rng(0)
    >>> X = rng.uniform(0, 10, (500, 1)); y = X[:, 0] + rng.lognormal(size=500)
    >>> obj = boostobj.quantile(0.1)
    >>> params = {"objective": obj, "verbose": -1, "num_leaves": 4}
    >>> train = obj.dataset(X, y)   # starts from obj.init_score(y)
    >>> m = obj.record(lgb.train(params, train, 5, callbacks=[obj.leaf_refit()]), train)
    >>> leaf = m.predict(X, start_iteration=4, num_iteration=1, pred_leaf=True).ravel()
    >>> residual = y - m.predict(X, num_iteration=4, raw_score=True)
    >>> value = 0.1 * np.quantile(residual[leaf == leaf[0]], 0.1, method="inverted_cdf")
    >>> bool(np.isclose(m.get_leaf_output(4, int(leaf[0])), value, rtol=1e-5))
    True
    >>> d = xgb.DMatrix(X, label=y)
    >>> b = xgb.train({"base_score": obj.init_score(y), "max_depth": 2}, d, 5, obj=obj,
    ...               callbacks=[obj.leaf_refit()])
    """

    order = 0  # LightGBM: before its own before-iteration callbacks

    def __init__(self, objective: Any):
        loss = objective.base_loss
        if not loss.exact_leaf_refit:
            raise ValueError(f"{objective!r} has no exact leaf refit (quantile and multi-level quantile do)")
        self.objective = objective
        self.grower = objective.with_loss(loss.for_leaf_refit())
        self._xgboost: XGBLeafRefit | None = None
        self._lightgbm: LeafRefit | None = None

    # ---- XGBoost: a TrainingCallback ---------------------------------------------------------------
    def before_training(self, model: Any) -> Any:
        if self._xgboost is not None or self._lightgbm is not None:
            raise RuntimeError("a leaf_refit() callback serves one training; make a new one per fit")
        self._xgboost = XGBLeafRefit(self.objective.base_loss, regrow=(self.objective, self.grower))
        return self._xgboost.before_training(model)

    def after_training(self, model: Any) -> Any:
        return self._xgboost.after_training(model)

    def before_iteration(self, model: Any, epoch: int, evals_log: Any) -> bool:
        """XGBoost: nothing before an iteration. (LightGBM reads this attribute as "run me before
        each iteration", which a method, being truthy, says.)"""
        return False

    # ---- LightGBM: a callable of the callback environment --------------------------------------------
    def __call__(self, env: Any) -> None:
        if self._lightgbm is None:
            if self._xgboost is not None:
                raise RuntimeError("a leaf_refit() callback serves one training; make a new one per fit")
            params = env.model.params
            blockers = refit_blockers(params)
            if blockers:
                raise ValueError("the exact leaf refit would not be exact here: " + "; ".join(blockers))
            metrics = builtin_metrics(params)
            if metrics:
                raise ValueError(f"the built-in metric(s) {metrics} would be computed from LightGBM's scores "
                                 "without the refit leaves: pass 'metric': 'None' and feval=obj.metric")
            self._lightgbm = LeafRefit(self.objective.base_loss, regrow=(self.objective, self.grower))
        self._lightgbm(env)

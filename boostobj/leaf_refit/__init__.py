"""Exact leaf refit: each new tree's leaves set to the loss's exact optimum (LightGBM and XGBoost).

LightGBM's own ``quantile`` objective (and XGBoost's up to 3.3) grows a tree
from its gradients, then sets every leaf to the alpha-quantile of its rows'
residuals (``RenewTreeOutput`` / ``UpdateTreeLeaf``). A custom objective
cannot take that step: it hands over gradient and curvature only, and a
Newton step on the pinball loss's MM curvature moves a tail quantile's
leaves slowly (``benchmarks/results/quantile/leaf_refit.md``). The two
callbacks here take the step from Python for every loss with
``exact_leaf_refit``: ``LeafRefit`` for LightGBM (below) and
``XGBLeafRefit`` for XGBoost (its own docstring), both used by the drop-ins.

``LeafRefit``: after each ``Booster.update`` it sets the new trees' leaves
with ``Booster.set_leaf_output`` to the learning rate times
``loss.leaf_values`` of their training rows (scaled by W / (W + lambda_l2)
for a leaf of weight W, and clipped to ``max_delta_step``, so both keep
their meaning).

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

Examples
--------
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

from boostobj.leaf_refit._callback import RefitCallback
from boostobj.leaf_refit._lightgbm import LeafRefit, builtin_metrics, refit_blockers
from boostobj.leaf_refit._shared import leaves_from_sums
from boostobj.leaf_refit._xgboost import XGBLeafRefit, xgb_refit_blockers

__all__ = ["LeafRefit", "RefitCallback", "XGBLeafRefit", "builtin_metrics", "leaves_from_sums", "refit_blockers", "xgb_refit_blockers"]

"""The XGBoost half of the leaf refit: ``XGBLeafRefit``, corrections kept beside XGBoost's caches.

XGBoost has no set_leaf_output. A leaf can only be written by loading an edited model, and
loading drops XGBoost's prediction caches: writing every round would re-predict every tree
every round, a cost that grows with the square of the rounds. So the refit keeps each set's
margin corrections itself (what the refit leaves add to XGBoost's cached margins) and writes
the pending leaves once, when training ends or when something reads the model itself, into
the binary model in place.

Each round's leaves: on small data, from XGBoost's cached margins around the round and the
gradients it grew from (``_leaves_from_gradients``), with no read of the model, and where two
leaves share a value, with the rows' leaf ids from XGBoost; on larger data, or where rows were
subsampled, from the round's tree read out of the model (``XGBLeafRefit.model_reads`` counts
those rounds).
"""

from __future__ import annotations

import inspect
import json
import re
import warnings
import weakref
from typing import Any, NamedTuple

import numpy as np
import xgboost as xgb

from boostobj import _compiled
from boostobj.frameworks import (
    _labels_and_weights,
    _truthy,
    xgboost_leaf_ids,
    xgboost_round_model,
    xgboost_split_count,
    xgboost_training_margin,
)
from boostobj.leaf_refit._shared import leaf_targets, round_leaves
from boostobj.losses import Loss

_XGB_IDENTITY_OBJECTIVES = {"reg:squarederror"}  # what a booster trained with obj= predicts through
# Booster methods that read the trees: the pending leaves are written first
_XGB_READS_MODEL = ("save_model", "save_raw", "inplace_predict", "dump_model", "get_dump",
                    "get_fscore", "get_score", "trees_to_dataframe", "get_split_value_histogram",
                    "copy", "__copy__", "__deepcopy__", "__getitem__", "__iter__", "__getstate__")
# Training rows up to which a round's leaves are read off the cached margins and the round's
# gradients: where reading the round's tree from the model starts to cost less than grouping the
# margins' changes, with the compiled grouping and with NumPy's sort
_GRADIENT_ROWS = 200000
_GRADIENT_ROWS_SORTED = 20000


def xgb_refit_blockers(params: dict | None = None, config: dict | None = None) -> list[str]:
    """Why an exact refit would not be exact under these XGBoost params (empty: it is).

    XGBoost itself resolves the params (aliases, defaults) on a probe booster;
    ``config`` takes a booster's parsed ``save_config()`` instead.

    >>> xgb_refit_blockers({"booster": "dart", "rate_drop": 0.1})
    ["dart's dropout rescales trees"]
    >>> xgb_refit_blockers({"max_depth": 3, "monotone_constraints": "(1,0)"})
    ['monotone_constraints could be broken by a refit leaf']
    """
    if config is None:
        probe = {k: v for k, v in (params or {}).items() if v is not None and not callable(v)}
        probe["num_feature"] = 1  # a booster without data refuses to show its config otherwise
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # params meant for the sklearn wrapper, not the booster
            config = json.loads(xgb.Booster(probe).save_config())
    learner = config["learner"]
    train = learner["learner_train_param"]
    out = []
    booster = learner["gradient_booster"]
    dart = booster.get("dart_train_param", {})  # XGBoost >= 3.4: dropout is a gbtree setting
    if train.get("booster", "gbtree") == "dart" or float(dart.get("rate_drop", 0)) > 0 \
            or _truthy(dart.get("one_drop", "0")):
        out.append("dart's dropout rescales trees")
        return out
    if train.get("booster", "gbtree") != "gbtree":
        out.append(f"booster={train['booster']!r} has no tree leaves")
        return out
    if int(booster["gbtree_model_param"].get("num_parallel_tree", "1")) > 1:
        out.append("num_parallel_tree > 1 averages trees")
    if train.get("multi_strategy", "one_output_per_tree") != "one_output_per_tree":
        out.append(f"multi_strategy={train['multi_strategy']!r} has vector leaves")
    if booster["gbtree_train_param"].get("process_type", "default") != "default":
        out.append("process_type='update' changes existing trees")
    tree = booster.get("tree_train_param", {})
    if any(c not in "(),0 " for c in tree.get("monotone_constraints", "()")):
        out.append("monotone_constraints could be broken by a refit leaf")
    return out


class XGBLeafRefit(xgb.callback.TrainingCallback):
    """An XGBoost callback that refits each new tree's leaves to ``loss.leaf_values``.

    What ``LeafRefit`` does for LightGBM, for ``xgb.train`` with a boostobj
    objective as ``obj=`` (``boostobj.sklearn.XGBRegressor`` adds it itself):
    after each tree is grown, every leaf becomes the learning rate times its
    training rows' exact optimum (for the quantile loss the weighted
    alpha-quantile of the residuals; scaled by W / (W + lambda) and clipped to
    ``max_delta_step``, as XGBoost treats its own leaves). Grow the trees with
    ``obj.with_loss(obj.base_loss.for_leaf_refit())``.

    Exact for every consumer during training: the objective, custom metrics
    (``custom_metric``, the drop-ins' eval metric) and early stopping see the
    refit model's margins; a built-in metric, a checkpoint or anything that
    reads the trees gets the refit leaves written into the model first (each
    write makes XGBoost re-predict every tree, so ``disable_default_eval_metric``
    keeps long trainings fast). When training ends the model holds the refit
    leaves. A booster it would not be exact for (dart, random forests,
    vector leaves, monotone constraints) raises ``ValueError``. After
    training, ``model_reads`` counts the rounds whose new tree was read from
    the model rather than off XGBoost's cached margins and the gradients.

    Examples
    --------
    >>> import numpy as np, xgboost as xgb, boostobj
    >>> from boostobj.leaf_refit import XGBLeafRefit
    >>> rng = np.random.default_rng(0)
    >>> X = rng.uniform(0, 10, (500, 1)); y = X[:, 0] + rng.lognormal(size=500)
    >>> obj = boostobj.quantile(0.1); grower = obj.with_loss(obj.base_loss.for_leaf_refit())
    >>> d = xgb.DMatrix(X, label=y)
    >>> params = {"eta": 0.1, "lambda": 0, "max_depth": 2, "base_score": float(obj.init_score(y)),
    ...           "disable_default_eval_metric": 1}
    >>> bst = xgb.train(params, d, 5, obj=grower, callbacks=[XGBLeafRefit(obj.base_loss)])
    >>> leaf = bst[4:5].predict(d, pred_leaf=True).astype(int)
    >>> residual = y - bst[:4].predict(d, output_margin=True)
    >>> value = 0.1 * np.quantile(residual[leaf == leaf[0]], 0.1, method="inverted_cdf")
    >>> bool(np.isclose(bst[4:5].predict(d, output_margin=True)[0] - params["base_score"], value, rtol=1e-5))
    True
    """

    def __init__(self, loss: Loss, *, regrow: tuple[Any, Any] | None = None):
        if not loss.exact_leaf_refit:
            raise ValueError(f"{loss!r} has no exact leaf refit")
        self.loss = loss
        # (the objective given as obj=, the one that grows the trees instead): Objective.leaf_refit's
        self.regrow = regrow
        self.booster: xgb.Booster | None = None
        # the boostobj objective XGBoost's sklearn wrapper calls through its own (labels and weights
        # copied out of the DMatrix each round), set by the drop-ins: called on the DMatrix instead
        self._sklearn_objective: Any = None

    # -- the callback ------------------------------------------------------------------------------
    def before_training(self, model: xgb.Booster) -> xgb.Booster:
        if self.booster is not None:
            raise RuntimeError("an XGBLeafRefit callback serves one training; make a new one per fit")
        if not isinstance(model, xgb.Booster):
            raise TypeError("XGBLeafRefit refits a Booster's trees (xgb.train), not xgb.cv's folds")
        if hasattr(model, "_boostobj_refit"):
            raise ValueError("this training has an XGBLeafRefit already (the boostobj drop-ins add "
                             "their own: pass leaf_refit=False to use yours)")
        blockers = xgb_refit_blockers(config=json.loads(model.save_config()))
        if blockers:
            raise ValueError("the exact leaf refit would not be exact here: " + "; ".join(blockers)
                             + " (train without XGBLeafRefit)")
        self.booster = model
        self._pending: dict[int, list[_RefitTree]] = {}  # round -> its trees, not yet written
        self._sets: Any = weakref.WeakKeyDictionary()  # DMatrix -> [correction, rounds included]
        self._train: xgb.DMatrix | None = None
        self._config: dict | None = None  # the learner's config, parsed; None after a set_param
        self._splits = xgboost_split_count(model)  # the model's split nodes before this round
        self._gradient: tuple | None = None  # what the objective gave XGBoost this round
        self._after: np.ndarray | None = None  # XGBoost's training margins after the last round
        self.model_reads = 0  # rounds whose trees were read from the model (see _read_round)
        self._class = type(model)
        model.__class__ = _refitting(type(model))
        model._boostobj_refit = self  # type: ignore[attr-defined]
        return model

    def after_training(self, model: xgb.Booster) -> xgb.Booster:
        self.flush()
        model.__class__ = self._class
        del model._boostobj_refit  # type: ignore[attr-defined]
        return model

    # -- margins ------------------------------------------------------------------------------------
    def _correction(self, data: xgb.DMatrix, raw: np.ndarray) -> np.ndarray | None:
        """What the pending refit leaves add to XGBoost's margins ``raw`` of ``data`` (None: nothing)."""
        if not self._pending:
            return None
        n = data.num_row()
        entry = self._sets.get(data)
        if entry is None:  # [correction, rounds included, XGBoost's margins then]
            entry = self._sets[data] = [np.zeros(np.shape(raw), dtype=np.float32), min(self._pending), None]
        missing = [t for t in self._pending if t >= entry[1]]
        if missing:
            lo, hi = min(missing), max(missing) + 1
            trees = [tree for t in range(lo, hi) for tree in self._pending[t]]
            at = None
            if entry[2] is not None and hi == lo + 1:  # one new round: read its leaves off XGBoost's cache
                at = round_leaves(entry[2], raw, [(tree.group, np.arange(len(tree.grown)), tree.grown)
                                                  for tree in trees])
            if at is None:  # ask XGBoost, then name each row's leaf by its place in its tree's list
                leaves = xgboost_leaf_ids(self.booster, data, lo, hi)
                at = np.empty_like(leaves)
                col = 0
                for t in range(lo, hi):
                    for i in range(len(self._pending[t])):
                        at[:, col] = self._places(t, i)[leaves[:, col]]
                        col += 1
            corr = entry[0].reshape(n, -1)
            for col, tree in enumerate(trees):
                corr[:, tree.group] += (tree.refit - tree.grown)[at[:, col]]
            entry[1] = hi
        entry[2] = raw
        return entry[0]

    def _predict(self, booster: xgb.Booster, data: Any, args: tuple, kwargs: dict) -> Any:
        if data is self._train and not args and kwargs == _TRAINING_PREDICT:  # XGBoost's call each round
            # XGBoost's cache is what the last refit read after its round, unless a write reset it
            out, self._after = self._after, None
            if out is None:
                out = xgboost_training_margin(booster, data)
            if out is not None:
                self._margin, self._cached = self._train_margin, out
                return self._margin
        bound = _PREDICT.bind(booster, data, *args, **kwargs)
        bound.apply_defaults()
        a = bound.arguments
        plain = not (a["pred_leaf"] or a["pred_contribs"] or a["approx_contribs"] or a["pred_interactions"])
        whole = tuple(a["iteration_range"]) in ((0, 0), (0, booster.num_boosted_rounds()))
        if self._pending and not (isinstance(data, xgb.DMatrix) and plain and whole
                                  and (a["output_margin"] or a["training"] or self._identity())):
            self.flush()
        out = xgb.Booster.predict(booster, data, *args, **kwargs)
        if a["training"] and isinstance(data, xgb.DMatrix) and a["output_margin"]:
            # the objective's margins: kept in float64 from the first round on (the start and any
            # earlier trees from XGBoost, then every refit leaf), so a residual that is exactly 0
            # stays 0 at any label scale; XGBoost's float32 cache plus a float32 correction
            # would not (it broke scale equivariance through the sign of such residuals)
            if self._train is not data:
                self._train = data
                self._train_margin = np.array(out, dtype=np.float64)
            self._margin, self._cached = self._train_margin, out
            return self._margin
        corr = self._correction(data, out) if self._pending else None
        if corr is not None:
            out = out + corr.reshape(np.shape(out))
        return out

    def _learner(self) -> dict:
        """The booster's learner config, parsed once per set_param (a scheduler sets eta each round)."""
        if self._config is None:
            self._config = json.loads(xgb.Booster.save_config(self.booster))["learner"]
        return self._config

    def _identity(self) -> bool:
        return self._learner()["learner_train_param"].get("objective") in _XGB_IDENTITY_OBJECTIVES

    def _builtin_metrics(self) -> bool:
        learner = self._learner()
        return bool(learner.get("metrics")) or not _truthy(
            learner["learner_train_param"].get("disable_default_eval_metric", "0"))

    # -- the refit ----------------------------------------------------------------------------------
    def _update(self, booster: xgb.Booster, dtrain: xgb.DMatrix, iteration: int, fobj: Any) -> None:
        if fobj is None or not callable(fobj) or _is_xgb_objective(fobj):
            raise ValueError("XGBLeafRefit needs a boostobj objective passed as obj= (the refit hands it "
                             "the refit model's margins)")
        if self._train is not None and self._train is not dtrain:
            raise ValueError("the exact leaf refit keeps the training set's margins: it cannot switch "
                             "training sets mid-training")
        if self.regrow is not None and fobj is self.regrow[0]:
            fobj = self.regrow[1]
        if self._sklearn_objective is not None:
            fobj = self._sklearn_objective
        self._margin = self._gradient = None

        def grow(margin: np.ndarray, data: xgb.DMatrix) -> Any:
            self._gradient = fobj(margin, data)  # the round's leaf values are made of it
            return self._gradient

        xgb.Booster.update(booster, dtrain, iteration, grow)
        if self._margin is None or self._train is not dtrain:
            raise RuntimeError("XGBoost trained without predicting the training margins: this XGBoost "
                               "version is not supported by XGBLeafRefit")
        self._refit(booster, dtrain)

    def _refit(self, booster: xgb.Booster, dtrain: xgb.DMatrix) -> None:
        tree_param = self._learner()["gradient_booster"]["tree_train_param"]
        lr, lam, cap = (float(tree_param[k]) for k in ("eta", "lambda", "max_delta_step"))
        t = booster.num_boosted_rounds() - 1
        n = dtrain.num_row()
        after = xgboost_training_margin(booster, dtrain)
        if after is None:
            after = xgb.Booster.predict(booster, dtrain, output_margin=True, training=True)
        grown, at = self._read_round(booster, dtrain, t, after, tree_param)
        y, w = _labels_and_weights(dtrain)  # what the objective read this round (no copies)
        w = np.asarray(w, dtype=np.float64) if np.size(w) else None
        # before this round's tree; in float64 from the float32 labels in the same pass
        residual = np.subtract(np.reshape(y, (n, -1)), self._train_margin.reshape(n, -1), dtype=np.float64)
        trees = []
        for col, tree in enumerate(grown):
            place = at[:, col]
            exact = leaf_targets(self.loss, residual[:, tree.group], w, place, len(tree.grown), tree.group,
                                  lam, cap)
            # what XGBoost will store; a leaf without rows keeps its value
            refit = np.where(np.isfinite(exact), lr * exact, tree.grown).astype(np.float32)
            trees.append(tree._replace(refit=refit))
            # the objective's margins gain the refit leaf (every other set, the training set as an
            # eval set too, gets its correction from _correction)
            self._train_margin.reshape(n, -1)[:, tree.group] += refit[place]
        self._pending[t] = trees
        # one array, no second copy of the margins kept between rounds: the next round's before
        self._cached = self._after = after

    def _read_round(self, booster: xgb.Booster, dtrain: xgb.DMatrix, t: int, after: np.ndarray,
                    tree_param: dict) -> tuple[list[_RefitTree], np.ndarray]:
        """Round ``t``'s trees (their leaves as grown) and each training row's place in them (n, trees).

        On up to ``_GRADIENT_ROWS`` rows, from XGBoost's cached margins and
        the round's gradients (``_leaves_from_gradients``), checked against
        the model's split count; where two leaves share a value (fewer
        groups than leaves), with the rows' leaf ids from XGBoost instead of
        their margins' changes; else, or where the rows were subsampled,
        from the round's tree read out of the model (``model_reads`` counts
        those rounds).
        """
        n = dtrain.num_row()
        limit = _GRADIENT_ROWS if _compiled.available() else min(_GRADIENT_ROWS, _GRADIENT_ROWS_SORTED)
        if n <= limit:  # the split count walks every tree: only where the gradients' path can use it
            splits, before = xgboost_split_count(booster), self._splits
            self._splits = splits
            if splits is not None and before is not None and self._gradient is not None:
                found = _leaves_from_gradients(self._cached, after, self._gradient, tree_param)
                n_leaves = splits - before + after.size // n  # the round's: one more than its splits, per tree
                if found is not None and sum(len(v) for v in found[0]) == n_leaves:
                    return [_RefitTree(k, v, v, None) for k, v in enumerate(found[0])], found[1]
                if float(tree_param.get("subsample", 1.0)) >= 1.0:
                    # two leaves of one value look like one: XGBoost names each row's leaf (a pass
                    # over the rows, on small data less than reading the round's tree); subsampled
                    # rows grow from zero gradients, so there the model is read instead
                    ids = xgboost_leaf_ids(booster, dtrain, t, t + 1)
                    found = _leaves_from_gradients(self._cached, after, self._gradient, tree_param, ids)
                    if found is not None and sum(len(v) for v in found[0]) == n_leaves:
                        return [_RefitTree(k, v, v, _present(ids[:, k])) for k, v in enumerate(found[0])], found[1]
        self.model_reads += 1
        model = xgboost_round_model(booster, t)
        grown = _xgb_grown(model)
        leaves = round_leaves(self._cached, after, grown)
        if leaves is None:  # not decidable from the cache: ask XGBoost (one pass over the data)
            leaves = xgboost_leaf_ids(booster, dtrain, t, t + 1)
        trees, at = [], np.empty_like(leaves)
        for col, (group, nodes, values) in enumerate(grown):
            at[:, col] = _place_by_node(nodes)[leaves[:, col]]
            trees.append(_RefitTree(group, values, values, nodes))
        return trees, at

    def _places(self, t: int, i: int) -> np.ndarray:
        """Node id -> place in its leaf list, for tree ``i`` of pending round ``t`` (-1: no leaf)."""
        tree = self._pending[t][i]
        if tree.nodes is None:  # read off the gradients: find its nodes in the round's model
            model = xgboost_round_model(self.booster, t)
            self._pending[t] = [old._replace(nodes=_leaf_nodes(
                np.asarray(new["left_children"]), np.asarray(new["split_conditions"], dtype=np.float32), old.grown))
                for old, new in zip(self._pending[t], model["trees"])]
            tree = self._pending[t][i]
        return _place_by_node(tree.nodes)

    def flush(self) -> None:
        """Write the pending refit leaves into the booster (XGBoost then re-predicts from the trees)."""
        booster = self.booster
        if booster is None or not self._pending:
            return
        config = xgb.Booster.save_config(booster)
        raw = bytearray(xgb.Booster.save_raw(booster, "ubj"))
        trees = _ubj_trees(raw)
        k = len(next(iter(self._pending.values())))  # trees per round: one per output
        if trees is None or len(trees) != booster.num_boosted_rounds() * k:
            raw = self._json_with_refit(booster)
        else:
            for t, round_trees in self._pending.items():
                for i, refit in enumerate(round_trees):
                    left, conditions, weights = trees[t * k + i]
                    nodes = refit.nodes if refit.nodes is not None else _leaf_nodes(left, conditions, refit.grown)
                    conditions[nodes] = refit.refit
                    weights[nodes] = refit.refit
        xgb.Booster.load_model(booster, raw)
        xgb.Booster.load_config(booster, config)  # load_model resets the training parameters
        self._pending.clear()
        self._after = None  # XGBoost's caches start over
        self._sets = weakref.WeakKeyDictionary()  # XGBoost's caches start over from the trees

    def _json_with_refit(self, booster: xgb.Booster) -> bytearray:
        """The model as JSON with the pending leaves written (where its binary form is not as expected)."""
        js = json.loads(xgb.Booster.save_raw(booster, "json"))
        model = js["learner"]["gradient_booster"]["model"]
        indptr = model["iteration_indptr"]
        for t, trees in self._pending.items():
            for i, refit in enumerate(trees):
                tree = model["trees"][indptr[t] + i]
                nodes = refit.nodes
                if nodes is None:
                    nodes = _leaf_nodes(np.asarray(tree["left_children"]), np.asarray(tree["split_conditions"],
                                                                                      dtype=np.float32), refit.grown)
                for key in ("split_conditions", "base_weights"):
                    v = np.asarray(tree[key], dtype=np.float64)
                    v[nodes] = refit.refit
                    tree[key] = v.tolist()
        return bytearray(json.dumps(js).encode())


class _RefitTree(NamedTuple):
    """One refit XGBoost tree not yet written into the model; its arrays by leaf, in one order."""

    group: int  # its output
    grown: np.ndarray  # its leaves' float32 values as XGBoost grew them (what its caches added)
    refit: np.ndarray  # their float32 refit values
    nodes: np.ndarray | None  # their node ids; None until needed when read off the gradients


def _leaves_from_gradients(before: np.ndarray, after: np.ndarray, gradient: tuple, tree_param: dict,
                           leaf_ids: np.ndarray | None = None) -> tuple[list[np.ndarray], np.ndarray] | None:
    """One round's leaves from XGBoost's cached margins around it and the gradients it grew from.

    A row's float32 margin changed by its leaf's value v to within half a
    rounding step of its new margin, so a leaf's changes lie within its
    rows' largest step of each other: grouping the changes in order, cut
    where neighbours lie further apart than every row of their group could
    explain (repeated, as the groups shrink; ``_compiled.group_changes``)
    never splits a leaf, and groups
    two only where their values lie that close (the caller compares the
    count with the model's). ``leaf_ids`` (rows, trees), the round's node
    ids from ``xgboost_leaf_ids``, group the rows instead, where two leaves
    share a value. Each group's value is then XGBoost's own
    formula from its gradient sums, ``eta * -T(G) / (H + lambda)`` in
    float32 (T: the L1 threshold ``alpha``; clipped to ``max_delta_step``;
    0 below ``min_child_weight``), and every row must reach its cached
    margin with it to the bit. Returns (per tree: its leaves' values; each
    row's leaf as a place in that list, (n, trees)), or None where that
    fails (subsampled rows, for one, grow from zero gradients).
    """
    n = len(before)
    before, after = np.reshape(before, (n, -1)), np.reshape(after, (n, -1))
    grad = np.asarray(gradient[0], dtype=np.float32).reshape(n, -1)  # as XGBoost takes them
    hess = np.asarray(gradient[1], dtype=np.float32).reshape(n, -1)
    if grad.shape[1] != after.shape[1] or hess.shape != grad.shape or not n or after.dtype != np.float32:
        return None
    eta, lam, alpha, cap, least = (float(tree_param[k]) for k in
                                   ("eta", "lambda", "alpha", "max_delta_step", "min_child_weight"))
    values, at = [], np.empty(after.shape, dtype=np.intp)
    params = (eta, lam, alpha, cap, least)
    for k in range(after.shape[1]):
        found = None if leaf_ids is not None else _compiled.gradient_leaves(
            *(np.ascontiguousarray(a[:, k]) for a in (before, after, grad, hess)), params)
        if found is not None:  # the passes below in one compiled loop
            if found[1] is None:
                return None
            values.append(found[1])
            at[:, k] = found[0]
            continue
        if leaf_ids is None:
            change = after[:, k].astype(np.float64) - before[:, k]
            step = np.spacing(np.abs(after[:, k])).astype(np.float64)  # each row's rounding step
            place, m = _compiled.group_changes(change, step) or _group_changes_sorted(change, step)
        else:  # places by node id, in the order of the ids
            nodes = _present(leaf_ids[:, k])
            place = _place_by_node(nodes)[leaf_ids[:, k]]
            m = len(nodes)
        g = np.bincount(place, weights=grad[:, k], minlength=m)
        h = np.bincount(place, weights=hess[:, k], minlength=m)
        with np.errstate(divide="ignore", invalid="ignore"):
            w = -np.sign(g) * np.maximum(np.abs(g) - alpha, 0.0) / (h + lam)
        if cap > 0:
            w = np.clip(w, -cap, cap)
        v = np.where((h < least) | (h <= 0), 0.0, w).astype(np.float32) * np.float32(eta)
        if not np.array_equal(before[:, k] + v[place], after[:, k]):
            return None
        values.append(v)
        at[:, k] = place
    return values, at


def _present(ids: np.ndarray) -> np.ndarray:
    """The distinct node ids in ``ids``, ascending (``np.unique`` without its sort: ids are small)."""
    return np.flatnonzero(np.bincount(ids))


def _place_by_node(nodes: np.ndarray) -> np.ndarray:
    """Node id -> its place in the leaf list ``nodes`` (-1 for a node that is not in it)."""
    place = np.full(int(nodes.max()) + 1, -1, dtype=np.intp)
    place[nodes] = np.arange(len(nodes))
    return place


def _group_changes_sorted(change: np.ndarray, step: np.ndarray) -> tuple[np.ndarray, int]:
    """``_compiled.group_changes`` by a sort, without compiled loops."""
    order = np.argsort(change, kind="stable")  # faster than NumPy's default quicksort on floats
    gap = np.diff(change[order])
    step = step[order]
    cut = gap > step.max()
    while True:
        starts = np.flatnonzero(np.concatenate([[True], cut]))
        group = np.cumsum(np.concatenate([[0], cut]))
        finer = cut | (gap > np.maximum.reduceat(step, starts)[group[:-1]])
        if np.array_equal(finer, cut):
            break
        cut = finer
    place = np.empty(len(change), dtype=np.intp)
    place[order] = group
    return place, len(starts)


def _leaf_nodes(left_children: np.ndarray, values: np.ndarray, grown: np.ndarray) -> np.ndarray:
    """The node ids of a tree's leaves in the order of their values ``grown``.

    ``left_children`` and ``values`` (float32 ``split_conditions``) by node,
    as the model stores them. ``grown`` came from
    ``_leaves_from_gradients``, which saw every leaf with values XGBoost's to
    a few float32 steps (to the bit, as measured), so leaves pair up by rank
    of value, checked.
    """
    nodes = np.flatnonzero(np.asarray(left_children) == -1)
    values = np.asarray(values, dtype=np.float32)[nodes]
    order = np.argsort(values, kind="stable")
    by_rank = np.argsort(grown, kind="stable")
    # np.allclose(rtol=1e-6, atol=0) without its general checks: the writer runs it on every tree
    near = np.abs(values[order] - grown[by_rank]) <= 1e-6 * np.abs(grown[by_rank]) if len(nodes) == len(grown) else None
    if near is None or not near.all():
        raise RuntimeError("the leaf refit could not find a tree's leaves in the model XGBoost wrote")
    out = np.empty(len(nodes), dtype=np.intp)
    out[by_rank] = nodes[order]
    return out


# A tree's arrays in XGBoost's binary (UBJSON) model: the key after its length's last byte, then a
# typed array with an int64 count
_UBJ_ARRAYS = {key: re.compile(re.escape(bytes([len(key)]) + key + b"[$" + code + b"#L"))
               for key, code in ((b"left_children", b"l"), (b"split_conditions", b"d"), (b"base_weights", b"d"))}


def _ubj_trees(raw: bytearray) -> list[tuple[np.ndarray, np.ndarray, np.ndarray]] | None:
    """Writable views of every tree's (left_children, split_conditions, base_weights) in a UBJSON model.

    Written in place, they change the model without parsing it: the JSON
    round trip of a whole model costs more than the training rounds of
    small data. None where the arrays are not found as expected.
    """
    found = []
    for (key, pattern), dtype in zip(_UBJ_ARRAYS.items(), (">i4", ">f4", ">f4")):
        arrays = []
        for match in pattern.finditer(raw):
            count = int.from_bytes(raw[match.end():match.end() + 8], "big")
            arrays.append(np.frombuffer(raw, dtype=dtype, count=count, offset=match.end() + 8))
        found.append(arrays)
    if len({len(a) for a in found}) != 1 or any(len({len(a) for a in tree}) != 1 for tree in zip(*found)):
        return None
    return list(zip(*found))


def _xgb_grown(model: dict) -> list[tuple[int, np.ndarray, np.ndarray]]:
    """Per tree of one round's model JSON: its output, its leaf nodes and XGBoost's float32 leaf values."""
    out = []
    for tree, group in zip(model["trees"], model["tree_info"]):
        nodes = np.flatnonzero(np.asarray(tree["left_children"]) == -1)
        out.append((group, nodes, np.asarray(tree["split_conditions"], dtype=np.float32)[nodes]))
    return out


def _is_xgb_objective(fobj: Any) -> bool:
    base = getattr(getattr(xgb, "objective", None), "Objective", None)
    return base is not None and isinstance(fobj, base)


_PREDICT = inspect.signature(xgb.Booster.predict)
_TRAINING_PREDICT = {"output_margin": True, "training": True}  # how Booster.boost asks for the margins
_REFITTING: dict[type, type] = {}


def _refitting(cls: type) -> type:
    """``cls`` while an ``XGBLeafRefit`` trains it: margins corrected, the refit written before any read."""
    if cls not in _REFITTING:
        def flushing(name: str) -> Any:
            def method(self: Any, *args: Any, **kwargs: Any) -> Any:
                self._boostobj_refit.flush()
                return getattr(cls, name)(self, *args, **kwargs)
            method.__name__ = name
            return method

        def update(self: Any, dtrain: Any, iteration: int, fobj: Any = None) -> None:
            self._boostobj_refit._update(self, dtrain, iteration, fobj)

        def predict(self: Any, data: Any, *args: Any, **kwargs: Any) -> Any:
            return self._boostobj_refit._predict(self, data, args, kwargs)

        def set_param(self: Any, *args: Any, **kwargs: Any) -> Any:
            self._boostobj_refit._config = None
            return cls.set_param(self, *args, **kwargs)

        def eval_set(self: Any, *args: Any, **kwargs: Any) -> Any:
            refit = self._boostobj_refit
            if refit._pending and refit._builtin_metrics():  # computed from XGBoost's own margins
                refit.flush()
            return cls.eval_set(self, *args, **kwargs)

        def __reduce_ex__(self: Any, protocol: Any) -> Any:
            self._boostobj_refit.flush()
            state = cls.__getstate__(self)
            state.pop("_boostobj_refit", None)  # a copy is a finished model, not one in training
            return (_unpickle_booster, (cls, state))

        attrs = {name: flushing(name) for name in _XGB_READS_MODEL if hasattr(cls, name)}
        attrs.update(update=update, predict=predict, set_param=set_param, eval_set=eval_set,
                     __reduce_ex__=__reduce_ex__)
        _REFITTING[cls] = type(cls.__name__, (cls,), attrs)
    return _REFITTING[cls]


def _unpickle_booster(cls: type, state: dict) -> Any:
    booster = cls.__new__(cls)
    booster.__setstate__(state)
    return booster

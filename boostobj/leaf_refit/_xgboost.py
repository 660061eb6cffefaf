"""The XGBoost half of the leaf refit: ``XGBLeafRefit``, corrections kept beside XGBoost's caches.

XGBoost has no set_leaf_output. A leaf can only be written by loading an edited model, and
loading drops XGBoost's prediction caches: writing every round would re-predict every tree
every round, a cost that grows with the square of the rounds. So the refit keeps each set's
margin corrections itself (what the refit leaves add to XGBoost's cached margins) and writes
the pending leaves once, when training ends or when something reads the model itself.
"""

from __future__ import annotations

import inspect
import json
import warnings
import weakref
from typing import Any, NamedTuple

import numpy as np
import xgboost as xgb

from boostobj.frameworks import _labels_and_weights, _truthy, xgboost_round_model
from boostobj.leaf_refit._shared import leaf_targets, round_leaves
from boostobj.losses import Loss

_XGB_IDENTITY_OBJECTIVES = {"reg:squarederror"}  # what a booster trained with obj= predicts through
# Booster methods that read the trees: the pending leaves are written first
_XGB_READS_MODEL = ("save_model", "save_raw", "inplace_predict", "dump_model", "get_dump",
                    "get_fscore", "get_score", "trees_to_dataframe", "get_split_value_histogram",
                    "copy", "__copy__", "__deepcopy__", "__getitem__", "__iter__", "__getstate__")


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
    vector leaves, monotone constraints) raises ``ValueError``.

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
            leaves = None
            if entry[2] is not None and hi == lo + 1:  # one new round: read its leaves off XGBoost's cache
                leaves = round_leaves(entry[2], raw, self._pending[lo])
            if leaves is None:
                leaves = xgb.Booster.__getitem__(self.booster, slice(lo, hi)).predict(data, pred_leaf=True)
                leaves = np.asarray(leaves, dtype=np.intp).reshape(n, -1)
            corr = entry[0].reshape(n, -1)
            col = 0
            for t in range(lo, hi):
                for tree in self._pending[t]:
                    corr[:, tree.group] += tree.delta[leaves[:, col]]
                    col += 1
            entry[1] = hi
        entry[2] = raw
        return entry[0]

    def _predict(self, booster: xgb.Booster, data: Any, args: tuple, kwargs: dict) -> Any:
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
        self._margin = None
        xgb.Booster.update(booster, dtrain, iteration, fobj)
        if self._margin is None or self._train is not dtrain:
            raise RuntimeError("XGBoost trained without predicting the training margins: this XGBoost "
                               "version is not supported by XGBLeafRefit")
        self._refit(booster, dtrain)

    def _refit(self, booster: xgb.Booster, dtrain: xgb.DMatrix) -> None:
        tree_param = self._learner()["gradient_booster"]["tree_train_param"]
        lr, lam, cap = (float(tree_param[k]) for k in ("eta", "lambda", "max_delta_step"))
        t = booster.num_boosted_rounds() - 1
        model = xgboost_round_model(booster, t)
        n = dtrain.num_row()
        grown = _xgb_grown(model)
        after = xgb.Booster.predict(booster, dtrain, output_margin=True, training=True)
        leaves = round_leaves(self._cached, after, grown)
        if leaves is None:  # not decidable from the cache: ask XGBoost (one pass over the data)
            one = xgb.Booster.__getitem__(booster, slice(t, t + 1))
            leaves = np.asarray(one.predict(dtrain, pred_leaf=True), dtype=np.intp).reshape(n, -1)
        y, w = _labels_and_weights(dtrain)  # what the objective read this round (no copies)
        y = np.asarray(y, dtype=np.float64)
        w = np.asarray(w, dtype=np.float64) if np.size(w) else None
        residual = y.reshape(n, -1) - self._train_margin.reshape(n, -1)  # before this round's tree
        trees = []
        for col, (tree, (group, nodes, values)) in enumerate(zip(model["trees"], grown)):
            n_nodes = len(tree["left_children"])
            leaf = leaves[:, col]
            exact = leaf_targets(self.loss, residual[:, group], w, leaf, n_nodes, group, lam, cap)[nodes]
            # what XGBoost will store; a leaf without rows keeps its value
            refit = np.where(np.isfinite(exact), lr * exact, values).astype(np.float32)
            delta = np.zeros(n_nodes, dtype=np.float32)  # by node, as XGBoost names a row's leaf
            delta[nodes] = refit - values
            trees.append(_RefitTree(group, nodes, values, refit, delta))
            # the objective's margins gain the refit leaf (every other set, the training set as an
            # eval set too, gets its correction from _correction)
            by_node = np.zeros(n_nodes)
            by_node[nodes] = refit
            self._train_margin.reshape(n, -1)[:, group] += by_node[leaf]
        self._pending[t] = trees

    def flush(self) -> None:
        """Write the pending refit leaves into the booster (XGBoost then re-predicts from the trees)."""
        booster = self.booster
        if booster is None or not self._pending:
            return
        config = xgb.Booster.save_config(booster)
        js = json.loads(xgb.Booster.save_raw(booster, "json"))
        model = js["learner"]["gradient_booster"]["model"]
        indptr = model["iteration_indptr"]
        for t, trees in self._pending.items():
            for i, refit in enumerate(trees):
                tree = model["trees"][indptr[t] + i]
                for key in ("split_conditions", "base_weights"):
                    v = np.asarray(tree[key], dtype=np.float64)
                    v[refit.nodes] = refit.refit
                    tree[key] = v.tolist()
        xgb.Booster.load_model(booster, bytearray(json.dumps(js).encode()))
        xgb.Booster.load_config(booster, config)  # load_model resets the training parameters
        self._pending.clear()
        self._sets = weakref.WeakKeyDictionary()  # XGBoost's caches start over from the trees


class _RefitTree(NamedTuple):
    """One refit XGBoost tree not yet written into the model."""

    group: int  # its output
    nodes: np.ndarray  # its leaf nodes
    grown: np.ndarray  # their float32 values as XGBoost grew them (what its caches added)
    refit: np.ndarray  # their float32 refit values
    delta: np.ndarray  # refit - grown by node id (0 elsewhere), as XGBoost names a row's leaf


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

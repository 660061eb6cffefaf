"""Drop-in scikit-learn estimators: the stock names, with the traps removed.

``XGBRegressor``, ``XGBClassifier``, ``LGBMRegressor`` and ``LGBMClassifier``
subclass the frameworks' own estimators. With a boostobj objective they

- start from the loss-optimal constant (``obj.init_score(y, sample_weight)``):
  XGBoost through ``base_score``, LightGBM through ``init_score`` that is then
  baked into the first trees, so ``booster_.predict`` and saved models
  include it;
- predict on the target scale (``obj.predict``), with real probabilities
  from ``predict_proba`` (LightGBM's stock classifier returns raw scores for
  custom objectives);
- evaluate eval sets with the matching metric (``obj.metric``), so early
  stopping works;
- set ``num_target`` / ``num_class`` for multi-quantile objectives;
- refit every quantile leaf to its rows' exact residual quantile after the
  tree is grown, as LightGBM's own ``quantile`` does, shrunk in a leaf too
  small for its level (``boostobj.leaf_refit``, ``Quantile.leaf_values``;
  ``leaf_refit=False`` turns the refit off);
- take any class labels (``XGBClassifier`` too, which otherwise demands
  0..K-1) and pass scikit-learn's estimator checks (see
  ``tests/test_sklearn_compat.py``); LightGBM keeps unsplittable features
  (``feature_pre_filter=False``) so tiny data gives the constant model
  instead of LightGBM's abort with a callable objective.

With any other objective they behave exactly like the stock classes.

Examples
--------
>>> import numpy as np, boostobj
>>> from boostobj.sklearn import LGBMRegressor
>>> rng = np.random.default_rng(0)
>>> X = rng.normal(size=(300, 2)); y = 1000 + 100 * X[:, 0] + 10 * rng.normal(size=300)
>>> model = LGBMRegressor(objective=boostobj.quantile(0.9), n_estimators=50, verbose=-1).fit(X, y)
>>> bool(0.8 < np.mean(y <= model.predict(X)) < 1.0)
True
"""

from __future__ import annotations

import warnings
from typing import Any

import lightgbm as lgb
import numpy as np
import xgboost as xgb

from boostobj.device import normalize_device, resolve_device
from boostobj.frameworks import ALIASES, UNBALANCE_KEYS, _truthy, refuse_lightgbm_forest
from boostobj.leaf_refit import LeafRefit, XGBLeafRefit, builtin_metrics, refit_blockers, xgb_refit_blockers
from boostobj.model_io import attach, classes_from_record, make_record, model_outputs, objective_from_record, record_of
from boostobj.model_io import bake_start as _bake_init_score
from boostobj.objective import Objective
from boostobj.validation import check_float32_labels

__all__ = ["LGBMClassifier", "LGBMRegressor", "XGBClassifier", "XGBRegressor"]


def _ours(objective: Any) -> Objective | None:
    return objective if isinstance(objective, Objective) else None


def _n_rows(a: Any) -> int | None:
    """Rows of an array, data frame, sparse matrix or list; None where it has no length."""
    shape = getattr(a, "shape", None)
    if shape is not None and len(shape) > 0 and isinstance(shape[0], (int, np.integer)):
        return int(shape[0])
    try:
        return len(a)
    except TypeError:
        return None


def _check_lengths(X: Any, y: Any, kwargs: dict) -> None:
    """X and y (and each eval set's pair) must have one label per row.

    XGBoost reports a mismatch as a failed check in its C++ data layer and
    LightGBM's eval sets as a LightGBMError; both before anything names y.
    """
    pairs = [("X", "y", X, y)]
    for i, pair in enumerate(_eval_pairs(kwargs)):
        if not isinstance(pair, (tuple, list)) or len(pair) != 2:
            got = f"a {type(pair).__name__} of {len(pair)}" if isinstance(pair, (tuple, list)) \
                else f"a {type(pair).__name__}"
            raise ValueError(f"eval_set[{i}] must be an (X, y) pair, got {got}: pass "
                             "eval_set=[(X_valid, y_valid), ...]")
        pairs.append((f"eval_set[{i}] X", f"eval_set[{i}] y", pair[0], pair[1]))
    for x_name, y_name, Xa, ya in pairs:
        nx, ny = _n_rows(Xa), _n_rows(ya)
        if nx is not None and ny is not None and nx != ny:
            raise ValueError(f"{y_name} has {ny} labels but {x_name} has {nx} rows: "
                             "they must have one label per row")


def _check_fit_inputs(y: Any, sample_weight: Any, X: Any = None, kwargs: dict | None = None,
                      estimator: Any = None, obj: Objective | None = None) -> None:
    """Errors that must name their cause before the objective or the framework sees the data
    (with ``estimator`` and ``obj``: also a loss in the wrong kind of estimator)."""
    if estimator is not None and obj is not None:
        _check_task(estimator, obj)
    if y is None:
        raise ValueError("this estimator requires y to be passed, but the target y is None")
    if X is not None:
        _check_lengths(X, y, kwargs or {})
        for i, (_, ye) in enumerate(_eval_pairs(kwargs or {})):
            # LightGBM would score its Dataset's silent 0, XGBoost fail in its C++ data layer
            _check_finite_labels(ye, f"eval_set[{i}] y",
                                 "eval labels must be finite (drop those rows from the eval set)")
    if isinstance(y, (int, float, np.generic)) or (isinstance(y, np.ndarray) and y.ndim == 0):
        raise ValueError(f"y must be an array with one label per row, got the scalar {y!r}")
    if np.iscomplexobj(np.asarray(y)):  # the objective would drop the imaginary part
        raise ValueError("Complex data not supported: y is complex")
    if sample_weight is not None:
        w = np.asarray(sample_weight)
        n = _n_rows(y)
        if w.ndim == 0 or (n is not None and w.size != n):
            got = "a scalar" if w.ndim == 0 else f"{w.size} values"
            raise ValueError(f"sample_weight has {got} but y has {n} rows: pass one weight per row, "
                             "or sample_weight=None for no weights")
        if w.size and w.dtype.kind in "biuf" and np.all(w == 0):
            raise ValueError("sample_weight is all zero: at least one weight must be positive")


def _check_task(estimator: Any, obj: Objective) -> None:
    """A regression loss in a regressor, a classification loss in a classifier; else name the fix."""
    classifier = isinstance(estimator, (xgb.XGBClassifier, lgb.LGBMClassifier))
    framework = "XGB" if isinstance(estimator, xgb.XGBModel) else "LGBM"
    if classifier and obj.task == "regression":
        raise ValueError(f"{obj!r} is a regression loss: use boostobj.sklearn.{framework}Regressor, "
                         f"not {type(estimator).__name__}")
    if not classifier and obj.task != "regression":
        raise ValueError(f"{obj!r} is a classification loss: use boostobj.sklearn.{framework}Classifier, "
                         f"not {type(estimator).__name__}")


def _check_class_labels(y: Any) -> None:
    """Class labels: none missing (NaN, inf, None, pandas.NA), which an encoder would make a class of."""
    _check_finite_labels(y)
    arr = np.asarray(y)
    if arr.dtype.kind != "O":
        return
    for v in arr.ravel():
        try:
            missing = v is None or bool(v != v)  # NaN is the one value unequal to itself
        except TypeError:  # pandas.NA: its comparisons are NA, whose truth value raises
            missing = True
        if missing:
            raise ValueError(f"y contains a missing label ({v!r}); class labels must all be present "
                             "(drop those rows, or give the missing ones a class of their own)")


def _single_output_tags(tags: Any) -> Any:
    """A boostobj objective takes one label per row: no multi-output or multi-label y."""
    tags.target_tags.multi_output = False
    tags.target_tags.single_output = True
    if tags.classifier_tags is not None:
        tags.classifier_tags.multi_label = False
    return tags


def _gives_probability(obj: Objective | None) -> bool:
    """False for a loss whose margin carries no probability (the hinge loss)."""
    return obj is None or getattr(obj.base_loss.link, "probability", True)


class _needs_probability:
    """``predict_proba`` that does not exist when the objective has no probability link.

    Like scikit-learn's ``LinearSVC``: ``hasattr(model, "predict_proba")`` is
    False, so scorers and ``CalibratedClassifierCV`` use ``decision_function``,
    and a direct call raises an AttributeError that says what to do instead.
    """

    def __init__(self, fn: Any):
        self.fn = fn
        self.__doc__ = fn.__doc__

    def __get__(self, model: Any, owner: Any = None) -> Any:
        if model is None:
            return self.fn
        obj = _ours(getattr(model, "objective", None))
        if not _gives_probability(obj):
            raise AttributeError(
                f"{obj!r} gives no probabilities: the hinge loss is minimised by the class "
                "(sign(2p - 1)), not by P(y=1). Use decision_function for scores, or "
                "sklearn.calibration.CalibratedClassifierCV(model) for calibrated probabilities"
            )
        return self.fn.__get__(model, owner)


def _margin_classes(classes: np.ndarray, margin: np.ndarray) -> np.ndarray:
    """Classes from margins: the positive class where a 1-D margin is > 0, else the argmax."""
    return classes[(margin > 0).astype(int) if margin.ndim == 1 else np.argmax(margin, axis=1)]


def _as_base_score(init: Any) -> float | list[float]:
    return float(init) if np.ndim(init) == 0 else [float(v) for v in np.ravel(init)]


# the class-imbalance settings the frameworks apply only inside their built-in objectives
_IMBALANCE_KEYS = ("scale_pos_weight",) + UNBALANCE_KEYS


def _imbalance_weights(obj: Objective, y: Any, y_enc: Any, n_outputs: int, sample_weight: Any,
                       params: dict) -> Any:
    """``class_weight``, ``scale_pos_weight`` and ``is_unbalance`` as sample weights.

    The built-in objectives multiply each row's gradient and hessian by these
    factors; a custom objective never sees them, so the drop-ins fold them
    into ``sample_weight`` (start, objective and metric all use it):

    - ``class_weight``: scikit-learn's ``compute_sample_weight`` on the labels
      (a dict keyed by the original labels, or "balanced"), as LightGBM does;
    - ``scale_pos_weight``: rows of class 1 weigh ``scale_pos_weight``;
    - ``is_unbalance``: LightGBM's rule, the rarer class weighs
      (count of the other class) / (its count), from unweighted counts.

    The last two only make sense for a binary model; elsewhere a ValueError
    names them and the alternative. Returns ``sample_weight`` untouched when
    none is set.
    """
    factors = []
    class_weight = params.get("class_weight")
    if class_weight is not None:
        from sklearn.utils.class_weight import compute_sample_weight

        factors.append(compute_sample_weight(class_weight, _labels_1d(y)))
    spw = params.get("scale_pos_weight")
    unbalance = [k for k in UNBALANCE_KEYS if _truthy(params.get(k))]
    if spw is not None and spw != 1 or unbalance:
        name = unbalance[0] if unbalance else "scale_pos_weight"
        if unbalance and spw is not None and spw != 1:
            raise ValueError(f"set {name} or scale_pos_weight, not both (LightGBM refuses both too)")
        if obj.task != "binary" or n_outputs != 1:
            what = f"{n_outputs} output columns" if n_outputs > 1 else "a regression loss"
            raise ValueError(
                f"{name} weights the positive class of a binary model, but {obj!r} trains {what} "
                "here: use class_weight (one weight per class) or sample_weight instead"
            )
        pos = np.asarray(y_enc) == 1
        if unbalance:
            n_pos, n_neg = int(pos.sum()), int(pos.size - pos.sum())
            if n_pos and n_neg:
                factors.append(np.where(pos, max(n_neg / n_pos, 1.0), max(n_pos / n_neg, 1.0)))
        else:
            if isinstance(spw, bool) or not isinstance(spw, (int, float, np.integer, np.floating)) \
                    or not (np.isfinite(spw) and spw > 0):
                raise ValueError(f"scale_pos_weight must be a positive finite number, got {spw!r}")
            factors.append(np.where(pos, float(spw), 1.0))
    if not factors:
        return sample_weight
    w = np.prod(factors, axis=0)
    if sample_weight is not None and np.size(sample_weight):
        w = w * np.asarray(sample_weight, dtype=np.float64).reshape(-1)
    return w


class _XGBMixin:
    """Injects the start value, output count and metric into the XGBoost params."""

    _boostobj_extra: dict | None = None

    _boostobj_weight_keys: tuple = ("scale_pos_weight",)  # applied as sample weights

    def get_xgb_params(self) -> dict:
        params = super().get_xgb_params()  # type: ignore[misc]
        params.pop("leaf_refit", None)  # ours, not XGBoost's
        if _ours(self.objective) is not None:  # type: ignore[attr-defined]
            for key in self._boostobj_weight_keys:  # honoured as sample weights, never twice
                params.pop(key, None)
        params.update(self._boostobj_extra or {})
        return params

    def _boostobj_weights(self, obj: Objective, y: Any, y_enc: Any, n_outputs: int,
                          sample_weight: Any) -> Any:
        params = self.get_params()  # type: ignore[attr-defined]
        return _imbalance_weights(obj, y, y_enc, n_outputs, sample_weight,
                                  {k: params.get(k) for k in self._boostobj_weight_keys})

    def _boostobj_leaf_refit(self, obj: Objective) -> XGBLeafRefit | None:
        """The exact leaf refit for this fit, or None (see ``boostobj.leaf_refit``)."""
        params = self.get_params()  # type: ignore[attr-defined]
        if not _truthy(params.get("leaf_refit", True)) or not obj.base_loss.exact_leaf_refit:
            return None
        device = params.get("device")
        if isinstance(device, str) and device.lower().startswith(("cuda", "gpu")):
            return None  # the refit reads and writes leaves on the host: not measured on a GPU
        blockers = xgb_refit_blockers(self.get_xgb_params())
        if blockers:
            warnings.warn(f"{obj!r}: training without the exact leaf refit: " + "; ".join(blockers),
                          UserWarning, stacklevel=4)
            return None
        return XGBLeafRefit(obj.base_loss)

    def _boostobj_fit(self, fit: Any, X: Any, y: Any, sample_weight: Any, base_score: Any,
                      kwargs: dict, refit: XGBLeafRefit | None = None) -> Any:
        obj = _ours(self.objective)  # type: ignore[attr-defined]
        extra: dict = {}
        if self.base_score is None:  # type: ignore[attr-defined]  # respect an explicit start
            extra["base_score"] = base_score
        if obj.n_outputs() > 1 and not isinstance(self, xgb.XGBClassifier) \
                and "num_target" not in self.get_params():  # type: ignore[attr-defined]
            # a K-class classifier has K outputs through num_class already
            extra["num_target"] = obj.n_outputs()
        metric_was = self.eval_metric  # type: ignore[attr-defined]
        if metric_was is None:
            # in units that keep XGBoost's six printed decimals meaningful at any label scale
            self.eval_metric = obj.metric.for_labels(  # type: ignore[attr-defined]
                y, sample_weight, n_outputs=int(np.size(base_score)) if np.ndim(base_score) else None)
            extra["disable_default_eval_metric"] = 1
        objective_was, callbacks_was = self.objective, self.callbacks  # type: ignore[attr-defined]
        device = getattr(self, "device", None)
        if isinstance(device, str) and device.lower().startswith(("cuda", "gpu")) \
                and resolve_device("cuda", "xgboost") == "cuda":
            # XGBoost trains on the GPU: compute the gradients there too (CuPy)
            self.objective = obj.on_device(normalize_device(device))  # type: ignore[attr-defined]
        if refit is not None:
            # grow the trees with the loss made for a refit; the record keeps the user's objective
            self.objective = obj.with_loss(obj.base_loss.for_leaf_refit())  # type: ignore[attr-defined]
            self.callbacks = list(callbacks_was or []) + [refit]  # type: ignore[attr-defined]
            refit._sklearn_objective = self.objective  # type: ignore[attr-defined]
        self._boostobj_extra = extra
        try:
            fit(X, y, sample_weight=sample_weight, **kwargs)
        finally:
            self._boostobj_extra = None
            self.eval_metric = metric_was  # type: ignore[attr-defined]
            self.objective, self.callbacks = objective_was, callbacks_was  # type: ignore[attr-defined]
        return self

    def _boostobj_record(self, obj: Objective, start: Any, classes: Any = None) -> None:
        """The model file describes itself: objective, start and classes as a booster attribute."""
        k = int(np.size(start))
        start = start if self.base_score is None else None  # type: ignore[attr-defined]
        attach(self.get_booster(), make_record(obj, start, classes, n_outputs=k))  # type: ignore[attr-defined]

    def load_model(self, fname: Any) -> None:
        """XGBoost's ``load_model``; a boostobj record brings back the objective (and classes)."""
        super().load_model(fname)  # type: ignore[misc]
        rec = record_of(self.get_booster())  # type: ignore[attr-defined]
        if rec is None:
            return
        self.objective = objective_from_record(rec, model_outputs(self.get_booster()))  # type: ignore[attr-defined]
        if rec.get("start") is not None:
            self.base_score = None  # it was ours, not the user's: a refit computes its own
        if isinstance(self, xgb.XGBClassifier):
            self._boostobj_classes = classes_from_record(rec)

    def _margin(self, X: Any, **kwargs: Any) -> np.ndarray:
        return super().predict(X, output_margin=True, **kwargs)  # type: ignore[misc]

    def __sklearn_tags__(self):  # XGBoost's own tags; single-output y with our objective
        tags = super().__sklearn_tags__()  # type: ignore[misc]
        return _single_output_tags(tags) if _ours(self.objective) is not None else tags  # type: ignore[attr-defined]


def _quantile_score(est: Any, X: Any, y: Any, sample_weight: Any) -> float | None:
    """Minus the mean pinball loss over the K levels of a multi-quantile model, else None.

    R^2 of K prediction columns against one label column is undefined; the
    negated pinball loss is higher-is-better like every scikit-learn score,
    so ``cross_val_score`` and grid searches work unchanged.
    """
    obj = _ours(est.objective)
    if obj is None or obj.task != "regression" or obj.n_outputs() == 1:
        return None  # R^2, scikit-learn's default
    return -obj.loss(y, est.predict(X), sample_weight) / obj.n_outputs()


class XGBRegressor(_XGBMixin, xgb.XGBRegressor):
    """``xgboost.XGBRegressor`` that starts from ``obj.init_score`` and predicts
    on the target scale (K sorted quantiles for a multi-quantile objective).

    >>> import numpy as np, boostobj
    >>> X = np.random.default_rng(1).normal(size=(200, 2)); y = 500.0 + 50 * X[:, 0]
    >>> m = XGBRegressor(objective=boostobj.huber(delta=10.0), n_estimators=20).fit(X, y)
    >>> bool(abs(m.predict(X).mean() - 500) < 10)
    True
    """

    def fit(self, X: Any, y: Any, *, sample_weight: Any = None, **kwargs: Any) -> "XGBRegressor":
        obj = _ours(self.objective)
        if obj is None:
            return super().fit(X, y, sample_weight=sample_weight, **kwargs)
        _check_fit_inputs(y, sample_weight, X, kwargs, estimator=self, obj=obj)
        check_float32_labels(y)
        sample_weight = self._boostobj_weights(obj, y, y, obj.n_outputs(), sample_weight)
        # weights as given: lambda and min_child_weight count weight, so a weight of 2 is two rows
        refit = self._boostobj_leaf_refit(obj)
        init = obj.init_score(y, sample_weight, n_outputs=obj.n_outputs())
        self._boostobj_fit(super().fit, X, y, sample_weight, _as_base_score(init), kwargs, refit)
        self._boostobj_record(obj, init)
        return self

    def score(self, X: Any, y: Any, sample_weight: Any = None) -> float:
        """R^2; for K quantiles minus the mean pinball loss over the K levels (higher is better).

        >>> import numpy as np, boostobj
        >>> from sklearn.model_selection import cross_val_score
        >>> X = np.random.default_rng(0).normal(size=(200, 2)); y = X[:, 0]
        >>> m = XGBRegressor(objective=boostobj.quantile([0.1, 0.9]), n_estimators=5)
        >>> bool(np.all(cross_val_score(m, X, y, cv=2) < 0))
        True
        """
        loss = _quantile_score(self, X, y, sample_weight)
        return super().score(X, y, sample_weight=sample_weight) if loss is None else loss

    def predict(self, X: Any, **kwargs: Any) -> np.ndarray:
        """Target-scale predictions; ``output_margin=True`` gives the raw margin, as stock."""
        obj = _ours(self.objective)
        if obj is None or kwargs.get("output_margin"):
            return super().predict(X, **kwargs)
        kwargs.pop("output_margin", None)
        return np.asarray(obj.predict(self._margin(X, **kwargs)))


class XGBClassifier(_XGBMixin, xgb.XGBClassifier):
    """``xgboost.XGBClassifier`` that starts from ``obj.init_score`` (log-odds
    or K class starts) and whose ``predict_proba`` is ``obj.predict``.

    >>> import numpy as np, boostobj
    >>> rng = np.random.default_rng(2); X = rng.normal(size=(400, 2))
    >>> y = (rng.random(400) < 0.1 + 0.1 * (X[:, 0] > 0)).astype(int)
    >>> m = XGBClassifier(objective=boostobj.exponential(), n_estimators=5).fit(X, y)
    >>> bool(abs(m.predict_proba(X)[:, 1].mean() - y.mean()) < 0.05)
    True
    """

    _boostobj_classes: np.ndarray | None = None
    # class_weight (dict or "balanced", as in LightGBM / scikit-learn) is a keyword
    # argument XGBoost keeps in get_params; applied as sample weights with our objective
    _boostobj_weight_keys = ("scale_pos_weight", "class_weight")

    @property
    def classes_(self) -> np.ndarray:
        """The class labels (any labels with a boostobj objective; 0..K-1 otherwise)."""
        if self._boostobj_classes is not None:
            return self._boostobj_classes
        return np.arange(self.n_classes_)

    def fit(self, X: Any, y: Any, *, sample_weight: Any = None, **kwargs: Any) -> "XGBClassifier":
        self._boostobj_classes = None
        obj = _ours(self.objective)
        if obj is None:
            return super().fit(X, y, sample_weight=sample_weight, **kwargs)
        _check_fit_inputs(y, sample_weight, X, kwargs, estimator=self, obj=obj)
        _check_class_labels(y)
        # like LightGBM and scikit-learn, take any labels and train on 0..K-1
        encoder = _label_encoder(y)
        y_raw, y = y, encoder.transform(_labels_1d(y))
        if kwargs.get("eval_set"):
            kwargs["eval_set"] = [(Xe, encoder.transform(_labels_1d(ye))) for Xe, ye in kwargs["eval_set"]]
        n_classes = len(encoder.classes_)
        k = n_classes if n_classes > 2 else 1
        sample_weight = self._boostobj_weights(obj, y_raw, y, k, sample_weight)
        init = obj.init_score(y, sample_weight, n_outputs=k)
        base = init
        if np.ndim(init) == 0:
            # XGBClassifier trains under "binary:logistic", whose base_score is a probability.
            base = float(1.0 / (1.0 + np.exp(-init)))
        self._boostobj_fit(super().fit, X, y, sample_weight, _as_base_score(base), kwargs)
        self._boostobj_classes = encoder.classes_
        self._boostobj_record(obj, init, encoder.classes_)
        return self

    @_needs_probability
    def predict_proba(self, X: Any, **kwargs: Any) -> np.ndarray:
        """Class probabilities (``obj.predict`` of the margin); absent for the hinge loss."""
        obj = _ours(self.objective)
        if obj is None:
            return super().predict_proba(X, **kwargs)
        return _two_columns(np.asarray(obj.predict(self._margin(X, **kwargs))))

    def decision_function(self, X: Any, **kwargs: Any) -> np.ndarray:
        """The margin: (n,) for two classes (> 0 means ``classes_[1]``), (n, K) for K."""
        return np.asarray(self._margin(X, **kwargs))

    def predict(self, X: Any, **kwargs: Any) -> np.ndarray:
        """Class labels; ``output_margin=True`` gives the raw margin, as stock."""
        obj = _ours(self.objective)
        if obj is None or kwargs.get("output_margin"):
            return super().predict(X, **kwargs)
        kwargs.pop("output_margin", None)
        if not _gives_probability(obj):
            return _margin_classes(self.classes_, self.decision_function(X, **kwargs))
        proba = self.predict_proba(X, **kwargs)  # raises NotFittedError first when unfitted
        return self.classes_[np.argmax(proba, axis=1)]


def _check_finite_labels(y: Any, name: str = "y", rule: str = "class labels must be finite") -> None:
    """NaN or inf is no class label (LabelEncoder would make one of it), nor an eval label."""
    arr = np.asarray(y)
    if arr.dtype.kind in "fc" and not np.isfinite(arr).all():
        raise ValueError(f"{name} contains NaN or inf; {rule}")


def _labels_1d(y: Any) -> np.ndarray:
    from sklearn.utils.validation import column_or_1d

    return column_or_1d(np.asarray(y), warn=True)


def _label_encoder(y: Any) -> Any:
    from sklearn.preprocessing import LabelEncoder

    return LabelEncoder().fit(_labels_1d(y))


def _two_columns(p: np.ndarray) -> np.ndarray:
    return np.column_stack([1.0 - p, p]) if p.ndim == 1 else p


def _eval_pairs(kwargs: dict) -> list:
    """The (X, y) eval sets of a LightGBM ``fit`` call, read as LightGBM reads them.

    ``eval_set``: one pair or a list of pairs; ``eval_X`` / ``eval_y``
    (LightGBM >= 4.7): one set, or several as tuples of equal length.
    """
    eval_set = kwargs.get("eval_set")
    if eval_set is None and kwargs.get("eval_y") is not None:
        ex, ey = kwargs.get("eval_X"), kwargs["eval_y"]
        return list(zip(ex, ey)) if isinstance(ey, tuple) else [(ex, ey)]
    return [eval_set] if isinstance(eval_set, tuple) else list(eval_set or [])


class _LGBMObjectiveCall:
    """What LightGBM's sklearn wrapper of a callable objective does for ours, less its per-call work.

    ``lightgbm.sklearn._ObjectiveFunctionWrapper`` inspects the objective's
    signature on every call to choose its arguments; a boostobj objective
    takes all four (labels, margins, weights, groups), so they are passed as
    that wrapper passes them.
    """

    def __init__(self, func: Objective):
        self.func = func

    def __call__(self, preds: np.ndarray, dataset: lgb.Dataset) -> tuple[np.ndarray, np.ndarray]:
        return self.func(dataset.get_label(), preds, dataset.get_weight(), dataset.get_group())


class _LGBMMixin:
    """Init score in, baked into the first trees, metric and num_class set."""

    _boostobj_extra: dict | None = None

    def _process_params(self, stage: str) -> dict:
        params = super()._process_params(stage)  # type: ignore[misc]
        params.pop("leaf_refit", None)  # ours, not LightGBM's
        if self._boostobj_extra is not None:  # our fit: these are in the sample weights
            for key in _IMBALANCE_KEYS:
                params.pop(key, None)
        params.update(self._boostobj_extra or {})
        wrapped = params.get("objective")
        if stage == "fit" and _ours(getattr(wrapped, "func", None)) is not None:
            params["objective"] = _LGBMObjectiveCall(wrapped.func)
        return params

    def _boostobj_leaf_refit(self, obj: Objective, X: Any, y: Any, kwargs: dict) -> LeafRefit | None:
        """The exact leaf refit for this fit, or None (see ``boostobj.leaf_refit``)."""
        params = self.get_params()  # type: ignore[attr-defined]
        if not _truthy(params.get("leaf_refit", True)) or not obj.base_loss.exact_leaf_refit \
                or self.task_ != "regression":
            return None
        blockers = refit_blockers(params)
        builtin = builtin_metrics(params, kwargs.get("eval_metric"))
        if builtin:
            blockers.append(
                f"LightGBM's built-in metric(s) {builtin} would read its cached scores, which do not "
                "see the refit leaves (pass the metric as a callable to keep the refit, or set "
                "leaf_refit=False to silence this)")
            warnings.warn(f"{obj!r}: training without the exact leaf refit: " + "; ".join(blockers),
                          UserWarning, stacklevel=4)
        if blockers:
            return None
        # LightGBM evaluates an eval set that *is* the training data on the training set
        eval_X = [Xe for Xe, ye in _eval_pairs(kwargs) if not (Xe is X and ye is y)]
        return LeafRefit(obj.base_loss, X, eval_X)

    def fit(self, X: Any, y: Any, sample_weight: Any = None, **kwargs: Any) -> Any:
        """LightGBM's ``fit``; with a boostobj objective, from ``obj.init_score``."""
        if _ours(self.objective) is None:  # type: ignore[attr-defined]
            return super().fit(X, y, sample_weight=sample_weight, **kwargs)  # type: ignore[misc]
        return self._boostobj_fit(super().fit, X, y, sample_weight, kwargs)  # type: ignore[misc]

    def _boostobj_fit(self, fit: Any, X: Any, y: Any, sample_weight: Any, kwargs: dict) -> Any:
        obj = _ours(self.objective)  # type: ignore[attr-defined]
        refuse_lightgbm_forest(self.get_params())  # type: ignore[attr-defined]
        _check_fit_inputs(y, sample_weight, X, kwargs, estimator=self, obj=obj)
        y_enc = self._encode_labels(y)
        k = self._n_outputs(obj, y_enc)
        params = self.get_params()  # type: ignore[attr-defined]
        sample_weight = _imbalance_weights(obj, y, y_enc, k, sample_weight,
                                           {key: params.get(key) for key in ("class_weight",) + _IMBALANCE_KEYS})
        class_weight = self.class_weight  # type: ignore[attr-defined]
        self.class_weight = self._class_weight = None  # in sample_weight now: not twice
        try:
            return self._boostobj_fit_weighted(fit, X, y, y_enc, k, sample_weight, kwargs)
        finally:
            self.class_weight = class_weight

    def _boostobj_fit_weighted(self, fit: Any, X: Any, y: Any, y_enc: Any, k: int, sample_weight: Any,
                               kwargs: dict) -> Any:
        obj = _ours(self.objective)  # type: ignore[attr-defined]
        refit = self._boostobj_leaf_refit(obj, X, y, kwargs)
        if refit is not None:
            # grow the trees with the loss made for a refit; the record keeps the user's objective
            kwargs["callbacks"] = list(kwargs.get("callbacks") or []) + [refit]
            fit = self._growing_with(obj.with_loss(obj.base_loss.for_leaf_refit()), fit)
            # weights as given, as XGBRegressor's: a row of weight w grows and refits as w rows
        if kwargs.get("init_score") is not None:  # the user's own offset: leave it alone
            self._boostobj_extra = {}
            try:
                fit(X, y, sample_weight=sample_weight, **kwargs)
            finally:
                self._boostobj_extra = None
            return self
        init = obj.init_score(y_enc, sample_weight, n_outputs=k)
        # continued training: LightGBM starts every dataset from the init model's
        # margins, which hold the start (baked into its first trees) already
        continuing = kwargs.get("init_model") is not None
        if not continuing:
            kwargs["init_score"] = obj.init_score_array(y_enc, sample_weight, n_outputs=k)
        eval_ys = [ys for _, ys in _eval_pairs(kwargs)]
        if eval_ys and not continuing:
            kwargs["eval_init_score"] = [
                np.broadcast_to(init, (len(ys),) + np.shape(init)).copy() for ys in eval_ys
            ]
        if eval_ys and kwargs.get("eval_metric") is None:
            kwargs["eval_metric"] = obj.metric
        k = obj.n_outputs()
        extra: dict = {}
        if k > 1 and self.task_ == "regression":
            extra["num_class"] = k
        if not any(a in self.get_params() for a in ALIASES["metric"]):  # type: ignore[attr-defined]
            extra["metric"] = "None"  # the stock default (l2 / logloss) does not match our loss
        if "feature_pre_filter" not in self.get_params():  # type: ignore[attr-defined]
            # LightGBM drops the features it cannot split (min_child_samples) and,
            # with a callable objective, aborts when none is left ("Check failed:
            # num_features() > 0") where a built-in one trains a constant model.
            # Keeping them gives the same trees, and the constant model on tiny data.
            extra["feature_pre_filter"] = False
        self._boostobj_extra = extra
        try:
            fit(X, y, sample_weight=sample_weight, **kwargs)
        finally:
            self._boostobj_extra = None
        if continuing:
            prev = record_of(kwargs["init_model"])
            init = None if prev is None else prev.get("start")
        else:
            _bake_init_score(self.booster_, init)
        classes = self.classes_ if self.task_ == "classification" else None  # type: ignore[attr-defined]
        attach(self.booster_, make_record(obj, init, classes,
                                          n_outputs=self.booster_.num_model_per_iteration()))
        return self

    def _growing_with(self, grower: Objective, fit: Any) -> Any:
        """``fit`` with ``self.objective`` set to ``grower`` while it runs."""
        def run(*args: Any, **kw: Any) -> Any:
            # LightGBM trains with its private copy _objective (set with the params)
            was = self.objective, self._objective  # type: ignore[attr-defined]
            self.objective = self._objective = grower  # type: ignore[attr-defined]
            try:
                return fit(*args, **kw)
            finally:
                self.objective, self._objective = was  # type: ignore[attr-defined]
        return run

    task_ = "regression"

    def _encode_labels(self, y: Any) -> Any:
        check_float32_labels(y)
        return y

    def _n_outputs(self, obj: Objective, y_enc: Any) -> int:
        """Margin columns: the loss's own count for a regressor (1 unless multi-quantile)."""
        return obj.n_outputs()

    def __sklearn_tags__(self):  # LightGBM's own tags; single-output y with our objective
        tags = super().__sklearn_tags__()  # type: ignore[misc]
        return _single_output_tags(tags) if _ours(self.objective) is not None else tags  # type: ignore[attr-defined]


class LGBMRegressor(_LGBMMixin, lgb.LGBMRegressor):
    """``lightgbm.LGBMRegressor`` that starts from ``obj.init_score`` and predicts
    on the target scale (K sorted quantiles for a multi-quantile objective).

    >>> import numpy as np, boostobj
    >>> X = np.random.default_rng(1).normal(size=(200, 2)); y = 500.0 + 50 * X[:, 0]
    >>> m = LGBMRegressor(objective=boostobj.quantile([0.1, 0.5, 0.9]), n_estimators=20, verbose=-1)
    >>> m.fit(X, y).predict(X).shape
    (200, 3)
    """

    def score(self, X: Any, y: Any, sample_weight: Any = None) -> float:
        """R^2; for K quantiles minus the mean pinball loss over the K levels (higher is better).

        >>> import numpy as np, boostobj
        >>> X = np.random.default_rng(0).normal(size=(200, 2)); y = X[:, 0]
        >>> m = LGBMRegressor(objective=boostobj.quantile([0.1, 0.9]), n_estimators=5, verbose=-1)
        >>> bool(m.fit(X, y).score(X, y) < 0)
        True
        """
        loss = _quantile_score(self, X, y, sample_weight)
        return super().score(X, y, sample_weight=sample_weight) if loss is None else loss

    def predict(self, X: Any, **kwargs: Any) -> np.ndarray:
        obj = _ours(self.objective)
        if obj is None or kwargs.get("pred_leaf") or kwargs.get("pred_contrib"):
            return super().predict(X, **kwargs)
        kwargs.pop("raw_score", None)
        return np.asarray(obj.predict(super().predict(X, raw_score=True, **kwargs)))


class LGBMClassifier(_LGBMMixin, lgb.LGBMClassifier):
    """``lightgbm.LGBMClassifier`` that starts from ``obj.init_score`` and whose
    ``predict_proba`` returns probabilities (``obj.predict``), not raw scores.

    >>> import numpy as np, boostobj
    >>> rng = np.random.default_rng(2); X = rng.normal(size=(400, 2))
    >>> y = np.where(rng.random(400) < 0.2, "yes", "no")
    >>> m = LGBMClassifier(objective=boostobj.exponential(), n_estimators=5, verbose=-1).fit(X, y)
    >>> np.allclose(m.predict_proba(X).sum(axis=1), 1.0)
    True
    """

    task_ = "classification"

    def _encode_labels(self, y: Any) -> Any:
        # the objective sees LightGBM's encoding 0..K-1 of the classes
        _check_class_labels(y)  # before scikit-learn's "Input contains NaN", which names no y
        return _label_encoder(y).transform(_labels_1d(y))

    def _n_outputs(self, obj: Objective, y_enc: Any) -> int:
        """One margin column for two classes (logit), K for K > 2 (softmax)."""
        k = int(np.max(y_enc)) + 1
        return k if k > 2 else 1

    @_needs_probability
    def predict_proba(self, X: Any, **kwargs: Any) -> np.ndarray:
        """Class probabilities (``obj.predict`` of the margin); absent for the hinge loss."""
        obj = _ours(self.objective)
        if obj is None or kwargs.get("pred_leaf") or kwargs.get("pred_contrib") or kwargs.get("raw_score"):
            return super().predict_proba(X, **kwargs)
        raw = super().predict(X, raw_score=True, **kwargs)
        return _two_columns(np.asarray(obj.predict(raw)))

    def decision_function(self, X: Any, **kwargs: Any) -> np.ndarray:
        """The margin (start included): (n,) for two classes (> 0 means ``classes_[1]``), (n, K) for K."""
        kwargs.pop("raw_score", None)
        # LGBMModel's predict: LGBMClassifier.predict goes through predict_proba
        return np.asarray(lgb.LGBMModel.predict(self, X, raw_score=True, **kwargs))

    def predict(self, X: Any, **kwargs: Any) -> np.ndarray:
        obj = _ours(self.objective)
        if obj is None or kwargs.get("pred_leaf") or kwargs.get("pred_contrib"):
            return super().predict(X, **kwargs)
        if kwargs.get("raw_score"):
            return self.decision_function(X, **kwargs)
        if not _gives_probability(obj):
            return _margin_classes(self.classes_, self.decision_function(X, **kwargs))
        return self.classes_[np.argmax(self.predict_proba(X, **kwargs), axis=1)]

"""Model files that describe themselves: the objective record and ``objective_of``.

A model trained with a boostobj objective carries a *record*: plain JSON data
(factory name, its parameters, the number of margin columns, the start margin
the model already contains, and the class labels of a classifier). It is
never a pickle: reading it looks the factory up in ``FACTORIES`` and calls it
with the recorded parameters, so loading a model file runs no stored code.

Where the record lives:

- **XGBoost**: a booster attribute (``Booster.set_attr(boostobj=...)``),
  which XGBoost keeps in its JSON and UBJ model files and in pickles.
- **LightGBM**: its model text keeps only the parameters LightGBM knows (and
  the Python package's own ``pandas_categorical:`` line), so the record is a
  sidecar file ``<model file>.boostobj.json`` next to the model. A recorded
  ``lgb.Booster`` writes it whenever its ``save_model`` writes the model;
  ``objective_of(path)`` reads it. ``model_to_string`` carries no record.

The drop-in estimators record by themselves; after ``xgb.train`` /
``lgb.train`` call ``obj.record(booster)`` (LightGBM: ``obj.record(booster,
train_set)``, which also adds the start into the first trees, so the saved
model predicts on its own).

Examples
--------
>>> import numpy as np, xgboost as xgb, boostobj
>>> X = np.random.default_rng(0).normal(size=(100, 2)); y = 10 * X[:, 0]
>>> obj = boostobj.quantile([0.1, 0.9])
>>> bst = xgb.train({"base_score": obj.init_score(y).tolist(), "num_target": 2,
...                  "disable_default_eval_metric": 1}, xgb.DMatrix(X, y), 5, obj=obj)
>>> boostobj.objective_of(obj.record(bst)) == obj
True
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

import lightgbm as lgb
import numpy as np

from boostobj.exceptions import StartValueWarning
from boostobj.frameworks import refuse_lightgbm_forest
from boostobj.losses import Loss
from boostobj.registry import FACTORIES, register
from boostobj.validation import _check_user_weights, check_float32_labels

__all__ = ["FACTORIES", "SIDECAR_SUFFIX", "check_record", "objective_of", "register"]

SIDECAR_SUFFIX = ".boostobj.json"
_ATTR = "boostobj"  # XGBoost booster attribute
_FORMAT = "boostobj-objective"
_VERSION = 1


# ---- the record: Objective <-> plain data ------------------------------------
def _plain(v: Any) -> Any:
    if isinstance(v, tuple):
        return [_plain(x) for x in v]
    if isinstance(v, np.ndarray):
        return v.tolist()
    if isinstance(v, np.generic):
        return v.item()
    return v


def make_record(obj: Objective, start: Any = None, classes: Any = None,
                n_outputs: int | None = None) -> dict:
    """The record of ``obj`` (see the module docstring) as a JSON-able dict."""
    factory = FACTORIES.get(obj.factory)
    rec: dict = {
        "format": _FORMAT,
        "version": _VERSION,
        "factory": obj.factory,
        # where the factory was registered: named when another process lacks it
        "module": None if factory is None else factory.__module__,
        "params": {k: _plain(v) for k, v in obj.base_loss._params().items()},
        "n_outputs": n_outputs,
        "start": None if start is None else np.asarray(start, dtype=np.float64).tolist(),
        "pinned": None if obj._start is None else [a.tolist() for a in obj._start],
        "device": obj.device,
        "classes": None,
    }
    if classes is not None:
        c = np.asarray(classes)
        rec["classes"] = {"values": c.tolist(), "dtype": c.dtype.str if c.dtype.kind in "biufUSM" else None}
    json.dumps(rec, allow_nan=False)  # fail here, not when the model is saved
    return rec


def _finite_numbers(value: Any, field: str, length: int | None) -> np.ndarray:
    """A record field of finite numbers: a number or a flat list of ``length`` of them."""
    bad = ValueError(f"the boostobj record's {field} must be finite numbers"
                     + (f" ({length} for this model)" if length else "") + f", got {value!r:.200}")
    if isinstance(value, bool) or not isinstance(value, (int, float, list)):
        raise bad
    if isinstance(value, list) and not all(isinstance(v, (int, float)) and not isinstance(v, bool)
                                           for v in value):
        raise bad
    arr = np.asarray(value, dtype=np.float64)
    if arr.ndim > 1 or not np.isfinite(arr).all() or (length is not None and arr.size != length):
        raise bad
    return arr


def check_record(rec: Any, n_outputs: int | None = None) -> dict:
    """Validate every field of a record (and, given ``n_outputs``, against the model's outputs).

    A ValueError names the field and what was expected; nothing in a record
    is executed or imported.
    """
    if not isinstance(rec, dict) or rec.get("format") != _FORMAT:
        raise ValueError(f"not a boostobj objective record: {rec!r:.200}")
    if rec.get("version") != _VERSION:
        raise ValueError(f"boostobj record version {rec.get('version')!r} is not supported "
                         f"(this boostobj reads version {_VERSION})")
    name = rec.get("factory")
    if not isinstance(name, str):
        raise ValueError(f"the boostobj record's factory must be a factory name (a string), got {name!r:.100}")
    if name not in FACTORIES:
        module = rec.get("module")
        where = (f" (registered by the module {module!r}: import it before loading the model)"
                 if isinstance(module, str) and module else "")
        raise ValueError(f"the model's boostobj record names the factory {name!r}, which is not "
                         f"registered{where}; known factories: {sorted(FACTORIES)}")
    if not isinstance(rec.get("params"), dict) or not all(isinstance(k, str) for k in rec["params"]):
        raise ValueError(f"the boostobj record's params must be a JSON object, got {rec.get('params')!r:.200}")
    k = rec.get("n_outputs")
    if k is not None and (isinstance(k, bool) or not isinstance(k, int) or k < 1):
        raise ValueError(f"the boostobj record's n_outputs must be a positive integer, got {k!r:.100}")
    if n_outputs is not None:
        if k is not None and k != n_outputs:
            raise ValueError(f"the boostobj record says {k} output column(s) but the model has {n_outputs}: "
                             "the record belongs to another model")
        k = n_outputs
    if rec.get("start") is not None:
        _finite_numbers(rec["start"], "start", k if k and k > 1 else None)
        if k == 1 and np.size(rec["start"]) != 1:
            raise ValueError(f"the boostobj record's start must be one number for a one-output model, "
                             f"got {rec['start']!r:.200}")
    pinned = rec.get("pinned")
    if pinned is not None:
        if not isinstance(pinned, list) or len(pinned) != 2:
            raise ValueError(f"the boostobj record's pinned must be [start, scale], got {pinned!r:.200}")
        start = _finite_numbers(pinned[0], "pinned start", k if k and k > 1 else None)
        scale = _finite_numbers(pinned[1], "pinned scale", start.size if start.ndim else None)
        if np.any(scale <= 0) or scale.shape != start.shape:
            raise ValueError(f"the boostobj record's pinned scale must be positive, one per start, "
                             f"got {pinned[1]!r:.200}")
    if not isinstance(rec.get("device", "cpu"), str):
        raise ValueError(f"the boostobj record's device must be a string, got {rec.get('device')!r:.100}")
    classes = rec.get("classes")
    if classes is not None:
        values = classes.get("values") if isinstance(classes, dict) else None
        dtype = classes.get("dtype") if isinstance(classes, dict) else None
        if not isinstance(values, list) or len(values) < 2 or not (dtype is None or isinstance(dtype, str)):
            raise ValueError(f"the boostobj record's classes must be {{'values': [two or more labels], "
                             f"'dtype': str or null}}, got {classes!r:.200}")
        if dtype is not None:
            try:
                np.dtype(dtype)
            except TypeError:
                raise ValueError(f"the boostobj record's classes dtype {dtype!r} is not a NumPy dtype") from None
        if k is not None and len(values) != (2 if k == 1 else k):
            raise ValueError(f"the boostobj record has {len(values)} classes but the model has {k} output "
                             f"column(s) ({2 if k == 1 else k} classes): the record does not match the model")
    return rec


def objective_from_record(rec: Any, n_outputs: int | None = None) -> Objective:
    """Rebuild the Objective of a record (checked by ``check_record``); ValueError names what is wrong."""
    check_record(rec, n_outputs)
    name, params = rec["factory"], rec["params"]
    try:
        obj = FACTORIES[name](**params)
    except (TypeError, ValueError) as e:
        raise ValueError(f"the model's boostobj record has parameters {params!r} that "
                         f"boostobj.{name} rejects: {e}") from e
    if rec.get("pinned") is not None:
        obj = obj.with_start(*rec["pinned"])
    if rec.get("device", "cpu") != "cpu":
        try:
            obj = obj.on_device(rec["device"])
        except ValueError as e:
            raise ValueError(f"the model's boostobj record has a device that boostobj rejects: {e}") from e
    return obj


def classes_from_record(rec: dict) -> np.ndarray | None:
    """The classifier's class labels stored in a record (None for a regressor)."""
    c = rec.get("classes")
    if c is None:
        return None
    return np.asarray(c["values"], dtype=c["dtype"] if c.get("dtype") else object)


def model_outputs(model: Any) -> int | None:
    """The margin columns of an XGBoost or LightGBM booster (None where it cannot tell)."""
    if _is_lgb_booster(model):
        return int(model.num_model_per_iteration())
    if _is_xgb_booster(model):
        param = json.loads(model.save_config())["learner"]["learner_model_param"]
        return max(int(param.get("num_class", 0) or 0), int(param.get("num_target", 1) or 1), 1)
    return None


# ---- where records live --------------------------------------------------------
_EMBEDDED = "boostobj_record:"  # a line of the model text; LightGBM's loader ignores it


class RecordedBooster(lgb.Booster):
    """An ``lgb.Booster`` that keeps its boostobj record in saved files, model strings and copies.

    ``save_model`` writes the record into the model file (a line LightGBM's
    loader skips) and to the sidecar ``<filename>.boostobj.json``;
    ``model_to_string`` holds the record too, and ``objective_of`` reads it
    from either; ``copy.copy`` / ``copy.deepcopy`` and pickling keep it.
    """

    _boostobj_record: dict

    def save_model(self, filename: Any, *args: Any, **kwargs: Any) -> "lgb.Booster":
        """LightGBM's ``save_model``, with the record in the file and in ``<filename>.boostobj.json``."""
        out = super().save_model(filename, *args, **kwargs)
        path = Path(os.fspath(filename))
        path.write_text(_embed(path.read_text(), self._boostobj_record))
        write_sidecar(filename, self._boostobj_record)
        return out

    def model_to_string(self, *args: Any, **kwargs: Any) -> str:
        """LightGBM's ``model_to_string`` with the record in it (``objective_of(text)`` reads it)."""
        return _embed(super().model_to_string(*args, **kwargs), self._boostobj_record)

    def __deepcopy__(self, memo: Any) -> "lgb.Booster":
        # LightGBM copies through the model text into a plain Booster: the record goes with it here
        return attach(super().__deepcopy__(memo), json.loads(json.dumps(self._boostobj_record)))

    def __copy__(self) -> "lgb.Booster":
        return self.__deepcopy__({})


def _embed(text: str, rec: dict) -> str:
    """The LightGBM model text with the record as one line before the Python package's own last line."""
    lines = [line for line in text.rstrip("\n").split("\n") if not line.startswith(_EMBEDDED)]
    at = next((i for i in range(len(lines) - 1, -1, -1) if lines[i].startswith("pandas_categorical:")),
              len(lines))
    lines.insert(at, _EMBEDDED + json.dumps(rec, allow_nan=False))
    return "\n".join(lines) + "\n"


def _embedded(text: str) -> dict | None:
    """The record embedded in a LightGBM model text, or None."""
    at = text.rfind("\n" + _EMBEDDED)
    if at < 0:
        return None
    end = text.find("\n", at + 1)
    return _parse(text[at + 1 + len(_EMBEDDED):None if end < 0 else end], "the model text's boostobj_record line")


def _is_xgb_booster(m: Any) -> bool:
    return type(m).__module__.startswith("xgboost") and hasattr(m, "set_attr") and hasattr(m, "save_raw")


def _is_lgb_booster(m: Any) -> bool:
    return isinstance(m, lgb.Booster)


def sidecar_path(model_file: Any) -> Path:
    """Where the record of a LightGBM model file lives: ``<model file>.boostobj.json``."""
    return Path(os.fspath(model_file) + SIDECAR_SUFFIX)


def write_sidecar(model_file: Any, rec: dict) -> None:
    """Write a record next to a model file."""
    sidecar_path(model_file).write_text(json.dumps(rec, allow_nan=False, indent=1))


def attach(booster: Any, rec: dict) -> Any:
    """Store a record in an XGBoost or LightGBM booster (see the module docstring)."""
    if _is_xgb_booster(booster):
        booster.set_attr(**{_ATTR: json.dumps(rec, allow_nan=False)})
    elif _is_lgb_booster(booster):
        booster._boostobj_record = rec
        booster.__class__ = RecordedBooster  # same layout: only save_model differs
    else:
        raise TypeError(f"expected an xgboost.Booster or lightgbm.Booster, got {type(booster).__name__}")
    return booster


def _is_model_text(model: Any) -> bool:
    return isinstance(model, str) and model.startswith("tree\n")


def record_of(model: Any) -> dict | None:
    """The record a booster, drop-in estimator, model file or LightGBM model string carries (None if none)."""
    if _is_model_text(model):
        return _embedded(model)
    if isinstance(model, (str, os.PathLike)):
        return _record_of_file(model)
    if _is_xgb_booster(model):
        raw = model.attr(_ATTR)
        return None if raw is None else _parse(raw, "the XGBoost booster attribute 'boostobj'")
    if _is_lgb_booster(model):
        return getattr(model, "_boostobj_record", None)
    booster = _fitted_booster(model)
    if booster is not None:
        return record_of(booster)
    raise TypeError("objective_of takes an xgboost/lightgbm Booster, a fitted XGBoost/LightGBM "
                    f"estimator or a model file path, got {type(model).__name__}")


def _fitted_booster(model: Any) -> Any:
    if hasattr(model, "get_booster") and hasattr(model, "get_xgb_params"):  # XGBModel
        try:
            return model.get_booster()
        except Exception:  # NotFittedError and XGBoostError alike: no model yet
            return None
    if hasattr(model, "booster_") and hasattr(model, "_process_params"):  # LGBMModel
        return getattr(model, "_Booster", None)
    return None


def _parse(raw: str, where: str) -> dict:
    try:
        return json.loads(raw)
    except json.JSONDecodeError as e:
        raise ValueError(f"{where} is not valid JSON: {e}") from e


def _record_of_file(path: Any) -> dict | None:
    side = sidecar_path(path)
    if side.exists():
        return _parse(side.read_text(), str(side))
    if not Path(path).exists():
        raise ValueError(f"no model file at {os.fspath(path)!r}")
    with open(path, "rb") as f:
        head = f.read(64)
    if head.startswith(b"tree\n") or head.startswith(b"tree\r\n"):  # LightGBM: the record in the file?
        text = Path(path).read_text()
        rec = _embedded(text)
        if rec is None and _trained_custom(text):
            _warn_no_record(f"the LightGBM model file {os.fspath(path)!r}",
                            f"its record {os.fspath(side)!r} is missing")
        return rec
    import xgboost as xgb

    try:
        booster = xgb.Booster(model_file=os.fspath(path))
    except xgb.core.XGBoostError as e:
        raise ValueError(f"{os.fspath(path)!r} is neither an XGBoost (JSON/UBJ) nor a LightGBM "
                         f"model file: {e}") from e
    return record_of(booster)


def objective_of(model: Any) -> Objective | None:
    """The boostobj ``Objective`` a model was trained with, or None.

    ``model``: an ``xgboost.Booster``, a ``lightgbm.Booster``, a fitted
    estimator (the ``boostobj.sklearn`` drop-ins record by themselves), a
    model file path (XGBoost JSON/UBJ; LightGBM text, whose record is in the
    file and in its ``.boostobj.json`` sidecar) or a recorded LightGBM
    booster's ``model_to_string()``. The result equals the original
    objective (``==``), and ``objective_of(model).predict(raw_margin)`` is
    the target-scale prediction: recorded models contain their start.
    Models without a record give None, with a warning where a LightGBM
    model says it was trained with a custom objective (its predictions are
    then raw margins). Every field of a record is checked against the
    model (``check_record``): a record naming an unknown factory, with
    parameters the factory rejects, a start that is not finite or not one
    per output, or classes that do not match the model's outputs raises
    ``ValueError``.

    Examples
    --------
    >>> import numpy as np, boostobj
    >>> from boostobj.sklearn import LGBMRegressor
    >>> X = np.random.default_rng(0).normal(size=(100, 2)); y = X[:, 0]
    >>> model = LGBMRegressor(objective=boostobj.huber(2.0), n_estimators=3, verbose=-1).fit(X, y)
    >>> boostobj.objective_of(model)
    boostobj.huber(delta=2.0)
    """
    rec = record_of(model)
    if rec is None:
        if _is_model_text(model) and _trained_custom(model):
            _warn_no_record("this LightGBM model string", "it holds no boostobj_record line")
        elif _is_lgb_booster(model) and str(model.params.get("objective", "")) == "custom":
            _warn_no_record("this LightGBM booster", "it carries no boostobj record")
        obj = getattr(model, "objective", None)  # an unrecorded estimator built with one
        return obj if hasattr(obj, "base_loss") and hasattr(obj, "grad_hess") else None
    return objective_from_record(rec, _outputs_of(model))


def _outputs_of(model: Any) -> int | None:
    """The margin columns of the model a record came with (None where that takes a load)."""
    if _is_model_text(model) or isinstance(model, (str, os.PathLike)):
        text = model if _is_model_text(model) else None
        if text is None:
            with open(model, "rb") as f:
                head = f.read(4096).decode("utf-8", "replace")
            if not head.startswith("tree"):
                import xgboost as xgb

                return model_outputs(xgb.Booster(model_file=os.fspath(model)))
            text = head
        for line in text[:4096].splitlines():
            if line.startswith("num_tree_per_iteration="):
                return int(line.split("=", 1)[1])
        return None
    booster = model if _is_lgb_booster(model) or _is_xgb_booster(model) else _fitted_booster(model)
    return None if booster is None else model_outputs(booster)


def _trained_custom(text: str) -> bool:
    """A LightGBM model text whose parameters say it was trained with a custom objective."""
    return "\n[objective: custom]" in text


def _warn_no_record(what: str, why: str) -> None:
    import warnings

    warnings.warn(
        f"{what} was trained with a custom objective but {why}: its predictions are raw margins "
        "(no start, no link) and objective_of cannot say which loss it used. Keep the record with "
        "the model: save it from the recorded booster (obj.record(booster, train_set), or a "
        "boostobj.sklearn estimator's booster_), which writes it into the file and next to it, "
        "or move <model>.boostobj.json along with the model file",
        UserWarning, stacklevel=3)


# ---- native training: record (and, for LightGBM, the start) -------------------
def bake_start(booster: Any, init: Any) -> None:
    """Add the start margin to every leaf of the first iteration's trees.

    LightGBM keeps no intercept; after this, predictions (and saved models)
    include the start value with no extra step.
    """
    init = np.atleast_1d(np.asarray(init, dtype=np.float64))
    trees = booster.dump_model(num_iteration=1)["tree_info"]
    for k, c in enumerate(init):
        tree = trees[k]
        for leaf in range(tree["num_leaves"]):
            booster.set_leaf_output(tree["tree_index"], leaf,
                                    booster.get_leaf_output(tree["tree_index"], leaf) + float(c))


def _constant_start(train_set: Any) -> np.ndarray | None:
    """The constant per-column start in a LightGBM Dataset's init_score (None: no start)."""
    if getattr(train_set, "_predictor", None) is not None:
        return None  # continued training: the init model's margins, start included
    init = train_set.get_init_score()
    if init is None:
        return None
    init = np.asarray(init, dtype=np.float64)
    n = train_set.num_data()
    if init.ndim == 1 and init.size != n:  # LightGBM's class-major flat layout
        init = init.reshape(-1, n).T
    first = init[0]
    if not np.all(init == first):
        raise ValueError("obj.record bakes a constant start into the first trees, but this "
                         "train_set's init_score varies by row; add that offset at prediction "
                         "yourself, or build the Dataset with obj.dataset(X, y)")
    return first


def record(obj: Objective, booster: Any, train_set: Any = None) -> Any:
    """``Objective.record``: see its docstring."""
    if _is_lgb_booster(booster):
        prev = getattr(booster, "_boostobj_record", None)
        if prev is not None:  # recorded before: the start is in the trees already, keep it once
            return attach(booster, dict(prev, **{k: v for k, v in make_record(obj).items()
                                                 if k not in ("start", "classes", "n_outputs")}))
        if train_set is None:
            train_set = getattr(booster, "train_set", None)
        if train_set is None:
            raise ValueError("obj.record(booster, train_set): LightGBM boosters returned by lgb.train "
                             "no longer hold their training Dataset; pass it as train_set")
        start = _constant_start(train_set)
        if start is not None:
            bake_start(booster, start)
        k = booster.num_model_per_iteration()
        return attach(booster, make_record(obj, start, n_outputs=k))
    if _is_xgb_booster(booster):
        k = int(json.loads(booster.save_config())["learner"]["learner_model_param"].get("num_target", 1) or 1)
        return attach(booster, make_record(obj, None, n_outputs=k))
    raise TypeError(f"obj.record takes an xgboost.Booster or lightgbm.Booster, got {type(booster).__name__}; "
                    "the boostobj.sklearn estimators record by themselves")


def dataset(obj: Objective, X: Any, y: Any, weight: Any = None, reference: Any = None,
            **kwargs: Any) -> Any:
    """``Objective.dataset``: see its docstring."""
    _check_user_weights(weight)
    if y is not None and np.asarray(y).dtype.kind in "biuf":
        check_float32_labels(y)
    if reference is None:
        init = obj.init_score_array(y, weight)
        if init.ndim == 2:
            _warn_if_classes_missing(obj, y, init.shape[1])
    else:
        # get_init_score raises on a Dataset not constructed yet; its init_score is what was given
        ref = reference.init_score if reference._handle is None else reference.get_init_score()
        if ref is None:
            init = None  # the training set starts at 0: so must its validation sets
        else:
            ref = np.asarray(ref, dtype=np.float64)
            n_ref = reference.num_data() if reference._handle is not None else len(reference.get_label())
            if ref.ndim == 1 and ref.size != n_ref:
                ref = ref.reshape(-1, n_ref).T
            init = np.broadcast_to(ref[0], (len(np.asarray(y)),) + ref.shape[1:]).copy()
        # LightGBM turns a NaN label into 0 without a word, and the training set's start
        # above never read these labels: check them here, where they still are what was given
        labels = np.asarray(y, dtype=np.float64).ravel()
        if init is None:
            Loss.check_labels(obj.base_loss, labels, 1)  # the domain needs K: only finiteness
        else:
            obj.base_loss.check_labels(labels, 1 if init.ndim == 1 else init.shape[1])
    return _StartedDataset(X, y, weight=weight, init_score=init, reference=reference, **kwargs)


class _StartedDataset(lgb.Dataset):
    """``obj.dataset``'s ``lgb.Dataset``: it names what LightGBM's random forest would stop on."""

    def _update_params(self, params: Any) -> Any:  # lgb.train hands it the training params first
        refuse_lightgbm_forest(params)
        return super()._update_params(params)


def _warn_if_classes_missing(obj: Objective, y: Any, k: int) -> None:
    """K start columns for labels that leave a class of 0..K-1 without a row: say what lgb.train needs."""
    present = np.unique(np.asarray(y, dtype=np.float64))
    if len(present) == k:
        return
    import warnings

    warnings.warn(
        f"{obj!r}: the labels {present.astype(int).tolist()} imply K={k} classes (labels 0..K-1; "
        f"{k - len(present)} of them without a row), so this Dataset's init_score has {k} columns and "
        f"lgb.train needs params num_class={k} (else LightGBM fails with 'Number of class for initial "
        "score error'); if these are fewer classes, encode them 0..K-1 "
        "(sklearn.preprocessing.LabelEncoder)", UserWarning, stacklevel=4)


def warn_if_valid_set_lacks_start(valid: Any, checked: Any) -> None:
    """Warn once per LightGBM validation Dataset that lacks its training set's start."""
    if valid in checked:
        return
    checked.add(valid)
    ref = getattr(valid, "reference", None)
    if ref is None or ref is valid or valid.get_init_score() is not None:
        return
    start = ref.get_init_score()
    if start is None or not np.any(np.asarray(start) != 0):
        return
    import warnings

    warnings.warn(
        "a LightGBM validation set has no init_score but its training set starts from one: its "
        "scores miss the start, so the metric (and early stopping) judge the wrong margins. Build "
        "it with obj.dataset(X_valid, y_valid, reference=train_set), which sets init_score.",
        StartValueWarning, stacklevel=4)

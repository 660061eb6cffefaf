"""boostobj: custom boosting objectives that train right in XGBoost and LightGBM.

Each factory returns one ``Objective`` that works as ``obj=`` in
``xgb.train``, as the objective in ``lgb.train``, and as ``objective=`` in the
XGB*/LGBM* sklearn estimators (use ``boostobj.sklearn`` for estimators that
also start from the optimal constant and predict on the target scale).

Examples
--------
>>> import numpy as np, lightgbm as lgb, boostobj
>>> rng = np.random.default_rng(0)
>>> X = rng.normal(size=(300, 2)); y = 50 + 10 * X[:, 0] + rng.standard_t(2, 300)
>>> obj = boostobj.log_cosh()
>>> ds = lgb.Dataset(X, y, init_score=obj.init_score_array(y))
>>> bst = lgb.train({"objective": obj, "verbose": -1}, ds, num_boost_round=30)
>>> pred = obj.predict(bst.predict(X) + obj.init_score(y))
>>> obj.loss(y, pred) < obj.loss(y, np.full(300, obj.init_score(y)))
True
"""

from __future__ import annotations

from typing import Sequence

from boostobj.check import LossCheckError, check_loss
from boostobj.custom import custom
from boostobj.intervals import IntervalRegressor
from boostobj.losses import (
    Expectile,
    Exponential,
    Focal,
    Hinge,
    Huber,
    LogCosh,
    Loss,
    ModifiedHuber,
    Quantile,
    SquaredError,
)
from boostobj.model_io import objective_of
from boostobj.objective import Metric, Objective, StalledFitWarning, StartValueWarning
from boostobj.registry import register

__version__ = "0.2.0"

__all__ = [
    "IntervalRegressor",
    "Loss",
    "LossCheckError",
    "Metric",
    "Objective",
    "StalledFitWarning",
    "StartValueWarning",
    "check_loss",
    "custom",
    "expectile",
    "exponential",
    "focal",
    "hinge",
    "huber",
    "log_cosh",
    "modified_huber",
    "objective_of",
    "quantile",
    "register",
    "squared_error",
]


@register
def squared_error() -> Objective:
    """Squared error r^2/2: the plain reference objective.

    >>> import numpy as np, boostobj
    >>> boostobj.squared_error().init_score(np.array([1.0, 2.0, 6.0]))
    3.0
    """
    return Objective(SquaredError(), "squared_error")


@register
def log_cosh(eps: float = 0.5) -> Objective:
    """Log-cosh loss log(cosh(y - m)) with the MM curvature tanh(r)/r.

    ``eps`` in [1e-6, 10] guards the curvature at residuals below eps times
    the dataset's typical residual at the start (see
    ``boostobj.losses.LogCosh``); inside the guard the curvature is below
    the MM weight, so a larger guard takes larger steps, which overshoot
    past 10.

    >>> import numpy as np, boostobj
    >>> round(boostobj.log_cosh().loss(np.array([0.0]), np.array([1.0])), 6)
    0.433781
    """
    return Objective(LogCosh(eps), "log_cosh")


@register
def huber(delta: float = 1.0) -> Objective:
    """Huber loss with threshold ``delta`` (in label units), MM curvature outside.

    ``delta`` in [1.18e-38, 3.4e38], the normal float32 numbers: the
    kernels clip residuals to it and divide by it in float32. A delta
    below the curvature floor's share of the labels' typical residual
    (1e-16 of it) leaves every curvature at the floor: training then warns
    (``StalledFitWarning``) instead of silently not moving.

    >>> import numpy as np, boostobj
    >>> boostobj.huber(delta=2.0).loss(np.array([10.0]), np.array([0.0]))
    18.0
    """
    return Objective(Huber(delta), "huber")


@register
def quantile(alpha: float | Sequence[float] = 0.5, eps: float | None = None,
             refit_prior: float = 0.5) -> Objective:
    """Pinball loss at level ``alpha`` in [1e-7, 1 - 1e-7], or a strictly
    increasing list of levels trained as K outputs of one booster (sorted,
    never crossing); a list of one level is that level (one output).
    Levels closer to 0 or 1 round to 0 or 1 in the frameworks' float32
    gradients; a level beyond the sample's resolution (min(alpha, 1 - alpha)
    < 1 / n rows) trains with a ``StalledFitWarning``.

    ``eps`` in [1e-3, 100] (or None) guards the MM curvature 1/(2|r|) near r = 0: residuals below
    eps * 2 min(alpha, 1 - alpha) times the dataset's typical residual at the
    start share one curvature (see ``boostobj.losses.Quantile``). None: 0.5,
    and where the drop-ins refit each leaf to its exact residual
    quantile (``boostobj.leaf_refit``) they grow the trees on a nearly flat
    curvature (``boostobj.losses.QuantileRefitGrowth``). ``refit_prior`` in [0, 1e6]
    shrinks a refit leaf too small to hold a row beyond its quantile (fewer
    than 1 / min(alpha, 1 - alpha) rows) towards the current fit
    (``Quantile.leaf_values``); 0 refits every leaf exactly.

    >>> import numpy as np, boostobj
    >>> boostobj.quantile([0.1, 0.9]).init_score(np.arange(11.0)).tolist()
    [1.0, 9.0]
    """
    return Objective(Quantile(alpha, eps, refit_prior), "quantile")


@register
def exponential() -> Objective:
    """AdaBoost's exponential loss on the logit margin: sigmoid(margin) = P(y=1).

    >>> import numpy as np, boostobj
    >>> obj = boostobj.exponential()
    >>> round(float(obj.predict(np.array([obj.init_score(np.array([0, 1, 1, 1]))]))[0]), 6)
    0.75
    """
    return Objective(Exponential(), "exponential")


@register
def focal(gamma: float = 2.0, alpha: float | Sequence[float] | None = None) -> Objective:
    """Focal loss (Lin et al. 2017). Binary on a 1-D margin; softmax focal when
    the model has K >= 2 output columns (labels 0..K-1).

    ``gamma`` in [0, 50] (0 is the logistic loss): the start's curvature
    carries a factor 2^-gamma, which past 50 reaches the curvature floor.
    ``alpha`` in [1e-7, 1 - 1e-7] weights the positive class, or a sequence
    of K per-class weights in [1e-6, 1e6] for multi-class. Where the
    curvature at the start is too small for any split under the
    framework's default leaf-size control (a large gamma on few rows),
    training warns (``StalledFitWarning``).

    >>> import numpy as np, boostobj
    >>> y = np.array([0, 0, 0, 1])
    >>> round(float(boostobj.focal(gamma=0).predict(np.array([boostobj.focal(gamma=0).init_score(y)]))[0]), 6)
    0.25
    """
    return Objective(Focal(gamma, alpha), "focal")


@register
def expectile(alpha: float | Sequence[float] = 0.5) -> Objective:
    """Expectile loss |alpha - [r < 0]| r^2 (Newey & Powell 1987) at level
    ``alpha`` in [1e-7, 1 - 1e-7] (0.5 is squared error), or a strictly
    increasing list of levels trained as K outputs of one booster (sorted);
    a list of one level is that level. A level beyond the sample's
    resolution (min(alpha, 1 - alpha) < 1 / n rows) trains with a
    ``StalledFitWarning``.

    >>> import numpy as np, boostobj
    >>> y = np.array([0.0, 0.0, 0.0, 4.0])
    >>> np.round(boostobj.expectile([0.5, 0.8]).init_score(y), 6).tolist()  # mean 1; 16/7
    [1.0, 2.285714]
    """
    return Objective(Expectile(alpha), "expectile")


@register
def hinge(eps: float = 0.5) -> Objective:
    """Hinge loss max(0, 1 - s m), labels {0, 1}, with the MM curvature
    1/(2 max(|1 - s m|, eps)), ``eps`` in [1e-6, 100] margin units (beyond
    100 nearly every row shares one curvature). No probabilities: ``predict`` gives the class;
    the boostobj drop-ins' ``predict_proba`` raises (use
    ``sklearn.calibration.CalibratedClassifierCV``).

    >>> import numpy as np, boostobj
    >>> obj = boostobj.hinge()
    >>> obj.init_score(np.array([0, 1, 1])), obj.predict(np.array([-0.3, 2.0])).tolist()
    (1.0, [0.0, 1.0])
    """
    return Objective(Hinge(eps), "hinge")


@register
def modified_huber() -> Objective:
    """Modified Huber loss (scikit-learn's ``SGDClassifier(loss="modified_huber")``),
    labels {0, 1}; P(y=1) = (clip(margin, -1, 1) + 1) / 2.

    >>> import numpy as np, boostobj
    >>> obj = boostobj.modified_huber()
    >>> y = np.array([0, 1, 1, 1])
    >>> obj.init_score(y), obj.predict(np.array([obj.init_score(y)])).tolist()
    (0.5, [0.75])
    """
    return Objective(ModifiedHuber(), "modified_huber")

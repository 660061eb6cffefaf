"""
A loss of your own: the Cauchy loss
===================================

The Cauchy loss log(1 + r^2 / c^2) is robust and not convex, and neither
framework ships it. ``boostobj.custom`` turns its element-wise formula into an
objective with a positive curvature (here the majorizing ``"mm"`` weight), the
loss-optimal start, a metric and model files; ``boostobj.check_loss`` checks
it first.
"""

import matplotlib.pyplot as plt
import numpy as np

import boostobj
from boostobj.sklearn import XGBRegressor


@boostobj.register
def cauchy_loss(c: float = 1.0) -> boostobj.Objective:
    """The Cauchy (Lorentzian) loss with scale ``c``."""
    return boostobj.custom(
        "cauchy_loss",
        lambda y, m: np.log1p(((y - m) / c) ** 2),
        gradient=lambda y, m: 2 * (m - y) / (c**2 + (y - m) ** 2),
        curvature="mm",
        params={"c": c},
    )


obj = cauchy_loss(1.0)
report = boostobj.check_loss(obj)
print(report)

rng = np.random.default_rng(6)
x = rng.uniform(-3, 3, 1500)
y = np.tanh(2 * x) + rng.normal(0, 0.2, 1500)
outliers = rng.random(1500) < 0.15
y[outliers] += rng.choice([-1, 1], outliers.sum()) * rng.uniform(3, 8, outliers.sum())

grid = np.linspace(-3, 3, 300)
fig, ax = plt.subplots(figsize=(7, 4))
ax.scatter(x, y, s=2, color="0.6")
for name, objective in [("squared error", boostobj.squared_error()), ("Cauchy (custom)", obj)]:
    model = XGBRegressor(objective=objective, n_estimators=150, max_depth=3, learning_rate=0.1)
    pred = model.fit(x[:, None], y).predict(grid[:, None])
    err = np.sqrt(np.mean((pred - np.tanh(2 * grid)) ** 2))
    print(f"{name}: RMSE to the clean curve {err:.3f}")
    ax.plot(grid, pred, lw=2, label=f"{name} (RMSE {err:.3f})")
ax.set_ylim(-3, 3)
ax.legend()
plt.show()

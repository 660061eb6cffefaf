"""
A quantile fan that never crosses
=================================

Several levels trained as the outputs of one booster: ``predict`` sorts
them, so the five curves (5% to 95%) never cross, even where the data is
thin. Each level's leaves are refit to the exact residual quantile.
"""

import matplotlib.pyplot as plt
import numpy as np

import boostobj
from boostobj.sklearn import LGBMRegressor

rng = np.random.default_rng(1)
x = rng.uniform(0, 10, 1500)
y = x * np.sin(x) + rng.normal(0, 0.5 + 0.3 * x, 1500)  # noise that grows with x

levels = [0.05, 0.25, 0.5, 0.75, 0.95]
model = LGBMRegressor(objective=boostobj.quantile(levels), n_estimators=200, num_leaves=8,
                      learning_rate=0.05, verbose=-1).fit(x[:, None], y)
grid = np.linspace(0, 10, 400)
q = model.predict(grid[:, None])  # (400, 5), sorted along each row
assert np.all(np.diff(q, axis=1) >= 0)

observed = model.predict(x[:, None])
for j, a in enumerate(levels):
    print(f"level {a:.2f}: fraction of training labels at or below it {np.mean(y <= observed[:, j]):.3f}")

fig, ax = plt.subplots(figsize=(7, 4))
ax.scatter(x, y, s=2, color="0.6")
for j, a in enumerate(levels):
    ax.plot(grid, q[:, j], lw=1.5, label=f"{a:.0%}")
ax.fill_between(grid, q[:, 0], q[:, -1], alpha=0.15)
ax.legend(title="level", fontsize=8)
ax.set_xlabel("x")
plt.show()

"""
The sinc(x) study: robust losses under Gaussian and impulse noise
=================================================================

Natekin & Knoll (2013, Fig. 1) fit sinc(x) observed with Gaussian noise and
with impulses. Squared error chases the impulses; Huber and log-cosh do not.
The full experiment, with intervals and a sweep over Huber's delta, is
``python experiments/sinc.py``; this is a small version of its robust half.
"""

import matplotlib.pyplot as plt
import numpy as np

import boostobj
from boostobj.sklearn import XGBRegressor

rng = np.random.default_rng(0)
n = 2000
x = rng.uniform(-10, 10, n)
clean = np.sinc(x / np.pi)  # sin(x) / x
noisy = clean + rng.normal(0, 0.1, n)
impulses = rng.random(n) < 0.1  # 10% of the rows get an impulse of +1
noisy[impulses] += 1.0

grid = np.linspace(-10, 10, 500)
fits = {}
for name, obj in [("squared error", boostobj.squared_error()), ("Huber, delta 0.3", boostobj.huber(0.3)),
                  ("log-cosh", boostobj.log_cosh())]:
    model = XGBRegressor(objective=obj, n_estimators=200, max_depth=3, learning_rate=0.1)
    fits[name] = model.fit(x[:, None], noisy).predict(grid[:, None])

fig, ax = plt.subplots(figsize=(7, 4))
ax.scatter(x, noisy, s=2, color="0.7", label="observations (10% with +1 impulses)")
ax.plot(grid, np.sinc(grid / np.pi), "k--", lw=1, label="sinc(x)")
for name, pred in fits.items():
    rmse = np.sqrt(np.mean((pred - np.sinc(grid / np.pi)) ** 2))
    ax.plot(grid, pred, lw=1.5, label=f"{name} (RMSE to sinc {rmse:.3f})")
    print(f"{name}: RMSE to the clean curve {rmse:.3f}")
ax.set_ylim(-0.5, 1.6)
ax.legend(fontsize=8)
ax.set_xlabel("x")
plt.show()

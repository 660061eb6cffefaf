"""
Robust regression at any label scale
====================================

Hand-written Huber objectives often hard-code their curvature or slope in
label units, so the same code fits labels of scale 1 and labels of scale
1000 differently. boostobj's curvature is normalised per dataset: Huber with
delta scaled with the labels gives the same model, scaled.
"""

import matplotlib.pyplot as plt
import numpy as np

import boostobj
from boostobj.sklearn import LGBMRegressor

rng = np.random.default_rng(4)
X = rng.normal(size=(3000, 5))
y = 2 * X[:, 0] + np.sin(3 * X[:, 1]) + rng.standard_t(2, 3000)

preds = {}
for scale in (1.0, 1000.0):
    model = LGBMRegressor(objective=boostobj.huber(delta=1.0 * scale), n_estimators=200, verbose=-1)
    preds[scale] = model.fit(X, y * scale).predict(X) / scale
gap = np.max(np.abs(preds[1.0] - preds[1000.0])) / np.std(y)
print(f"largest difference between the two fits, in label standard deviations: {gap:.2e}")

fig, ax = plt.subplots(figsize=(4.5, 4))
ax.scatter(preds[1.0], preds[1000.0], s=2)
ax.set_xlabel("fit on y")
ax.set_ylabel("fit on 1000 y, divided by 1000")
plt.show()

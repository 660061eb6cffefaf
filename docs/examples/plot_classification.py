"""
The classification study: four losses of the margin
====================================================

Exponential (AdaBoost), focal, hinge and modified Huber against the logistic
loss (focal with gamma 0) on the same data: the losses as functions of the
margin, and what each gives on held-out rows. The full study is
``python experiments/classification.py``.
"""

import matplotlib.pyplot as plt
import numpy as np
from sklearn.metrics import accuracy_score

import boostobj
from boostobj.sklearn import LGBMClassifier

z = np.linspace(-3, 3, 300)
fig, (left, right) = plt.subplots(1, 2, figsize=(9, 3.5))
losses = {"logistic": boostobj.focal(gamma=0.0), "focal, gamma 2": boostobj.focal(gamma=2.0),
          "exponential": boostobj.exponential(), "hinge": boostobj.hinge(), "modified Huber": boostobj.modified_huber()}
for name, obj in losses.items():
    curve = [obj.loss(np.array([1.0]), np.array([m])) for m in z]
    left.plot(z, curve, label=name)
left.set_xlabel("margin for a positive row")
left.set_ylabel("loss")
left.set_ylim(0, 4)
left.legend(fontsize=8)

rng = np.random.default_rng(5)
X = rng.normal(size=(6000, 5))
y = (X[:, 0] + 0.5 * X[:, 1] ** 2 + rng.normal(size=6000) > 0.5).astype(int)
scores = {}
for name, obj in losses.items():
    model = LGBMClassifier(objective=obj, n_estimators=100, num_leaves=8, verbose=-1).fit(X[:4000], y[:4000])
    scores[name] = accuracy_score(y[4000:], model.predict(X[4000:]))
    print(f"{name}: held-out accuracy {scores[name]:.3f}")
right.barh(list(scores), list(scores.values()))
right.set_xlim(0.5, 1.0)
right.set_xlabel("held-out accuracy")
fig.tight_layout()
plt.show()

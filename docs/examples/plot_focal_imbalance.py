"""
Focal loss on a 1:99 imbalance
==============================

With one positive in a hundred, focal loss (Lin et al. 2017) down-weights the
many easy negatives. boostobj's focal objective starts from the loss-optimal
constant and ``predict_proba`` returns the focal model's class posterior (not
sigmoid of the margin), so its probabilities stay calibrated in the large.
"""

import matplotlib.pyplot as plt
import numpy as np
from sklearn.metrics import average_precision_score

import boostobj
from boostobj.sklearn import XGBClassifier

rng = np.random.default_rng(3)


def make(n):
    X = rng.normal(size=(n, 6))
    logit = 2.0 * X[:, 0] - 1.5 * X[:, 1] + X[:, 2] * X[:, 3] - 7.6
    return X, (rng.random(n) < 1 / (1 + np.exp(-logit))).astype(int)


X, y = make(20000)
X_test, y_test = make(20000)
print(f"positive rate: train {y.mean():.4f}, test {y_test.mean():.4f}")
fig, ax = plt.subplots(figsize=(6, 4))
for gamma in (0.0, 2.0):
    model = XGBClassifier(objective=boostobj.focal(gamma=gamma), n_estimators=200, max_depth=3, learning_rate=0.1)
    p = model.fit(X, y).predict_proba(X_test)[:, 1]
    ap = average_precision_score(y_test, p)
    print(f"gamma={gamma}: average precision {ap:.3f}, mean predicted probability {p.mean():.4f}")
    order = np.argsort(p)
    bins = np.array_split(order, 10)
    ax.plot([p[b].mean() for b in bins], [y_test[b].mean() for b in bins], "o-",
            label=f"focal, gamma {gamma:g} (AP {ap:.3f})")
ax.plot([0, 0.2], [0, 0.2], "k--", lw=1)
ax.set_xlabel("mean predicted probability (deciles)")
ax.set_ylabel("observed positive rate")
ax.legend(fontsize=8)
plt.show()

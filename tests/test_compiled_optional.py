"""The compiled kernels can be turned off: without them every entry point trains the same models.

``BOOSTOBJ_NUMBA=0`` makes ``boostobj._compiled`` behave as if numba could not
be imported: the objective then runs the reference kernels a block at a time. A fresh process trains each hot-path loss that way; the models must
equal those trained here (compiled where numba is installed) within float32
rounding of the gradients.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys

import numpy as np
import pytest

import boostobj
from boostobj import _compiled

TRAIN = r"""
import json, sys
import numpy as np, xgboost as xgb, lightgbm as lgb
import boostobj
from boostobj import _compiled

rng = np.random.default_rng(0)
X = rng.normal(size=(3000, 4)).astype(np.float32)
y_reg = (X[:, 0] * 10 + rng.standard_t(3, 3000)).astype(np.float32)
y_bin = (rng.random(3000) < 1 / (1 + np.exp(-2 * X[:, 0]))).astype(np.float32)
out = {"enabled": _compiled.ENABLED}
for name, make, y in [("huber", lambda: boostobj.huber(2.0), y_reg),
                      ("quantile", lambda: boostobj.quantile(0.9), y_reg),
                      ("log_cosh", boostobj.log_cosh, y_reg),
                      ("exponential", boostobj.exponential, y_bin),
                      ("focal", lambda: boostobj.focal(2.0, 0.25), y_bin)]:
    obj = make()
    d = xgb.DMatrix(X, y)
    b = xgb.train({"max_depth": 3, "base_score": obj.init_score(y), "disable_default_eval_metric": 1},
                  d, 20, obj=obj)
    ds = lgb.Dataset(X, y, init_score=obj.init_score_array(y))
    m = lgb.train({"objective": make(), "verbose": -1, "num_leaves": 8}, ds, 20)
    out[name] = [b.predict(d, output_margin=True)[:200].tolist(), m.predict(X, raw_score=True)[:200].tolist()]
print(json.dumps(out))
"""


def _train(numba_env: str) -> dict:
    env = {**os.environ, "BOOSTOBJ_NUMBA": numba_env}
    done = subprocess.run([sys.executable, "-c", TRAIN], env=env, capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr[-2000:]
    return json.loads(done.stdout.strip().splitlines()[-1])


def test_without_numba_every_hot_path_loss_trains_the_same_models():
    numpy_path = _train("0")
    assert numpy_path.pop("enabled") is False
    here = _train("1" if _compiled.ENABLED else "0")  # this process's own configuration
    assert here.pop("enabled") is _compiled.ENABLED
    for name, (xgb_margin, lgb_margin) in numpy_path.items():
        for a, b in ((xgb_margin, here[name][0]), (lgb_margin, here[name][1])):
            a, b = np.asarray(a), np.asarray(b)
            # float32 rounding of the gradients can flip a near-tie split now and then: compare
            # the models' margins in the scale of the labels
            spread = float(np.ptp(a)) or 1.0
            assert np.median(np.abs(a - b)) <= 1e-4 * spread, name
            assert np.max(np.abs(a - b)) <= 0.05 * spread, name


@pytest.mark.skipif(not _compiled.ENABLED, reason="numba is not available (BOOSTOBJ_NUMBA=0)")
def test_a_stale_label_in_the_fused_check_gives_a_fresh_state():
    """set_label between rounds: the compiled pass sees it while reading the rows."""
    import xgboost as xgb

    rng = np.random.default_rng(1)
    X = rng.normal(size=(500, 3))
    y = X[:, 0] * 5 + rng.normal(size=500)
    obj = boostobj.huber(1.0)
    d = xgb.DMatrix(X, y)
    m = np.zeros(500, np.float32) + np.float32(obj.init_score(y))
    g1, _ = (a.copy() for a in obj(m, d))
    y2 = y.copy()
    y2[321] += 100.0  # one label: only a full comparison sees it
    d.set_label(y2)
    g2, _ = (a.copy() for a in obj(m, d))
    expected, _ = boostobj.huber(1.0)(y2.astype(np.float32), m)  # a fresh objective on the new labels
    np.testing.assert_allclose(g2, expected, rtol=1e-6)
    assert not np.allclose(g1, g2)



@pytest.mark.skipif(not _compiled.ENABLED, reason="numba is not available (BOOSTOBJ_NUMBA=0)")
@pytest.mark.parametrize("new_label", [0.0, 0.5, 256.0, 1.0 + 2.0 ** -20])
def test_integer_labels_compared_as_bytes_still_see_any_change(new_label):
    """Labels that are integers in [0, 255] are compared as a uint8 copy; any other value still differs."""
    import xgboost as xgb

    rng = np.random.default_rng(2)
    y = (rng.random(700) < 0.4).astype(np.float64)
    y[456] = 1.0
    obj = boostobj.huber(0.5)
    d = xgb.DMatrix(rng.normal(size=(700, 2)), y)
    m = np.full(700, 0.25, np.float32)
    obj(m, d)
    (state,) = obj._by_dataset.values()
    assert state.compared_labels().dtype == np.uint8  # the path under test
    y2 = y.copy()
    y2[456] = new_label  # one row: only the comparison in the pass sees it
    d.set_label(y2)
    g2, h2 = (a.copy() for a in obj(m, d))
    (state,) = obj._by_dataset.values()
    assert state.source_labels()[456] == np.float32(new_label)  # the change was seen: a fresh state
    g_ref, h_ref = boostobj.huber(0.5)(y2.astype(np.float32), m)  # a fresh objective on the new labels
    np.testing.assert_array_equal(g2, g_ref)
    np.testing.assert_array_equal(h2, h_ref)


@pytest.mark.skipif(not _compiled.ENABLED, reason="numba is not available (BOOSTOBJ_NUMBA=0)")
def test_binary_labels_are_compared_as_bytes_except_for_rows_bound_by_arithmetic():
    """exponential's pass compares uint8 labels; focal's (compiled_row_blocks) keeps the float32
    copy, whose comparison is one instruction fewer per 16 rows than converting bytes."""
    import xgboost as xgb

    rng = np.random.default_rng(5)
    y = (rng.random(600) < 0.3).astype(np.float64)
    d = xgb.DMatrix(rng.normal(size=(600, 2)), y)
    m = np.zeros(600, np.float32)
    for make, dtype in ((boostobj.exponential, np.uint8), (boostobj.focal, np.float32)):
        obj = make()
        obj(m, d)
        obj(m, d)  # the first call builds the state from these labels; later ones compare
        (state,) = obj._by_dataset.values()
        assert state.plan().rows.y_was.dtype == dtype, make

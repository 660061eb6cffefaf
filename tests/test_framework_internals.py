"""Every private framework name boostobj uses, held to the installed XGBoost and LightGBM.

boostobj reaches into the frameworks in a few documented places
(``boostobj.frameworks``); each has a public fallback that is slower or
does less, so a renamed internal would not crash, it would quietly lose the
fast path or the refit. These tests fail instead, naming the internal.
"""

from __future__ import annotations

import re

import lightgbm as lgb
import numpy as np
import pytest
import xgboost as xgb

import boostobj
from boostobj import frameworks
from boostobj.model_io import RecordedBooster


def _lgb_booster(n=200):
    rng = np.random.default_rng(0)
    X, y = rng.normal(size=(n, 2)), rng.normal(size=n)
    train = lgb.Dataset(X, y, free_raw_data=False)
    valid = lgb.Dataset(X[:50], y[:50], reference=train)
    booster = lgb.Booster({"objective": "l2", "verbose": -1}, train)
    booster.add_valid(valid, "valid")
    booster.update()
    return booster, X, y


def test_lightgbm_score_cache_reader_exists_and_reads_the_training_scores():
    booster, X, _ = _lgb_booster()
    reader = frameworks.lightgbm_score_reader(booster)
    assert reader is not None, "LightGBM renamed Booster.__inner_predict: the leaf refit would be off"
    np.testing.assert_allclose(reader(data_idx=0), booster.predict(X, raw_score=True), rtol=1e-12)


def test_lightgbm_cached_scores_match_the_model_for_every_data_set():
    booster, X, _ = _lgb_booster()
    for idx, rows in ((0, X), (1, X[:50])):
        scores = frameworks.lightgbm_cached_scores(booster, idx, 1)
        assert scores is not None, "LGBM_BoosterGetPredict moved: the refit would re-predict every round"
        np.testing.assert_allclose(scores[:, 0], booster.predict(rows, raw_score=True), rtol=1e-12)


def test_serving_scores_reaches_lightgbms_objective_calls():
    booster, _, y = _lgb_booster()
    served = np.full(len(y), 123.0)
    seen = []
    frameworks.serve_lightgbm_scores(booster, lambda *, data_idx: served)

    def fobj(preds, data):
        seen.append(np.array(preds))
        return preds - data.get_label(), np.ones_like(preds)

    booster.update(fobj=fobj)
    assert seen and np.array_equal(seen[0], served)


def test_xgboost_label_view_reads_xgboosts_own_memory():
    y = np.arange(50.0)
    d = xgb.DMatrix(np.zeros((50, 1)), y, weight=np.ones(50))
    view = frameworks._xgboost_info_view(d, b"label")
    assert view is not None, "XGDMatrixGetFloatInfo moved: every call would copy the labels"
    np.testing.assert_array_equal(view, y.astype(np.float32))


def test_recorded_lightgbm_booster_keeps_lightgbms_layout():
    booster, X, _ = _lgb_booster()
    before = booster.predict(X)
    recorded = boostobj.huber().record(booster, lgb.Dataset(X, np.zeros(len(X))).construct())
    assert type(recorded) is RecordedBooster and recorded is booster
    np.testing.assert_allclose(recorded.predict(X), before)


def test_lightgbm_leaf_counts_match_dump_model(monkeypatch):
    """One iteration's leaf counts, from the split importance for one tree per iteration (continued
    training too) and from LGBM_BoosterSaveModelToString for K trees or forced splits, equal
    dump_model's; the public route is what they fall back to."""
    rng = np.random.default_rng(1)
    X = rng.normal(size=(600, 4))
    calls = []
    real = lgb.Booster.dump_model
    monkeypatch.setattr(lgb.Booster, "dump_model", lambda self, *a, **kw: (calls.append(1), real(self, *a, **kw))[1])
    for params, k in (({"objective": "l2"}, 1), ({"objective": "multiclass", "num_class": 3}, 3)):
        y = rng.integers(0, 3, 600) if k > 1 else X[:, 0] + rng.normal(size=600)
        params = {**params, "verbose": -1, "num_leaves": 13, "min_data_in_leaf": 5}
        first = lgb.train(params, lgb.Dataset(X, y), 3)
        booster = lgb.train(params, lgb.Dataset(X, y), 3, init_model=first)
        with monkeypatch.context() as m:
            m.setattr(frameworks, "_NUM_LEAVES", re.compile(rb"^never_there=(\d+)$", re.M))  # no model text
            for it in range(6):
                dumped = [t["num_leaves"] for t in real(booster, start_iteration=it, num_iteration=1)["tree_info"]]
                assert frameworks.lightgbm_leaf_counts(booster, it, k) == dumped
        assert len(calls) == (0 if k == 1 else 6)  # one tree per iteration: the split counts alone
        calls.clear()
    expected = [t["num_leaves"] for t in real(booster, start_iteration=0, num_iteration=1)["tree_info"]]
    assert frameworks.lightgbm_leaf_counts(booster, 0, k) == expected
    assert calls == []  # the text route, not the public one
    monkeypatch.setattr(frameworks, "_NUM_LEAVES", re.compile(rb"^never_there=(\d+)$", re.M))
    assert frameworks.lightgbm_leaf_counts(booster, 0, k) == expected
    assert calls == [1]  # the fallback


def test_lightgbm_leaf_values_and_writes_are_the_public_calls():
    booster, _, _ = _lgb_booster()
    n = frameworks.lightgbm_leaf_counts(booster, 0, 1)[0]
    values = frameworks.lightgbm_leaf_values(booster, 0, n)
    assert values.tolist() == [booster.get_leaf_output(0, i) for i in range(n)]
    frameworks.lightgbm_set_leaf_values(booster, 0, np.array([0, n - 1]), np.array([0.25, -1.5]))
    assert [booster.get_leaf_output(0, 0), booster.get_leaf_output(0, n - 1)] == [0.25, -1.5]


def test_xgboost_split_count_counts_every_split_node():
    import json

    rng = np.random.default_rng(3)
    X = rng.normal(size=(300, 3))
    assert frameworks.xgboost_split_count(xgb.Booster({"num_feature": 3})) == 0
    booster = xgb.train({"max_depth": 3, "num_target": 2, "multi_strategy": "one_output_per_tree"},
                        xgb.DMatrix(X, np.c_[X[:, 0], X[:, 1]]), 4)
    trees = json.loads(booster.save_raw("json"))["learner"]["gradient_booster"]["model"]["trees"]
    splits = sum(int(np.sum(np.asarray(t["left_children"]) != -1)) for t in trees)
    assert splits > 8
    assert frameworks.xgboost_split_count(booster) == splits


def test_xgboost_round_model_from_the_c_calls_matches_the_public_slice(monkeypatch):
    """One round's JSON through XGBoosterSlice and XGBoosterSaveModelToBuffer on a bare handle equals
    booster[t:t + 1].save_raw("json"); the public route is what it falls back to."""
    import json

    rng = np.random.default_rng(2)
    X = rng.normal(size=(300, 3))
    booster = xgb.train({"max_depth": 3, "num_target": 2, "multi_strategy": "one_output_per_tree"},
                        xgb.DMatrix(X, np.c_[X[:, 0], X[:, 1]]), 4)
    for t in range(4):
        public = json.loads(booster[t:t + 1].save_raw("json"))["learner"]["gradient_booster"]["model"]
        assert frameworks.xgboost_round_model(booster, t) == public
    monkeypatch.setattr(frameworks, "ctypes", None)  # the C route breaks: the public one serves
    assert frameworks.xgboost_round_model(booster, 3) == public


@pytest.mark.parametrize("targets", [1, 2])
def test_xgboost_leaf_ids_and_training_margins_from_the_c_calls_match_predict(monkeypatch, targets):
    """A slice's leaf ids and the cached training margins through the C call behind predict equal
    booster[begin:end].predict(pred_leaf=True) and predict(output_margin=True, training=True); the
    leaf ids fall back to that public route, the margins to None (the caller predicts)."""
    rng = np.random.default_rng(4)
    X = rng.normal(size=(300, 3))
    y = X[:, 0] if targets == 1 else np.c_[X[:, 0], X[:, 1]]
    d = xgb.DMatrix(X, y)
    params = {"max_depth": 3} if targets == 1 else {"max_depth": 3, "num_target": 2,
                                                     "multi_strategy": "one_output_per_tree"}
    booster = xgb.train(params, d, 5)
    for begin, end in ((0, 1), (3, 4), (1, 5)):
        public = np.asarray(booster[begin:end].predict(d, pred_leaf=True), dtype=np.intp).reshape(300, -1)
        assert public.shape[1] == (end - begin) * targets
        assert np.array_equal(frameworks.xgboost_leaf_ids(booster, d, begin, end), public)
    margin = frameworks.xgboost_training_margin(booster, d)
    expected = booster.predict(d, output_margin=True, training=True)
    assert margin.dtype == expected.dtype and np.array_equal(margin, expected)
    monkeypatch.setattr(frameworks, "ctypes", None)
    assert np.array_equal(frameworks.xgboost_leaf_ids(booster, d, 1, 5), public)
    assert frameworks.xgboost_training_margin(booster, d) is None

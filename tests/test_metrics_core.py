"""emogan.metrics.core: the registry's keys, missing-classifier nulls, and plain JSON-ready values."""

import numpy as np
import pytest
import torch

from emogan.metrics import core
from emogan.metrics.core import classifier_keys, compute_metrics, describe, metric, metric_keys, registry


def test_every_metric_declares_distinct_keys_and_the_issue_names_are_there():
    keys = metric_keys()
    assert len(keys) == len(set(keys))
    for k in ("fer_fid", "fer_kid", "precision", "recall", "density", "coverage", "msssim", "msssim_real",
              "duplicate_rate", "birthday_support", "ndb", "ndb_js", "emotion_js_prior", "confidence",
              "nn_train_dist"):
        assert k in keys
    assert set(classifier_keys()) >= {"fer_fid", "coverage", "emotion_js_prior"}
    assert not set(classifier_keys()) & {"msssim", "duplicate_rate", "ndb"}


def test_without_a_classifier_its_metrics_are_none_and_the_others_computed():
    faces = np.random.default_rng(0).integers(0, 256, (30, 48, 48), dtype=np.uint8)
    sample = describe(faces, None)
    assert sample.features is None and sample.pixels.shape == (30, 576)

    ref = type("R", (), {"features": None, "baselines": {"msssim_real": 0.1}, "train_pixels": sample.pixels,
                         "bins": None})()
    got = compute_metrics(sample, ref, names=["msssim", "duplicates", "memorisation", "fer_fid_kid", "prdc"])
    assert all(got[k] is None for k in ("fer_fid", "fer_kid", "precision", "coverage"))
    assert isinstance(got["msssim"], float) and got["msssim_real"] == 0.1
    assert got["nn_train_dist"] == pytest.approx(0.0, abs=1e-3) and got["memorised_rate"] == 1.0
    assert type(got["duplicate_rate"]) is float


def test_unknown_names_and_wrong_keys_are_refused(monkeypatch):
    with pytest.raises(ValueError, match="unknown metric 'nope'"):
        compute_metrics(None, None, names=["nope"])
    monkeypatch.setattr(core, "METRICS", dict(registry()))
    metric("liar", keys=("a",), needs_classifier=False)(lambda s, r: {"b": 1})
    with pytest.raises(RuntimeError, match="liar"):
        compute_metrics(None, None, names=["liar"])
    with pytest.raises(ValueError, match="twice"):
        metric("liar", keys=("a",), needs_classifier=False)(lambda s, r: {})


def test_values_are_plain_python_numbers():
    assert core._plain(np.float32(0.5)) == 0.5 and type(core._plain(np.float32(0.5))) is float
    assert type(core._plain(np.int64(3))) is int and core._plain(torch.tensor(2.0)) == 2.0
    assert core._plain(None) is None and core._plain(np.bool_(True)) == 1


def test_key_order_does_not_depend_on_import_order(monkeypatch):
    # Whichever metric module is imported first registers first; the line's key order must not follow that.
    monkeypatch.setattr(core, "METRICS", dict(reversed(list(registry().items()))))
    assert metric_keys()[0] == "fer_fid" and metric_keys()[-1] == "ndb_js"

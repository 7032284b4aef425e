"""emogan.metrics.suite: the metrics in line order with their settings and charts; a new metric is a function and
one register line; missing-classifier nulls and plain JSON-ready values."""

import numpy as np
import pytest
import torch
from tiny import FIXTURE

from emogan.data import load_faces
from emogan.metrics import suite
from emogan.metrics.core import make_sample
from emogan.metrics.reference import build_reference, reference_identity, settings
from emogan.metrics.suite import Chart, Metric, compute_metrics, metric_charts, register

# The keys of a metrics line, in order: metrics.jsonl files on disk are written in it.
LINE = ["fer_fid", "fer_kid", "fer_kid_std", "precision", "recall", "density", "coverage", "emotion_angry",
        "emotion_disgust", "emotion_fear", "emotion_happy", "emotion_sad", "emotion_surprise", "emotion_neutral",
        "emotion_js_prior", "emotion_js_reference", "confidence", "label_accuracy", "msssim", "msssim_real",
        "duplicate_rate", "birthday_batch", "birthday_support", "nn_train_dist", "memorised_rate", "ndb", "ndb_frac",
        "ndb_js", "c2st", "fer_fid_angry", "fer_fid_disgust", "fer_fid_fear", "fer_fid_happy", "fer_fid_sad",
        "fer_fid_surprise", "fer_fid_neutral", "fer_fid_intra"]


@pytest.fixture
def own_suite(monkeypatch):
    """The suite as it is, on loan: metrics registered in a test are gone after it."""
    monkeypatch.setattr(suite, "METRICS", dict(suite.METRICS))


@pytest.fixture(scope="module")
def reference(tmp_path_factory):
    """A reference without a classifier on the real-image fixture (84 training, 210 validation faces)."""
    cache = tmp_path_factory.mktemp("cache")
    train, val = (load_faces(FIXTURE, split, cache_dir=cache) for split in ("train", "validation"))
    return build_reference(train, val, None, n=40, emotion="all", cache_dir=cache)


@pytest.fixture(scope="module")
def sample():
    return make_sample(np.random.default_rng(0).integers(0, 256, (40, 48, 48), dtype=np.uint8), None)


def test_the_line_keeps_its_keys_in_order():
    assert suite.metric_keys() == LINE
    assert suite.classifier_keys() == LINE[:LINE.index("msssim")] + LINE[LINE.index("fer_fid_angry"):]


def test_the_settings_metrics_config_records_are_unchanged():
    # metrics_config.json files on disk hold these; any difference would refuse their runs' metrics.
    from emogan.metrics import realism
    assert settings(1000) == {"version": 1, "n": 1000, "sample_seed": 20180, "pixel_dim": 576, "near_identical": 0.05,
                              "prdc_k": 5, "kid_subsets": 10, "ndb_seed": 0,
                              "msssim": {"pairs": "n/2 disjoint", "sigma": 1.0,
                                         "betas": [0.071055, 0.452974, 0.475971]},
                              "c2st": realism.SETTINGS}


def test_a_config_written_before_a_metric_was_registered_stays_compatible_and_a_changed_setting_does_not(tmp_path):
    import json

    from emogan.metrics.records import FORMAT, MetricsMismatch, check_compatible

    now = {"settings": settings(1000), "reference": {}, "train": {}, "classifier": None}
    older = {k: v for k, v in settings(1000).items() if k != "c2st"}
    (tmp_path / "metrics_config.json").write_text(json.dumps({"format": FORMAT, **now, "settings": older}))
    check_compatible(tmp_path, now)
    changed = {**settings(1000), "c2st": {**settings(1000)["c2st"], "epochs": 1}}
    (tmp_path / "metrics_config.json").write_text(json.dumps({"format": FORMAT, **now, "settings": changed}))
    with pytest.raises(MetricsMismatch, match="c2st"):
        check_compatible(tmp_path, now)


def test_charts_name_keys_of_the_line_and_baselines_the_reference_has(reference):
    charts = metric_charts()
    assert list(charts)[:2] == ["fer_fid", "fer_kid"]
    assert charts["fer_fid"] == ("FER-FID (not Inception FID)", True, "fer_fid_real")
    assert charts["coverage"].title == "Coverage (k=5)" and charts["birthday_support"].log
    assert set(charts) <= set(LINE)
    # This reference has no classifier: only the classifier-free charts' baselines can be in it.
    free = {c.baseline for k, c in charts.items() if k not in suite.classifier_keys()} - {None}
    assert free and free <= set(LINE) | set(reference.baselines)
    assert {charts[k].baseline for k in ("fer_fid", "fer_kid", "coverage", "precision", "recall")} == \
        {"fer_fid_real", "fer_kid_real", "coverage_real", "precision_real", "recall_real"}


def test_without_a_classifier_its_metrics_are_none_and_the_others_computed(reference, sample):
    got = compute_metrics(sample, reference)
    assert list(got) == LINE
    assert all(got[k] is None for k in suite.classifier_keys())
    assert isinstance(got["msssim"], float) and got["msssim_real"] == reference.baselines["msssim_real"]
    assert type(got["duplicate_rate"]) is float and type(got["ndb"]) is int


def test_a_new_metric_is_one_function_and_one_register_line(own_suite, reference, sample):
    def brightness(sample, reference):
        return {"brightness": sample.images.mean() / 255}

    register(Metric("brightness", brightness, ("brightness",), settings={"brightness_scale": 255},
                    charts={"brightness": Chart("Mean brightness")}))
    got = compute_metrics(sample, reference)
    assert list(got) == [*LINE, "brightness"]
    assert got["brightness"] == pytest.approx(sample.images.mean() / 255) and type(got["brightness"]) is float
    assert metric_charts()["brightness"] == ("Mean brightness", False, None)
    assert settings(40)["brightness_scale"] == 255 and reference_identity(reference)["settings"]["brightness_scale"] == 255


def test_unknown_names_wrong_keys_and_clashes_are_refused(own_suite):
    with pytest.raises(ValueError, match="unknown metric 'nope'"):
        compute_metrics(None, None, names=["nope"])
    register(Metric("liar", lambda s, r: {"b": 1}, ("a",)))
    with pytest.raises(RuntimeError, match="liar"):
        compute_metrics(None, None, names=["liar"])
    with pytest.raises(ValueError, match="twice"):
        register(Metric("liar", lambda s, r: {}, ("z",)))
    with pytest.raises(ValueError, match="not unique"):
        register(Metric("copycat", lambda s, r: {}, ("coverage",)))
    with pytest.raises(ValueError, match="not among its keys"):
        register(Metric("drawn", lambda s, r: {}, ("c",), charts={"d": Chart("D")}))
    with pytest.raises(ValueError, match="prdc_k"):
        register(Metric("other_k", lambda s, r: {}, ("e",), settings={"prdc_k": 3}))


def test_values_are_plain_python_numbers():
    assert suite._plain(np.float32(0.5)) == 0.5 and type(suite._plain(np.float32(0.5))) is float
    assert type(suite._plain(np.int64(3))) is int and suite._plain(torch.tensor(2.0)) == 2.0
    assert suite._plain(None) is None and suite._plain(np.bool_(True)) == 1

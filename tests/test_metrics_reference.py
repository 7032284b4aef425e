"""emogan.metrics.reference: the reference is cached by content and classifier, damaged caches are rebuilt."""

import numpy as np
import pytest
import torch
from tiny import FIXTURE

from emogan.classifier import Classifier, ClassifierConfig, EmotionNet
from emogan.data import load_faces
from emogan.metrics import reference as reference_module
from emogan.metrics.core import subset
from emogan.metrics.reference import build_reference, classifier_identity, identity, reference_identity


def _clf(seed):
    torch.manual_seed(seed)
    return Classifier(EmotionNet(ClassifierConfig(widths=(8, 16, 32, 64), depths=(1, 1, 1, 1))).eval())


@pytest.fixture(scope="module")
def sets(tmp_path_factory):
    cache = tmp_path_factory.mktemp("faces")
    return load_faces(FIXTURE, "train", cache_dir=cache), load_faces(FIXTURE, "validation", cache_dir=cache)


def test_classifier_identity_follows_the_weights():
    a, b = classifier_identity(_clf(0)), classifier_identity(_clf(0))
    assert a["sha256"] == b["sha256"] and classifier_identity(_clf(1))["sha256"] != a["sha256"]
    assert classifier_identity(None) is None


def test_subset_is_fixed_and_capped():
    assert (subset(100, 10) == subset(100, 10)).all() and len(set(subset(100, 10))) == 10
    assert subset(5, 10).tolist() == [0, 1, 2, 3, 4]


def test_reference_is_cached_and_rebuilt_when_damaged(sets, tmp_path, monkeypatch):
    train, val = sets
    clf = _clf(0)
    first = build_reference(train, val, clf, n=50, emotion="all", cache_dir=tmp_path)
    assert first.features.shape == (len(val), 64) and first.probs.shape == (len(val), 7)
    assert first.bins.centres.shape == (8, 576) and set(first.baselines) >= {"msssim_real", "memorised_rate_real",
                                                                              "fer_fid_real", "coverage_real",
                                                                              "c2st_real"}
    files = sorted(tmp_path.glob("metrics-*.npz"))
    assert len(files) == 5
    assert identity(train, val, clf, n=50, emotion="all") == reference_identity(first)    # known before the work

    def boom(*a, **k):
        raise AssertionError("recomputed despite the cache")

    with monkeypatch.context() as m:
        m.setattr(reference_module, "fit_bins", boom)
        m.setattr(reference_module, "features_and_probs", boom)
        m.setattr(reference_module, "_baselines", boom)
        m.setattr(reference_module, "_feature_baselines", boom)
        m.setattr(reference_module.realism, "two_sample_accuracy", boom)
        again = build_reference(train, val, clf, n=50, emotion="all", cache_dir=tmp_path)
    np.testing.assert_array_equal(again.features, first.features)
    assert again.baselines == first.baselines and reference_identity(again) == reference_identity(first)

    for f in files:
        f.write_bytes(b"not an npz")
    rebuilt = build_reference(train, val, clf, n=50, emotion="all", cache_dir=tmp_path)
    np.testing.assert_allclose(rebuilt.bins.centres, first.bins.centres)

    # Another classifier is another cache entry (and another identity); no classifier, no features.
    other = build_reference(train, val, _clf(1), n=50, emotion="all", cache_dir=tmp_path)
    assert reference_identity(other)["classifier"] != reference_identity(first)["classifier"]
    bare = build_reference(train, val, None, n=50, emotion="all", cache_dir=tmp_path)
    assert bare.features is None and reference_identity(bare)["classifier"] is None
    assert reference_identity(bare)["settings"]["n"] == 50
    assert reference_identity(bare)["reference"]["content_hash"] == val.content_hash


def test_reference_choice_warns_about_a_small_reference():
    from emogan.metrics.reference import SMALL_REFERENCE, reference_choice
    assert "56 validation faces of emotion 'disgust'" in reference_choice(56, "disgust")
    assert "biased far upward" in reference_choice(56, "disgust")
    assert "biased" not in reference_choice(SMALL_REFERENCE, "all")

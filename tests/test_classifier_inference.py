"""emogan/classifier/inference.py: what predict/features accept and return, flip averaging, and scoring."""

import json

import numpy as np
import pytest
import torch

from emogan.classifier import Classifier, ClassifierConfig, EmotionNet, score
from emogan.emotions import EMOTIONS
from emogan.errors import DataError


@pytest.fixture(scope="module")
def clf() -> Classifier:
    torch.manual_seed(0)
    net = EmotionNet(ClassifierConfig(widths=(8, 16, 16, 24), depths=(1, 1, 1, 1))).eval()
    for m in net.modules():  # non-trivial BN statistics, as after training
        if isinstance(m, torch.nn.BatchNorm2d):
            m.running_var.uniform_(0.5, 1.5)
            m.weight.data.uniform_(0.5, 1.5)
    return Classifier(net, "cpu")


@pytest.fixture(scope="module")
def faces() -> np.ndarray:
    return np.random.default_rng(0).integers(0, 256, (5, 48, 48), dtype=np.uint8)


def test_predict_and_features_from_numpy(clf, faces):
    probs = clf.predict(faces)
    assert probs.shape == (5, 7) and probs.dtype == np.float32
    np.testing.assert_allclose(probs.sum(axis=1), 1.0, atol=1e-5)
    assert (probs >= 0).all()
    emb = clf.features(faces)
    assert emb.shape == (5, 24) and emb.dtype == np.float32
    assert np.isfinite(emb).all()


def test_features_and_probs_in_one_pass_match_the_separate_calls(clf, faces):
    feats, probs = clf.features_and_probs(faces)
    np.testing.assert_allclose(feats, clf.features(faces), atol=1e-6)
    np.testing.assert_allclose(probs, clf.predict(faces), atol=1e-5)
    assert probs.dtype == np.float32 and feats.dtype == np.float32


def test_tensor_and_channel_inputs_agree_with_numpy(clf, faces):
    want = clf.predict(faces)
    np.testing.assert_allclose(clf.predict(torch.from_numpy(faces)), want, atol=1e-6)
    np.testing.assert_allclose(clf.predict(faces[:, None]), want, atol=1e-6)
    as_float = torch.from_numpy(faces).float().div(127.5).sub(1).unsqueeze(1)  # a generator's output convention
    np.testing.assert_allclose(clf.predict(as_float), want, atol=1e-5)
    np.testing.assert_allclose(clf.features(torch.from_numpy(faces)), clf.features(faces), atol=1e-6)


def test_batching_does_not_change_results(clf, faces):
    np.testing.assert_allclose(clf.predict(faces, batch=2), clf.predict(faces), atol=1e-6)


def test_flip_averaging_is_mirror_invariant(clf, faces):
    with_tta = clf.predict(faces, tta=True)
    np.testing.assert_allclose(clf.predict(faces[:, :, ::-1], tta=True), with_tta, atol=1e-5)
    assert not np.allclose(clf.predict(faces[:, :, ::-1]), clf.predict(faces), atol=1e-4)  # without TTA it is not
    np.testing.assert_allclose(with_tta.sum(axis=1), 1.0, atol=1e-5)


def test_no_faces_gives_empty_results(clf):
    empty = np.zeros((0, 48, 48), np.uint8)
    assert clf.predict(empty).shape == (0, 7)
    assert clf.features(empty).shape == (0, 24)


@pytest.mark.parametrize("bad, needle", [
    (np.zeros((2, 64, 64), np.uint8), "shape (N, 48, 48) or (N, 1, 48, 48), got (2, 64, 64)"),
    (np.zeros((48, 48), np.uint8), "got (48, 48)"),
    (np.zeros((2, 3, 48, 48), np.uint8), "got (2, 3, 48, 48)"),
    (np.full((2, 48, 48), 200.0, np.float32), "must lie in [-1, 1]"),
    (np.zeros((2, 48, 48), np.int32), "dtype int32"),
    ([[0] * 48] * 48, "not list"),
])
def test_bad_input_is_one_clear_line(clf, bad, needle):
    with pytest.raises(DataError) as e:
        clf.predict(bad)
    assert needle in str(e.value) and "\n" not in str(e.value)


def test_score_counts_and_json():
    labels = np.array([0, 0, 3, 3, 3, 6])
    predicted = np.array([0, 3, 3, 3, 6, 6])
    r = score(predicted, labels)
    assert r.n == 6 and r.accuracy == pytest.approx(4 / 6)
    assert r.per_class["angry"] == 0.5 and r.per_class["happy"] == pytest.approx(2 / 3)
    assert r.per_class["neutral"] == 1.0 and r.per_class["disgust"] is None  # no disgust faces: undefined
    assert r.confusion[3, 6] == 1 and r.confusion.sum() == 6
    d = json.loads(r.to_json())
    assert set(d) == {"accuracy", "n", "per_class"} and list(d["per_class"]) == list(EMOTIONS)
    table = r.format_table()
    assert "66.67%" in table and len(table.splitlines()) == 4 + len(EMOTIONS)

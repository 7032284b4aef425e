"""Known-answer checks of the metrics as a whole: real faces against real faces score near ideal; a generator
that draws one face, a few faces or one emotion scores clearly worse wherever a metric should see it; copies of
training faces are caught by the nearest-neighbour distance.

Three disjoint real sets play the parts: reference faces R (the validation split: FER-FID, PRDC, emotions),
training faces T (NDB bins, nearest neighbours) and "samples" S, real faces in neither, standing for a perfect
generator. With the full FER2013 at ../shared/data/fer2013: R = all 3,589 validation faces, T and S = disjoint
12% slices of the training split (~3,450 each, the dataset's class balance), N = 500. Everywhere: the committed
fixture (R = half its validation faces, S = the other half, T = its 84 training faces), N = 84. The full-data
variant takes about a minute on a 2-core CPU; it runs wherever the full dataset is (CI has it).

Features come from a randomly initialised EmotionNet with a fixed seed, not a trained classifier (training one
takes minutes on this CPU). The properties tested hold for any fixed, non-degenerate feature map: identical
faces give identical features (collapse cannot hide), and real-vs-real sets come from one distribution whatever
the map. A random map does not see emotions, though, so the one-emotion case is checked with a perfect
classifier built from the known labels (its features: the random ones plus the one-hot label; its
probabilities: the label), and with the shipped classifier where its weights exist.
"""

from __future__ import annotations

import math
import os
import warnings
from dataclasses import dataclass, replace
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import torch

from emogan.classifier import Classifier, ClassifierConfig, EmotionNet, default_weights_dir, load_classifier
from emogan.data import FaceSet, load_faces
from emogan.emotions import EMOTIONS, emotion_index
from emogan.metrics import build_reference, compute_metrics, make_sample
from emogan.metrics.core import Sample
from emogan.metrics.pixels import pixel_vectors

REPO = Path(__file__).resolve().parents[1]
FULL = (REPO.parent / "shared" / "data" / "fer2013").resolve()


@dataclass
class World:
    name: str
    R: FaceSet
    T: FaceSet
    S: FaceSet
    n: int
    classifier: Classifier
    reference: object
    cache: Path


def _subset(faces: FaceSet, keep: np.ndarray, tag: str) -> FaceSet:
    return replace(faces, images=faces.images[keep], labels=faces.labels[keep],
                   content_hash=f"{faces.content_hash}-{tag}")


def _full_slices(tmp: Path) -> tuple[FaceSet, FaceSet, FaceSet]:
    """Validation, and two disjoint class-balanced 12% slices of train (sorted file names: ids are random)."""
    for e in EMOTIONS:
        names = sorted(os.listdir(FULL / "train" / e))[: math.ceil(0.24 * len(os.listdir(FULL / "train" / e)))]
        (tmp / "train" / e).mkdir(parents=True)
        for name in names:
            os.symlink(FULL / "train" / e / name, tmp / "train" / e / name)
    os.symlink(FULL / "validation", tmp / "validation")
    train = load_faces(tmp, "train", cache_dir=tmp / "cache")
    val = load_faces(tmp, "validation", cache_dir=tmp / "cache")
    even = np.arange(len(train)) % 2 == 0
    return val, _subset(train, even, "T"), _subset(train, ~even, "S")


def _fixture_slices(root: Path, cache: Path) -> tuple[FaceSet, FaceSet, FaceSet]:
    val = load_faces(root, "validation", cache_dir=cache)
    first = np.zeros(len(val), bool)
    for label in range(len(EMOTIONS)):               # half of each emotion's faces
        idx = np.flatnonzero(val.labels == label)
        first[idx[: len(idx) // 2]] = True
    return _subset(val, first, "R"), load_faces(root, "train", cache_dir=cache), _subset(val, ~first, "S")


@pytest.fixture(scope="module", params=["fixture", "full"])
def world(request, tmp_path_factory) -> World:
    tmp = tmp_path_factory.mktemp(f"known-{request.param}")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        if request.param == "full":
            if not (FULL / "train").is_dir():
                pytest.skip(f"full FER2013 not found at {FULL}")
            R, T, S = _full_slices(tmp)
            n = 500
        else:
            R, T, S = _fixture_slices(REPO / "tests" / "fixtures" / "fer2013", tmp / "cache")
            n = min(len(S), len(T))   # 84: copies of T must be distinct faces
    torch.manual_seed(0)
    clf = Classifier(EmotionNet(ClassifierConfig(widths=(16, 32, 64, 128), depths=(1, 1, 1, 1))).eval())
    ref = build_reference(T, R, clf, n=n, emotion="all", cache_dir=tmp / "cache")
    return World(request.param, R, T, S, n, clf, ref, tmp / "cache")


def _score(w: World, images: np.ndarray) -> dict:
    return compute_metrics(make_sample(images, w.classifier), w.reference)


def _real(w: World) -> np.ndarray:
    return w.S.images[np.random.default_rng(0).choice(len(w.S), w.n, replace=False)]


@pytest.fixture(scope="module")
def real_scores(world):
    return _score(world, _real(world))


def test_real_against_real_is_near_ideal(world, real_scores):
    r, small = real_scores, world.name == "fixture"
    assert r["coverage"] > (0.75 if small else 0.9), r
    assert r["precision"] > 0.6 and r["recall"] > 0.6, r
    assert 0.6 < r["density"] < 1.4, r
    assert abs(r["msssim"] - r["msssim_real"]) < (0.05 if small else 0.02), r
    assert r["duplicate_rate"] < 1e-3 and r["memorised_rate"] < 0.1, r
    # 84 or 500 faces in 8 or 100 bins: a few faces per bin, so the JS divergence has a finite-sample floor.
    assert r["ndb_frac"] <= (0.25 if small else 0.15) and r["ndb_js"] < 0.1, r


def _few(w: World, k: int) -> np.ndarray:
    """k real faces, each drawn N/k times with a little pixel noise (a generator stuck on k modes)."""
    rng = np.random.default_rng(1)
    faces = w.S.images[rng.choice(len(w.S), k, replace=False)][rng.integers(0, k, w.n)].astype(np.float64)
    return np.clip(faces + rng.normal(0, 3, faces.shape), 0, 255).astype(np.uint8)


@pytest.mark.parametrize("k", [1, 5])
def test_one_face_or_a_few_score_clearly_worse(world, real_scores, k):
    r, c = real_scores, _score(world, _few(world, k))
    # KID is unbiased, so real-vs-real can come out slightly below 0.
    assert c["fer_fid"] > 3 * r["fer_fid"] and c["fer_kid"] > 3 * max(r["fer_kid"], 0) and c["fer_kid"] > 0, (c, r)
    # Precision and density are not expected to see collapse: real-looking faces stay real-looking.
    assert c["recall"] < 0.15 and c["coverage"] < 0.35, c
    assert c["msssim"] > r["msssim_real"] + 0.1, c
    assert c["duplicate_rate"] > 0.15 and c["birthday_support"] is not None and c["birthday_support"] <= 4 * k * k, c
    assert c["ndb_frac"] > 0.3 and c["ndb_js"] > 3 * r["ndb_js"], (c, r)


def _one_emotion(w: World, emotion: str = "happy") -> tuple[np.ndarray, np.ndarray]:
    """N real faces of one emotion (drawn with replacement where S holds fewer) and their labels."""
    idx = np.flatnonzero(w.S.labels == emotion_index(emotion))
    pick = idx[np.random.default_rng(2).choice(len(idx), w.n, replace=len(idx) < w.n)]
    return w.S.images[pick], w.S.labels[pick]


def _onehot(labels: np.ndarray) -> np.ndarray:
    return np.eye(len(EMOTIONS), dtype=np.float32)[labels] * 0.9 + 0.1 / len(EMOTIONS)


def _perfect(w: World, images: np.ndarray, labels: np.ndarray) -> np.ndarray:
    """What a perfect classifier's embedding would hold: the random features plus the (scaled) one-hot label."""
    feats = w.classifier.features(images)
    scale = 3 * float(w.reference.features.std())
    return np.concatenate([feats, np.eye(len(EMOTIONS), dtype=np.float32)[labels] * scale], 1)


def test_one_emotion_scores_clearly_worse_with_a_perfect_classifier(world):
    ref = replace(world.reference, features=_perfect(world, world.R.images, world.R.labels),
                  probs=_onehot(world.R.labels), memo={})

    def score(images, labels):
        sample = Sample(images, pixel_vectors(images), _perfect(world, images, labels), _onehot(labels))
        return compute_metrics(sample, ref)

    pick = np.random.default_rng(0).choice(len(world.S), world.n, replace=False)
    real = score(world.S.images[pick], world.S.labels[pick])
    one = score(*_one_emotion(world))
    assert real["emotion_js_reference"] < 0.02 and one["emotion_js_reference"] > 0.3, (real, one)
    assert one["emotion_js_prior"] > real["emotion_js_prior"] + 0.2, (real, one)
    assert one["emotion_happy"] == 1.0 and math.isclose(real["confidence"], 0.9 + 0.1 / 7, rel_tol=1e-5)
    assert one["fer_fid"] > 3 * real["fer_fid"] and one["fer_kid"] > 3 * max(real["fer_kid"], 0), (real, one)
    # Happy faces cover only the happy part of the reference (about 1/7 of the fixture, 1/4 of FER2013).
    assert one["coverage"] < 0.5 < real["coverage"] and one["recall"] < real["recall"] - 0.2, (real, one)


def test_real_training_faces_give_the_floor_of_the_classifier_metrics(world, real_scores):
    """The feature baselines score real training faces as a run: near ideal, like real_scores; and against a
    reference of 20 faces the FID floor rises, as it does for every run measured against so few."""
    b, r = world.reference.baselines, real_scores
    assert b["coverage_real"] > 0.7 and b["precision_real"] > 0.6 and b["recall_real"] > 0.6, b
    assert b["fer_fid_real"] < 3 * r["fer_fid"] + 0.5, (b, r)
    few = _subset(world.R, np.arange(len(world.R)) < 20, "20")
    small = build_reference(world.T, few, world.classifier, n=world.n, emotion="all", cache_dir=world.cache)
    assert small.baselines["fer_fid_real"] > b["fer_fid_real"], (small.baselines, b)


def test_one_emotion_scores_clearly_worse_with_the_shipped_classifier(world, real_scores):
    if not (default_weights_dir() / "classifier.safetensors").is_file():
        pytest.skip("no shipped classifier weights yet (checkpoints/classifier)")
    clf = load_classifier()
    ref = build_reference(world.T, world.R, clf, n=world.n, emotion="all", cache_dir=world.cache)

    def score(images):
        return compute_metrics(make_sample(images, clf), ref)

    real = score(_real(world))
    one = score(_one_emotion(world)[0])
    assert one["emotion_js_reference"] > real["emotion_js_reference"] + 0.15, (real, one)
    assert one["emotion_happy"] > 0.5 > real["emotion_happy"], (real, one)
    assert one["fer_fid"] > 1.5 * real["fer_fid"] and one["coverage"] < real["coverage"] - 0.1, (real, one)


def test_copies_of_training_faces_are_caught_by_the_nearest_neighbour_distance(world, real_scores):
    copies = world.T.images[np.random.default_rng(3).choice(len(world.T), world.n, replace=False)]
    c, r = _score(world, copies), real_scores
    assert c["nn_train_dist"] < 0.01 and r["nn_train_dist"] > 0.1, (c, r)
    assert c["memorised_rate"] == 1.0 and r["memorised_rate"] < 0.1, (c, r)
    # Copies of distinct training faces are as diverse as real ones: only the nearest-neighbour distance sees them.
    assert c["duplicate_rate"] < 1e-3
    # As runs: a generator that returns training faces has a memorisation episode; real faces have none.
    from emogan.metrics.verdict import episodes
    as_run = lambda row: pd.DataFrame([{"iteration": it, **row} for it in (50, 100)])     # noqa: E731
    baselines = world.reference.baselines
    assert [e.kind for e in episodes(as_run(c), baselines)] == ["memorisation"]
    assert episodes(as_run(r), baselines) == []


def test_label_accuracy_sees_whether_a_conditional_generator_draws_what_it_was_asked_for(world):
    """Real faces stand for a perfect conditional generator: asked for their true emotions, a perfect classifier
    agrees with every request; asked for shuffled emotions, only by chance; an unconditional run has no figure."""
    images, labels = world.S.images[: world.n], world.S.labels[: world.n]

    def accuracy(requested):
        sample = Sample(images, pixel_vectors(images), world.classifier.features(images), _onehot(labels), requested)
        return compute_metrics(sample, world.reference, names=["conditional"])["label_accuracy"]

    shuffled = np.random.default_rng(4).permutation(labels)
    chance = max(np.mean(labels == k) for k in range(len(EMOTIONS))) + 0.15
    assert accuracy(labels) == 1.0 and accuracy(shuffled) < chance and accuracy(None) is None
    assert make_sample(images[:3], None, requested=[1, 2, 3]).requested.tolist() == [1, 2, 3]
    with pytest.raises(ValueError, match="2 requested emotions for 3 faces"):
        make_sample(images[:3], None, requested=[1, 2])

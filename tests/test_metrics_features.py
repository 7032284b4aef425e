"""emogan.metrics.features: FER-FID/KID through torchmetrics on precomputed features, PRDC, the emotion mix,
and the one-pass features+probabilities shortcut against the classifier's own predict()."""

import numpy as np
import pytest
import torch

from emogan.classifier import Classifier, ClassifierConfig, EmotionNet
from emogan.emotions import train_prior
from emogan.metrics.core import Sample, features_and_probs
from emogan.metrics.features import FeatureDistances, emotion_shares, emotions, prdc


def _gauss(n, dim=16, shift=0.0, seed=0):
    return (np.random.default_rng(seed).standard_normal((n, dim)) + shift).astype(np.float32)


def test_frechet_distance_of_a_mean_shift_is_its_squared_length():
    real = _gauss(4000)
    fd = FeatureDistances(real)
    same = fd(_gauss(4000, seed=1))
    shifted = fd(_gauss(4000, seed=1, shift=0.5))        # same covariance, mean moved by 0.5 in 16 dims: |d|^2 = 4
    assert same["fer_fid"] < 0.1 and shifted["fer_fid"] == pytest.approx(4.0, rel=0.1)
    assert abs(same["fer_kid"]) < 0.01 < shifted["fer_kid"]
    # The reference statistics survive between calls, and KID's subsets are seeded: same input, same figures.
    assert fd(_gauss(4000, seed=1)) == same


def test_prdc_of_identical_and_disjoint_sets():
    feats = _gauss(300)
    ref = type("R", (), {"prdc_features": lambda self, n: feats[:n]})()

    def score(x):
        return prdc(Sample(np.zeros((len(x), 48, 48), np.uint8), torch.zeros(len(x), 1), x, None), ref)

    same = score(feats)
    assert same["precision"] == 1.0 and same["recall"] == 1.0 and same["coverage"] == 1.0
    far = score(_gauss(300, shift=20.0, seed=3))
    assert far == {"precision": 0.0, "recall": 0.0, "density": 0.0, "coverage": 0.0}


def test_emotion_mix_against_the_prior_and_the_reference():
    probs = np.eye(7, dtype=np.float32)[[3, 3, 3, 0]]
    assert emotion_shares(probs).tolist() == [0.25, 0, 0, 0.75, 0, 0, 0]
    ref = type("R", (), {"probs": np.eye(7, dtype=np.float32)[[3, 0, 3, 3]]})()
    got = emotions(Sample(np.zeros((4, 48, 48), np.uint8), torch.zeros(4, 1), None, probs), ref)
    assert got["emotion_happy"] == 0.75 and got["emotion_js_reference"] == pytest.approx(0.0, abs=1e-12)
    assert got["emotion_js_prior"] > 0.2 and got["confidence"] == 1.0
    prior_like = np.repeat(np.eye(7, dtype=np.float32), np.round(np.array(train_prior()) * 1000).astype(int), 0)
    assert emotions(Sample(np.zeros((len(prior_like), 48, 48), np.uint8), torch.zeros(1, 1), None, prior_like),
                    ref)["emotion_js_prior"] < 1e-4


def test_one_pass_features_and_probs_equal_the_classifiers_own():
    torch.manual_seed(0)
    net = EmotionNet(ClassifierConfig(widths=(8, 16, 32, 64), depths=(1, 1, 1, 1)))
    for m in net.modules():                 # non-trivial BN statistics, so folding and the head both matter
        if isinstance(m, torch.nn.BatchNorm2d):
            m.running_mean.uniform_(-0.5, 0.5), m.running_var.uniform_(0.5, 2.0), m.weight.data.uniform_(0.5, 1.5)
    clf = Classifier(net.eval())
    faces = np.random.default_rng(0).integers(0, 256, (20, 48, 48), dtype=np.uint8)
    feats, probs = features_and_probs(clf, faces)
    np.testing.assert_allclose(feats, clf.features(faces), atol=1e-5)
    np.testing.assert_allclose(probs, clf.predict(faces), atol=1e-5)

"""emogan/classifier/judge.py: per-face verdicts and emotion shares for the explorer, and FER2013's prior."""

import numpy as np
import pandas as pd
import pytest
import torch

from emogan.classifier import (
    Classifier,
    ClassifierConfig,
    EmotionNet,
    compare_with_prior,
    emotion_distribution,
    fer2013_prior,
    judge,
)
from emogan.emotions import EMOTIONS, FER2013_TRAIN_COUNTS


@pytest.fixture(scope="module")
def clf() -> Classifier:
    torch.manual_seed(0)
    return Classifier(EmotionNet(ClassifierConfig(widths=(8, 16, 16, 24), depths=(1, 1, 1, 1))).eval())


@pytest.fixture(scope="module")
def faces() -> np.ndarray:
    return np.random.default_rng(0).integers(0, 256, (12, 48, 48), dtype=np.uint8)


def test_judge_gives_each_faces_top_emotion_and_its_probability(clf, faces):
    df = judge(faces, classifier=clf)
    probs = clf.predict(faces)
    assert list(df.columns) == ["emotion", "confidence"] and len(df) == 12
    assert list(df["emotion"].cat.categories) == list(EMOTIONS)
    assert [EMOTIONS.index(e) for e in df["emotion"]] == probs.argmax(axis=1).tolist()
    np.testing.assert_allclose(df["confidence"], probs.max(axis=1))
    assert ((df["confidence"] >= 1 / 7 - 1e-6) & (df["confidence"] <= 1)).all()


def test_emotion_distribution_counts_top_emotions(clf, faces):
    shares = emotion_distribution(faces, classifier=clf)
    assert list(shares.index) == list(EMOTIONS) and shares.sum() == pytest.approx(1.0)
    top = clf.predict(faces).argmax(axis=1)
    assert shares.iloc[top[0]] >= 1 / 12
    soft = emotion_distribution(faces, classifier=clf, soft=True)
    np.testing.assert_allclose(soft.to_numpy(), clf.predict(faces).mean(axis=0), atol=1e-6)
    none = emotion_distribution(np.zeros((0, 48, 48), np.uint8), classifier=clf)
    assert (none == 0).all() and len(none) == 7


def test_prior_is_fer2013_training_shares():
    prior = fer2013_prior()
    assert list(prior.index) == list(EMOTIONS) and prior.sum() == pytest.approx(1.0)
    assert prior["happy"] == pytest.approx(7215 / sum(FER2013_TRAIN_COUNTS.values()))
    assert prior.idxmin() == "disgust"


def test_compare_with_prior_is_a_two_column_frame(clf, faces):
    df = compare_with_prior(faces, classifier=clf)
    assert isinstance(df, pd.DataFrame) and list(df.columns) == ["generated", "FER2013 train"]
    assert list(df.index) == list(EMOTIONS)
    np.testing.assert_allclose(df.sum().to_numpy(), [1.0, 1.0])

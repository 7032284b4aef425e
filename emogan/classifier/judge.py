"""What the explorer shows about faces: each face's emotion and confidence, and the emotion mix against FER2013's."""

from __future__ import annotations

import numpy as np
import pandas as pd
import torch

from emogan.classifier.files import load_classifier
from emogan.classifier.inference import Classifier
from emogan.emotions import EMOTIONS, train_prior


def _classifier(classifier: Classifier | None) -> Classifier:
    return classifier if classifier is not None else load_classifier()


def judge(images: np.ndarray | torch.Tensor, classifier: Classifier | None = None, tta: bool = False) -> pd.DataFrame:
    """One row per face: `emotion` (the most likely one) and `confidence` (its probability, 0..1)."""
    probs = _classifier(classifier).predict(images, tta=tta)
    top = probs.argmax(axis=1)
    return pd.DataFrame({
        "emotion": pd.Categorical.from_codes(top, categories=list(EMOTIONS)),
        "confidence": probs[np.arange(len(top)), top].astype(np.float32),
    })


def emotion_distribution(images: np.ndarray | torch.Tensor, classifier: Classifier | None = None,
                         soft: bool = False, tta: bool = False) -> pd.Series:
    """Share of faces per emotion (index EMOTIONS, sums to 1; all zeros for no faces).

    soft=False counts each face's top emotion; soft=True averages the probabilities, which is smoother for
    small samples but credits every face with a bit of every emotion."""
    probs = _classifier(classifier).predict(images, tta=tta)
    if len(probs) == 0:
        shares = np.zeros(len(EMOTIONS))
    elif soft:
        shares = probs.mean(axis=0)
    else:
        shares = np.bincount(probs.argmax(axis=1), minlength=len(EMOTIONS)) / len(probs)
    return pd.Series(shares.astype(np.float64), index=pd.Index(EMOTIONS, name="emotion"), name="generated")


def fer2013_prior() -> pd.Series:
    """FER2013's training-set emotion shares (index EMOTIONS): what an unbiased generator would match."""
    return pd.Series(train_prior(), index=pd.Index(EMOTIONS, name="emotion"), name="FER2013 train")


def compare_with_prior(images: np.ndarray | torch.Tensor, classifier: Classifier | None = None,
                       soft: bool = False) -> pd.DataFrame:
    """Columns `generated` and `FER2013 train`, one row per emotion: ready for a grouped bar chart."""
    return pd.concat([emotion_distribution(images, classifier, soft=soft), fer2013_prior()], axis=1)

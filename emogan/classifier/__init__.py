"""The emotion classifier: judge of generated faces and feature extractor for the diversity metrics.

    probs = predict(faces)      # (N, 7) float32, columns in EMOTIONS order; faces uint8 (N, 48, 48)
    emb = features(faces)       # (N, 256) float32 penultimate-layer embeddings
    judge(faces)                # DataFrame: emotion, confidence per face

Both load the shipped weights (<repo>/checkpoints/classifier) on first use; pass `classifier=load_classifier(dir)`
to use others.
"""

from __future__ import annotations

import numpy as np
import torch

from emogan.classifier.files import default_weights_dir, load_classifier, read_net, save_classifier
from emogan.classifier.inference import Classifier, EvalResult, as_model_input, score
from emogan.classifier.judge import compare_with_prior, emotion_distribution, fer2013_prior, judge
from emogan.classifier.model import ClassifierConfig, EmotionNet, EnsembleConfig, EnsembleNet, count_macs

__all__ = ["predict", "features", "load_classifier", "save_classifier", "read_net", "default_weights_dir",
           "Classifier", "ClassifierConfig", "EmotionNet", "EnsembleConfig", "EnsembleNet", "EvalResult", "score",
           "count_macs", "as_model_input", "judge", "emotion_distribution", "fer2013_prior", "compare_with_prior"]


def predict(images: np.ndarray | torch.Tensor, classifier: Classifier | None = None, tta: bool = False) -> np.ndarray:
    """Emotion probabilities (N, 7) float32 for uint8 faces (N, 48, 48) (or float faces in [-1, 1])."""
    return (load_classifier() if classifier is None else classifier).predict(images, tta=tta)


def features(images: np.ndarray | torch.Tensor, classifier: Classifier | None = None, tta: bool = False) -> np.ndarray:
    """Penultimate-layer embeddings (N, D) float32 of the faces, for Frechet/kernel distances and precision/recall."""
    return (load_classifier() if classifier is None else classifier).features(images, tta=tta)

"""The base every metric builds on: the Sample (one set of faces with its pixel vectors and classifier outputs,
computed once and shared by all metrics) and the type of a metric's figures. Metric modules import this module
and the helpers pixels.py and stats.py, never each other and never the suite that lists them (suite.py).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np
import torch

from .pixels import pixel_vectors

if TYPE_CHECKING:
    from ..classifier import Classifier

Value = float | int | None
# The batch that tops a run's fixed latents up to N: a seed no training run uses for its own fixed latents (those
# use latent_seed, 0 by default), so the extra faces are new ones rather than copies of the grid's.
SAMPLE_SEED = 20180


@dataclass(frozen=True)
class Sample:
    """One set of faces as every metric sees it; computed once, shared by all metrics."""
    images: np.ndarray                 # (N, 48, 48) uint8
    pixels: torch.Tensor               # (N, D) float32 in [0, 1]: the downsampled pixel space (pixels.py)
    features: np.ndarray | None        # (N, D) classifier embeddings, None without a classifier
    probs: np.ndarray | None           # (N, 7) emotion probabilities, None without a classifier
    requested: np.ndarray | None = None  # (N,) the emotions a conditional generator was asked for; None otherwise

    def __len__(self) -> int:
        return len(self.images)


def describe(images: np.ndarray, classifier: Classifier | None, device: torch.device | str = "cpu",
             requested: np.ndarray | None = None) -> Sample:
    """The Sample of `images`: pixel vectors on `device`, and one classifier pass for features and probabilities.
    `requested`: the emotion each face was asked for, for faces of a conditional generator."""
    images = np.ascontiguousarray(images, dtype=np.uint8)
    features = probs = None
    if classifier is not None:
        features, probs = features_and_probs(classifier, images)
    if requested is not None:
        requested = np.asarray(requested, dtype=np.int64).reshape(-1)
        if len(requested) != len(images):
            raise ValueError(f"{len(requested)} requested emotions for {len(images)} faces")
    return Sample(images, pixel_vectors(images, device), features, probs, requested)


def features_and_probs(classifier: Classifier, images: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Embeddings and probabilities from ONE forward pass (the classifier runs its head on the embeddings)."""
    return classifier.features_and_probs(images)

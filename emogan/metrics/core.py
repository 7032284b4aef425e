"""The base every metric builds on: the Sample (one set of faces with its pixel vectors and classifier outputs,
computed once and shared by all metrics), the Reference it is measured against, and the type of a metric's
figures. Metric modules import this module and the helpers pixels.py and stats.py, never each other and never
the suite that lists them (suite.py).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import numpy as np

from emogan.metrics.pixels import pixel_vectors

if TYPE_CHECKING:
    import torch

    from emogan.classifier import Classifier

Value = float | int | None
# The batch that tops a run's fixed latents up to N: a seed no training run uses for its own fixed latents (those
# use latent_seed, 0 by default), so the extra faces are new ones rather than copies of the grid's.
SAMPLE_SEED = 20180
SUBSET_SEED = 2      # which reference faces form the equal-size subset for PRDC and the baselines


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


@dataclass(frozen=True)
class Bins:
    centres: np.ndarray    # (K, 576) float32
    shares: np.ndarray     # (K,) training share per bin
    n_train: int


@dataclass
class Reference:
    """The real faces a sample is measured against (built by reference.build_reference): the `reference`
    (validation) faces' classifier outputs, the run's training faces in pixel space with their k-means bins, and the
    real faces' own figures. Metric functions read it; `memo` holds what a metric prepares once per reference."""
    n: int                                   # the sample size this reference was prepared for
    reference: dict[str, Any]                # where the reference faces came from (source, split, hash, ...)
    train: dict[str, Any]
    classifier: dict[str, str] | None        # reference.classifier_identity()
    features: np.ndarray | None              # (R, 256) reference embeddings
    probs: np.ndarray | None                 # (R, 7)
    train_pixels: torch.Tensor               # (T, 576) on the metrics device
    bins: Bins
    baselines: dict[str, float | None]       # the real faces' own figures, for comparison
    device: torch.device
    memo: dict[str, Any] = field(default_factory=dict, repr=False)
    real_images: np.ndarray | None = None    # (n, 48, 48) uint8: the fixed subset of reference faces a detector sees
    labels: np.ndarray | None = None         # (R,) the reference faces' emotions, aligned with `features`

    def prdc_features(self, n: int) -> np.ndarray:
        """A fixed random subset of the reference features of the sample's size (all of them if fewer)."""
        return self.features[subset(len(self.features), n)]


def make_sample(images: np.ndarray, classifier: Classifier | None, device: torch.device | str = "cpu",
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


def subset(total: int, n: int, seed: int = SUBSET_SEED) -> np.ndarray:
    """Sorted indices of a fixed random subset of min(n, total) of range(total)."""
    if n >= total:
        return np.arange(total)
    return np.sort(np.random.default_rng(seed).choice(total, n, replace=False))

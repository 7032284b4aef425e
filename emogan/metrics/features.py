"""Metrics on the emotion classifier's embeddings: FER-FID, FER-KID, precision/recall/density/coverage, emotions.

FER-FID and FER-KID are torchmetrics' FrechetInceptionDistance and KernelInceptionDistance with our classifier's
256-d penultimate embedding in place of Inception's: the same math, a different feature space. They are therefore
named FER-FID/FER-KID and must never be compared with published (Inception) FIDs. Features are extracted once
per sample set (core.make_sample) and fed to torchmetrics through an identity "feature network".

Precision, recall, density and coverage are the reference implementation (`prdc`, Naeem et al. 2020) with k=5, on
a fixed random subset of the reference features of the same size as the sample set (the k-NN radii depend on the
set size, and the paper compares sets of equal size).
"""

from __future__ import annotations

import contextlib
import io
import warnings

import numpy as np

from emogan.emotions import EMOTIONS, train_prior
from emogan.metrics.core import Reference, Sample
from emogan.metrics.stats import js_divergence

# torch and torchmetrics are imported where they are used: the explorer imports the metric suite for its charts,
# and a page that only draws charts should not wait seconds for their import.

PRDC_K = 5                 # Naeem et al.'s recommended k
KID_SUBSETS = 10           # torchmetrics' default is 100; fewer, as KID's time grows with the count
KID_SUBSET_SIZE = 1000     # capped at the smaller set's size
KID_SEED = 0


def _precomputed(num_features: int):
    """An identity 'feature network': torchmetrics receives features that the classifier already computed."""
    from torch import nn

    class Precomputed(nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.num_features = num_features

        def forward(self, x):
            return x

    return Precomputed()


class FeatureDistances:
    """FER-FID and FER-KID against fixed reference features; the reference statistics are accumulated once."""

    def __init__(self, reference_features: np.ndarray, device="cpu") -> None:
        import torch
        from torchmetrics.image.fid import FrechetInceptionDistance
        from torchmetrics.image.kid import KernelInceptionDistance

        dim = reference_features.shape[1]
        real = torch.from_numpy(np.ascontiguousarray(reference_features, dtype=np.float32)).to(device)
        self.n_reference = len(real)
        # reset_real_features=False: reset() between snapshots keeps the reference's sums (and KID's features).
        self.fid = FrechetInceptionDistance(feature=_precomputed(dim), reset_real_features=False).to(device)
        self.fid.update(real, real=True)
        with warnings.catch_warnings():
            # It warns that it keeps every feature in memory: 3,589 x 256 floats are 4 MB.
            warnings.simplefilter("ignore", UserWarning)
            # subset_size is set per call (it is capped by the sample count); 2 only passes the constructor's check.
            self.kid = KernelInceptionDistance(feature=_precomputed(dim), reset_real_features=False,
                                               subsets=KID_SUBSETS, subset_size=2).to(device)
        self.kid.update(real, real=True)
        self.device = device

    def __call__(self, features: np.ndarray) -> dict[str, float]:
        import torch

        fake = torch.from_numpy(np.ascontiguousarray(features, dtype=np.float32)).to(self.device)
        self.fid.reset()
        self.fid.update(fake, real=False)
        fid = float(self.fid.compute())
        self.kid.reset()
        self.kid.update(fake, real=False)
        self.kid.subset_size = min(KID_SUBSET_SIZE, len(fake), self.n_reference)
        # KID draws its subsets from the global torch RNG: fork it so the figure is reproducible and nothing
        # else (a training loop in the same process) sees its state move.
        with torch.random.fork_rng(devices=[]):  # its randperm uses the CPU generator, even on a GPU
            torch.manual_seed(KID_SEED)
            kid_mean, kid_std = self.kid.compute()
        return {"fer_fid": fid, "fer_kid": float(kid_mean), "fer_kid_std": float(kid_std)}


def fer_fid_kid(sample: Sample, reference: Reference) -> dict[str, float]:
    distances = reference.memo.get("fer_distances")
    if distances is None:
        # On the CPU even on a GPU machine: 256-d statistics cost well under a second there, and FID's
        # eigenvalues of a non-symmetric matrix need a CUDA linear-algebra backend that not every build has.
        distances = reference.memo["fer_distances"] = FeatureDistances(reference.features, "cpu")
    return distances(sample.features)


def prdc(sample: Sample, reference: Reference) -> dict[str, float]:
    from prdc import compute_prdc  # it imports scikit-learn: here, for the reason above

    real = reference.prdc_features(len(sample))
    # compute_prdc prints the set sizes on stdout, which would interleave with the CLI's own lines.
    with contextlib.redirect_stdout(io.StringIO()):
        got = compute_prdc(real_features=real, fake_features=sample.features, nearest_k=PRDC_K)
    return {k: float(got[k]) for k in ("precision", "recall", "density", "coverage")}


def emotion_shares(probs: np.ndarray) -> np.ndarray:
    """Share of faces whose most likely emotion is each of EMOTIONS (hard counts, sums to 1)."""
    if len(probs) == 0:
        return np.zeros(len(EMOTIONS))
    return np.bincount(probs.argmax(1), minlength=len(EMOTIONS)) / len(probs)


EMOTION_KEYS = tuple(f"emotion_{e}" for e in EMOTIONS)


def emotions(sample: Sample, reference: Reference) -> dict[str, float]:
    """The classifier's emotion mix of the faces; its JS divergence (bits, 0..1) from FER2013's training prior and
    from the mix the same classifier finds in the reference faces (the fair target: the classifier is not perfect,
    and for a one-emotion run the prior is not the goal); and the mean probability of the chosen emotion."""
    shares = emotion_shares(sample.probs)
    out = {k: float(v) for k, v in zip(EMOTION_KEYS, shares)}
    out["emotion_js_prior"] = js_divergence(shares, np.asarray(train_prior()))
    out["emotion_js_reference"] = js_divergence(shares, emotion_shares(reference.probs))
    out["confidence"] = float(sample.probs.max(1).mean())
    return out


def label_accuracy(sample: Sample, reference: Reference) -> dict[str, float | None]:
    """For a conditional generator: the share of faces whose most likely emotion, by the classifier, is the one
    asked for (chance: the share of the commonest emotion asked for; the classifier's own accuracy on real faces
    is the ceiling). None for faces of an unconditional generator."""
    if sample.requested is None:
        return {"label_accuracy": None}
    return {"label_accuracy": float((sample.probs.argmax(1) == sample.requested).mean()) if len(sample) else None}


FID_BY_EMOTION_KEYS = (*(f"fer_fid_{e}" for e in EMOTIONS), "fer_fid_intra")


def fer_fid_by_emotion(sample: Sample, reference: Reference) -> dict[str, float | None]:
    """For a conditional generator, StudioGAN's intra-class FID on our features: per emotion asked, FER-FID of the
    faces asked for it against the reference faces of that emotion, and their mean over the emotions (None where
    either side has fewer than 2 faces). The faces are asked for as often as FER2013 shows each emotion (N = 1000:
    about 15 for disgust), so a rare emotion's figure carries a large small-sample bias: compare it between models
    at the same N, never with the all-emotion FER-FID. None for unconditional generators."""
    if sample.requested is None or reference.labels is None:
        return dict.fromkeys(FID_BY_EMOTION_KEYS)
    out: dict[str, float | None] = {}
    for i, e in enumerate(EMOTIONS):
        asked = sample.features[sample.requested == i]
        key = f"fer_fid_by_emotion_{i}"
        if key not in reference.memo:
            real = reference.features[reference.labels == i]
            reference.memo[key] = FeatureDistances(real, "cpu") if len(real) >= 2 else None
        distances = reference.memo[key]
        out[f"fer_fid_{e}"] = distances(asked)["fer_fid"] if distances is not None and len(asked) >= 2 else None
    got = [v for v in out.values() if v is not None]
    out["fer_fid_intra"] = float(np.mean(got)) if got else None
    return out

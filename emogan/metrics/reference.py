"""The reference a run's samples are measured against: the real faces' features, the training faces' k-means
bins and pixels, and the real faces' own diversity figures -- built once and cached by content.

The expensive parts (classifier features of the reference faces, k-means bins of the training faces, the real
baselines) are cached in the run-independent cache folder (emogan.data.default_cache_dir()), keyed by the data's
content hashes, the classifier's identity (a hash of its weights) and the settings, and written atomically.
"""

from __future__ import annotations

import hashlib
import io
import json
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import torch

from emogan.data import FaceSet, default_cache_dir
from emogan.metrics import features as feature_metrics
from emogan.metrics import realism
from emogan.metrics.bins import fit_bins, n_bins
from emogan.metrics.core import SAMPLE_SEED, Bins, Reference, Sample, features_and_probs, subset
from emogan.metrics.diversity import duplicate_stats, msssim_pairs
from emogan.metrics.pixels import DIM, NEAR_IDENTICAL, nearest, pixel_vectors
from emogan.metrics.suite import metric_settings
from emogan.runs.atomic import OutputError, atomic_write_bytes

if TYPE_CHECKING:
    from emogan.classifier import Classifier

# Bump when a metric's definition or a cached array's meaning changes: old caches and old metrics.jsonl files
# then stop matching instead of being mixed with new figures.
METRICS_VERSION = 1


# Below this many reference faces the classifier metrics are read against the real faces' own figures only: FID
# is biased upward roughly as features/faces, the k-NN radii of PRDC widen, and coverage moves in steps of 1/R.
SMALL_REFERENCE = 500


def reference_choice(n_reference: int, emotion: str) -> str:
    """Why a run is measured against the faces it is (written into metrics_config.json)."""
    text = (f"the {n_reference} validation faces of emotion {emotion!r}: faces the generator never saw, so copying "
            f"training faces cannot score well; the training faces give only the NDB bins and the memorisation "
            f"distances. fer_fid_real, fer_kid_real and coverage_real in baselines are what real training faces of "
            f"the same emotion score against the same reference: the floor to read each figure against.")
    if n_reference < SMALL_REFERENCE:
        text += (f" With only {n_reference} reference faces FER-FID is biased far upward (a 256-d covariance from "
                 f"{n_reference} faces), FER-KID is unbiased but noisy, precision and recall use wide k-NN radii, "
                 f"and coverage moves in steps of {1 / n_reference:.3f}: compare them with the run's own floor, not "
                 f"with runs measured against a larger reference.")
    return text


def classifier_identity(classifier: Classifier | None) -> dict[str, str] | None:
    """A hash of the classifier's weights (what decides its features) and the file they came from."""
    if classifier is None:
        return None
    h = hashlib.sha256()
    for name, t in classifier.net.state_dict().items():
        h.update(name.encode())
        h.update(t.detach().to("cpu", torch.float32).contiguous().numpy().tobytes())
    return {"sha256": h.hexdigest(), "source": str(classifier.source)}


def settings(n: int) -> dict[str, Any]:
    """Everything besides the data and the classifier that decides the figures: results with other settings
    must not be mixed in one metrics.jsonl. The sample's and pixel space's settings, then each metric's (suite.py)."""
    return {"version": METRICS_VERSION, "n": n, "sample_seed": SAMPLE_SEED, "pixel_dim": DIM,
            "near_identical": NEAR_IDENTICAL, **metric_settings()}


def _set_record(faces: FaceSet, emotion: str) -> dict[str, Any]:
    return {"source": faces.source, "split": faces.split, "emotion": emotion, "content_hash": faces.content_hash,
            "n_images": len(faces)}


def reference_identity(ref: Reference) -> dict[str, Any]:
    """What metrics_config.json records and later runs of the command must match: the settings of the metrics
    registered now, the data and the classifier."""
    return {"settings": settings(ref.n), "reference": ref.reference, "train": ref.train, "classifier": ref.classifier}


def identity(train: FaceSet, reference: FaceSet, classifier: Classifier | None, *, n: int,
             emotion: str) -> dict[str, Any]:
    """The identity build_reference's Reference will have, known before any of the expensive work."""
    return {"settings": settings(n), "reference": _set_record(reference, emotion), "train": _set_record(train, emotion),
            "classifier": classifier_identity(classifier)}


def build_reference(train: FaceSet, reference: FaceSet, classifier: Classifier | None, *, n: int, emotion: str,
                    device: torch.device | str = "cpu", cache_dir: Path | None = None) -> Reference:
    """Prepare (or load from the cache) everything the metrics need about the real faces."""
    device = torch.device(device)
    cache = Path(cache_dir) if cache_dir is not None else default_cache_dir()
    clf = classifier_identity(classifier)
    features = probs = None
    if classifier is not None:
        got = _cached(cache, "ref-features", [reference.content_hash, clf["sha256"]],
                      lambda: dict(zip(("features", "probs"), features_and_probs(classifier, reference.images))))
        features, probs = got["features"], got["probs"]
    train_pixels = pixel_vectors(train.images, device)
    b = _cached(cache, "ndb-bins", [train.content_hash, n_bins(len(train))],
                lambda: _bins_arrays(fit_bins(train_pixels)))
    bins = Bins(b["centres"], b["shares"], int(b["n_train"]))
    base = _cached(cache, "baselines", [reference.content_hash, train.content_hash, settings(n)],
                   lambda: _baselines(reference.images[subset(len(reference), n)], train_pixels, device))
    if classifier is not None:
        base = {**base, **_cached(cache, "feature-baselines", [reference.content_hash, train.content_hash,
                                                             clf["sha256"], settings(n)],
                                  lambda: _feature_baselines(classifier, train.images[subset(len(train), n)],
                                                             features, probs, device))}
    real_images = reference.images[subset(len(reference), n)]
    # The detector's floor: real training faces against the same real reference faces, with the same protocol.
    base = {**base, **_cached(cache, "c2st-baseline", [reference.content_hash, train.content_hash, n, realism.SETTINGS],
                              lambda: {"c2st_real": np.array(realism.floor(
                                  real_images, train.images[subset(len(train), n)]))})}
    baselines = {k: (None if np.isnan(v) else float(v)) for k, v in base.items()}
    return Reference(n, _set_record(reference, emotion), _set_record(train, emotion), clf, features, probs,
                     train_pixels, bins, baselines, device, real_images=real_images,
                     labels=np.asarray(reference.labels, dtype=np.int64))


def _bins_arrays(bins: Bins) -> dict[str, np.ndarray]:
    return {"centres": bins.centres, "shares": bins.shares, "n_train": np.array(bins.n_train)}


def _baselines(images: np.ndarray, train_pixels: torch.Tensor, device: torch.device) -> dict[str, np.ndarray]:
    """The classifier-free figures of real reference faces, computed exactly as for generated ones."""
    px = pixel_vectors(images, device)
    dup = duplicate_stats(px)
    _, d = nearest(px, train_pixels, k=1)
    return {"msssim_real": np.array(msssim_pairs(images, device=device)),
            "duplicate_rate_real": np.array(dup["duplicate_rate"]),
            "birthday_support_real": np.array(np.nan if dup["birthday_support"] is None else dup["birthday_support"]),
            "nn_train_dist_real": np.array(np.median(d[:, 0])),
            "memorised_rate_real": np.array((d[:, 0] < NEAR_IDENTICAL).mean())}


def _feature_baselines(classifier: Classifier, train_images: np.ndarray, features: np.ndarray, probs: np.ndarray,
                       device: torch.device) -> dict[str, np.ndarray]:
    """FER-FID, FER-KID and PRDC of real training faces against the reference, computed as for generated ones:
    what a perfect generator of this emotion would score against a reference of this size."""
    f, p = features_and_probs(classifier, train_images)
    sample = Sample(train_images, pixel_vectors(train_images, device), f, p)
    # A throwaway Reference: the metric functions read only its features and memo.
    ref = Reference(len(train_images), {}, {}, None, features, probs, sample.pixels, Bins(np.zeros((0, DIM)),
                    np.zeros(0), 0), {}, device)
    got = {**feature_metrics.fer_fid_kid(sample, ref), **feature_metrics.prdc(sample, ref)}
    return {f"{k}_real": np.array(got[k]) for k in ("fer_fid", "fer_kid", "precision", "recall", "coverage")}


def _cached(cache: Path, kind: str, key: list[Any],
            compute: Callable[[], dict[str, np.ndarray]]) -> dict[str, np.ndarray]:
    """Arrays from cache/metrics-<kind>-<hash of key and version>.npz, computed and written atomically if absent
    or unreadable (a damaged cache file is simply recomputed)."""
    digest = hashlib.sha256(json.dumps([METRICS_VERSION, kind, DIM, NEAR_IDENTICAL] + key).encode()).hexdigest()[:32]
    path = cache / f"metrics-{kind}-{digest}.npz"
    if path.is_file():
        try:
            with np.load(path, allow_pickle=False) as z:
                return {k: z[k] for k in z.files}
        except (OSError, ValueError, KeyError, EOFError):
            pass
    arrays = compute()
    buf = io.BytesIO()
    np.savez(buf, **arrays)
    try:
        atomic_write_bytes(path, buf.getvalue())
    except OutputError:
        pass   # a read-only cache only costs time
    return arrays

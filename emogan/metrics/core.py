"""The metric registry and the per-sample-set bundle (faces, pixel vectors, classifier outputs) metrics read.

Each metric is a function `fn(sample, reference) -> dict[str, float | int | None]` registered with `@metric`,
declaring the keys it returns and whether it needs the emotion classifier. `compute_metrics` runs them all and
writes None for the keys of metrics it could not compute (no classifier), so every metrics line has every key.
"""

from __future__ import annotations

import importlib
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Callable

import numpy as np
import torch

from .pixels import pixel_vectors

if TYPE_CHECKING:
    from ..classifier import Classifier
    from .reference import Reference

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


def describe(images: np.ndarray, classifier: "Classifier | None", device: torch.device | str = "cpu",
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


def features_and_probs(classifier: "Classifier", images: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Embeddings and probabilities from ONE forward pass (the classifier runs its head on the embeddings)."""
    return classifier.features_and_probs(images)


@dataclass(frozen=True)
class Metric:
    name: str
    fn: Callable[["Sample", "Reference"], dict[str, Value]]
    keys: tuple[str, ...]
    needs_classifier: bool


METRICS: dict[str, Metric] = {}
# The modules whose metrics are built in; importing one registers its metrics, in this order (the order of the
# keys in a metrics line).
BUILTIN = ("features", "diversity", "bins")


def registry() -> dict[str, Metric]:
    """Every metric, the built-in modules imported first (whoever imported only this module gets them too), in
    BUILTIN's module order and then source order, whatever order they were imported in; others last."""
    for name in BUILTIN:
        importlib.import_module(f"{__package__}.{name}")
    modules = [f"{__package__}.{name}" for name in BUILTIN]

    def rank(m: Metric) -> tuple[int, int]:
        where = modules.index(m.fn.__module__) if m.fn.__module__ in modules else len(modules)
        return where, getattr(getattr(m.fn, "__code__", None), "co_firstlineno", 0)

    return {m.name: m for m in sorted(METRICS.values(), key=rank)}


def metric(name: str, keys: tuple[str, ...], needs_classifier: bool) -> Callable:
    """Register `fn` under `name`; it must return exactly `keys`."""
    def wrap(fn: Callable[["Sample", "Reference"], dict[str, Value]]) -> Callable:
        if name in METRICS:
            raise ValueError(f"metric {name!r} is registered twice")
        METRICS[name] = Metric(name, fn, tuple(keys), needs_classifier)
        return fn
    return wrap


def metric_keys() -> list[str]:
    """Every key a metrics line holds besides iteration and n, in registry order."""
    return [k for m in registry().values() for k in m.keys]


def classifier_keys() -> list[str]:
    return [k for m in registry().values() if m.needs_classifier for k in m.keys]


def compute_metrics(sample: Sample, reference: "Reference", names: list[str] | None = None) -> dict[str, Value]:
    """All (or the named) metrics of `sample` against `reference`; keys of metrics that need a missing classifier
    are None, so a line always says what is missing rather than leaving it out."""
    metrics = registry()
    unknown = sorted(set(names or []) - set(metrics))
    if unknown:
        raise ValueError(f"unknown metric {unknown[0]!r}: expected one of {', '.join(metrics)}")
    out: dict[str, Value] = {}
    for m in metrics.values():
        if names is not None and m.name not in names:
            continue
        if m.needs_classifier and (sample.features is None or reference.features is None):
            out.update({k: None for k in m.keys})
            continue
        got = m.fn(sample, reference)
        if set(got) != set(m.keys):
            raise RuntimeError(f"metric {m.name} returned keys {sorted(got)}, declared {sorted(m.keys)}")
        out.update({k: _plain(got[k]) for k in m.keys})
    return out


def _plain(v: Any) -> Value:
    """numpy/torch scalars as JSON-ready Python numbers."""
    if v is None:
        return None
    if isinstance(v, torch.Tensor):
        v = v.item()
    if isinstance(v, (bool, np.bool_)):
        return int(v)
    if isinstance(v, (int, np.integer)):
        return int(v)
    return float(v)

"""Calibration of the classifier's confidences: expected calibration error and a fitted softmax temperature."""

from __future__ import annotations

import numpy as np
import torch

ECE_BINS = 15           # Guo et al. 2017's setting, so figures compare with the literature
TEMPERATURES = np.round(np.arange(0.5, 3.001, 0.01), 2)


def expected_calibration_error(probs: np.ndarray, labels: np.ndarray, bins: int = ECE_BINS) -> float:
    """Mean |accuracy - confidence| over equal-width confidence bins, weighted by the faces in each bin."""
    probs, labels = np.asarray(probs, dtype=np.float64), np.asarray(labels, dtype=np.int64)
    if len(labels) == 0:
        return 0.0
    confidence, predicted = probs.max(axis=1), probs.argmax(axis=1)
    which = np.minimum((confidence * bins).astype(np.int64), bins - 1)
    total = 0.0
    for b in range(bins):
        inside = which == b
        if inside.any():
            total += inside.sum() * abs((predicted[inside] == labels[inside]).mean() - confidence[inside].mean())
    return float(total / len(labels))


def tempered_probs(view_logits: list[np.ndarray] | np.ndarray, temperature: float) -> np.ndarray:
    """Probabilities the judge gives at this temperature: softmax(logits / T), averaged over the views (flip TTA)."""
    views = torch.as_tensor(np.asarray(view_logits, dtype=np.float64))
    if views.dim() == 2:
        views = views.unsqueeze(0)
    return (views / temperature).softmax(dim=-1).mean(dim=0).numpy()


def fit_temperature(view_logits: list[np.ndarray] | np.ndarray, labels: np.ndarray) -> float:
    """The temperature (0.5..3, step 0.01) with the lowest negative log-likelihood of the labels: one scalar
    changes no prediction, only how sure they sound (Guo et al. 2017)."""
    labels = np.asarray(labels, dtype=np.int64)
    best_t, best_nll = 1.0, np.inf
    for t in TEMPERATURES:
        p = tempered_probs(view_logits, float(t))[np.arange(len(labels)), labels]
        nll = float(-np.log(np.clip(p, 1e-12, None)).mean())
        if nll < best_nll:
            best_t, best_nll = float(t), nll
    return best_t

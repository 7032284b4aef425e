"""Small statistics shared by the metrics: Jensen-Shannon divergence and the two-proportion z-test."""

from __future__ import annotations

import numpy as np

# scipy is imported in the functions: the explorer imports the metric suite for its charts, and scipy costs it
# most of a second at start-up.


def js_divergence(p: np.ndarray, q: np.ndarray) -> float:
    """Jensen-Shannon divergence in bits (0 = same distribution, 1 = disjoint) of two histograms (normalised here).

    scipy returns the JS *distance* (its square root); the divergence is what Richardson & Weiss report."""
    from scipy.spatial.distance import jensenshannon

    p, q = np.asarray(p, dtype=np.float64), np.asarray(q, dtype=np.float64)
    if p.sum() <= 0 or q.sum() <= 0:
        return float("nan")
    return float(jensenshannon(p, q, base=2) ** 2)


def proportions_differ(p1: np.ndarray, n1: int, p2: np.ndarray, n2: int, alpha: float = 0.05) -> np.ndarray:
    """Two-sided two-proportion z-test per bin (pooled standard error), as in Richardson & Weiss's NDB code."""
    from scipy.stats import norm

    p = (p1 * n1 + p2 * n2) / (n1 + n2)
    se = np.sqrt(p * (1 - p) * (1.0 / n1 + 1.0 / n2))
    with np.errstate(divide="ignore", invalid="ignore"):
        z = np.where(se > 0, (p1 - p2) / se, 0.0)
    return 2.0 * norm.sf(np.abs(z)) < alpha

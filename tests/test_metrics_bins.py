"""emogan.metrics.bins and stats: k-means bins, NDB and JS divergence on synthetic data with known answers."""

import numpy as np
import pytest
import torch

from emogan.metrics.bins import assign_shares, fit_bins, n_bins, ndb
from emogan.metrics.core import Bins, Sample
from emogan.metrics.stats import js_divergence, proportions_differ


def _clusters(n_per: int, k: int, seed: int = 0) -> torch.Tensor:
    """k well-separated blobs in the 576-d pixel space, n_per points each."""
    g = torch.Generator().manual_seed(seed)
    centres = torch.rand(k, 576, generator=g)
    return (centres.repeat_interleave(n_per, 0) + 0.01 * torch.randn(k * n_per, 576, generator=g)).clamp(0, 1)


def test_js_divergence_bounds_and_proportion_test():
    assert js_divergence([1, 2, 3], [2, 4, 6]) == pytest.approx(0.0, abs=1e-12)
    assert js_divergence([1, 0], [0, 1]) == pytest.approx(1.0)
    differ = proportions_differ(np.array([0.5, 0.1]), 1000, np.array([0.5, 0.2]), 1000)
    assert differ.tolist() == [False, True]
    # Empty in both: no evidence of a difference, and no division by zero.
    assert not proportions_differ(np.array([0.0]), 10, np.array([0.0]), 10).any()


def test_n_bins_scales_down_for_small_training_sets():
    assert n_bins(28709) == 100 and n_bins(84) == 8 and n_bins(5) == 2


def test_bins_recover_clusters_and_ndb_sees_a_missing_mode():
    train = _clusters(40, 8)                      # 320 faces -> 32 bins over 8 blobs
    bins = fit_bins(train)
    assert len(bins.centres) == 32 and bins.shares.sum() == pytest.approx(1.0) and bins.n_train == 320

    def score(x):
        return ndb(Sample(np.zeros((len(x), 48, 48), np.uint8), x, None, None), type("R", (), {"bins": bins})())

    same = score(_clusters(40, 8, seed=0)[torch.randperm(320, generator=torch.Generator().manual_seed(1))[:200]])
    assert same["ndb"] == 0 and same["ndb_js"] < 0.1
    one_blob = score(_clusters(400, 8)[:400])     # 400 samples, all from the first blob (same seed, same centres)
    assert one_blob["ndb_frac"] > 0.5 and one_blob["ndb_js"] > 0.7


def test_assign_shares_counts_nearest_centres():
    centres = np.array([[0.0] * 576, [1.0] * 576], np.float32)
    x = torch.tensor([[0.1] * 576, [0.9] * 576, [0.8] * 576])
    assert assign_shares(x, centres).tolist() == pytest.approx([1 / 3, 2 / 3])
    assert isinstance(Bins(centres, np.array([0.5, 0.5]), 2).shares, np.ndarray)

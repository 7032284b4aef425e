"""NDB and JS divergence over k-means bins of the training faces (Richardson & Weiss, "On GANs and GMMs", 2018).

The training faces (in the 24x24 pixel space of pixels.py) are clustered with scikit-learn's k-means into K bins;
each generated face goes to its nearest centre. NDB counts the bins whose share of generated faces differs from
the training share by a two-sided two-proportion z-test at alpha 0.05; `ndb_frac` is NDB/K (about alpha for a
perfect model, 1 for a collapsed one). `ndb_js` is the JS divergence (bits) between the two bin histograms.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np

from emogan.metrics.core import Bins, Reference, Sample
from emogan.metrics.pixels import nearest
from emogan.metrics.stats import js_divergence, proportions_differ

if TYPE_CHECKING:
    import torch

# torch is imported where it is used: the explorer imports the metric suite for its charts, and a page that
# only draws charts should not wait seconds for torch's import.

NDB_BINS = 100             # the paper's K
NDB_MIN_PER_BIN = 10       # fewer bins for small training sets, so each bin can hold a share worth testing
NDB_FIT_MAX = 20000        # k-means is fitted on at most this many faces (the shares use all of them)
NDB_ALPHA = 0.05
NDB_SEED = 0




def n_bins(n_train: int) -> int:
    return int(max(2, min(NDB_BINS, n_train // NDB_MIN_PER_BIN)))


def fit_bins(train_pixels: torch.Tensor, seed: int = NDB_SEED) -> Bins:
    """k-means bins of the training faces and the share of them in each bin."""
    import torch

    x = train_pixels.cpu().numpy()
    rng = np.random.default_rng(seed)
    fit = x if len(x) <= NDB_FIT_MAX else x[rng.choice(len(x), NDB_FIT_MAX, replace=False)]
    # One k-means++ start: each further start repeats the whole fit and moves the bins little; the seed fixes them.
    # Imported here, not at the top: the explorer imports the suite for its charts and should not pay for sklearn.
    from sklearn.cluster import KMeans

    km = KMeans(n_clusters=n_bins(len(x)), n_init=1, random_state=seed).fit(fit)
    centres = km.cluster_centers_.astype(np.float32)
    shares = assign_shares(torch.from_numpy(x), centres)
    return Bins(centres, shares, len(x))


def assign_shares(pixels: torch.Tensor, centres: np.ndarray) -> np.ndarray:
    """Share of the faces whose nearest centre is each bin."""
    import torch

    idx, _ = nearest(pixels, torch.from_numpy(centres).to(pixels.device), k=1)
    return np.bincount(idx[:, 0], minlength=len(centres)) / max(1, len(pixels))


def ndb(sample: Sample, reference: Reference) -> dict[str, float]:
    bins: Bins = reference.bins
    shares = assign_shares(sample.pixels, bins.centres)
    differ = proportions_differ(shares, len(sample), bins.shares, bins.n_train, NDB_ALPHA)
    return {"ndb": int(differ.sum()), "ndb_frac": float(differ.mean()), "ndb_js": js_divergence(shares, bins.shares)}

"""Classifier-free diversity metrics: MS-SSIM of random pairs, near-duplicate rate, birthday-paradox support
size (Arora & Zhang 2017) and the distance of each face to its nearest training face (memorisation).

MS-SSIM (torchmetrics) is set up for 48x48 faces: 3 scales (48, 24, 12 px: 48 halves cleanly twice, and a third
halving would leave 6 px, less than one window), a Gaussian window of sigma 1.0 (9 px, the size torchmetrics derives
from sigma), Wang et al.'s first three scale weights renormalised to sum to 1, and negative contrast terms clipped at
0 ("relu") so a pair of unrelated faces cannot produce NaN. Higher mean MS-SSIM = less diverse; it is reported next
to the same figure for random pairs of reference (real) faces. The pairs are N/2 disjoint random pairs of the N
faces (each face in one pair): 500 pairs for N = 1,000, a standard error of about 0.003 on the mean.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np

from emogan.metrics.core import Reference, Sample
from emogan.metrics.pixels import NEAR_IDENTICAL, close_pairs, nearest

if TYPE_CHECKING:
    import torch

# torch is imported where it is used: the explorer imports the metric suite for its charts, and a page that
# only draws charts should not wait seconds for torch's import.

MSSSIM_SIGMA = 1.0
MSSSIM_KERNEL = 9
_W = (0.0448, 0.2856, 0.3001)
MSSSIM_BETAS = tuple(w / sum(_W) for w in _W)
BIRTHDAY_TRIALS = 200          # random orderings of the sample for the birthday test
PAIR_SEED = 1                  # which random pairs MS-SSIM looks at: the same for every model and iteration


def random_pairs(n: int, seed: int = PAIR_SEED) -> np.ndarray:
    """n // 2 disjoint pairs (i, j) of range(n), i != j, from a fixed-seed permutation."""
    perm = np.random.default_rng(seed).permutation(n)
    return perm[: n // 2 * 2].reshape(-1, 2)


def msssim_pairs(images: np.ndarray, device: torch.device | str = "cpu") -> float:
    """Mean MS-SSIM of N/2 disjoint random pairs of the N faces (1 = all identical)."""
    import torch

    idx = random_pairs(len(images))
    if len(idx) == 0:
        return float("nan")
    x = torch.from_numpy(np.ascontiguousarray(images)).to(device).float().div_(255.0).unsqueeze(1)
    # here, not at the top: the explorer imports the suite for its charts and should not pay for torchmetrics
    from torchmetrics.functional.image import multiscale_structural_similarity_index_measure

    values = multiscale_structural_similarity_index_measure(
        x[idx[:, 0]], x[idx[:, 1]], gaussian_kernel=True, sigma=MSSSIM_SIGMA, kernel_size=MSSSIM_KERNEL,
        data_range=1.0, betas=MSSSIM_BETAS, normalize="relu", reduction="none")
    return float(values.mean())


def msssim(sample: Sample, reference: Reference) -> dict[str, float]:
    return {"msssim": msssim_pairs(sample.images, device=sample.pixels.device),
            "msssim_real": reference.baselines["msssim_real"]}


def duplicate_stats(pixels: torch.Tensor, threshold: float = NEAR_IDENTICAL, trials: int = BIRTHDAY_TRIALS,
                    seed: int = 0) -> dict[str, float | int | None]:
    """Near-duplicate rate and the birthday-paradox support estimate of one sample of faces.

    duplicate_rate: share of the N(N-1)/2 pairs closer than `threshold` (pixels.NEAR_IDENTICAL).
    birthday_batch: the batch size s at which a random batch of the faces holds a near-duplicate pair with
    probability 1/2 -- Arora & Zhang's test, run on random orderings of the N faces (the median, over orderings,
    of the length of the shortest prefix that holds a duplicate pair). birthday_support = s^2, their estimate of
    the number of distinct faces the generator draws from. Both are None when fewer than half the orderings
    reach a duplicate within N faces: the support is then more than about N^2, beyond what N faces can tell.
    """
    n = len(pixels)
    pairs, _ = close_pairs(pixels, threshold)
    total = n * (n - 1) // 2
    out: dict[str, float | int | None] = {
        "duplicate_rate": len(pairs) / total if total else float("nan"),
        "birthday_batch": None, "birthday_support": None}
    if len(pairs) == 0:
        return out
    rng = np.random.default_rng(seed)
    firsts = np.empty(trials)
    for t in range(trials):
        pos = rng.permutation(n)           # pos[i] = where face i lands in this ordering
        firsts[t] = np.maximum(pos[pairs[:, 0]], pos[pairs[:, 1]]).min() + 1
    s = float(np.median(firsts))
    if s <= n and (firsts <= n).mean() >= 0.5:
        out["birthday_batch"] = s
        out["birthday_support"] = s * s
    return out


def duplicates(sample: Sample, reference: Reference) -> dict[str, float | int | None]:
    return duplicate_stats(sample.pixels)


def memorisation(sample: Sample, reference: Reference) -> dict[str, float]:
    """Median RMS distance from each face to its nearest training face, and the share that are near-identical
    to one (compare with the reference faces' own figures in metrics_config.json: FER2013's validation split
    shares about 8% of its faces with the training split)."""
    _, d = nearest(sample.pixels, reference.train_pixels, k=1)
    d = d[:, 0]
    return {"nn_train_dist": float(np.median(d)), "memorised_rate": float((d < NEAR_IDENTICAL).mean())}


"""The latents a tracked run's faces are drawn from: the shipped runs' own where the prior is theirs, so its faces
pair with M1..M8's column for column, and the metrics' N latents after them."""

from __future__ import annotations

import numpy as np
import torch

from emogan.metrics.core import SAMPLE_SEED
from emogan.sampling import cycle_labels, prior_labels, random_latents
from emogan.training.options import TrainConfig

PRIORS = ("normal", "uniform")         # standard normal; uniform on [-1, 1] (older DCGAN code)
SHARED = TrainConfig()                 # the shipped runs' grid: n_fixed latents drawn with latent_seed
SHARED_Z_DIM = 100                     # their latent size (GANConfig.z_dim)


def draw(n: int, z_dim: int, prior: str, seed: int) -> torch.Tensor:
    """n latents of the prior from a seeded CPU generator (the same on every machine)."""
    if prior == "normal":
        return random_latents(n, z_dim, seed)
    g = torch.Generator().manual_seed(seed)
    return torch.rand(n, z_dim, generator=g) * 2 - 1


def paired(z_dim: int, prior: str) -> bool:
    """Whether a run of this latent size and prior draws the shipped runs' grid latents."""
    return z_dim == SHARED_Z_DIM and prior == "normal"


def grid_latents(z_dim: int, prior: str) -> torch.Tensor:
    """(64, z_dim): for a paired run exactly the shipped runs' fixed latents (random_latents(n_fixed, 100,
    latent_seed), as the trainer draws them); otherwise the run's own, drawn the same way from its prior."""
    return draw(SHARED.n_fixed, z_dim, prior, SHARED.latent_seed)


def metric_latents(fixed: torch.Tensor, n: int, prior: str) -> torch.Tensor:
    """(n, z_dim): the grid latents first, then latents drawn with the metrics' seed, as
    emogan.metrics.evaluate.metric_latents draws them for our runs."""
    if len(fixed) >= n:
        return fixed[:n]
    return torch.cat([fixed, draw(n - len(fixed), fixed.shape[1], prior, SAMPLE_SEED)])


def grid_emotions(n: int, n_labels: int) -> np.ndarray:
    """What a conditional run's grid faces are asked for: emotions in turn, as our conditional runs' grids."""
    return cycle_labels(n, n_labels).numpy().astype(np.int64)


def metric_emotions(n: int) -> np.ndarray:
    """What a conditional run's metric faces are asked for: FER2013's training mix (emogan.metrics.evaluate)."""
    return np.asarray(prior_labels(n, SAMPLE_SEED), dtype=np.int64)

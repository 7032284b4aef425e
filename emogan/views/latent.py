"""Latent-space walks: endpoints, slerp/lerp paths between two z, principal or coordinate directions, emotion morphs
for conditional generators, and how much a path changes."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import torch

from emogan.emotions import EMOTIONS, emotion_index
from emogan.sampling import random_latents

METHODS = ("slerp", "lerp")
ENDPOINTS = ("seed", "fixed sample")    # a fresh Gaussian latent from a seed, or one of a run's fixed latents
# Below this many grey levels of per-pixel spread, a whole latent path draws what looks like one face.
COLLAPSE_SPREAD = 4.0


def lerp(z0: torch.Tensor, z1: torch.Tensor, t: torch.Tensor | float) -> torch.Tensor:
    """Straight line: (1 - t) z0 + t z1, for t a scalar or a (K,) tensor (then (K, z_dim))."""
    t = torch.as_tensor(t, dtype=z0.dtype)
    t = t.reshape(-1, 1) if t.dim() else t
    return (1 - t) * z0 + t * z1


def slerp(z0: torch.Tensor, z1: torch.Tensor, t: torch.Tensor | float) -> torch.Tensor:
    """Great-circle path between z0 and z1 (radius interpolated linearly).

    Gaussian latents of dimension 100 live near a sphere of radius 10; a straight line cuts through its inside, where
    the generator has never been trained (the midpoint has norm ~7), so lerp paths fade towards an average face."""
    t = torch.as_tensor(t, dtype=z0.dtype)
    t = t.reshape(-1, 1) if t.dim() else t
    n0, n1 = z0.norm(), z1.norm()
    if float(n0) == 0.0 or float(n1) == 0.0:
        return lerp(z0, z1, t)
    u0, u1 = z0 / n0, z1 / n1
    omega = torch.arccos((u0 * u1).sum().clamp(-1.0, 1.0))
    if float(torch.sin(omega)) < 1e-6:          # (anti)parallel: every great circle works, the line is as good
        return lerp(z0, z1, t)
    direction = (torch.sin((1 - t) * omega) * u0 + torch.sin(t * omega) * u1) / torch.sin(omega)
    return direction * ((1 - t) * n0 + t * n1)


def interpolate(z0: torch.Tensor, z1: torch.Tensor, steps: int, method: str = "slerp") -> torch.Tensor:
    """`steps` latents (steps, z_dim) from z0 to z1 inclusive."""
    if method not in METHODS:
        raise ValueError(f"unknown interpolation {method!r}: expected one of {', '.join(METHODS)}")
    if steps < 2:
        raise ValueError(f"an interpolation path needs at least 2 steps, got {steps}")
    t = torch.linspace(0.0, 1.0, steps, dtype=z0.dtype)
    return (slerp if method == "slerp" else lerp)(z0, z1, t)


def seed_latent(seed: int, z_dim: int = 100) -> torch.Tensor:
    """The latent (z_dim,) a seed stands for: the same on every machine."""
    return random_latents(1, z_dim, seed)[0]


def point(z0: torch.Tensor, z1: torch.Tensor, t: float, method: str = "slerp") -> torch.Tensor:
    """The latent (z_dim,) at t in [0, 1] on the slerp or lerp path from z0 to z1."""
    if method not in METHODS:
        raise ValueError(f"unknown interpolation {method!r}: expected one of {', '.join(METHODS)}")
    return (slerp if method == "slerp" else lerp)(z0, z1, t)


def endpoint(kind: str, value: int, z_dim: int, fixed: torch.Tensor | None = None) -> torch.Tensor:
    """The latent (z_dim,) an endpoint stands for: the fixed latent number `value` of `fixed` (a run's (N, z_dim))
    for kind "fixed sample" when there is one, else the latent of seed `value`."""
    if kind not in ENDPOINTS:
        raise ValueError(f"unknown endpoint kind {kind!r}: expected one of {', '.join(ENDPOINTS)}")
    if kind == "fixed sample" and fixed is not None and 0 <= value < len(fixed):
        return fixed[value].clone()
    return seed_latent(value, z_dim)


def emotion_morph(start: str, end: str, steps: int) -> tuple[np.ndarray, np.ndarray]:
    """(t (steps,), label weights (steps, 7) float32) from emotion `start`'s one-hot vector to `end`'s. A conditional
    generator takes its emotion as a one-hot vector, so the straight line between two morphs one face."""
    if steps < 2:
        raise ValueError(f"an emotion morph needs at least 2 steps, got {steps}")
    t = np.linspace(0.0, 1.0, steps, dtype=np.float32)
    eye = np.eye(len(EMOTIONS), dtype=np.float32)
    return t, (1 - t[:, None]) * eye[emotion_index(start)] + t[:, None] * eye[emotion_index(end)]


def principal_directions(batch: torch.Tensor, k: int) -> tuple[torch.Tensor, torch.Tensor]:
    """The k directions (k, z_dim) of largest variance in a latent batch (N, z_dim), unit length, and their
    standard deviations (k,). Signs are fixed (largest coordinate positive) so the sliders mean the same each time."""
    x = batch.double() - batch.double().mean(0, keepdim=True)
    _, s, vh = torch.linalg.svd(x, full_matrices=False)
    k = min(k, vh.shape[0])
    dirs = vh[:k]
    flip = torch.sign(dirs.gather(1, dirs.abs().argmax(1, keepdim=True)))
    std = s[:k] / max(1.0, (batch.shape[0] - 1) ** 0.5)
    return (dirs * flip).to(batch.dtype), std.to(batch.dtype)


def coordinate_directions(indices: Sequence[int], z_dim: int) -> torch.Tensor:
    """One-hot directions (len(indices), z_dim): moving along one latent coordinate at a time."""
    bad = [i for i in indices if not 0 <= i < z_dim]
    if bad:
        raise ValueError(f"latent coordinates {bad} outside 0..{z_dim - 1}")
    return torch.eye(z_dim)[list(indices)]


def move(z: torch.Tensor, directions: torch.Tensor, amounts: Sequence[float]) -> torch.Tensor:
    """z + sum_i amounts[i] * directions[i]; amounts in latent units (one is a standard deviation of N(0, 1))."""
    a = torch.as_tensor(list(amounts), dtype=z.dtype)
    if a.shape[0] != directions.shape[0]:
        raise ValueError(f"{a.shape[0]} amounts for {directions.shape[0]} directions")
    return z + (a.reshape(-1, 1) * directions.to(z.dtype)).sum(0)


def sweep(z: torch.Tensor, direction: torch.Tensor, amounts: Sequence[float]) -> torch.Tensor:
    """Latents (len(amounts), z_dim) along one direction through z."""
    a = torch.as_tensor(list(amounts), dtype=z.dtype).reshape(-1, 1)
    return z.reshape(1, -1) + a * direction.reshape(1, -1).to(z.dtype)


def path_spread(frames: np.ndarray) -> float:
    """Mean over pixels of the standard deviation across frames (K, 48, 48), in grey levels: ~0 when a generator
    draws the same face all along a path (collapsed), tens of levels when the faces change."""
    if len(frames) < 2:
        return 0.0
    return float(np.asarray(frames, dtype=np.float32).std(axis=0).mean())

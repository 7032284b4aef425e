"""Drawing faces from a generator: latents in, uint8 (N, 48, 48) arrays out."""

from __future__ import annotations

import numpy as np
import torch

from emogan.images import to_uint8


def cycle_labels(n: int, n_labels: int) -> torch.Tensor:
    """Emotions 0, 1, ..., 6, 0, 1, ...: what a conditional model draws when not asked for one (every grid row of
    eight faces then shows several emotions, and any 7 consecutive faces all of them)."""
    return torch.arange(n) % n_labels


def prior_labels(n: int, seed: int) -> np.ndarray:
    """n emotion indices drawn (seeded) as often as FER2013's training faces show them: what a conditional model is
    asked for wherever its faces are compared with real ones, so that a perfect one would match their mix."""
    from emogan.emotions import EMOTIONS, train_prior
    return np.random.default_rng(seed).choice(len(EMOTIONS), size=n, p=np.asarray(train_prior()))


def conditioned(z: torch.Tensor, labels: torch.Tensor | np.ndarray | None, n_labels: int) -> torch.Tensor:
    """A conditional generator's input: z (N, z_dim) followed by the emotion as a one-hot vector.

    `labels`: emotion indices (N,) (default: cycle_labels), or (N, n_labels) weights over the emotions, so that a
    walk from one emotion's one-hot to another's morphs the face between them."""
    if n_labels == 0:
        return z
    labels = cycle_labels(len(z), n_labels) if labels is None else torch.as_tensor(labels)
    if labels.dim() == 2:
        if tuple(labels.shape) != (len(z), n_labels):
            raise ValueError(f"emotion weights of shape {tuple(labels.shape)} for {len(z)} latents "
                             f"(expected ({len(z)}, {n_labels}))")
        return torch.cat([z, labels.to(device=z.device, dtype=z.dtype)], dim=1)
    labels = labels.reshape(-1)
    if len(labels) != len(z):
        raise ValueError(f"{len(labels)} emotions for {len(z)} latents")
    if len(labels) and not (0 <= int(labels.min()) and int(labels.max()) < n_labels):
        raise ValueError(f"emotion indices must lie in 0..{n_labels - 1}")
    return torch.cat([z, torch.nn.functional.one_hot(labels.long().to(z.device), n_labels).to(z.dtype)], dim=1)


@torch.inference_mode()
def generate(G: torch.nn.Module, z: torch.Tensor, batch: int = 256,
             labels: torch.Tensor | np.ndarray | None = None) -> np.ndarray:
    """G's faces for latents z (N, z_dim), in eval mode (BatchNorm uses its running statistics).

    A conditional G draws the emotions `labels` asks for (see conditioned; by default cycle_labels); an
    unconditional one ignores them."""
    was_training = G.training
    G.eval()
    try:
        device = next(G.parameters()).device
        cfg = getattr(G, "cfg", None)
        z = conditioned(z.to(dtype=torch.float32), labels, cfg.n_labels if cfg is not None else 0)
        out = [to_uint8(G(z[i:i + batch].to(device=device))) for i in range(0, len(z), batch)]
    finally:
        G.train(was_training)
    return np.concatenate(out) if out else np.empty((0, 48, 48), np.uint8)


def random_latents(n: int, z_dim: int = 100, seed: int = 0) -> torch.Tensor:
    """Standard-normal latents from a CPU generator, so a seed gives the same z on every machine."""
    return torch.randn(n, z_dim, generator=torch.Generator().manual_seed(seed))

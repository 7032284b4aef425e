"""GAN losses as small pure functions of D's logits, looked up by name from the model config."""

from __future__ import annotations

from collections.abc import Callable

import torch
import torch.nn.functional as F


def d_bce(real_logits: torch.Tensor, fake_logits: torch.Tensor) -> torch.Tensor:
    # The mean of the real and fake terms, as Keras reports a D trained on a half-real, half-fake batch: log 2 = 0.69
    # means D cannot tell them apart.
    real = F.binary_cross_entropy_with_logits(real_logits, torch.ones_like(real_logits))
    fake = F.binary_cross_entropy_with_logits(fake_logits, torch.zeros_like(fake_logits))
    return 0.5 * (real + fake)


def g_bce(fake_logits: torch.Tensor) -> torch.Tensor:
    # Non-saturating: G maximises log D(G(z)), the original's "label the fakes as real" trick.
    return F.binary_cross_entropy_with_logits(fake_logits, torch.ones_like(fake_logits))


def d_hinge(real_logits: torch.Tensor, fake_logits: torch.Tensor) -> torch.Tensor:
    return 0.5 * (F.relu(1 - real_logits).mean() + F.relu(1 + fake_logits).mean())


def g_hinge(fake_logits: torch.Tensor) -> torch.Tensor:
    return -fake_logits.mean()


LOSSES: dict[str, tuple[Callable[..., torch.Tensor], Callable[..., torch.Tensor]]] = {
    "bce": (d_bce, g_bce),
    "hinge": (d_hinge, g_hinge),
}


def get_losses(name: str) -> tuple[Callable[..., torch.Tensor], Callable[..., torch.Tensor]]:
    try:
        return LOSSES[name]
    except KeyError:
        raise ValueError(f"unknown loss {name!r}: expected one of {', '.join(LOSSES)}") from None

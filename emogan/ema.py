"""The exponential moving average of weights, with warm-up, that both the GANs and the classifier keep."""

from __future__ import annotations

from collections.abc import Iterable

import torch


@torch.no_grad()
def ema_update(averaged: Iterable[torch.Tensor], live: Iterable[torch.Tensor], steps: torch.Tensor, decay: float,
               copied: Iterable[tuple[torch.Tensor, torch.Tensor]] = (), ramp: float = 0.0) -> None:
    """One averaging step: `steps` (a device tensor, so CUDA graphs count too) goes up by one, every averaged
    tensor moves towards its live twin, and each (mine, theirs) pair in `copied` is copied.

    Warm-up as TensorFlow's ExponentialMovingAverage with num_updates: the decay is min(decay, (1+n)/(10+n)),
    so the average covers about the updates so far. A plain 0.999 would keep the random initial weights in
    the average for long (0.999**950 = 39% of it at iteration 950).

    ramp > 0: StyleGAN2's ramp instead; the half-life is `ramp` x the updates so far, so the average always
    covers a fixed share of training (capped by `decay`)."""
    steps.add_(1)
    if ramp > 0:
        keep = torch.clamp(0.5 ** (1.0 / (ramp * steps)), max=decay)
    else:
        keep = torch.clamp((1.0 + steps) / (10.0 + steps), max=decay)
    for a, b in zip(averaged, live):
        a.lerp_(b, 1.0 - keep)
    for a, b in copied:
        a.copy_(b)


def halflife_decay(halflife_images: float, batch: int) -> float:
    """The per-update decay of an average whose half-life is `halflife_images` images at `batch` images per update
    (StyleGAN2's ema_kimg)."""
    return 0.5 ** (batch / halflife_images)

"""Differentiable augmentation for D's inputs (translation and cutout, after Zhao et al. 2020, DiffAugment)."""

from __future__ import annotations

import torch


def translate(x: torch.Tensor, ratio: float = 0.125) -> torch.Tensor:
    """Shift each image by up to ratio*size pixels, filling with black (-1); gradients flow through the gather."""
    n, _, h, w = x.shape
    sh, sw = int(h * ratio + 0.5), int(w * ratio + 0.5)
    dy = torch.randint(-sh, sh + 1, (n, 1, 1), device=x.device)
    dx = torch.randint(-sw, sw + 1, (n, 1, 1), device=x.device)
    ys = torch.arange(h, device=x.device).view(1, h, 1) - dy       # (N, H, 1): source row of each output row
    xs = torch.arange(w, device=x.device).view(1, 1, w) - dx       # (N, 1, W)
    valid = ((ys >= 0) & (ys < h) & (xs >= 0) & (xs < w)).unsqueeze(1)  # (N, 1, H, W)
    ys, xs = ys.clamp(0, h - 1).expand(n, h, w), xs.clamp(0, w - 1).expand(n, h, w)
    flat = (ys * w + xs).view(n, 1, h * w).expand(-1, x.shape[1], -1)
    out = x.flatten(2).gather(2, flat).view_as(x)
    return torch.where(valid, out, torch.full_like(out, -1.0))


def cutout(x: torch.Tensor, ratio: float = 0.5) -> torch.Tensor:
    """Blank one random square of ratio*size per image."""
    n, _, h, w = x.shape
    ch, cw = int(h * ratio + 0.5), int(w * ratio + 0.5)
    cy = torch.randint(0, h + (1 - ch % 2), (n, 1, 1), device=x.device)
    cx = torch.randint(0, w + (1 - cw % 2), (n, 1, 1), device=x.device)
    ys = torch.arange(h, device=x.device).view(1, h, 1)
    xs = torch.arange(w, device=x.device).view(1, 1, w)
    inside = ((ys - cy).abs() <= ch // 2) & ((xs - cx).abs() <= cw // 2)
    return x * (~inside).unsqueeze(1).to(x.dtype)


def diff_augment(x: torch.Tensor) -> torch.Tensor:
    return cutout(translate(x))

"""R3GAN-style residual features for the discriminator (Huang et al., NeurIPS 2024): inverted-bottleneck blocks with
grouped 3x3 convolutions, leaky ReLU and no normalization layers, joined by 2x2 average-pool transitions."""

from __future__ import annotations

import math

import torch
from torch import nn

from emogan.models.config import GANConfig


class ResidualBlock(nn.Module):
    """x + 1x1 conv(act(grouped 3x3 conv(act(1x1 conv(x))))), the middle `expand` times wider than x."""

    def __init__(self, channels: int, expand: int, group_width: int, leak: float, depth_scale: float):
        super().__init__()
        wide = channels * expand
        width = min(group_width, wide) if group_width > 0 else wide        # a block narrower than a group: one group
        if wide % width:
            raise ValueError(f"d_group_width {group_width} does not divide a block's {wide} channels")
        groups = wide // width
        self.expand = nn.Conv2d(channels, wide, 1)
        self.spatial = nn.Conv2d(wide, wide, 3, padding=1, groups=groups)
        self.project = nn.Conv2d(wide, channels, 1)
        self.act = nn.LeakyReLU(leak)
        # He initialisation for the leaky ReLU, shrunk by depth_scale, and the last conv at zero: every block starts
        # as the identity, and a stack of them keeps the variance of its input (R3GAN's fix-up initialisation).
        for conv in (self.expand, self.spatial):
            nn.init.kaiming_normal_(conv.weight, a=leak, nonlinearity="leaky_relu")
            conv.weight.data.mul_(depth_scale)
            nn.init.zeros_(conv.bias)
        nn.init.zeros_(self.project.weight), nn.init.zeros_(self.project.bias)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x + self.project(self.act(self.spatial(self.act(self.expand(x)))))


def _linear_conv(cin: int, cout: int) -> nn.Conv2d:
    conv = nn.Conv2d(cin, cout, 1)
    nn.init.normal_(conv.weight, std=1 / math.sqrt(cin)), nn.init.zeros_(conv.bias)
    return conv


def residual_features(cfg: GANConfig) -> nn.Sequential:
    """Face (N, 1, 48, 48) -> features (N, d_channels[-1], 6, 6) for three widths: a strided 3x3 conv stem to 24x24
    (it reads every pixel, at a quarter of the cost of blocks at 48x48), then at each side `d_blocks` blocks of that
    side's width, and between sides a 2x2 average pool (bilinear resampling at a factor of 2 is the same average)
    with a 1x1 conv to the next width."""
    if cfg.d_batchnorm or cfg.d_spectral_norm or cfg.d_dropout > 0:
        raise ValueError("a residual D has no normalization or dropout: it needs d_batchnorm, d_spectral_norm and "
                         "d_dropout off")
    if cfg.d_blocks < 1 or cfg.d_expand < 1:
        raise ValueError(f"d_blocks {cfg.d_blocks} and d_expand {cfg.d_expand} must be at least 1")
    widths = cfg.d_channels
    depth_scale = (len(widths) * cfg.d_blocks) ** (-1 / 4)    # L^(-1/(2m-2)) for L blocks of m = 3 convs
    stem = nn.Conv2d(1, widths[0], 3, stride=2, padding=1)
    nn.init.kaiming_normal_(stem.weight, a=cfg.leak, nonlinearity="leaky_relu"), nn.init.zeros_(stem.bias)
    layers: list[nn.Module] = [stem, nn.LeakyReLU(cfg.leak)]                   # (N, d_channels[0], 24, 24)
    for i, width in enumerate(widths):                                         # 24 -> 12 -> 6
        if i > 0:
            layers += [nn.AvgPool2d(2)] + ([_linear_conv(widths[i - 1], width)] if widths[i - 1] != width else [])
        layers += [ResidualBlock(width, cfg.d_expand, cfg.d_group_width, cfg.leak, depth_scale)
                   for _ in range(cfg.d_blocks)]
    return nn.Sequential(*layers)

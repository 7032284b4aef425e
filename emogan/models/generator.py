"""The generator: latent z (N, z_dim) -> face (N, 1, 48, 48) in [-1, 1]; a conditional one takes z followed by
the one-hot emotion (N, z_dim + 7), which emogan.sampling.generate appends, and may modulate its BatchNorms."""

from __future__ import annotations

import torch
from torch import nn

from emogan.models.config import GANConfig
from emogan.models.init import keras_init

MODULATIONS = ("none", "z", "emotion", "z+emotion")


class ModulatedBatchNorm(nn.BatchNorm2d):
    """BatchNorm whose per-channel gain and bias are shifted by linear maps of a side vector (z, the emotion or
    both): conditional BN (de Vries et al. 2017) and self-modulation (Chen et al. 2019) in one layer. The maps start
    at zero, so the layer starts as plain BatchNorm."""

    def __init__(self, channels: int, cond_dim: int):
        super().__init__(channels)
        self.gain = nn.Linear(cond_dim, channels, bias=False)
        self.shift = nn.Linear(cond_dim, channels, bias=False)
        nn.init.zeros_(self.gain.weight), nn.init.zeros_(self.shift.weight)

    def forward(self, x: torch.Tensor, cond: torch.Tensor) -> torch.Tensor:   # x (N, C, H, W), cond (N, cond_dim)
        h = super().forward(x)
        return h * (1 + self.gain(cond))[:, :, None, None] + self.shift(cond)[:, :, None, None]


def _cond_slice(cfg: GANConfig) -> slice:
    """Which part of G's input (z followed by the one-hot emotion) modulates its BatchNorms."""
    if cfg.g_modulation not in MODULATIONS:
        raise ValueError(f"unknown g_modulation {cfg.g_modulation!r}: expected one of {', '.join(MODULATIONS)}")
    if cfg.g_modulation != "none" and not cfg.g_batchnorm:
        raise ValueError(f"g_modulation {cfg.g_modulation!r} modulates BatchNorm: it needs g_batchnorm")
    if "emotion" in cfg.g_modulation and not cfg.conditional:
        raise ValueError(f"g_modulation {cfg.g_modulation!r} needs a conditional model")
    start = cfg.z_dim if cfg.g_modulation == "emotion" else 0
    end = cfg.z_dim if cfg.g_modulation == "z" else cfg.z_dim + cfg.n_labels
    return slice(start, end)


def _up_block(cin: int, cout: int, cfg: GANConfig) -> list[nn.Module]:
    if cfg.g_upsample == "upsample":
        layers: list[nn.Module] = [nn.Upsample(scale_factor=2, mode="nearest"),
                                   nn.Conv2d(cin, cout, 3, padding=1, bias=not cfg.g_batchnorm)]
    elif cfg.g_upsample == "transpose":
        # Keras Conv2DTranspose(k=3, strides=2, padding="same") doubles the size exactly; output_padding=1 does that here.
        layers = [nn.ConvTranspose2d(cin, cout, 3, stride=2, padding=1, output_padding=1, bias=not cfg.g_batchnorm)]
    else:
        raise ValueError(f"unknown g_upsample {cfg.g_upsample!r}: expected 'upsample' or 'transpose'")
    if cfg.g_modulation != "none":
        cond = _cond_slice(cfg)
        layers.append(ModulatedBatchNorm(cout, cond.stop - cond.start))
    elif cfg.g_batchnorm:
        layers.append(nn.BatchNorm2d(cout))
    layers.append(nn.LeakyReLU(cfg.leak))
    return layers


class Generator(nn.Module):
    def __init__(self, cfg: GANConfig):
        super().__init__()
        self.cfg = cfg
        self.cond = _cond_slice(cfg)
        self.fc = nn.Linear(cfg.z_dim + cfg.n_labels, cfg.g_base * 6 * 6, bias=not cfg.g_batchnorm)
        head: list[nn.Module] = [nn.BatchNorm1d(cfg.g_base * 6 * 6)] if cfg.g_batchnorm else []
        self.fc_act = nn.Sequential(*head, nn.LeakyReLU(cfg.leak))
        blocks: list[nn.Module] = []
        cin = cfg.g_base
        for cout in cfg.g_channels:          # each stage doubles the side: 6 -> 12 -> 24 -> 48
            blocks += _up_block(cin, cout, cfg)
            cin = cout
        if 6 * 2 ** len(cfg.g_channels) != 48:
            raise ValueError(f"g_channels must have 3 stages to reach 48x48, got {list(cfg.g_channels)}")
        self.blocks = nn.Sequential(*blocks)
        self.to_img = nn.Conv2d(cin, 1, 3, padding=1)
        keras_init(self)
        for m in self.modules():     # keras_init reset them: modulation starts at zero (plain BatchNorm)
            if isinstance(m, ModulatedBatchNorm):
                nn.init.zeros_(m.gain.weight), nn.init.zeros_(m.shift.weight)

    def forward(self, z: torch.Tensor) -> torch.Tensor:
        x = self.fc_act(self.fc(z))                          # (N, g_base * 36)
        x = x.view(z.shape[0], self.cfg.g_base, 6, 6)        # (N, g_base, 6, 6)
        cond = z[:, self.cond]                               # (N, cond_dim): the modulating part of the input
        for layer in self.blocks:                            # -> (N, g_channels[-1], 48, 48)
            x = layer(x, cond) if isinstance(layer, ModulatedBatchNorm) else layer(x)
        return torch.tanh(self.to_img(x))                    # (N, 1, 48, 48)

"""The discriminator: face (N, 1, 48, 48) -> one real/fake logit per face (N,); a conditional one also takes the
emotion of each face (N,) and adds a projection term; with an auxiliary-classifier head it also returns emotion
logits (N, 7), or unit emotion embeddings (N, E) for ReACGAN's loss."""

from __future__ import annotations

from collections.abc import Callable

import torch
import torch.nn.functional as F
from torch import nn
from torch.nn.utils.parametrizations import spectral_norm

from emogan.models.config import GANConfig
from emogan.models.init import keras_init
from emogan.models.residual import residual_features

AC_HEADS = ("pooled", "flat", "net")
AC_LOSSES = ("ce", "d2dce")
D_ARCHS = ("conv", "residual")
AC_NET_CHANNELS = (32, 64, 128)


def _emotion_net() -> nn.Sequential:
    """The "net" auxiliary head's own features: three 3x3 conv + BatchNorm + LeakyReLU stages, each followed by
    a 2x2 max-pool (48 -> 24 -> 12 -> 6), flattened so the head still knows where each feature is."""
    layers: list[nn.Module] = []
    cin = 1
    for cout in AC_NET_CHANNELS:
        layers += [nn.Conv2d(cin, cout, 3, padding=1, bias=False), nn.BatchNorm2d(cout), nn.LeakyReLU(0.2),
                   nn.MaxPool2d(2)]
        cin = cout
    return nn.Sequential(*layers, nn.Flatten())


def _strided_features(cfg: GANConfig, sn: Callable[[nn.Module], nn.Module]) -> tuple[nn.Sequential, int, int]:
    """Strided 3x3 convs, each halving the side (48 -> 24 -> 12 ...): the features, their width and side."""
    layers: list[nn.Module] = []
    cin, side = 1, 48
    for i, cout in enumerate(cfg.d_channels):
        layers.append(sn(keras_init(nn.Conv2d(cin, cout, 3, stride=2, padding=1))))
        # DCGAN leaves the first layer without BatchNorm: normalising raw pixels only hurts.
        if cfg.d_batchnorm and i > 0:
            layers.append(nn.BatchNorm2d(cout))
        layers.append(nn.LeakyReLU(cfg.leak))
        if cfg.d_dropout > 0:
            layers.append(nn.Dropout(cfg.d_dropout))
        cin, side = cout, side // 2
    return nn.Sequential(*layers), cin, side


class Discriminator(nn.Module):
    def __init__(self, cfg: GANConfig):
        super().__init__()
        self.cfg = cfg
        sn = spectral_norm if cfg.d_spectral_norm else (lambda m: m)
        if cfg.d_arch not in D_ARCHS:
            raise ValueError(f"unknown d_arch {cfg.d_arch!r}: expected one of {', '.join(D_ARCHS)}")
        if cfg.d_arch == "residual":                         # the same sides and widths, through residual blocks
            self.features = residual_features(cfg)
            cin, side = cfg.d_channels[-1], 48 >> len(cfg.d_channels)
        else:
            self.features, cin, side = _strided_features(cfg, sn)
        self.fc = sn(keras_init(nn.Linear(cin * side * side, 1)))    # before spectral norm wraps the weight
        # Projection (Miyato & Koyama 2018): logit += <embed(y), mean-pooled features>, on the scale of the
        # real/fake term. A bias-free linear layer on the one-hot, not nn.Embedding: its backward is a matrix
        # product, safe inside a CUDA graph capture.
        self.embed = sn(nn.Linear(cfg.n_labels, cin, bias=False)) if cfg.conditional else None
        if self.embed is not None and cfg.d_arch == "residual":
            # No spectral norm bounds it here, and residual features are about 20x larger than spectrally normed
            # ones: R3GAN's 1/sqrt(width) start keeps the emotion term (mean-pooled) near the real/fake term's scale.
            nn.init.normal_(self.embed.weight, std=cin ** -0.5)
        if cfg.d_projection_pool not in ("sum", "mean"):
            raise ValueError(f"unknown d_projection_pool {cfg.d_projection_pool!r}: expected 'sum' or 'mean'")
        if cfg.ac_weight > 0 and not cfg.conditional:
            raise ValueError("an auxiliary-classifier head (ac_weight > 0) needs a conditional model")
        # On features standardised over the batch, not spectrally normalised: under spectral norm D's pooled features
        # differ between faces by about 0.004, so a plain linear head on them stays at the class prior for hundreds
        # of steps (the pilots saw that); normalising them is what ReACGAN does for the same reason.
        self.classify = self.ac_net = self.proxies = None
        if cfg.ac_weight > 0:
            if cfg.ac_head not in AC_HEADS:
                raise ValueError(f"unknown ac_head {cfg.ac_head!r}: expected one of {', '.join(AC_HEADS)}")
            if cfg.ac_loss not in AC_LOSSES:
                raise ValueError(f"unknown ac_loss {cfg.ac_loss!r}: expected one of {', '.join(AC_LOSSES)}")
            if cfg.ac_head == "net":
                self.ac_net = _emotion_net()
                width = AC_NET_CHANNELS[-1] * (48 // 2 ** len(AC_NET_CHANNELS)) ** 2     # 128 x 6 x 6
            else:
                width = cin * side * side if cfg.ac_head == "flat" else cin
            # D2D-CE compares embeddings as wide as D's last features with one learnt embedding per emotion (a
            # bias-free linear map of the one-hot, as the projection's).
            out = cfg.n_labels if cfg.ac_loss == "ce" else cin
            self.classify = nn.Sequential(nn.BatchNorm1d(width, affine=False), keras_init(nn.Linear(width, out)))
            if cfg.ac_loss == "d2dce":
                self.proxies = keras_init(nn.Linear(cfg.n_labels, cin, bias=False))

    def forward(self, x: torch.Tensor, y: torch.Tensor | None = None,
                with_emotions: bool = False) -> torch.Tensor | tuple[torch.Tensor, torch.Tensor]:
        """Real/fake logits (N,); with_emotions (an AC head's model only): also its emotion logits (N, 7), or with
        ac_loss "d2dce" the faces' unit embeddings (N, E)."""
        h = self.features(x)                                 # (N, d_channels[-1], 12, 12)
        out = self.fc(h.flatten(1)).squeeze(1)               # (N,)
        if self.embed is not None:
            if y is None:
                raise ValueError("a conditional discriminator needs the emotion of each face")
            onehot = torch.eye(self.cfg.n_labels, device=h.device, dtype=h.dtype)[y]
            pooled = h.sum(dim=(2, 3)) if self.cfg.d_projection_pool == "sum" else h.mean(dim=(2, 3))
            out = out + (self.embed(onehot) * pooled).sum(dim=1)
        if not with_emotions:
            return out
        if self.classify is None:
            raise ValueError(f"{self.cfg.name} has no auxiliary-classifier head")
        head = self.cfg.ac_head
        feats = self.ac_net(x) if head == "net" else h.flatten(1) if head == "flat" else h.mean(dim=(2, 3))
        emotions = self.classify(feats)                      # (N, 7) logits, or (N, E) embeddings
        return out, emotions if self.proxies is None else F.normalize(emotions, dim=1)

    def emotion_proxies(self, y: torch.Tensor) -> torch.Tensor:
        """The unit embeddings (N, E) of the emotions `y` (N,) that D2D-CE pulls each face's embedding towards."""
        if self.proxies is None:
            raise ValueError(f"{self.cfg.name} has no emotion embeddings (ac_loss 'd2dce')")
        onehot = torch.eye(self.cfg.n_labels, device=y.device, dtype=self.proxies.weight.dtype)[y]
        return F.normalize(self.proxies(onehot), dim=1)

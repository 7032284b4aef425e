"""The discriminator: face (N, 1, 48, 48) -> one real/fake logit per face (N,); a conditional one also takes the
emotion of each face (N,) and adds a projection term; with an auxiliary-classifier head it also returns emotion
logits (N, 7)."""

from __future__ import annotations

import torch
from torch import nn
from torch.nn.utils.parametrizations import spectral_norm

from emogan.models.config import GANConfig
from emogan.models.init import keras_init

AC_HEADS = ("pooled", "flat", "net")
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


class Discriminator(nn.Module):
    def __init__(self, cfg: GANConfig):
        super().__init__()
        self.cfg = cfg
        sn = spectral_norm if cfg.d_spectral_norm else (lambda m: m)
        layers: list[nn.Module] = []
        cin, side = 1, 48
        for i, cout in enumerate(cfg.d_channels):            # each stage halves the side: 48 -> 24 -> 12
            layers.append(sn(keras_init(nn.Conv2d(cin, cout, 3, stride=2, padding=1))))
            # DCGAN leaves the first layer without BatchNorm: normalising raw pixels only hurts.
            if cfg.d_batchnorm and i > 0:
                layers.append(nn.BatchNorm2d(cout))
            layers.append(nn.LeakyReLU(cfg.leak))
            if cfg.d_dropout > 0:
                layers.append(nn.Dropout(cfg.d_dropout))
            cin, side = cout, side // 2
        self.features = nn.Sequential(*layers)
        self.fc = sn(keras_init(nn.Linear(cin * side * side, 1)))    # before spectral norm wraps the weight
        # Projection (Miyato & Koyama 2018): logit += <embed(y), mean-pooled features>, on the scale of the
        # real/fake term. A bias-free linear layer on the one-hot, not nn.Embedding: its backward is a matrix
        # product, safe inside a CUDA graph capture.
        self.embed = sn(nn.Linear(cfg.n_labels, cin, bias=False)) if cfg.conditional else None
        if cfg.d_projection_pool not in ("sum", "mean"):
            raise ValueError(f"unknown d_projection_pool {cfg.d_projection_pool!r}: expected 'sum' or 'mean'")
        if cfg.ac_weight > 0 and not cfg.conditional:
            raise ValueError("an auxiliary-classifier head (ac_weight > 0) needs a conditional model")
        # On features standardised over the batch, not spectrally normalised: under spectral norm D's pooled features
        # differ between faces by about 0.004, so a plain linear head on them stays at the class prior for hundreds
        # of steps (the pilots saw that); normalising them is what ReACGAN does for the same reason.
        self.classify = self.ac_net = None
        if cfg.ac_weight > 0:
            if cfg.ac_head not in AC_HEADS:
                raise ValueError(f"unknown ac_head {cfg.ac_head!r}: expected one of {', '.join(AC_HEADS)}")
            if cfg.ac_head == "net":
                self.ac_net = _emotion_net()
                width = AC_NET_CHANNELS[-1] * (48 // 2 ** len(AC_NET_CHANNELS)) ** 2     # 128 x 6 x 6
            else:
                width = cin * side * side if cfg.ac_head == "flat" else cin
            self.classify = nn.Sequential(nn.BatchNorm1d(width, affine=False),
                                          keras_init(nn.Linear(width, cfg.n_labels)))

    def forward(self, x: torch.Tensor, y: torch.Tensor | None = None,
                with_emotions: bool = False) -> torch.Tensor | tuple[torch.Tensor, torch.Tensor]:
        """Real/fake logits (N,); with_emotions (an AC head's model only): also its emotion logits (N, 7)."""
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
        return out, self.classify(feats)                     # (N,), (N, 7)

"""The emotion classifier network (a plain VGG-like CNN or a compact ResNet) and the config that rebuilds it."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import torch
import torch.nn.functional as F
from torch import nn

from emogan.emotions import EMOTIONS
from emogan.fields import from_fields, to_fields

ARCHS = ("plain", "resnet")


@dataclass(frozen=True)
class ClassifierConfig:
    # "plain": VGG-like stages of 3x3 conv+BN+ReLU at full resolution, max-pooling between stages. It keeps the
    # 40x40 face whole in the first layers, where expressions live in a few pixels (mouth corners, brows), and
    # trains fastest per accuracy point on the CPU. "resnet": a compact ResNet with a stride-2 stem.
    arch: str = "plain"
    # Stages at 40, 20, 10, 5 and 2 px: the width doubles as the size halves; the cheap last stage at 2x2
    # gives the pooled embedding its 512 features.
    widths: tuple[int, ...] = (32, 64, 128, 256, 512)
    # Convs per stage (plain) or residual blocks per stage (resnet).
    depths: tuple[int, ...] = (1, 1, 2, 2, 1)
    # The net looks at a centred input_size x input_size window of a 48x48 face; training shows it random
    # windows of that size (random-crop augmentation), judging shows it the centre.
    input_size: int = 40
    # resnet only: a k x k stride-2 stem (k in 2, 4, 6 maps 48 to exactly 24).
    stem_kernel: int = 4
    dropout: float = 0.2                    # on the pooled embedding, before the last linear layer
    # Logits are divided by this (fitted on validation after training), so that confidences are calibrated.
    temperature: float = 1.0
    num_classes: int = len(EMOTIONS)

    def __post_init__(self) -> None:
        if self.arch not in ARCHS:
            raise ValueError(f"classifier config: arch {self.arch!r} is not one of {', '.join(ARCHS)}")
        if len(self.widths) != len(self.depths) or not self.widths:
            raise ValueError(f"classifier config: widths {self.widths} and depths {self.depths} differ in length")
        if min(self.depths) < 1 or min(self.widths) < 1 or self.stem_kernel not in (2, 4, 6):
            raise ValueError(f"classifier config: widths and depths must be positive, stem_kernel 2, 4 or 6: {self}")
        if not 0 <= self.dropout < 1:
            raise ValueError(f"classifier config: dropout {self.dropout} must be in [0, 1)")
        if not 8 <= self.input_size <= 48:
            raise ValueError(f"classifier config: input_size {self.input_size} must be in 8..48")
        if not self.temperature > 0:
            raise ValueError(f"classifier config: temperature {self.temperature} must be positive")

    @property
    def embed_dim(self) -> int:
        """Size of the penultimate embedding that `features()` returns (the pooled last stage)."""
        return self.widths[-1]

    def to_dict(self) -> dict[str, Any]:
        return to_fields(self)

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> ClassifierConfig:
        """A config from its fields (as written by to_dict); fields left out keep their defaults."""
        return from_fields(cls, d, "classifier config")


def _conv_bn_relu(c_in: int, c_out: int) -> nn.Sequential:
    # One Sequential per conv+BN pair, so that fold_batchnorm finds it.
    return nn.Sequential(nn.Conv2d(c_in, c_out, 3, 1, 1, bias=False), nn.BatchNorm2d(c_out), nn.ReLU(inplace=True))


def _plain_body(cfg: ClassifierConfig) -> nn.Sequential:
    layers: list[nn.Module] = []
    c_in = 1
    for i, (width, depth) in enumerate(zip(cfg.widths, cfg.depths)):
        if i > 0:
            layers.append(nn.MaxPool2d(2))      # 40 -> 20 -> 10 -> 5
        for _ in range(depth):
            layers.append(_conv_bn_relu(c_in, width))
            c_in = width
    return nn.Sequential(*layers)


def _conv_bn(c_in: int, c_out: int, stride: int = 1) -> nn.Sequential:
    return nn.Sequential(nn.Conv2d(c_in, c_out, 3, stride, 1, bias=False), nn.BatchNorm2d(c_out))


class BasicBlock(nn.Module):
    """Two 3x3 conv+BN with a shortcut; a stride-2 block halves the size and changes the width."""

    def __init__(self, c_in: int, c_out: int, stride: int = 1) -> None:
        super().__init__()
        self.conv1 = _conv_bn(c_in, c_out, stride)
        self.conv2 = _conv_bn(c_out, c_out)
        # Zero-init the last BN scale: each block starts as the identity, which lets a deep-ish net train fast.
        nn.init.zeros_(self.conv2[1].weight)
        self.shortcut: nn.Module = nn.Identity()
        if stride != 1 or c_in != c_out:
            # A 2x2 stride-2 conv, not ResNet's strided 1x1, so the shortcut sees every pixel rather than one in
            # four; it can learn ResNet-D's average-pool + 1x1 and is one fused op (avg_pool2d is slow on the CPU).
            self.shortcut = nn.Sequential(nn.Conv2d(c_in, c_out, stride, stride, bias=False), nn.BatchNorm2d(c_out))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        # In place: BN's backward does not need its output, and on the CPU these element-wise passes over
        # 24x24 maps cost as much as a conv.
        y = self.conv2(F.relu(self.conv1(x), inplace=True))
        y += self.shortcut(x)
        return F.relu(y, inplace=True)


class EmotionNet(nn.Module):
    """Face (N, 1, 48, 48) in [-1, 1] -> emotion logits (N, 7); `embed` gives the pooled (N, D) features."""

    def __init__(self, config: ClassifierConfig | None = None) -> None:
        super().__init__()
        self.config = cfg = config or ClassifierConfig()
        if cfg.arch == "plain":
            self.stem: nn.Module = nn.Identity()
            self.blocks = _plain_body(cfg)
        else:
            k = cfg.stem_kernel
            self.stem = nn.Sequential(
                nn.Conv2d(1, cfg.widths[0], k, 2, (k - 2) // 2, bias=False), nn.BatchNorm2d(cfg.widths[0]),
                nn.ReLU(inplace=True),
            )
            blocks: list[nn.Module] = []
            c_in = cfg.widths[0]
            for i, (width, depth) in enumerate(zip(cfg.widths, cfg.depths)):
                for j in range(depth):
                    blocks.append(BasicBlock(c_in, width, stride=2 if (i > 0 and j == 0) else 1))
                    c_in = width
            self.blocks = nn.Sequential(*blocks)
        self.dropout = nn.Dropout(cfg.dropout)
        self.head = nn.Linear(cfg.embed_dim, cfg.num_classes)
        for m in self.modules():
            if isinstance(m, nn.Conv2d):
                nn.init.kaiming_normal_(m.weight, mode="fan_out", nonlinearity="relu")

    def _window(self, x: torch.Tensor) -> torch.Tensor:
        """The centred input_size window of a larger face (training passes windows of that size already)."""
        s, h, w = self.config.input_size, x.shape[-2], x.shape[-1]
        if h <= s and w <= s:
            return x
        top, left = max(0, (h - s) // 2), max(0, (w - s) // 2)
        return x[..., top:top + s, left:left + s]

    def embed(self, x: torch.Tensor) -> torch.Tensor:
        """The penultimate layer: global-average-pooled last stage, (N, D) with D = config.embed_dim."""
        return self.blocks(self.stem(self._window(x))).mean(dim=(2, 3))

    def logits(self, embedding: torch.Tensor) -> torch.Tensor:
        """Emotion logits of `embed`'s output (tempered: softmax of them is the calibrated confidence)."""
        return self.head(self.dropout(embedding)) / self.config.temperature

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.logits(self.embed(x))


@dataclass(frozen=True)
class EnsembleConfig:
    """Several trained nets judged as one: their logits averaged, their embeddings side by side."""
    members: tuple[ClassifierConfig, ...]

    def __post_init__(self) -> None:
        if len(self.members) < 2:
            raise ValueError(f"classifier ensemble: needs at least two members, got {len(self.members)}")
        if len({m.num_classes for m in self.members}) != 1:
            raise ValueError("classifier ensemble: members predict different numbers of classes")

    @property
    def embed_dim(self) -> int:
        return sum(m.embed_dim for m in self.members)

    @property
    def num_classes(self) -> int:
        return self.members[0].num_classes

    def to_dict(self) -> dict[str, Any]:
        return {"members": [m.to_dict() for m in self.members]}


def config_from_dict(d: dict[str, Any]) -> ClassifierConfig | EnsembleConfig:
    """The config a weights file records: one net's fields, or {"members": [...]} for an ensemble."""
    if isinstance(d, dict) and "members" in d:
        unknown = sorted(set(d) - {"members"})
        if unknown:
            raise ValueError(f"unknown classifier ensemble keys: {', '.join(unknown)}")
        return EnsembleConfig(tuple(ClassifierConfig.from_dict(m) for m in d["members"]))
    return ClassifierConfig.from_dict(d)


class EnsembleNet(nn.Module):
    """Averaged logits of several EmotionNets, written as ONE net with a linear head on the joined embeddings.

    mean_i(W_i e_i + b_i) = [W_1/k ... W_k/k] [e_1; ...; e_k] + mean_i b_i, so `embed` and `head` mean what they
    mean for a single net: everything that runs the head on stored features (the metrics) works unchanged, and
    the features for the distribution metrics are every member's view of the face."""

    def __init__(self, config: EnsembleConfig) -> None:
        super().__init__()
        self.config = config
        self.members = nn.ModuleList(EmotionNet(c) for c in config.members)
        self.head = nn.Linear(config.embed_dim, config.num_classes)

    @classmethod
    @torch.no_grad()
    def of(cls, nets: list[EmotionNet]) -> EnsembleNet:
        """The ensemble of trained nets (copied; eval mode), its head built from theirs."""
        ens = cls(EnsembleConfig(tuple(n.config for n in nets)))
        for mine, theirs in zip(ens.members, nets):
            mine.load_state_dict(theirs.state_dict())
        # Each member's own temperature goes into its share of the head, so the average is of calibrated logits.
        temps = [n.config.temperature for n in nets]
        ens.head.weight.copy_(torch.cat([n.head.weight / t for n, t in zip(nets, temps)], dim=1) / len(nets))
        ens.head.bias.copy_(torch.stack([n.head.bias / t for n, t in zip(nets, temps)]).mean(dim=0))
        return ens.eval()

    def embed(self, x: torch.Tensor) -> torch.Tensor:
        return torch.cat([m.embed(x) for m in self.members], dim=1)

    def logits(self, embedding: torch.Tensor) -> torch.Tensor:
        return self.head(embedding)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.logits(self.embed(x))


def build_net(config: ClassifierConfig | EnsembleConfig) -> nn.Module:
    """An untrained net of this config (its weights come from a file)."""
    return EnsembleNet(config) if isinstance(config, EnsembleConfig) else EmotionNet(config)


def count_macs(model: nn.Module, size: int = 48) -> int:
    """Multiply-accumulates of one forward pass for one face (convs and linear layers; BN/ReLU excluded)."""
    total = 0

    def hook(module: nn.Module, inputs: tuple[torch.Tensor, ...], output: torch.Tensor) -> None:
        nonlocal total
        if isinstance(module, nn.Conv2d):
            k = module.kernel_size[0] * module.kernel_size[1] * module.in_channels // module.groups
            total += output[0].numel() * k
        elif isinstance(module, nn.Linear):
            total += module.in_features * module.out_features

    handles = [m.register_forward_hook(hook) for m in model.modules() if isinstance(m, (nn.Conv2d, nn.Linear))]
    try:
        with torch.no_grad():
            was_training = model.training
            model.eval()
            model(torch.zeros(1, 1, size, size, device=next(model.parameters()).device))
            model.train(was_training)
    finally:
        for h in handles:
            h.remove()
    return total


@torch.no_grad()
def fold_batchnorm(model: nn.Module) -> nn.Module:
    """Fold every eval-mode BatchNorm2d into the Conv2d just before it (in place): same outputs, ~30% faster on CPU.

    Only for inference: the folded model has no BN statistics left to train."""
    for seq in [m for m in model.modules() if isinstance(m, nn.Sequential)]:
        for i in range(len(seq) - 1):
            conv, bn = seq[i], seq[i + 1]
            if not (isinstance(conv, nn.Conv2d) and isinstance(bn, nn.BatchNorm2d)):
                continue
            scale = bn.weight / torch.sqrt(bn.running_var + bn.eps)
            bias = bn.bias - bn.running_mean * scale
            if conv.bias is not None:
                bias = bias + conv.bias * scale
            fused = nn.Conv2d(conv.in_channels, conv.out_channels, conv.kernel_size, conv.stride, conv.padding,
                              conv.dilation, conv.groups, bias=True, device=conv.weight.device)
            fused.weight.copy_(conv.weight * scale.reshape(-1, 1, 1, 1))
            fused.bias.copy_(bias)
            seq[i], seq[i + 1] = fused, nn.Identity()
    return model

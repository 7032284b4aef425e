"""The emotion classifier network: a compact residual CNN for 48x48 faces, and the config that rebuilds it."""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from typing import Any

import torch
import torch.nn.functional as F
from torch import nn

from ..emotions import EMOTIONS


@dataclass(frozen=True)
class ClassifierConfig:
    # A single 4x4 stride-2 conv takes 48x48 straight to 24x24: full-resolution 3x3 convs with many channels are
    # what makes a VGG cost ~1 GFLOP/face, and a 2-core CPU has to judge 64 faces in under 50 ms. 32 filters over
    # 16 pixels are overcomplete, so this stem need not lose anything. Kernels 2, 4 or 6 (padding (k-2)/2)
    # map 48 to exactly 24.
    stem_kernel: int = 4
    # Stages at 24, 12, 6 and 3 px. Doubling the width whenever the size halves keeps every 3x3 conv at the
    # same cost (~5.3 M multiply-adds for 32 channels at 24x24), so no stage dominates the budget.
    widths: tuple[int, ...] = (32, 64, 128, 256)
    # Residual blocks per stage (a ResNet-10 shape, ~38 M multiply-adds/face). One more block at 6x6 measured
    # ~50 ms for 64 faces on the 2-core CPU: over budget (benchmarks/classifier_inference.py).
    depths: tuple[int, ...] = (1, 1, 1, 1)
    dropout: float = 0.2                    # on the pooled embedding, before the last linear layer
    num_classes: int = len(EMOTIONS)

    def __post_init__(self) -> None:
        if len(self.widths) != len(self.depths) or not self.widths:
            raise ValueError(f"classifier config: widths {self.widths} and depths {self.depths} differ in length")
        if min(self.depths) < 1 or min(self.widths) < 1 or self.stem_kernel not in (2, 4, 6):
            raise ValueError(f"classifier config: widths and depths must be positive, stem_kernel 2, 4 or 6: {self}")
        if not 0 <= self.dropout < 1:
            raise ValueError(f"classifier config: dropout {self.dropout} must be in [0, 1)")

    @property
    def embed_dim(self) -> int:
        """Size of the penultimate embedding that `features()` returns (the pooled last stage)."""
        return self.widths[-1]

    def to_dict(self) -> dict[str, Any]:
        d = dataclasses.asdict(self)
        d["widths"], d["depths"] = list(self.widths), list(self.depths)
        return d

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> "ClassifierConfig":
        """A config from its fields (as written by to_dict); fields left out keep their defaults."""
        known = {f.name for f in dataclasses.fields(cls)}
        unknown = sorted(set(d) - known)
        if unknown:
            raise ValueError(f"unknown classifier config keys: {', '.join(unknown)}")
        kw = dict(d)
        for key in ("widths", "depths"):
            if key in kw:
                kw[key] = tuple(int(c) for c in kw[key])
        return cls(**kw)


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
        k = cfg.stem_kernel
        self.stem = nn.Sequential(
            nn.Conv2d(1, cfg.widths[0], k, 2, (k - 2) // 2, bias=False), nn.BatchNorm2d(cfg.widths[0]),
            nn.ReLU(inplace=True),                                                      # (N, 32, 24, 24)
        )
        blocks: list[nn.Module] = []
        c_in = cfg.widths[0]
        for i, (width, depth) in enumerate(zip(cfg.widths, cfg.depths)):
            for j in range(depth):
                # (N, 32, 24, 24) -> (N, 64, 12, 12) -> (N, 128, 6, 6) -> (N, 256, 3, 3)
                blocks.append(BasicBlock(c_in, width, stride=2 if (i > 0 and j == 0) else 1))
                c_in = width
        self.blocks = nn.Sequential(*blocks)
        self.dropout = nn.Dropout(cfg.dropout)
        self.head = nn.Linear(cfg.embed_dim, cfg.num_classes)
        for m in self.modules():
            if isinstance(m, nn.Conv2d):
                nn.init.kaiming_normal_(m.weight, mode="fan_out", nonlinearity="relu")

    def embed(self, x: torch.Tensor) -> torch.Tensor:
        """The penultimate layer: global-average-pooled last stage, (N, D) with D = config.embed_dim."""
        return self.blocks(self.stem(x)).mean(dim=(2, 3))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.head(self.dropout(self.embed(x)))


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
    def of(cls, nets: list[EmotionNet]) -> "EnsembleNet":
        """The ensemble of trained nets (copied; eval mode), its head built from theirs."""
        ens = cls(EnsembleConfig(tuple(n.config for n in nets)))
        for mine, theirs in zip(ens.members, nets):
            mine.load_state_dict(theirs.state_dict())
        ens.head.weight.copy_(torch.cat([n.head.weight for n in nets], dim=1) / len(nets))
        ens.head.bias.copy_(torch.stack([n.head.bias for n in nets]).mean(dim=0))
        return ens.eval()

    def embed(self, x: torch.Tensor) -> torch.Tensor:
        return torch.cat([m.embed(x) for m in self.members], dim=1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.head(self.embed(x))


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

"""Keras's default initialisation, which the original project's models started from.

Glorot-uniform kernels keep the variance through a layer; PyTorch's defaults shrink it by about a third per
layer, which lets the biases rather than z set a generator's output when it has no BatchNorm.
"""

from __future__ import annotations

from torch import nn


def keras_init(module: nn.Module) -> nn.Module:
    """Glorot-uniform weights and zero biases for every Linear, Conv2d and ConvTranspose2d inside `module`.
    (Glorot depends on fan_in + fan_out only, so PyTorch's swapped fans for transposed convs do not matter.)"""
    for m in module.modules():
        if isinstance(m, (nn.Linear, nn.Conv2d, nn.ConvTranspose2d)):
            nn.init.xavier_uniform_(m.weight)
            if m.bias is not None:
                nn.init.zeros_(m.bias)
    return module

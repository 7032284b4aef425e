"""Keras's default initialisation, which the original project's models started from.

PyTorch's defaults (Kaiming-uniform with a = sqrt(5), uniform biases) shrink the signal by about a third per
layer, so without BatchNorm the generator's output is set by its biases rather than by z: every latent draws the
same face and M1 collapsed to one flat image within 50 iterations on its first run. Keras initialises kernels
with Glorot-uniform, which keeps the variance through a layer, and biases with zeros.
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

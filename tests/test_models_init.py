"""emogan/models/init.py: Keras's default initialisation, so that the generator's faces depend on z."""

import torch
from torch import nn

from emogan.models import build_discriminator, build_generator
from emogan.models.init import keras_init
from emogan.sampling import random_latents


def test_glorot_weights_and_zero_biases():
    conv = keras_init(nn.Conv2d(16, 32, 3))
    bound = (6 / (16 * 9 + 32 * 9)) ** 0.5          # Glorot-uniform: U(-b, b), b = sqrt(6 / (fan_in + fan_out))
    assert conv.weight.abs().max() <= bound and conv.weight.abs().max() > 0.9 * bound
    assert torch.count_nonzero(conv.bias) == 0


def test_every_model_layer_is_initialised_so():
    for name in ("M1", "M3", "M6", "M7"):
        for net in (build_generator(name), build_discriminator(name)):
            for m in net.modules():
                if isinstance(m, (nn.Linear, nn.Conv2d, nn.ConvTranspose2d)) and m.bias is not None:
                    assert torch.count_nonzero(m.bias) == 0, (name, m)


def test_m1_faces_depend_on_z_more_than_on_biases():
    """The failure this fixes: with PyTorch's defaults, M1's output varied by 0.01 across latents."""
    torch.manual_seed(0)
    G = build_generator("M1").eval()
    with torch.no_grad():
        faces = G(random_latents(64, 100, 0))
    assert faces.std(0).mean() > 0.04                 # about 0.065 with Glorot; 0.011 with PyTorch's defaults

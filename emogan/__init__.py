"""EmoGAN Explorer: train small GANs on FER2013 faces and see how they learn and fail."""

__version__ = "0.1.0"

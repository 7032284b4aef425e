"""Model variants built by name: `build(name_or_config) -> (G, D)`, with the registry of M1..M8."""

from __future__ import annotations

from ..errors import EmoganError
from .config import GANConfig
from .discriminator import Discriminator
from .generator import Generator
from .registry import ORIGINAL_SIX, REGISTRY, register

__all__ = ["GANConfig", "Generator", "Discriminator", "REGISTRY", "ORIGINAL_SIX", "register", "get_config",
           "build_generator", "build_discriminator", "model_names"]


def model_names() -> list[str]:
    return list(REGISTRY)


def get_config(name: str) -> GANConfig:
    try:
        return REGISTRY[name]
    except KeyError:
        raise EmoganError(f"unknown model {name!r}: expected one of {', '.join(REGISTRY)}") from None


def _config(cfg: str | GANConfig) -> GANConfig:
    return get_config(cfg) if isinstance(cfg, str) else cfg


def build_generator(cfg: str | GANConfig) -> Generator:
    return Generator(_config(cfg))


def build_discriminator(cfg: str | GANConfig) -> Discriminator:
    return Discriminator(_config(cfg))

"""Model variants built by name: `build_generator(name_or_config)`, `build_discriminator(...)`, and the registry."""

from __future__ import annotations

from typing import TYPE_CHECKING

from emogan.errors import EmoganError
from emogan.models.config import GANConfig
from emogan.models.registry import ORIGINAL_SIX, REGISTRY, register

if TYPE_CHECKING:
    from emogan.models.discriminator import Discriminator
    from emogan.models.generator import Generator

__all__ = ["GANConfig", "Generator", "Discriminator", "REGISTRY", "ORIGINAL_SIX", "register", "get_config",
           "build_generator", "build_discriminator", "model_names"]


def __getattr__(name: str) -> type:
    # The networks need torch; the registry alone (the explorer's run list) does not.
    if name == "Generator":
        from emogan.models.generator import Generator
        return Generator
    if name == "Discriminator":
        from emogan.models.discriminator import Discriminator
        return Discriminator
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


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
    from emogan.models.generator import Generator
    return Generator(_config(cfg))


def build_discriminator(cfg: str | GANConfig) -> Discriminator:
    from emogan.models.discriminator import Discriminator
    return Discriminator(_config(cfg))

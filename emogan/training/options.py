"""TrainConfig: the options of one training, said once, from the CLI (or a test, or a UI) down to the run config."""

from __future__ import annotations

from dataclasses import dataclass, replace
from enum import Enum
from typing import Any

from emogan.fields import from_fields, to_fields
from emogan.original import ORIGINAL_ITERATIONS


@dataclass(frozen=True)
class TrainConfig:
    emotion: str = "all"                      # "all", or train on one emotion's faces only
    iters: int = 5000                         # the original's length
    batch: int = 64
    snapshot_every: int = 50                  # sample grid (and weights) every N iterations ...
    snapshot_at: tuple[int, ...] = ORIGINAL_ITERATIONS   # ... and at the iterations the original saved faces
    weights_every: int | None = None          # thin the weights (default: at every snapshot)
    latent_seed: int = 0                      # the fixed latents of the sample grids: the same for every run
    n_fixed: int = 64
    device: str = "auto"                      # "auto", "cpu", "cuda" or "cuda:N"
    resume: bool = False                      # continue the run folder from its last snapshot
    amp: bool | None = None                   # bf16 autocast + channels_last (default: where the device has native bf16)
    cuda_graphs: bool | None = None           # replay `block` iterations as one CUDA graph (default: on CUDA)
    block: int = 10
    # How often the full resume state is written (default: every snapshot on the CPU, every 500 iterations on CUDA,
    # where copying it off the GPU every 50 iterations would cost more than the training).
    state_every: int | None = None
    command: tuple[str, ...] | None = None    # recorded in the run config (default: this process's argv)

    def to_dict(self) -> dict[str, Any]:
        return to_fields(self)

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> TrainConfig:
        return from_fields(cls, d, "training options")

    def replace(self, **changes: Any) -> TrainConfig:
        return replace(self, **changes)


class RunStatus(str, Enum):
    """How a run stands: "running" until it ends "done", "interrupted" (resumable) or "diverged". A str, so the
    index file and the CLI's lines keep the plain words."""
    RUNNING = "running"
    DONE = "done"
    INTERRUPTED = "interrupted"
    DIVERGED = "diverged"

    def __str__(self) -> str:
        return self.value

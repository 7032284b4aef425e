"""What the explorer's mode-collapse galleries show: each generated face's closest training faces, and the
closest pairs among generated faces (the near-duplicates behind duplicate_rate), with RMS pixel distances."""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np
import torch

from emogan.data import FaceSet, load_faces
from emogan.errors import DataError
from emogan.metrics.pixels import NEAR_IDENTICAL, closest_pairs, nearest, pixel_vectors
from emogan.runs.store import Run


def nearest_training(images: np.ndarray, train: np.ndarray | torch.Tensor, k: int = 3,
                     device: torch.device | str = "cpu") -> tuple[np.ndarray, np.ndarray]:
    """For each face, its k closest training faces: (indices (N, k), RMS distances (N, k)), closest first.
    `train` may be uint8 faces or their precomputed pixel_vectors (faster when reused)."""
    t = train if isinstance(train, torch.Tensor) else pixel_vectors(train, device)
    return nearest(pixel_vectors(images, t.device), t, k=k)


def closest_sample_pairs(images: np.ndarray, k: int = 8,
                         device: torch.device | str = "cpu") -> tuple[np.ndarray, np.ndarray]:
    """The k most alike pairs among the faces: (pairs (k, 2), RMS distances (k,)); near-identical below
    `NEAR_IDENTICAL`."""
    return closest_pairs(pixel_vectors(images, device), k)


def data_path(run: Run, data: str | os.PathLike | None = None) -> Path:
    """Where a run's faces are: `data` if given, else $EMOGAN_DATA, else the source its config records."""
    chosen = data or os.environ.get("EMOGAN_DATA") or (run.config.get("data") or {}).get("source")
    if not chosen:
        raise DataError(f"{run.path}: its config records no data source; pass --data PATH or set EMOGAN_DATA")
    return Path(chosen)


def run_faces(run: Run, split: str, data: str | os.PathLike | None = None, cache_dir: Path | None = None) -> FaceSet:
    """The faces of `split` (train or validation) of the run's dataset, restricted to the run's emotion."""
    return load_faces(data_path(run, data), split=split, emotion=run.emotion, cache_dir=cache_dir)


__all__ = ["NEAR_IDENTICAL", "closest_sample_pairs", "data_path", "nearest_training", "run_faces"]

"""What the explorer's mode-collapse galleries show: each generated face's closest training faces, and the
closest pairs among generated faces (the near-duplicates behind duplicate_rate), with RMS pixel distances."""

from __future__ import annotations

import os
from dataclasses import dataclass
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


@dataclass(frozen=True)
class Tiles:
    """Faces laid out for one gallery image, with a label under each face and the figures its caption states."""
    images: np.ndarray          # (M, 48, 48) uint8
    labels: list[str]
    ncols: int
    near: int                   # faces (or pairs) closer than NEAR_IDENTICAL
    median: float               # median nearest distance (nearest-training gallery), or the closest pair's


def nearest_training_tiles(faces: np.ndarray, train_images: np.ndarray, train_pixels: torch.Tensor, k: int,
                           iteration: int) -> Tiles:
    """Each face followed by its k closest training faces, labelled with their RMS distances; two faces a row."""
    idx, dist = nearest_training(faces, train_pixels, k=k)
    images = np.concatenate([faces[:, None], train_images[idx]], axis=1).reshape(-1, 48, 48)
    labels = [t for i in range(len(faces)) for t in [f"it {iteration}"] + [f"{d:.3f}" for d in dist[i]]]
    return Tiles(images, labels, 2 * (k + 1), int((dist[:, 0] < NEAR_IDENTICAL).sum()), float(np.median(dist[:, 0])))


def closest_pair_tiles(faces: np.ndarray, k: int) -> Tiles:
    """The k most alike pairs side by side, four pairs a row; '*' marks a near-identical pair."""
    pairs, dist = closest_sample_pairs(faces, k=k)
    labels = [t for (i, j), d in zip(pairs, dist)
              for t in (f"#{i}", f"#{j} {d:.3f}" + ("*" if d < NEAR_IDENTICAL else ""))]
    return Tiles(faces[pairs.reshape(-1)], labels, 8, int((dist < NEAR_IDENTICAL).sum()),
                 float(dist[0]) if len(dist) else float("nan"))

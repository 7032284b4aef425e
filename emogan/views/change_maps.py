"""Change maps: how far each fixed-latent face moved since the run's previous snapshot, per pixel, from stored grids.

A generator hopping between modes redraws most faces at once, so its maps light up together; no weights needed."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from emogan.runs.store import Run
from emogan.views.gallery import change, heat, previous_snapshot


def since_previous(run: Run, iteration: int, n: int | None = None) -> tuple[int, np.ndarray] | None:
    """(the previous snapshot, |change| maps (n, 48, 48) uint8) of the first n faces at snapshot `iteration`;
    None at the first snapshot, which has nothing to compare with."""
    prev = previous_snapshot(run.snapshot_iterations(), iteration)
    if prev is None:
        return None
    return prev, change(run.grid(prev)[:n], run.grid(iteration)[:n])


def strip_changes(run: Run, iterations: Sequence[int], frames: np.ndarray) -> tuple[np.ndarray, list[str]]:
    """Heat images (T, n, 48, 48, 3) of an evolution strip's columns (`frames` (T, n, 48, 48), the faces at each of
    `iterations`), each column's change since its own previous snapshot, and the column titles ('900..950'). The
    first snapshot has no previous one: its column is all dark, titled 'first'."""
    its = run.snapshot_iterations()
    maps, titles = [], []
    for it, faces in zip(iterations, frames):
        prev = previous_snapshot(its, it)
        diff = change(run.grid(prev)[:len(faces)], faces) if prev is not None else np.zeros_like(faces)
        maps.append(heat(diff))
        titles.append(f"{prev}..{it}" if prev is not None else "first")
    return np.stack(maps), titles

"""A Real-or-fake round: faces drawn with equal odds from real faces and from runs' faces, none twice, every one
encoded alike, and the answer lines the viewer's clicks give (stored by emogan.runs.answers)."""

from __future__ import annotations

import os
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from emogan.data import face_names, load_faces
from emogan.errors import DataError, first_line
from emogan.runs.answers import answer_line
from emogan.views.gallery import compose, png_bytes

ROUND = 20           # faces per round: long enough for a score, short enough to stay attentive
SCALE = 4            # every face is shown 48 -> 192 px, nearest neighbour, whatever its source
REAL_SPLIT = "validation"   # faces no generator trained on
DATA_HINT = "start the explorer with `-- --data DIR` (FER2013 with a validation/ folder, or fer2013.csv) or set EMOGAN_DATA"


@dataclass(frozen=True)
class FacePool:
    """Faces one source can give a round: real ones (no run) or one run's at one snapshot."""
    ids: tuple[str, ...]
    images: np.ndarray                  # (N, 48, 48) uint8
    run: str | None = None
    iteration: int | None = None

    @property
    def truth(self) -> str:
        return "real" if self.run is None else "fake"


def real_pool(images: np.ndarray, names: Sequence[str]) -> FacePool:
    return FacePool(tuple(names), np.asarray(images, dtype=np.uint8))


def grid_pool(run: str, iteration: int, images: np.ndarray) -> FacePool:
    """The faces of the run's stored grid at the snapshot (its fixed latents): a snapshot without weights has only
    these."""
    return FacePool(tuple(f"{run}/{iteration}/grid/{i}" for i in range(len(images))), np.asarray(images, np.uint8),
                    run, int(iteration))


def sampled_pool(run: str, iteration: int, seed: int, images: np.ndarray) -> FacePool:
    """Faces the run's generator drew at the snapshot from fresh_latents(seed): new faces every round."""
    return FacePool(tuple(f"{run}/{iteration}/z{seed}/{i}" for i in range(len(images))), np.asarray(images, np.uint8),
                    run, int(iteration))


def fresh_latents(n: int, z_dim: int, seed: int, conditional: bool) -> tuple[np.ndarray, np.ndarray | None]:
    """n new latents (and, for a conditional model, emotions drawn as often as the training faces show them, so its
    faces mix emotions as real ones do)."""
    z = np.random.default_rng(seed).standard_normal((n, z_dim)).astype(np.float32)
    if not conditional:
        return z, None
    from emogan.sampling import prior_labels
    return z, prior_labels(n, seed)


def real_source(data: str | None, recorded: Sequence[str | None] = ()) -> Path:
    """Where real faces are: `data` (--data or $EMOGAN_DATA), else the first data source a selected run recorded that
    still exists; a DataError saying what to pass when there is none."""
    for chosen in (data or os.environ.get("EMOGAN_DATA"), *recorded):
        if chosen and Path(chosen).expanduser().exists():
            return Path(chosen).expanduser()
    if data:
        raise DataError(f"No FER2013 found at {data}: {DATA_HINT}")
    raise DataError(f"No real faces to mix in: {DATA_HINT}")


def load_real(source: str | os.PathLike, emotion: str = "all") -> FacePool:
    """The real validation faces of `emotion` (that of the runs compared: a happy-only model is judged among happy
    faces), named by their files."""
    try:
        faces = load_faces(source, REAL_SPLIT, emotion=emotion)
    except DataError as e:
        raise DataError(f"{first_line(e)}; for real faces, {DATA_HINT}") from None
    return real_pool(faces.images, face_names(faces))


def round_emotion(emotions: Sequence[str]) -> str:
    """The emotion the round's real faces show: the runs' own when they share one, else all."""
    distinct = set(emotions)
    return distinct.pop() if len(distinct) == 1 else "all"


@dataclass(frozen=True)
class Face:
    id: str
    truth: str               # "real" | "fake"
    run: str | None
    iteration: int | None
    image: np.ndarray        # (48, 48) uint8


def draw_faces(real: FacePool, fakes: Sequence[FacePool], n: int = ROUND,
               rng: np.random.Generator | None = None) -> list[Face]:
    """Up to n faces: each one real or generated on a fair coin, a generated one from a run picked with equal odds
    among those with faces left, and no face twice. When the coin picks a side with no face left the round ends
    there, shorter: topping up from the other side would tell the viewer what the last faces are."""
    rng = rng if rng is not None else np.random.default_rng()
    left = {id(p): list(rng.permutation(len(p.ids))) for p in (real, *fakes)}
    seen: set[str] = set()
    out: list[Face] = []
    while len(out) < n:
        if rng.random() < 0.5:
            pool = real
        else:
            live = [p for p in fakes if left[id(p)]]
            if not live:
                break
            pool = live[int(rng.integers(len(live)))]
        if not left[id(pool)]:
            break
        i = int(left[id(pool)].pop())
        if pool.ids[i] in seen:             # two pools naming one face (a run selected twice): show it once
            continue
        seen.add(pool.ids[i])
        out.append(Face(pool.ids[i], pool.truth, pool.run, pool.iteration, pool.images[i]))
    return out


def face_png(image: np.ndarray) -> bytes:
    """One face as the viewer sees it: the same upscaling and PNG encoding for real and generated faces, no border,
    no text, no metadata."""
    return png_bytes(compose(np.asarray(image, dtype=np.uint8)[None], 1, scale=SCALE, pad=0))


@dataclass
class Round:
    """A round in progress: its faces, the snapshots it mixed in, and the answers so far."""
    faces: list[Face]
    pool: tuple[tuple[str, int], ...]
    answers: list[str] = field(default_factory=list)
    lines: list[dict[str, Any]] = field(default_factory=list)

    @property
    def done(self) -> bool:
        return len(self.answers) >= len(self.faces)

    @property
    def current(self) -> Face | None:
        return None if self.done else self.faces[len(self.answers)]

    def answer(self, answer: str, position: int) -> dict[str, Any] | None:
        """Record the answer to face number `position` and return its line; None for a click on a face already
        answered (a double click, or a stale page)."""
        face = self.current
        if face is None or position != len(self.answers):
            return None
        line = answer_line(run=face.run, iteration=face.iteration, face=face.id, answer=answer, truth=face.truth,
                           pool=self.pool)
        self.answers.append(answer)
        self.lines.append(line)
        return line


def new_round(real: FacePool, fakes: Sequence[FacePool], n: int = ROUND,
              rng: np.random.Generator | None = None) -> Round:
    return Round(draw_faces(real, fakes, n, rng), tuple(sorted({(p.run, int(p.iteration)) for p in fakes})))

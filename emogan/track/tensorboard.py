"""TensorBoard event files read into run folders, with the `tensorboard` package's own reader: scalars become loss
rows (mapped to our columns by name), and every step of an image tag (48x48 faces, one or a grid) a snapshot.

Each folder under LOGDIR that holds event files is one TensorBoard run, and becomes one run folder."""

from __future__ import annotations

import io
import math
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

import numpy as np
from PIL import Image, UnidentifiedImageError
from tensorboard.backend.event_processing.event_accumulator import IMAGES, SCALARS, EventAccumulator

from emogan.errors import DataError, RunError, first_line
from emogan.images import make_grid
from emogan.runs.lock import TRAIN_LOCK, FolderLock
from emogan.runs.paths import check_name, resolve_run_path
from emogan.runs.store import CONFIG, RUN_FORMAT, RunWriter
from emogan.track.latents import SHARED, draw

COLUMNS = ("loss_D", "loss_G", "D_x", "D_G_z")
# Tag names each column is found under, compared without case or punctuation ("Loss/D" is "lossd").
NAMES: dict[str, tuple[str, ...]] = {
    "loss_D": ("lossd", "dloss", "errd", "lossdiscriminator", "discriminatorloss", "lossdis", "disloss"),
    "loss_G": ("lossg", "gloss", "errg", "lossgenerator", "generatorloss", "lossgen", "genloss"),
    "D_x": ("dx", "dreal", "drealmean", "realscore", "scorereal"),
    "D_G_z": ("dgz", "dgz1", "dfake", "dfakemean", "fakescore", "scorefake"),
}
IMAGE_HINTS = ("fake", "generat", "sample", "gen")      # which image tag holds the generator's faces, given several
PADDINGS = (0, 2)       # torch.utils.tensorboard tiles without padding, torchvision's make_grid with 2 px
TILE = 48
MAX_GRID = SHARED.n_fixed


def _key(tag: str) -> str:
    return re.sub(r"[^a-z0-9]", "", tag.lower())


def parse_map(text: str | None) -> dict[str, str]:
    """'loss_D=Loss/D,loss_G=Loss/G' -> {"loss_D": "Loss/D", ...}; a column we do not log is refused."""
    out: dict[str, str] = {}
    for part in (text or "").split(","):
        if not part.strip():
            continue
        column, sep, tag = part.partition("=")
        column, tag = column.strip(), tag.strip()
        if not sep or not tag:
            raise DataError(f"--map {part!r}: expected COLUMN=TAG, e.g. loss_D=Loss/D")
        if column not in COLUMNS:
            raise DataError(f"--map {part!r}: {column!r} is not one of our columns ({', '.join(COLUMNS)})")
        out[column] = tag
    return out


def event_folders(logdir: Path) -> list[Path]:
    """Every folder under logdir (itself included) holding TensorBoard event files, in order."""
    if not logdir.is_dir():
        raise DataError(f"{logdir}: no such log folder")
    found = sorted({p.parent for p in logdir.rglob("*tfevents*") if p.is_file()})
    if not found:
        raise DataError(f"{logdir}: holds no TensorBoard event files (*tfevents*)")
    return found


@dataclass
class Imported:
    """One TensorBoard run as rows and snapshots, ready to be written."""
    rows: list[dict[str, float]]
    extra: list[dict[str, Any]]
    faces: dict[int, np.ndarray]          # step -> uint8 (n, 48, 48)
    tags: dict[str, str]                  # our column -> the tag it came from
    image_tag: str | None
    skipped: list[str] = field(default_factory=list)


def _mapped(scalar_tags: list[str], given: Mapping[str, str], where: Path) -> dict[str, str]:
    tags: dict[str, str] = {}
    for column in COLUMNS:
        if column in given:
            if given[column] not in scalar_tags:
                raise DataError(f"{where}: no scalar tag {given[column]!r} for {column} (tags: "
                                f"{', '.join(scalar_tags) or 'none'})")
            tags[column] = given[column]
            continue
        hits = [t for t in scalar_tags if _key(t) in NAMES[column] or _key(t.rsplit("/", 1)[-1]) in NAMES[column]
                and "/" in t and _key(t.split("/", 1)[0]) in ("loss", "losses", "train", "gan")]
        if len(hits) > 1:
            raise DataError(f"{where}: several tags could be {column} ({', '.join(hits)}); pick one with "
                            f"--map {column}=TAG")
        if hits:
            tags[column] = hits[0]
    for column in ("loss_D", "loss_G"):
        if column not in tags:
            raise DataError(f"{where}: no scalar tag found for {column} (tags: {', '.join(scalar_tags) or 'none'}); "
                            f"name it with --map {column}=TAG")
    return tags


def _faces(data: bytes, where: str) -> np.ndarray:
    """An image event as uint8 faces: one 48x48 face, or a grid of them with 0 or 2 px padding."""
    try:
        with Image.open(io.BytesIO(data)) as im:
            arr = np.asarray(im.convert("L"))
    except (UnidentifiedImageError, OSError) as e:
        raise DataError(f"{where}: not a readable image ({first_line(e)})") from None
    h, w = arr.shape
    for pad in PADDINGS:
        rows, cols = (h - pad) / (TILE + pad), (w - pad) / (TILE + pad)
        if pad == 0:
            rows, cols = h / TILE, w / TILE
        if rows.is_integer() and cols.is_integer() and rows >= 1 and cols >= 1:
            rows, cols, step = int(rows), int(cols), TILE + pad
            return np.stack([arr[pad + r * step: pad + r * step + TILE, pad + c * step: pad + c * step + TILE]
                             for r in range(rows) for c in range(cols)])
    raise DataError(f"{where}: an image of {w}x{h} px is not 48x48 faces (one, or a grid with 0 or 2 px padding)")


def read_events(folder: Path, given: Mapping[str, str] | None = None, image_tag: str | None = None) -> Imported:
    """The scalars and images of one TensorBoard run (every event file in `folder`)."""
    acc = EventAccumulator(str(folder), size_guidance={SCALARS: 0, IMAGES: 0})
    try:
        acc.Reload()
    except Exception as e:  # noqa: BLE001 - the reader's own errors (a damaged record) are one line here
        raise DataError(f"{folder}: TensorBoard cannot read its event files ({first_line(e)})") from None
    found = acc.Tags()
    scalar_tags, image_tags = list(found.get("scalars", [])), list(found.get("images", []))
    tags = _mapped(scalar_tags, dict(given or {}), folder)
    values: dict[str, dict[int, float]] = {t: {e.step: float(e.value) for e in acc.Scalars(t)} for t in scalar_tags}
    times = {e.step: e.wall_time for t in (tags["loss_D"], tags["loss_G"]) for e in acc.Scalars(t)}
    steps = sorted(set(values[tags["loss_D"]]) & set(values[tags["loss_G"]]))
    if not steps:
        raise DataError(f"{folder}: {tags['loss_D']} and {tags['loss_G']} are never logged at the same step")
    t0 = min(times[s] for s in steps)
    rows = [{"iteration": s, **{c: values[tags[c]].get(s, math.nan) if c in tags else math.nan for c in COLUMNS},
             "seconds": times[s] - t0} for s in steps]
    others = [t for t in scalar_tags if t not in tags.values()]
    extra = [{"iteration": s, **{t: values[t][s] for t in others if s in values[t]}} for s in steps]
    extra = [e for e in extra if len(e) > 1]

    chosen = _image_tag(image_tags, image_tag, folder)
    faces: dict[int, np.ndarray] = {}
    if chosen is not None:
        for event in acc.Images(chosen):
            faces[int(event.step)] = _faces(event.encoded_image_string, f"{folder}: image {chosen!r} at step "
                                                                          f"{event.step}")
    return Imported(rows, extra, faces, tags, chosen)


def _image_tag(image_tags: list[str], asked: str | None, folder: Path) -> str | None:
    if asked is not None:
        if asked not in image_tags:
            raise DataError(f"{folder}: no image tag {asked!r} (image tags: {', '.join(image_tags) or 'none'})")
        return asked
    if len(image_tags) <= 1:
        return image_tags[0] if image_tags else None
    for hint in IMAGE_HINTS:            # by the tag's last part: "samples/fake" over "samples/real"
        hinted = [t for t in image_tags if hint in t.lower().rsplit("/", 1)[-1]]
        if len(hinted) == 1:
            return hinted[0]
    raise DataError(f"{folder}: several image tags ({', '.join(image_tags)}); pick the generator's with --images TAG")


def face_count(faces: dict[int, np.ndarray]) -> int:
    """Faces per snapshot: the tiles of the smallest grid, without the trailing blank tiles a grid fills in with
    (torch's make_grid pads the last row with black)."""
    if not faces:
        return 0
    n = min(len(f) for f in faces.values())
    blank = [f[:n].reshape(n, -1).max(axis=1) == 0 for f in faces.values()]
    while n > 1 and all(b[n - 1] for b in blank):
        n -= 1
    return min(n, MAX_GRID)


def write_run(imported: Imported, root: Path, name: str, source: Path, *, model: str | None = None,
              emotion: str = "all") -> Path:
    """The imported run as a run folder root/name (refused if one exists)."""
    check_name(name)
    run_dir = resolve_run_path(root, name)
    if (run_dir / CONFIG).exists():
        raise RunError(f"{run_dir}: a run already exists here; import into another --name or remove it first")
    run_dir.mkdir(parents=True, exist_ok=True)
    with FolderLock(run_dir, TRAIN_LOCK, "written"):
        n = face_count(imported.faces)
        last = max([r["iteration"] for r in imported.rows] + list(imported.faces))
        config = {
            "format": RUN_FORMAT, "name": name, "model": model or name,
            "model_config": {"name": model or name, "summary": f"imported from TensorBoard event files in {source}",
                             "z_dim": 100, "conditional": False},
            "emotion": emotion, "data": {"source": "", "split": "", "content_hash": "", "n_images": None},
            "seed": None, "iters": int(last), "n_fixed": max(n, 1), "grid_n": max(n, 1),
            "framework": "tensorboard", "paired_latents": False,
            # The faces came with the event files; the latents they were drawn from are not known.
            "latents": "unknown",
            "imported": {"from": str(source), "tags": imported.tags, "images": imported.image_tag,
                         "when": datetime.now(timezone.utc).isoformat(timespec="seconds")},
        }
        writer = RunWriter(run_dir)
        writer.create(config, draw(max(n, 1), 100, "normal", SHARED.latent_seed))
        writer.append_losses(imported.rows)
        writer.append_scalars(imported.extra)
        entries = [writer.write_snapshot_files(step, make_grid(faces[:n], ncols=8), None)
                   for step, faces in sorted(imported.faces.items()) if n]
        writer.write_index(entries, {"state": "done", "iteration": int(last), "message": ""})
    return run_dir

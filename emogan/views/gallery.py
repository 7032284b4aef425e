"""Faces from the stored sample grids: several runs at one iteration, evolution strips, change since the last snapshot.

The grids hold G(fixed latents) at every snapshot, so nothing here needs a generator or its weights."""

from __future__ import annotations

import io
from collections.abc import Mapping, Sequence
from functools import lru_cache

import numpy as np
import pandas as pd
from PIL import Image, ImageDraw, ImageFont

from emogan.errors import RunError
from emogan.images import grid_shape
from emogan.runs.store import Run, nearest

LABEL_PX = 14        # height of a text band under each face, in pixels of the unscaled tile
HEADER_PX = 16       # height of the band of column titles above a strip


@lru_cache(maxsize=4)
def font(px: int) -> ImageFont.ImageFont | ImageFont.FreeTypeFont:
    return ImageFont.load_default(size=px)


def snap_note(used: int | None, wanted: int, what: str = "snapshot") -> str:
    """'' when `used` is what was asked for, else the one-line note a page shows ('uses iteration 950, ...')."""
    if used is None or used == wanted:
        return ""
    return f"uses iteration {used}, the nearest {what} to {wanted}"


def faces_at(run: Run, iteration: int, n: int | None = None) -> tuple[int, np.ndarray]:
    """The run's snapshot nearest to `iteration` and its first n fixed-latent faces (n, 48, 48) uint8."""
    its = run.snapshot_iterations()
    used = nearest(its, iteration)
    if used is None:
        raise RunError(f"{run.path}: has no snapshots yet")
    faces = run.grid(used)
    return used, faces[:n] if n is not None else faces


def evolution(run: Run, iterations: Sequence[int], n: int) -> tuple[list[int], np.ndarray]:
    """Snapshots nearest to each wanted iteration (duplicates dropped, in order) and their first n faces (T, n, 48, 48)."""
    its = run.snapshot_iterations()
    used: list[int] = []
    for it in iterations:
        u = nearest(its, it)
        if u is not None and u not in used:
            used.append(u)
    if not used:
        raise RunError(f"{run.path}: has no snapshots yet")
    used.sort()
    return used, np.stack([run.grid(it)[:n] for it in used])


def previous_snapshot(iterations: Sequence[int], iteration: int) -> int | None:
    """The last snapshot before `iteration`, or None for the first one."""
    earlier = [it for it in iterations if it < iteration]
    return max(earlier) if earlier else None


def change(before: np.ndarray, after: np.ndarray) -> np.ndarray:
    """Per-pixel absolute change (N, 48, 48) uint8 between the same latents' faces at two snapshots."""
    return np.abs(after.astype(np.int16) - before.astype(np.int16)).astype(np.uint8)


def change_profile(grids: Mapping[int, np.ndarray | None]) -> pd.DataFrame:
    """Mean absolute change (grey levels) of the fixed-latent faces from each snapshot to the next.

    A generator that hops between modes redraws most faces at once: its profile spikes where a steadily learning one
    stays low. A missing grid (None) gives NaN for its own row and the next."""
    its = sorted(grids)
    rows = []
    for prev, it in zip([None] + its[:-1], its):
        a, b = (grids[prev] if prev is not None else None), grids[it]
        value = float(change(a, b).mean()) if a is not None and b is not None and a.shape == b.shape else np.nan
        rows.append((it, value))
    return pd.DataFrame(rows, columns=["iteration", "change"]).astype({"iteration": "int64", "change": "float64"})


def run_change_profile(run: Run) -> pd.DataFrame:
    """`change_profile` over every snapshot of a run; a damaged grid counts as missing rather than failing all."""
    grids: dict[int, np.ndarray | None] = {}
    for it in run.snapshot_iterations():
        try:
            grids[it] = run.grid(it)
        except RunError:
            grids[it] = None
    return change_profile(grids)


# A dark-to-bright ramp (black, purple, orange, pale yellow) like matplotlib's "magma": small changes stay dark.
_RAMP_AT = np.array([0.0, 0.35, 0.7, 1.0])
_RAMP_RGB = np.array([[0, 0, 4], [120, 28, 109], [237, 105, 37], [252, 253, 191]], dtype=np.float64)


def heat(diff: np.ndarray, vmax: float = 96.0) -> np.ndarray:
    """uint8 change maps (N, H, W) as RGB heat images (N, H, W, 3); `vmax` grey levels and more are brightest."""
    x = np.clip(diff.astype(np.float64) / vmax, 0.0, 1.0)
    lut = np.stack([np.interp(np.linspace(0, 1, 256), _RAMP_AT, _RAMP_RGB[:, c]) for c in range(3)], axis=1)
    return lut.astype(np.uint8)[np.round(x * 255).astype(np.uint8)]


def compose(images: np.ndarray, ncols: int | None = None, *, scale: int = 1, pad: int = 2,
            labels: Sequence[str] | None = None, col_labels: Sequence[str] | None = None,
            fill: int = 255) -> Image.Image:
    """Tile faces (N, H, W) grey or (N, H, W, 3) RGB row-major into one image, `scale`x larger (nearest neighbour),
    with an optional text band under each face (`labels`) and titles above the columns (`col_labels`)."""
    images = np.asarray(images)
    if images.ndim not in (3, 4):
        raise ValueError(f"faces must be (N, H, W) or (N, H, W, 3), got shape {images.shape}")
    n, h, w = images.shape[:3]
    rows, cols = grid_shape(max(n, 1), ncols)
    if scale > 1:
        images = images.repeat(scale, axis=1).repeat(scale, axis=2)
        h, w = h * scale, w * scale
    band = LABEL_PX * max(scale, 1) if labels is not None else 0
    head = HEADER_PX * max(scale, 1) if col_labels is not None else 0
    cell_h, cell_w = h + band + pad, w + pad
    shape = (head + rows * cell_h - pad, cols * cell_w - pad) + images.shape[3:]
    canvas = np.full(shape, fill, dtype=np.uint8)
    for i in range(n):
        r, c = divmod(i, cols)
        y, x = head + r * cell_h, c * cell_w
        canvas[y:y + h, x:x + w] = images[i]
    im = Image.fromarray(canvas, mode="RGB" if canvas.ndim == 3 else "L")
    if labels is None and col_labels is None:
        return im
    draw = ImageDraw.Draw(im)
    ink = (40, 40, 40) if canvas.ndim == 3 else 40
    if labels is not None:
        small = font(max(9, int(LABEL_PX * scale * 0.75)))
        for i, text in enumerate(list(labels)[:n]):
            r, c = divmod(i, cols)
            draw.text((c * cell_w + w / 2, head + r * cell_h + h + band / 2), str(text), fill=ink, font=small,
                      anchor="mm")
    if col_labels is not None:
        title = font(max(9, int(HEADER_PX * scale * 0.7)))
        for c, text in enumerate(list(col_labels)[:cols]):
            draw.text((c * cell_w + w / 2, head / 2), str(text), fill=ink, font=title, anchor="mm")
    return im


def strip(frames: np.ndarray, col_labels: Sequence[str] | None = None, **kw) -> Image.Image:
    """Frames (T, K, H, W[, 3]) as K rows of T columns: a column per step (iteration, t), a row per latent."""
    frames = np.asarray(frames)
    t, k = frames.shape[:2]
    order = frames.swapaxes(0, 1).reshape((t * k,) + frames.shape[2:])
    return compose(order, ncols=t, col_labels=col_labels, **kw)


def png_bytes(image: Image.Image) -> bytes:
    """PNG bytes with light compression: these images are made per click, and decoding speed beats file size."""
    buf = io.BytesIO()
    image.save(buf, format="PNG", compress_level=1)
    return buf.getvalue()


def emotion_labels(emotions: Sequence[str], confidences: Sequence[float]) -> list[str]:
    """Short captions for a face's predicted emotion: 'hap 83%' fits under a 48-pixel face."""
    return [f"{str(e)[:3]} {float(c) * 100:.0f}%" for e, c in zip(emotions, confidences)]


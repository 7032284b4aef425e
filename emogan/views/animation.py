"""The timeline outside the app: runs' faces snapshot by snapshot as an animated GIF, and their evolution strips as one
PNG. Both are made from the stored grids, so no generator is loaded."""

from __future__ import annotations

import io
from collections.abc import Sequence

import numpy as np
from PIL import Image, ImageDraw

from emogan.errors import RunError
from emogan.original import ORIGINAL_ITERATIONS
from emogan.runs.store import Run, nearest
from emogan.views.gallery import HEADER_PX, compose, evolution, font, strip

LABEL_PT = 11      # text size of the labels at scale 1: two lines of it fit beside a 48-pixel face


def pick_iterations(options: Sequence[int], start: int | None = None, stop: int | None = None,
                    every: int | None = None) -> list[int]:
    """The snapshots in `options` from `start` to `stop`; with `every`, the nearest one to each of start,
    start + every, ... (each kept once): a snapshot schedule that skips some iterations still yields frames."""
    opts = sorted({int(i) for i in options})
    if not opts:
        return []
    lo = opts[0] if start is None else start
    hi = opts[-1] if stop is None else stop
    within = [it for it in opts if lo <= it <= hi]
    if every is None or not within:
        return within
    return sorted({nearest(within, it) for it in range(lo, hi + 1, every)})


def _labels(runs: Sequence[Run]) -> list[str]:
    """Models name the rows; run names only where two runs share a model (two seeds)."""
    models = [r.model for r in runs]
    return models if len(set(models)) == len(models) else [r.name for r in runs]


def _padded(faces: np.ndarray, n: int) -> np.ndarray:
    """Exactly n faces: a grid that stores fewer (an export keeps grid_n) is filled up with white tiles."""
    if len(faces) >= n:
        return faces[:n]
    return np.concatenate([faces, np.full((n - len(faces),) + faces.shape[1:], 255, np.uint8)])


def frames(runs: Sequence[Run], iterations: Sequence[int], n: int = 8, scale: int = 1, pad: int = 2
           ) -> list[Image.Image]:
    """One greyscale image per iteration: a row of each run's first n fixed-latent faces at its snapshot nearest to
    that iteration, headed 'iteration N' and labelled with the run's model and the snapshot it shows."""
    if not runs or not iterations:
        raise RunError("no runs or no iterations to draw")
    snaps = [r.snapshot_iterations() for r in runs]
    for r, its in zip(runs, snaps):
        if not its:
            raise RunError(f"{r.path}: has no snapshots yet")
    names = _labels(runs)
    used = [[nearest(its, it) for its in snaps] for it in iterations]
    grids: dict[tuple[int, int], np.ndarray] = {}     # a sparse run shows the same snapshot in several frames
    text = font(LABEL_PT * scale)
    band = 8 * scale + int(max(text.getlength(s) for row in used for i, u in enumerate(row)
                               for s in (names[i], f"it {u}")))
    head = HEADER_PX * scale
    out = []
    for it, row in zip(iterations, used):
        faces = []
        for i, u in enumerate(row):
            if (i, u) not in grids:
                grids[i, u] = _padded(runs[i].grid(u), n)
            faces.append(grids[i, u])
        faces_im = compose(np.concatenate(faces), ncols=n, scale=scale, pad=pad)
        im = Image.new("L", (band + faces_im.width, head + faces_im.height), 255)
        im.paste(faces_im, (band, head))
        draw = ImageDraw.Draw(im)
        draw.text((band + faces_im.width / 2, head / 2), f"iteration {it}", fill=0, font=font(LABEL_PT * scale + 1),
                  anchor="mm")
        cell = 48 * scale + pad
        for i, u in enumerate(row):
            y = head + i * cell + 24 * scale
            draw.text((4 * scale, y), names[i], fill=40, font=text, anchor="ld")
            draw.text((4 * scale, y + 2 * scale), f"it {u}", fill=40, font=text, anchor="la")
        out.append(im)
    return out


def gif_bytes(images: Sequence[Image.Image], ms_per_frame: int = 250) -> bytes:
    """An endlessly looping GIF, one frame per image (each must differ from the one before: GIF writers merge
    repeated frames, and every frame here carries its own iteration)."""
    buf = io.BytesIO()
    images[0].save(buf, format="GIF", save_all=True, append_images=list(images[1:]), duration=ms_per_frame, loop=0)
    return buf.getvalue()


def sheet(runs: Sequence[Run], iterations: Sequence[int], n: int = 4, scale: int = 1) -> Image.Image:
    """Each run's evolution strip (a row per face, a column per snapshot nearest to the iterations) under its
    label, stacked into one greyscale image."""
    if not runs or not iterations:
        raise RunError("no runs or no iterations to draw")
    parts = []
    for r, name in zip(runs, _labels(runs)):
        used, faces = evolution(r, iterations, n)
        parts.append((name, strip(faces, [f"it {u}" for u in used], scale=scale)))
    head = HEADER_PX * scale
    width = max(im.width for _, im in parts)
    canvas = Image.new("L", (width, sum(head + im.height for _, im in parts)), 255)
    draw = ImageDraw.Draw(canvas)
    y = 0
    for name, im in parts:
        draw.text((4 * scale, y + head / 2), name, fill=0, font=font(LABEL_PT * scale + 1), anchor="lm")
        canvas.paste(im, (0, y + head))
        y += head + im.height
    return canvas


def slide_iterations(options: list[int]) -> list[int]:
    """The iterations a timeline shows by default: the original slides' (the nearest snapshots) where the run spans
    them, else six evenly spaced snapshots."""
    if options and options[0] <= ORIGINAL_ITERATIONS[0] and options[-1] >= ORIGINAL_ITERATIONS[-1]:
        picked = [nearest(options, it) for it in ORIGINAL_ITERATIONS]
    else:
        idx = [round(i * (len(options) - 1) / 5) for i in range(6)] if len(options) > 6 else range(len(options))
        picked = [options[i] for i in idx]
    return sorted(set(picked))

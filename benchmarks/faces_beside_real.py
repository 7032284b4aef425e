"""Runs' faces from the same fixed latents, one row per run, above a row of real validation faces: the picture that
shows how far each model is from real faces. Each row is labelled on its left with the run, the iteration and its
realism score (the C2ST of its metrics.jsonl there, when measured).

    python benchmarks/faces_beside_real.py RUN@ITERATION [RUN@ITERATION ...] --data ../shared/data/fer2013 \
        --n 12 --out docs/realism_faces.png
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import numpy as np
from PIL import Image, ImageDraw

from emogan.data import load_faces
from emogan.metrics.core import subset
from emogan.metrics.records import read_metrics
from emogan.runs.store import Run
from emogan.views.gallery import compose, faces_at, font, snap_note

LABEL_W = 220


def _row(label: str, faces: np.ndarray, scale: int) -> Image.Image:
    tiles = compose(faces, ncols=len(faces), scale=scale, pad=2)
    row = Image.new("L", (LABEL_W + tiles.width, tiles.height), 255)
    row.paste(tiles, (LABEL_W, 0))
    ImageDraw.Draw(row).multiline_text((6, tiles.height / 2), label, fill=30, font=font(15), anchor="lm")
    return row


def _realism(run: Run, iteration: int) -> str:
    df = read_metrics(run.path)
    rows = df[df["iteration"] == iteration] if "c2st" in df else df.iloc[0:0]
    value = rows["c2st"].dropna() if len(rows) else rows
    return f"realism {100 * float(value.iloc[-1]):.1f}%" if len(value) else "realism not measured"


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("runs", nargs="+", metavar="RUN@ITERATION", help="run folder and iteration, e.g. checkpoints/M7-all-s0@5000")
    ap.add_argument("--data", required=True, help="FER2013 root (its validation faces form the last row)")
    ap.add_argument("--n", type=int, default=12, help="faces per row")
    ap.add_argument("--scale", type=int, default=2)
    ap.add_argument("--out", type=Path, required=True)
    args = ap.parse_args()
    rows = []
    for spec in args.runs:
        path, _, it = spec.rpartition("@")
        if not path or not it.isdigit():
            print(f"error: {spec!r}: expected RUN@ITERATION", file=sys.stderr)
            return 2
        run = Run(Path(path))
        used, faces = faces_at(run, int(it), args.n)
        note = snap_note(used, int(it))
        rows.append(_row(f"{run.path.name} at {used}\n{_realism(run, used)}" + (f"\n{note}" if note else ""), faces,
                         args.scale))
    val = load_faces(args.data, split="validation")
    rows.append(_row("real validation faces", val.images[subset(len(val), args.n)], args.scale))
    width = max(r.width for r in rows)
    canvas = Image.new("L", (width, sum(r.height + 6 for r in rows)), 255)
    y = 0
    for r in rows:
        canvas.paste(r, (0, y))
        y += r.height + 6
    args.out.parent.mkdir(parents=True, exist_ok=True)
    canvas.save(args.out, optimize=True)
    print(f"wrote {args.out} ({len(rows)} rows of {args.n} faces)")
    return 0


if __name__ == "__main__":
    sys.exit(main())

"""`emogan timeline`: runs' faces across snapshots as an animated GIF (a frame per snapshot) or a PNG of strips."""

from __future__ import annotations

import argparse
from pathlib import Path

from emogan.cli import positive_int
from emogan.errors import RunError
from emogan.runs.atomic import atomic_write_bytes
from emogan.runs.store import open_run
from emogan.views.animation import frames, gif_bytes, pick_iterations, sheet
from emogan.views.gallery import png_bytes

FORMATS = (".gif", ".png")


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("timeline", help="runs' faces across snapshots as an animated GIF or a PNG of strips",
                       description="Draw RUN...'s fixed-latent faces from the stored sample grids at the snapshots "
                                   "from --from to --to (every snapshot, or the nearest to every --every "
                                   "iterations). A .gif --out gets one frame per snapshot, a row per run labelled "
                                   "with its model and iteration; a .png --out gets each run's evolution strip (a "
                                   "row per face, a column per snapshot).")
    p.add_argument("runs", nargs="+", metavar="RUN", help="run name under --root, or the path of a run folder anywhere")
    p.add_argument("--root", default="checkpoints", help="runs root (default: checkpoints)")
    p.add_argument("--from", dest="start", metavar="IT", type=positive_int, default=None,
                   help="first iteration (default: the first snapshot)")
    p.add_argument("--to", dest="stop", metavar="IT", type=positive_int, default=None,
                   help="last iteration (default: the last snapshot)")
    p.add_argument("--every", type=positive_int, default=None,
                   help="a snapshot nearest to every N iterations from --from (default: every snapshot)")
    p.add_argument("--n", type=positive_int, default=None, help="faces per run (default: 8 in a GIF, 4 in a PNG)")
    p.add_argument("--scale", type=positive_int, default=1, help="zoom of each 48x48 face (default 1)")
    p.add_argument("--ms", type=positive_int, default=250, help="GIF: milliseconds per frame (default 250)")
    p.add_argument("--out", required=True, help="file to write: .gif (animation) or .png (strips)")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    out = Path(args.out)
    if out.suffix.lower() not in FORMATS:
        raise RunError(f"{out}: the output must be a .gif (animation) or .png (strips) file")
    if args.start is not None and args.stop is not None and args.start > args.stop:
        raise RunError(f"--from {args.start} is after --to {args.stop}")
    runs = [open_run(args.root, r) for r in args.runs]        # every name checked before any image is made
    options = sorted({it for r in runs for it in r.snapshot_iterations()})
    its = pick_iterations(options, args.start, args.stop, args.every)
    if not its:
        span = f"{options[0]}..{options[-1]}" if options else "none"
        raise RunError(f"{', '.join(r.name for r in runs)}: no snapshot from {args.start or 'the first'} to "
                       f"{args.stop or 'the last'} (snapshots: {span})")
    if out.suffix.lower() == ".gif":
        data = gif_bytes(frames(runs, its, args.n or 8, args.scale), args.ms)
        what = f"{len(its)} frames"
    else:
        data = png_bytes(sheet(runs, its, args.n or 4, args.scale))
        what = f"strips of {len(its)} snapshots"
    atomic_write_bytes(out, data)
    print(f"wrote {out} ({what} of {', '.join(r.name for r in runs)}, iterations {its[0]}..{its[-1]})")
    return 0

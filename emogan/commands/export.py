"""`emogan export`: compact copies of runs (all grids and losses, weights at chosen iterations) plus a manifest."""

from __future__ import annotations

import argparse
import shutil
import sys
from pathlib import Path

import torch

from emogan.cli import positive_float, positive_int
from emogan.errors import RunError
from emogan.original import ORIGINAL_ITERATIONS
from emogan.runs.demo import export_run, manifest_bytes, write_manifest
from emogan.runs.paths import check_name
from emogan.runs.provenance import git_commit
from emogan.runs.store import open_run


def _iterations(text: str) -> tuple[int, ...]:
    try:
        its = tuple(int(t) for t in text.split(",") if t.strip())
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a comma-separated list of iterations") from None
    if not its or min(its) < 1:
        raise argparse.ArgumentTypeError(f"{text!r} must list positive iterations")
    return its


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("export", help="copy runs compactly (the shipped demo is made with this)",
                       description="Copy RUN... from --root into --out: every snapshot's grid (its first --grid-n "
                                   "faces), the full loss log, metrics if computed, and generator weights only at "
                                   "--weights-at (nearest snapshot with weights) and at the end, in fp16. Writes "
                                   "OUT/manifest.json with each run's command, seed, device and wall time.")
    p.add_argument("runs", nargs="+", metavar="RUN", help="run name under --root, or the path of a run folder anywhere")
    p.add_argument("--root", default="checkpoints", help="runs root (default: checkpoints)")
    p.add_argument("--out", required=True, help="folder to export into (a new run folder per RUN)")
    p.add_argument("--weights-at", type=_iterations, default=ORIGINAL_ITERATIONS,
                   help="iterations whose weights are kept (default: 950,1900,2950,4110,4700,4850 and the last)")
    p.add_argument("--grid-n", type=positive_int, default=16, help="faces kept per grid (default 16)")
    p.add_argument("--grids-at", type=_iterations, default=None,
                   help="keep grids only at these iterations (nearest snapshots) and the last (default: every one)")
    p.add_argument("--fp32", action="store_true", help="keep weights in fp32 (default fp16)")
    p.add_argument("--max-mb", type=positive_float, default=None,
                   help="size budget in MB: over it, the exported runs are removed again and the export fails")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    out_root = Path(args.out)
    runs = [open_run(args.root, r) for r in args.runs]
    for r in runs:
        check_name(r.name)
        if (out_root / r.name).exists():
            raise RunError(f"{out_root / r.name}: already exists; export into an empty folder")
    earlier = manifest_bytes(out_root)      # runs exported before into the same folder count against --max-mb
    exported = []
    try:
        for r in runs:
            info = export_run(r, out_root / r.name, weights_at=args.weights_at, grid_n=args.grid_n,
                              weights_dtype=torch.float32 if args.fp32 else torch.float16, grids_at=args.grids_at)
            exported.append(info)
            print(f"{r.name}: {info['bytes'] / 1e6:.1f} MB", file=sys.stderr)
        total = earlier + sum(i["bytes"] for i in exported)
        if args.max_mb is not None and total > args.max_mb * 1e6:
            raise RunError(f"{out_root}: the exported runs would take {total / 1e6:.1f} MB ({earlier / 1e6:.1f} MB "
                           f"of them exported before), over --max-mb {args.max_mb:g}; try a smaller --grid-n or "
                           "fewer --weights-at")
    except BaseException:
        for r in runs:        # only folders this call created: existing ones were refused above
            shutil.rmtree(out_root / r.name, ignore_errors=True)
        raise
    write_manifest(out_root, exported, {"export_command": args.invocation, "commit": git_commit(),
                                        "torch": torch.__version__})
    print(f"exported {len(exported)} runs to {out_root}: {total / 1e6:.1f} MB of runs there in all")
    return 0

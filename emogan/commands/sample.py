"""`emogan sample`: render a grid of a run's faces at one iteration to a PNG file."""

from __future__ import annotations

import argparse
import io
from pathlib import Path

import torch

from emogan.cli import positive_int
from emogan.emotions import EMOTIONS, emotion_index
from emogan.errors import RunError
from emogan.images import make_grid
from emogan.runs.atomic import atomic_write_bytes
from emogan.runs.store import nearest, open_run
from emogan.sampling import generate, random_latents


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("sample", help="draw faces from a run's generator at an iteration",
                       description="Draw N faces from RUN's generator at --iteration: the run's fixed latents by "
                                   "default (the same faces the training grids show), or fresh ones with --seed.")
    p.add_argument("run", metavar="RUN", help="run name under --root, or the path of a run folder anywhere")
    p.add_argument("--root", default="checkpoints", help="runs root (default: checkpoints)")
    p.add_argument("--iteration", type=positive_int, required=True)
    p.add_argument("--n", type=positive_int, default=16, help="faces to draw (default 16)")
    p.add_argument("--seed", type=int, default=None, help="draw fresh latents from this seed")
    p.add_argument("--emotion", default=None, choices=EMOTIONS,
                   help="conditional models (M8): draw this emotion on every face (default: the emotions in turn)")
    p.add_argument("--out", required=True, help="PNG file to write")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    out = Path(args.out)
    if out.suffix.lower() != ".png":
        raise RunError(f"{out}: the output must be a .png file")
    run_ = open_run(args.root, args.run)
    its = run_.weight_iterations()
    if args.iteration not in its:
        near = nearest(its, args.iteration)
        hint = f"; the nearest is {near}" if near is not None else "; it has none"
        raise RunError(f"{run_.path}: no generator weights at iteration {args.iteration}{hint}")
    G = run_.load_generator(args.iteration)
    if args.emotion is not None and not G.cfg.conditional:
        raise RunError(f"{run_.path}: {run_.model} is not conditional, it cannot be asked for an emotion "
                       "(conditional models: M8)")
    if args.seed is None:
        z = run_.fixed_latents()
        if args.n > len(z):
            raise RunError(f"{run_.path}: only {len(z)} fixed latents; pass --seed to draw {args.n} fresh ones")
        z = z[:args.n]
    else:
        z = random_latents(args.n, G.cfg.z_dim, args.seed)
    buf = io.BytesIO()
    labels = None if args.emotion is None else torch.full((len(z),), emotion_index(args.emotion))
    make_grid(generate(G, z, labels=labels), pad=2).save(buf, format="PNG")
    atomic_write_bytes(out, buf.getvalue())
    what = f", {args.emotion}" if args.emotion else ""
    print(f"wrote {out} ({args.n} faces{what} from {run_.name} at iteration {args.iteration})")
    return 0

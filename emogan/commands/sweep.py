"""`emogan sweep`: train a grid of runs (models x seeds x emotions), resumable, on local processes or submitit."""

from __future__ import annotations

import argparse
import os
import sys
from dataclasses import replace
from pathlib import Path

from emogan.cli import positive_int


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("sweep", help="train a grid of runs: models x seeds x emotions",
                       description="Train every model x emotion x seed of a grid, each into a normal run folder "
                                   "ROOT/MODEL-EMOTION-sSEED with the `train` command (and `metrics` with "
                                   "--measure). Finished runs are skipped, interrupted ones resumed, runs another "
                                   "process holds skipped: the same command continues a stopped sweep. Settings "
                                   "come from FILE (TOML, the same names as the flags) and flags, flags winning.")
    p.add_argument("file", nargs="?", type=Path, help="sweep file (TOML)")
    p.add_argument("--models", type=_names, help="comma-separated model ids (default M1)")
    p.add_argument("--seeds", type=_ints, help="comma-separated seeds (default 0)")
    p.add_argument("--emotions", type=_names, help="comma-separated emotions, or all (default all)")
    p.add_argument("--root", help="runs root (default: runs)")
    p.add_argument("--data", help="FER2013 root (default: the file's data, else $EMOGAN_DATA)")
    p.add_argument("--iters", type=positive_int)
    p.add_argument("--batch", type=positive_int)
    p.add_argument("--snapshot-every", type=positive_int)
    p.add_argument("--threads", type=positive_int, help="torch threads per job (default 1)")
    p.add_argument("--parallel", type=positive_int, help="jobs at once (default: one per core)")
    p.add_argument("--executor", choices=("local", "submitit"),
                   help="local processes (default), or submitit: SLURM where the machine has it, else local")
    p.add_argument("--measure", action="store_true", default=None, help="run `metrics` on each run once trained")
    p.add_argument("--export", help="export the finished runs into this folder at the end")
    p.add_argument("--no-progress", action="store_true", help="no progress bar (a line every 30 s instead)")
    p.set_defaults(func=run)


def _names(text: str) -> list[str]:
    return [t.strip() for t in text.split(",") if t.strip()]


def _ints(text: str) -> list[int]:
    try:
        return [int(t) for t in _names(text)]
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r}: expected comma-separated integers") from None


def run(args: argparse.Namespace) -> int:
    from emogan.cli import main
    from emogan.sweeps.executors import LocalExecutor, SubmititExecutor
    from emogan.sweeps.runner import run_sweep
    from emogan.sweeps.spec import load_spec
    from emogan.training.stopping import StopFlag

    given = {k: getattr(args, k) for k in ("models", "seeds", "emotions", "root", "data", "iters", "batch",
                                           "snapshot_every", "threads", "parallel", "executor", "measure", "export")}
    spec = load_spec(args.file, **given)
    if spec.parallel is None:
        spec = replace(spec, parallel=max(1, (os.cpu_count() or 1) // spec.threads))
    root = Path(spec.root)
    if spec.executor == "submitit":
        executor = SubmititExecutor(root / ".submitit", spec.threads, dict(spec.slurm))
    else:
        executor = LocalExecutor(spec.threads)
    root.mkdir(parents=True, exist_ok=True)
    try:
        # From here a Ctrl-C only sets the flag that run_sweep's loop shares, even while it plans the jobs.
        with StopFlag():
            states = run_sweep(spec, executor, out=lambda line: print(line, file=sys.stderr, flush=True),
                               progress=False if args.no_progress else None)
    except KeyboardInterrupt:
        return 130
    finished = [s.job.name for s in states if s.result in ("finished", "skipped (finished)")]
    if spec.export and finished:
        status = main(["export", *finished, "--root", str(root), "--out", spec.export, *spec.export_args])
        if status:
            return status
    return 0 if all(s.result in ("finished", "skipped (finished)") for s in states) else 1

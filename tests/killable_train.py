"""A training process for the kill harness: a tiny model (or the real CLI) that can SIGKILL itself at its Nth write.

    python tests/killable_train.py RUN_DIR --iters 60 --snapshot-every 2 [--model M7] [--die-at-write N]
    python tests/killable_train.py --cli [--die-at-write N] -- train --model M1 --data ... --resume

The first form always trains with resume=True (a missing run is created), as `emogan train --resume` does.
`--die-at-write N` kills the process with SIGKILL at its Nth durable-write step (an fsync or a rename, counted from
the start of training) instead of doing it: a kill placed exactly inside a snapshot, index, state or loss-log
write, which random timing hits only now and then. The process prints "ready" when its first iteration starts
(with --cli: once imported), so a parent can time its kills from the start of training.

tests/killharness.py usually runs `child()` in processes forked from a server that has already imported torch,
which saves the interpreter start-up per kill; they are real processes all the same, killed with SIGKILL.
"""

from __future__ import annotations

import argparse
import os
import signal
import sys
from collections.abc import Callable
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))           # tests/, for tiny.py

import tiny  # noqa: E402,F401
import torch  # noqa: E402
import torch._dynamo  # noqa: E402,F401  (the optimizers import it on their first step: 2 s a child otherwise)

import emogan.training.loop  # noqa: E402,F401  (imported here so that a fork server holds it preloaded)


def die_at_write(n: int) -> None:
    """Replace os.fsync and os.replace (what emogan.runs.atomic and the loss log use) by a SIGKILL at the nth call."""
    calls = {"n": 0}

    def wrap(real):
        def step(*args, **kwargs):
            calls["n"] += 1
            if calls["n"] >= n:
                os.kill(os.getpid(), signal.SIGKILL)
            return real(*args, **kwargs)
        return step

    os.fsync, os.replace = wrap(os.fsync), wrap(os.replace)


def train_tiny(run_dir: Path, *, iters: int, snapshot_every: int, model: str, seed: int, die_at: int | None,
               on_ready: Callable[[], None]) -> int:
    """Train (or resume) the tiny model on the fixture faces; 0 when the run is done."""
    from tiny import fixture_faces, tiny  # noqa: F811  (the module was imported above only to warm it)

    from emogan.training.loop import train

    # One thread: the reference run uses the same, so float reductions run in the same order in both.
    torch.set_num_threads(1)
    faces = fixture_faces()
    if die_at is not None:                     # counted from here: the data cache's own writes do not shift it
        die_at_write(die_at)
    started: list[bool] = []

    def first_iteration() -> bool:             # abort_fn is called before every iteration
        if not started:
            started.append(True)
            on_ready()
        return False

    result = train(faces, run_dir, model=tiny(model), iters=iters, batch=8, snapshot_every=snapshot_every,
                   snapshot_at=(), n_fixed=16, seed=seed, device="cpu", resume=True, abort_fn=first_iteration)
    return 0 if result.status == "done" else 1


def child(run_dir: str, options: dict, die_at: int | None, ready, env: dict[str, str], log: str) -> None:
    """Entry of a forked child: `ready` is a multiprocessing Event, stderr goes to `log`."""
    fd = os.open(log, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o644)
    os.dup2(fd, 2)
    os.environ.update(env)                     # the fork server's environment may be older than the parent's
    sys.exit(train_tiny(Path(run_dir), die_at=die_at, on_ready=ready.set, **options))


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("run_dir", nargs="?", type=Path)
    p.add_argument("--iters", type=int, default=60)
    p.add_argument("--snapshot-every", type=int, default=2)
    p.add_argument("--model", default="M7", help="registered id, narrowed by tests/tiny.py")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--die-at-write", type=int, default=None)
    p.add_argument("--cli", action="store_true", help="run `python -m emogan` with the arguments after --")
    argv = sys.argv[1:] if argv is None else argv
    cli_args = argv[argv.index("--") + 1:] if "--" in argv else []
    args = p.parse_args(argv[:argv.index("--")] if "--" in argv else argv)
    if args.cli:
        from emogan.cli import main as emogan_main

        torch.set_num_threads(1)
        if args.die_at_write is not None:
            die_at_write(args.die_at_write)
        print("ready", flush=True)
        return emogan_main(cli_args)
    return train_tiny(args.run_dir, iters=args.iters, snapshot_every=args.snapshot_every, model=args.model,
                      seed=args.seed, die_at=args.die_at_write, on_ready=lambda: print("ready", flush=True))


if __name__ == "__main__":
    sys.exit(main())

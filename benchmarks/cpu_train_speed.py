"""CPU training speed per model: the plain fp32 loop against the CPU path the demo campaign uses, in one run.

    python benchmarks/cpu_train_speed.py --data ../shared/data/fer2013 [--iters 30] [--models M1,...,M8]

For each model, on this machine, one after the other:
  (a) fp32: `emogan.training.loop.train` in fp32 with torch's default threads (one per core), one process;
  (b) the CPU path: bf16 autocast + channels_last (where the CPU has native bf16), one one-thread process per
      core training side by side (as the campaign's lanes do), each its own seed.
Rates are model-iterations/s in the steady state (between the first and last progress reports, after a warm-up),
so data loading and model construction do not count; (b) adds its processes' rates. The last line is the ratio
(b)/(a) over all the models, i.e. total model-iterations of the set per second, as the whole campaign sees it.
"""

from __future__ import annotations

import argparse
import multiprocessing as mp
import os
import tempfile
import time
from pathlib import Path

import torch

from emogan.data import load_faces
from emogan.device import fast_bf16
from emogan.models import REGISTRY
from emogan.runs.provenance import cpu_model
from emogan.training.loop import train


def rate(data: str, model: str, iters: int, batch: int, threads: int, amp: bool, seed: int = 0,
         start: mp.synchronize.Barrier | None = None) -> float:
    """Steady-state iterations/s of one training of `model` in this process."""
    torch.set_num_threads(threads)
    faces = load_faces(data, split="train")
    with tempfile.TemporaryDirectory() as tmp:
        train(faces, Path(tmp) / "warm", model=model, iters=3, batch=batch, snapshot_every=50, snapshot_at=(),
              device="cpu", n_fixed=8, amp=amp, seed=seed)
        if start is not None:
            start.wait()        # the lanes time the same stretch of wall time
        marks: list[tuple[int, float]] = []
        train(faces, Path(tmp) / "run", model=model, iters=iters, batch=batch, snapshot_every=1000, snapshot_at=(),
              device="cpu", n_fixed=8, amp=amp, seed=seed,
              progress_fn=lambda p: marks.append((p.iteration, time.perf_counter())))
    (i0, t0), (i1, t1) = marks[0], marks[-1]
    return (i1 - i0) / (t1 - t0)


def _lane(args: tuple) -> float:
    return rate(*args)


def lanes(data: str, model: str, iters: int, batch: int, n: int, amp: bool) -> float:
    """Summed rate of n one-thread processes training `model` side by side."""
    ctx = mp.get_context("spawn")
    with ctx.Manager() as manager:
        start = manager.Barrier(n)
        with ctx.Pool(n) as pool:
            return sum(pool.map(_lane, [(data, model, iters, batch, 1, amp, seed, start) for seed in range(n)]))


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--data", default="../shared/data/fer2013")
    ap.add_argument("--iters", type=int, default=30, help="timed iterations per measurement (rate over iters-10)")
    ap.add_argument("--batch", type=int, default=64)
    ap.add_argument("--models", default=",".join(REGISTRY))
    ap.add_argument("--lanes", type=int, default=os.cpu_count() or 1, help="side-by-side processes in (b)")
    args = ap.parse_args()
    amp = fast_bf16(torch.device("cpu"))
    print(f"cpu: {cpu_model()}, {os.cpu_count()} cores; torch {torch.__version__}; batch {args.batch}; "
          f"(b) = {args.lanes} x 1-thread processes, {'bf16 autocast + channels_last' if amp else 'fp32 (no native bf16)'}")
    print(f"{'model':<6} {'(a) fp32 it/s':>14} {'(b) it/s':>10} {'ratio':>6}", flush=True)
    total_a = total_b = 0.0
    for name in args.models.split(","):
        if name not in REGISTRY:
            raise SystemExit(f"unknown model {name!r}: expected one of {', '.join(REGISTRY)}")
        a = rate(args.data, name, args.iters, args.batch, os.cpu_count() or 1, amp=False)
        b = lanes(args.data, name, args.iters, args.batch, args.lanes, amp)
        print(f"{name:<6} {a:>14.2f} {b:>10.2f} {b / a:>5.2f}x", flush=True)
        total_a += 1 / a            # seconds per iteration of each model, summed: the set's wall time per iteration
        total_b += 1 / b
    print(f"all    {args.models}: {total_a / total_b:.2f}x  (campaign time ratio (a)/(b) for "
          f"{args.models.count(',') + 1} models)")


if __name__ == "__main__":
    main()

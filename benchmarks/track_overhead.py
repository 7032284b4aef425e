"""What logging through emogan.track costs a training loop: `run.log` as a share of one M1 iteration (the budget is
1%), and how much of a snapshot the training thread waits for (sampling, checks, copies) against the file writing
(PNG encoding, fsync) that the background thread does meanwhile.

    python benchmarks/track_overhead.py [--threads 1] [--iters 30] [--logs 5000] [--snapshots 5]

Median times over repeats on this machine, printed; CPU time is printed beside wall time, as a shared machine
slows wall time without costing CPU.
"""

from __future__ import annotations

import argparse
import statistics
import tempfile
import time
from pathlib import Path

import numpy as np
import torch


def m1_iteration(iters: int) -> tuple[float, float]:
    """Median wall and CPU seconds of one M1 training iteration (batch 64, fp32) on this machine."""
    from emogan.models import get_config
    from emogan.training.loop import step
    from emogan.training.losses import get_losses
    from emogan.training.state import build_state
    cfg = get_config("M1")
    state = build_state(cfg, 0, torch.device("cpu"))
    data = torch.from_numpy(np.random.default_rng(0).integers(0, 256, (2048, 48, 48), dtype=np.uint8))
    losses = get_losses(cfg.loss)
    for _ in range(3):
        step(state, cfg, data, 64, losses).tolist()
    wall, cpu = [], []
    for _ in range(iters):
        t, c = time.perf_counter(), time.process_time()
        step(state, cfg, data, 64, losses).tolist()          # .tolist(): the host sync a loop's .item() makes
        wall.append(time.perf_counter() - t)
        cpu.append(time.process_time() - c)
    return statistics.median(wall), statistics.median(cpu)


def log_cost(root: Path, calls: int) -> tuple[float, float]:
    """Mean wall and CPU seconds of one run.log call, the writer's flushes every ten rows included."""
    from emogan import track
    with track.init(root, "log-cost") as run:
        t, c = time.perf_counter(), time.process_time()
        for i in range(1, calls + 1):
            run.log(i, loss_D=0.69, loss_G=0.81, D_x=0.52, D_G_z=0.47)
        wall, cpu = (time.perf_counter() - t) / calls, (time.process_time() - c) / calls
    return wall, cpu


def snapshot_split(root: Path, snapshots: int) -> dict[str, float]:
    """Per measured snapshot (64 grid faces + 1000 metric faces from M1's generator): seconds the caller spends in
    run.snapshot, of which sampling; and the seconds the writer thread spends on its files."""
    from emogan import track
    from emogan.models import build_generator, get_config
    from emogan.runs.store import RunWriter
    G = build_generator(get_config("M1")).eval()
    sample = track.sampler(G)
    sampling, caller, writing = [], [], []
    real_write = RunWriter.write_snapshot_files

    def timed_write(self, *a, **kw):
        t = time.perf_counter()
        try:
            return real_write(self, *a, **kw)
        finally:
            writing.append(time.perf_counter() - t)

    def timed_sample(z):
        t = time.perf_counter()
        try:
            return sample(z)
        finally:
            sampling.append(time.perf_counter() - t)

    RunWriter.write_snapshot_files = timed_write
    try:
        with track.init(root, "snapshot-cost") as run:
            for k in range(1, snapshots + 1):
                n_before = len(sampling)
                t = time.perf_counter()
                run.snapshot(50 * k, timed_sample)           # measured: every multiple of 50
                caller.append(time.perf_counter() - t)
                sampling[n_before:] = [sum(sampling[n_before:])]
                run._thread.wait()                           # one at a time, so each write is timed alone
    finally:
        RunWriter.write_snapshot_files = real_write
    return {"caller": statistics.median(caller), "sampling": statistics.median(sampling),
            "writer": statistics.median(writing)}


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--threads", type=int, default=1)
    p.add_argument("--iters", type=int, default=30, help="M1 iterations timed")
    p.add_argument("--logs", type=int, default=5000, help="run.log calls timed (the length of a shipped run)")
    p.add_argument("--snapshots", type=int, default=5, help="measured snapshots timed")
    args = p.parse_args()
    torch.set_num_threads(args.threads)
    it_wall, it_cpu = m1_iteration(args.iters)
    with tempfile.TemporaryDirectory() as tmp:
        log_wall, log_cpu = log_cost(Path(tmp), args.logs)
        snap = snapshot_split(Path(tmp), args.snapshots)
    print(f"torch {torch.__version__}, {args.threads} thread(s)")
    print(f"M1 iteration (batch 64):   {1e3 * it_wall:8.2f} ms wall, {1e3 * it_cpu:8.2f} ms CPU (median of {args.iters})")
    print(f"run.log:                   {1e6 * log_wall:8.1f} us wall, {1e6 * log_cpu:8.1f} us CPU (mean of {args.logs}, "
          "flushes included)")
    print(f"  share of an M1 iteration: {100 * log_wall / it_wall:.3f}% wall, {100 * log_cpu / it_cpu:.3f}% CPU "
          "(budget: 1%)")
    print(f"measured snapshot: {snap['caller']:.3f} s in the training thread, of which {snap['sampling']:.3f} s "
          f"drawing 64 + 1000 faces with M1's generator; {snap['writer']:.3f} s writing files on the writer thread")
    off = snap["writer"] / (snap["writer"] + snap["caller"] - snap["sampling"])
    print(f"  of the snapshot's own work (all but the sampling), {100 * off:.0f}% runs off the training thread")


if __name__ == "__main__":
    main()

"""Training several models at once in one process: the fast path for GPUs (and a faithful eager path elsewhere).

On CUDA the dataset stays on the GPU as uint8, each step runs under bf16 autocast, and `block` iterations of all
models are captured in ONE CUDA graph, each model on its own stream inside the capture, so the GPU overlaps the
six small networks and the host launches one graph per block instead of thousands of kernels. Losses stay on the
device and reach the host once per snapshot; snapshots are copied off the device and written by a background
thread, so file I/O never stalls the GPU. Everywhere else (the CPU, or --no-graphs) the models are stepped eagerly
in turn, each with its own RNG streams, which on the CPU reproduces the plain loop of emogan.training exactly.
"""

from __future__ import annotations

import math
import time
import warnings
from collections import deque
from concurrent.futures import Future, ThreadPoolExecutor
from contextlib import contextmanager, nullcontext
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable, Iterator

import numpy as np
import torch

from .data import FaceSet
from .device import fast_bf16, resolve_device
from .errors import RunError
from .models import GANConfig, get_config
from .training import ORIGINAL_ITERATIONS, Progress, RunSession, TrainResult, _StopFlag, check_emotion, step

WARMUP = 3          # eager steps before capture: lets cuDNN pick kernels and the optimizer create its state
MAX_PENDING_WRITES = 16   # snapshots queued for the writer thread before training waits for it


@dataclass(frozen=True)
class Job:
    """One run of a concurrent training: which model, where, from which seed."""
    model: str | GANConfig
    run_dir: Path
    seed: int = 0


@contextmanager
def _own_rng(session: RunSession) -> Iterator[None]:
    """Swap in this run's global CPU RNG (dropout, DiffAugment) so interleaving runs does not mix their streams."""
    rng = getattr(session, "_cpu_rng", None)
    if rng is not None:
        torch.set_rng_state(rng)
    try:
        yield
    finally:
        session._cpu_rng = torch.get_rng_state()


def _block_size(requested: int, start: int, iters: int, snapshot_every: int, snapshot_at: tuple[int, ...]) -> int:
    """The largest block <= requested that never steps over a snapshot iteration."""
    g = math.gcd(requested, snapshot_every, iters)
    for it in snapshot_at:
        if start < it <= iters:
            g = math.gcd(g, it)
    return g


class _Writer:
    """A background thread that writes snapshots in order; its errors surface in the training thread."""

    def __init__(self, threaded: bool):
        self.pool = ThreadPoolExecutor(1, thread_name_prefix="emogan-writer") if threaded else None
        self.pending: deque[Future] = deque()

    def submit(self, fn: Callable[[], None]) -> None:
        if self.pool is None:
            fn()
            return
        self.pending.append(self.pool.submit(fn))
        while self.pending and (self.pending[0].done() or len(self.pending) > MAX_PENDING_WRITES):
            self.pending.popleft().result()          # re-raises a failed write here

    def close(self) -> None:
        while self.pending:
            self.pending.popleft().result()
        if self.pool is not None:
            self.pool.shutdown()


def train_many(faces: FaceSet, jobs: list[Job], *, emotion: str = "all", iters: int = 5000, batch: int = 64,
               snapshot_every: int = 50, snapshot_at: tuple[int, ...] = ORIGINAL_ITERATIONS,
               weights_every: int | None = None, latent_seed: int = 0, n_fixed: int = 64,
               device: str | torch.device = "auto", resume: bool = False, command: list[str] | None = None,
               amp: bool | None = None, cuda_graphs: bool | None = None, block: int = 10,
               state_every: int | None = None,
               progress_fn: Callable[[Progress], None] | None = None,
               abort_fn: Callable[[], bool] | None = None) -> list[TrainResult]:
    """Train every job's model on `faces` concurrently; each writes the same run folder `train()` would.

    amp defaults to on for GPUs with native bf16, cuda_graphs to on for CUDA; both are off elsewhere.
    `state_every` (default: every snapshot on the CPU, every 500 iterations on CUDA) sets how often the full resume
    state (D, optimizers, RNG) is written: copying it off the GPU every 50 iterations would cost more than the
    training itself.
    """
    dev = device if isinstance(device, torch.device) else resolve_device(device)
    cuda = dev.type == "cuda"
    amp = fast_bf16(dev) if amp is None else amp
    graphs = cuda if cuda_graphs is None else cuda_graphs
    if graphs and not cuda:
        raise RunError("CUDA graphs need a CUDA device (use --device cuda, or --no-graphs)")
    state_every = state_every or (max(snapshot_every, 500) if cuda else snapshot_every)
    names = [Path(j.run_dir).name for j in jobs]
    if len(set(names)) != len(names):
        raise RunError(f"two runs would share a folder name: {', '.join(names)}")
    configs = [get_config(j.model) if isinstance(j.model, str) else j.model for j in jobs]
    for cfg in configs:         # before any run folder is made: a refusal must leave none half-made
        check_emotion(cfg, emotion)
    sessions: list[RunSession] = []
    try:
        for j, cfg in zip(jobs, configs):
            sess = RunSession(faces, Path(j.run_dir), cfg, emotion=emotion, iters=iters, batch=batch,
                              snapshot_every=snapshot_every, snapshot_at=snapshot_at, weights_every=weights_every,
                              seed=j.seed, latent_seed=latent_seed, n_fixed=n_fixed, device=dev, resume=resume,
                              command=command, own_generator=not graphs, capturable=graphs)
            sess._cpu_rng = torch.get_rng_state()    # the state right after this run's seeding (or its resume)
            sessions.append(sess)
        return _train_sessions(sessions, faces, dev, cuda=cuda, amp=amp, graphs=graphs, iters=iters, batch=batch,
                               snapshot_every=snapshot_every, snapshot_at=snapshot_at, block=block,
                               state_every=state_every, progress_fn=progress_fn, abort_fn=abort_fn)
    finally:
        for sess in sessions:         # finish() has let go of them already unless an error ended the training
            sess.close()


def _train_sessions(sessions: list[RunSession], faces: FaceSet, dev: torch.device, *, cuda: bool, amp: bool,
                    graphs: bool, iters: int, batch: int, snapshot_every: int, snapshot_at: tuple[int, ...],
                    block: int, state_every: int, progress_fn: Callable[[Progress], None] | None,
                    abort_fn: Callable[[], bool] | None) -> list[TrainResult]:
    starts = {s.s.iteration for s in sessions}
    if len(starts) != 1:
        raise RunError("runs resumed together must stand at the same iteration "
                       f"({', '.join(f'{s.path.name}: {s.s.iteration}' for s in sessions)}); resume them one by one")
    start = starts.pop()
    data = torch.from_numpy(np.ascontiguousarray(faces.images)).to(dev)   # resident uint8 (N, 48, 48)
    labels = torch.from_numpy(np.asarray(faces.labels, dtype=np.int64)).to(dev)   # for conditional models
    for sess in sessions:
        sess.s.G.train(), sess.s.D.train()
        if cuda and amp:
            sess.s.G.to(memory_format=torch.channels_last), sess.s.D.to(memory_format=torch.channels_last)
    autocast = (lambda: torch.autocast("cuda", dtype=torch.bfloat16, cache_enabled=False)) if amp else nullcontext
    writer = _Writer(threaded=cuda)
    iteration = start
    pending: list[tuple[int, torch.Tensor]] = []       # (first iteration, (models, k, 4) device tensor)

    def eager_step() -> None:
        nonlocal iteration
        iteration += 1
        stats = []
        for sess in sessions:
            sess.s.iteration = iteration
            with _own_rng(sess), autocast():
                stats.append(step(sess.s, sess.cfg, data, batch, sess.losses, labels))
        pending.append((iteration, torch.stack(stats).unsqueeze(1)))

    def flush_and_snapshot() -> bool:
        """Losses to disk (one host sync), then snapshots if due; False once a run diverged."""
        if not pending:
            return True
        first = pending[0][0]
        values = torch.cat([v for _, v in pending], dim=1).tolist()    # (models, k, 4)
        pending.clear()
        now = time.perf_counter()
        ok = True
        for sess, vals in zip(sessions, values):
            rows = sess.rows(first, vals, now - sess.t0)
            due = sess.due(iteration) and sess.state == "done"
            snap = None
            if due:
                with _own_rng(sess):
                    with_state = iteration % state_every == 0 or iteration == iters
                    snap = sess.capture_snapshot(iteration, with_state=with_state)

            def write(sess=sess, rows=rows, snap=snap) -> None:
                sess.writer.append_losses(rows)
                if snap is not None:
                    sess.write_snapshot(snap)
            writer.submit(write)
            ok = ok and sess.state != "diverged"
        if not ok:    # one graph steps them all: stop the others cleanly, resumable
            bad = next(s.path.name for s in sessions if s.state == "diverged")
            for sess in sessions:
                if sess.state == "done":
                    sess.state, sess.message = "interrupted", f"stopped at iteration {iteration} because {bad} " \
                                                              "diverged; continue with --resume"
        if progress_fn is not None:
            progress_fn(Progress(iteration, iters, sessions[0].last_row, sessions[0].due(iteration)))
        return ok

    graph_block = _block_size(block, start, iters, snapshot_every, snapshot_at) if graphs else 0
    graph = None
    try:
        with _StopFlag() as stop:
            while iteration < iters:
                if stop.set or (abort_fn is not None and abort_fn()):
                    for sess in sessions:
                        sess.state, sess.message = "interrupted", \
                            f"stopped at iteration {iteration}; continue with --resume"
                    break
                use_graph = graph_block > 1 and iteration - start >= WARMUP and iteration % graph_block == 0 \
                    and iteration + graph_block <= iters
                if use_graph and graph is None:
                    try:
                        graph, logbufs = _capture(sessions, data, labels, batch, graph_block, autocast)
                    except RuntimeError as e:
                        # Nothing ran during the failed capture, so the models are untouched: go on eagerly
                        # (slower, same results) rather than lose the run.
                        warnings.warn(f"CUDA graph capture failed ({str(e).splitlines()[0]}); "
                                      "continuing without graphs", RuntimeWarning, stacklevel=2)
                        graph_block = 0
                        continue
                if use_graph:
                    graph.replay()
                    iteration += graph_block
                    for sess in sessions:
                        sess.s.iteration = iteration
                    pending.append((iteration - graph_block + 1, torch.stack(logbufs).clone()))
                else:
                    eager_step()
                if any(s.due(iteration) for s in sessions) or sum(v.shape[1] for _, v in pending) >= 50:
                    if not flush_and_snapshot():
                        break
            flush_and_snapshot()
            for sess in sessions:
                if sess.state == "interrupted" and (not sess.snapshots or sess.snapshots[-1]["iteration"] < iteration):
                    with _own_rng(sess):
                        snap = sess.capture_snapshot(iteration)
                    writer.submit(lambda sess=sess, snap=snap: sess.write_snapshot(snap))
    finally:
        writer.close()
    return [sess.finish() for sess in sessions]


def _capture(sessions: list[RunSession], data: torch.Tensor, labels: torch.Tensor, batch: int, k: int,
             autocast: Callable[[], Any]) -> tuple[torch.cuda.CUDAGraph, list[torch.Tensor]]:
    """One CUDA graph holding k iterations of every model, each model on its own stream (parallel branches)."""
    torch.cuda.synchronize()
    graph = torch.cuda.CUDAGraph()
    logbufs = [torch.zeros(k, 4, device=data.device) for _ in sessions]
    streams = [torch.cuda.Stream() for _ in sessions]
    main = torch.cuda.current_stream()
    for sess in sessions:     # grads must be allocated inside the graph's memory pool
        sess.s.opt_G.zero_grad(set_to_none=True), sess.s.opt_D.zero_grad(set_to_none=True)
    with torch.cuda.graph(graph):
        for sess, stream, buf in zip(sessions, streams, logbufs):
            stream.wait_stream(torch.cuda.current_stream())
            with torch.cuda.stream(stream):
                for i in range(k):
                    with autocast():
                        buf[i].copy_(step(sess.s, sess.cfg, data, batch, sess.losses, labels))
        cur = torch.cuda.current_stream()
        for stream in streams:
            cur.wait_stream(stream)
    main.synchronize()
    return graph, logbufs

"""Training GANs into run folders: one step (a D update, then a G update) and the one loop that steps one run
or several together, eagerly or (on a GPU) as replayed CUDA graphs, with progress and abort hooks."""

from __future__ import annotations

import time
import warnings
from collections import deque
from collections.abc import Callable, Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from contextlib import contextmanager
from dataclasses import dataclass
from functools import partial
from pathlib import Path
from typing import Any

import numpy as np
import torch
import torch.nn.functional as F

from emogan.data import FaceSet
from emogan.device import fast_bf16, resolve_device
from emogan.ema import ema_update, halflife_decay
from emogan.errors import RunError, first_line
from emogan.images import to_model_input
from emogan.models import GANConfig, get_config
from emogan.training import cuda_graphs
from emogan.training.augment import diff_augment
from emogan.training.losses import PAIRED, d2d_ce, grad_penalty
from emogan.training.options import RunStatus, TrainConfig
from emogan.training.schedules import apply_rates, check_recipe, graph_safe, penalty_weight
from emogan.training.session import RunResult, RunSession, check_emotion
from emogan.training.state import TrainState
from emogan.training.stopping import StopFlag

FLUSH_EVERY = 10          # iterations between loss-log appends: the host reads losses in blocks, not every step
MAX_PENDING_WRITES = 16   # snapshots queued for the writer thread before training waits for it


@dataclass(frozen=True)
class Progress:
    iteration: int
    iters: int
    row: dict[str, float]         # the latest logged losses (of the first run)
    snapshot: bool                # whether a snapshot was just written


@dataclass(frozen=True)
class Job:
    """One run of a training: which model, where, from which seed."""
    model: str | GANConfig
    run_dir: Path
    seed: int = 0


# ---------------------------------------------------------------- one step

def step(s: TrainState, cfg: GANConfig, data: torch.Tensor, batch: int, losses: tuple,
         labels: torch.Tensor | None = None) -> torch.Tensor:
    """One D update then one G update; returns (4,) [loss_D, loss_G, D(x), D(G(z))] without a host sync.

    A conditional model also needs `labels` (N,), the emotion of every face in `data`. Schedules and lazy penalties
    read s.iteration, the iterations finished before this one. loss_D is logged without the penalties, which lazy
    ones would otherwise turn into a comb."""
    d_loss_fn, g_loss_fn = losses
    device = data.device
    apply_rates(s.opt_G, s.opt_D, cfg, s.iteration)
    gamma = penalty_weight(cfg, s.iteration)
    idx = torch.randint(data.shape[0], (batch,), generator=s.gen, device=device)
    real = to_model_input(data[idx], device)                          # (B, 1, 48, 48)
    z = torch.randn(batch, cfg.z_dim, generator=s.gen, device=device)
    aug = diff_augment if cfg.diffaugment else (lambda x: x)
    y_real = y_fake = None
    if cfg.conditional:
        if labels is None:
            raise ValueError(f"{cfg.name} is conditional: training needs the emotion labels of the faces")
        # G is asked for emotions as often as the data shows them: the labels of another random batch.
        y_real = labels[idx]
        y_fake = labels[torch.randint(data.shape[0], (batch,), generator=s.gen, device=device)]
        # Rows of an identity matrix rather than F.one_hot, whose range checks may read the device in other
        # torch versions: a host sync is not allowed inside a CUDA graph capture.
        z = torch.cat([z, torch.eye(cfg.n_labels, device=device, dtype=z.dtype)[y_fake]], dim=1)
    # bf16 autocast where the device has native bf16 (TrainState.amp). No weight-cast cache: a CUDA graph capture
    # must not keep casts made outside it.
    def amp() -> torch.autocast:
        return torch.autocast(device.type, dtype=torch.bfloat16, enabled=s.amp, cache_enabled=False)

    with amp():
        fake = s.G(z)                                                 # (B, 1, 48, 48)
    ac = cfg.ac_weight > 0

    def D(x: torch.Tensor, y: torch.Tensor | None, emotions: bool = False):
        return s.D(x, y, with_emotions=emotions) if cfg.conditional else s.D(x)

    def emotion_loss(head: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
        if cfg.ac_loss == "d2dce":
            return d2d_ce(head.float(), s.D.emotion_proxies(y).float(), y)
        return F.cross_entropy(head.float(), y)

    s.D.requires_grad_(True)
    real_in, fake_in = real, fake.detach()
    if gamma > 0:           # the penalties differentiate D's logits by its inputs (through DiffAugment, if on)
        real_in, fake_in = real.requires_grad_(True), fake_in.requires_grad_(True)
    with amp():
        # The head reads real faces only in D's step (ACGAN-Mod), so the fakes skip it.
        real_out, fake_logits = D(aug(real_in), y_real, ac), D(aug(fake_in), y_fake)
    real_logits = real_out[0] if ac else real_out
    # Losses in float32 from the logits: bf16 would keep three significant digits of the logged curves.
    real_logits, fake_logits = real_logits.float(), fake_logits.float()
    loss_D = d_loss_fn(real_logits, fake_logits)
    if ac:      # ACGAN-Mod: D's emotion head learns from real faces only, so fakes cannot teach it wrong emotions
        loss_D = loss_D + cfg.ac_weight * emotion_loss(real_out[1], y_real)
    penalised = loss_D + grad_penalty((real_logits, fake_logits), (real_in, fake_in), gamma) if gamma > 0 else loss_D
    s.opt_D.zero_grad(set_to_none=True)
    penalised.backward()
    s.opt_D.step()

    s.D.requires_grad_(False)                                         # G's step needs no gradient for D's weights
    with amp():
        fake_out_G = D(aug(fake), y_fake, ac)
    fake_logits_G = (fake_out_G[0] if ac else fake_out_G).float()
    if cfg.loss in PAIRED:  # each fake against a real face, judged by the D just updated
        with torch.no_grad(), amp():
            real_logits_G = D(aug(real.detach()), y_real).float()
        loss_G = g_loss_fn(fake_logits_G, real_logits_G)
    else:
        loss_G = g_loss_fn(fake_logits_G)
    if ac:      # G is pushed towards faces D's head reads as the emotion asked for
        loss_G = loss_G + cfg.ac_weight * emotion_loss(fake_out_G[1], y_fake)
    s.opt_G.zero_grad(set_to_none=True)
    loss_G.backward()
    s.opt_G.step()

    if s.G_ema is not None:
        decay = cfg.ema_decay if cfg.ema_halflife_kimg <= 0 else \
            min(cfg.ema_decay, halflife_decay(cfg.ema_halflife_kimg * 1000, batch))
        ema_update(s.G_ema.parameters(), s.G.parameters(), s.ema_steps, decay,
                   copied=zip(s.G_ema.buffers(), s.G.buffers()), ramp=cfg.ema_ramp)
    with torch.no_grad():
        # .float(): under bf16 autocast the logits are bf16 while the losses are fp32.
        return torch.stack([loss_D.detach().float(), loss_G.detach().float(),
                            torch.sigmoid(real_logits.detach().float()).mean(),
                            torch.sigmoid(fake_logits.detach().float()).mean()])


# ---------------------------------------------------------------- the loop

def train(faces: FaceSet, run_dir: str | Path, options: TrainConfig | None = None, *,
          model: str | GANConfig = "M1", seed: int = 0, progress_fn: Callable[[Progress], None] | None = None,
          abort_fn: Callable[[], bool] | None = None, **changes: Any) -> RunResult:
    """Train one model on `faces` into `run_dir` (or continue it with resume=True); see train_many."""
    [result] = train_many(faces, [Job(model, Path(run_dir), seed)], options, progress_fn=progress_fn,
                          abort_fn=abort_fn, **changes)
    return result


def train_many(faces: FaceSet, jobs: list[Job], options: TrainConfig | None = None, *,
               progress_fn: Callable[[Progress], None] | None = None,
               abort_fn: Callable[[], bool] | None = None, **changes: Any) -> list[RunResult]:
    """Train every job's model on `faces`, stepped together iteration by iteration, each into its own run folder.

    `options` (default: TrainConfig()) with `changes` to its fields (iters=12, ...) says how: TrainConfig lists them.

    Snapshots (sample grid of the run's fixed latents + G weights) are written every `snapshot_every` iterations,
    at `snapshot_at`, at the end and when stopped. Each run draws exactly what it
    would draw alone, and on the CPU a resumed run reproduces an uninterrupted one exactly: all RNG and optimizer
    state is restored. progress_fn is called after every flush of the loss log; abort_fn, when it returns True,
    stops every run cleanly (resumable), as Ctrl-C does.
    """
    o = (options or TrainConfig()).replace(**changes)
    dev = resolve_device(str(o.device))
    cuda = dev.type == "cuda"
    amp = fast_bf16(dev) if o.amp is None else o.amp
    graphs = cuda if o.cuda_graphs is None else o.cuda_graphs
    if graphs and not cuda:
        raise RunError("CUDA graphs need a CUDA device (use --device cuda, or --no-graphs)")
    names = [Path(j.run_dir).name for j in jobs]
    if len(set(names)) != len(names):
        raise RunError(f"two runs would share a folder name: {', '.join(names)}")
    configs = [get_config(j.model) if isinstance(j.model, str) else j.model for j in jobs]
    for cfg in configs:         # before any run folder is made: a refusal must leave none half-made
        check_emotion(cfg, o.emotion)
        check_recipe(cfg)
    stepwise = [cfg.name for cfg in configs if not graph_safe(cfg)]
    if graphs and stepwise:     # eager steps instead: same results, the host sets each step's rates
        if o.cuda_graphs:
            raise RunError(f"{stepwise[0]} changes its step with the iteration (schedules or penalties), which a "
                           "replayed CUDA graph cannot: train it with --no-graphs")
        graphs = False
    sessions: list[RunSession] = []
    try:
        for j, cfg in zip(jobs, configs):
            sessions.append(RunSession(faces, Path(j.run_dir), cfg, o, seed=j.seed, device=dev,
                                       own_generator=not graphs, capturable=graphs, amp=amp))
        return _loop(sessions, faces, dev, o, graphs, progress_fn, abort_fn)
    finally:
        for sess in sessions:         # finish() has let go of them already unless an error ended the training
            sess.close()


@contextmanager
def _own_rng(session: RunSession) -> Iterator[None]:
    """Swap in this run's global CPU RNG (dropout, DiffAugment) so runs stepped together keep their own streams."""
    torch.set_rng_state(session.cpu_rng)
    try:
        yield
    finally:
        session.cpu_rng = torch.get_rng_state()


class _Writer:
    """Writes snapshots in order, on a background thread on a GPU (file I/O never stalls it), inline elsewhere;
    a failed write surfaces in the training thread."""

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


class _PendingLosses:
    """Loss stats still on the device, with the time each iteration ended: read back in one host sync per flush."""

    def __init__(self) -> None:
        self.blocks: list[tuple[int, torch.Tensor]] = []   # (first iteration, (runs, k, 4) device tensor)
        self.stamps: list[float] = []                      # perf_counter when each iteration ended

    def __len__(self) -> int:
        return len(self.stamps)

    def add(self, first: int, stats: torch.Tensor) -> None:
        self.blocks.append((first, stats))
        self.stamps.extend([time.perf_counter()] * stats.shape[1])    # a graph block: all at its end

    def take(self) -> tuple[int, list[list[list[float]]], list[float]]:
        """(first iteration, values per run (runs, k, 4), end times); empties the buffer."""
        first = self.blocks[0][0]
        values = torch.cat([v for _, v in self.blocks], dim=1).tolist()
        stamps = self.stamps
        self.blocks, self.stamps = [], []
        return first, values, stamps


def _interrupt(sessions: list[RunSession], message: str) -> None:
    for sess in sessions:
        if sess.status is RunStatus.RUNNING:
            sess.status, sess.message = RunStatus.INTERRUPTED, message


def _flush(sessions: list[RunSession], pending: _PendingLosses, writer: _Writer, iteration: int,
           options: TrainConfig, state_every: int) -> bool:
    """Losses to disk (one host sync), then the snapshots that are due; False when there was nothing to flush."""
    if not len(pending):
        return False
    first, values, stamps = pending.take()
    for sess, vals in zip(sessions, values):
        rows = sess.rows(first, vals, stamps)
        snap = None
        if sess.due(iteration) and sess.status is RunStatus.RUNNING:
            with _own_rng(sess):
                with_state = iteration % state_every == 0 or iteration == options.iters
                snap = sess.capture_snapshot(iteration, with_state=with_state)
        writer.submit(partial(_write, sess, rows, snap))
    return True


def _write(sess: RunSession, rows: list[dict[str, float]], snap: dict | None) -> None:
    sess.writer.append_losses(rows)
    if snap is not None:
        sess.write_snapshot(snap)


def _report(progress_fn: Callable[[Progress], None] | None, sessions: list[RunSession], iteration: int,
            iters: int) -> None:
    if progress_fn is not None:
        progress_fn(Progress(iteration, iters, sessions[0].last_row, sessions[0].due(iteration)))


def _loop(sessions: list[RunSession], faces: FaceSet, dev: torch.device, o: TrainConfig, graphs: bool,
          progress_fn: Callable[[Progress], None] | None, abort_fn: Callable[[], bool] | None) -> list[RunResult]:
    # Where the runs stand: resumed together, they must stand at the same iteration.
    starts = {sess.state.iteration for sess in sessions}
    if len(starts) != 1:
        raise RunError("runs resumed together must stand at the same iteration "
                       f"({', '.join(f'{s.path.name}: {s.state.iteration}' for s in sessions)}); resume them one by one")
    start = iteration = starts.pop()
    state_every = o.state_every or (max(o.snapshot_every, 500) if dev.type == "cuda" else 1)

    # The faces, resident on the device as uint8 (N, 48, 48), with their emotions for conditional models.
    data = torch.from_numpy(np.ascontiguousarray(faces.images)).to(dev)
    labels = torch.from_numpy(np.asarray(faces.labels, dtype=np.int64)).to(dev)
    for sess in sessions:
        sess.state.G.train(), sess.state.D.train()

    def step_of(sess: RunSession) -> torch.Tensor:
        return step(sess.state, sess.cfg, data, o.batch, sess.losses, labels)

    writer = _Writer(threaded=dev.type == "cuda")
    pending = _PendingLosses()
    # A host sync per flush: every FLUSH_EVERY iterations eagerly, every 50 (five blocks) with graphs.
    flush_every = 50 if graphs else FLUSH_EVERY
    graph_block = cuda_graphs.block_size(o.block, start, o.iters, o.snapshot_every, o.snapshot_at) if graphs else 0
    graph = logbufs = None
    try:
        with StopFlag() as stop:
            while iteration < o.iters:
                # Stop on Ctrl-C or the abort hook, between steps.
                if stop.set or (abort_fn is not None and abort_fn()):
                    _interrupt(sessions, f"stopped at iteration {iteration}; continue with --resume")
                    break

                # Capture the CUDA graph once the eager warm-up steps have run.
                use_graph = graph_block > 1 and iteration - start >= cuda_graphs.WARMUP \
                    and iteration % graph_block == 0 and iteration + graph_block <= o.iters
                if use_graph and graph is None:
                    try:
                        graph, logbufs = cuda_graphs.capture(sessions, graph_block, step_of)
                    except RuntimeError as e:
                        # Nothing ran during the failed capture, so the models are untouched: go on eagerly
                        # (slower, same results) rather than lose the run.
                        warnings.warn(f"CUDA graph capture failed ({first_line(e)}); "
                                      "continuing without graphs", RuntimeWarning, stacklevel=2)
                        graph_block = 0
                        continue

                # Train: a replayed block of iterations, or one eager iteration of every run.
                if use_graph:
                    graph.replay()
                    pending.add(iteration + 1, torch.stack(logbufs).clone())
                    iteration += graph_block
                else:
                    iteration += 1
                    stats = []
                    for sess in sessions:
                        with _own_rng(sess):
                            stats.append(step_of(sess))
                    pending.add(iteration, torch.stack(stats).unsqueeze(1))
                for sess in sessions:
                    sess.state.iteration = iteration

                # Log losses and write the snapshots that are due.
                if any(s.due(iteration) for s in sessions) or len(pending) >= flush_every:
                    _flush(sessions, pending, writer, iteration, o, state_every)
                    _report(progress_fn, sessions, iteration, o.iters)
                    diverged = [s.path.name for s in sessions if s.status is RunStatus.DIVERGED]
                    if diverged:    # the runs step together: stop the others cleanly, resumable
                        _interrupt(sessions, f"stopped at iteration {iteration} because {diverged[0]} diverged; "
                                             "continue with --resume")
                        break

            # The last losses, and a snapshot where a stopped run has none at its last iteration.
            if _flush(sessions, pending, writer, iteration, o, state_every):
                _report(progress_fn, sessions, iteration, o.iters)
            for sess in sessions:
                if sess.status is RunStatus.INTERRUPTED and (not sess.snapshots
                                                             or sess.snapshots[-1]["iteration"] < iteration):
                    with _own_rng(sess):
                        snap = sess.capture_snapshot(iteration)
                    writer.submit(partial(sess.write_snapshot, snap))
    finally:
        writer.close()
    return [sess.finish() for sess in sessions]

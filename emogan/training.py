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
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F

from . import cuda_graphs
from .augment import diff_augment
from .data import FaceSet
from .device import fast_bf16, resolve_device
from .ema import ema_update
from .errors import RunError
from .images import to_model_input
from .models import GANConfig, get_config
from .original import ORIGINAL_ITERATIONS
from .run_session import RunResult, RunSession, check_emotion
from .stopping import StopFlag
from .train_state import TrainState

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

    A conditional model also needs `labels` (N,), the emotion of every face in `data`."""
    d_loss_fn, g_loss_fn = losses
    device = data.device
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
    D = (lambda x, y: s.D(x, y, with_emotions=ac)) if cfg.conditional else (lambda x, y: s.D(x))

    s.D.requires_grad_(True)
    with amp():
        real_out, fake_out = D(aug(real), y_real), D(aug(fake.detach()), y_fake)
    real_logits, fake_logits = (real_out[0], fake_out[0]) if ac else (real_out, fake_out)
    # Losses in float32 from the logits: bf16 would keep three significant digits of the logged curves.
    real_logits, fake_logits = real_logits.float(), fake_logits.float()
    loss_D = d_loss_fn(real_logits, fake_logits)
    if ac:      # ACGAN-Mod: D's emotion head learns from real faces only, so fakes cannot teach it wrong emotions
        loss_D = loss_D + cfg.ac_weight * F.cross_entropy(real_out[1].float(), y_real)
    s.opt_D.zero_grad(set_to_none=True)
    loss_D.backward()
    s.opt_D.step()

    s.D.requires_grad_(False)                                         # G's step needs no gradient for D's weights
    with amp():
        fake_out_G = D(aug(fake), y_fake)
    loss_G = g_loss_fn((fake_out_G[0] if ac else fake_out_G).float())
    if ac:      # G is pushed towards faces D's head reads as the emotion asked for
        loss_G = loss_G + cfg.ac_weight * F.cross_entropy(fake_out_G[1].float(), y_fake)
    s.opt_G.zero_grad(set_to_none=True)
    loss_G.backward()
    s.opt_G.step()

    if s.G_ema is not None:
        ema_update(s.G_ema.parameters(), s.G.parameters(), s.ema_steps, cfg.ema_decay,
                   copied=zip(s.G_ema.buffers(), s.G.buffers()), ramp=cfg.ema_ramp)
    with torch.no_grad():
        # .float(): under bf16 autocast the logits are bf16 while the losses are fp32.
        return torch.stack([loss_D.detach().float(), loss_G.detach().float(),
                            torch.sigmoid(real_logits.detach().float()).mean(),
                            torch.sigmoid(fake_logits.detach().float()).mean()])


# ---------------------------------------------------------------- the loop

def train(faces: FaceSet, run_dir: str | Path, *, model: str | GANConfig = "M1", seed: int = 0,
          **kwargs) -> RunResult:
    """Train one model on `faces` into `run_dir` (or continue it with resume=True); see train_many."""
    [result] = train_many(faces, [Job(model, Path(run_dir), seed)], **kwargs)
    return result


def train_many(faces: FaceSet, jobs: list[Job], *, emotion: str = "all", iters: int = 5000, batch: int = 64,
               snapshot_every: int = 50, snapshot_at: tuple[int, ...] = ORIGINAL_ITERATIONS,
               weights_every: int | None = None, latent_seed: int = 0, n_fixed: int = 64,
               device: str | torch.device = "auto", resume: bool = False, command: list[str] | None = None,
               amp: bool | None = None, cuda_graphs: bool | None = None, block: int = 10, state_every: int | None = None,
               progress_fn: Callable[[Progress], None] | None = None,
               abort_fn: Callable[[], bool] | None = None) -> list[RunResult]:
    """Train every job's model on `faces`, stepped together iteration by iteration, each into its own run folder.

    Snapshots (sample grid of the run's fixed latents + G weights) are written every `snapshot_every` iterations,
    at `snapshot_at`, at the end and when stopped; `weights_every` thins the weights (default: every snapshot).
    amp (bf16 autocast + channels_last) defaults to on where the device has native bf16. cuda_graphs (default: on
    CUDA) replays `block` iterations of all models as one CUDA graph. `state_every` (default: at every snapshot on
    the CPU, every 500 iterations on CUDA) sets how often the full resume state is written: copying it off a GPU
    every 50 iterations would cost more than the training. Each run draws exactly what it would draw alone, and on
    the CPU a resumed run reproduces an uninterrupted one exactly: all RNG and optimizer state is restored.
    """
    dev = device if isinstance(device, torch.device) else resolve_device(device)
    cuda = dev.type == "cuda"
    amp = fast_bf16(dev) if amp is None else amp
    cuda_graphs = cuda if cuda_graphs is None else cuda_graphs
    if cuda_graphs and not cuda:
        raise RunError("CUDA graphs need a CUDA device (use --device cuda, or --no-graphs)")
    state_every = state_every or (max(snapshot_every, 500) if cuda else 1)
    names = [Path(j.run_dir).name for j in jobs]
    if len(set(names)) != len(names):
        raise RunError(f"two runs would share a folder name: {', '.join(names)}")
    configs = [get_config(j.model) if isinstance(j.model, str) else j.model for j in jobs]
    for cfg in configs:         # before any run folder is made: a refusal must leave none half-made
        check_emotion(cfg, emotion)
    sessions: list[RunSession] = []
    try:
        for j, cfg in zip(jobs, configs):
            sessions.append(RunSession(
                faces, Path(j.run_dir), cfg, emotion=emotion, iters=iters, batch=batch, snapshot_every=snapshot_every,
                snapshot_at=snapshot_at, weights_every=weights_every, seed=j.seed, latent_seed=latent_seed,
                n_fixed=n_fixed, device=dev, resume=resume, command=command, own_generator=not cuda_graphs,
                capturable=cuda_graphs, amp=amp))
        return _loop(sessions, faces, dev, graphs=cuda_graphs, iters=iters, batch=batch,
                     snapshot_every=snapshot_every, snapshot_at=snapshot_at, block=block, state_every=state_every,
                     progress_fn=progress_fn, abort_fn=abort_fn)
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


def _loop(sessions: list[RunSession], faces: FaceSet, dev: torch.device, *, graphs: bool, iters: int, batch: int,
          snapshot_every: int, snapshot_at: tuple[int, ...], block: int, state_every: int,
          progress_fn: Callable[[Progress], None] | None, abort_fn: Callable[[], bool] | None) -> list[RunResult]:
    starts = {s.s.iteration for s in sessions}
    if len(starts) != 1:
        raise RunError("runs resumed together must stand at the same iteration "
                       f"({', '.join(f'{s.path.name}: {s.s.iteration}' for s in sessions)}); resume them one by one")
    start = starts.pop()
    data = torch.from_numpy(np.ascontiguousarray(faces.images)).to(dev)   # resident uint8 (N, 48, 48)
    labels = torch.from_numpy(np.asarray(faces.labels, dtype=np.int64)).to(dev)   # for conditional models
    for sess in sessions:
        sess.s.G.train(), sess.s.D.train()
    writer = _Writer(threaded=dev.type == "cuda")
    iteration = start
    pending: list[tuple[int, torch.Tensor]] = []       # (first iteration, (runs, k, 4) device tensor)
    stamps: list[float] = []                           # when each pending iteration ended (a graph block: its end)
    # A host sync per flush: every FLUSH_EVERY iterations eagerly, every 50 (five blocks) with graphs.
    flush_every = 50 if graphs else FLUSH_EVERY

    def step_of(sess: RunSession) -> torch.Tensor:
        return step(sess.s, sess.cfg, data, batch, sess.losses, labels)

    def eager_step() -> None:
        nonlocal iteration
        iteration += 1
        stats = []
        for sess in sessions:
            sess.s.iteration = iteration
            with _own_rng(sess):
                stats.append(step_of(sess))
        pending.append((iteration, torch.stack(stats).unsqueeze(1)))
        stamps.append(time.perf_counter())

    def flush_and_snapshot() -> bool:
        """Losses to disk (one host sync), then snapshots if due; False once a run diverged."""
        if not pending:
            return True
        first = pending[0][0]
        values = torch.cat([v for _, v in pending], dim=1).tolist()    # (runs, k, 4)
        ends = list(stamps)
        pending.clear(), stamps.clear()
        ok = True
        for sess, vals in zip(sessions, values):
            rows = sess.rows(first, vals, ends)
            snap = None
            if sess.due(iteration) and sess.state == "done":
                with _own_rng(sess):
                    with_state = iteration % state_every == 0 or iteration == iters
                    snap = sess.capture_snapshot(iteration, with_state=with_state)

            def write(sess: RunSession = sess, rows: list = rows, snap: dict | None = snap) -> None:
                sess.writer.append_losses(rows)
                if snap is not None:
                    sess.write_snapshot(snap)
            writer.submit(write)
            ok = ok and sess.state != "diverged"
        if not ok:    # the runs step together: stop the others cleanly, resumable
            bad = next(s.path.name for s in sessions if s.state == "diverged")
            for sess in sessions:
                if sess.state == "done":
                    sess.state, sess.message = "interrupted", f"stopped at iteration {iteration} because {bad} " \
                                                              "diverged; continue with --resume"
        if progress_fn is not None:
            progress_fn(Progress(iteration, iters, sessions[0].last_row, sessions[0].due(iteration)))
        return ok

    graph_block = cuda_graphs.block_size(block, start, iters, snapshot_every, snapshot_at) if graphs else 0
    graph = None
    try:
        with StopFlag() as stop:
            while iteration < iters:
                if stop.set or (abort_fn is not None and abort_fn()):
                    for sess in sessions:
                        sess.state, sess.message = "interrupted", \
                            f"stopped at iteration {iteration}; continue with --resume"
                    break
                use_graph = graph_block > 1 and iteration - start >= cuda_graphs.WARMUP \
                    and iteration % graph_block == 0 and iteration + graph_block <= iters
                if use_graph and graph is None:
                    try:
                        graph, logbufs = cuda_graphs.capture(sessions, graph_block, step_of)
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
                    stamps.extend([time.perf_counter()] * graph_block)
                else:
                    eager_step()
                if any(s.due(iteration) for s in sessions) or len(stamps) >= flush_every:
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

"""Training one GAN into a run folder: a function with explicit arguments and progress/abort hooks."""

from __future__ import annotations

import copy
import json
import os
import platform
import signal
import sys
import threading
import time
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path
from typing import Any, Callable

import numpy as np
import torch

from . import __version__, checkpoint
from .augment import diff_augment
from .data import FaceSet
from .ema import ema_update
from .device import resolve_device
from .errors import RunError
from .images import make_grid, to_model_input
from .io import OutputError, atomic_write_json, remove_temp_files
from .lock import TRAIN_LOCK, FolderLock
from .losses import get_losses
from .models import GANConfig, build_discriminator, build_generator, get_config
from .provenance import device_name
from .runs import CONFIG, RUN_FORMAT, STATE, Run, RunWriter
from .sampling import generate, random_latents

# The iterations the original project showed on its slides; snapshots (with weights) are always taken there.
ORIGINAL_ITERATIONS = (950, 1900, 2950, 4110, 4700, 4850)
FLUSH_EVERY = 10  # iterations between loss-log appends: the host reads losses in blocks, not every step


@dataclass(frozen=True)
class Progress:
    iteration: int
    iters: int
    row: dict[str, float]         # the latest logged losses
    snapshot: bool                # whether a snapshot was just written


@dataclass(frozen=True)
class TrainResult:
    path: Path
    iteration: int
    state: str                    # "done", "interrupted" or "diverged"
    message: str


class _StopFlag:
    """Ctrl-C / SIGTERM set a flag checked between iterations, so a stop never splits a D and G update."""

    def __init__(self) -> None:
        self.set = False
        self._old: dict[int, Any] = {}

    def _handle(self, signum: int, frame: Any) -> None:
        if self.set:                                   # a second Ctrl-C means "now"
            raise KeyboardInterrupt
        self.set = True

    def __enter__(self) -> "_StopFlag":
        if threading.current_thread() is threading.main_thread():
            for sig in (signal.SIGINT, signal.SIGTERM):
                self._old[sig] = signal.signal(sig, self._handle)
        return self

    def __exit__(self, *exc: Any) -> None:
        for sig, old in self._old.items():
            signal.signal(sig, old)


@dataclass
class _State:
    G: torch.nn.Module
    D: torch.nn.Module
    G_ema: torch.nn.Module | None
    opt_G: torch.optim.Optimizer
    opt_D: torch.optim.Optimizer
    gen: torch.Generator | None   # draws batch indices and z: the run's data order (None: the default generator)
    iteration: int = 0
    elapsed: float = 0.0
    ema_steps: torch.Tensor | None = None   # G updates averaged into G_ema: a device tensor, so CUDA graphs count too

    @property
    def sampler(self) -> torch.nn.Module:
        return self.G_ema if self.G_ema is not None else self.G


def build_state(cfg: GANConfig, seed: int, device: torch.device, own_generator: bool = True,
                capturable: bool = False) -> _State:
    """Models, optimizers and RNG of one run, initialised from `seed`."""
    torch.manual_seed(seed)
    G, D = build_generator(cfg).to(device), build_discriminator(cfg).to(device)
    G_ema = copy.deepcopy(G).eval().requires_grad_(False) if cfg.ema_decay > 0 else None
    kw = {"capturable": True} if capturable else {}
    opt_G = torch.optim.Adam(G.parameters(), lr=cfg.lr_g, betas=(cfg.beta1, cfg.beta2), **kw)
    opt_D = torch.optim.Adam(D.parameters(), lr=cfg.lr_d, betas=(cfg.beta1, cfg.beta2), **kw)
    gen = torch.Generator(device=device).manual_seed(seed) if own_generator else None
    ema_steps = torch.zeros((), device=device) if G_ema is not None else None
    return _State(G, D, G_ema, opt_G, opt_D, gen, ema_steps=ema_steps)


# ---------------------------------------------------------------- resume state: one safetensors file, JSON in its metadata

def state_payload(s: _State, device: torch.device) -> tuple[dict[str, torch.Tensor], dict[str, str]]:
    """Everything `--resume` needs, copied to the CPU (so a background thread can write it while training goes on)."""
    tensors: dict[str, torch.Tensor] = {}
    meta: dict[str, str] = {"iteration": str(s.iteration), "elapsed": repr(s.elapsed)}
    for name in ("G", "D", "G_ema"):
        m = getattr(s, name)
        if m is not None:
            tensors.update({f"{name}.{k}": v for k, v in m.state_dict().items()})
    for name in ("opt_G", "opt_D"):
        sd = getattr(s, name).state_dict()
        for idx, st in sd["state"].items():
            for k, v in st.items():
                tensors[f"{name}.{idx}.{k}"] = v if torch.is_tensor(v) else torch.tensor(v)
        meta[f"{name}.param_groups"] = json.dumps(sd["param_groups"])
    tensors["rng.cpu"] = torch.get_rng_state()
    if device.type == "cuda":
        tensors["rng.cuda"] = torch.cuda.get_rng_state(device)
    if s.gen is not None:
        tensors["rng.gen"] = s.gen.get_state()
    if s.ema_steps is not None:
        tensors["ema.steps"] = s.ema_steps
    return {k: v.detach().to("cpu").clone() for k, v in tensors.items()}, meta


def _load_state(path: Path, s: _State, device: torch.device) -> None:
    tensors, meta = checkpoint.read_tensors(path)
    try:
        for name in ("G", "D", "G_ema"):
            m = getattr(s, name)
            if m is not None:
                checkpoint.load_into(m, tensors, path, prefix=f"{name}.")
        for name in ("opt_G", "opt_D"):
            opt = getattr(s, name)
            state: dict[int, dict[str, torch.Tensor]] = {}
            for key, v in tensors.items():
                if key.startswith(name + "."):
                    _, idx, k = key.split(".", 2)
                    state.setdefault(int(idx), {})[k] = v
            groups = json.loads(meta[f"{name}.param_groups"])
            for g, cur in zip(groups, opt.param_groups):   # capturable is a property of this process, not the file
                g["capturable"] = cur.get("capturable", False)
            opt.load_state_dict({"state": state, "param_groups": groups})
        torch.set_rng_state(tensors["rng.cpu"])
        if device.type == "cuda" and "rng.cuda" in tensors:
            torch.cuda.set_rng_state(tensors["rng.cuda"], device)
        if s.gen is not None and "rng.gen" in tensors:
            s.gen.set_state(tensors["rng.gen"])
        s.iteration, s.elapsed = int(meta["iteration"]), float(meta["elapsed"])
        if s.ema_steps is not None:    # states written before the count was kept: one G update per iteration
            s.ema_steps.copy_(tensors["ema.steps"] if "ema.steps" in tensors else torch.tensor(float(s.iteration)))
    except (KeyError, ValueError, RuntimeError) as e:
        raise RunError(f"{path}: resume state is incomplete or damaged ({str(e).splitlines()[0] if str(e) else e!r})") from None


# ---------------------------------------------------------------- one step

def step(s: _State, cfg: GANConfig, data: torch.Tensor, batch: int, losses: tuple,
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
    fake = s.G(z)                                                     # (B, 1, 48, 48)
    D = (lambda x, y: s.D(x, y)) if cfg.conditional else (lambda x, y: s.D(x))

    s.D.requires_grad_(True)
    real_logits, fake_logits = D(aug(real), y_real), D(aug(fake.detach()), y_fake)
    loss_D = d_loss_fn(real_logits, fake_logits)
    s.opt_D.zero_grad(set_to_none=True)
    loss_D.backward()
    s.opt_D.step()

    s.D.requires_grad_(False)                                         # G's step needs no gradient for D's weights
    loss_G = g_loss_fn(D(aug(fake), y_fake))
    s.opt_G.zero_grad(set_to_none=True)
    loss_G.backward()
    s.opt_G.step()

    if s.G_ema is not None:
        ema_update(s.G_ema.parameters(), s.G.parameters(), s.ema_steps, cfg.ema_decay,
                   copied=zip(s.G_ema.buffers(), s.G.buffers()))
    with torch.no_grad():
        # .float(): under bf16 autocast the logits are bf16 while the losses are fp32.
        return torch.stack([loss_D.detach().float(), loss_G.detach().float(),
                            torch.sigmoid(real_logits.detach().float()).mean(),
                            torch.sigmoid(fake_logits.detach().float()).mean()])


# ---------------------------------------------------------------- the loop

def run_config(cfg: GANConfig, faces: FaceSet, *, name: str, emotion: str, iters: int, batch: int, snapshot_every: int,
               seed: int, latent_seed: int, n_fixed: int, device: torch.device, command: list[str] | None) -> dict[str, Any]:
    return {
        "format": RUN_FORMAT, "name": name, "model": cfg.name, "model_config": cfg.to_dict(), "emotion": emotion,
        "data": {"source": faces.source, "split": faces.split, "content_hash": faces.content_hash,
                 "n_images": len(faces), "n_converted": faces.n_converted},
        "seed": seed, "latent_seed": latent_seed, "iters": iters, "batch": batch, "snapshot_every": snapshot_every,
        "n_fixed": n_fixed,
        "device": device_name(device),
        "versions": {"emogan": __version__, "torch": torch.__version__, "numpy": np.__version__,
                     "python": platform.python_version()},
        "created": datetime.now(timezone.utc).isoformat(timespec="seconds"),
        "command": command if command is not None else sys.argv,
    }


def check_emotion(cfg: GANConfig, emotion: str) -> None:
    """A conditional model learns every emotion at once (and is asked for one when drawing): one-emotion data
    would leave it nothing to condition on."""
    if cfg.conditional and emotion != "all":
        raise RunError(f"{cfg.name} is conditional: it learns every emotion at once and is asked for one when "
                       f"drawing; train it with --emotion all, not {emotion}")


class RunSession:
    """One run's bookkeeping around the step loop: create or resume the folder, log losses, write snapshots.

    Shared by the plain loop below and the concurrent trainer (emogan.fast), so both write the same run folders.
    """

    def __init__(self, faces: FaceSet, run_dir: Path, cfg: GANConfig, *, emotion: str, iters: int, batch: int,
                 snapshot_every: int, snapshot_at: tuple[int, ...], weights_every: int | None, seed: int,
                 latent_seed: int, n_fixed: int, device: torch.device, resume: bool, command: list[str] | None,
                 own_generator: bool = True, capturable: bool = False):
        if iters < 1 or batch < 1 or snapshot_every < 1 or n_fixed < 1:
            raise RunError(f"{run_dir}: iters, batch, snapshot-every and n-fixed must be positive")
        if len(faces) == 0:
            raise RunError(f"{faces.source}: no training images")
        check_emotion(cfg, emotion)
        preflight(run_dir, resume)
        run_dir.mkdir(parents=True, exist_ok=True)
        self.lock = FolderLock(run_dir, TRAIN_LOCK, "trained").acquire()
        try:
            preflight(run_dir, resume, probe_lock=False)   # again, locked: another process may have started it
            self.path, self.cfg, self.iters, self.device = run_dir, cfg, iters, device
            self.snapshot_every, self.snapshot_at = snapshot_every, tuple(snapshot_at)
            self.weights_every = weights_every or snapshot_every
            self.writer = RunWriter(run_dir)
            self.s = build_state(cfg, seed, device, own_generator, capturable)
            self.snapshots: list[dict[str, Any]] = []
            if resume:                     # temp files of writes that a kill cut short would otherwise pile up
                for folder in (run_dir, run_dir / "samples", run_dir / "weights"):
                    remove_temp_files(folder)
            if resume and (run_dir / CONFIG).exists():
                run = Run(run_dir)
                _check_resumable(run, cfg, faces, seed, batch)
                self.latents = run.fixed_latents()
                if (run_dir / STATE).exists():
                    _load_state(run_dir / STATE, self.s, device)
                self.snapshots = [e for e in run.snapshots() if e["iteration"] <= self.s.iteration]
                self.writer.truncate_losses(self.s.iteration)
                if run.config.get("iters") != iters:
                    atomic_write_json(run_dir / CONFIG, dict(run.config, iters=iters))
            else:
                self.latents = random_latents(n_fixed, cfg.z_dim, latent_seed)
                self.writer.create(run_config(cfg, faces, name=run_dir.name, emotion=emotion, iters=iters, batch=batch,
                                              snapshot_every=snapshot_every, seed=seed, latent_seed=latent_seed,
                                              n_fixed=n_fixed, device=device, command=command), self.latents)
            self.losses = get_losses(cfg.loss)
            self.t0 = time.perf_counter() - self.s.elapsed
            self.state, self.message = "done", ""
            self.last_row: dict[str, float] = {}
        except BaseException:
            self.lock.release()
            raise

    def due(self, it: int) -> bool:
        return it % self.snapshot_every == 0 or it in self.snapshot_at or it == self.iters

    def rows(self, first: int, values: list[list[float]], seconds: float) -> list[dict[str, float]]:
        """Loss rows for iterations first, first+1, ...; marks the run diverged at the first NaN/inf loss."""
        out = []
        for i, v in enumerate(values):
            row = {"iteration": first + i, "loss_D": v[0], "loss_G": v[1], "D_x": v[2], "D_G_z": v[3],
                   "seconds": seconds}
            out.append(row)
            if not (np.isfinite(v[0]) and np.isfinite(v[1])):
                self.state, self.message = "diverged", f"losses became NaN/inf at iteration {first + i}"
                break
        if out:
            self.last_row = out[-1]
        return out

    def capture_snapshot(self, it: int, with_state: bool = True) -> dict[str, Any]:
        """What a snapshot writes, copied off the device now so that writing can happen elsewhere."""
        keep = it % self.weights_every == 0 or it in self.snapshot_at or it == self.iters or self.state != "done"
        self.s.elapsed = time.perf_counter() - self.t0
        return {"iteration": it, "faces": generate(self.s.sampler, self.latents),
                "weights": checkpoint.generator_payload(self.s.sampler, it) if keep else None,
                "state": state_payload(self.s, self.device) if with_state else None}

    def write_snapshot(self, snap: dict[str, Any]) -> None:
        """Files first, then the index that lists them, then the resume state: a kill between leaves no lies."""
        it = snap["iteration"]
        self.snapshots = [e for e in self.snapshots if e["iteration"] != it]
        self.snapshots.append(self.writer.write_snapshot_files(it, make_grid(snap["faces"], ncols=8), snap["weights"]))
        self.snapshots.sort(key=lambda e: e["iteration"])
        self.writer.write_index(self.snapshots, {"state": "running", "iteration": it, "message": ""})
        if snap["state"] is not None:
            checkpoint.save_tensors(self.path / STATE, *snap["state"])

    def finish(self) -> TrainResult:
        try:
            self.writer.write_index(self.snapshots, {"state": self.state, "iteration": self.s.iteration,
                                                     "message": self.message})
        finally:
            self.close()
        return TrainResult(self.path, self.s.iteration, self.state, self.message)

    def close(self) -> None:
        """Let other processes at the run (finish() calls it; trainers call it when an error ends a run)."""
        self.lock.release()


def train(faces: FaceSet, run_dir: str | Path, *, model: str | GANConfig = "M1", emotion: str = "all",
          iters: int = 5000, batch: int = 64, snapshot_every: int = 50,
          snapshot_at: tuple[int, ...] = ORIGINAL_ITERATIONS, weights_every: int | None = None,
          seed: int = 0, latent_seed: int = 0, n_fixed: int = 64, device: str | torch.device = "auto",
          resume: bool = False, command: list[str] | None = None,
          progress_fn: Callable[[Progress], None] | None = None,
          abort_fn: Callable[[], bool] | None = None) -> TrainResult:
    """Train one model on `faces` into `run_dir` with a plain eager loop, or continue it with resume=True.

    Snapshots (sample grid of the run's fixed latents + G weights) are written every `snapshot_every` iterations,
    at `snapshot_at`, at the end and when stopped; `weights_every` thins the weights (default: every snapshot).
    On the CPU a resumed run reproduces an uninterrupted one exactly: all RNG and optimizer state is restored.
    """
    cfg = get_config(model) if isinstance(model, str) else model
    dev = device if isinstance(device, torch.device) else resolve_device(device)
    run = RunSession(faces, Path(run_dir), cfg, emotion=emotion, iters=iters, batch=batch,
                     snapshot_every=snapshot_every, snapshot_at=snapshot_at, weights_every=weights_every, seed=seed,
                     latent_seed=latent_seed, n_fixed=n_fixed, device=dev, resume=resume, command=command)
    try:
        return _train_loop(run, faces, iters, batch, dev, progress_fn, abort_fn)
    finally:
        run.close()


def _train_loop(run: RunSession, faces: FaceSet, iters: int, batch: int, dev: torch.device,
                progress_fn: Callable[[Progress], None] | None, abort_fn: Callable[[], bool] | None) -> TrainResult:
    s, cfg = run.s, run.cfg
    data = torch.from_numpy(np.ascontiguousarray(faces.images)).to(dev)   # resident uint8 (N, 48, 48)
    labels = torch.from_numpy(np.asarray(faces.labels, dtype=np.int64)).to(dev) if cfg.conditional else None
    s.G.train(), s.D.train()
    pending: list[tuple[torch.Tensor, float]] = []

    def flush() -> bool:
        if pending:
            first = s.iteration - len(pending) + 1
            vals = torch.stack([v for v, _ in pending]).tolist()          # one host sync per block
            rows = run.rows(first, vals, 0.0)
            for r, (_, sec) in zip(rows, pending):
                r["seconds"] = sec
            run.writer.append_losses(rows)
            pending.clear()
        return run.state != "diverged"

    with _StopFlag() as stop:
        while s.iteration < iters:
            if stop.set or (abort_fn is not None and abort_fn()):
                run.state, run.message = "interrupted", f"stopped at iteration {s.iteration}; continue with --resume"
                break
            s.iteration += 1
            pending.append((step(s, cfg, data, batch, run.losses, labels), time.perf_counter() - run.t0))
            take = run.due(s.iteration)
            if take or len(pending) >= FLUSH_EVERY:
                if not flush():
                    break
                if take:
                    run.write_snapshot(run.capture_snapshot(s.iteration))
                if progress_fn is not None:
                    progress_fn(Progress(s.iteration, iters, run.last_row, take))
        if run.state != "diverged":
            flush()
        if run.state == "interrupted" and (not run.snapshots or run.snapshots[-1]["iteration"] < s.iteration):
            run.write_snapshot(run.capture_snapshot(s.iteration))
    return run.finish()


def preflight(run_dir: Path, resume: bool, probe_lock: bool = True) -> None:
    """Fail at once, before any data is loaded or compute spent: an existing run, a run another process is
    training, or an unwritable folder."""
    if not resume and (run_dir / CONFIG).exists():
        raise RunError(f"{run_dir}: a run already exists here (use --resume to continue it, or another --name)")
    probe = run_dir if run_dir.exists() else next((p for p in run_dir.parents if p.exists()), Path("."))
    if not probe.is_dir():
        raise OutputError(f"{probe}: not a folder, cannot write the run {run_dir}")
    if not os.access(probe, os.W_OK | os.X_OK):
        raise OutputError(f"{probe}: not writable, cannot write the run {run_dir}")
    if probe_lock and (run_dir / TRAIN_LOCK).exists():
        FolderLock(run_dir, TRAIN_LOCK, "trained").acquire().release()    # in use: say so before loading data


def _check_resumable(run: Run, cfg: GANConfig, faces: FaceSet, seed: int, batch: int) -> None:
    c = run.config
    problems = []
    if c.get("model") != cfg.name:
        problems.append(f"model {c.get('model')} != {cfg.name}")
    if c.get("seed") != seed:
        problems.append(f"seed {c.get('seed')} != {seed}")
    if c.get("batch") != batch:
        problems.append(f"batch {c.get('batch')} != {batch}")
    if (c.get("data") or {}).get("content_hash") != faces.content_hash:
        problems.append("the data differs from the data it was trained on")
    if problems:
        raise RunError(f"{run.path}: cannot resume with different settings ({'; '.join(problems)})")

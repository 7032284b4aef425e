"""One run folder while it trains: create or resume it, hold its lock, log losses, write snapshots and the
resume state, and say how it ended. The training loop (emogan.training.loop) drives one or many of these."""

from __future__ import annotations

import os
import platform
import sys
import time
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

import numpy as np
import torch

from emogan import __version__
from emogan.data import FaceSet
from emogan.errors import RunError
from emogan.images import make_grid
from emogan.models import GANConfig
from emogan.runs import checkpoint
from emogan.runs.atomic import OutputError, atomic_write_json, remove_temp_files
from emogan.runs.lock import TRAIN_LOCK, FolderLock
from emogan.runs.provenance import device_name, git_commit
from emogan.runs.store import CONFIG, RUN_FORMAT, STATE, Run, RunWriter
from emogan.sampling import generate, random_latents
from emogan.training.losses import get_losses
from emogan.training.options import RunStatus, TrainConfig
from emogan.training.state import build_state, load_state, state_payload


@dataclass(frozen=True)
class RunResult:
    path: Path
    iteration: int
    status: RunStatus             # done, interrupted or diverged
    message: str


def run_name(model: str, emotion: str, seed: int) -> str:
    """The default run folder name: MODEL-EMOTION-sSEED."""
    return f"{model}-{emotion}-s{seed}"


def run_config(cfg: GANConfig, faces: FaceSet, options: TrainConfig, *, name: str, seed: int, device: torch.device,
               precision: str = "fp32") -> dict[str, Any]:
    o = options
    return {
        "format": RUN_FORMAT, "name": name, "model": cfg.name, "model_config": cfg.to_dict(), "emotion": o.emotion,
        "data": {"source": faces.source, "split": faces.split, "content_hash": faces.content_hash,
                 "n_images": len(faces), "n_converted": faces.n_converted},
        "seed": seed, "latent_seed": o.latent_seed, "iters": o.iters, "batch": o.batch,
        "snapshot_every": o.snapshot_every, "n_fixed": o.n_fixed,
        "device": device_name(device),
        "threads": torch.get_num_threads() if device.type == "cpu" else None,
        "precision": precision,
        "commit": git_commit(),
        "versions": {"emogan": __version__, "torch": torch.__version__, "numpy": np.__version__,
                     "python": platform.python_version()},
        "created": datetime.now(timezone.utc).isoformat(timespec="seconds"),
        "command": list(o.command) if o.command is not None else sys.argv,
    }


def check_emotion(cfg: GANConfig, emotion: str) -> None:
    """A conditional model learns every emotion at once (and is asked for one when drawing): one-emotion data
    would leave it nothing to condition on."""
    if cfg.conditional and emotion != "all":
        raise RunError(f"{cfg.name} is conditional: it learns every emotion at once and is asked for one when "
                       f"drawing; train it with --emotion all, not {emotion}")


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


def _check_resumable(run: Run, cfg: GANConfig, faces: FaceSet, seed: int, batch: int, precision: str) -> None:
    c = run.config
    problems = []
    if c.get("precision", "fp32") != precision:
        flag = "without --no-amp, on a CPU or GPU with native bf16" if precision == "fp32" else "with --no-amp"
        problems.append(f"precision {c.get('precision', 'fp32')} != {precision}: resume it {flag}")
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


class RunSession:
    """One run's bookkeeping around the step loop: create or resume the folder, log losses, write snapshots."""

    def __init__(self, faces: FaceSet, run_dir: Path, cfg: GANConfig, options: TrainConfig, *, seed: int,
                 device: torch.device, own_generator: bool = True, capturable: bool = False, amp: bool = False):
        o = options
        emotion, iters, batch, resume = o.emotion, o.iters, o.batch, o.resume
        if iters < 1 or batch < 1 or o.snapshot_every < 1 or o.n_fixed < 1:
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
            self.snapshot_every, self.snapshot_at = o.snapshot_every, tuple(o.snapshot_at)
            self.weights_every = o.weights_every or o.snapshot_every
            self.writer = RunWriter(run_dir)
            self.state = build_state(cfg, seed, device, own_generator, capturable, amp)
            self.snapshots: list[dict[str, Any]] = []
            if resume:                     # temp files of writes that a kill cut short would otherwise pile up
                for folder in (run_dir, run_dir / "samples", run_dir / "weights"):
                    remove_temp_files(folder)
            if resume and (run_dir / CONFIG).exists():
                run = Run(run_dir)
                _check_resumable(run, cfg, faces, seed, batch, "bf16-autocast" if amp else "fp32")
                self.latents = run.fixed_latents()
                if (run_dir / STATE).exists():
                    load_state(run_dir / STATE, self.state, device)
                self.snapshots = [e for e in run.snapshots() if e["iteration"] <= self.state.iteration]
                self.writer.truncate_losses(self.state.iteration)
                if run.config.get("iters") != iters:
                    atomic_write_json(run_dir / CONFIG, dict(run.config, iters=iters))
            else:
                self.latents = random_latents(o.n_fixed, cfg.z_dim, o.latent_seed)
                self.writer.create(run_config(cfg, faces, o, name=run_dir.name, seed=seed, device=device,
                                              precision="bf16-autocast" if amp else "fp32"), self.latents)
            self.losses = get_losses(cfg.loss)
            self.t0 = time.perf_counter() - self.state.elapsed
            self.status, self.message = RunStatus.RUNNING, ""
            self.last_row: dict[str, float] = {}
            # This run's global CPU RNG (dropout, DiffAugment), swapped in around its steps so that runs trained
            # together draw exactly what each would draw alone.
            self.cpu_rng = torch.get_rng_state()
        except BaseException:
            self.lock.release()
            raise

    def due(self, it: int) -> bool:
        return it % self.snapshot_every == 0 or it in self.snapshot_at or it == self.iters

    def rows(self, first: int, values: list[list[float]], stamps: list[float]) -> list[dict[str, float]]:
        """Loss rows for iterations first, first+1, ... (stamps: perf_counter times at which each ended); marks the
        run diverged at the first NaN/inf loss."""
        out = []
        for i, v in enumerate(values):
            row = {"iteration": first + i, "loss_D": v[0], "loss_G": v[1], "D_x": v[2], "D_G_z": v[3],
                   "seconds": stamps[i] - self.t0}
            out.append(row)
            if not (np.isfinite(v[0]) and np.isfinite(v[1])):
                self.status, self.message = RunStatus.DIVERGED, f"losses became NaN/inf at iteration {first + i}"
                break
        if out:
            self.last_row = out[-1]
        return out

    def capture_snapshot(self, it: int, with_state: bool = True) -> dict[str, Any]:
        """What a snapshot writes, copied off the device now so that writing can happen elsewhere."""
        keep = it % self.weights_every == 0 or it in self.snapshot_at or it == self.iters \
            or self.status is not RunStatus.RUNNING
        self.state.elapsed = time.perf_counter() - self.t0
        return {"iteration": it, "faces": generate(self.state.sampler, self.latents),
                "weights": checkpoint.generator_payload(self.state.sampler, it) if keep else None,
                "state": state_payload(self.state, self.device) if with_state else None}

    def write_snapshot(self, snap: dict[str, Any]) -> None:
        """Files first, then the index that lists them, then the resume state: a kill between leaves no lies."""
        it = snap["iteration"]
        self.snapshots = [e for e in self.snapshots if e["iteration"] != it]
        self.snapshots.append(self.writer.write_snapshot_files(it, make_grid(snap["faces"], ncols=8), snap["weights"]))
        self.snapshots.sort(key=lambda e: e["iteration"])
        self.writer.write_index(self.snapshots, {"state": str(RunStatus.RUNNING), "iteration": it, "message": ""})
        if snap["state"] is not None:
            checkpoint.save_tensors(self.path / STATE, *snap["state"])

    def finish(self) -> RunResult:
        """The run's end in its index: done unless the loop marked it interrupted or diverged."""
        if self.status is RunStatus.RUNNING:
            self.status = RunStatus.DONE
        try:
            self.writer.write_index(self.snapshots, {"state": str(self.status), "iteration": self.state.iteration,
                                                     "message": self.message})
        finally:
            self.close()
        return RunResult(self.path, self.state.iteration, self.status, self.message)

    def close(self) -> None:
        """Let other processes at the run (finish() calls it; the loop calls it when an error ends a run)."""
        self.lock.release()

"""A run folder written by a training loop of one's own, in any framework: `init` opens it, `log` appends loss
rows, `snapshot` draws the grid (and on measured snapshots the metrics' faces) from a `sample` callable, `close`
says how it ended. The folder is the one our trainer writes (emogan.runs.store.RunWriter)."""

from __future__ import annotations

import atexit
import json
import math
import numbers
import os
import platform
import sys
import time
import warnings
from collections.abc import Callable, Mapping
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

import numpy as np
import torch

from emogan import __version__
from emogan.data import FaceSet, load_faces
from emogan.emotions import EMOTIONS
from emogan.errors import DataError, RunError, first_line
from emogan.images import make_grid
from emogan.metrics import DEFAULT_EVERY, DEFAULT_N
from emogan.runs import checkpoint, sequential
from emogan.runs.atomic import OutputError, remove_temp_files
from emogan.runs.lock import TRAIN_LOCK, FolderLock
from emogan.runs.paths import check_name, resolve_run_path
from emogan.runs.provenance import git_commit
from emogan.runs.store import CONFIG, RUN_FORMAT, STATE, Run, RunWriter
from emogan.track import latents as lat
from emogan.track.faces import to_faces, to_numpy
from emogan.track.writer import BackgroundWriter

TRACK_FORMAT = "emogan.track/1"
FLUSH_EVERY = 10          # loss rows handed to the writer at once: one fsync per ten iterations, as the trainer's
GRID_COLUMNS = 8          # the grid image's faces per row, as the trainer's

Sample = Callable[..., Any]


def _step(step: Any, what: str) -> int:
    if isinstance(step, bool) or not isinstance(step, numbers.Integral) or int(step) < 0:
        raise DataError(f"{what}: step {step!r} is not an iteration number (an int >= 0)")
    return int(step)


def _number(value: Any, name: str, where: str) -> float:
    try:
        v = to_numpy(value)
        if v.size != 1:
            raise TypeError
        return float(v.reshape(()))
    except (TypeError, ValueError):
        shown = repr(value)
        raise DataError(f"{where}: {name} must be one number, got {shown[:60]}") from None


def _writable(run_dir: Path) -> None:
    """Refuse at once a run that cannot be written: the nearest existing folder must be a writable folder."""
    probe = run_dir if run_dir.exists() else next((p for p in run_dir.parents if p.exists()), Path("."))
    if not probe.is_dir():
        raise OutputError(f"{probe}: not a folder, cannot write the run {run_dir}")
    if not os.access(probe, os.W_OK | os.X_OK):
        raise OutputError(f"{probe}: not writable, cannot write the run {run_dir}")


def _faces_of(data: str | os.PathLike | FaceSet | None, emotion: str) -> dict[str, Any]:
    """The run config's data record: where the faces came from and their content hash, so the explorer groups the
    run with ours trained on the same faces and `python -m emogan metrics` finds them."""
    if data is None:
        return {"source": "", "split": "", "content_hash": "", "n_images": None}
    faces = data if isinstance(data, FaceSet) else load_faces(data, split="train", emotion=emotion)
    return {"source": faces.source, "split": faces.split, "content_hash": faces.content_hash,
            "n_images": len(faces), "n_converted": faces.n_converted}


def _jsonable(config: Mapping[str, Any]) -> dict[str, Any]:
    return json.loads(json.dumps(dict(config), default=str))


class TrackedRun:
    """One run folder while a loop of one's own trains into it. Made by `init`; see its docstring."""

    def __init__(self, path: Path, config: dict[str, Any], lock: FolderLock, *, start: int, elapsed: float,
                 snapshots: list[dict[str, Any]], state: dict[str, Any] | None):
        self.path, self.config, self._lock = path, config, lock
        self.z_dim = int(config["model_config"]["z_dim"])
        self.conditional = bool(config["model_config"]["conditional"])
        self.n_labels = len(EMOTIONS) if self.conditional else 0
        self.measure_every = int(config["measure_every"])
        self.n_measure = int(config["n_measure"])
        prior = str(config["prior"])
        self._grid_z = Run(path).fixed_latents()
        self._metric_z = lat.metric_latents(self._grid_z, self.n_measure, prior).numpy()
        self._writer = RunWriter(path)
        self._thread = BackgroundWriter()
        self._snapshots = snapshots            # the index's entries: changed on the writer thread only
        self._state = state
        self._rows: list[dict[str, float]] = []
        self._extra: list[dict[str, Any]] = []
        self.step = start                      # where training continues from (0, or the resumed snapshot)
        self._last_logged = start
        self._last_snapshot = max((s["iteration"] for s in snapshots), default=-1)
        self._t0 = time.perf_counter() - elapsed
        self.status, self.message = "running", ""
        self.closed = False
        atexit.register(self._at_exit)

    # ------------------------------------------------------------------ what a loop reads

    def latents(self) -> np.ndarray:
        """The fixed grid latents, float32 (64, z_dim): the faces every snapshot's grid shows, in order."""
        return self._grid_z.numpy().copy()

    def emotions(self) -> np.ndarray | None:
        """What a conditional run's grid faces are asked for (emotion indices, in turn); None otherwise."""
        return lat.grid_emotions(len(self._grid_z), self.n_labels) if self.conditional else None

    def state(self) -> dict[str, torch.Tensor] | None:
        """The tensors the last snapshot before a resume stored with `state=` (None for a new run or without them)."""
        return self._state

    @property
    def diverged(self) -> bool:
        return self.status == "diverged"

    @property
    def last_snapshot(self) -> int:
        """The step of the latest snapshot (-1 before the first)."""
        return self._last_snapshot

    # ------------------------------------------------------------------ what a loop calls

    def log(self, step: int, loss_D: Any, loss_G: Any, D_x: Any = math.nan, D_G_z: Any = math.nan,
            **scalars: Any) -> None:
        """One loss row at `step` (steps must increase). D_x and D_G_z are D's mean sigmoid outputs on real and
        fake faces (NaN when not given); further keyword scalars go to scalars.jsonl. A NaN/inf loss is written
        and marks the run diverged, as our trainer does."""
        self._open()
        where = f"log at step {step}"
        step = _step(step, "log")
        if step <= self._last_logged:
            raise RunError(f"{self.path.name}: log at step {step} goes backwards: step {self._last_logged} is "
                           "already logged (steps must increase)")
        row = {"iteration": step, "loss_D": _number(loss_D, "loss_D", where), "loss_G": _number(loss_G, "loss_G", where),
               "D_x": _number(D_x, "D_x", where), "D_G_z": _number(D_G_z, "D_G_z", where),
               "seconds": time.perf_counter() - self._t0}
        self._rows.append(row)
        if scalars:
            self._extra.append({"iteration": step, **{k: _number(v, k, where) for k, v in scalars.items()}})
        self._last_logged = self.step = step
        if self.status == "running" and not (math.isfinite(row["loss_D"]) and math.isfinite(row["loss_G"])):
            self.status, self.message = "diverged", f"losses became NaN/inf at iteration {step}"
            warnings.warn(f"{self.path.name}: {self.message}", RuntimeWarning, stacklevel=2)
            self._flush()
            self._thread.submit(self._write_index)
        elif len(self._rows) >= FLUSH_EVERY:
            self._flush()

    def snapshot(self, step: int, sample: Sample, weights: torch.nn.Module | None = None, *,
                 measure: bool | None = None, state: Mapping[str, Any] | None = None) -> None:
        """Draw the grid from `sample` (the fixed latents, numpy float32 (64, z_dim), and for a conditional run
        their emotions, int64 (64,)) and, when measured (by default at multiples of 50), the metrics' N faces too.
        `weights`: the generator module, stored so the latent pages can walk it (ours, or a stack of standard
        layers). `state`: tensors or arrays to resume from (see `state()`). The files are written off this thread."""
        self._open()
        step = _step(step, "snapshot")
        if step <= self._last_snapshot or step < self._last_logged:
            last = max(self._last_snapshot, self._last_logged)
            raise RunError(f"{self.path.name}: snapshot at step {step} goes backwards: step {last} is already "
                           f"{'logged' if last == self._last_logged else 'a snapshot'} (steps must increase)")
        if not callable(sample):
            raise DataError(f"snapshot at step {step}: sample must be a callable from latents to faces, "
                            f"got {type(sample).__name__}")
        measured = step % self.measure_every == 0 if measure is None else bool(measure)
        grid = self._draw(sample, self._grid_z.numpy(), self.emotions(), step)
        faces = None
        if measured and self.conditional:     # the grid asks for emotions in turn, the metrics for FER2013's mix
            faces = self._draw(sample, self._metric_z, lat.metric_emotions(self.n_measure), step)
        elif measured:                        # the metrics' latents begin with the grid's: only the rest is drawn
            rest = self._metric_z[len(grid):]
            faces = np.concatenate([grid, self._draw(sample, rest, None, step)]) if len(rest) else grid[:self.n_measure]
        payload = self._weights(weights, step) if weights is not None else None
        saved = self._state_payload(state, step) if state is not None else None
        self._flush()
        self._last_snapshot = self.step = max(self.step, step)
        self._thread.submit(lambda: self._write_snapshot(step, grid, payload, faces, saved))

    def close(self, status: str | None = None, message: str = "") -> None:
        """Write what is left and how the run ended ("done" unless it diverged or `status` says otherwise), and
        let other processes at the folder. Calling it again does nothing."""
        if self.closed:
            return
        self.closed = True
        atexit.unregister(self._at_exit)
        try:
            if status is not None and self.status == "running":
                self.status, self.message = status, message
            elif self.status == "running":
                self.status = "done"
            self._flush()
            self._thread.submit(self._write_index)
            self._thread.close()
        finally:
            self._lock.release()

    def __enter__(self) -> TrackedRun:
        return self

    def __exit__(self, kind: type[BaseException] | None, error: BaseException | None, tb: Any) -> None:
        if kind is None:
            self.close()
        elif issubclass(kind, KeyboardInterrupt):
            self.close("interrupted", f"stopped at step {self.step}; continue with resume=True")
        else:
            self.close("interrupted", f"stopped at step {self.step} by {kind.__name__}: {first_line(error)}")

    # ------------------------------------------------------------------ inside

    def _open(self) -> None:
        if self.closed:
            raise RunError(f"{self.path.name}: the run is closed")
        self._thread.check()

    def _draw(self, sample: Sample, z: np.ndarray, labels: np.ndarray | None, step: int) -> np.ndarray:
        args = (z.copy(),) if labels is None else (z.copy(), labels.copy())
        try:
            out = sample(*args)
        except Exception as e:
            raise RunError(f"snapshot at step {step}: sample raised {type(e).__name__}: {first_line(e)}") from e
        return to_faces(out, len(z), f"snapshot at step {step}")

    def _weights(self, G: Any, step: int) -> tuple[dict[str, torch.Tensor], dict[str, str]]:
        where = f"snapshot at step {step}: weights"
        if not isinstance(G, torch.nn.Module):
            raise DataError(f"{where}: expected a torch.nn.Module (the generator), got {type(G).__name__}")
        from emogan.models import GANConfig, Generator
        if isinstance(G, Generator) and isinstance(getattr(G, "cfg", None), GANConfig):
            return checkpoint.generator_payload(G, step)
        if self.conditional:
            raise DataError(f"{where}: a conditional generator of one's own cannot be rebuilt from a file (only "
                            "emogan's); pass weights=None")
        layers = sequential.describe(G, self.z_dim)
        if isinstance(layers, str):
            raise DataError(f"{where}: a {type(G).__name__} cannot be rebuilt from a file: {layers}; "
                            "pass weights=None")
        return sequential.payload(G, layers, step)

    def _state_payload(self, state: Mapping[str, Any], step: int) -> tuple[dict[str, torch.Tensor], dict[str, str]]:
        if not isinstance(state, Mapping):
            raise DataError(f"snapshot at step {step}: state must map names to tensors or arrays, "
                            f"got {type(state).__name__}")
        tensors = {}
        for k, v in state.items():
            t = v.detach() if torch.is_tensor(v) else torch.from_numpy(np.array(to_numpy(v)))
            tensors[str(k)] = t.to("cpu").contiguous().clone()
        return tensors, {"iteration": str(step), "elapsed": repr(time.perf_counter() - self._t0)}

    def _flush(self) -> None:
        rows, extra = self._rows, self._extra
        self._rows, self._extra = [], []
        if rows or extra:
            self._thread.submit(lambda: (self._writer.append_losses(rows), self._writer.append_scalars(extra)))

    def _write_snapshot(self, step: int, grid: np.ndarray, weights: Any, faces: np.ndarray | None,
                        state: Any) -> None:
        """Files first, then the index that lists them, then the resume state: a kill between leaves no lies."""
        entry = self._writer.write_snapshot_files(step, make_grid(grid, ncols=GRID_COLUMNS), weights, faces)
        if state is not None:
            entry["state"] = True      # the loop resumes from state files: without one it starts again at 0
        self._snapshots = [e for e in self._snapshots if e["iteration"] != step] + [entry]
        self._write_index()
        if state is not None:
            checkpoint.save_tensors(self.path / STATE, *state)

    def _write_index(self) -> None:
        self._writer.write_index(list(self._snapshots), {"state": self.status, "iteration": self.step,
                                                         "message": self.message})

    def _at_exit(self) -> None:
        """The process ends with the run still open: keep what was logged, and say it stopped."""
        try:
            self.close("interrupted", f"the process ended at step {self.step} without run.close(); "
                                      "continue with resume=True")
        except Exception:  # noqa: BLE001 - at exit there is no one left to tell
            pass


def init(root: str | os.PathLike, name: str, config: Mapping[str, Any] | None = None, *, z_dim: int = 100,
         conditional: bool = False, resume: bool = False, framework: str = "pytorch", prior: str = "normal",
         data: str | os.PathLike | FaceSet | None = None, emotion: str = "all", model: str | None = None,
         iters: int | None = None, measure_every: int = DEFAULT_EVERY, n_measure: int = DEFAULT_N) -> TrackedRun:
    """Open the run folder root/name for a loop of one's own (any framework) and return it.

    config: your settings, kept in the run config (JSON; other values are written as text). z_dim and prior
    ("normal" or "uniform" on [-1, 1]) are those of your generator's latents: with z_dim 100 and a normal prior the
    grid latents are the shipped runs' own, so your faces pair with M1..M8's. conditional: your `sample` also takes
    emotion indices (0..6, emogan.emotions.EMOTIONS). resume: continue an existing run from its last snapshot
    (`run.step` says which; its losses after it are dropped, as `train --resume` does); without it an existing run
    is refused. framework: what the explorer's runs table shows. data: the FER2013 folder (or FaceSet) you train
    on, so the run is compared with ours trained on the same faces. measure_every, n_measure: which snapshots store
    the faces `python -m emogan metrics` measures, and how many (its defaults)."""
    if config is not None and not isinstance(config, Mapping):
        raise DataError(f"config must be a dict of settings, got {type(config).__name__}")
    config = dict(config or {})
    if isinstance(z_dim, bool) or not isinstance(z_dim, numbers.Integral) or z_dim < 1:
        raise DataError(f"z_dim {z_dim!r} must be a positive int (the generator's latent size)")
    if prior not in lat.PRIORS:
        raise DataError(f"prior {prior!r}: expected one of {', '.join(lat.PRIORS)}")
    if emotion not in ("all",) + EMOTIONS:
        raise DataError(f"emotion {emotion!r}: expected all or one of {', '.join(EMOTIONS)}")
    if not isinstance(framework, str) or not framework.strip():
        raise DataError(f"framework {framework!r} must name what trains the run (e.g. pytorch, keras, jax)")
    for what, value in (("measure_every", measure_every), ("n_measure", n_measure)):
        if isinstance(value, bool) or not isinstance(value, numbers.Integral) or value < 1:
            raise DataError(f"{what} {value!r} must be a positive int")
    check_name(name)
    run_dir = resolve_run_path(root, name)
    if not resume and (run_dir / CONFIG).exists():
        raise RunError(f"{run_dir}: a run already exists here (pass resume=True to continue it, or another name)")
    _writable(run_dir)
    record = _faces_of(data, emotion)               # before the folder is made: a wrong path leaves nothing behind
    try:
        run_dir.mkdir(parents=True, exist_ok=True)
    except OSError as e:
        raise OutputError(f"cannot create the run folder {run_dir}: {e.strerror or e}") from None
    lock = FolderLock(run_dir, TRAIN_LOCK, "trained").acquire()
    try:
        if resume:              # writes a kill cut short, before or after the run existed (locked: none is live)
            for folder in (run_dir, run_dir / "samples", run_dir / "weights", run_dir / "faces"):
                remove_temp_files(folder)
        if (run_dir / CONFIG).exists():
            if not resume:      # made by another process between the check above and the lock
                raise RunError(f"{run_dir}: a run already exists here (pass resume=True to continue it, "
                               "or another name)")
            return _resume(run_dir, lock, int(z_dim), bool(conditional), prior)
        settings = {"z_dim": int(z_dim), "conditional": bool(conditional), "prior": prior}
        run_config = _run_config(run_dir.name, config, settings, framework=framework, record=record, emotion=emotion,
                                 model=model, iters=iters, measure_every=int(measure_every), n_measure=int(n_measure))
        RunWriter(run_dir).create(run_config, lat.grid_latents(int(z_dim), prior))
        return TrackedRun(run_dir, run_config, lock, start=0, elapsed=0.0, snapshots=[], state=None)
    except BaseException:
        lock.release()
        raise


def _run_config(name: str, config: dict[str, Any], settings: dict[str, Any], *, framework: str,
                record: dict[str, Any], emotion: str, model: str | None, iters: int | None, measure_every: int,
                n_measure: int) -> dict[str, Any]:
    model = str(model or config.get("model") or name)
    z_dim, prior, conditional = settings["z_dim"], settings["prior"], settings["conditional"]
    summary = str(config.get("summary") or f"a GAN of one's own, trained by its own {framework} loop")
    seed = config.get("seed")
    return {
        "format": RUN_FORMAT, "name": name, "model": model,
        # What the explorer and the metrics read of a model; the rest of the recipe is in the user's config.
        "model_config": {"name": model, "summary": summary, "z_dim": z_dim, "conditional": conditional},
        "emotion": emotion, "data": record,
        "seed": seed if isinstance(seed, int) and not isinstance(seed, bool) else None,
        "iters": int(iters if iters is not None else config.get("iters") or 0),
        "n_fixed": lat.SHARED.n_fixed, "latent_seed": lat.SHARED.latent_seed,
        "framework": framework.strip(), "tracked": TRACK_FORMAT, "prior": prior,
        "paired_latents": lat.paired(z_dim, prior),
        "measure_every": measure_every, "n_measure": n_measure,
        "config": _jsonable(config),
        "commit": git_commit(),
        "versions": {"emogan": __version__, "torch": torch.__version__, "numpy": np.__version__,
                     "python": platform.python_version()},
        "created": datetime.now(timezone.utc).isoformat(timespec="seconds"),
        "command": list(sys.argv),
    }


def _resume(run_dir: Path, lock: FolderLock, z_dim: int, conditional: bool, prior: str) -> TrackedRun:
    """Continue where the last snapshot (or the resume state written with it) left off, as `train --resume`."""
    run = Run(run_dir)
    c = run.config
    if c.get("tracked") != TRACK_FORMAT:
        raise RunError(f"{run_dir}: trained by {run.framework}'s own trainer, not a loop of one's own; "
                       "resume it with python -m emogan train --resume")
    recorded = {"z_dim": c["model_config"].get("z_dim"), "conditional": c["model_config"].get("conditional"),
                "prior": c.get("prior")}
    asked = {"z_dim": z_dim, "conditional": conditional, "prior": prior}
    problems = [f"{k} {recorded[k]!r} != {asked[k]!r}" for k in asked if recorded[k] != asked[k]]
    if problems:
        raise RunError(f"{run_dir}: cannot resume with different settings ({'; '.join(problems)})")
    state, elapsed, start = None, 0.0, None
    if (run_dir / STATE).exists():
        tensors, meta = checkpoint.read_tensors(run_dir / STATE)
        try:
            start, elapsed = int(meta["iteration"]), float(meta.get("elapsed", 0.0))
        except (KeyError, ValueError):
            raise RunError(f"{run_dir / STATE}: has no iteration in its metadata") from None
        state = tensors
    snaps = run.snapshots()
    if start is None:      # a loop that stores its state resumes from it alone; others from their last snapshot
        start = 0 if any(s.get("state") for s in snaps) else (snaps[-1]["iteration"] if snaps else 0)
    kept = [s for s in snaps if s["iteration"] <= start]
    writer = RunWriter(run_dir)
    writer.truncate_losses(start)
    writer.truncate_scalars(start)
    losses = run.losses()
    if not elapsed and len(losses):
        elapsed = float(losses["seconds"].iloc[-1])
    writer.write_index(kept, {"state": "running", "iteration": start, "message": ""})
    return TrackedRun(run_dir, c, lock, start=start, elapsed=elapsed, snapshots=kept, state=state)

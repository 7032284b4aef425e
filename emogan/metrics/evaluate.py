"""Measuring a run: the same N latents at every snapshot (the run's fixed latents, then a fixed-seed batch),
faces from the snapshot's generator, every registered metric, one metrics line per snapshot, resumable."""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np
import torch

from emogan.errors import RunError
from emogan.metrics import DEFAULT_EVERY, DEFAULT_N
from emogan.metrics.core import SAMPLE_SEED, Reference, Value, make_sample
from emogan.metrics.records import MetricsLog, read_lines
from emogan.metrics.reference import reference_choice, reference_identity
from emogan.metrics.suite import compute_metrics, due_metrics, metric_keys, registry
from emogan.original import ORIGINAL_ITERATIONS
from emogan.runs.lock import METRICS_LOCK, FolderLock
from emogan.runs.store import Run
from emogan.sampling import generate, prior_labels, random_latents


def metric_latents(run: Run, n: int) -> torch.Tensor:
    """(n, z_dim): the run's fixed latents (the faces its grids show) first, then random_latents(seed=SAMPLE_SEED)."""
    fixed = run.fixed_latents()
    if len(fixed) >= n:
        return fixed[:n]
    return torch.cat([fixed, random_latents(n - len(fixed), fixed.shape[1], SAMPLE_SEED)])


def metric_labels(run: Run, n: int) -> np.ndarray | None:
    """The emotions a conditional run's n metric faces are asked for (None for other runs): drawn, with a fixed
    seed, as often as FER2013's training data shows them (conditional runs train on every emotion). A perfect
    conditional generator then matches the reference's emotion mix, as a perfect unconditional one does; asking
    for every emotion equally would count the rare ones (disgust: 1.5% of FER2013) against it in every
    distribution metric."""
    if not (run.config.get("model_config") or {}).get("conditional"):
        return None
    return prior_labels(n, SAMPLE_SEED)


def snapshot_faces(run: Run, iteration: int, n: int, device: torch.device | str = "cpu") -> np.ndarray:
    """The n faces the metrics measure at `iteration`: those the snapshot stores (a run of one's own loop, see
    emogan.track), else drawn by its generator weights; a conditional run's are asked for metric_labels(run, n)."""
    stored = run.stored_faces(iteration)
    if stored is not None and (len(stored) >= n or iteration not in run.weight_iterations()):
        if len(stored) < n:
            raise RunError(f"{run.path}: stores {len(stored)} faces at iteration {iteration}, too few to measure "
                           f"{n} (pass --n {len(stored)}, or store more: track.init(..., n_measure={n}))")
        return stored[:n]
    G = run.load_generator(iteration, device)
    # channels_last: the memory layout CPU and GPU convolutions run fastest in (the generator is the costliest
    # stage of a snapshot on a CPU); it changes no weights.
    G = G.to(memory_format=torch.channels_last)
    return generate(G, metric_latents(run, n), labels=metric_labels(run, n))


def selected_iterations(run: Run, every: int) -> tuple[list[int], int]:
    """Snapshots to measure -- those with weights (or stored faces) at a multiple of `every`, plus the last one
    with either -- and how many snapshots were skipped for having neither."""
    snaps = run.snapshot_iterations()
    with_weights = run.measurable_iterations()
    chosen = [it for it in with_weights if it % every == 0 or it in ORIGINAL_ITERATIONS]
    if with_weights and with_weights[-1] not in chosen:
        chosen.append(with_weights[-1])
    no_weights = sum(1 for it in snaps if it not in set(with_weights) and it % every == 0)
    return chosen, no_weights


@dataclass(frozen=True)
class SnapshotResult:
    run: str
    iteration: int
    row: dict[str, Value]
    seconds: float


@dataclass(frozen=True)
class RunSummary:
    run: str
    computed: int          # snapshots measured now
    present: int           # already in metrics.jsonl
    no_weights: int        # snapshots at a selected iteration without generator weights
    seconds: float


def evaluate_run(run: Run, reference: Reference, classifier: Any, *, n: int = DEFAULT_N, every: int = DEFAULT_EVERY,
                 device: torch.device | str = "cpu", restart: bool = False,
                 progress_fn: Callable[[SnapshotResult], None] | None = None,
                 abort_fn: Callable[[], bool] | None = None) -> RunSummary:
    """Append a metrics line for every selected snapshot not measured yet (all of them with restart=True)."""
    if reference.n != n:
        raise ValueError(f"reference prepared for n={reference.n}, asked for n={n}")
    with FolderLock(run.path, METRICS_LOCK, "measured"):     # two processes would append the same lines twice
        return _evaluate(run, reference, classifier, n=n, every=every, device=device, restart=restart,
                         progress_fn=progress_fn, abort_fn=abort_fn)


def _evaluate(run: Run, reference: Reference, classifier: Any, *, n: int, every: int, device: torch.device | str,
              restart: bool, progress_fn: Callable[[SnapshotResult], None] | None,
              abort_fn: Callable[[], bool] | None) -> RunSummary:
    log = MetricsLog(run.path, reference_identity(reference), restart=restart,
                     extra={"baselines": reference.baselines,
                            "reference_choice": reference_choice(reference.reference.get("n_images", 0),
                                                                 reference.reference.get("emotion", "all")),
                            "samples": {"fixed_latents": min(n, len(run.fixed_latents())), "seed": SAMPLE_SEED}})
    chosen, no_weights = selected_iterations(run, every)
    last = chosen[-1] if chosen else 0
    todo = [it for it in chosen if it not in log.done]
    # Lines measured before a metric was registered lack its keys: where it is due, it alone is computed now.
    lines = {row["iteration"]: row for row in read_lines(run.path)}
    fill = {it: names for it in chosen if it in lines
            for names in [[m for m in due_metrics(it, last) if _lacks(lines[it], m)]] if names}
    requested = metric_labels(run, n)      # the same for every snapshot (None: an unconditional run)
    start = time.perf_counter()
    filled = 0
    for it in sorted([*todo, *fill]):
        if abort_fn is not None and abort_fn():
            break
        t0 = time.perf_counter()
        sample = make_sample(snapshot_faces(run, it, n, device), classifier, device, requested=requested)
        if it in fill:
            got = compute_metrics(sample, reference, names=fill[it])
            log.update(it, got)
            filled += 1
            row = {**lines[it], **got}
        else:
            due = due_metrics(it, last)
            got = compute_metrics(sample, reference, names=due)
            row = {"iteration": it, "n": n, **{k: got.get(k) for k in metric_keys()}}
            log.append(row)
        if progress_fn is not None:
            progress_fn(SnapshotResult(run.name, it, row, time.perf_counter() - t0))
    computed = sum(1 for it in todo if it in log.done) + filled
    return RunSummary(run.name, computed, len(chosen) - len(todo), no_weights, time.perf_counter() - start)


def _lacks(line: dict[str, Value], metric: str) -> bool:
    return any(k not in line for k in registry()[metric].keys)


def accuracy_by_emotion(run: Run, iteration: int, classifier: Any, n: int = DEFAULT_N,
                        device: torch.device | str = "cpu") -> dict[str, float]:
    """A conditional run asked for each emotion alone: per emotion, the share of `n` faces (the metrics' latents)
    that the classifier reads as that emotion. Its ceiling is the classifier's accuracy on real faces of it."""
    from emogan.emotions import EMOTIONS
    if metric_labels(run, 1) is None:
        raise ValueError(f"{run.path}: not a conditional run, it cannot be asked for an emotion")
    G = run.load_generator(iteration).to(device)
    z = metric_latents(run, n)
    out = {}
    for i, emotion in enumerate(EMOTIONS):
        faces = generate(G, z, labels=np.full(n, i, dtype=np.int64))
        out[emotion] = float((classifier.predict(faces).argmax(1) == i).mean())
    return out

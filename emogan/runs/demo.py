"""Exporting runs into a compact, self-describing copy: the shipped demo is made with this."""

from __future__ import annotations

import json
import shutil
from pathlib import Path
from typing import Any

import torch

from emogan.errors import RunError, first_line
from emogan.images import make_grid
from emogan.models import Generator
from emogan.original import ORIGINAL_ITERATIONS
from emogan.runs import checkpoint
from emogan.runs.atomic import atomic_write_json
from emogan.runs.store import CONFIG, LATENTS, LOSSES, SCALARS, Run, RunWriter, nearest

MANIFEST = "manifest.json"
# Copied when present: written by `emogan metrics`, and the further scalars of a loop of one's own (emogan.track).
EXTRA_FILES = ("metrics.jsonl", "metrics_config.json", SCALARS)


def export_run(run: Run, out: Path, *, weights_at: tuple[int, ...] = ORIGINAL_ITERATIONS, grid_n: int = 16,
               weights_dtype: torch.dtype = torch.float16, grids_at: tuple[int, ...] | None = None) -> dict[str, Any]:
    """Copy `run` to `out` with every grid (cut to its first grid_n faces; with `grids_at`, only the snapshots
    nearest those iterations and the last), the full loss log, and generator weights only at `weights_at` (each
    snapped to the nearest iteration with weights) and at the last snapshot. A run of one's own loop may have no
    weights: its grids, losses and metrics are exported (not the faces it stored for the metrics)."""
    if (out / CONFIG).exists():
        raise RunError(f"{out}: already holds a run; export into an empty folder")
    have = run.weight_iterations()
    if not have and run.framework == "emogan":
        raise RunError(f"{run.path}: has no generator weights to export")
    keep = {nearest(have, it) for it in weights_at if it <= have[-1]} | {have[-1]} if have else set()
    snaps = run.snapshot_iterations()
    grids = set(snaps) if grids_at is None else {nearest(snaps, it) for it in grids_at if it <= snaps[-1]} | {snaps[-1]}
    writer = RunWriter(out)
    entries = []
    for snap in run.snapshots():
        it = snap["iteration"]
        if it not in grids and it not in keep:
            continue
        faces = run.grid(it)[:grid_n]
        weights = None
        if it in keep:
            G = run.load_generator(it)
            weights = checkpoint.generator_payload(G, it, weights_dtype) if isinstance(G, Generator) else \
                checkpoint.recast(run.file(snap["weights"]), weights_dtype)
        entries.append(writer.write_snapshot_files(it, make_grid(faces, ncols=8), weights))
    # run.file refuses a link out of the run before it is read: an export never copies what the run does not hold.
    shutil.copyfile(run.file(LOSSES), out / LOSSES)
    shutil.copyfile(run.file(LATENTS), out / LATENTS)
    for name in EXTRA_FILES:
        if run.file(name).exists():
            shutil.copyfile(run.file(name), out / name)
    config = dict(run.config, grid_n=min(grid_n, run.grid_size),
                  exported={"from": str(run.path), "weights_dtype": str(weights_dtype).replace("torch.", ""),
                            "weights_at": sorted(keep),
                            **({"grids_at": sorted(grids | keep)} if grids_at is not None else {})})
    atomic_write_json(out / CONFIG, config)
    writer.write_index(entries, run.status())
    return {"name": out.name, "model": run.model, "emotion": run.emotion, "iterations": run.status().get("iteration"),
            "seconds": float(run.losses().seconds.iloc[-1]) if len(run.losses()) else None,
            "device": run.config.get("device"), "threads": run.config.get("threads"),
            "precision": run.config.get("precision", "fp32"), "commit": run.config.get("commit"),
            "seed": run.config.get("seed"), "command": run.config.get("command"),
            "thinned": _thinned(grid_n, sorted(keep), None if grids_at is None else sorted(grids | keep)),
            "bytes": sum(p.stat().st_size for p in out.rglob("*") if p.is_file())}


def _thinned(grid_n: int, weights: list[int], grids: list[int] | None) -> str:
    """What the export left out, in words, for the manifest."""
    where = "every snapshot" if grids is None else "iterations " + ", ".join(map(str, grids))
    kept = f"generator weights at {', '.join(map(str, weights))}" if weights else "no generator weights"
    return f"grids of {grid_n} faces at {where}; {kept}"


def write_manifest(out_root: Path, runs: list[dict[str, Any]], extra: dict[str, Any]) -> dict[str, Any]:
    """manifest.json: how the exported runs were made (commands, seeds, commit, device, wall time) and their size.

    Runs exported earlier into the same folder stay listed (a demo is exported in parts); each run's entry keeps
    the export it came from."""
    old = _read_manifest(out_root / MANIFEST)
    earlier = {k: old[k] for k in ("export_command", "commit", "torch") if k in old}   # manifests of one export
    fresh = {r["name"] for r in runs}
    kept = [dict(r, export=r.get("export", earlier)) for r in _listed(out_root, old) if r["name"] not in fresh]
    merged = sorted(kept + [dict(r, export=extra) for r in runs], key=lambda r: str(r["name"]))
    manifest = {"runs": merged, "total_bytes": sum(int(r["bytes"]) for r in merged)}
    atomic_write_json(out_root / MANIFEST, manifest)
    return manifest


def manifest_bytes(out_root: Path) -> int:
    """Bytes of the runs a folder's manifest lists that are still there."""
    return sum(int(r["bytes"]) for r in _listed(out_root, _read_manifest(out_root / MANIFEST)))


def _listed(out_root: Path, manifest: dict[str, Any]) -> list[dict[str, Any]]:
    """The manifest's run entries whose folders are still there; a malformed entry is one RunError."""
    entries = manifest.get("runs", [])
    ok = isinstance(entries, list) and all(isinstance(r, dict) and isinstance(r.get("name"), str)
                                           and isinstance(r.get("bytes"), int) for r in entries)
    if not ok:
        raise RunError(f"{out_root / MANIFEST}: malformed run entries; move it away to start a new one")
    return [r for r in entries if (out_root / r["name"]).is_dir()]


def _read_manifest(path: Path) -> dict[str, Any]:
    if not path.is_file():
        return {}
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as e:
        raise RunError(f"{path}: unreadable manifest ({first_line(e)}); move it away to start a new one") from None
    if not isinstance(data, dict):
        raise RunError(f"{path}: not a manifest (a JSON object); move it away to start a new one")
    return data

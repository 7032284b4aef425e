"""The runs under a root (runs.RunInfo, re-exported here) sorted and grouped by emotion and dataset, with the default
selection: one run per registered model; and a cheap signature of the root that changes when its runs do."""

from __future__ import annotations

import os
from collections.abc import Collection, Sequence
from pathlib import Path

from emogan.models import ORIGINAL_SIX, REGISTRY
from emogan.runs.store import CONFIG, INDEX, RunInfo, scan_runs

__all__ = ["RunInfo", "default_selection", "groups", "list_runs", "model_rank", "seeds_of", "signature", "sort_runs"]


def list_runs(root: str | Path) -> list[RunInfo]:
    """Every run folder under `root`, sorted by model then name; damaged ones carry their one-line reason."""
    return sort_runs(scan_runs(root))


def signature(root: str | Path) -> tuple[tuple[str, int, int], ...] | None:
    """Each run folder under `root` (as scan_runs finds them) with the times of its config and index: it changes when
    a run appears or goes, takes a snapshot or ends. One listing and two stats per run, so a page can poll it; None
    when `root` is not a folder."""
    out = []
    try:
        entries = sorted(os.scandir(root), key=lambda e: e.name)
    except OSError:
        return None
    for e in entries:
        if e.name.startswith(".") or not e.is_dir():
            continue
        try:
            config = os.stat(os.path.join(e.path, CONFIG)).st_mtime_ns
        except OSError:
            continue            # not a run (yet): its config is what makes it one, and is written last
        try:
            index = os.stat(os.path.join(e.path, INDEX)).st_mtime_ns
        except OSError:
            index = 0
        out.append((e.name, config, index))
    return tuple(out)


def model_rank(model: str) -> tuple[int, str]:
    """Registry order (M1, M2, ... M7), unknown models after them by name."""
    names = list(REGISTRY)
    return (names.index(model), model) if model in names else (len(names), model)


def sort_runs(infos: Sequence[RunInfo]) -> list[RunInfo]:
    return sorted(infos, key=lambda r: (model_rank(r.model), r.name))


def groups(infos: Sequence[RunInfo]) -> dict[str, list[RunInfo]]:
    """Usable runs by 'emotion · dataset', the group richest in M1..M6 first (then by name)."""
    out: dict[str, list[RunInfo]] = {}
    for r in infos:
        if r.error is None:
            out.setdefault(r.group, []).append(r)

    def richness(label: str) -> tuple[int, int, str]:
        models = {r.model for r in out[label]}
        return (-len(models & set(ORIGINAL_SIX)), -len(out[label]), label)

    return {label: sort_runs(out[label]) for label in sorted(out, key=richness)}


def default_selection(runs: Sequence[RunInfo], limit: int = 6, seeds: Collection[int] | None = None) -> list[str]:
    """Run names to show first: one run per registered model in registry order (seed 0 preferred), else the first
    `limit` runs. With `seeds`: one run per model and seed among them (a model's seeds side by side)."""
    chosen = []
    for model in REGISTRY:
        candidates = sorted((r for r in runs if r.model == model and r.error is None), key=lambda r: r.name)
        if seeds is not None:
            picked: dict[int | None, str] = {}
            for r in candidates:
                if r.seed in seeds:
                    picked.setdefault(r.seed, r.name)
            chosen += [picked[s] for s in sorted(picked, key=lambda s: (s is None, s))]
        elif candidates:
            preferred = [r for r in candidates if r.seed == 0]
            chosen.append((preferred or candidates)[0].name)
    if chosen or seeds is not None:
        return chosen
    return [r.name for r in sort_runs([r for r in runs if r.error is None])[:limit]]


def seeds_of(runs: Sequence[RunInfo]) -> list[int]:
    """The training seeds among `runs`, in order."""
    return sorted({r.seed for r in runs if r.seed is not None})

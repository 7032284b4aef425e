"""The runs under a root, described and grouped by emotion and dataset, with the default selection of M1..M6."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Sequence

from .errors import EmoganError
from .models import ORIGINAL_SIX, REGISTRY
from .runs import Run, scan_runs


@dataclass(frozen=True)
class RunInfo:
    """One folder under the runs root: what it trained and how far it got, or why it cannot be read."""
    name: str
    path: Path
    model: str = ""
    emotion: str = ""
    dataset: str = ""        # the data folder's name and a short content hash: runs on different data never mix
    state: str = ""          # running | done | interrupted | diverged
    iteration: int = 0
    iters: int = 0
    message: str = ""        # the trainer's status message (e.g. where it diverged)
    error: str | None = None

    @property
    def group(self) -> str:
        return group_label(self.emotion, self.dataset)


def group_label(emotion: str, dataset: str) -> str:
    return f"{emotion} · {dataset}" if dataset else emotion


def _dataset(config: dict) -> str:
    data = config.get("data") or {}
    source = str(data.get("source") or "")
    name = Path(source).name if source else "unknown data"
    digest = str(data.get("content_hash") or "")[:8]
    return f"{name} ({digest})" if digest else name


def describe(root: str | Path) -> list[RunInfo]:
    """Every run folder under `root`, sorted by model then name; damaged ones carry their one-line reason."""
    infos = []
    for e in scan_runs(root):
        if e.error:
            infos.append(RunInfo(e.name, e.path, e.model, e.emotion, error=e.error))
            continue
        try:
            run = Run(e.path)
            status = run.status()
            infos.append(RunInfo(e.name, e.path, run.model, run.emotion, _dataset(run.config),
                                 str(status.get("state", "")), int(status.get("iteration", 0) or 0),
                                 int(run.config.get("iters", 0) or 0), str(status.get("message", "") or "")))
        except (EmoganError, ValueError, TypeError) as err:   # folder changed between scan and read
            infos.append(RunInfo(e.name, e.path, e.model, e.emotion, error=str(err).splitlines()[0]))
    return sort_runs(infos)


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


def default_selection(runs: Sequence[RunInfo], limit: int = 6) -> list[str]:
    """Run names to show first: one run per model of M1..M6 (seed 0 preferred), else the first `limit` runs."""
    chosen = []
    for model in ORIGINAL_SIX:
        candidates = [r for r in runs if r.model == model and r.error is None]
        if candidates:
            preferred = [r for r in candidates if r.name.endswith("-s0")]
            chosen.append((preferred or sorted(candidates, key=lambda r: r.name))[0].name)
    if chosen:
        return chosen
    return [r.name for r in sort_runs([r for r in runs if r.error is None])[:limit]]

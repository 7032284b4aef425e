"""Metrics on disk, in the run folder: metrics_config.json (what they were measured against) and metrics.jsonl
(one JSON object per snapshot: {"iteration", "n", <metric keys>}), appended and flushed line by line.

A killed computation can tear the last line: readers ignore it, and the next append first rewrites the file
without it. Lines computed against another reference, classifier, N or metric version are never mixed in: the
config is checked before anything is appended.
"""

from __future__ import annotations

import json
import math
import os
from collections.abc import Iterable
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

import pandas as pd

from emogan.errors import RunError, first_line
from emogan.metrics import CONFIG_FILE, METRICS_FILE
from emogan.runs.atomic import OutputError, atomic_write_bytes, atomic_write_json
from emogan.runs.paths import member

FORMAT = "emogan.metrics/1"


class MetricsMismatch(RunError):
    """The run's metrics were computed with another reference, classifier or settings."""


def _complete_lines(path: Path) -> tuple[list[str], bool]:
    """The file's complete lines and whether a torn (unterminated) last line was dropped."""
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        return [], False
    except (OSError, UnicodeDecodeError) as e:
        raise RunError(f"{path}: cannot read ({e})") from None
    lines = text.splitlines(keepends=True)
    torn = bool(lines) and not lines[-1].endswith("\n")
    return (lines[:-1] if torn else lines), torn


def read_lines(run_path: str | Path) -> list[dict[str, Any]]:
    """Every complete metrics line of a run (none if it has no metrics yet); a damaged line is a RunError."""
    path = member(run_path, METRICS_FILE)
    lines, _ = _complete_lines(path)
    out = []
    for lineno, line in enumerate(lines, start=1):
        if not line.strip():
            continue
        try:
            obj = json.loads(line)
        except json.JSONDecodeError as e:
            raise RunError(f"{path}:{lineno}: not valid JSON ({e.msg})") from None
        if not isinstance(obj, dict) or not isinstance(obj.get("iteration"), int):
            raise RunError(f"{path}:{lineno}: a metrics line needs an integer 'iteration'")
        out.append(obj)
    return out


def read_metrics(run_path: str | Path) -> pd.DataFrame:
    """The run's metrics as a frame sorted by iteration (last line wins for a repeated iteration); empty frame
    with an 'iteration' column when there are none. null (a metric that could not be computed) reads as NaN."""
    rows = read_lines(run_path)
    if not rows:
        return pd.DataFrame({"iteration": pd.Series([], dtype="int64")})
    df = pd.DataFrame(rows)
    df = df.drop_duplicates("iteration", keep="last").sort_values("iteration").reset_index(drop=True)
    df["iteration"] = df["iteration"].astype("int64")
    return df


def read_config(run_path: str | Path) -> dict[str, Any] | None:
    path = member(run_path, CONFIG_FILE)
    try:
        obj = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        return None
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as e:
        raise RunError(f"{path}: cannot read ({first_line(e)})") from None
    if not isinstance(obj, dict) or obj.get("format") != FORMAT:
        fmt = obj.get("format") if isinstance(obj, dict) else None
        raise RunError(f"{path}: not an EmoGAN metrics config (format {fmt!r})")
    return obj


def _differences(stored: dict[str, Any], now: dict[str, Any]) -> list[str]:
    """What differs between two identities, as short phrases (paths may differ: the same data can move)."""
    out = []
    if stored.get("settings") != now.get("settings"):
        # A setting the stored config lacks belongs to a metric registered since: its keys are absent from the
        # stored lines, and the next pass fills them in. Only a setting that changed makes the lines incomparable.
        s, n = stored.get("settings") or {}, now.get("settings") or {}
        keys = sorted(k for k in set(s) | set(n) if k in s and s.get(k) != n.get(k))
        out += [f"{k} {s.get(k)!r} -> {n.get(k)!r}" for k in keys]
    for part in ("reference", "train"):
        a, b = stored.get(part) or {}, now.get(part) or {}
        if a.get("content_hash") != b.get("content_hash") or a.get("emotion") != b.get("emotion"):
            out.append(f"{part} faces {a.get('content_hash', '?')[:12]} ({a.get('n_images')}) -> "
                       f"{b.get('content_hash', '?')[:12]} ({b.get('n_images')})")
    a, b = stored.get("classifier"), now.get("classifier")
    if (a or {}).get("sha256") != (b or {}).get("sha256"):
        out.append(f"classifier {_short(a)} -> {_short(b)}")
    return out


def _short(classifier: dict[str, str] | None) -> str:
    return "none" if not classifier else classifier["sha256"][:12]


def check_compatible(run_path: str | Path, identity: dict[str, Any]) -> None:
    """Raise MetricsMismatch if the run's stored metrics were computed under another identity (none stored: fine)."""
    stored = read_config(run_path)
    diff = _differences(stored, identity) if stored is not None else []
    if diff:
        raise MetricsMismatch(f"{Path(run_path) / METRICS_FILE}: computed with a different reference, classifier "
                              f"or settings ({'; '.join(diff[:3])}); pass --restart to recompute them")


class MetricsLog:
    """The metrics of one run, opened for appending against a given identity (reference.reference_identity)."""

    def __init__(self, run_path: str | Path, identity: dict[str, Any], restart: bool = False,
                 extra: dict[str, Any] | None = None) -> None:
        self.dir = Path(run_path)
        self.path = member(self.dir, METRICS_FILE)
        self.config_path = member(self.dir, CONFIG_FILE)
        if restart or read_config(self.dir) is None:
            # A new config: lines written under another one (or without one) are not kept.
            atomic_write_json(self.config_path, {"format": FORMAT, **identity, **(extra or {}),
                                                 "created": datetime.now(timezone.utc).isoformat(timespec="seconds")})
            atomic_write_bytes(self.path, b"")
        else:
            check_compatible(self.dir, identity)
            self._add_new_settings(identity, extra or {})
        lines, torn = _complete_lines(self.path)
        if torn:
            atomic_write_bytes(self.path, "".join(lines).encode("utf-8"))
        self.done = {row["iteration"] for row in read_lines(self.dir)}

    def _add_new_settings(self, identity: dict[str, Any], extra: dict[str, Any]) -> None:
        """Record the settings and real-face baselines of metrics registered since the config was written."""
        config = read_config(self.dir) or {}
        settings = {**identity.get("settings", {}), **(config.get("settings") or {})}
        baselines = {**(extra.get("baselines") or {}), **(config.get("baselines") or {})}
        if settings != config.get("settings") or baselines != (config.get("baselines") or {}):
            atomic_write_json(self.config_path, {**config, "settings": settings, "baselines": baselines})

    def update(self, iteration: int, values: dict[str, Any]) -> None:
        """Add `values` (keys of metrics registered since) to the line of `iteration`, rewriting the file
        atomically: a kill leaves the old file or the new one, never a torn line."""
        rows = read_lines(self.dir)
        for row in rows:
            if row["iteration"] == iteration:
                row.update(values)
        text = "".join(json.dumps({k: _json_value(v) for k, v in row.items()}, allow_nan=False) + "\n" for row in rows)
        atomic_write_bytes(self.path, text.encode("utf-8"))

    def append(self, row: dict[str, Any]) -> None:
        """One line, flushed and fsynced: what was appended survives a kill."""
        text = json.dumps({k: _json_value(v) for k, v in row.items()}, allow_nan=False) + "\n"
        try:
            with open(self.path, "a", encoding="utf-8") as f:
                f.write(text)
                f.flush()
                os.fsync(f.fileno())
        except OSError as e:
            raise OutputError(f"cannot write {self.path}: {e.strerror or e}") from None
        self.done.add(int(row["iteration"]))


def _json_value(v: Any) -> Any:
    """NaN and infinities are not JSON: a figure that cannot be defined is written as null."""
    if isinstance(v, float) and not math.isfinite(v):
        return None
    return v


def real_baseline(frames: Iterable[tuple[pd.DataFrame | None, dict[str, Any]]], key: str | None) -> float | None:
    """The real faces' figure `key` (e.g. msssim_real) of runs measured against one reference, from their metrics
    lines or their metrics_config.json baselines; None when the runs were measured against different references
    (a one-emotion run beside an all-emotion one), since no one line is then the floor of all of them."""
    if key is None:
        return None
    frames = list(frames)
    if len({((c or {}).get("reference") or {}).get("content_hash") for _, c in frames} - {None}) > 1:
        return None
    for df, config in frames:
        if df is not None and key in df and df[key].notna().any():
            return float(df[key].dropna().iloc[-1])
        value = ((config or {}).get("baselines") or {}).get(key)
        if value is not None:
            return float(value)
    return None

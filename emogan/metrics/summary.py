"""The collapse summary of several runs: the headline metrics at one iteration and at each run's worst one.

"Worst" is the measured iteration, from `start` on, with the lowest coverage (ties: the higher FER-FID). Coverage
is the metric that falls when a generator leaves parts of the real data behind, which is what collapse is; the
first iterations are skipped (`start`, default 1000) because every untrained generator is bad there and the
table would only say so. This is the table the README shows to compare M7 with the six.
"""

from __future__ import annotations

import math
from typing import Any

import pandas as pd

from emogan.metrics.verdict import episodes, verdict

HEADLINE = (("c2st", "realism (C2ST)"), ("fer_fid", "FER-FID"), ("coverage", "coverage"),
            ("duplicate_rate", "duplicate rate"), ("emotion_js_prior", "emotion JS"))
PERCENT = ("c2st", "coverage", "duplicate_rate", "label_accuracy")
WORST_FROM = 1000


def _at(df: pd.DataFrame, iteration: int) -> pd.Series | None:
    """The metrics line at `iteration`, or the last one before it (a run measured every 250 has no 4990)."""
    rows = df[df["iteration"] <= iteration]
    return rows.iloc[-1] if len(rows) else None


def worst_row(df: pd.DataFrame, start: int = WORST_FROM) -> pd.Series | None:
    rows = df[df["iteration"] >= start]
    if not len(rows) or "coverage" not in rows or rows["coverage"].isna().all():
        return None
    rows = rows.assign(_fid=rows.get("fer_fid", math.nan))
    return rows.sort_values(["coverage", "_fid"], ascending=[True, False], na_position="last").iloc[0]


def best_snapshot(df: pd.DataFrame | None, snapshots: list[int]) -> int | None:
    """The measured snapshot with the highest coverage (ties: the lower FER-FID) among `snapshots`: what a run at
    its best looks like, beside one of its episodes."""
    if df is None or not len(df) or "coverage" not in df:
        return None
    rows = df[df["iteration"].isin(snapshots) & df["coverage"].notna()]
    if not len(rows):
        return None
    rows = rows.assign(_fid=rows.get("fer_fid", math.nan))
    return int(rows.sort_values(["coverage", "_fid"], ascending=[False, True]).iloc[0]["iteration"])


def summary_row(name: str, model: str, df: pd.DataFrame, at: int, start: int = WORST_FROM, *,
                emotion: str = "all", seed: int | None = None, recipe: str = "",
                baselines: dict[str, float | None] | None = None) -> dict[str, Any]:
    """One run's line of the table: metrics at `at` and at its worst iteration, plus the verdict at `at`."""
    out: dict[str, Any] = {"run": name, "model": model, "emotion": emotion, "seed": seed, "recipe": recipe}
    here, worst = _at(df, at), worst_row(df, start)
    out["at"] = None if here is None else int(here["iteration"])
    out["worst"] = None if worst is None else int(worst["iteration"])
    for key, _ in HEADLINE:
        out[f"{key}@at"] = None if here is None else here.get(key)
        out[f"{key}@worst"] = None if worst is None else worst.get(key)
    # Conditional runs only: how often the classifier sees the emotion the generator was asked for.
    out["label_accuracy@at"] = None if here is None else here.get("label_accuracy")
    out["c2st_real"] = (baselines or {}).get("c2st_real")
    out["verdict"] = verdict(df, at, baselines).text if len(df) else "no metrics yet"
    out["episodes"] = episodes(df[df["iteration"] <= at], baselines) if len(df) else []
    return out


def _missing(v: Any) -> bool:
    return v is None or (isinstance(v, float) and math.isnan(v))


def _cell(v: Any, key: str) -> str:
    if _missing(v):
        return "-"
    if key in PERCENT:
        return f"{100 * v:.1f}%"
    return f"{v:.3f}" if key == "emotion_js_prior" else f"{v:.2f}"


def markdown(rows: list[dict[str, Any]]) -> str:
    """The rows as a Markdown table; the first columns' header names the iteration where all runs agree on it. A
    label-accuracy column is added when a conditional run is among them."""
    ats = {r["at"] for r in rows}
    at = f"at {ats.pop()}" if len(ats) == 1 and None not in ats else "at"
    conditional = any(not _missing(r.get("label_accuracy@at")) for r in rows)
    # The realism column only where a run has it (runs measured before it was registered have none).
    shown = [(k, t) for k, t in HEADLINE if k != "c2st" or any(not _missing(r["c2st@at"]) for r in rows)]
    # Realism is measured at a few iterations only, seldom at a run's worst: its column is given at `at` alone.
    worst_shown = [(k, t) for k, t in shown if k != "c2st"]
    head = ["model", "run", *(f"{title} {at}" for _, title in shown), "worst iteration",
            *(f"{title} at worst" for _, title in worst_shown), *([f"label accuracy {at}"] if conditional else []),
            "episodes", "verdict"]
    lines = ["| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
    for r in rows:
        cells = [r["model"], r["run"], *(_cell(r[f"{k}@at"], k) for k, _ in shown),
                 "-" if r["worst"] is None else str(r["worst"]), *(_cell(r[f"{k}@worst"], k) for k, _ in worst_shown),
                 *([_cell(r.get("label_accuracy@at"), "label_accuracy")] if conditional else []),
                 str(len(r.get("episodes") or [])), r["verdict"]]
        lines.append("| " + " | ".join(cells) + " |")
    floors = sorted({round(100 * r["c2st_real"], 1) for r in rows if not _missing(r.get("c2st_real"))})
    if floors:
        lines.append(f"\nRealism (C2ST): a detector's accuracy on held-out real and generated faces (50%: it cannot "
                     f"tell them apart); real training faces score {' / '.join(f'{f}%' for f in floors)} against the "
                     f"same real faces. It is measured every 250 iterations, at the original's six and at the last.")
    return "\n".join(lines)


SEED_COLUMNS = (("c2st", "realism (C2ST)"), ("fer_fid", "FER-FID"), ("coverage", "coverage"),
                ("label_accuracy", "label accuracy"))


def seed_rows(rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Per model, emotion and recipe trained at several seeds: the mean, min and max over its runs of the headline
    figures at `at` (the spread that says whether two models really differ). Where one model id was trained with
    more than one recipe, each recipe is its own row, named by its fingerprint."""
    groups: dict[tuple[str, str, str], list[dict[str, Any]]] = {}
    for r in rows:
        groups.setdefault((r["model"], r.get("emotion", "all"), r.get("recipe", "")), []).append(r)
    recipes: dict[tuple[str, str], int] = {}
    for model, emotion, _ in groups:
        recipes[model, emotion] = recipes.get((model, emotion), 0) + 1
    out = []
    for (model, emotion, recipe), members in groups.items():
        if len({m.get("seed") for m in members}) < 2:
            continue
        name = f"{model} (recipe {recipe})" if recipes[model, emotion] > 1 else model
        row: dict[str, Any] = {"model": name, "emotion": emotion, "n": len(members),
                               "seeds": sorted(m.get("seed") for m in members if m.get("seed") is not None)}
        for key, _ in SEED_COLUMNS:
            vals = [float(m[f"{key}@at"]) for m in members if not _missing(m.get(f"{key}@at"))]
            row[key] = (sum(vals) / len(vals), min(vals), max(vals)) if vals else None
        out.append(row)
    return out


def seeds_markdown(rows: list[dict[str, Any]], at: str = "") -> str:
    """seed_rows as a Markdown table: each figure as its mean with the min-max range over the seeds."""
    shown = [(k, t) for k, t in SEED_COLUMNS if any(r[k] is not None for r in rows)]
    head = ["model", "emotion", "seeds", *(f"{t} {at}".strip() + " (mean, range)" for _, t in shown)]
    lines = ["| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
    for r in rows:
        cells = [r["model"], r["emotion"], ", ".join(map(str, r["seeds"]))]
        for k, _ in shown:
            v = r[k]
            cells.append("-" if v is None else f"{_cell(v[0], k)} ({_cell(v[1], k)}-{_cell(v[2], k)})")
        lines.append("| " + " | ".join(cells) + " |")
    return "\n".join(lines)

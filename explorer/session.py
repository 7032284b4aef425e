"""The app's session state: its options, the run selection, the one current iteration, and the player that steps it."""

from __future__ import annotations

import math
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import streamlit as st

from emogan.original import ORIGINAL_ITERATIONS
from emogan.runs.catalog import RunInfo
from emogan.runs.store import nearest

# Session-state keys: one name per idea, shared by the sidebar and every page.
ITERATION = "iteration"            # the current iteration (the source of truth)
SLIDER = "iteration_slider"        # the sidebar control; copied from ITERATION before it is drawn
RANGE = "iteration_range"          # (first, last) snapshot the control shows, copied from the range widget
RANGE_EPOCH = "_range_epoch"       # bumped to replace the range widget (see sidebar._iteration_control)
RANGE_FULL = "_range_full"
PLAYING = "playing"
SPEED = "speed"
JUDGE = "judge"
BANDS = "seed_bands"               # draw a model's runs at several seeds as a mean line with a min-max band
LAST_TICK = "_last_tick"
FOLLOW = "follow_newest"           # while runs train: the iteration follows their newest snapshot
LIVE_SIGNATURE = "_live_signature" # what the live refresh saw on disk last time
FOLDER_SIGNATURE = "_folder_signature"  # what the runs folder held when it was last looked at

# The app opens on the original project's slides: their first iteration, and their span as the range.
DEFAULT_ITERATION = ORIGINAL_ITERATIONS[0]
DEFAULT_RANGE = (ORIGINAL_ITERATIONS[0], ORIGINAL_ITERATIONS[-1])


@dataclass(frozen=True)
class AppConfig:
    runs_root: Path
    classifier_dir: Path | None = None     # None: the shipped weights (checkpoints/classifier)
    threads: int = 1                       # torch intra-op threads of the app process
    data: str | None = None                # FER2013 for the Train page (default: $EMOGAN_DATA)
    allow_training: bool = False           # start and stop runs even when served beyond this machine


@dataclass
class Selection:
    """What the sidebar chose this run: pages read it, never the widgets."""
    runs: list[RunInfo] = field(default_factory=list)
    damaged: list[RunInfo] = field(default_factory=list)
    options: list[int] = field(default_factory=list)      # snapshot iterations of the selected runs (union)
    problem: str = ""                                      # one line when there is nothing to show


def valid_choice(key: str, options: Sequence[Any], default: Any = None) -> Any:
    """The stored value of widget `key`, reset to `default` (else the first option) when it is no longer one of
    `options`: a widget given a stale value by session state would raise instead of drawing."""
    if st.session_state.get(key) not in options:
        st.session_state[key] = default if default in options else options[0]
    return st.session_state[key]


def band_groups() -> dict[str, str] | None:
    """run -> the model it is drawn under, when "seeds as a band" is on (None: every run its own line)."""
    if not st.session_state.get(BANDS):
        return None
    runs = selection().runs
    recipes: dict[str, set[str]] = {}
    for r in runs:
        recipes.setdefault(r.model, set()).add(r.recipe)
    # Runs of one model id trained with two recipes are two bands, never one.
    return {r.name: (f"{r.model} · {r.recipe}" if len(recipes[r.model]) > 1 else r.model) if r.model else r.name
            for r in runs}


def configure(cfg: AppConfig) -> None:
    st.session_state["_config"] = cfg


def config() -> AppConfig:
    cfg = st.session_state.get("_config")
    if cfg is None:
        raise RuntimeError("explorer.session.configure() was not called by the entry script")
    return cfg


def selection() -> Selection:
    return st.session_state.get("_selection") or Selection(problem="no runs selected")


def set_selection(sel: Selection) -> None:
    st.session_state["_selection"] = sel


# ---------------------------------------------------------------- the current iteration

def default_iteration(options: Sequence[int]) -> int | None:
    if not options:
        return None
    return DEFAULT_ITERATION if DEFAULT_ITERATION in options else options[-1]


def default_range(options: Sequence[int]) -> tuple[int, int]:
    """The original slides' span when the snapshots cover it, else everything."""
    lo, hi = DEFAULT_RANGE
    if options and options[0] <= lo and options[-1] >= hi:
        return nearest(list(options), lo), nearest(list(options), hi)
    return (options[0], options[-1]) if options else (0, 0)


def in_range(options: Sequence[int]) -> list[int]:
    lo, hi = st.session_state.get(RANGE) or default_range(options)
    inside = [it for it in options if lo <= it <= hi]
    return inside or list(options)


def current_iteration() -> int | None:
    options = selection().options
    it = st.session_state.get(ITERATION)
    if it is None or it not in options:
        it = nearest(list(options), it) if it is not None else default_iteration(options)
        st.session_state[ITERATION] = it
    return it


def set_iteration(iteration: int) -> None:
    """Make `iteration` (snapped to a snapshot) current for the whole app, widening the range if it lies outside."""
    options = selection().options
    it = nearest(list(options), int(iteration))
    if it is None:
        return
    st.session_state[ITERATION] = it
    lo, hi = st.session_state.get(RANGE) or default_range(options)
    if not lo <= it <= hi:
        st.session_state[RANGE] = (options[0], options[-1])
        st.session_state[RANGE_FULL] = True
        st.session_state[RANGE_EPOCH] = st.session_state.get(RANGE_EPOCH, 0) + 1


def step(delta: int, wrap: bool = False) -> None:
    """Move to the previous/next snapshot in the range (button and player callback)."""
    opts = in_range(selection().options)
    if not opts:
        return
    cur = current_iteration()
    i = opts.index(nearest(opts, cur if cur is not None else opts[0]))
    j = i + delta
    if wrap:
        j %= len(opts)
    st.session_state[ITERATION] = opts[min(max(j, 0), len(opts) - 1)]


def on_slider_change() -> None:
    st.session_state[ITERATION] = st.session_state[SLIDER]


def iteration_from_click(event: Any) -> int | None:
    """The iteration a chart click sent (the chart's value, {'chart_event': iteration}), or None."""
    try:
        value = event["chart_event"]
    except (KeyError, TypeError):
        value = getattr(event, "chart_event", None)
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value):
        return None
    return round(value)


def jump_flagged(direction: int) -> None:
    """Make the previous (-1) or next (+1) snapshot with collapse signs of the selected runs current."""
    from . import loaders
    marks = sorted({it for r in selection().runs for it in loaders.flagged(r)})
    cur = current_iteration() or 0
    targets = [it for it in marks if (it < cur if direction < 0 else it > cur)]
    if targets:
        set_iteration(targets[-1] if direction < 0 else targets[0])


def on_chart_click(key: str) -> None:
    """Chart click callback: the clicked iteration becomes current, and the whole app redraws."""
    it = iteration_from_click(st.session_state.get(key))
    if it is not None:
        set_iteration(it)
        st.rerun()     # from a callback inside a fragment: escalate to a full rerun so the sidebar follows


# ---------------------------------------------------------------- the player

def start_playing() -> None:
    st.session_state[LAST_TICK] = time.monotonic()


def tick(interval: float) -> bool:
    """Advance one snapshot if `interval` seconds have passed since the last advance (player fragment)."""
    now = time.monotonic()
    if now - st.session_state.get(LAST_TICK, 0.0) < 0.9 * interval:
        return False
    st.session_state[LAST_TICK] = now
    step(+1, wrap=True)
    return True

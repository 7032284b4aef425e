"""App-wide state: the runs folder, the run selection, the one current iteration, and bounded caches of emogan calls."""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable, Sequence, TypeVar

import numpy as np
import pandas as pd
import streamlit as st
import torch

from emogan import curves, gallery
from emogan.catalog import RunInfo, describe
from emogan.errors import EmoganError
from emogan.runs import Run, nearest
from emogan.sampling import generate

T = TypeVar("T")

# Session-state keys: one name per idea, shared by the sidebar and every page.
ITERATION = "iteration"            # the current iteration (the source of truth)
SLIDER = "iteration_slider"        # the sidebar control; copied from ITERATION before it is drawn
RANGE = "iteration_range"          # (first, last) snapshot the control shows, copied from the range widget
RANGE_EPOCH = "_range_epoch"       # bumped to replace the range widget (see sidebar._iteration_control)
RANGE_FULL = "_range_full"
PLAYING = "playing"
SPEED = "speed"
JUDGE = "judge"
LAST_TICK = "_last_tick"

# The original project's slides showed these iterations; the timeline opens on their span.
SLIDE_ITERATIONS = (950, 1900, 2950, 4110, 4700, 4850)
DEFAULT_ITERATION = 950
DEFAULT_RANGE = (950, 4850)
# A first look on a CPU: 300 iterations of two models take minutes there; the full 5000 want a GPU.
TRAIN_HINT = "python -m emogan train --model M1,M7 --iters 300 --data PATH/TO/fer2013 --out {root}"


@dataclass(frozen=True)
class AppConfig:
    runs_root: Path
    classifier_dir: Path | None = None     # None: the shipped weights (checkpoints/classifier)
    threads: int = 1                       # torch intra-op threads of the app process


@dataclass
class Selection:
    """What the sidebar chose this run: pages read it, never the widgets."""
    runs: list[RunInfo] = field(default_factory=list)
    damaged: list[RunInfo] = field(default_factory=list)
    options: list[int] = field(default_factory=list)      # snapshot iterations of the selected runs (union)
    problem: str = ""                                      # one line when there is nothing to show


def configure(cfg: AppConfig) -> None:
    st.session_state["_config"] = cfg


def config() -> AppConfig:
    cfg = st.session_state.get("_config")
    if cfg is None:
        raise RuntimeError("explorer.state.configure() was not called by the entry script")
    return cfg


def selection() -> Selection:
    return st.session_state.get("_selection") or Selection(problem="no runs selected")


def set_selection(sel: Selection) -> None:
    st.session_state["_selection"] = sel


def one_line(err: BaseException) -> str:
    text = str(err).strip().splitlines()
    return text[0] if text else type(err).__name__


def attempt(fn: Callable[..., T], *args: Any, **kw: Any) -> tuple[T | None, str]:
    """(value, '') or (None, one-line reason): a damaged file spoils one cell, never the page."""
    try:
        return fn(*args, **kw), ""
    except EmoganError as e:
        return None, one_line(e)
    except (OSError, ValueError) as e:
        return None, f"{type(e).__name__}: {one_line(e)}"


# ---------------------------------------------------------------- cached loaders (bounded)
# Keys carry the file's mtime ("stamp"), so a run that is still training shows its new snapshots and losses.

def _mtime(path: Path) -> int:
    try:
        return path.stat().st_mtime_ns
    except OSError:
        return 0


def stamp(info: RunInfo) -> int:
    return _mtime(info.path / "index.json")


@st.cache_data(ttl=5, max_entries=8, show_spinner=False)
def catalog(root: str) -> tuple[list[RunInfo], str]:
    """The runs under root (rescanned at most every 5 s) or a one-line reason why there are none."""
    try:
        return describe(root), ""
    except EmoganError as e:
        return [], one_line(e)


@st.cache_data(max_entries=128, show_spinner=False)
def _snapshots(path: str, stamp_: int) -> tuple[list[int], list[int]]:
    run = Run(path)
    snaps = run.snapshots()
    return [int(s["iteration"]) for s in snaps], [int(s["iteration"]) for s in snaps if s.get("weights")]


def snapshots(info: RunInfo) -> list[int]:
    its, err = attempt(_snapshots, str(info.path), stamp(info))
    return its[0] if its else []


def weight_iterations(info: RunInfo) -> list[int]:
    its, err = attempt(_snapshots, str(info.path), stamp(info))
    return its[1] if its else []


@st.cache_data(max_entries=64, show_spinner=False)
def _losses(path: str, stamp_: int) -> pd.DataFrame:
    return Run(path).losses()


def losses(info: RunInfo) -> tuple[pd.DataFrame | None, str]:
    return attempt(_losses, str(info.path), _mtime(info.path / "losses.csv"))


PLOT_POINTS = 1500   # per run and quantity: a chart is ~700 px wide, and every rerun resends its points


@st.cache_data(max_entries=32, show_spinner=False)
def _curves(keys: tuple[tuple[str, str, int], ...], weight: float) -> pd.DataFrame:
    return curves.curve_frame({name: _losses(path, st_) for name, path, st_ in keys}, weight, max_points=PLOT_POINTS)


CurveKey = tuple[tuple[tuple[str, str, int], ...], float]


def curve_key(runs: Sequence[RunInfo], weight: float) -> CurveKey:
    """What the smoothed curves of these runs depend on: each readable loss log's version, and the weight."""
    keys = tuple((r.name, str(r.path), _mtime(r.path / "losses.csv")) for r in runs if losses(r)[0] is not None)
    return keys, round(float(weight), 3)


def curve_data(key: CurveKey) -> pd.DataFrame:
    """Smoothed and thinned curves of the runs whose losses can be read (the others are reported by the page)."""
    return _curves(*key)


@st.cache_data(max_entries=512, show_spinner=False)
def _faces(path: str, iteration: int, stamp_: int) -> tuple[int, np.ndarray]:
    return gallery.faces_at(Run(path), iteration)


def faces(info: RunInfo, iteration: int, n: int | None = None) -> tuple[int | None, np.ndarray | None, str]:
    """(snapshot used, its first n faces, '') or (None, None, reason)."""
    got, err = attempt(_faces, str(info.path), iteration, stamp(info))
    if got is None:
        return None, None, err
    used, arr = got
    return used, (arr[:n] if n is not None else arr), ""


@st.cache_data(max_entries=256, show_spinner=False)
def _faces_png(path: str, iteration: int, n: int, ncols: int, scale: int, labels: tuple[str, ...] | None,
               stamp_: int) -> bytes:
    _, arr = gallery.faces_at(Run(path), iteration, n)
    return gallery.png_bytes(gallery.compose(arr, ncols, scale=scale, labels=labels))


def faces_png(info: RunInfo, iteration: int, n: int, ncols: int, scale: int = 2,
              labels: Sequence[str] | None = None) -> tuple[bytes | None, str]:
    return attempt(_faces_png, str(info.path), iteration, n, ncols, scale,
                   tuple(labels) if labels is not None else None, stamp(info))


@st.cache_data(max_entries=128, show_spinner=False)
def _change_png(path: str, iteration: int, n: int, ncols: int, scale: int, stamp_: int
                ) -> tuple[int, float, bytes] | None:
    run = Run(path)
    prev = gallery.previous_snapshot(run.snapshot_iterations(), iteration)
    if prev is None:
        return None
    diff = gallery.change(run.grid(prev)[:n], run.grid(iteration)[:n])
    return prev, float(diff.mean()), gallery.png_bytes(gallery.compose(gallery.heat(diff), ncols, scale=scale))


def change_png(info: RunInfo, iteration: int, n: int, ncols: int, scale: int = 2
               ) -> tuple[tuple[int, float, bytes] | None, str]:
    """(previous snapshot, mean change in grey levels, heat-map PNG) for the run's faces at `iteration`; None first."""
    return attempt(_change_png, str(info.path), iteration, n, ncols, scale, stamp(info))


@st.cache_data(max_entries=64, show_spinner=False)
def _evolution_png(path: str, iterations: tuple[int, ...], n: int, scale: int, with_change: bool, stamp_: int
                   ) -> tuple[list[int], bytes, bytes | None]:
    run = Run(path)
    used, frames = gallery.evolution(run, iterations, n)
    labels = [f"it {it}" for it in used]
    image = gallery.png_bytes(gallery.strip(frames, labels, scale=scale))
    if not with_change:
        return used, image, None
    its = run.snapshot_iterations()
    diffs, heads = [], []
    for it, faces in zip(used, frames):
        prev = gallery.previous_snapshot(its, it)
        diffs.append(gallery.heat(gallery.change(run.grid(prev)[:n], faces)) if prev is not None
                     else gallery.heat(faces * 0))
        heads.append(f"{prev}..{it}" if prev is not None else "first")
    return used, image, gallery.png_bytes(gallery.strip(np.stack(diffs), heads, scale=scale))


def evolution_png(info: RunInfo, iterations: Sequence[int], n: int, scale: int = 2, with_change: bool = False
                  ) -> tuple[tuple[list[int], bytes, bytes | None] | None, str]:
    """The run's first n faces at the snapshots nearest to `iterations` (columns), and optionally their change maps."""
    return attempt(_evolution_png, str(info.path), tuple(int(i) for i in iterations), n, scale, with_change, stamp(info))


@st.cache_data(max_entries=256, show_spinner=False)
def _image_png(images: np.ndarray, ncols: int, scale: int, labels: tuple[str, ...] | None) -> bytes:
    return gallery.png_bytes(gallery.compose(images, ncols, scale=scale, labels=labels))


def image_png(images: np.ndarray, ncols: int, scale: int = 2, labels: Sequence[str] | None = None) -> bytes:
    """Faces tiled into one PNG (cached by content: a redraw of the same faces costs a hash)."""
    return _image_png(np.ascontiguousarray(images), int(ncols), int(scale), tuple(labels) if labels else None)


@st.cache_data(max_entries=32, show_spinner=False)
def _change_profile(path: str, stamp_: int) -> pd.DataFrame:
    return gallery.run_change_profile(Run(path))


def change_profile(info: RunInfo) -> tuple[pd.DataFrame | None, str]:
    return attempt(_change_profile, str(info.path), stamp(info))


@st.cache_resource(max_entries=12, show_spinner=False)
def _generator(path: str, iteration: int, stamp_: int) -> torch.nn.Module:
    # Twelve generators of the original size are ~200 MB: two iterations of six models stay warm.
    return Run(path).load_generator(iteration, "cpu")


@st.cache_resource(max_entries=16, show_spinner=False)
def _latents(path: str, stamp_: int) -> torch.Tensor:
    return Run(path).fixed_latents()


def fixed_latents(info: RunInfo) -> tuple[torch.Tensor | None, str]:
    return attempt(_latents, str(info.path), _mtime(info.path / "latents.safetensors"))


def weights_iteration(info: RunInfo, iteration: int) -> tuple[int | None, str]:
    """The iteration with weights nearest to `iteration`, and a note when it is another one."""
    its = weight_iterations(info)
    used = nearest(its, iteration)
    if used is None:
        return None, f"{info.name}: no generator weights saved"
    return used, gallery.snap_note(used, iteration, "with weights")


@st.cache_data(max_entries=256, show_spinner=False)
def _generated(path: str, iteration: int, z: np.ndarray, stamp_: int, labels: np.ndarray | None = None) -> np.ndarray:
    G = _generator(path, iteration, stamp_)
    return generate(G, torch.from_numpy(z), labels=None if labels is None else torch.from_numpy(labels))


def generated(info: RunInfo, iteration: int, z: torch.Tensor | np.ndarray,
              labels: np.ndarray | None = None) -> tuple[np.ndarray | None, str]:
    """Faces (N, 48, 48) of the run's generator at `iteration` (which must have weights) for latents z; a
    conditional generator draws the emotions `labels` asks for (indices (N,) or weights (N, 7); default: cycling)."""
    z_np = np.ascontiguousarray(z.numpy() if isinstance(z, torch.Tensor) else z, dtype=np.float32)
    labels_np = None if labels is None else np.ascontiguousarray(labels)
    return attempt(_generated, str(info.path), iteration, z_np, stamp(info), labels_np)


@st.cache_data(max_entries=128, show_spinner=False)
def _conditional(path: str, stamp_: int) -> bool:
    return bool((Run(path).config.get("model_config") or {}).get("conditional"))


def conditional(info: RunInfo) -> bool:
    """Whether the run's model draws the emotion it is asked for (M8); False for a run that cannot be read."""
    ok, _ = attempt(_conditional, str(info.path), stamp(info))
    return bool(ok)


def z_dim(info: RunInfo) -> int:
    z, _ = fixed_latents(info)
    return int(z.shape[1]) if z is not None else 100


# ---------------------------------------------------------------- the emotion classifier (optional)

def classifier_hint(folder: Path | None) -> str:
    from emogan.classifier import default_weights_dir
    where = folder if folder is not None else default_weights_dir()
    return (f"classifier weights not found at {where}; train them with python -m emogan classifier train"
            + (f" --out {where}" if folder is not None else ""))


@st.cache_resource(max_entries=2, show_spinner=False)
def _classifier(folder: str | None, stamp_: int) -> Any:
    from emogan.classifier import load_classifier
    return load_classifier(folder)


def _classifier_key() -> tuple[str | None, Path]:
    """The --classifier folder (None: the shipped one) and its weights file."""
    from emogan.classifier import default_weights_dir
    folder = config().classifier_dir
    return (str(folder) if folder is not None else None,
            (folder if folder is not None else default_weights_dir()) / "classifier.safetensors")


def classifier() -> tuple[Any, str]:
    """(classifier, '') or (None, one line saying where the weights were looked for and how to make them)."""
    folder, weights = _classifier_key()
    if not weights.is_file():
        from emogan.checkpoint import PICKLE_SUFFIXES
        if weights.parent.is_dir() and any(p.suffix.lower() in PICKLE_SUFFIXES for p in weights.parent.iterdir()):
            # Pickle files are there: the loader's own line says they were refused and why.
            from emogan.classifier import load_classifier
            _, problem = attempt(load_classifier, folder)
            return None, problem or classifier_hint(config().classifier_dir)
        return None, classifier_hint(config().classifier_dir)
    return attempt(_classifier, folder, _mtime(weights))


@st.cache_data(max_entries=256, show_spinner=False)
def _judged(folder: str | None, stamp_: int, images: np.ndarray) -> pd.DataFrame:
    from emogan.classifier import judge
    return judge(images, _classifier(folder, stamp_))


@st.cache_data(max_entries=64, show_spinner=False)
def _distribution(folder: str | None, stamp_: int, images: np.ndarray) -> pd.DataFrame:
    from emogan.classifier import compare_with_prior
    return compare_with_prior(images, _classifier(folder, stamp_))


def _with_classifier(fn: Callable[..., T], images: np.ndarray) -> tuple[T | None, str]:
    clf, err = classifier()
    if clf is None:
        return None, err
    folder, weights = _classifier_key()
    return attempt(fn, folder, _mtime(weights), np.ascontiguousarray(images))


def judged(images: np.ndarray) -> tuple[pd.DataFrame | None, str]:
    """Each face's predicted emotion and confidence, or the one-line reason there is none."""
    return _with_classifier(_judged, images)


def emotion_mix(images: np.ndarray) -> tuple[pd.DataFrame | None, str]:
    """Generated vs FER2013 emotion shares (index EMOTIONS), or the one-line reason there is none."""
    return _with_classifier(_distribution, images)


# ---------------------------------------------------------------- the current iteration

def iteration_options(runs: Sequence[RunInfo]) -> list[int]:
    its: set[int] = set()
    for r in runs:
        its.update(snapshots(r))
    return sorted(its)


def default_iteration(options: Sequence[int]) -> int | None:
    if not options:
        return None
    return DEFAULT_ITERATION if DEFAULT_ITERATION in options else options[-1]


def default_range(options: Sequence[int]) -> tuple[int, int]:
    """950..4850 (as on the original slides) when the snapshots span it, else everything."""
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


def iteration_from_selection(event: Any) -> int | None:
    """The iteration of the first clicked point of a plotly selection event, or None."""
    try:
        points = event["selection"]["points"]
    except (KeyError, TypeError):
        return None
    for p in points or []:
        x = p.get("x") if isinstance(p, dict) else None
        if x is not None:
            try:
                return int(round(float(x)))
            except (TypeError, ValueError):
                continue
    return None


def on_chart_select(key: str) -> None:
    """Plotly on_select callback: a clicked point sets the current iteration, and the whole app redraws."""
    it = iteration_from_selection(st.session_state.get(key))
    if it is not None:
        set_iteration(it)
        st.rerun()     # from a callback inside a fragment: escalate to a full rerun so the sidebar follows


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


def loss_labels(info: RunInfo, iteration: int) -> str:
    """'G 1.234 · D 0.567' at the iteration (the last logged row at or before it), '' when unknown."""
    df, _ = losses(info)
    row = curves.values_at(df, iteration) if df is not None and len(df) else None
    if row is None:
        return ""
    return f"G {row['loss_G']:.3f} · D {row['loss_D']:.3f}"


def run_problems(runs: Sequence[RunInfo]) -> list[str]:
    """One line per selected run that diverged or whose losses cannot be read."""
    lines = []
    for r in runs:
        df, err = losses(r)
        if err:
            lines.append(f"{r.name}: {err}")
            continue
        bad = curves.first_nonfinite(df)
        if bad is not None:
            lines.append(f"{r.name} diverged: losses are NaN/inf from iteration {bad}; its curves stop there")
        elif r.state == "diverged":
            lines.append(f"{r.name} diverged: {r.message or 'see its status'}")
    return lines

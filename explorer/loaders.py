"""Cached loaders of what the pages show: bounded caches around emogan calls, each failure one line for its cell.

Keys carry the file's mtime ("stamp"), so a run that is still training shows its new snapshots and losses.
The loaders that need torch or the metrics' libraries import them when called, so a page that shows only stored
files does not wait for them."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any, NamedTuple, TypeVar

import numpy as np
import pandas as pd
import streamlit as st

from emogan.errors import EmoganError, first_line
from emogan.metrics.records import METRICS_FILE, read_config, read_metrics
from emogan.runs.catalog import RunInfo, list_runs
from emogan.runs.store import INDEX, LATENTS, LOSSES, Run, first_nonfinite, loss_log_notes, nearest
from emogan.views import change_maps, curves, gallery

from . import charts

if TYPE_CHECKING:
    import torch

T = TypeVar("T")

# Per run and quantity: a chart's plot area is ~450 px wide, and its lowest and highest value in each of 200
# slices draw the same raw line as all 5000 at about a point per pixel (the smoothed line and tooltip take every
# 50th iteration, the original's logging interval). Every point more is sent on each rerun, live refreshes
# included: the chart's options are most of the landing page's server time, and 600 points cost 0.55 MB of JSON
# per rerun for eight runs, 400 points 0.3 MB.
PLOT_POINTS = 400


def attempt(fn: Callable[..., T], *args: Any, **kw: Any) -> tuple[T | None, str]:
    """(value, '') or (None, one-line reason): a damaged file spoils one cell, never the page."""
    try:
        return fn(*args, **kw), ""
    except EmoganError as e:
        return None, first_line(e)
    except (OSError, ValueError) as e:
        return None, f"{type(e).__name__}: {first_line(e)}"


def mtime(path: Path) -> int:
    try:
        return path.stat().st_mtime_ns
    except OSError:
        return 0


def stamp(info: RunInfo) -> int:
    return mtime(info.path / INDEX)


# ---------------------------------------------------------------- runs, snapshots and losses

@st.cache_data(ttl=5, max_entries=8, show_spinner=False)
def catalog(root: str) -> tuple[list[RunInfo], str]:
    """The runs under root (rescanned at most every 5 s) or a one-line reason why there are none."""
    try:
        return list_runs(root), ""
    except EmoganError as e:
        return [], first_line(e)


@st.cache_data(max_entries=128, show_spinner=False)
def _snapshots(path: str, stamp_: int) -> tuple[list[int], list[int], list[int]]:
    """Every snapshot's iteration, those with weights, and those storing the metrics' faces (a loop of one's own)."""
    snaps = Run(path).snapshots()
    return ([int(s["iteration"]) for s in snaps], [int(s["iteration"]) for s in snaps if s.get("weights")],
            [int(s["iteration"]) for s in snaps if s.get("faces")])


def snapshots(info: RunInfo) -> list[int]:
    its, _ = attempt(_snapshots, str(info.path), stamp(info))
    return its[0] if its else []


def weight_iterations(info: RunInfo) -> list[int]:
    its, _ = attempt(_snapshots, str(info.path), stamp(info))
    return its[1] if its else []


def measured_iterations(info: RunInfo) -> list[int]:
    """Snapshots whose measured faces can be had: drawn by their weights, or stored by a loop of one's own."""
    its, _ = attempt(_snapshots, str(info.path), stamp(info))
    return sorted(set(its[1]) | set(its[2])) if its else []


def paired(info: RunInfo) -> bool:
    """Whether the run's grids show the shared fixed latents (False: latents of its own, see Run.paired_latents)."""
    return bool(run_config(info).get("paired_latents", True))


@st.cache_data(max_entries=128, show_spinner=False)
def _run_config(path: str, stamp_: int) -> dict:
    return dict(Run(path).config)


def run_config(info: RunInfo) -> dict:
    """The run's config.json ({} when it cannot be read)."""
    got, _ = attempt(_run_config, str(info.path), stamp(info))
    return got or {}


def iteration_options(runs: Sequence[RunInfo]) -> list[int]:
    """The snapshot iterations of any of the runs."""
    its: set[int] = set()
    for r in runs:
        its.update(snapshots(r))
    return sorted(its)


@st.cache_data(max_entries=64, show_spinner=False)
def _losses(path: str, stamp_: int) -> pd.DataFrame:
    return Run(path).losses()


def losses(info: RunInfo) -> tuple[pd.DataFrame | None, str]:
    return attempt(_losses, str(info.path), mtime(info.path / LOSSES))


class CurveKey(NamedTuple):
    """What the smoothed curves of some runs depend on: each readable loss log's version (name, path, stamp), the
    smoothing weight and the grid step the runs share."""
    runs: tuple[tuple[str, str, int], ...]
    weight: float
    step: int


@st.cache_data(max_entries=128, show_spinner=False)
def _last_logged(path: str, stamp_: int) -> int:
    df = _losses(path, stamp_)
    return int(df["iteration"].iloc[-1]) if len(df) else 0


def curve_key(runs: Sequence[RunInfo], weight: float) -> CurveKey:
    keys, last = [], 0
    for r in runs:
        got, _ = attempt(_last_logged, str(r.path), mtime(r.path / LOSSES))
        if got is not None:
            keys.append((r.name, str(r.path), mtime(r.path / LOSSES)))
            last = max(last, got)
    return CurveKey(tuple(keys), round(float(weight), 3), curves.grid_step(last, PLOT_POINTS))


# Per run, so that a live refresh recomputes only the run that logged new losses.
@st.cache_data(max_entries=128, show_spinner=False)
def _run_curves(name: str, path: str, stamp_: int, weight: float, step: int) -> pd.DataFrame:
    return curves.run_curves(name, _losses(path, stamp_), weight, step, max_points=PLOT_POINTS)


def curve_data(key: CurveKey) -> pd.DataFrame:
    """Smoothed and thinned curves of the runs whose losses can be read (the others are reported by the page)."""
    parts = [_run_curves(name, path, st_, key.weight, key.step) for name, path, st_ in key.runs]
    return pd.concat(parts, ignore_index=True) if parts else curves.empty_curves()


@st.cache_data(max_entries=128, show_spinner=False)
def _run_traces(name: str, path: str, stamp_: int, weight: float, step: int, label: str, color: str, log: bool,
                raw: bool) -> charts.Traces:
    return charts.run_traces(_run_curves(name, path, stamp_, weight, step), curves.QUANTITIES, color=color,
                             label=label, log=log, show_raw=raw)


def curve_panel(key: CurveKey, models: dict[str, str], log: bool, raw: bool) -> dict:
    """charts.curve_panel of the runs in `key` (without the iteration line), put together from each run's cached
    traces."""
    names = charts.trace_labels(models)
    traces = [_run_traces(name, path, st_, key.weight, key.step, names.get(name, name),
                          charts.color_for(models.get(name, ""), name), log, raw) for name, path, st_ in key.runs]
    return charts.panel_options(traces, curves.QUANTITIES, log=log)


@st.cache_data(max_entries=128, show_spinner=False)
def _loss_tail(path: str, stamp_: int) -> dict[str, float]:
    """The runs table's loss figures: the last row's, and the mean over the last 10% of the finite rows."""
    df = _losses(path, stamp_)
    if not len(df):
        return {}
    last = df.iloc[-1]
    finite = df[np.isfinite(df["loss_G"]) & np.isfinite(df["loss_D"])]
    return {"loss_G": float(last["loss_G"]), "loss_D": float(last["loss_D"]), "seconds": float(last["seconds"]),
            "tail_G": curves.tail_mean(finite, "loss_G"), "tail_D": curves.tail_mean(finite, "loss_D")}


def loss_tail(info: RunInfo) -> tuple[dict[str, float] | None, str]:
    return attempt(_loss_tail, str(info.path), mtime(info.path / LOSSES))


def loss_labels(info: RunInfo, iteration: int) -> str:
    """'G 1.234 · D 0.567' at the iteration (the last logged row at or before it), '' when unknown."""
    df, _ = losses(info)
    row = curves.values_at(df, iteration) if df is not None and len(df) else None
    if row is None:
        return ""
    return f"G {row['loss_G']:.3f} · D {row['loss_D']:.3f}"


def run_problems(runs: Sequence[RunInfo]) -> list[str]:
    """One line per selected run that diverged, whose losses cannot be read, or whose loss log stops short."""
    return [line for r in runs
            for line in _problems(r.name, str(r.path), mtime(r.path / LOSSES), stamp(r), r.state, r.message)]


@st.cache_data(max_entries=128, show_spinner=False)
def _problems(name: str, path: str, loss_stamp: int, index_stamp: int, state: str, message: str) -> list[str]:
    df, err = attempt(_losses, path, loss_stamp)
    if err:
        return [f"{name}: {err}"]
    lines = []
    bad = first_nonfinite(df)
    if bad is not None:
        lines.append(f"{name} diverged: losses are NaN/inf from iteration {bad}; its curves stop there")
    elif state == "diverged":
        lines.append(f"{name} diverged: {message or 'see its status'}")
    its, _ = attempt(_snapshots, path, index_stamp)
    lines += [f"{name}: {note}" for note in loss_log_notes(df, its[0] if its else []) if note.startswith("loss log")]
    return lines


# ---------------------------------------------------------------- faces from the stored grids

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
    got = change_maps.since_previous(Run(path), iteration, n)
    if got is None:
        return None
    prev, diff = got
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
    image = gallery.png_bytes(gallery.strip(frames, [f"it {it}" for it in used], scale=scale))
    if not with_change:
        return used, image, None
    maps, heads = change_maps.strip_changes(run, used, frames)
    return used, image, gallery.png_bytes(gallery.strip(maps, heads, scale=scale))


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


# ---------------------------------------------------------------- generators (need torch and weights)

@st.cache_resource(max_entries=12, show_spinner=False)
def _generator(path: str, iteration: int, stamp_: int) -> torch.nn.Module:
    # Twelve generators of the original size are ~200 MB: two iterations of six models stay warm.
    return Run(path).load_generator(iteration, "cpu")


@st.cache_resource(max_entries=16, show_spinner=False)
def _latents(path: str, stamp_: int) -> torch.Tensor:
    return Run(path).fixed_latents()


def fixed_latents(info: RunInfo) -> tuple[torch.Tensor | None, str]:
    return attempt(_latents, str(info.path), mtime(info.path / LATENTS))


def weights_iteration(info: RunInfo, iteration: int) -> tuple[int | None, str]:
    """The iteration with weights nearest to `iteration`, and a note when it is another one."""
    used = nearest(weight_iterations(info), iteration)
    if used is None:
        own = f" (a {info.framework} run that stored its faces only)" if info.framework not in ("", "emogan") else ""
        return None, f"{info.name}: no generator weights saved{own}"
    return used, gallery.snap_note(used, iteration, "with weights")


def measured_iteration(info: RunInfo, iteration: int) -> int | None:
    """The iteration nearest to `iteration` whose measured faces can be had (measured_iterations)."""
    return nearest(measured_iterations(info), iteration)


@st.cache_data(max_entries=32, show_spinner=False)
def _stored_faces(path: str, iteration: int, stamp_: int) -> np.ndarray | None:
    return Run(path).stored_faces(iteration)


@st.cache_data(max_entries=256, show_spinner=False)
def _generated(path: str, iteration: int, z: np.ndarray, stamp_: int, labels: np.ndarray | None = None) -> np.ndarray:
    import torch

    from emogan.sampling import generate
    G = _generator(path, iteration, stamp_)
    return generate(G, torch.from_numpy(z), labels=None if labels is None else torch.from_numpy(labels))


def generated(info: RunInfo, iteration: int, z: torch.Tensor | np.ndarray,
              labels: np.ndarray | None = None) -> tuple[np.ndarray | None, str]:
    """Faces (N, 48, 48) of the run's generator at `iteration` (which must have weights) for latents z; a
    conditional generator draws the emotions `labels` asks for (indices (N,) or weights (N, 7); default: cycling)."""
    z_np = np.ascontiguousarray(np.asarray(z), dtype=np.float32)
    labels_np = None if labels is None else np.ascontiguousarray(labels)
    return attempt(_generated, str(info.path), iteration, z_np, stamp(info), labels_np)


def measured_faces(info: RunInfo, iteration: int, n: int) -> tuple[np.ndarray | None, str]:
    """The first n faces `python -m emogan metrics` measures at `iteration` (which must have weights or stored
    faces)."""
    stored, err = attempt(_stored_faces, str(info.path), iteration, stamp(info))
    if stored is not None and len(stored) >= n:
        return stored[:n], ""
    if iteration not in weight_iterations(info):
        return None, err or f"{info.name}: {len(stored) if stored is not None else 'no'} faces stored at {iteration}"
    # Imported on demand: this module pulls in the metrics' libraries (scikit-learn, scipy, torchmetrics).
    from emogan.metrics.evaluate import metric_labels, metric_latents
    run = Run(info.path)
    z, err = attempt(metric_latents, run, n)
    if z is None:
        return None, err
    return generated(info, iteration, z, metric_labels(run, n))


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


# ---------------------------------------------------------------- mode-collapse metrics and training faces

@st.cache_data(max_entries=64, show_spinner=False)
def _metrics(path: str, stamp_: int) -> tuple[pd.DataFrame, dict]:
    return read_metrics(path), (read_config(path) or {})


@st.cache_data(max_entries=64, show_spinner=False)
def _signs(path: str, stamp_: int) -> tuple[list, list[int]]:
    from emogan.metrics.verdict import collapse_signs, episodes
    df, config = _metrics(path, stamp_)
    baselines = config.get("baselines")
    if df.empty:
        return [], []
    signs = collapse_signs(df, baselines)
    return episodes(df, baselines, signs), signs.loc[signs["flag"], "iteration"].astype(int).tolist()


def episodes(info: RunInfo) -> list:
    """The run's episodes of collapse signs (emogan.metrics.verdict.Episode), none without metrics."""
    got, _ = attempt(_signs, str(info.path), mtime(info.path / METRICS_FILE))
    return got[0] if got else []


def flagged(info: RunInfo) -> list[int]:
    """The measured snapshots of the run that show collapse signs."""
    got, _ = attempt(_signs, str(info.path), mtime(info.path / METRICS_FILE))
    return got[1] if got else []


def metrics(info: RunInfo) -> tuple[pd.DataFrame | None, dict, str]:
    """(metrics, metrics_config, '') or (None, {}, one-line reason), as `python -m emogan metrics` stored them."""
    got, err = attempt(_metrics, str(info.path), mtime(info.path / METRICS_FILE))
    if got is None:
        return None, {}, err
    return got[0], got[1], ""


@st.cache_resource(max_entries=2, show_spinner=False)
def _training(source: str, emotion: str) -> tuple[np.ndarray, torch.Tensor]:
    from emogan.data import load_faces
    from emogan.metrics.pixels import pixel_vectors
    faces = load_faces(source, "train", emotion=emotion)
    return faces.images, pixel_vectors(faces.images)


def training_faces(info: RunInfo, config: dict) -> tuple[tuple[np.ndarray, torch.Tensor] | None, str]:
    """The run's training faces and their pixel vectors (where its metrics found them, else where it was trained or
    $EMOGAN_DATA)."""
    from emogan.metrics.neighbours import data_path
    source = (config.get("train") or {}).get("source")
    if not source or not Path(source).exists():
        where, err = attempt(data_path, Run(info.path))
        if where is None:
            return None, err
        source = str(where)
    return attempt(_training, source, info.emotion)

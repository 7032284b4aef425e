"""Page "Mode collapse": metric curves of the selected runs on the loss curves' iteration axis and cursor, a
one-line verdict per run, each face beside its closest training faces, and the closest pairs among faces.

The figures come from `python -m emogan metrics RUN...` (RUN/metrics.jsonl, read here and never computed here).
The galleries need no metrics: they measure the faces on the spot."""

from __future__ import annotations

import pandas as pd
import streamlit as st

from emogan.metrics import classifier_keys, metric_charts
from emogan.metrics.pixels import NEAR_IDENTICAL
from emogan.metrics.records import real_baseline
from emogan.metrics.summary import best_snapshot
from emogan.metrics.verdict import verdict
from emogan.runs.catalog import RunInfo

from . import charts, common, loaders, session

METRICS_SHOWN = "mc_metrics"
NN_RUN = "mc_nn_run"
NN_FACES = "mc_nn_faces"
EPISODE = "mc_episode"          # (run, worst iteration) of the episode whose faces are shown
PAIR_POOL = "mc_pair_pool"
NN_SHOWN = "mc_nn_shown"        # the galleries are drawn once asked for: they need torch and the training faces,
PAIRS_SHOWN = "mc_pairs_shown"  # seconds of loading that a page opened for its verdicts and charts should not wait for
NN_K = 3            # training faces shown beside each generated face
N_PAIRS = 8
POOLS = (256, 1000)  # generated faces searched for near-duplicates, besides the grid's own faces

# key: (chart title, log y, the real faces' figure drawn as a dashed line: a key of the line or of the config),
# from the metric suite, so a new metric's charts come with its registry line.
METRIC_CHARTS: dict[str, tuple[str, bool, str | None]] = metric_charts()
DEFAULT_SHOWN = ["c2st", "fer_fid", "coverage", "msssim", "duplicate_rate", "ndb_frac"]


def page() -> None:
    sel = common.begin("Mode collapse",
                       "Measured by `python -m emogan metrics RUN...` on the same N faces at every snapshot. "
                       "Click a chart to make the iteration under the pointer current on every page.")
    if sel is None:
        return
    frames = {r.name: loaders.metrics(r) for r in sel.runs}
    _verdicts(sel.runs, frames)
    _episodes(sel.runs, frames)
    _curves(frames)
    _nearest_gallery(sel.runs)
    _pairs_gallery(sel.runs)


# ---------------------------------------------------------------- verdicts and curves

def _verdicts(runs: list[RunInfo], frames: dict) -> None:
    iteration = session.current_iteration()
    rows, missing = [], []
    for r in runs:
        df, config, err = frames[r.name]
        if df is None or df.empty:
            missing.append(r.name)
            rows.append({"run": r.name, "model": r.model, "verdict": err or "no metrics yet", "measured at": None,
                         "why": ""})
            continue
        v = verdict(df, iteration, config.get("baselines"))
        rows.append({"run": r.name, "model": r.model, "verdict": v.text, "measured at": v.iteration, "why": v.reason})
    st.markdown(f"#### Verdict at iteration {iteration}")
    st.dataframe(pd.DataFrame(rows), hide_index=True, width="stretch",
                 column_config={"measured at": st.column_config.NumberColumn(format="%d")})
    st.caption("Signs, once a run's coverage has reached 0.2: collapse (at least 1% near-duplicate pairs, or "
               "MS-SSIM 0.10 above the real faces'), memorisation (near-copies of training faces 10 points above "
               "the real faces' own share), dropped modes (coverage under half the run's best). Three measured "
               "snapshots in a row: collapsing. Every streak of signs is an episode (rule in "
               "emogan/metrics/verdict.py).")
    if missing:
        st.info(f"No metrics yet for {', '.join(missing)}: compute them with "
                f"`python -m emogan metrics {' '.join(missing)}`", icon=":material/info:")


def _show_episode(run: str, worst: int) -> None:
    st.session_state[EPISODE] = (run, worst)
    session.set_iteration(worst)


@st.fragment
def _episodes(runs: list[RunInfo], frames: dict) -> None:
    """Each run's episodes, a button per episode making its worst snapshot current, and the chosen one's faces
    beside the run's best snapshot (the highest coverage it reached)."""
    listed = [(r, loaders.episodes(r)) for r in runs]
    listed = [(r, eps) for r, eps in listed if eps]
    st.markdown("#### Episodes")
    if not listed:
        st.caption("No measured snapshot of the selected runs shows collapse signs.")
        return
    for r, eps in listed:
        st.markdown(f"{common.run_title(r)}: {len(eps)} episode{'s' if len(eps) > 1 else ''}")
        for i, e in enumerate(eps):
            text, button = st.columns([5, 1], vertical_alignment="center")
            text.markdown(f"{e.text}: {e.signs}")
            if button.button(f"Show {e.worst}", key=f"episode::{r.name}::{i}", on_click=_show_episode,
                             args=(r.name, e.worst), width="stretch"):
                st.rerun()          # the whole app, not only this fragment: the sidebar's iteration moves too
    chosen = st.session_state.get(EPISODE)
    info = next((r for r, _ in listed if chosen and r.name == chosen[0]), None)
    if info is None:
        return
    df = frames[info.name][0]
    best = best_snapshot(df, loaders.snapshots(info))
    worst = chosen[1]
    left, right = st.columns(2)
    for col, it, label in ((left, worst, "worst of the episode"), (right, best, "the run's best coverage")):
        if it is None:
            continue
        used, faces, err = loaders.faces(info, it, 16)
        if faces is None:
            col.caption(f"{info.name} at {it}: {err}")
            continue
        png, err = loaders.faces_png(info, used, 16, 8, scale=common.scale_for(16))
        if png is None:
            col.caption(f"{info.name} at {used}: {err}")
            continue
        col.markdown(f"**{info.model} at {used}**, {label}")
        common.show(col, png)


def _long(frames: dict, key: str) -> dict[str, pd.DataFrame]:
    out = {}
    for name, (df, _, _) in frames.items():
        if df is not None and key in df and df[key].notna().any():
            out[name] = df[["iteration", key]].dropna()
    return out


@st.fragment
def _curves(frames: dict) -> None:
    sel = session.selection()
    iteration = session.current_iteration()
    if not any(df is not None and not df.empty for df, _, _ in frames.values()):
        return
    st.session_state.setdefault(METRICS_SHOWN, list(DEFAULT_SHOWN))
    st.multiselect("Metrics", list(METRIC_CHARTS), key=METRICS_SHOWN, format_func=lambda k: METRIC_CHARTS[k][0],
                   help="FER-FID/KID, precision/recall/density/coverage and the emotion mix use the emotion "
                        "classifier's features; the others use 24x24 pixels. Dashed: the same figure for real faces.")
    models = {r.name: r.model for r in sel.runs}
    spans = {r.name: [(e.first, e.last) for e in loaders.episodes(r)] for r in sel.runs}
    x_max = sel.options[-1] if sel.options else None
    shown = [k for k in st.session_state[METRICS_SHOWN] if k in METRIC_CHARTS]
    for start in range(0, len(shown), 2):
        cols = st.columns(2)
        for col, key in zip(cols, shown[start:start + 2]):
            series = _long(frames, key)
            if not series:
                col.caption(f"{METRIC_CHARTS[key][0]}: not measured (needs the classifier)"
                            if key in classifier_keys() else
                            f"{METRIC_CHARTS[key][0]}: not measured yet (python -m emogan metrics RUN)"
                            if key == "c2st" else f"{METRIC_CHARTS[key][0]}: no values")
                continue
            title, log, baseline = METRIC_CHARTS[key]
            chart = charts.metric_chart(series, key, title, models, iteration=iteration, log=log, x_max=x_max,
                                        baseline=real_baseline(((df, c) for df, c, _ in frames.values()), baseline),
                                        bands=session.band_groups())
            if not session.band_groups():
                chart = charts.mark_episodes(chart, spans, models)
            with col:
                charts.show(chart, f"metric_{key}", on_click=session.on_chart_click)


# ---------------------------------------------------------------- galleries

@st.fragment
def _nearest_gallery(runs: list[RunInfo]) -> None:
    st.markdown("#### Nearest training faces")
    st.caption(f"Each generated face (left) beside its {NN_K} closest training faces, with the RMS difference of "
               f"their 24x24 thumbnails (0 = identical, 1 = black vs white). Below {NEAR_IDENTICAL}: a copy.")
    if not st.toggle("Show the nearest training faces", key=NN_SHOWN,
                     help="Loads the run's training faces: a few seconds the first time"):
        return
    from emogan.metrics.neighbours import nearest_training_tiles

    c1, c2 = st.columns(2)
    with c1:
        info = common.run_picker(runs, NN_RUN)
    st.session_state.setdefault(NN_FACES, 8)
    c2.select_slider("Faces", (4, 8, 16), key=NN_FACES)
    iteration = session.current_iteration()
    used, faces, err = loaders.faces(info, iteration, int(st.session_state[NN_FACES]))
    if faces is None:
        st.info(err or "no faces at this iteration", icon=":material/info:")
        return
    _, config, _ = loaders.metrics(info)
    train, err = loaders.training_faces(info, config)
    if train is None:
        st.info(f"training faces not found ({err}); set EMOGAN_DATA to the dataset", icon=":material/info:")
        return
    tiles = nearest_training_tiles(faces, *train, k=NN_K, iteration=used)
    common.show(st, loaders.image_png(tiles.images, tiles.ncols, scale=common.scale_for(tiles.ncols),
                                      labels=tiles.labels))
    st.caption(f"{tiles.near} of {len(faces)} faces are near-identical to a training face (median nearest distance "
               f"{tiles.median:.3f}).")


@st.fragment
def _pairs_gallery(runs: list[RunInfo]) -> None:
    st.markdown("#### Closest pairs among generated faces")
    st.caption(f"The {N_PAIRS} most alike pairs of faces at this iteration: the near-duplicates behind the "
               f"duplicate rate (* near-identical: below {NEAR_IDENTICAL}).")
    if not st.toggle("Show the closest pairs", key=PAIRS_SHOWN):
        return
    from emogan.metrics.neighbours import closest_pair_tiles

    c1, c2 = st.columns(2)
    with c1:
        info = common.run_picker(runs, f"{NN_RUN}_pairs")
    iteration = session.current_iteration()
    used_w = loaders.measured_iteration(info, iteration)
    pools = ["grid faces"] + ([f"{n} faces (as measured)" for n in POOLS] if used_w is not None else [])
    session.valid_choice(PAIR_POOL, pools)
    c2.radio("Search", pools, key=PAIR_POOL, horizontal=True,
             help="The grid's fixed-latent faces, or the first faces the metrics measure (needs generator weights "
                  "or stored faces)")
    choice = st.session_state[PAIR_POOL]
    if choice == "grid faces":
        used, faces, err = loaders.faces(info, iteration)
    else:
        used, (faces, err) = used_w, loaders.measured_faces(info, used_w, int(choice.split()[0]))
    if faces is None or len(faces) < 2:
        st.info(err or "fewer than two faces", icon=":material/info:")
        return
    tiles = closest_pair_tiles(faces, k=N_PAIRS)
    common.show(st, loaders.image_png(tiles.images, tiles.ncols, scale=common.scale_for(tiles.ncols),
                                      labels=tiles.labels))
    st.caption(f"Iteration {used}, {len(faces)} faces: {tiles.near} of the {len(tiles.labels) // 2} closest pairs "
               "are near-identical.")

"""The sidebar: runs folder, emotion/dataset filter, run picker, the global iteration control and player, judge toggle."""

from __future__ import annotations

from pathlib import Path

import streamlit as st

from emogan.runs import launch
from emogan.runs.catalog import RunInfo, default_selection, groups, seeds_of, signature
from emogan.runs.store import nearest

from . import loaders, session

GROUP = "group"
SPEEDS = (0.5, 1.0, 2.0, 4.0)      # snapshots per second while playing
LIVE_S = 3.0        # the live refresh's period while selected runs train
FOLDER_S = 2.0      # how often the runs folder is listed: a run started anywhere is on screen within a few seconds
# A first look on a CPU: 300 iterations of two models take minutes there; the full 5000 want a GPU.
TRAIN_HINT = "python -m emogan train --model M1,M7 --iters 300 --data PATH/TO/fer2013 --out {root}"


def render(watch_losses: bool = True) -> None:
    """`watch_losses`: the page shows the loss log, so new loss rows are worth a live refresh."""
    cfg = session.config()
    folder = signature(cfg.runs_root)
    if session.FOLDER_SIGNATURE not in st.session_state or st.session_state[session.FOLDER_SIGNATURE] != folder:
        loaders.catalog.clear()         # a run appeared, went, took a snapshot or ended: the list read afresh
        st.session_state[session.FOLDER_SIGNATURE] = folder
    infos, err = loaders.catalog(str(cfg.runs_root))
    usable = [i for i in infos if i.error is None]
    damaged = [i for i in infos if i.error is not None]
    with st.sidebar:
        st.caption(f"Runs folder: `{cfg.runs_root}`")
        st.fragment(run_every=FOLDER_S)(_watch_folder)(str(cfg.runs_root))
        if err or not usable:
            hint = TRAIN_HINT.format(root=cfg.runs_root)
            problem = (f"{err}: train runs with `{hint}` or open another folder with "
                       f"`streamlit run explorer_app.py -- --runs DIR`") if err else \
                f"No usable runs in {cfg.runs_root}: train some with `{hint}` (a first look, minutes on a CPU; " \
                "drop `--iters 300` and use `--model all` for the six models' full 5000 iterations, on a GPU)"
            session.set_selection(session.Selection(damaged=damaged, problem=problem))
            _damaged(damaged)
            return
        runs = _pick_runs(usable)
        options = loaders.iteration_options(runs)
        problem = "" if runs and options else (
            "No run selected: pick runs in the sidebar" if not runs else
            "The selected runs have no snapshots yet: wait for the first one or pick other runs")
        session.set_selection(session.Selection(runs=runs, damaged=damaged, options=options, problem=problem))
        training = [r for r in runs if launch.holder(r.path) or launch.measuring(r.path)]
        if not training and st.session_state.pop(session.LIVE_SIGNATURE, None) is not None:
            loaders.catalog.clear()     # they have just stopped: their final states, read afresh
            st.rerun()
        if training:
            st.toggle("Follow the newest snapshot", key=session.FOLLOW, value=True,
                      help="While the selected runs train: the iteration moves to each new snapshot")
            # A timer only while something trains: an idle explorer does no work between clicks.
            files = ("index.json", "metrics.jsonl") + (("losses.csv",) if watch_losses else ())
            st.fragment(run_every=LIVE_S)(_watch)(tuple(str(r.path) for r in training), files)
        newest = max((its[-1] for its in (loaders.snapshots(r) for r in training) if its), default=None)
        if newest is not None and st.session_state.get(session.FOLLOW, True):
            session.set_iteration(newest)       # the training runs' newest, not the finished runs' last
        if options:
            _iteration_control(options)
        st.toggle("Judge emotions", key=session.JUDGE,
                  help="Write each generated face's predicted emotion and confidence under it (emotion classifier)")
        _damaged(damaged)


def _watch(paths: tuple[str, ...], files: tuple[str, ...]) -> None:
    """Every LIVE_S seconds: when a training run wrote what the page shows (a snapshot, a metrics line, and on the
    loss page new loss rows), rerun the app. Its loaders are cached by those files' times, so the rerun reads and
    redraws only what changed."""
    signature = tuple(loaders.mtime(Path(p) / f) for p in paths for f in files)
    seen = st.session_state.get(session.LIVE_SIGNATURE)
    st.session_state[session.LIVE_SIGNATURE] = signature
    # When the last of them has stopped, one more rerun draws the final state and ends the timer.
    ended = not any(launch.holder(Path(p)) or launch.measuring(Path(p)) for p in paths)
    if (seen is not None and seen != signature) or ended:
        loaders.catalog.clear()         # the runs' states and iterations, read afresh
        st.rerun()


def _watch_folder(root: str) -> None:
    """Every FOLDER_S seconds: when a run has appeared in the runs folder, gone, taken a snapshot or ended since the
    app was drawn, draw it again, so that a run started anywhere (the Train page, the CLI) is offered without a
    reload. A listing and two stats per run: the only work an idle explorer does."""
    if signature(root) != st.session_state.get(session.FOLDER_SIGNATURE):
        st.rerun()


def _pick_runs(usable: list[RunInfo]) -> list[RunInfo]:
    by_group = groups(usable)
    labels = list(by_group)
    session.valid_choice(GROUP, labels)
    if len(labels) > 1:
        st.selectbox("Emotion · dataset", labels, key=GROUP)
    else:
        st.caption(f"Emotion · dataset: {labels[0]}")
    group = st.session_state[GROUP]
    members = by_group[group]
    names = [r.name for r in members]
    key = f"runs::{group}"      # one selection per group: switching back finds it as it was left
    seeds = seeds_of(members)
    seeds_key = f"seeds::{group}"
    if len(seeds) > 1:
        if seeds_key not in st.session_state or not set(st.session_state[seeds_key]) <= set(seeds):
            st.session_state[seeds_key] = [0] if 0 in seeds else seeds[:1]
        st.multiselect("Seeds", seeds, key=seeds_key, on_change=_select_seeds, args=(members, key, seeds_key),
                       help="Training seeds: choosing them selects one run of each model at each of them")
    if key not in st.session_state:
        st.session_state[key] = default_selection(members)
    else:
        st.session_state[key] = [n for n in st.session_state[key] if n in names]
    st.multiselect("Runs", names, key=key, help="Default: one run of each model in this group, at seed 0")
    if len(seeds) > 1:
        st.toggle("Seeds as a band", key=session.BANDS,
                  help="Draw each model's runs as their mean with a min-max band, on the loss and metric charts")
    chosen = set(st.session_state[key])
    return [r for r in members if r.name in chosen]


def _select_seeds(members: list[RunInfo], key: str, seeds_key: str) -> None:
    st.session_state[key] = default_selection(members, seeds=set(st.session_state[seeds_key]))


def _iteration_control(options: list[int]) -> None:
    # A range select_slider only stays a range when its default is a pair, so it is never set through session
    # state: widening it (a chart click outside it) gives it a new key, and the new widget its wider default.
    range_key = f"range::{options[0]}::{options[-1]}::{len(options)}::{st.session_state.get(session.RANGE_EPOCH, 0)}"
    default = (options[0], options[-1]) if st.session_state.get(session.RANGE_FULL) else session.default_range(options)
    rng = st.session_state.get(range_key, default)
    st.session_state[session.RANGE] = (rng[0], rng[1]) if len(options) > 1 else (options[0], options[0])
    shown = session.in_range(options)
    cur = session.current_iteration()
    if cur not in shown:
        cur = nearest(shown, cur)
        st.session_state[session.ITERATION] = cur
    st.subheader("Iteration")
    if len(shown) > 1:
        st.session_state[session.SLIDER] = cur
        st.select_slider("Iteration", shown, key=session.SLIDER, on_change=session.on_slider_change,
                         label_visibility="collapsed", help="The current iteration of every page")
    else:
        st.caption(f"Iteration {cur} (the only snapshot in range)")
    playing = bool(st.session_state.get(session.PLAYING))
    back, fwd = st.columns(2)
    back.button("Back", key="step_back", icon=":material/skip_previous:", on_click=session.step, args=(-1,),
                help="Previous snapshot", width="stretch")
    fwd.button("Next", key="step_fwd", icon=":material/skip_next:", on_click=session.step,
               args=(+1,), help="Next snapshot", width="stretch")
    if any(loaders.flagged(r) for r in session.selection().runs):
        prev, nxt = st.columns(2)
        prev.button("Flagged ‹", key="flag_back", on_click=session.jump_flagged, args=(-1,), width="stretch",
                    help="The previous snapshot where a selected run shows collapse signs")
        nxt.button("› Flagged", key="flag_fwd", on_click=session.jump_flagged, args=(+1,), width="stretch",
                   help="The next snapshot where a selected run shows collapse signs")
    st.button("Pause" if playing else "Play", key="play", icon=":material/pause:" if playing else
              ":material/play_arrow:", on_click=_toggle_play, width="stretch",
              type="primary" if playing else "secondary", help="Step through the snapshots in the range, looping")
    if st.session_state.get(session.SPEED) not in SPEEDS:
        st.session_state[session.SPEED] = 1.0
    st.select_slider("Speed (snapshots per second)", SPEEDS, key=session.SPEED)
    with st.expander("Range", expanded=False):
        if len(options) > 1:
            first, last = session.DEFAULT_RANGE
            st.select_slider("Snapshots between", options, value=default, key=range_key,
                             help=f"Default {first}..{last} (the original slides) when the runs span it")
        st.caption(f"{len(options)} snapshots in all, {options[0]}..{options[-1]}")
    if playing:
        _player(1.0 / float(st.session_state[session.SPEED]))


def _toggle_play() -> None:
    st.session_state[session.PLAYING] = not st.session_state.get(session.PLAYING)
    session.start_playing()


def _player(interval: float) -> None:
    def tick() -> None:
        if session.tick(interval):
            st.rerun()      # the whole page shows the new iteration
    st.fragment(run_every=interval)(tick)()


def _damaged(damaged: list[RunInfo]) -> None:
    if not damaged:
        return
    with st.expander(f"{len(damaged)} damaged run folder{'s' if len(damaged) > 1 else ''}", expanded=False):
        for d in damaged:
            st.caption(f"**{d.name}**: {d.error}")

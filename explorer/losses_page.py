"""Page 1, runs and loss curves: Loss G, Loss D, D(x) and D(G(z)) of every selected run, one figure per quantity."""

from __future__ import annotations

import numpy as np
import pandas as pd
import streamlit as st

from emogan.models import REGISTRY
from emogan.runs import launch
from emogan.views.curves import QUANTITIES

from . import charts, common, loaders, session

SMOOTHING = "smoothing"
LOG_Y = "log_y"
SHOW_RAW = "show_raw"


def page() -> None:
    sel = common.begin("Runs and loss curves",
                       "Smoothed with TensorBoard's debiased moving average; hover for the raw value. "
                       "Click a chart to make the iteration under the pointer current on every page.",
                       snapshots=False)
    if sel is None:
        return
    _charts()
    _table(sel.runs)


@st.fragment
def _charts() -> None:
    sel = session.selection()
    iteration = session.current_iteration()
    st.session_state.setdefault(SMOOTHING, 0.6)
    st.session_state.setdefault(SHOW_RAW, True)
    c1, c2, c3 = st.columns([3, 1, 1], vertical_alignment="bottom")
    c1.slider("Smoothing", 0.0, 0.99, step=0.01, key=SMOOTHING,
              help="Weight of the exponential moving average (0: raw values), debiased as in TensorBoard")
    c2.toggle("Log scale", key=LOG_Y)
    c3.toggle("Raw values", key=SHOW_RAW, help="Draw the unsmoothed values as a faint line behind each curve")
    key = loaders.curve_key(sel.runs, st.session_state[SMOOTHING])
    data = loaders.curve_data(key)
    if data.empty:
        st.info("None of the selected runs has logged losses yet")
        return
    if st.session_state.get(LOG_Y):
        hidden = int((data["raw"] <= 0).sum())
        if hidden:
            st.caption(f"Log scale hides {hidden} values at or below zero.")
    models = tuple((r.name, r.model) for r in sel.runs)
    bands = session.band_groups()
    log = bool(st.session_state.get(LOG_Y))
    chart = (charts.band_panel(data, QUANTITIES, bands, iteration=None, log=log) if bands else
             _panel(key, models, log, bool(st.session_state.get(SHOW_RAW))))
    spans = {r.name: [(e.first, e.last) for e in loaders.episodes(r)] for r in sel.runs}
    chart = charts.mark_episodes(chart, spans, dict(models)) if not bands else chart
    charts.show(charts.mark_iteration(chart, iteration), "curves", on_click=session.on_chart_click,
                height=charts.panel_height(len(QUANTITIES)))


def _panel(key: loaders.CurveKey, models: tuple[tuple[str, str], ...], log: bool, raw: bool) -> dict:
    """The four quantities' plots without the iteration line, from each run's cached traces."""
    return loaders.curve_panel(key, dict(models), log, raw)


def _table(runs: list) -> None:
    """The runs as TensorBoard/W&B list them: what, how far, and the latest values. A static table: a handful of
    rows needs no grid widget, and the page does not wait for one (its scripts and canvas cost the landing page
    about half a second on a 2-core CPU)."""
    rows = []
    for r in runs:
        tail, err = loaders.loss_tail(r)
        tail = tail or {}
        pace = launch.pace(r.path, r.iters) if launch.holder(r.path) else None     # training now
        done = pace.iteration if pace else r.iteration
        seconds = tail.get("seconds")
        rows.append({
            "run": r.name, "model": r.model, "framework": r.framework, "emotion": r.emotion, "data": r.dataset,
            "state": "training" if pace else r.state,
            "iteration": f"{done}/{r.iters}" if r.iters else str(done),
            "it/s": _number(pace.rate if pace else None, 1),
            "ETA": (launch.duration(pace.eta_s) if pace else "") or "–",
            "loss G (last)": _number(tail.get("loss_G")),
            "loss D (last)": _number(tail.get("loss_D")),
            "loss G (mean, last 10%)": _number(tail.get("tail_G")),
            "loss D (mean, last 10%)": _number(tail.get("tail_D")),
            "minutes": _number(seconds / 60 if seconds is not None else None, 1),
            "realism (C2ST)": _latest(r, "c2st", percent=True),
            "FER-FID": _latest(r, "fer_fid"),
            "what it is": r.summary or (REGISTRY[r.model].summary if r.model in REGISTRY else ""),
            "problem": err or r.message,
        })
    st.subheader("Runs")
    st.table(pd.DataFrame(rows).set_index("run"))


def _latest(info, key: str, percent: bool = False) -> str:
    """The run's last measured `key` and its iteration ('61.5% at 5000'); realism is 50% for faces a detector cannot
    tell from real ones."""
    df, _, _ = loaders.metrics(info)
    if df is None or key not in df:
        return "–"
    rows = df[["iteration", key]].dropna()
    if rows.empty:
        return "–"
    it, value = int(rows["iteration"].iloc[-1]), float(rows[key].iloc[-1])
    return f"{100 * value:.1f}% at {it}" if percent else f"{value:.2f} at {it}"


def _number(value: float | None, digits: int = 3) -> str:
    return f"{value:.{digits}f}" if value is not None and np.isfinite(value) else "–"


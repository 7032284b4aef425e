"""Page 1, runs and loss curves: Loss G, Loss D, D(x) and D(G(z)) of every selected run, one figure per quantity."""

from __future__ import annotations

from functools import partial

import numpy as np
import pandas as pd
import streamlit as st

from emogan.curves import QUANTITIES
from emogan.models import REGISTRY

from . import charts, common, loaders, session

SMOOTHING = "smoothing"
LOG_Y = "log_y"
SHOW_RAW = "show_raw"


def page() -> None:
    sel = common.begin("Runs and loss curves",
                       "Smoothed with TensorBoard's debiased moving average; hover for the raw value. "
                       "Click a point to make its iteration current on every page.")
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
    pairs = [("loss_G", "loss_D"), ("D_x", "D_G_z")]
    for row in pairs:
        cols = st.columns(2)
        for col, q in zip(cols, row):
            fig = _figure(key, q, models, bool(st.session_state.get(LOG_Y)), bool(st.session_state.get(SHOW_RAW)))
            charts.mark_iteration(fig, iteration)
            chart_key = f"curve_{q}"
            col.plotly_chart(fig, key=chart_key, on_select=partial(session.on_chart_select, chart_key),
                             selection_mode="points", config={"displaylogo": False})


@st.cache_data(max_entries=64, show_spinner=False)
def _figure(key: loaders.CurveKey, quantity: str, models: tuple[tuple[str, str], ...], log: bool, raw: bool):
    """A quantity's figure without the iteration line, cached: copying a figure is cheaper than building it."""
    return charts.curve_figure(loaders.curve_data(key), quantity, QUANTITIES[quantity], dict(models), iteration=None,
                               log=log, show_raw=raw)


def _table(runs: list) -> None:
    """The runs as TensorBoard/W&B list them: what, how far, and the latest values."""
    rows = []
    for r in runs:
        df, err = loaders.losses(r)
        last = df.iloc[-1] if df is not None and len(df) else None
        finite = df[np.isfinite(df["loss_G"]) & np.isfinite(df["loss_D"])] if df is not None else None
        rows.append({
            "run": r.name, "model": r.model, "emotion": r.emotion, "data": r.dataset, "state": r.state,
            "iteration": f"{r.iteration}/{r.iters}" if r.iters else str(r.iteration),
            "loss G (last)": float(last["loss_G"]) if last is not None else np.nan,
            "loss D (last)": float(last["loss_D"]) if last is not None else np.nan,
            "loss G (mean, last 10%)": _tail_mean(finite, "loss_G"),
            "loss D (mean, last 10%)": _tail_mean(finite, "loss_D"),
            "minutes": float(last["seconds"]) / 60 if last is not None else np.nan,
            "what it is": REGISTRY[r.model].summary if r.model in REGISTRY else "",
            "problem": err or r.message,
        })
    st.subheader("Runs")
    st.dataframe(pd.DataFrame(rows), hide_index=True, width="stretch",
                 column_config={c: st.column_config.NumberColumn(format="%.3f") for c in
                                ("loss G (last)", "loss D (last)", "loss G (mean, last 10%)", "loss D (mean, last 10%)")}
                 | {"minutes": st.column_config.NumberColumn(format="%.1f")})


def _tail_mean(df: pd.DataFrame | None, col: str) -> float:
    if df is None or df.empty:
        return float("nan")
    return float(df[col].iloc[-max(1, len(df) // 10):].mean())

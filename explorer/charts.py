"""Plotly figures of the explorer: one figure per quantity (losses, change, a metric) with every run as a trace on the
shared iteration axis, and the emotion-mix bars."""

from __future__ import annotations

import zlib

import numpy as np
import pandas as pd
import plotly.graph_objects as go
from plotly.colors import qualitative

from emogan.catalog import model_rank
from emogan.curves import thin

PALETTE = qualitative.Plotly    # ten colours; M1..M8 keep theirs on every chart and page
HEIGHT = 300
# Points of a smoothed curve, each with an invisible marker: plotly selects (click-to-set-iteration) only markers,
# and every marker is an SVG node the browser lays out. 150 points, one per ~33 iterations of a 5000-iteration run
# and a few pixels apart, are enough to click on and to draw a smoothed curve; the faint raw line keeps all the
# points of `curve_frame`.
CLICK_POINTS = 150


def color_for(model: str, name: str = "") -> str:
    rank, _ = model_rank(model)
    return PALETTE[(rank if model else zlib.crc32(name.encode())) % len(PALETTE)]


def trace_labels(models: dict[str, str]) -> dict[str, str]:
    """Legend names: the model id when it names one run of the selection (short legends), else the run name."""
    counts: dict[str, int] = {}
    for m in models.values():
        counts[m] = counts.get(m, 0) + 1
    return {run: (m if m and counts[m] == 1 else run) for run, m in models.items()}


def _layout(fig: go.Figure, title: str, log: bool, iteration: int | None) -> go.Figure:
    fig.update_layout(title={"text": title, "x": 0.0, "font": {"size": 15}}, height=HEIGHT,
                      margin={"l": 10, "r": 10, "t": 40, "b": 10}, hovermode="closest", clickmode="event+select",
                      legend={"orientation": "h", "yanchor": "bottom", "y": 1.0, "xanchor": "right", "x": 1.0,
                              "font": {"size": 11}},
                      xaxis_title="iteration", uirevision="keep")   # keep zoom when the page redraws
    if log:
        fig.update_yaxes(type="log")
    return mark_iteration(fig, iteration)


def mark_iteration(fig: go.Figure, iteration: int | None) -> go.Figure:
    """A dotted vertical line at the current iteration (added last, so a cached figure can take it per rerun)."""
    if iteration is not None:
        fig.add_vline(x=iteration, line_dash="dot", line_color="#888", line_width=1)
    return fig


def curve_figure(data: pd.DataFrame, quantity: str, title: str, models: dict[str, str], *, iteration: int | None,
                 log: bool = False, show_raw: bool = True) -> go.Figure:
    """All runs' curves of one quantity: a smoothed line per run (hover: run, iteration, raw and smoothed value)
    over a faint raw line. `data` is `emogan.curves.curve_frame`'s long frame."""
    fig = go.Figure()
    names = trace_labels(models)
    part = data[data["quantity"] == quantity]
    for run, d in part.groupby("run", sort=False):
        color = color_for(models.get(run, ""), run)
        x = d["iteration"].to_numpy()
        raw = d["raw"].to_numpy(dtype=np.float32)
        if show_raw:
            fig.add_trace(go.Scatter(x=x, y=raw, mode="lines", line={"color": color, "width": 1}, opacity=0.25,
                                     hoverinfo="skip", showlegend=False, legendgroup=run, name=f"{run} raw"))
        s = thin(d, CLICK_POINTS)
        fig.add_trace(go.Scatter(
            x=s["iteration"].to_numpy(), y=s["smoothed"].to_numpy(dtype=np.float32),
            customdata=s["raw"].to_numpy(dtype=np.float32), mode="lines+markers",
            marker={"size": 4, "opacity": 0.0},  # invisible: something to click on along the curve
            line={"color": color, "width": 2}, name=names.get(run, run), legendgroup=run,
            hovertemplate=f"<b>{run}</b><br>iteration %{{x}}<br>{title} %{{customdata:.4f}}"
                          f"<br>smoothed %{{y:.4f}}<extra></extra>"))
    return _layout(fig, title, log, iteration)


def profile_figure(profiles: dict[str, pd.DataFrame], models: dict[str, str], *, iteration: int | None) -> go.Figure:
    """Mean change of the fixed-latent faces since the previous snapshot, per run: spikes are mode hops."""
    fig = go.Figure()
    names = trace_labels(models)
    for run, df in profiles.items():
        fig.add_trace(go.Scatter(
            x=df["iteration"], y=df["change"], mode="lines+markers", marker={"size": 4},
            line={"color": color_for(models.get(run, ""), run), "width": 2}, name=names.get(run, run),
            hovertemplate=f"<b>{run}</b><br>iteration %{{x}}<br>mean change %{{y:.1f}} grey levels<extra></extra>"))
    fig = _layout(fig, "Change since the previous snapshot (mean |Δ| of the fixed-latent faces)", False, iteration)
    fig.update_yaxes(title="grey levels", rangemode="tozero")
    return fig


def metric_figure(series: dict[str, pd.DataFrame], key: str, title: str, models: dict[str, str], *,
                  iteration: int | None, log: bool = False, x_max: int | None = None,
                  baseline: float | None = None) -> go.Figure:
    """One metric (column `key` of each run's frame) against iteration; the real faces' figure dashed."""
    fig = go.Figure()
    names = trace_labels(models)
    for run, d in series.items():
        fig.add_trace(go.Scatter(
            x=d["iteration"], y=d[key], mode="lines+markers", marker={"size": 5}, name=names.get(run, run),
            line={"color": color_for(models.get(run, ""), run), "width": 2},
            hovertemplate=f"<b>{run}</b><br>iteration %{{x}}<br>{key} %{{y:.4g}}<extra></extra>"))
    if baseline is not None and not (log and baseline <= 0):
        fig.add_hline(y=baseline, line_dash="dash", line_color="#999", line_width=1,
                      annotation_text="real faces", annotation_position="top left")
    if x_max:
        fig.update_xaxes(range=[0, x_max])     # the loss curves' span, so the two pages line up
    return _layout(fig, title, log, iteration)


def emotion_figure(mix: pd.DataFrame, title: str) -> go.Figure:
    """Grouped bars: each emotion's share among generated faces beside its share in FER2013's training set."""
    fig = go.Figure()
    for col, color in zip(mix.columns, ("#636EFA", "#BBBBBB")):
        fig.add_trace(go.Bar(x=list(mix.index), y=mix[col], name=str(col), marker_color=color,
                             hovertemplate="%{x}: %{y:.1%}<extra>" + str(col) + "</extra>"))
    fig.update_layout(barmode="group", title={"text": title, "x": 0.0, "font": {"size": 15}}, height=HEIGHT,
                      margin={"l": 10, "r": 10, "t": 40, "b": 10}, yaxis_tickformat=".0%",
                      legend={"orientation": "h", "yanchor": "bottom", "y": 1.0, "xanchor": "right", "x": 1.0})
    return fig

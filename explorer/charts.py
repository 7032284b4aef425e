"""The explorer's charts as ECharts options, every run a series on the shared iteration axis: the loss curves (one
chart, a plot per quantity), the change profile, one chart per metric, and the emotion-mix bars; `show` draws one,
a click in a plot setting the app's iteration. ECharts (through streamlit-echarts) draws on a canvas (README,
"The explorer", says why it replaced plotly)."""

from __future__ import annotations

import zlib
from collections.abc import Callable, Sequence

import numpy as np
import pandas as pd
import streamlit as st

from emogan.runs.catalog import model_rank
from emogan.views.curves import seed_bands

# Plotly's ten colours, kept from the explorer's first charts: M1..M8 keep theirs on every chart and page.
PALETTE = ("#636EFA", "#EF553B", "#00CC96", "#AB63FA", "#FFA15A", "#19D3F3", "#FF6692", "#B6E880", "#FF97FF",
           "#FECB52")
HEIGHT = 300         # px of a chart with one plot
PANEL_ROW = 290      # px per row of plots in a panel (curve_panel)
DIGITS = 5           # significant digits sent per value: the tooltips show 4 decimals of values near 1
# One line under the title (paged when the runs do not fit): a title can be long, and so can run names.
LEGEND = {"type": "scroll", "left": 0, "right": 0, "itemWidth": 16, "itemHeight": 8, "itemGap": 8}

# A click inside a plot area sends its iteration (the x under the pointer) to Python; elsewhere (the legend, the
# titles) nothing is sent. A trigger value: every click counts, the same iteration twice included.
CLICK = """function (e) {
  const at = [e.offsetX, e.offsetY], grids = chart.getOption().grid.length;
  for (let i = 0; i < grids; i++)
    if (chart.containPixel({gridIndex: i}, at)) return Math.round(chart.convertFromPixel({gridIndex: i}, at)[0]);
  return undefined;
}"""

# A zoom or pan: the iterations the first plot now spans (all plots of a chart move together).
ZOOM = """function (e) {
  const z = chart.getOption().dataZoom;
  if (!z || !z.length || z[0].startValue === undefined) return undefined;
  return {zoom: [Math.round(z[0].startValue), Math.round(z[0].endValue)]};
}"""

# For checks in a browser (the end-to-end tests, the latency benchmark): whether at least n of the charts inside the
# elements `where` selects are drawn. ECharts paints a chart's canvas in one pass, so a canvas with painted pixels
# shows all its series. The landing page's loss plots: where = ".st-key-curves" (the key `show` was given).
DRAWN_JS = """([where, n]) => [...document.querySelectorAll(where + ' .echarts-container canvas')].filter(c => {
  const d = c.getContext('2d').getImageData(0, 0, c.width, c.height).data;
  for (let i = 3; i < d.length; i += 4) if (d[i]) return true;
  return false; }).length >= n"""
CURVES = "[data-testid=stMain] .st-key-curves"    # the landing page's loss plots, once drawn with data

# The tooltip of a curve chart: per run, the logged value and the smoothed one at the grid iteration under the
# pointer (the raw lines stay out of it). Names are escaped: a run folder's name is not HTML.
_CURVE_TOOLTIP = """function (ps) {
  const esc = s => String(s).replace(/[&<>"']/g, c => '&#' + c.charCodeAt(0) + ';');
  const fmt = v => (v === null || v === undefined || Number.isNaN(v)) ? '–' : Number(v).toFixed(4);
  const get = (p, k) => p.value[p.dimensionNames.indexOf(k)];
  const sm = ps.filter(p => p.seriesId.endsWith(':smoothed'));
  const rows = sm.map(p => { const y = p.dimensionNames[p.encode.y[0]];
    return p.marker + '<b>' + esc(p.seriesName) + '</b> ' + fmt(get(p, y.replace('smoothed', 'raw'))) +
      ' · smoothed ' + fmt(get(p, y)); });
  return rows.length ? 'iteration ' + get(sm[0], 'iteration') + '<br>' + rows.join('<br>') : '';
}"""


def _js(code: str):
    """A JavaScript function inside ECharts options. streamlit-echarts registers its component when imported, which
    takes a running Streamlit (a script run): it is imported where charts are made, not with this module."""
    from streamlit_echarts import JsCode
    return JsCode(code)


def color_for(model: str, name: str = "") -> str:
    rank, _ = model_rank(model)
    return PALETTE[(rank if model else zlib.crc32(name.encode())) % len(PALETTE)]


def trace_labels(models: dict[str, str]) -> dict[str, str]:
    """Legend names: the model id when it names one run of the selection (short legends), else the run name."""
    counts: dict[str, int] = {}
    for m in models.values():
        counts[m] = counts.get(m, 0) + 1
    return {run: (m if m and counts[m] == 1 else run) for run, m in models.items()}


def values(a: np.ndarray | pd.Series, *, positive: bool = False) -> list[float | None]:
    """Numbers for a chart: DIGITS significant digits, and null for what cannot be drawn (NaN/inf, and on a log
    axis anything at or below zero), which ECharts draws as a gap."""
    y = np.asarray(a, dtype=np.float64)
    ok = np.isfinite(y) & ((y > 0) if positive else True)
    out = np.zeros_like(y)
    nz = ok & (y != 0)
    # Round at the value's own scale; multiplying or dividing by an exact power of ten lands on the shortest
    # decimal, so the JSON says 0.69315 rather than 0.6931471824645996.
    shift = DIGITS - 1 - np.floor(np.log10(np.abs(y[nz])))
    up, down = 10.0 ** np.clip(shift, 0, None), 10.0 ** np.clip(-shift, 0, None)
    out[nz] = np.round(y[nz] * up / down) * down / up
    listed = out.tolist()
    for i in np.flatnonzero(~ok):
        listed[i] = None
    return listed


def _chart(title: str, series: list[dict], legend: list[str], *, log: bool = False, x_name: str = "iteration",
           tooltip: dict | None = None, **extra) -> dict:
    return {
        "animation": False,    # every rerun redraws: no chart should spend a second sliding into place
        "title": {"text": title, "left": 0, "top": 0, "textStyle": {"fontSize": 14}},
        "legend": LEGEND | {"data": legend, "top": 22},
        "grid": {"left": 8, "right": 16, "top": 56, "bottom": 26, "containLabel": True},
        "tooltip": tooltip or {"trigger": "axis", "confine": True},
        "xAxis": {"type": "value", "name": x_name, "nameLocation": "middle", "nameGap": 24},
        "yAxis": {"type": "log" if log else "value", "scale": True},
        "series": series,
        **extra,
    }


def mark_iteration(options: dict, iteration: int | None) -> dict:
    """A dotted vertical line at the current iteration on every plot of the chart (added last, so a cached chart can
    take it per rerun)."""
    if iteration is not None:
        plots = len(options["xAxis"]) if isinstance(options["xAxis"], list) else 1
        options["series"] += [{"type": "line", "id": f"current-iteration:{i}", "data": [], "silent": True,
                               "tooltip": {"show": False}, "xAxisIndex": i, "yAxisIndex": i,
                               "markLine": {"silent": True, "symbol": "none", "label": {"show": False},
                                            "lineStyle": {"type": "dotted", "color": "#888", "width": 1},
                                            "data": [{"xAxis": int(iteration)}]}} for i in range(plots)]
    return options


def curve_panel(data: pd.DataFrame, quantities: dict[str, str], models: dict[str, str], *, iteration: int | None,
                log: bool = False, show_raw: bool = True) -> dict:
    """One chart with a plot per quantity (two per row, titled by `quantities`' labels): every run's smoothed line
    over its faint raw line, one legend entry per run for all the plots. `data` is `emogan.views.curves.curve_frame`'s
    long frame: the raw line goes through all of a run's rows, the smoothed line through the grid rows all runs
    share, so a plot's tooltip lists every run at the iteration under the pointer."""
    names = trace_labels(models)
    traces = [run_traces(d, quantities, color=color_for(models.get(run, ""), run), label=names.get(run, run),
                         log=log, show_raw=show_raw) for run, d in data.groupby("run", sort=False)]
    return mark_iteration(panel_options(traces, quantities, log=log), iteration)


Traces = tuple[str, list[dict], list[dict]]     # (legend label, datasets, series) of one run in a panel


def run_traces(d: pd.DataFrame, quantities: dict[str, str], *, color: str, label: str, log: bool = False,
               show_raw: bool = True) -> Traces:
    """One run's part of curve_panel, from its rows of the curve frame: a panel is these parts put together, so a
    live refresh rebuilds only the part of the run that logged new losses."""
    run = str(d["run"].iloc[0])
    datasets, series = [], []
    line = {"type": "line", "name": label, "color": color, "showSymbol": False}
    grid = {"iteration": d.loc[d["on_grid"] & (d["quantity"] == next(iter(quantities))), "iteration"].tolist()}
    for i, q in enumerate(quantities):
        part = d[d["quantity"] == q]
        on_grid = part[part["on_grid"]]
        grid |= {f"raw {q}": values(on_grid["raw"], positive=log),
                 f"smoothed {q}": values(on_grid["smoothed"], positive=log)}
        axes = {"xAxisIndex": i, "yAxisIndex": i}
        if show_raw:
            datasets.append({"id": f"{run}:{q}:raw", "source": {"iteration": part["iteration"].tolist(),
                                                                 f"raw {q}": values(part["raw"], positive=log)}})
            # out of the tooltip: ECharts lists only the series nearest the pointer, and raw rows differ by run
            series.append(line | axes | {"id": f"{q}:{run}:raw", "datasetId": f"{run}:{q}:raw", "silent": True,
                                         "tooltip": {"show": False}, "z": 1,
                                         "encode": {"x": "iteration", "y": f"raw {q}"},
                                         "lineStyle": {"width": 1, "opacity": 0.25}})
        series.append(line | axes | {"id": f"{q}:{run}:smoothed", "datasetId": f"{run}:grid", "z": 2,
                                     "encode": {"x": "iteration", "y": f"smoothed {q}"},
                                     "lineStyle": {"width": 2}})
    datasets.append({"id": f"{run}:grid", "source": grid})
    return label, datasets, series


def panel_options(traces: Sequence[Traces], quantities: dict[str, str], *, log: bool = False) -> dict:
    """The panel's chart from its runs' traces: the plots' places, axes, one legend and the tooltip."""
    # Two plots per row, each row PANEL_ROW px: its title, then the plot with its axis labels.
    place = [{"left": "0%" if i % 2 == 0 else "53%", "right": "53%" if i % 2 == 0 else "2%",
              "top": 28 + PANEL_ROW * (i // 2)} for i in range(len(quantities))]
    return {
        "animation": False,
        "legend": LEGEND | {"data": [t[0] for t in traces], "top": 0},      # one legend above the plots' titles
        "title": [{"text": t, "left": p["left"], "top": p["top"], "textStyle": {"fontSize": 14}}
                  for t, p in zip(quantities.values(), place)],
        "grid": [{"left": p["left"], "right": p["right"], "top": p["top"] + 26, "height": PANEL_ROW - 56,
                  "containLabel": True} for p in place],
        "xAxis": [{"gridIndex": i, "type": "value", "name": "iteration", "nameLocation": "middle", "nameGap": 24}
                  for i in range(len(place))],
        "yAxis": [{"gridIndex": i, "type": "log" if log else "value", "scale": True} for i in range(len(place))],
        "tooltip": {"trigger": "axis", "confine": True, "formatter": _js(_CURVE_TOOLTIP)},
        "dataset": [ds for t in traces for ds in t[1]],
        "series": [se for t in traces for se in t[2]],
    }


def band_series(bands: pd.DataFrame, axes: dict | None = None, *, log: bool = False,
                id_prefix: str = "") -> tuple[list[dict], list[str]]:
    """Per group of `emogan.views.curves.seed_bands`: its mean line over a shaded min-max band (an invisible lower
    line with the band's height stacked on it). On a log axis only the mean is drawn: a stacked height is not
    log-scaled."""
    series, legend = [], []
    for group, d in bands.groupby("group", sort=False):
        color, name = color_for(str(group), str(group)), f"{group} (mean of {int(d['n'].max())})"
        legend.append(name)
        x = d["iteration"].astype(int).tolist()
        common = (axes or {}) | {"type": "line", "showSymbol": False, "color": color}
        if not log:
            stack = f"{id_prefix}band:{group}"
            series.append(common | {"id": f"{stack}:lo", "name": name, "stack": stack, "silent": True,
                                    "tooltip": {"show": False}, "lineStyle": {"opacity": 0}, "z": 1,
                                    "data": [[i, v] for i, v in zip(x, values(d["lo"]))]})
            series.append(common | {"id": f"{stack}:range", "name": name, "stack": stack, "silent": True,
                                    "tooltip": {"show": False}, "lineStyle": {"opacity": 0}, "z": 1,
                                    "areaStyle": {"color": color, "opacity": 0.2},
                                    "data": [[i, v] for i, v in zip(x, values(d["hi"] - d["lo"]))]})
        series.append(common | {"id": f"{id_prefix}band:{group}:mean", "name": name, "z": 2,
                                "lineStyle": {"width": 2},
                                "data": [[i, v] for i, v in zip(x, values(d["mean"], positive=log))]})
    return series, legend


def band_panel(data: pd.DataFrame, quantities: dict[str, str], groups: dict[str, str], *, iteration: int | None,
               log: bool = False) -> dict:
    """curve_panel with the runs of each group (a model's seeds) drawn as one mean line over its min-max band, from
    the smoothed values on the grid iterations all runs share."""
    grid = data[data["on_grid"]]
    series, legend = [], []
    for i, q in enumerate(quantities):
        bands = seed_bands(grid[grid["quantity"] == q], groups, "smoothed")
        s, legend = band_series(bands, {"xAxisIndex": i, "yAxisIndex": i}, log=log, id_prefix=f"{q}:")
        series += s
    options = curve_panel(data.iloc[:0], quantities, {}, iteration=None, log=log, show_raw=False)
    options["legend"]["data"] = legend
    options["tooltip"] = {"trigger": "axis", "confine": True}
    options["series"] = series
    del options["dataset"]
    return mark_iteration(options, iteration)


def mark_episodes(options: dict, spans: dict[str, list[tuple[int, int]]], models: dict[str, str],
                  half_step: int = 25) -> dict:
    """Shade each run's episodes of collapse signs (first..last iteration, widened by half a snapshot step so a
    one-snapshot episode shows) in its colour on every plot. The shading is a series named as the run's line, so
    hiding the run in the legend hides its episodes too."""
    names = trace_labels(models)
    plots = len(options["xAxis"]) if isinstance(options["xAxis"], list) else 1
    for run, runs_spans in spans.items():
        if not runs_spans:
            continue
        color = color_for(models.get(run, ""), run)
        areas = [[{"xAxis": a - half_step}, {"xAxis": b + half_step}] for a, b in runs_spans]
        options["series"] += [{"type": "line", "id": f"episodes:{run}:{i}", "name": names.get(run, run),
                               "color": color, "data": [], "silent": True, "tooltip": {"show": False},
                               "xAxisIndex": i, "yAxisIndex": i,
                               "markArea": {"silent": True, "itemStyle": {"color": color, "opacity": 0.12},
                                            "data": areas}} for i in range(plots)]
    return options


def panel_height(plots: int) -> int:
    return 28 + PANEL_ROW * ((plots + 1) // 2)


def _line(name: str, color: str, x: pd.Series, y: pd.Series, *, log: bool = False, symbol: int = 3) -> dict:
    return {"type": "line", "name": name, "color": color, "symbol": "circle", "symbolSize": symbol, "showSymbol": True,
            "lineStyle": {"width": 2}, "data": [[int(i), v] for i, v in zip(x, values(y, positive=log))]}


def profile_chart(profiles: dict[str, pd.DataFrame], models: dict[str, str], *, iteration: int | None) -> dict:
    """Mean change of the fixed-latent faces since the previous snapshot, per run: spikes are mode hops."""
    names = trace_labels(models)
    series = [_line(names.get(run, run), color_for(models.get(run, ""), run), df["iteration"], df["change"])
              for run, df in profiles.items()]
    options = _chart("Change since the previous snapshot (mean |Δ| of the fixed-latent faces, grey levels)", series,
                     [s["name"] for s in series],
                     tooltip={"trigger": "axis", "confine": True, "valueFormatter": _js(
                         "function (v) { return v === null ? '–' : v.toFixed(1) + ' grey levels'; }")})
    options["yAxis"]["min"] = 0
    return mark_iteration(options, iteration)


def metric_chart(series: dict[str, pd.DataFrame], key: str, title: str, models: dict[str, str], *,
                 iteration: int | None, log: bool = False, x_max: int | None = None,
                 baseline: float | None = None, bands: dict[str, str] | None = None) -> dict:
    """One metric (column `key` of each run's frame) against iteration; the real faces' figure dashed. With
    `bands` (run -> group), each group's runs are one mean line over a min-max band."""

    names = trace_labels(models)
    if bands is not None:
        frame = pd.concat([d[["iteration", key]].assign(run=run) for run, d in series.items()], ignore_index=True)
        lines, legend = band_series(seed_bands(frame, bands, key), log=log)
    else:
        lines = [_line(names.get(run, run), color_for(models.get(run, ""), run), d["iteration"], d[key], log=log,
                       symbol=4) for run, d in series.items()]
        legend = [s["name"] for s in lines]
    options = _chart(title, lines, legend, log=log,
                     tooltip={"trigger": "axis", "confine": True, "valueFormatter": _js(
                         "function (v) { return v === null ? '–' : Number(v.toPrecision(4)).toString(); }")})
    if baseline is not None and not (log and baseline <= 0):
        options["series"].append({"type": "line", "id": "real-faces", "data": [], "silent": True,
                                  "tooltip": {"show": False},
                                  "markLine": {"silent": True, "symbol": "none",
                                               "label": {"formatter": "real faces", "position": "insideStartTop"},
                                               "lineStyle": {"type": "dashed", "color": "#999", "width": 1},
                                               "data": [{"yAxis": float(baseline)}]}})
    if x_max:
        options["xAxis"] |= {"min": 0, "max": int(x_max)}   # the loss curves' span, so the two pages line up
    return mark_iteration(options, iteration)


def emotion_chart(mix: pd.DataFrame, title: str) -> dict:
    """Grouped bars: each emotion's share among generated faces beside its share in FER2013's training set."""
    series = [{"type": "bar", "name": str(col), "color": color, "data": values(mix[col])}
              for col, color in zip(mix.columns, ("#636EFA", "#BBBBBB"))]
    percent = _js("function (v) { return v === null ? '–' : (100 * v).toFixed(1) + '%'; }")
    options = _chart(title, series, [s["name"] for s in series], x_name="",
                     tooltip={"trigger": "axis", "confine": True, "valueFormatter": percent})
    options["xAxis"] = {"type": "category", "data": [str(e) for e in mix.index]}
    options["yAxis"] = {"type": "value", "min": 0,
                        "axisLabel": {"formatter": _js("function (v) { return Math.round(100 * v) + '%'; }")}}
    return options


def show(options: dict, key: str, on_click: Callable[[str], None] | None = None, height: int = HEIGHT) -> None:
    """Draw a chart in the current container. With `on_click` (the iteration charts), a click in a plot area calls
    on_click(key) with the clicked iteration in the component's value (`session.iteration_from_click`), and the
    plots zoom (mouse wheel) and pan (drag) along the iterations together; the zoom is kept in the session, so it
    survives reruns and live refreshes, until "Reset zoom"."""
    from streamlit_echarts import st_echarts
    if on_click is None:
        st_echarts(options, height=f"{height}px", key=key)
        return
    zoom = st.session_state.get(zoom_key(key))
    plots = len(options["xAxis"]) if isinstance(options["xAxis"], list) else 1
    inside = {"type": "inside", "xAxisIndex": list(range(plots)), "filterMode": "none"}
    if zoom:
        inside.update(startValue=zoom[0], endValue=zoom[1])
    st_echarts({**options, "dataZoom": [inside]}, height=f"{height}px", key=key,
               events={"zr:click": CLICK, "datazoom": ZOOM}, on_change=lambda: _chart_event(key, on_click))
    if zoom:
        text, reset = st.columns([5, 1], vertical_alignment="center")
        text.caption(f"Zoomed to iterations {zoom[0]}-{zoom[1]} (wheel to zoom, drag to pan)")
        reset.button("Reset zoom", key=f"reset_zoom::{key}", on_click=st.session_state.pop, args=(zoom_key(key), None))


def zoom_key(key: str) -> str:
    return f"zoom::{key}"


def zoom_from_event(event) -> tuple[int, int] | None:
    """The (first, last) iteration a datazoom event sent ({'chart_event': {'zoom': [a, b]}}), or None."""
    try:
        value = event["chart_event"]
    except (KeyError, TypeError):
        value = getattr(event, "chart_event", None)
    if not isinstance(value, dict) or not isinstance(value.get("zoom"), list) or len(value["zoom"]) != 2:
        return None
    a, b = value["zoom"]
    if not all(isinstance(v, (int, float)) and not isinstance(v, bool) for v in (a, b)) or a >= b:
        return None
    return int(a), int(b)


def _chart_event(key: str, on_click: Callable[[str], None]) -> None:
    zoom = zoom_from_event(st.session_state.get(key))
    if zoom is not None:
        st.session_state[zoom_key(key)] = zoom
    else:
        on_click(key)

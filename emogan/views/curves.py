"""Loss curves for plotting: TensorBoard's debiased EMA smoothing, several runs in one long frame, thinning."""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import numpy as np
import pandas as pd

# The quantities the trainer logs, with the labels the app shows: one figure per quantity.
QUANTITIES: dict[str, str] = {"loss_G": "Loss G", "loss_D": "Loss D", "D_x": "D(x)", "D_G_z": "D(G(z))"}
MAX_POINTS = 5000  # per run and quantity: more points than pixels only slows the browser down


def smooth(values: Sequence[float] | np.ndarray, weight: float) -> np.ndarray:
    """TensorBoard's smoothing: an exponential moving average divided by (1 - weight**n), so early points are not
    pulled towards zero. Non-finite values are passed through and do not enter the average (as TensorBoard does)."""
    if not 0.0 <= weight < 1.0:
        raise ValueError(f"smoothing weight must be in [0, 1), got {weight}")
    y = np.asarray(values, dtype=np.float64)
    out = y.copy()
    finite = np.isfinite(y)
    if weight == 0.0 or finite.sum() < 2:
        return out
    # pandas' adjusted EWM is sum(w^i x_{t-i}) / sum(w^i): exactly the debiased EMA, computed in C.
    out[finite] = pd.Series(y[finite]).ewm(alpha=1.0 - weight, adjust=True).mean().to_numpy()
    return out


def envelope_rows(y: np.ndarray, max_points: int = MAX_POINTS) -> np.ndarray:
    """Which of the values to keep (a mask, at most ~max_points True) to draw the same line as all of them: in each of
    max_points/2 equal slices, the lowest and the highest value (and the first non-finite one, so a gap stays a gap),
    plus the first and the last. Unlike every k-th value, a one-iteration spike survives: it is what a noisy GAN
    loss is made of."""
    y = np.asarray(y, dtype=np.float64)
    n = len(y)
    if n <= max_points:
        return np.ones(n, dtype=bool)
    finite = np.isfinite(y)
    slice_of = np.arange(n) * max(1, max_points // 2) // n
    starts = np.flatnonzero(np.diff(slice_of, prepend=-1))
    low = np.minimum.reduceat(np.where(finite, y, np.inf), starts)[slice_of]
    high = np.maximum.reduceat(np.where(finite, y, -np.inf), starts)[slice_of]
    keep = np.zeros(n, dtype=bool)
    keep[[0, n - 1]] = True
    for rows in (finite & (y == low), finite & (y == high), ~finite):
        hits = np.flatnonzero(rows)
        keep[hits[np.unique(slice_of[hits], return_index=True)[1]]] = True     # the first hit of each slice
    return keep


def round_step(at_least: float) -> int:
    """The smallest of 1, 2, 5, 10, 20, 50, ... that is at least `at_least`: grid iterations a reader can take in."""
    decade = 1
    while True:
        for m in (1, 2, 5):
            if m * decade >= at_least:
                return m * decade
        decade *= 10


def grid_step(last_iteration: int, max_points: int = MAX_POINTS) -> int:
    """The iterations the runs' smoothed lines share: every step-th, at most about max_points/2 of them up to the
    selection's last iteration, the step a round number such as 10 or 20."""
    return round_step(last_iteration / max(1, max_points // 2))


def run_curves(run: str, losses: pd.DataFrame, weight: float, step: int,
               quantities: Sequence[str] = tuple(QUANTITIES), max_points: int = MAX_POINTS) -> pd.DataFrame:
    """One run's part of `curve_frame`: its rows smoothed on every logged iteration first, then cut down to the
    `envelope_rows` of its raw values and the grid rows (every step-th iteration and its last row)."""
    its = losses["iteration"].to_numpy(dtype=np.int64)
    on_grid = its % step == 0
    on_grid[-1:] = True
    parts = []
    for q in quantities:
        raw = losses[q].to_numpy(dtype=np.float64)
        keep = envelope_rows(raw, max_points) | on_grid
        parts.append(pd.DataFrame({"run": run, "quantity": q, "iteration": its[keep], "raw": raw[keep],
                                   "smoothed": smooth(raw, weight)[keep], "on_grid": on_grid[keep]}))
    return pd.concat(parts, ignore_index=True) if parts else empty_curves()


def empty_curves() -> pd.DataFrame:
    return pd.DataFrame({"run": pd.Series(dtype=str), "quantity": pd.Series(dtype=str),
                         "iteration": pd.Series(dtype="int64"), "raw": pd.Series(dtype=float),
                         "smoothed": pd.Series(dtype=float), "on_grid": pd.Series(dtype=bool)})


def curve_frame(losses: Mapping[str, pd.DataFrame], weight: float = 0.6,
                quantities: Sequence[str] = tuple(QUANTITIES), max_points: int = MAX_POINTS) -> pd.DataFrame:
    """Long frame (run, quantity, iteration, raw, smoothed, on_grid) of several runs' curves (`run_curves` of each,
    on the grid of `grid_step`).

    A chart draws the raw line through all the rows and the smoothed line through the grid rows, where every run
    has a value at the same iterations: what a tooltip comparing the runs at one iteration needs."""
    last = max((int(df["iteration"].max()) for df in losses.values() if len(df)), default=0)
    step = grid_step(last, max_points)
    parts = [run_curves(run, df, weight, step, quantities, max_points) for run, df in losses.items()]
    return pd.concat(parts, ignore_index=True) if parts else empty_curves()


def values_at(losses: pd.DataFrame, iteration: int) -> dict[str, float] | None:
    """The logged row at `iteration`, or the last one before it (None when the log starts later)."""
    its = losses["iteration"].to_numpy()
    i = int(np.searchsorted(its, iteration, side="right")) - 1
    if i < 0:
        return None
    row = losses.iloc[i]
    return {c: (int(row[c]) if c == "iteration" else float(row[c])) for c in losses.columns}


def tail_mean(df: pd.DataFrame | None, col: str, share: float = 0.1) -> float:
    """The mean of `col` over the last `share` of the rows (at least one): where a run's losses settled."""
    if df is None or df.empty:
        return float("nan")
    return float(df[col].iloc[-max(1, int(len(df) * share)):].mean())


def seed_bands(frame: pd.DataFrame, groups: Mapping[str, str], value: str) -> pd.DataFrame:
    """Runs of one model drawn as one: per group (groups: run -> label, e.g. its model) and iteration where all the
    group's runs have a value, the mean, min and max of column `value` over them, and how many they are.

    `frame` is long: one row per run and iteration (columns run, iteration, value). Columns of the result:
    group, iteration, mean, lo, hi, n."""
    d = frame[frame["run"].isin(list(groups))].dropna(subset=[value])
    if d.empty:
        return pd.DataFrame({"group": pd.Series(dtype=str), "iteration": pd.Series(dtype="int64"),
                             "mean": pd.Series(dtype=float), "lo": pd.Series(dtype=float),
                             "hi": pd.Series(dtype=float), "n": pd.Series(dtype="int64")})
    d = d.assign(group=d["run"].map(groups))
    out = d.groupby(["group", "iteration"], sort=True)[value].agg(["mean", "min", "max", "count"]).reset_index()
    # Only where every run of the group has a value: runs measured every 50 and every 100 would otherwise make
    # the band jump between one run and all of them.
    size = d.groupby("group")["run"].nunique()
    out = out[out["count"] == out["group"].map(size)].reset_index(drop=True)
    return out.rename(columns={"min": "lo", "max": "hi", "count": "n"})

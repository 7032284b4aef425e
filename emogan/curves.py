"""Loss curves for plotting: TensorBoard's debiased EMA smoothing, several runs in one long frame, thinning, NaN checks."""

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


def first_nonfinite(losses: pd.DataFrame, columns: Sequence[str] = ("loss_D", "loss_G")) -> int | None:
    """The first iteration at which a loss is NaN or infinite (the run diverged there), or None."""
    if losses.empty:
        return None
    bad = ~np.isfinite(losses[list(columns)].to_numpy(dtype=np.float64)).all(axis=1)
    return int(losses["iteration"].to_numpy()[bad.argmax()]) if bad.any() else None


def thin(frame: pd.DataFrame, max_points: int = MAX_POINTS) -> pd.DataFrame:
    """Every k-th row so that at most ~max_points remain, always keeping the last row (the newest value)."""
    n = len(frame)
    if n <= max_points:
        return frame
    step = int(np.ceil(n / max_points))
    keep = np.zeros(n, dtype=bool)
    keep[::step] = True
    keep[-1] = True
    return frame[keep]


def curve_frame(losses: Mapping[str, pd.DataFrame], weight: float = 0.6,
                quantities: Sequence[str] = tuple(QUANTITIES), max_points: int = MAX_POINTS) -> pd.DataFrame:
    """Long frame (run, quantity, iteration, raw, smoothed) of several runs' curves, smoothed then thinned.

    Smoothing runs on every logged iteration before thinning, so thinning changes the drawing, never the values."""
    parts = []
    for run, df in losses.items():
        for q in quantities:
            part = pd.DataFrame({"iteration": df["iteration"].to_numpy(), "raw": df[q].to_numpy(dtype=np.float64)})
            part["smoothed"] = smooth(part["raw"].to_numpy(), weight)
            part = thin(part, max_points)
            part.insert(0, "quantity", q)
            part.insert(0, "run", run)
            parts.append(part)
    if not parts:
        return pd.DataFrame({"run": pd.Series(dtype=str), "quantity": pd.Series(dtype=str),
                             "iteration": pd.Series(dtype="int64"), "raw": pd.Series(dtype=float),
                             "smoothed": pd.Series(dtype=float)})
    return pd.concat(parts, ignore_index=True)


def values_at(losses: pd.DataFrame, iteration: int) -> dict[str, float] | None:
    """The logged row at `iteration`, or the last one before it (None when the log starts later)."""
    its = losses["iteration"].to_numpy()
    i = int(np.searchsorted(its, iteration, side="right")) - 1
    if i < 0:
        return None
    row = losses.iloc[i]
    return {c: (int(row[c]) if c == "iteration" else float(row[c])) for c in losses.columns}

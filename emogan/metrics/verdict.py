"""The one-line verdict per model and iteration ("healthy", "collapsing from iteration X") and its rule.

The rule, on the metrics lines of one run up to the iteration asked about (thresholds below):

  A snapshot shows collapse when
    (1) duplicate_rate >= 1%  -- at least 1 pair in 100 of its N faces is near-identical (pixels.NEAR_IDENTICAL);
        a healthy generator, like real faces, has almost none (FER2013 validation: 0.0002%), and a generator
        drawing from m faces has about 1/m; or
    (2) msssim >= msssim_real + 0.10  -- its random pairs are much more alike than real pairs (real: ~0.10)
        AND, where the classifier metrics exist, coverage < 50% of the best coverage the run has reached so far
        (only once that best is >= 0.2, so an untrained start cannot count as a fall).
  A run is "collapsing from iteration X" when its last K = 3 measured snapshots up to the iteration all show
  collapse, X being the first snapshot of that unbroken streak; "collapse signs since iteration X" when the
  streak is shorter than K (one bad snapshot is often noise or a swing between modes); otherwise "healthy".
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import pandas as pd

DUPLICATE_RATE = 0.01
MSSSIM_MARGIN = 0.10
COVERAGE_DROP = 0.5
COVERAGE_MIN_BEST = 0.2
STREAK = 3


@dataclass(frozen=True)
class Verdict:
    iteration: int | None      # the measured snapshot the verdict is about (latest at or before the one asked)
    state: str                 # "healthy" | "suspect" | "collapsing" | "unknown"
    since: int | None          # first iteration of the current streak of collapse signs
    text: str                  # the one line shown to people
    reason: str                # which signs, with their values


def _num(v: object) -> float | None:
    try:
        f = float(v)  # type: ignore[arg-type]
    except (TypeError, ValueError):
        return None
    return None if math.isnan(f) else f


def collapse_signs(df: pd.DataFrame) -> pd.DataFrame:
    """Per metrics line: whether it shows collapse (`flag`) and a short `reason`, with the rule's inputs."""
    df = df.sort_values("iteration").reset_index(drop=True)
    flags, reasons, best = [], [], -np.inf
    for _, row in df.iterrows():
        dup, ms, ms_real, cov = (_num(row.get(k)) for k in ("duplicate_rate", "msssim", "msssim_real", "coverage"))
        signs = []
        dup_sign = dup is not None and dup >= DUPLICATE_RATE
        if dup_sign:
            signs.append(f"{100 * dup:.1f}% near-duplicate pairs")
        ms_sign = ms is not None and ms_real is not None and ms >= ms_real + MSSSIM_MARGIN
        if cov is None:
            cov_sign = True          # without the classifier, (2) rests on MS-SSIM alone
        else:
            cov_sign = best >= COVERAGE_MIN_BEST and cov < COVERAGE_DROP * best
            best = max(best, cov)
        if ms_sign and cov_sign:
            signs.append(f"MS-SSIM {ms:.2f} vs {ms_real:.2f} real"
                         + (f", coverage {cov:.2f} of best {best:.2f}" if cov is not None else ""))
        flags.append(bool(signs))
        reasons.append("; ".join(signs))
    return pd.DataFrame({"iteration": df["iteration"].astype("int64"), "flag": flags, "reason": reasons})


def verdict(df: pd.DataFrame, iteration: int | None = None) -> Verdict:
    """The verdict at `iteration` (default: the last measured one) from a run's metrics frame."""
    if df is None or len(df) == 0 or "iteration" not in df:
        return Verdict(None, "unknown", None, "no metrics yet", "")
    signs = collapse_signs(df)
    if iteration is not None:
        signs = signs[signs["iteration"] <= iteration]
    return _judge(signs["iteration"].tolist(), signs["flag"].tolist(), signs["reason"].tolist())


def verdicts(df: pd.DataFrame) -> pd.DataFrame:
    """The verdict at every measured iteration: columns iteration, state, since, text, reason."""
    columns = ["iteration", "state", "since", "text", "reason"]
    if df is None or len(df) == 0:
        return pd.DataFrame(columns=columns)
    signs = collapse_signs(df)
    its, flags, reasons = signs["iteration"].tolist(), signs["flag"].tolist(), signs["reason"].tolist()
    rows = [_judge(its[:i + 1], flags[:i + 1], reasons[:i + 1]) for i in range(len(its))]
    return pd.DataFrame([[getattr(v, c) for c in columns] for v in rows], columns=columns)


def _judge(its: list[int], flags: list[bool], reasons: list[str]) -> Verdict:
    if not its:
        return Verdict(None, "unknown", None, "no metrics yet at this iteration", "")
    streak = 0
    while streak < len(flags) and flags[-1 - streak]:
        streak += 1
    if streak == 0:
        return Verdict(its[-1], "healthy", None, "healthy", "")
    since = its[-streak]
    if streak >= STREAK:
        return Verdict(its[-1], "collapsing", since, f"collapsing from iteration {since}", reasons[-1])
    return Verdict(its[-1], "suspect", since, f"collapse signs since iteration {since}", reasons[-1])

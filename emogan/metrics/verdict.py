"""Episodes of collapse and the one-line verdict of a run ("healthy at 5000; collapsed 3900-3950 (2 snapshots)").

The rule, on the metrics lines of one run (thresholds below). Signs count once the run has started: its best
coverage (so far, or after WARMUP the run's best as below) is at least 0.2 (an untrained start is bad for every
model and would only say so). A snapshot
shows signs of
  collapse       -- its faces are alike: duplicate_rate >= 1% (at least 1 pair in 100 of its N faces is
                    near-identical, pixels.NEAR_IDENTICAL; real faces have almost none, FER2013 validation
                    0.0002%, and a generator drawing from m faces has about 1/m), or msssim >= msssim_real + 0.10
                    (its random pairs are much more alike than real pairs, real ~0.10);
  memorisation   -- memorised_rate (faces closer than NEAR_IDENTICAL to their nearest training face) at least
                    0.10 above the real validation faces' own rate (FER2013 holds near-copies across its
                    splits: about 8% of validation faces), so real faces scored as a run show none;
  dropped modes  -- coverage < 50% of the run's best while the faces stay varied. Until iteration WARMUP the
                    best is the best so far (a fall from a level reached); after it, the best of all the run's
                    measured snapshots up to the verdict's iteration: by then a run covering less than half
                    of what it covers at its best is missing modes, whether they fell away or have not come.
An episode is a maximal streak of measured snapshots with signs, even one snapshot, named for its strongest sign
(collapse, then memorisation, then dropped modes); its worst snapshot is the one with the lowest coverage.

A run is "collapsing from iteration X" when its last K = 3 measured snapshots up to the iteration all show signs,
X being the first of that streak; "collapse signs since iteration X" when the streak is shorter; otherwise
"healthy at I". The verdict then names the run's episodes up to I: collapse that comes and goes is what the
original project saw, and a verdict about the last snapshot alone would hide it.
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
WARMUP = 1000                  # 64,000 faces at batch 64: every model of the ladder is past its untrained start
STREAK = 3
MEMORISED_MARGIN = 0.10        # memorised_rate this far above real validation faces' own (FER2013: ~8%)
KINDS = ("collapse", "memorisation", "dropped modes")     # strongest first: an episode is named for its strongest
EPISODE_WORDS = {"collapse": "collapsed", "memorisation": "memorised", "dropped modes": "dropped modes"}


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


def collapse_signs(df: pd.DataFrame, baselines: dict[str, float | None] | None = None) -> pd.DataFrame:
    """Per metrics line: whether it shows signs (`flag`), of which `kind`, and a short `reason` with the values.

    Signs count once the run has started: its best coverage so far is at least COVERAGE_MIN_BEST (without the
    classifier's coverage, from the first snapshot). `baselines` are the real faces' figures from
    metrics_config.json (memorised_rate_real; msssim_real is in every line)."""
    df = df.sort_values("iteration").reset_index(drop=True)
    real_memorised = _num((baselines or {}).get("memorised_rate_real")) or 0.0
    # Whole columns as float arrays (NaN where absent or unreadable): the landing page judges every selected run
    # when it opens, and a Python loop over rows is most of that.
    col = {k: pd.to_numeric(df[k], errors="coerce").to_numpy(dtype=np.float64) if k in df
           else np.full(len(df), np.nan) for k in ("duplicate_rate", "msssim", "msssim_real", "coverage",
                                                    "memorised_rate")}
    coverage = pd.Series(col["coverage"])
    so_far = coverage.cummax().ffill().to_numpy(dtype=np.float64)          # NaN until the first coverage
    run_best = float(coverage.max()) if coverage.notna().any() else np.nan
    its = df["iteration"].astype("int64").to_numpy()
    flags, kinds, reasons = [], [], []
    for i, it in enumerate(its):
        dup, ms, ms_real, cov, mem = (_num(col[k][i]) for k in ("duplicate_rate", "msssim", "msssim_real",
                                                                 "coverage", "memorised_rate"))
        after = int(it) > WARMUP
        best = run_best if after else so_far[i]
        started = not np.isfinite(best) or best >= COVERAGE_MIN_BEST      # without coverage, from the first
        signs: list[tuple[str, str]] = []
        if started:
            if dup is not None and dup >= DUPLICATE_RATE:
                signs.append(("collapse", f"{100 * dup:.1f}% near-duplicate pairs"))
            if ms is not None and ms_real is not None and ms >= ms_real + MSSSIM_MARGIN:
                signs.append(("collapse", f"MS-SSIM {ms:.2f} vs {ms_real:.2f} real"))
            if mem is not None and mem >= real_memorised + MEMORISED_MARGIN:
                signs.append(("memorisation", f"{100 * mem:.0f}% of faces near-copies of training faces "
                                              f"(real faces: {100 * real_memorised:.0f}%)"))
            if cov is not None and cov < COVERAGE_DROP * so_far[i]:
                signs.append(("dropped modes", f"coverage {cov:.2f} of best {so_far[i]:.2f}"))
            elif cov is not None and after and cov < COVERAGE_DROP * run_best:
                signs.append(("dropped modes", f"coverage {cov:.2f} of the run's best {run_best:.2f}"))
        kind = next((k for k in KINDS if any(s[0] == k for s in signs)), "")
        flags.append(bool(signs))
        kinds.append(kind)
        reasons.append("; ".join(text for _, text in signs))
    return pd.DataFrame({"iteration": its, "flag": flags, "kind": kinds, "reason": reasons})


@dataclass(frozen=True)
class Episode:
    """A maximal streak of measured snapshots with signs (one snapshot is a streak too)."""
    first: int
    last: int
    snapshots: int
    worst: int                 # the snapshot with the lowest coverage (else the first)
    kind: str                  # collapse | memorisation | dropped modes: the strongest sign in the streak
    signs: str                 # the worst snapshot's signs with their values

    @property
    def text(self) -> str:
        """'collapsed 3900-3950 (2 snapshots)'."""
        span = str(self.first) if self.first == self.last else f"{self.first}-{self.last}"
        n = f"{self.snapshots} snapshot{'s' if self.snapshots > 1 else ''}"
        return f"{EPISODE_WORDS[self.kind]} {span} ({n})"


def episodes(df: pd.DataFrame | None, baselines: dict[str, float | None] | None = None,
             signs: pd.DataFrame | None = None) -> list[Episode]:
    """Every episode of a run, in order, from its metrics frame (and the real faces' baselines); `signs`, when
    the caller has them, are its collapse_signs."""
    if df is None or len(df) == 0 or "iteration" not in df:
        return []
    if signs is None:
        signs = collapse_signs(df, baselines)
    cov = df.sort_values("iteration")["coverage"].to_numpy(dtype=np.float64) if "coverage" in df else \
        np.full(len(signs), np.nan)
    out, i, n = [], 0, len(signs)
    flags, its = signs["flag"].to_numpy(), signs["iteration"].to_numpy()
    while i < n:
        if not flags[i]:
            i += 1
            continue
        j = i
        while j + 1 < n and flags[j + 1]:
            j += 1
        span = slice(i, j + 1)
        w = i + (int(np.nanargmin(cov[span])) if np.isfinite(cov[span]).any() else 0)
        kinds = set(signs["kind"].iloc[span])
        kind = next(k for k in KINDS if k in kinds)
        out.append(Episode(int(its[i]), int(its[j]), j - i + 1, int(its[w]), kind, str(signs["reason"].iloc[w])))
        i = j + 1
    return out


def verdict(df: pd.DataFrame, iteration: int | None = None,
            baselines: dict[str, float | None] | None = None) -> Verdict:
    """The verdict at `iteration` (default: the last measured one) from a run's metrics frame, naming the episodes
    up to it: "healthy at 5000; collapsed 3900-3950 (2 snapshots)"."""
    if df is None or len(df) == 0 or "iteration" not in df:
        return Verdict(None, "unknown", None, "no metrics yet", "")
    if iteration is not None:
        df = df[df["iteration"] <= iteration]
    signs = collapse_signs(df, baselines)
    v = _judge(signs["iteration"].tolist(), signs["flag"].tolist(), signs["reason"].tolist())
    return _with_episodes(v, episodes(df, baselines, signs))


def verdicts(df: pd.DataFrame, baselines: dict[str, float | None] | None = None) -> pd.DataFrame:
    """The verdict at every measured iteration: columns iteration, state, since, text, reason."""
    columns = ["iteration", "state", "since", "text", "reason"]
    if df is None or len(df) == 0:
        return pd.DataFrame(columns=columns)
    # Each verdict sees the snapshots up to its iteration only, as verdict(df, iteration) does: the run's best
    # after the warm-up is the best up to there.
    df = df.sort_values("iteration").reset_index(drop=True)
    rows = [verdict(df.iloc[:i + 1], None, baselines) for i in range(len(df))]
    return pd.DataFrame([[getattr(v, c) for c in columns] for v in rows], columns=columns)


def _with_episodes(v: Verdict, eps: list[Episode], shown: int = 2) -> Verdict:
    """The verdict's text followed by its episodes, the collapses first and then the longest, `shown` at most."""
    if not eps or v.iteration is None:
        return v
    order = sorted(eps, key=lambda e: (KINDS.index(e.kind), -e.snapshots, e.first))
    listed = ", ".join(e.text for e in order[:shown])
    more = f", +{len(eps) - shown} more episode{'s' if len(eps) - shown > 1 else ''}" if len(eps) > shown else ""
    return Verdict(v.iteration, v.state, v.since, f"{v.text}; {listed}{more}", v.reason)


def _judge(its: list[int], flags: list[bool], reasons: list[str]) -> Verdict:
    if not its:
        return Verdict(None, "unknown", None, "no metrics yet at this iteration", "")
    streak = 0
    while streak < len(flags) and flags[-1 - streak]:
        streak += 1
    if streak == 0:
        return Verdict(its[-1], "healthy", None, f"healthy at {its[-1]}", "")
    since = its[-streak]
    if streak >= STREAK:
        return Verdict(its[-1], "collapsing", since, f"collapsing from iteration {since}", reasons[-1])
    return Verdict(its[-1], "suspect", since, f"collapse signs since iteration {since}", reasons[-1])

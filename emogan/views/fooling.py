"""How often viewers take generated faces for real: fooling rates per run and iteration with 95% intervals, and the
viewers' accuracy on real faces, from Real-or-fake answer lines (emogan.runs.answers)."""

from __future__ import annotations

import math
from collections.abc import Iterable, Sequence
from typing import Any

import pandas as pd

Z95 = 1.959963984540054      # the standard normal's 97.5% quantile: a two-sided 95% interval

COLUMNS = ("run", "iteration", "fakes", "taken_for_real", "fooling_rate", "fooling_low", "fooling_high", "reals",
           "reals_right", "real_accuracy")


def wilson(k: int, n: int, z: float = Z95) -> tuple[float, float] | None:
    """The Wilson score interval of a proportion k/n (None without trials).

    Wilson rather than the textbook p ± z·sqrt(p(1-p)/n): a round shows each run only a handful of faces, and rates
    near 0 or 1 are the interesting ones. There the textbook interval shrinks to nothing (0 of 8 gives [0, 0]), can
    leave [0, 1], and covers the true rate far less often than 95%; Wilson's stays inside [0, 1], is never empty,
    and keeps close to 95% coverage down to a few trials (Brown, Cai and DasGupta, Statistical Science 2001). It is
    closed-form, so the page and the report give the same figures without resampling."""
    if n <= 0:
        return None
    if not 0 <= k <= n:
        raise ValueError(f"{k} successes out of {n} trials")
    p, z2 = k / n, z * z
    centre = (p + z2 / (2 * n)) / (1 + z2 / n)
    half = z / (1 + z2 / n) * math.sqrt(p * (1 - p) / n + z2 / (4 * n * n))
    # At k = 0 (k = n) the lower (upper) end is exactly 0 (1), which rounding would miss by a hair either way.
    lo = 0.0 if k == 0 else max(0.0, centre - half)
    hi = 1.0 if k == n else min(1.0, centre + half)
    return lo, hi


def pooled_rates(lines: Iterable[dict[str, Any]]) -> pd.DataFrame:
    """One row per run and iteration whose generated faces were answered: how many, how many were taken for real,
    that fooling rate with its 95% interval, and the viewers' accuracy on the real faces shown beside them (the real
    faces of every round whose pool held that run's snapshot). Sorted by run, then iteration."""
    fakes: dict[tuple[str, int], list[int]] = {}
    reals: dict[tuple[str, int], list[int]] = {}
    for line in lines:
        if line["truth"] == "fake":
            counts = fakes.setdefault((line["run"], int(line["iteration"])), [0, 0])
            counts[0] += 1
            counts[1] += line["answer"] == "real"
        else:
            for run, it in {(str(r), int(i)) for r, i in line.get("pool") or []}:
                counts = reals.setdefault((run, it), [0, 0])
                counts[0] += 1
                counts[1] += line["answer"] == "real"
    rows = []
    for key in sorted(fakes):
        n, k = fakes[key]
        lo, hi = wilson(k, n)
        nr, right = reals.get(key, (0, 0))
        rows.append((key[0], key[1], n, k, k / n, lo, hi, nr, right, right / nr if nr else math.nan))
    return pd.DataFrame(rows, columns=list(COLUMNS)).astype({"iteration": "int64", "fakes": "int64",
                                                             "taken_for_real": "int64", "reals": "int64",
                                                             "reals_right": "int64"})


def score(lines: Sequence[dict[str, Any]]) -> tuple[int, int]:
    """(answers that named the truth, answers)."""
    return sum(line["answer"] == line["truth"] for line in lines), len(lines)


def real_accuracy(lines: Iterable[dict[str, Any]]) -> tuple[int, int]:
    """(real faces answered Real, real faces answered)."""
    real = [line for line in lines if line["truth"] == "real"]
    return sum(line["answer"] == "real" for line in real), len(real)


def percent(v: float | None) -> str:
    return "-" if v is None or (isinstance(v, float) and math.isnan(v)) else f"{100 * v:.0f}%"


def rate_text(k: int, n: int) -> str:
    """'3/10 = 30% (95% CI 11-60%)', or '-' without trials."""
    ci = wilson(k, n)
    if ci is None:
        return "-"
    return f"{k}/{n} = {percent(k / n)} (95% CI {100 * ci[0]:.0f}-{100 * ci[1]:.0f}%)"


def table(rates: pd.DataFrame) -> pd.DataFrame:
    """The rates as the page and the report show them: one text cell per figure."""
    return pd.DataFrame({
        "run": rates["run"], "iteration": rates["iteration"],
        "fooling rate (95% CI)": [rate_text(int(k), int(n)) for k, n in zip(rates["taken_for_real"], rates["fakes"])],
        "real faces called real": [f"{int(k)}/{int(n)} = {percent(k / n)}" if n else "-"
                                   for k, n in zip(rates["reals_right"], rates["reals"])]})


def markdown(rates: pd.DataFrame) -> str:
    """The rates as a Markdown table (python -m emogan report)."""
    shown = table(rates)
    head = "| " + " | ".join(shown.columns) + " |"
    rule = "|" + "|".join("---" for _ in shown.columns) + "|"
    body = ["| " + " | ".join(str(v) for v in row) + " |" for row in shown.itertuples(index=False)]
    return "\n".join([head, rule, *body])

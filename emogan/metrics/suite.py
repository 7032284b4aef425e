"""The metric suite: every metric of a metrics line, in order, each with the settings that decide its figures and
the charts the explorer draws of it. A new metric is a function in a metric module and one `register` line here.

A metric is a plain function `fn(sample, reference) -> {key: value}` (core.Sample, core.Reference) that
returns exactly its declared keys. The suite decides the order of the keys in a metrics line (the order of the
`register` lines), what metrics_config.json records as settings (reference.settings: lines measured with other
settings are never mixed) and what the explorer's "Mode collapse" page can chart. A new metric needs no version
bump: older lines simply lack its keys, which read as "not measured"; changing an existing metric's definition
does (reference.METRICS_VERSION).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, NamedTuple

import numpy as np

from emogan.metrics import bins, diversity, features, realism
from emogan.metrics.core import Reference, Sample, Value
from emogan.original import ORIGINAL_ITERATIONS


class Chart(NamedTuple):
    """How the explorer charts one key. Titles stay short: the legend shares the chart's top line."""
    title: str
    log: bool = False               # a log y axis, for figures that span orders of magnitude
    baseline: str | None = None     # the real faces' figure, drawn dashed: a key of the line or of its baselines


@dataclass(frozen=True)
class Metric:
    name: str                                                   # what compute_metrics(names=...) selects
    fn: Callable[[Sample, Reference], dict[str, Value]]
    keys: tuple[str, ...]                                       # exactly what fn returns, in line order
    needs_classifier: bool = False                              # without one, its keys are written as None
    settings: dict[str, Any] = field(default_factory=dict)      # what decides its figures besides the data
    charts: dict[str, Chart] = field(default_factory=dict)      # the keys worth a chart, in menu order
    # Measured only at multiples of `every`, the original's six iterations and a run's last measured snapshot (None:
    # at every snapshot). For metrics that cost far more than the others; their keys are null elsewhere.
    every: int | None = None

    def due(self, iteration: int, last: int) -> bool:
        return self.every is None or iteration % self.every == 0 or iteration == last \
            or iteration in ORIGINAL_ITERATIONS


METRICS: dict[str, Metric] = {}


def register(m: Metric) -> Metric:
    """Add `m` to the suite; its keys come after those of the metrics registered before it."""
    if m.name in METRICS:
        raise ValueError(f"metric {m.name!r} is registered twice")
    taken = set(m.keys) & set(metric_keys())
    if taken or len(set(m.keys)) != len(m.keys):
        raise ValueError(f"metric {m.name!r}: keys {sorted(taken) or list(m.keys)} are not unique in a metrics line")
    if not set(m.charts) <= set(m.keys):
        raise ValueError(f"metric {m.name!r}: charts {sorted(set(m.charts) - set(m.keys))} are not among its keys")
    known = metric_settings()
    clash = sorted(k for k in m.settings if k in known and known[k] != m.settings[k])
    if clash:
        raise ValueError(f"metric {m.name!r}: settings {clash} differ from another metric's")
    METRICS[m.name] = m
    return m


def registry() -> dict[str, Metric]:
    """Every metric, in line order."""
    return dict(METRICS)


def metric_keys() -> list[str]:
    """Every key a metrics line holds besides iteration and n, in line order."""
    return [k for m in METRICS.values() for k in m.keys]


def classifier_keys() -> list[str]:
    return [k for m in METRICS.values() if m.needs_classifier for k in m.keys]


def metric_settings() -> dict[str, Any]:
    """The metrics' own settings, merged in line order (reference.settings adds the sample's)."""
    return {k: v for m in METRICS.values() for k, v in m.settings.items()}


def metric_charts() -> dict[str, Chart]:
    """Every chartable key with its Chart, in line order: what the explorer offers."""
    return {k: c for m in METRICS.values() for k, c in m.charts.items()}


def due_metrics(iteration: int, last: int) -> list[str]:
    """The metrics to measure at `iteration` of a run whose last measured snapshot is `last`."""
    return [m.name for m in METRICS.values() if m.due(iteration, last)]


def compute_metrics(sample: Sample, reference: Reference, names: list[str] | None = None) -> dict[str, Value]:
    """All (or the named) metrics of `sample` against `reference`; keys of metrics that need a missing classifier
    are None, so a line always says what is missing rather than leaving it out. With `names`, only those
    metrics' keys are returned."""
    unknown = sorted(set(names or []) - set(METRICS))
    if unknown:
        raise ValueError(f"unknown metric {unknown[0]!r}: expected one of {', '.join(METRICS)}")
    out: dict[str, Value] = {}
    for m in METRICS.values():
        if names is not None and m.name not in names:
            continue
        if m.needs_classifier and (sample.features is None or reference.features is None):
            out.update({k: None for k in m.keys})
            continue
        got = m.fn(sample, reference)
        if set(got) != set(m.keys):
            raise RuntimeError(f"metric {m.name} returned keys {sorted(got)}, declared {sorted(m.keys)}")
        out.update({k: _plain(got[k]) for k in m.keys})
    return out


def _plain(v: Any) -> Value:
    """numpy/torch scalars as JSON-ready Python numbers."""
    if v is None:
        return None
    if hasattr(v, "item") and not isinstance(v, np.generic):    # a one-element tensor (torch is not imported here)
        v = v.item()
    if isinstance(v, (bool, np.bool_)):
        return int(v)
    if isinstance(v, (int, np.integer)):
        return int(v)
    return float(v)


def _prdc_chart(key: str) -> Chart:
    real = f"{key}_real" if key in ("precision", "recall", "coverage") else None
    return Chart(f"{key.capitalize()} (k={features.PRDC_K})", baseline=real)


# The order of these lines is the order of the keys in every metrics line: append, never reorder.
register(Metric(
    "fer_fid_kid", features.fer_fid_kid, ("fer_fid", "fer_kid", "fer_kid_std"), needs_classifier=True,
    settings={"kid_subsets": features.KID_SUBSETS},
    charts={"fer_fid": Chart("FER-FID (not Inception FID)", log=True, baseline="fer_fid_real"),
            "fer_kid": Chart("FER-KID", baseline="fer_kid_real")}))
register(Metric(
    "prdc", features.prdc, ("precision", "recall", "density", "coverage"), needs_classifier=True,
    settings={"prdc_k": features.PRDC_K},
    charts={k: _prdc_chart(k) for k in ("coverage", "recall", "precision", "density")}))
register(Metric(
    "emotions", features.emotions, (*features.EMOTION_KEYS, "emotion_js_prior", "emotion_js_reference", "confidence"),
    needs_classifier=True,
    charts={"emotion_js_reference": Chart("Emotion mix vs reference (JS)"),
            "emotion_js_prior": Chart("Emotion mix vs FER2013 prior (JS)"),
            "confidence": Chart("Classifier confidence")}))
register(Metric(
    "conditional", features.label_accuracy, ("label_accuracy",), needs_classifier=True,
    charts={"label_accuracy": Chart("Asked-for emotion drawn (conditional)")}))
register(Metric(
    "msssim", diversity.msssim, ("msssim", "msssim_real"),
    settings={"msssim": {"pairs": "n/2 disjoint", "sigma": diversity.MSSSIM_SIGMA,
                         "betas": [round(b, 6) for b in diversity.MSSSIM_BETAS]}},
    charts={"msssim": Chart("MS-SSIM of pairs (high: alike)", baseline="msssim_real")}))
register(Metric(
    "duplicates", diversity.duplicates, ("duplicate_rate", "birthday_batch", "birthday_support"),
    charts={"duplicate_rate": Chart("Near-duplicate pairs", baseline="duplicate_rate_real"),
            "birthday_support": Chart("Birthday support (faces)", log=True)}))
register(Metric(
    "memorisation", diversity.memorisation, ("nn_train_dist", "memorised_rate"),
    charts={"nn_train_dist": Chart("Distance to nearest training face", baseline="nn_train_dist_real"),
            "memorised_rate": Chart("Copies of training faces", baseline="memorised_rate_real")}))
register(Metric(
    "ndb", bins.ndb, ("ndb", "ndb_frac", "ndb_js"),
    settings={"ndb_seed": bins.NDB_SEED},
    charts={"ndb_frac": Chart("NDB / K (k-means bins)"), "ndb_js": Chart("JS over k-means bins")}))
register(Metric(
    "realism", realism.realism, ("c2st",), settings={"c2st": realism.SETTINGS}, every=250,
    charts={"c2st": Chart("Real or fake? detector accuracy (50%: real)", baseline="c2st_real")}))
register(Metric(
    "fid_by_emotion", features.fer_fid_by_emotion, features.FID_BY_EMOTION_KEYS, needs_classifier=True, every=250,
    charts={"fer_fid_intra": Chart("FER-FID per emotion asked, mean (conditional)", log=True)}))

"""Mode-collapse metrics of GAN snapshots: plain metric functions, each returning a dict, listed in order by
suite.py, computed per snapshot on the same N faces and appended to the run folder's metrics.jsonl.

    ref = build_reference(train_faces, validation_faces, classifier, n=1000, emotion="all")
    row = compute_metrics(make_sample(faces, classifier), ref)      # {"fer_fid": ..., "coverage": ..., ...}
    evaluate_run(run, ref, classifier)                           # every snapshot of a run, resumable
    read_metrics(run.path); verdict.verdicts(read_metrics(run.path))  # for the explorer

Modules, each importing only ones above it (the three metric modules import none of each other):
  pixels.py, stats.py  the 24x24 pixel space and its distances; JS divergence and the two-proportion z-test
  core.py       Sample: one set of faces with its pixel vectors and ONE classifier pass, shared by every metric;
                Reference: the real faces it is measured against (the contract every metric reads)
  features.py   fer_fid, fer_kid, fer_kid_std; precision, recall, density, coverage; emotion_<name>,
                emotion_js_prior, emotion_js_reference, confidence; label_accuracy (conditional runs only)
                                                                              (need the emotion classifier)
  diversity.py  msssim, msssim_real; duplicate_rate, birthday_batch, birthday_support; nn_train_dist,
                memorised_rate
  bins.py       ndb, ndb_frac, ndb_js
  suite.py      the metrics in line order, each with its settings and explorer charts; compute_metrics
  reference.py  the real faces' side (features, k-means bins, baselines), cached; the settings of a run's metrics
  records.py, evaluate.py  metrics.jsonl and metrics_config.json; measuring a run's snapshots into them
  verdict.py, summary.py  the verdict rule ("healthy", "collapsing from iteration X"); the report's table
  neighbours.py the explorer's galleries: each face's closest training faces, the closest pairs of faces

The names below load their modules on first use: the metrics pull in torchmetrics, scikit-learn and scipy,
which every other `python -m emogan` command would otherwise pay for at start-up.
"""

from __future__ import annotations

import importlib
from typing import Any

DEFAULT_N = 1000            # faces per snapshot: the same for every model and iteration
DEFAULT_EVERY = 50          # measure snapshots at multiples of this iteration (plus the last one)
METRICS_FILE = "metrics.jsonl"
CONFIG_FILE = "metrics_config.json"

_LAZY = {
    "core": ("Sample", "Reference", "make_sample"),
    "suite": ("METRICS", "Metric", "Chart", "register", "registry", "metric_keys", "classifier_keys",
              "metric_settings", "metric_charts", "compute_metrics"),
    "evaluate": ("evaluate_run", "metric_labels", "metric_latents", "selected_iterations", "snapshot_faces"),
    "reference": ("build_reference", "classifier_identity"),
    "records": ("read_metrics", "read_config", "MetricsMismatch"),
}
# Not the verdict functions: `emogan.metrics.verdict` is their module's name, which the import system binds
# on this package once the module is loaded; import them from emogan.metrics.verdict.
_WHERE = {name: module for module, names in _LAZY.items() for name in names}

__all__ = ["DEFAULT_N", "DEFAULT_EVERY", "METRICS_FILE", "CONFIG_FILE"] + list(_WHERE)


def __getattr__(name: str) -> Any:
    if name not in _WHERE:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    value = getattr(importlib.import_module(f"{__name__}.{_WHERE[name]}"), name)
    globals()[name] = value
    return value

"""emogan.metrics.verdict: the documented collapse rule on metrics frames whose verdict is known."""

import numpy as np
import pandas as pd

from emogan.metrics.verdict import STREAK, verdict, verdicts


def frame(dup, msssim=None, coverage=None, real=0.1):
    n = len(dup)
    return pd.DataFrame({"iteration": np.arange(1, n + 1) * 50, "duplicate_rate": dup,
                         "msssim": msssim if msssim is not None else [0.1] * n, "msssim_real": [real] * n,
                         "coverage": coverage if coverage is not None else [np.nan] * n})


def test_healthy_run():
    v = verdict(frame([0.0] * 6, coverage=[0.3, 0.5, 0.6, 0.6, 0.7, 0.7]))
    assert (v.state, v.text, v.iteration) == ("healthy", "healthy", 300)


def test_duplicates_for_k_snapshots_mean_collapsing_from_the_first():
    df = frame([0.0, 0.0, 0.02, 0.2, 0.5, 0.6])
    assert verdict(df).text == "collapsing from iteration 150"
    assert "near-duplicate" in verdict(df).reason
    assert verdict(df, iteration=199).state == "suspect"
    assert verdict(df, 199).text == "collapse signs since iteration 150"
    assert verdict(df, iteration=100).text == "healthy"
    assert verdicts(df)["state"].tolist() == ["healthy", "healthy", "suspect", "suspect", "collapsing", "collapsing"]
    assert STREAK == 3


def test_one_bad_snapshot_then_recovery_is_healthy():
    assert verdict(frame([0.0, 0.5, 0.0, 0.0])).text == "healthy"


def test_msssim_needs_a_coverage_drop_when_coverage_is_known():
    ms = [0.1, 0.1, 0.35, 0.35, 0.35]
    assert verdict(frame([0.0] * 5, msssim=ms, coverage=[0.4, 0.6, 0.55, 0.5, 0.5])).state == "healthy"
    v = verdict(frame([0.0] * 5, msssim=ms, coverage=[0.4, 0.6, 0.2, 0.1, 0.1]))
    assert v.text == "collapsing from iteration 150" and "coverage 0.10 of best 0.60" in v.reason
    # A run that never got anywhere cannot "fall": best coverage under 0.2.
    assert verdict(frame([0.0] * 5, msssim=ms, coverage=[0.1, 0.15, 0.05, 0.05, 0.05])).state == "healthy"


def test_without_the_classifier_msssim_alone_decides():
    assert verdict(frame([0.0] * 4, msssim=[0.1, 0.3, 0.3, 0.3])).text == "collapsing from iteration 100"


def test_no_metrics():
    assert verdict(pd.DataFrame({"iteration": []})).text == "no metrics yet"
    assert verdict(frame([0.0]), iteration=10).state == "unknown"
    assert verdicts(pd.DataFrame()).empty

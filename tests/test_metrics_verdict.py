"""emogan.metrics.verdict: the documented rule on metrics frames whose episodes and verdict are known."""

import numpy as np
import pandas as pd
import pytest

from emogan.metrics.verdict import STREAK, WARMUP, Episode, collapse_signs, episodes, verdict, verdicts


def frame(dup, msssim=None, coverage=None, real=0.1, memorised=None):
    n = len(dup)
    return pd.DataFrame({"iteration": np.arange(1, n + 1) * 50, "duplicate_rate": dup,
                         "msssim": msssim if msssim is not None else [0.1] * n, "msssim_real": [real] * n,
                         "coverage": coverage if coverage is not None else [np.nan] * n,
                         "memorised_rate": memorised if memorised is not None else [0.05] * n})


def test_healthy_run():
    v = verdict(frame([0.0] * 6, coverage=[0.3, 0.5, 0.6, 0.6, 0.7, 0.7]))
    assert (v.state, v.text, v.iteration) == ("healthy", "healthy at 300", 300)
    assert episodes(frame([0.0] * 6, coverage=[0.3, 0.5, 0.6, 0.6, 0.7, 0.7])) == []


def test_duplicates_for_k_snapshots_mean_collapsing_from_the_first():
    df = frame([0.0, 0.0, 0.02, 0.2, 0.5, 0.6])
    assert verdict(df).text == "collapsing from iteration 150; collapsed 150-300 (4 snapshots)"
    assert "near-duplicate" in verdict(df).reason
    assert verdict(df, iteration=199).state == "suspect"
    assert verdict(df, 199).text == "collapse signs since iteration 150; collapsed 150 (1 snapshot)"
    assert verdict(df, iteration=100).text == "healthy at 100"
    assert verdicts(df)["state"].tolist() == ["healthy", "healthy", "suspect", "suspect", "collapsing", "collapsing"]
    assert STREAK == 3


def test_a_collapse_that_comes_and_goes_is_named_in_a_healthy_verdict():
    df = frame([0.0] * 8, msssim=[0.1, 0.1, 0.1, 0.45, 0.4, 0.1, 0.1, 0.1],
               coverage=[0.3, 0.5, 0.54, 0.06, 0.2, 0.5, 0.5, 0.52])
    [e] = episodes(df)
    assert e == Episode(200, 250, 2, 200, "collapse", "MS-SSIM 0.45 vs 0.10 real; coverage 0.06 of best 0.54")
    assert verdict(df).text == "healthy at 400; collapsed 200-250 (2 snapshots)"


def test_episodes_known_answers():
    cov = lambda *c: frame([0.0] * len(c), coverage=list(c))          # noqa: E731
    # two streaks: a one-snapshot dip, then a two-snapshot one; the varied faces make them dropped modes
    two = episodes(cov(0.3, 0.6, 0.2, 0.6, 0.25, 0.1, 0.6))
    assert [(e.first, e.last, e.snapshots, e.worst, e.kind) for e in two] == \
        [(150, 150, 1, 150, "dropped modes"), (250, 300, 2, 300, "dropped modes")]
    # a streak at the end of the run
    [end] = episodes(cov(0.3, 0.6, 0.5, 0.2, 0.1))
    assert (end.first, end.last, end.text) == (200, 250, "dropped modes 200-250 (2 snapshots)")
    assert verdict(cov(0.3, 0.6, 0.5, 0.2, 0.1)).state == "suspect"
    # an untrained start (best coverage under 0.2) is no fall, and no episode
    assert episodes(cov(0.0, 0.1, 0.05, 0.15)) == []
    # one streak holding collapse and dropped modes is named for the collapse
    [mixed] = episodes(frame([0.0, 0.0, 0.03, 0.0], coverage=[0.3, 0.6, 0.6, 0.2]))
    assert (mixed.kind, mixed.first, mixed.last, mixed.worst) == ("collapse", 150, 200, 200)


def test_after_the_warmup_coverage_far_below_the_runs_best_is_dropped_modes_even_while_it_rises():
    its = [WARMUP - 100, WARMUP, WARMUP + 100, WARMUP + 200, WARMUP + 300, WARMUP + 400]
    df = frame([0.0] * 6, coverage=[0.2, 0.22, 0.24, 0.4, 0.55, 0.6]).assign(iteration=its)
    # 0.24 < half of 0.6 after the warm-up; 0.22 at WARMUP is still judged against the best so far (0.22)
    [e] = episodes(df)
    assert (e.first, e.last, e.kind, e.signs) == (WARMUP + 100, WARMUP + 100, "dropped modes",
                                                 "coverage 0.24 of the run's best 0.60")
    # the verdict at an iteration sees the run up to there: at WARMUP + 200 the best is 0.4, and 0.24 is above 0.2
    assert verdict(df, WARMUP + 200).text == f"healthy at {WARMUP + 200}"
    assert verdicts(df)["text"].iloc[3] == f"healthy at {WARMUP + 200}"
    assert verdicts(df)["text"].iloc[-1] == f"healthy at {WARMUP + 400}; dropped modes {WARMUP + 100} (1 snapshot)"


def test_memorisation_is_measured_against_the_real_faces_own_rate():
    df = frame([0.0] * 3, coverage=[0.5, 0.5, 0.5], memorised=[0.08, 0.15, 0.9])
    signs = collapse_signs(df, {"memorised_rate_real": 0.082})
    assert signs["kind"].tolist() == ["", "", "memorisation"]
    assert "90% of faces near-copies of training faces (real faces: 8%)" in signs["reason"].iloc[2]
    [e] = episodes(df, {"memorised_rate_real": 0.082})
    assert e.text == "memorised 150 (1 snapshot)"


def test_msssim_alone_is_collapse_once_the_run_has_started():
    ms = [0.1, 0.1, 0.35, 0.35, 0.35]
    v = verdict(frame([0.0] * 5, msssim=ms, coverage=[0.4, 0.6, 0.55, 0.5, 0.5]))
    assert v.text.startswith("collapsing from iteration 150") and "MS-SSIM 0.35 vs 0.10 real" in v.reason
    # A run that never got anywhere has not started: best coverage under 0.2.
    assert verdict(frame([0.0] * 5, msssim=ms, coverage=[0.1, 0.15, 0.05, 0.05, 0.05])).state == "healthy"


def test_without_the_classifier_msssim_alone_decides():
    assert verdict(frame([0.0] * 4, msssim=[0.1, 0.3, 0.3, 0.3])).state == "collapsing"


def test_no_metrics():
    assert verdict(pd.DataFrame({"iteration": []})).text == "no metrics yet"
    assert verdict(frame([0.0]), iteration=10).state == "unknown"
    assert verdicts(pd.DataFrame()).empty and episodes(None) == []


@pytest.mark.parametrize("name", ["M4-all-s0"])
def test_the_shipped_m4_collapse_at_3900_is_an_episode(name):
    from pathlib import Path

    from emogan.metrics.records import read_config, read_metrics
    run = Path(__file__).resolve().parents[1] / "checkpoints" / name
    if not (run / "metrics.jsonl").exists():
        pytest.skip("no shipped demo")
    eps = episodes(read_metrics(run), (read_config(run) or {}).get("baselines"))
    assert any(e.kind == "collapse" and e.first <= 3900 <= e.last and e.worst == 3900 for e in eps)
    healthy = run.parent / "M7-all-s0"        # the shipped M7 never loses coverage or variety after its start
    assert episodes(read_metrics(healthy), (read_config(healthy) or {}).get("baselines")) == []
    assert verdict(read_metrics(healthy)).text == "healthy at 5000"

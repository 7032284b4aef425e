"""emogan.metrics.evaluate: the same N latents at every snapshot, one line per snapshot, exact resume."""

import json
import shutil

import pytest
import torch
from tiny import FIXTURE, copy_thinned

from emogan.classifier import Classifier, ClassifierConfig, EmotionNet
from emogan.data import load_faces
from emogan.metrics import build_reference, evaluate_run, metric_latents, selected_iterations
from emogan.metrics.core import SAMPLE_SEED
from emogan.metrics.records import METRICS_FILE, read_metrics
from emogan.runs.store import Run
from emogan.sampling import random_latents


@pytest.fixture(scope="module")
def setup(explorer_runs, tmp_path_factory):
    root = tmp_path_factory.mktemp("runs")
    copy_thinned(explorer_runs, root / "tiny")
    cache = tmp_path_factory.mktemp("cache")
    torch.manual_seed(0)
    clf = Classifier(EmotionNet(ClassifierConfig(widths=(8, 16, 32, 64), depths=(1, 1, 1, 1))).eval())
    train, val = load_faces(FIXTURE, "train", cache_dir=cache), load_faces(FIXTURE, "validation", cache_dir=cache)
    return root, clf, build_reference(train, val, clf, n=40, emotion="all", cache_dir=cache)


def test_latents_are_the_fixed_ones_then_a_seeded_batch(setup):
    run = Run(setup[0] / "tiny")
    z = metric_latents(run, 40)
    fixed = run.fixed_latents()
    assert z.shape == (40, fixed.shape[1]) and torch.equal(z[:16], fixed)
    assert torch.equal(z[16:], random_latents(24, fixed.shape[1], SAMPLE_SEED))
    assert torch.equal(metric_latents(run, 10), fixed[:10]) and torch.equal(metric_latents(run, 40), z)


def test_selected_iterations_skip_snapshots_without_weights(setup):
    run = Run(setup[0] / "tiny")
    with_weights = run.weight_iterations()
    assert set(with_weights) < set(run.snapshot_iterations())        # weights_every thinned them
    assert with_weights == [20, 40]
    chosen, no_weights = selected_iterations(run, 10)
    assert chosen == with_weights and no_weights == 2
    assert selected_iterations(run, 1000) == ([with_weights[-1]], 0)  # the last one always counts


def test_one_line_per_snapshot_and_an_interrupted_run_resumes_to_the_same_lines(setup, tmp_path):
    root, clf, ref = setup
    a, b = tmp_path / "a", tmp_path / "b"
    shutil.copytree(root / "tiny", a)
    shutil.copytree(root / "tiny", b)
    seen = []
    full = evaluate_run(Run(a), ref, clf, n=40, every=10, progress_fn=seen.append)
    its = Run(a).weight_iterations()
    assert full.computed == len(its) and [s.iteration for s in seen] == its
    lines = [json.loads(x) for x in (a / METRICS_FILE).read_text().splitlines()]
    assert [x["iteration"] for x in lines] == its and all(x["n"] == 40 for x in lines)
    assert isinstance(lines[0]["fer_fid"], float) and isinstance(lines[0]["duplicate_rate"], float)

    calls = iter([False, True])                                      # stop after the first snapshot
    part = evaluate_run(Run(b), ref, clf, n=40, every=10, abort_fn=lambda: next(calls, True))
    assert part.computed == 1
    rest = evaluate_run(Run(b), ref, clf, n=40, every=10)
    assert (rest.computed, rest.present) == (len(its) - 1, 1)
    assert (b / METRICS_FILE).read_text() == (a / METRICS_FILE).read_text()   # deterministic, same order
    again = evaluate_run(Run(b), ref, clf, n=40, every=10)
    assert (again.computed, again.present) == (0, len(its))
    assert read_metrics(b)["iteration"].tolist() == its


def test_a_reference_for_another_n_is_refused(setup, tmp_path):
    root, clf, ref = setup
    with pytest.raises(ValueError, match="n=40"):
        evaluate_run(Run(root / "tiny"), ref, clf, n=41)


def test_a_run_being_measured_elsewhere_is_refused(setup, tmp_path):
    from emogan.errors import RunError
    from emogan.runs.lock import METRICS_LOCK, FolderLock

    root, clf, ref = setup
    shutil.copytree(root / "tiny", tmp_path / "tiny")
    with FolderLock(tmp_path / "tiny", METRICS_LOCK, "measured"):
        with pytest.raises(RunError, match="being measured by another process"):
            evaluate_run(Run(tmp_path / "tiny"), ref, clf, n=40, every=10_000)
    assert not (tmp_path / "tiny" / METRICS_FILE).exists()


def test_a_conditional_run_is_asked_for_emotions_as_its_data_shows_them_and_scored_on_them(setup, tmp_path):
    import numpy as np
    from tiny import tiny_run

    from emogan.emotions import train_prior
    from emogan.metrics import metric_labels
    from emogan.sampling import generate

    _, clf, ref = setup
    run = Run(tiny_run(tmp_path, "cond", model="M8", iters=20, snapshot_every=10))
    labels = metric_labels(run, 2000)
    assert np.array_equal(labels, metric_labels(run, 2000))                 # fixed: every snapshot alike
    shares = np.bincount(labels, minlength=7) / 2000
    assert np.abs(shares - np.asarray(train_prior())).max() < 0.03           # FER2013's training mix
    assert metric_labels(Run(setup[0] / "tiny"), 40) is None                  # unconditional
    evaluate_run(run, ref, clf, n=40, every=10)
    rows = read_metrics(run.path)
    assert len(rows) == 2 and rows["label_accuracy"].between(0, 1).all()
    # The measured faces are the conditional generator's for those emotions, not the cycling grid's.
    G = run.load_generator(20)
    z = metric_latents(run, 40)
    assert not np.array_equal(generate(G, z, labels=metric_labels(run, 40)), generate(G, z))
    shutil.copytree(setup[0] / "tiny", tmp_path / "u", ignore=shutil.ignore_patterns("metrics*", "*.lock"))
    evaluate_run(Run(tmp_path / "u"), ref, clf, n=40, every=20)
    assert read_metrics(tmp_path / "u")["label_accuracy"].isna().all()       # no figure for unconditional runs


def test_a_metric_registered_after_a_run_was_measured_is_filled_in_where_due_and_nothing_else_moves(setup, tmp_path):
    """Lines and a config written before the realism metric existed: the next pass adds its key at the snapshots
    it is due at (the last one here), keeps every other figure, and records its settings and floor."""
    from emogan.metrics.records import read_config, read_lines

    root, clf, ref = setup
    run_dir = tmp_path / "tiny"
    shutil.copytree(root / "tiny", run_dir, ignore=shutil.ignore_patterns("metrics*"))
    evaluate_run(Run(run_dir), ref, clf, n=40, every=10)
    before = read_lines(run_dir)
    assert [row["c2st"] is None for row in before] == [True, False] and 0.5 <= before[-1]["c2st"] <= 1
    old_lines = [{k: v for k, v in row.items() if k != "c2st"} for row in before]
    (run_dir / METRICS_FILE).write_text("".join(json.dumps(row) + "\n" for row in old_lines))
    config = read_config(run_dir)
    config["settings"].pop("c2st")
    config["baselines"].pop("c2st_real")
    (run_dir / "metrics_config.json").write_text(json.dumps(config))

    summary = evaluate_run(Run(run_dir), ref, clf, n=40, every=10)
    after = read_lines(run_dir)
    assert summary.computed == 1
    assert [{k: v for k, v in row.items() if k != "c2st"} for row in after] == old_lines
    assert "c2st" not in after[0] and after[1]["c2st"] == before[1]["c2st"]    # the same seeded detector
    assert read_config(run_dir)["settings"]["c2st"] and "c2st_real" in read_config(run_dir)["baselines"]
    assert evaluate_run(Run(run_dir), ref, clf, n=40, every=10).computed == 0

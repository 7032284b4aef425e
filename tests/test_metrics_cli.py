"""`python -m emogan metrics` (emogan/commands/metrics.py): writes, resumes, refuses to mix, one-line errors."""

import json

import pytest
import torch
from tiny import FIXTURE, copy_thinned

from emogan.classifier import ClassifierConfig, EmotionNet, save_classifier
from emogan.classifier import files as classifier_store
from emogan.cli import main
from emogan.metrics import classifier_keys
from emogan.metrics.records import CONFIG_FILE, METRICS_FILE
from emogan.runs.store import Run


@pytest.fixture(scope="module")
def root(explorer_runs, tmp_path_factory):
    root = tmp_path_factory.mktemp("cli-runs")
    copy_thinned(explorer_runs, root / "tiny")
    torch.manual_seed(0)
    # A random-init classifier: these tests are about the command's plumbing, not about the figures.
    save_classifier(root / "clf", EmotionNet(ClassifierConfig(widths=(8, 16, 32, 64), depths=(1, 1, 1, 1))).eval(), {})
    return root


def metrics(root, *args):
    return main(["metrics", "tiny", "--root", str(root), "--data", str(FIXTURE), "--n", "32", "--every", "10",
                 "--device", "cpu", *map(str, args)])


def one_line_error(capsys, rc, *needles):
    err = capsys.readouterr().err.strip().splitlines()
    assert rc == 2 and len(err) == 1 and err[0].startswith("error: "), err
    for n in needles:
        assert n in err[0], (n, err[0])


def test_measure_resume_and_refuse_to_mix(root, capsys):
    run = Run(root / "tiny")
    its = run.weight_iterations()
    assert metrics(root, "--classifier", root / "clf") == 0
    out = capsys.readouterr().out
    skipped = len(run.snapshot_iterations()) - len(its)
    assert (f"tiny: {len(its)} snapshots measured, 0 already there; "
            f"{skipped} snapshots skipped: no generator weights") in out
    assert "snapshots/s" in out
    lines = [json.loads(x) for x in (run.path / METRICS_FILE).read_text().splitlines()]
    assert [x["iteration"] for x in lines] == its and lines[0]["fer_fid"] is not None
    config = json.loads((run.path / CONFIG_FILE).read_text())
    assert config["classifier"]["source"].endswith("classifier.safetensors") and config["settings"]["n"] == 32

    assert metrics(root, "--classifier", root / "clf", "--quiet") == 0
    assert f"tiny: 0 snapshots measured, {len(its)} already there" in capsys.readouterr().out

    one_line_error(capsys, metrics(root, "--classifier", root / "clf", "--n", 33), "n 32 -> 33", "--restart")
    one_line_error(capsys, metrics(root, "--no-classifier"), "classifier", "--restart")
    assert metrics(root, "--no-classifier", "--restart", "--quiet") == 0
    lines = [json.loads(x) for x in (run.path / METRICS_FILE).read_text().splitlines()]
    assert len(lines) == len(its)
    assert all(lines[0][k] is None for k in classifier_keys()) and lines[0]["duplicate_rate"] is not None
    assert "without a classifier" in capsys.readouterr().out


def test_missing_classifier_weights_are_one_line_and_exit_2(root, tmp_path, monkeypatch, capsys):
    monkeypatch.setattr(classifier_store, "default_weights_dir", lambda: tmp_path / "no-weights")
    one_line_error(capsys, metrics(root), "classifier weights are missing", "--no-classifier")
    one_line_error(capsys, metrics(root, "--classifier", tmp_path), "no classifier weights in", "--no-classifier")


def test_a_run_outside_the_root_or_missing_is_refused(root, capsys):
    one_line_error(capsys, main(["metrics", "../x", "--root", str(root), "--no-classifier"]), "no such run folder")
    one_line_error(capsys, main(["metrics", "nope", "--root", str(root), "--no-classifier"]), "nope")


def test_other_commands_do_not_pay_for_the_metrics_libraries():
    import subprocess
    import sys

    from tiny import REPO
    code = ("import sys, emogan.cli; emogan.cli.build_parser(); "
            "print(sorted(m for m in ('sklearn', 'scipy', 'torchmetrics', 'prdc') if m in sys.modules))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=REPO, timeout=300)
    assert out.returncode == 0 and out.stdout.strip() == "[]", out.stderr

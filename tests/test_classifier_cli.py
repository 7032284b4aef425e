"""`python -m emogan classifier ...` as a user runs it: train -> eval, and one-line errors with exit status 2."""

import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from emogan.classifier import ClassifierConfig, EmotionNet, load_classifier, save_classifier
from emogan.data import load_faces

REPO = Path(__file__).resolve().parents[1]
FIXTURE = REPO / "tests" / "fixtures" / "fer2013"


def start(*args, env=None) -> subprocess.Popen:
    e = {k: v for k, v in os.environ.items() if k != "EMOGAN_DATA"}  # a user's default must not leak in
    e["OMP_NUM_THREADS"] = "1"  # several run at once on a small machine: one thread each avoids oversubscription
    e.update(env or {})
    e["PYTHONPATH"] = str(REPO) + os.pathsep + e.get("PYTHONPATH", "")
    return subprocess.Popen([sys.executable, "-m", "emogan", "classifier", *map(str, args)], cwd=REPO, env=e,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)


@pytest.fixture(scope="module")
def runs(tmp_path_factory):
    """Every command of this module, started together (each pays torch's import; the two cores share it)."""
    root = tmp_path_factory.mktemp("classifier-cli")
    weights = root / "weights"
    save_classifier(weights, EmotionNet(ClassifierConfig(widths=(8, 16, 16, 24), depths=(1, 1, 1, 1))).eval(), {})
    bad_tree = root / "bad"
    for name in ("happy", "joy"):
        (bad_tree / name).mkdir(parents=True)
        Image.fromarray(np.zeros((48, 48), np.uint8)).save(bad_tree / name / "a.png")
    np.save(root / "big.npy", np.zeros((3, 64, 64), np.uint8))
    np.save(root / "ok.npy", np.random.default_rng(0).integers(0, 256, (4, 48, 48), dtype=np.uint8))
    cache = {"EMOGAN_CACHE": str(root / "cache")}
    procs = {
        "train": start("train", "--data", FIXTURE, "--epochs", 2, "--batch", 42, "--device", "cpu",
                       "--config", '{"widths": [16, 32, 48, 64], "depths": [1, 1, 1, 1]}',
                       "--options", '{"erase": 0, "ema": 0.9}',
                       "--out", root / "trained", env=cache),
        "bad_config": start("train", "--data", FIXTURE, "--config", '{"width": 3}', "--out", root / "never",
                            env=cache),
        "bad_options": start("train", "--data", FIXTURE, "--options", '{"erase": 2}', "--out", root / "never",
                             env=cache),
        "eval": start("eval", "--data", FIXTURE, "--weights", weights, "--device", "cpu", env=cache),
        "predict": start("predict", root / "ok.npy", "--weights", weights, env=cache),
        "missing_folder": start("eval", "--data", root / "no-such-folder", "--weights", weights, env=cache),
        "unknown_emotion": start("eval", "--data", bad_tree, "--weights", weights, env=cache),
        "wrong_size_array": start("predict", root / "big.npy", "--weights", weights, env=cache),
        "missing_weights": start("eval", "--data", FIXTURE, "--weights", root / "no-weights", env=cache),
        "no_data": start("train", "--out", root / "never", env=cache),
    }
    results = {}
    for name, p in procs.items():
        out, err = p.communicate(timeout=300)
        results[name] = subprocess.CompletedProcess(p.args, p.returncode, out, err)
    results["root"] = root
    return results


def last_json(stdout: str) -> dict:
    return json.loads(stdout.strip().splitlines()[-1])


def test_eval_prints_a_table_and_ends_with_json(runs):
    res = runs["eval"]
    assert res.returncode == 0, res.stderr
    d = last_json(res.stdout)
    assert d["n"] == 210 and 0 <= d["accuracy"] <= 1
    assert set(d["per_class"]) == {"angry", "disgust", "fear", "happy", "sad", "surprise", "neutral"}
    assert "confusion (rows: true emotion" in res.stdout and "accuracy" in res.stdout


def test_train_writes_weights_and_a_record_that_eval_reads(runs):
    res = runs["train"]
    assert res.returncode == 0, res.stderr
    assert "epoch   2/2" in res.stderr
    out = runs["root"] / "trained"
    info = json.loads((out / "classifier.json").read_text())
    assert info["epochs"] == 2 and info["best_epoch"] in (1, 2) and info["validation"]["n"] == 210
    assert info["command"].startswith("python -m emogan classifier train --data")
    for key in ("device", "torch", "wall_seconds", "train_seconds", "git_commit", "config", "options"):
        assert key in info
    assert last_json(res.stdout)["accuracy"] == info["validation"]["accuracy"]
    assert info["config"]["widths"] == [16, 32, 48, 64] and info["config"]["depths"] == [1, 1, 1, 1]
    assert load_classifier(out).net.config.widths == (16, 32, 48, 64)    # the weights rebuild the chosen net
    assert info["options"]["erase"] == 0 and info["options"]["ema"] == 0.9 and info["options"]["epochs"] == 2
    # The written weights load and give about the accuracy that training reported (eval's own output is checked
    # above). Not exactly: after 4 steps the probabilities are near-uniform, and the fp16 file can flip near-ties;
    # exact round trips are tested in test_classifier_store.py.
    faces = load_faces(FIXTURE, split="validation")
    result = load_classifier(out).evaluate(faces.images, faces.labels, tta=True)
    assert result.n == 210 and abs(result.accuracy - info["validation"]["accuracy"]) <= 0.05


def test_predict_lists_each_face(runs):
    res = runs["predict"]
    assert res.returncode == 0, res.stderr
    lines = res.stdout.strip().splitlines()
    assert len(lines) == 1 + 4 + 1 and sum(last_json(res.stdout)["counts"].values()) == 4


@pytest.mark.parametrize("name, needles", [
    ("missing_folder", ["dataset not found", "no-such-folder"]),
    ("unknown_emotion", ["unknown emotion folder", "joy"]),
    ("wrong_size_array", ["big.npy", "(3, 64, 64)"]),
    ("missing_weights", ["no classifier weights in", "no-weights", "classifier train"]),
    ("no_data", ["--data", "EMOGAN_DATA"]),
])
def test_user_mistakes_are_one_line_and_exit_2(runs, name, needles):
    res = runs[name]
    assert res.returncode == 2, (res.returncode, res.stdout, res.stderr)
    lines = res.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: ") and "Traceback" not in res.stderr, res.stderr
    for needle in needles:
        assert needle in lines[0], (needle, lines[0])


@pytest.mark.parametrize("name, needles", [
    ("bad_config", ["error: argument --config", "unknown classifier config keys: width"]),
    ("bad_options", ["error: argument --options", "out of range: erase=2"]),
])
def test_a_bad_json_argument_stops_at_the_command_line(runs, name, needles):
    res = runs[name]
    lines = res.stderr.strip().splitlines()
    assert res.returncode == 2 and len(lines) == 1 and "Traceback" not in res.stderr, res.stderr
    for needle in needles:
        assert needle in lines[0], (needle, lines[0])
    assert not (runs["root"] / "never").exists()

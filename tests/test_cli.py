"""`python -m emogan`: the train -> runs -> sample flow, and one-line errors with exit status 2."""

import os
import subprocess
import sys

import pytest
from PIL import Image

from emogan.cli import main
from tiny import FIXTURE, REPO


def emogan(*args, env=None, cwd=None):
    e = dict(os.environ, **(env or {}))
    e["PYTHONPATH"] = str(REPO) + os.pathsep + e.get("PYTHONPATH", "")
    return subprocess.run([sys.executable, "-m", "emogan", *map(str, args)], capture_output=True, text=True,
                          env=e, cwd=cwd or REPO, timeout=300)


def one_line_error(res, *needles):
    assert res.returncode == 2, (res.returncode, res.stdout, res.stderr)
    lines = res.stderr.strip().splitlines()
    assert len(lines) == 1, res.stderr
    assert "Traceback" not in res.stderr
    for n in needles:
        assert n in lines[0], (n, lines[0])


@pytest.fixture(scope="module")
def trained(tmp_path_factory):
    root = tmp_path_factory.mktemp("cli")
    res = emogan("train", "--model", "M1", "--data", FIXTURE, "--iters", 6, "--batch", 4, "--snapshot-every", 3,
                 "--out", root, "--no-progress")
    assert res.returncode == 0, res.stderr
    return root


def test_train_runs_sample(trained, tmp_path):
    res = emogan("runs", "--root", trained)
    assert res.returncode == 0
    line = [ln for ln in res.stdout.splitlines() if ln.startswith("M1-all-s0")][0]
    assert "M1" in line and "6/6" in line and "done" in line
    out = tmp_path / "grid.png"
    res = emogan("sample", "M1-all-s0", "--root", trained, "--iteration", 6, "--n", 9, "--out", out)
    assert res.returncode == 0, res.stderr
    with Image.open(out) as im:
        assert im.size == (3 * 48 + 2 * 2, 3 * 48 + 2 * 2)
    res = emogan("sample", "M1-all-s0", "--root", trained, "--iteration", 6, "--n", 100, "--seed", 1,
                 "--out", tmp_path / "big.png")
    assert res.returncode == 0, res.stderr


def test_data_defaults_to_the_environment_variable(tmp_path):
    res = emogan("train", "--model", "M1", "--iters", 1, "--batch", 2, "--out", tmp_path, "--no-progress",
                 "--emotion", "happy", env={"EMOGAN_DATA": str(FIXTURE)})
    assert res.returncode == 0, res.stderr
    assert (tmp_path / "M1-all-s0").exists() is False and (tmp_path / "M1-happy-s0" / "config.json").exists()


@pytest.mark.parametrize("args,needles", [
    (["train", "--data", "/no/such/dir", "--iters", 1], ["/no/such/dir"]),
    (["train", "--iters", 1], ["--data"]),
    (["train", "--data", FIXTURE, "--model", "M9"], ["M9"]),
    (["train", "--data", FIXTURE, "--iters", "0"], ["--iters", "'0'"]),
    (["train", "--data", FIXTURE, "--iters", "ten"], ["'ten'"]),
    (["train", "--data", FIXTURE, "--name", "../escape", "--iters", 1], ["../escape"]),
    (["train", "--data", FIXTURE, "--emotion", "bored"], ["bored"]),
    (["train", "--data", FIXTURE, "--device", "tpu"], ["tpu"]),
    (["runs", "--root", "/no/such/root"], ["/no/such/root"]),
    (["sample", "../x", "--iteration", 1, "--out", "o.png"], ["../x", "outside"]),
    (["sample", "nope", "--root", FIXTURE, "--iteration", 1, "--out", "o.png"], ["nope"]),
    (["bogus"], ["bogus"]),
    ([], ["COMMAND"]),
])
def test_bad_input_is_one_line_and_status_2(args, needles, tmp_path, monkeypatch, capsys):
    # In-process (main() is what `python -m emogan` runs) to keep the suite fast; the subprocess path is tested below.
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("EMOGAN_DATA", raising=False)
    try:
        code = main([str(a) for a in args])
    except SystemExit as e:
        code = e.code
    err = capsys.readouterr().err
    one_line_error(subprocess.CompletedProcess(args, code, "", err), *needles)
    assert not list(tmp_path.iterdir())


def test_bad_input_through_the_real_entry_point(tmp_path):
    one_line_error(emogan("train", "--data", tmp_path / "missing", "--iters", 1, cwd=tmp_path), "missing")
    one_line_error(emogan("train", "--iters", "x", cwd=tmp_path), "'x'")


def test_sample_errors_name_the_problem(trained, tmp_path):
    one_line_error(emogan("sample", "M1-all-s0", "--root", trained, "--iteration", 5, "--out", tmp_path / "a.png"),
                   "no generator weights at iteration 5", "nearest is 6")
    one_line_error(emogan("sample", "M1-all-s0", "--root", trained, "--iteration", 6, "--out", tmp_path / "a.jpg"),
                   "a.jpg", ".png")
    one_line_error(emogan("sample", "M1-all-s0", "--root", trained, "--iteration", 6, "--n", 65,
                          "--out", tmp_path / "a.png"), "only 64 fixed latents")
    assert not list(tmp_path.iterdir())


def test_existing_run_is_not_overwritten(trained):
    before = (trained / "M1-all-s0" / "losses.csv").read_bytes()
    one_line_error(emogan("train", "--model", "M1", "--data", FIXTURE, "--iters", 2, "--out", trained,
                          "--no-progress"), "a run already exists here")
    assert (trained / "M1-all-s0" / "losses.csv").read_bytes() == before


def test_help_for_every_command():
    for cmd in ("train", "runs", "sample"):
        res = emogan(cmd, "--help")
        assert res.returncode == 0 and "usage:" in res.stdout


def test_a_reader_that_stops_early_is_not_an_error(trained):
    """`python -m emogan runs | head -1`: the closed pipe ends the command quietly, with a writer's 141."""
    proc = subprocess.Popen([sys.executable, "-m", "emogan", "runs", "--root", str(trained)], cwd=REPO,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    proc.stdout.close()                       # no reader left: the first write fails with EPIPE
    err = proc.stderr.read().decode()
    assert proc.wait(timeout=120) == 141 and err == "", err

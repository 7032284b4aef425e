"""`python -m emogan`: the train -> runs -> sample flow, and one-line errors with exit status 2."""

import json
import os
import subprocess
import sys

import pytest
from PIL import Image
from tiny import FIXTURE, REPO

from emogan.cli import main


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
    # The run records the command as a user re-types it, not this machine's path to emogan/__main__.py.
    command = json.loads((trained / "M1-all-s0" / "config.json").read_text())["command"]
    assert command[:6] == ["python", "-m", "emogan", "train", "--model", "M1"] and command[-1] == "--no-progress"
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
    (["train", "--data", FIXTURE, "--model", "M99"], ["M99"]),
    (["train", "--data", FIXTURE, "--iters", "0"], ["--iters", "'0'"]),
    (["train", "--data", FIXTURE, "--iters", "ten"], ["'ten'"]),
    (["train", "--data", FIXTURE, "--name", "../escape", "--iters", 1], ["../escape"]),
    (["train", "--data", FIXTURE, "--emotion", "bored"], ["bored"]),
    (["train", "--data", FIXTURE, "--device", "tpu"], ["tpu"]),
    (["runs", "--root", "/no/such/root"], ["/no/such/root"]),
    (["sample", "../x", "--iteration", 1, "--out", "o.png"], ["x: no such run folder"]),
    (["sample", "~", "--iteration", 1, "--out", "o.png"], ["invalid run name"]),
    (["timeline", "nope", "--out", "o.gif"], ["nope: no such run folder"]),
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


def test_runs_tells_what_the_loss_logs_say(runs, capsys):
    """A log with NaN/inf losses and one cut short of the last snapshot are flagged, though their status says done."""
    def rewrite(name, keep):
        path = runs / name / "losses.csv"
        lines = path.read_text().splitlines(keepends=True)
        path.write_text("".join(keep(lines)))

    rewrite("M1-all-s0", lambda lines: lines[:26] + ["26,nan,1.0,0.5,0.5,1.0\n"] + lines[27:])
    rewrite("M2-all-s0", lambda lines: lines[:31])                    # the header and iterations 1..30
    code = main(["runs", "--root", str(runs)])
    out = capsys.readouterr().out
    lines = {ln.split()[0]: ln for ln in out.splitlines()[1:]}
    assert code == 0
    assert " diverged " in lines["M1-all-s0"] and lines["M1-all-s0"].endswith("diverged at 26")
    assert " done " in lines["M2-all-s0"] and lines["M2-all-s0"].endswith("loss log ends at 30 of 40")
    assert lines["M3-all-s0"].split()[-1] == lines["M3-all-s0"].split()[6]         # no note: nothing to say


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
    for cmd in ("train", "runs", "sample", "timeline"):
        res = emogan(cmd, "--help")
        assert res.returncode == 0 and "usage:" in res.stdout


def test_a_reader_that_stops_early_is_not_an_error(trained):
    """`python -m emogan runs | head -1`: the closed pipe ends the command quietly, with a writer's 141."""
    proc = subprocess.Popen([sys.executable, "-m", "emogan", "runs", "--root", str(trained)], cwd=REPO,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    proc.stdout.close()                       # no reader left: the first write fails with EPIPE
    err = proc.stderr.read().decode()
    assert proc.wait(timeout=120) == 141 and err == "", err


def test_two_processes_share_a_runs_folder(tmp_path):
    """The several-GPUs recipe in the README, on the CPU: one process per group of models, one runs folder."""
    common = ["--data", str(FIXTURE), "--iters", "12", "--batch", "4", "--snapshot-every", "6", "--out",
              str(tmp_path), "--no-progress", "--device", "cpu"]
    env = dict(os.environ, PYTHONPATH=str(REPO), OMP_NUM_THREADS="1")
    procs = [subprocess.Popen([sys.executable, "-m", "emogan", "train", "--model", models, *common], cwd=REPO,
                              env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
             for models in ("M1,M2", "M7")]
    for p in procs:
        out, err = p.communicate(timeout=300)
        assert p.returncode == 0, err
    res = emogan("runs", "--root", tmp_path)
    assert res.returncode == 0
    done = [line.split()[0] for line in res.stdout.splitlines()[1:] if "12/12" in line and " done " in line]
    assert sorted(done) == ["M1-all-s0", "M2-all-s0", "M7-all-s0"], res.stdout


def test_the_same_run_twice_at_once_lets_one_through(tmp_path):
    """Two processes asked to train the same run: one trains it, the other stops at once with one line."""
    args = [sys.executable, "-m", "emogan", "train", "--model", "M1", "--data", str(FIXTURE), "--iters", "40",
            "--batch", "4", "--snapshot-every", "10", "--out", str(tmp_path), "--no-progress", "--device", "cpu"]
    env = dict(os.environ, PYTHONPATH=str(REPO), OMP_NUM_THREADS="1")
    procs = [subprocess.Popen(args, cwd=REPO, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
             for _ in range(2)]
    results = [(p.wait(timeout=300), p.stderr.read()) for p in procs]
    assert sorted(code for code, _ in results) == [0, 2], results
    err = next(e for code, e in results if code == 2)
    last = err.strip().splitlines()[-1]       # after the data line, when both got that far together
    assert "Traceback" not in err and last.startswith("error:"), err
    assert "being trained by another process" in last or "already exists" in last, err
    res = emogan("runs", "--root", tmp_path)
    assert "40/40" in res.stdout and " done " in res.stdout, res.stdout


def test_a_conditional_model_trains_and_draws_the_emotion_asked_for(trained, tmp_path):
    res = emogan("train", "--model", "M8", "--data", FIXTURE, "--iters", 4, "--batch", 4, "--snapshot-every", 2,
                 "--out", tmp_path, "--no-progress")
    assert res.returncode == 0, res.stderr
    grids = {}
    for emotion in ("happy", "fear"):
        out = tmp_path / f"{emotion}.png"
        res = emogan("sample", "M8-all-s0", "--root", tmp_path, "--iteration", 4, "--n", 4, "--emotion", emotion,
                     "--out", out)
        assert res.returncode == 0 and f"4 faces, {emotion} from M8-all-s0" in res.stdout, res.stderr
        grids[emotion] = out.read_bytes()
    assert grids["happy"] != grids["fear"]
    one_line_error(emogan("sample", "M1-all-s0", "--root", trained, "--iteration", 6, "--emotion", "happy",
                          "--out", tmp_path / "x.png"), "M1 is not conditional", "M1-all-s0")
    one_line_error(emogan("sample", "M8-all-s0", "--root", tmp_path, "--iteration", 4, "--emotion", "joy",
                          "--out", tmp_path / "y.png"), "joy")
    assert not (tmp_path / "x.png").exists() and not (tmp_path / "y.png").exists()


def test_a_conditional_model_on_one_emotion_is_refused_before_anything_is_written(tmp_path):
    one_line_error(emogan("train", "--model", "M1,M8", "--data", FIXTURE, "--emotion", "happy", "--iters", 2,
                          "--out", tmp_path, "--no-progress"), "M8 is conditional", "--emotion all", "happy")
    one_line_error(emogan("train", "--model", "M1,M8", "--data", FIXTURE, "--emotion", "happy", "--iters", 2,
                          "--out", tmp_path, "--no-progress", "--engine", "fast"), "M8 is conditional")
    assert not list(tmp_path.iterdir())

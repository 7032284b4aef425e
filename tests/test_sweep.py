"""`emogan sweep`: a real grid of tiny runs on the fixture faces, with the local executor and with submitit's local
executor (the code path it takes on SLURM); resumable after SIGKILL of the sweep and its jobs; the refusals."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from tiny import FIXTURE

from emogan.cli import main
from emogan.runs.lock import TRAIN_LOCK
from emogan.runs.store import Run

REPO = Path(__file__).resolve().parents[1]
GRID = ["--models", "M3,M7", "--seeds", "0,1", "--batch", "8", "--snapshot-every", "10", "--parallel", "2",
        "--data", str(FIXTURE), "--no-progress"]
NAMES = ["M3-all-s0", "M7-all-s0", "M3-all-s1", "M7-all-s1"]


def _iterations(run: Path) -> list[int]:
    return Run(run).losses()["iteration"].tolist()


def _check_whole(root: Path, iters: int) -> None:
    for name in NAMES:
        run = Run(root / name)
        assert run.status()["state"] == "done" and _iterations(root / name) == list(range(1, iters + 1)), name
        assert run.config["command"][:4] == ["python", "-m", "emogan", "train"], run.config["command"]
        assert run.config["seed"] == int(name[-1]) and run.config["iters"] == iters


@pytest.mark.parametrize("executor", ["local", "submitit"])
def test_a_2x2_sweep_trains_every_run_and_a_second_call_skips_them(tmp_path, capfd, executor):
    if executor == "submitit":
        pytest.importorskip("submitit")
    root = tmp_path / "runs"
    args = ["sweep", *GRID, "--iters", "20", "--root", str(root), "--executor", executor]
    assert main(args) == 0
    _check_whole(root, 20)
    err = capfd.readouterr().err
    assert "sweep: 4 jobs, 4 to run (0 to resume), 0 skipped" in err
    assert all(f"{n}: finished in" in err for n in NAMES)
    assert all(f"| {n} | finished |" in err for n in NAMES)
    assert main(args) == 0
    err = capfd.readouterr().err
    assert "sweep: 4 jobs, 0 to run (0 to resume), 4 skipped" in err
    assert all(f"| {n} | skipped (finished) |" in err for n in NAMES)


def test_a_sweep_killed_with_its_jobs_continues_where_it_stopped(tmp_path):
    """SIGKILL to the sweep and to every job it started (their pids are in the runs' locks), then the same command
    again: the killed runs are resumed, the finished ones skipped, and every loss log holds each iteration once."""
    root, iters = tmp_path / "runs", 60
    cmd = [sys.executable, "-m", "emogan", "sweep", *GRID, "--iters", str(iters), "--root", str(root)]
    log = open(tmp_path / "first.log", "w")
    sweep = subprocess.Popen(cmd, cwd=REPO, stdout=log, stderr=subprocess.STDOUT)
    first = root / NAMES[0] / "losses.csv"
    deadline = time.monotonic() + 300
    while not (first.exists() and first.read_text().count("\n") > 25):       # past the snapshot at 20
        assert sweep.poll() is None and time.monotonic() < deadline, (tmp_path / "first.log").read_text()
        time.sleep(0.05)
    sweep.kill()
    sweep.wait()
    for name in NAMES:                      # the jobs: each holds its run's lock, which names its pid
        lock = root / name / TRAIN_LOCK
        if lock.exists() and lock.read_text().strip().isdigit():
            try:
                os.kill(int(lock.read_text().strip()), signal.SIGKILL)
            except ProcessLookupError:
                pass
    time.sleep(0.5)
    again = subprocess.run(cmd, cwd=REPO, capture_output=True, text=True, timeout=600)
    assert again.returncode == 0, again.stderr[-3000:]
    line = next(x for x in again.stderr.splitlines() if x.startswith("sweep: 4 jobs"))
    to_run, resumed, skipped = _counts(line)
    assert resumed >= 1 and to_run + skipped == 4, line
    assert "resuming from iteration" in again.stderr
    _check_whole(root, iters)
    third = subprocess.run(cmd, cwd=REPO, capture_output=True, text=True, timeout=600)
    assert third.returncode == 0 and "0 to run (0 to resume), 4 skipped" in third.stderr, third.stderr[-2000:]


def _counts(line: str) -> tuple[int, int, int]:
    """'sweep: 4 jobs, 3 to run (2 to resume), 1 skipped; ...' -> (3, 2, 1)"""
    words = line.replace("(", " ").replace(",", " ").split()
    return int(words[words.index("to") - 1]), int(words[words.index("resume)") - 2]), \
        int(words[words.index("skipped;") - 1])


def test_a_run_held_by_another_process_is_skipped_with_its_holder(tmp_path, capfd):
    from emogan.runs.lock import FolderLock

    root = tmp_path / "runs"
    assert main(["sweep", *GRID, "--models", "M3", "--seeds", "0", "--iters", "10", "--root", str(root)]) == 0
    capfd.readouterr()
    with FolderLock(root / "M3-all-s0", TRAIN_LOCK, "trained"):
        assert main(["sweep", *GRID, "--models", "M3", "--seeds", "0", "--iters", "10", "--root", str(root)]) == 1
    err = capfd.readouterr().err
    assert "M3-all-s0: locked, skipped: " in err and f"pid {os.getpid()}" in err


@pytest.mark.parametrize("extra, message", [
    (["--models", "M9"], "unknown model 'M9'"),
    (["--models", "M8", "--emotions", "happy"], "M8 is conditional"),
    (["--emotions", "joy"], "unknown emotion 'joy'"),
])
def test_bad_grids_are_refused_before_any_folder_is_made(tmp_path, capfd, extra, message):
    root = tmp_path / "runs"
    assert main(["sweep", *GRID, "--iters", "10", "--root", str(root), *extra]) == 2
    err = capfd.readouterr().err
    assert err.startswith("error: ") and message in err and len(err.strip().splitlines()) == 1, err
    assert not root.exists()


def test_a_malformed_or_unknown_sweep_file_is_refused_naming_it(tmp_path, capfd):
    bad = tmp_path / "bad.toml"
    bad.write_text("models = [\"M1\"\nseeds = [0]\n")
    assert main(["sweep", str(bad), "--root", str(tmp_path / "runs")]) == 2
    err = capfd.readouterr().err
    assert f"{bad}: not valid TOML" in err and len(err.strip().splitlines()) == 1
    odd = tmp_path / "odd.toml"
    odd.write_text("modles = [\"M1\"]\n")
    assert main(["sweep", str(odd), "--root", str(tmp_path / "runs")]) == 2
    assert f"unknown sweep setting 'modles' in {odd}" in capfd.readouterr().err
    assert not (tmp_path / "runs").exists()


def test_a_sweep_file_gives_the_grid_and_flags_win(tmp_path):
    from emogan.sweeps.spec import jobs, load_spec

    f = tmp_path / "s.toml"
    f.write_text('models = ["M1", "M7"]\nseeds = [0, 1, 2]\nemotions = ["happy"]\niters = 300\ndata = "x"\n')
    spec = load_spec(f, iters=None, seeds=[5])
    assert spec.iters == 300 and spec.seeds == (5,)
    assert [j.name for j in jobs(spec)] == ["M1-happy-s5", "M7-happy-s5"]


def test_the_submitit_executor_names_its_package_when_missing(tmp_path, capfd, monkeypatch):
    monkeypatch.setitem(sys.modules, "submitit", None)         # as if not installed
    assert main(["sweep", *GRID, "--iters", "10", "--root", str(tmp_path / "runs"), "--executor", "submitit"]) == 2
    assert "pip install submitit" in capfd.readouterr().err
    assert not (tmp_path / "runs").exists()


def test_the_demo_campaign_files_name_every_shipped_run():
    """scripts/sweeps/ holds the campaign that made checkpoints/: each shipped run is a job of one of its files."""
    import json

    from emogan.sweeps.spec import jobs, load_spec

    names = {j.name for f in sorted((REPO / "scripts" / "sweeps").glob("*.toml"))
             for j in jobs(load_spec(f, data="x"))}
    manifest = REPO / "checkpoints" / "manifest.json"
    if not manifest.is_file():
        pytest.skip("no shipped demo")
    shipped = {e["name"] for e in json.loads(manifest.read_text())["runs"]}
    assert shipped <= names, sorted(shipped - names)

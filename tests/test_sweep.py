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
def test_a_2x2_sweep_trains_every_run_and_a_second_call_skips_them(tmp_path, executor):
    if executor == "submitit":
        pytest.importorskip("submitit")
    root = tmp_path / "runs"
    args = ["sweep", *GRID, "--iters", "20", "--root", str(root), "--executor", executor]
    status, err = _sweep(args)
    assert status == 0, err[-3000:]
    _check_whole(root, 20)
    assert "sweep: 4 jobs, 4 to run (0 to resume), 0 skipped" in err
    assert all(f"{n}: finished in" in err for n in NAMES)
    assert all(f"| {n} | finished |" in err for n in NAMES)
    status, err = _sweep(args)
    assert status == 0, err[-3000:]
    assert "sweep: 4 jobs, 0 to run (0 to resume), 4 skipped" in err
    assert all(f"| {n} | skipped (finished) |" in err for n in NAMES)


def _sweep(args: list[str]) -> tuple[int, str]:
    """The sweep as a user starts it, in a process of its own: the libraries other tests load into this one (a
    Lightning Trainer's logging among them) must not decide how submitit's local jobs run or report."""
    out = subprocess.run([sys.executable, "-m", "emogan", *args], cwd=REPO, capture_output=True, text=True,
                         timeout=600)
    return out.returncode, out.stderr


def _wait_for_rows(sweep: subprocess.Popen, losses: Path, rows: int, log: Path) -> None:
    deadline = time.monotonic() + 300
    while not (losses.exists() and losses.read_text().count("\n") > rows):
        assert sweep.poll() is None and time.monotonic() < deadline, log.read_text()[-2000:]
        time.sleep(0.05)


def test_a_sweep_stopped_with_ctrl_c_then_killed_with_its_jobs_ends_as_if_never_stopped(tmp_path):
    """Ctrl-C (SIGINT to the sweep): it stops its jobs cleanly and exits 130. SIGKILL to the sweep and to every job
    it started (its child processes), at a random point. After each, the same command continues:
    killed runs resumed, finished ones skipped; at the end every run equals, row for row and snapshot for snapshot,
    the same sweep run uninterrupted (with the kill harness's loss-log reader and weight comparison)."""
    import random

    iters = 40
    ref = tmp_path / "reference"
    assert main(["sweep", *GRID, "--iters", str(iters), "--root", str(ref)]) == 0
    root = tmp_path / "runs"
    cmd = [sys.executable, "-m", "emogan", "sweep", *GRID, "--iters", str(iters), "--root", str(root)]
    rng = random.Random(0)
    log = tmp_path / "sweep.log"

    sweep = subprocess.Popen(cmd, cwd=REPO, stdout=open(log, "w"), stderr=subprocess.STDOUT)
    _wait_for_rows(sweep, root / NAMES[0] / "losses.csv", rng.randint(5, 30), log)
    sweep.send_signal(signal.SIGINT)
    assert sweep.wait(timeout=120) == 130, log.read_text()[-2000:]
    text = log.read_text()
    assert "stopping 2 running jobs" in text and "| interrupted |" in text, text[-2000:]

    sweep = subprocess.Popen(cmd, cwd=REPO, stdout=open(log, "w"), stderr=subprocess.STDOUT)
    _wait_for_rows(sweep, root / NAMES[2] / "losses.csv", rng.randint(5, 30), log)
    _kill_with_its_jobs(sweep)
    assert "resuming from iteration" in log.read_text(), log.read_text()[-2000:]
    time.sleep(0.5)

    again = subprocess.run(cmd, cwd=REPO, capture_output=True, text=True, timeout=600)
    assert again.returncode == 0, again.stderr[-3000:]
    line = next(x for x in again.stderr.splitlines() if x.startswith("sweep: 4 jobs"))
    to_run, resumed, skipped = _counts(line)
    assert resumed >= 1 and skipped >= 2 and to_run + skipped == 4, line
    for name in NAMES:
        _same_as_reference(root / name, ref / name)
    third = subprocess.run(cmd, cwd=REPO, capture_output=True, text=True, timeout=600)
    assert third.returncode == 0 and "0 to run (0 to resume), 4 skipped" in third.stderr, third.stderr[-2000:]


def _kill_with_its_jobs(sweep: subprocess.Popen) -> None:
    """SIGKILL to the sweep and to every job it started. The sweep is frozen first so that it starts no job
    meanwhile, and its jobs are found as its child processes: a job still starting holds no lock yet."""
    sweep.send_signal(signal.SIGSTOP)
    jobs = [int(stat.parent.name) for stat in Path("/proc").glob("[0-9]*/stat")
            if _parent_pid(stat) == sweep.pid]
    sweep.kill()
    sweep.wait()
    for pid in jobs:
        try:
            os.kill(pid, signal.SIGKILL)
        except ProcessLookupError:
            pass


def _parent_pid(stat: Path) -> int | None:
    try:
        return int(stat.read_text().rsplit(")", 1)[1].split()[1])    # the field after the state
    except (OSError, IndexError, ValueError):
        return None


def _same_as_reference(run_dir: Path, ref: Path) -> None:
    """The loss log row for row, and every snapshot of the reference with the same faces and weights (Ctrl-C adds
    a snapshot where it stopped a run: that one the reference does not have)."""
    from killharness import loss_rows, same_weights, temp_files

    rows, torn = loss_rows(run_dir)
    assert not torn and [int(r[0]) for r in rows] == list(range(1, Run(ref).config["iters"] + 1)), run_dir.name
    assert rows == loss_rows(ref)[0], f"{run_dir.name}: the loss log differs from the uninterrupted run"
    mine = {s["iteration"]: s for s in Run(run_dir).snapshots()}
    for s in Run(ref).snapshots():
        assert s == mine.get(s["iteration"]), (run_dir.name, s)
        assert (run_dir / s["grid"]).read_bytes() == (ref / s["grid"]).read_bytes(), (run_dir.name, s)
        assert same_weights(run_dir / s["weights"], ref / s["weights"]), (run_dir.name, s)
    assert not temp_files(run_dir)


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
    (["--models", "M99"], "unknown model 'M99'"),
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


def test_the_dataset_comes_from_emogan_data_when_neither_flag_nor_file_gives_one(monkeypatch):
    from emogan.sweeps.spec import load_spec

    monkeypatch.setenv("EMOGAN_DATA", str(FIXTURE))
    assert load_spec(None).data == str(FIXTURE)
    assert load_spec(None, data="elsewhere").data == "elsewhere"
    monkeypatch.delenv("EMOGAN_DATA")
    with pytest.raises(Exception, match="no dataset given"):
        load_spec(None)


class _FinalizerCtrlC:
    """Sends the process a SIGINT from inside its finalizer, where Python runs signal handlers too: a
    KeyboardInterrupt raised there is printed as "Exception ignored" and lost."""

    def __del__(self) -> None:
        os.kill(os.getpid(), signal.SIGINT)
        deadline = time.monotonic() + 1
        while time.monotonic() < deadline:      # the handler runs at one of these bytecodes, still in __del__
            pass


class _Job:
    """A job that never ends by itself; the first poll of the sweep drops a finalizer that delivers Ctrl-C (the
    lost-signal window). Once: a second Ctrl-C would mean "stop at once"."""

    sent = False

    def __init__(self) -> None:
        self.interrupted = self.killed = False

    def poll(self) -> int | None:
        if not _Job.sent:
            _Job.sent = True
            _FinalizerCtrlC()
        return 130 if self.interrupted else None

    def interrupt(self) -> None:
        self.interrupted = True

    def kill(self) -> None:
        self.killed = True


def test_a_ctrl_c_that_lands_in_a_finalizer_still_stops_the_sweep(tmp_path, monkeypatch):
    import emogan.sweeps.runner as runner
    from emogan.sweeps.spec import SweepSpec

    monkeypatch.setattr(runner, "POLL_S", 0.01)
    monkeypatch.setattr(_Job, "sent", False)
    handles: list[_Job] = []

    class Executor:
        name = "test"

        def submit(self, argvs, log):
            handles.append(_Job())
            return handles[-1]

    spec = SweepSpec(models=("M3",), seeds=(0, 1), root=str(tmp_path), data=str(FIXTURE), iters=10, parallel=2)
    lines: list[str] = []
    with pytest.raises(KeyboardInterrupt):
        runner.run_sweep(spec, Executor(), out=lines.append, progress=False)
    assert len(handles) == 2 and all(h.interrupted and not h.killed for h in handles), lines
    assert any(line.startswith("stopping 2 running jobs") for line in lines), lines


def test_stop_flags_nest_and_keep_a_stop_that_came_before_the_inner_one():
    from emogan.training.stopping import StopFlag

    before = signal.getsignal(signal.SIGINT)
    with StopFlag() as outer:
        os.kill(os.getpid(), signal.SIGINT)     # the first Ctrl-C never raises
        time.sleep(0.01)
        with StopFlag() as inner:
            assert inner.set and outer.set
    assert signal.getsignal(signal.SIGINT) is before
    with StopFlag() as fresh:
        assert not fresh.set

"""The kill harness: SIGKILL a training process again and again, resume it each time, and check the run in between.

Used by tests/test_reliability_kill.py (a few kills, in CI) and benchmarks/kill_trials.py (50 and more).
Each kill is either timed (a random delay after the child reports "ready") or placed (the child SIGKILLs itself
at a random fsync/rename, i.e. inside a snapshot, index, state or loss-log write; see killable_train.py).
After every kill the folder must read as a run whose every listed snapshot is complete and equal to the same
snapshot of an uninterrupted reference run; at the end the loss log must equal the reference's row for row.
"""

from __future__ import annotations

import multiprocessing
import multiprocessing.forkserver
import os
import random
import signal
import subprocess
import sys
import time
import types
from collections.abc import Callable
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch

from emogan.runs import checkpoint
from emogan.runs.store import INDEX, LOSSES, STATE, Run, scan_runs

REPO = Path(__file__).resolve().parents[1]
TESTS = Path(__file__).resolve().parent
CHILD = TESTS / "killable_train.py"
TRACKED_CHILD = TESTS / "killable_track.py"     # a loop of one's own, logging through emogan.track
FIXTURE = TESTS / "fixtures" / "fer2013"
LOSS_FIELDS = 5          # iteration, loss_D, loss_G, D_x, D_G_z; "seconds" is wall time and differs between runs


@dataclass(frozen=True)
class Setup:
    """What the child trains; the reference run and the killed run use the same."""
    iters: int = 60
    snapshot_every: int = 2
    model: str = "M7"        # EMA + DiffAugment + spectral norm: the most state to restore
    seed: int = 0
    cli: bool = False        # `python -m emogan train` with the full-size registered model, in fresh interpreters
    engine: str = "plain"    # with cli: the CLI's --engine
    tracked: bool = False    # a plain PyTorch loop logging through emogan.track (killable_track.py) instead

    @property
    def module(self) -> str:
        return "killable_track" if self.tracked else "killable_train"

    def options(self) -> dict:
        return {"iters": self.iters, "snapshot_every": self.snapshot_every, "model": self.model, "seed": self.seed}

    def command(self, run_dir: Path, die_at: int | None) -> list[str]:
        kill = ["--die-at-write", str(die_at)] if die_at is not None else []
        if not self.cli:
            return [str(run_dir), "--iters", str(self.iters), "--snapshot-every", str(self.snapshot_every),
                    "--model", self.model, "--seed", str(self.seed), *kill]
        return ["--cli", *kill, "--", "train", "--model", self.model, "--data", str(FIXTURE), "--batch", "4",
                "--iters", str(self.iters), "--snapshot-every", str(self.snapshot_every), "--seed", str(self.seed),
                "--out", str(run_dir.parent), "--name", run_dir.name, "--resume", "--no-progress",
                "--engine", self.engine, "--device", "cpu"]


@dataclass
class Report:
    kills: int = 0
    timed: int = 0
    placed: int = 0
    finished_before_kill: int = 0      # the child completed before its kill came
    before_run_existed: int = 0        # killed before config.json was written: no run yet, which is fine
    left_temp_file: int = 0            # killed inside an atomic write (a .tmp was left)
    index_ahead_of_state: int = 0      # killed between index.json and state.safetensors
    torn_loss_line: int = 0            # killed inside a loss-log append
    losses_ahead_of_state: int = 0     # loss rows past the resume point, dropped and recomputed on resume
    max_temp_files: int = 0            # most .tmp files on disk at once (they must not pile up)
    snapshots_checked: int = 0
    seconds: float = 0.0
    final_iteration: int = 0

    def summary(self) -> str:
        return (f"{self.kills} kills ({self.timed} timed, {self.placed} inside writes) survived in "
                f"{self.seconds:.0f}s; final iteration {self.final_iteration}; evidence: "
                f"{self.left_temp_file} left a temp file, {self.index_ahead_of_state} index ahead of state, "
                f"{self.torn_loss_line} torn loss line, {self.losses_ahead_of_state} loss rows ahead of state, "
                f"{self.before_run_existed} before the run existed; at most {self.max_temp_files} temp files on "
                f"disk; {self.snapshots_checked} snapshot checks; {self.finished_before_kill} finished before "
                f"their kill")


# ---------------------------------------------------------------------------------------------- child processes

class _Subprocess:
    """A fresh interpreter running tests/killable_train.py; "ready" arrives on its stdout."""

    def __init__(self, setup: Setup, run_dir: Path, die_at: int | None, log: Path):
        env = dict(os.environ)
        env["PYTHONPATH"] = str(REPO) + os.pathsep + env.get("PYTHONPATH", "")
        child = TRACKED_CHILD if setup.tracked else CHILD
        self.proc = subprocess.Popen([sys.executable, str(child), *setup.command(run_dir, die_at)], cwd=REPO,
                                     env=env, stdout=subprocess.PIPE, stderr=open(log, "ab"), text=True)

    def wait_ready(self) -> bool:
        return self.proc.stdout.readline().strip() == "ready"

    def kill(self) -> None:
        self.proc.kill()

    def wait(self) -> int:
        self.proc.wait(timeout=900)
        self.proc.stdout.close()
        return self.proc.returncode


_CONTEXT: list = []


@contextmanager
def _plain_main():
    """Multiprocessing makes the server and each child re-run the parent's __main__ file; inside pytest that may be
    a temp script an earlier test left there (Streamlit's AppTest writes one), which fails there. Hide it."""
    main = sys.modules["__main__"]
    sys.modules["__main__"] = types.ModuleType("__main__")
    try:
        yield
    finally:
        sys.modules["__main__"] = main


def _forkserver():
    """A fork server that has imported torch and emogan once, so each child starts in milliseconds."""
    if not _CONTEXT:
        ctx = multiprocessing.get_context("forkserver")
        ctx.set_forkserver_preload(["killable_train", "killable_track"])
        # Python 3.11's fork server ignores the parent's sys.path: it finds the module through PYTHONPATH.
        old = os.environ.get("PYTHONPATH")
        os.environ["PYTHONPATH"] = os.pathsep.join([str(REPO), str(TESTS)] + ([old] if old else []))
        try:
            with _plain_main():
                multiprocessing.forkserver.ensure_running()
        finally:
            if old is None:
                del os.environ["PYTHONPATH"]
            else:
                os.environ["PYTHONPATH"] = old
        _CONTEXT.append(ctx)
    return _CONTEXT[0]


class _Forked:
    """A process forked from the fork server running killable_train.child."""

    def __init__(self, setup: Setup, run_dir: Path, die_at: int | None, log: Path):
        import importlib

        ctx = _forkserver()
        self.ready = ctx.Event()
        env = {k: v for k, v in os.environ.items() if k.startswith("EMOGAN")}
        self.proc = ctx.Process(target=importlib.import_module(setup.module).child,
                                args=(str(run_dir), setup.options(), die_at, self.ready, env, str(log)))
        with _plain_main():
            self.proc.start()

    def wait_ready(self) -> bool:
        while not self.ready.wait(0.005):
            if not self.proc.is_alive():
                return self.ready.is_set()
        return True

    def kill(self) -> None:
        self.proc.kill()

    def wait(self) -> int:
        self.proc.join(timeout=900)
        return self.proc.exitcode


def _start(setup: Setup, run_dir: Path, die_at: int | None, log: Path):
    return (_Subprocess if setup.cli else _Forked)(setup, run_dir, die_at, log)


def _stderr_tail(log: Path) -> str:
    return "\n".join(log.read_text(errors="replace").splitlines()[-15:]) if log.exists() else ""


def reference_run(run_dir: Path, setup: Setup) -> float:
    """The uninterrupted run every killed one is compared with; returns its seconds of training (from "ready")."""
    log = run_dir.with_name(run_dir.name + ".stderr")
    child = _start(setup, run_dir, None, log)
    child.wait_ready()
    t0 = time.perf_counter()
    code = child.wait()
    if code != 0:
        raise AssertionError(f"reference run failed ({code}):\n{_stderr_tail(log)}")
    return time.perf_counter() - t0


def kill_trials(work: Path, kills: int, setup: Setup = Setup(), *, rng_seed: int = 0, iters_per_kill: float = 8,
                max_write: int = 40, log: Callable[[str], None] = lambda s: None) -> Report:
    """Kill a run `kills` times (or until it finishes), resuming each time; then let it finish and compare.

    A timed kill comes a uniform random delay after the first iteration starts, of up to the time the reference
    run took for `iters_per_kill` iterations; a placed kill at a uniform random write step of 1..max_write
    (a snapshot is about 9 steps), so that each start makes a little progress and the run outlasts the kills.
    """
    rng = random.Random(rng_seed)
    ref = work / "reference"
    max_delay = reference_run(ref, setup) * iters_per_kill / setup.iters
    run_dir = work / "runs" / "killed"
    run_dir.parent.mkdir(parents=True, exist_ok=True)
    stderr = work / "killed.stderr"
    report = Report()
    t0 = time.perf_counter()
    done = False
    while report.kills < kills:
        placed = rng.random() < 0.5
        child = _start(setup, run_dir, rng.randint(1, max_write) if placed else None, stderr)
        ready = child.wait_ready()
        if not placed:
            if ready:
                time.sleep(rng.uniform(0.0, max_delay))
            child.kill()                                   # SIGKILL; a no-op if it already exited
        code = child.wait()
        if code == 0:
            report.finished_before_kill += 1
            done = True
            break
        if code != -signal.SIGKILL:
            raise AssertionError(f"training failed with status {code} after {report.kills} kills:\n"
                                 f"{_stderr_tail(stderr)}")
        report.kills += 1
        report.placed += placed
        report.timed += not placed
        evidence = check_after_kill(run_dir, ref, report)
        log(f"kill {report.kills:3d} ({'placed' if placed else 'timed '}): {evidence}")
    if not done:                                           # the last start runs to the end
        code = _start(setup, run_dir, None, stderr).wait()
        if code != 0:
            raise AssertionError(f"final resume failed ({code}):\n{_stderr_tail(stderr)}")
    check_final(run_dir, ref)
    report.final_iteration = Run(run_dir).status().get("iteration", 0)
    report.seconds = time.perf_counter() - t0
    return report


# ---------------------------------------------------------------------------------------------- checks

def loss_rows(path: Path) -> tuple[list[list[str]], bool]:
    """The loss log's complete rows without the seconds column, and whether its last line is torn."""
    text = (path / LOSSES).read_text()
    lines = text.split("\n")
    torn = lines[-1] != ""
    return [ln.split(",")[:LOSS_FIELDS] for ln in lines[1:-1]], torn


def same_weights(a: Path, b: Path) -> bool:
    """Equal tensors and metadata (the bytes may differ: safetensors writes its metadata map in any order)."""
    (ta, ma), (tb, mb) = checkpoint.read_tensors(a), checkpoint.read_tensors(b)
    return ma == mb and ta.keys() == tb.keys() and all(torch.equal(ta[k], tb[k]) for k in ta)


def temp_files(path: Path) -> list[Path]:
    return sorted(path.rglob("*.tmp"))


def _state_iteration(path: Path) -> int | None:
    if not (path / STATE).exists():
        return None
    _, meta = checkpoint.read_tensors(path / STATE)
    return int(meta["iteration"])


def check_after_kill(run_dir: Path, ref: Path, report: Report) -> str:
    """Assert the folder is a consistent run (or not a run yet); returns what the kill left behind."""
    temps = temp_files(run_dir)
    report.max_temp_files = max(report.max_temp_files, len(temps))
    if temps:
        report.left_temp_file += 1
    if not (run_dir / "config.json").exists():
        report.before_run_existed += 1
        assert not any(e.name == run_dir.name for e in scan_runs(run_dir.parent)), "half-created run listed"
        return f"no run yet, {len(temps)} temp files"
    entries = {e.name: e for e in scan_runs(run_dir.parent)}
    assert entries[run_dir.name].error is None, entries[run_dir.name].error
    run, reference = Run(run_dir), Run(ref)
    assert run.status()["state"] == "running", run.status()
    assert np.array_equal(run.fixed_latents().numpy(), reference.fixed_latents().numpy())

    snaps = run.snapshots()
    ref_snaps = {s["iteration"]: s for s in reference.snapshots()}
    for s in snaps:
        it = s["iteration"]
        for key in ("grid", "weights"):
            rel = s[key]
            assert rel is not None and not rel.endswith(".tmp") and "/." not in rel, (it, rel)
            assert rel == ref_snaps[it][key], (it, rel, ref_snaps[it][key])
        assert np.array_equal(run.grid(it), reference.grid(it)), f"grid {it} differs from the reference"
        assert same_weights(run_dir / s["weights"], ref / s["weights"]), f"weights {it} differ from the reference"
        run.load_generator(it)
        if s.get("faces") or ref_snaps[it].get("faces"):     # the metric faces a loop of one's own stores
            assert np.array_equal(run.stored_faces(it), reference.stored_faces(it)), f"faces {it} differ"
        report.snapshots_checked += 1
    its = [s["iteration"] for s in snaps]
    assert its == sorted(set(its)), its

    rows, torn = loss_rows(run_dir)
    ref_rows, _ = loss_rows(ref)
    assert [int(r[0]) for r in rows] == list(range(1, len(rows) + 1)), "loss log skips or repeats an iteration"
    assert rows == ref_rows[:len(rows)], "loss log differs from the reference run"
    assert len(run.losses()) == len(rows)

    state_it = _state_iteration(run_dir) or 0
    ahead = bool(its) and its[-1] > state_it
    report.index_ahead_of_state += ahead
    report.torn_loss_line += torn
    report.losses_ahead_of_state += bool(rows) and len(rows) > state_it
    return (f"state at {state_it}, {len(its)} snapshots (last {its[-1] if its else '-'}), {len(rows)} loss rows"
            f"{', torn loss line' if torn else ''}{', index ahead of state' if ahead else ''}, "
            f"{len(temps)} temp files")


def check_final(run_dir: Path, ref: Path) -> None:
    """After the last resume: the same log, snapshots and weights as the run that was never killed."""
    run, reference = Run(run_dir), Run(ref)
    assert run.status()["state"] == "done", run.status()
    rows, torn = loss_rows(run_dir)
    ref_rows, _ = loss_rows(ref)
    assert not torn
    its = [int(r[0]) for r in rows]
    assert its == list(range(1, reference.config["iters"] + 1)), "an iteration is missing or logged twice"
    assert rows == ref_rows, "the final loss log differs from the uninterrupted run"
    assert run.snapshots() == reference.snapshots()
    for s in run.snapshots():
        assert (run_dir / s["grid"]).read_bytes() == (ref / s["grid"]).read_bytes(), s["iteration"]
        if s.get("faces"):
            assert (run_dir / s["faces"]).read_bytes() == (ref / s["faces"]).read_bytes(), s["iteration"]
        if s["weights"]:
            assert same_weights(run_dir / s["weights"], ref / s["weights"]), s["iteration"]
    assert not temp_files(run_dir), f"temp files left after the final resume: {temp_files(run_dir)}"
    assert (run_dir / INDEX).exists()

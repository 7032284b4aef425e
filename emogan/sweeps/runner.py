"""Run a sweep: find where each job's run folder stands, start what is left on an executor, report every change of
state, an overall progress line with an ETA from the measured iteration rates, and a final table.

Resumable by construction: a finished run is skipped, an interrupted (or killed) one is resumed from its last
snapshot, a run another process holds is skipped with one line naming the holder. So the same command, started
again after Ctrl-C or a crash, continues the sweep.
"""

from __future__ import annotations

import sys
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from emogan.errors import EmoganError, first_line
from emogan.runs.launch import duration
from emogan.runs.lock import TRAIN_LOCK, FolderLock
from emogan.runs.store import LOSSES, Run
from emogan.sweeps.executors import Handle
from emogan.sweeps.spec import SweepJob, SweepSpec, jobs
from emogan.training.stopping import StopFlag

POLL_S = 1.0
REPORT_S = 30.0         # the progress line's period when stderr is not a terminal


@dataclass
class JobState:
    job: SweepJob
    plan: str                   # new | resume | measure | done | locked | failed
    detail: str = ""
    start_iteration: int = 0
    handle: Handle | None = None
    started: float | None = None
    seconds: float = 0.0
    result: str = ""            # the final state: finished | skipped | locked | failed (exit N) | interrupted


def plan(spec: SweepSpec) -> list[JobState]:
    """Where every job's run folder stands, and so what the sweep will do with it."""
    return [_plan_one(spec, job) for job in jobs(spec)]


def _plan_one(spec: SweepSpec, job: SweepJob) -> JobState:
    path = Path(spec.root) / job.name
    if not (path / "config.json").exists():
        return JobState(job, "new")
    if (path / TRAIN_LOCK).exists():
        try:
            FolderLock(path, TRAIN_LOCK, "trained").acquire().release()
        except EmoganError as e:
            return JobState(job, "locked", first_line(e))
    try:
        run = Run(path)
        status, iters = run.status(), run.config.get("iters")
    except EmoganError as e:
        return JobState(job, "failed", first_line(e))
    done_at = int(status.get("iteration") or 0)
    if iters != spec.iters:
        return JobState(job, "failed", f"{path}: trained for {iters} iterations, the sweep asks {spec.iters}")
    if status.get("state") == "diverged":
        return JobState(job, "failed", f"{path}: diverged at iteration {done_at}")
    if status.get("state") == "done" and done_at == iters:
        if spec.measure and not _measured(path, iters):
            return JobState(job, "measure", start_iteration=iters)
        return JobState(job, "done", start_iteration=iters)
    return JobState(job, "resume", start_iteration=_losses_done(path))


def _measured(path: Path, iters: int) -> bool:
    from emogan.metrics.records import read_lines
    try:
        return any(int(row.get("iteration", -1)) == iters for row in read_lines(path))
    except EmoganError:
        return False


def _losses_done(path: Path) -> int:
    """Iterations in the loss log (rows past the last snapshot are dropped on resume: an estimate is enough)."""
    try:
        with open(path / LOSSES, "rb") as f:
            return max(0, f.read().count(b"\n") - 1)
    except OSError:
        return 0


def run_sweep(spec: SweepSpec, executor, *, out: Callable[[str], None] = print, progress: bool | None = None,
              logs: Path | None = None) -> list[JobState]:
    """Run every job not finished yet on `executor`, at most spec.parallel at once; return the final states."""
    states = plan(spec)
    logs = logs or Path(spec.root) / ".sweep-logs"
    logs.mkdir(parents=True, exist_ok=True)
    for s in states:
        if s.plan == "done":
            s.result = "skipped (finished)"
        elif s.plan in ("locked", "failed"):
            s.result = s.plan
            out(f"{s.job.name}: {s.plan}, skipped: {s.detail}")
    todo = [s for s in states if s.plan in ("new", "resume", "measure")]
    skipped = len(states) - len(todo)
    out(f"sweep: {len(states)} jobs, {len(todo)} to run ({sum(s.plan == 'resume' for s in todo)} to resume), "
        f"{skipped} skipped; {executor.name} executor, {spec.parallel} at once")
    total = sum(spec.iters - s.start_iteration for s in todo if s.plan != "measure")
    bar = _Progress(total, out, progress)
    waiting, running = list(todo), []
    # Ctrl-C only sets the flag (see StopFlag: a raised KeyboardInterrupt can be swallowed by a finalizer); the loop
    # checks it after every wait, so a stop is seen within POLL_S whatever the sweep was doing when it came.
    # A second Ctrl-C raises at once: the jobs are killed, their runs resumable from their last snapshot.
    try:
        with StopFlag() as stop:
            while (waiting or running) and not stop.set:
                while waiting and len(running) < (spec.parallel or 1) and not stop.set:
                    s = waiting.pop(0)
                    argvs = [] if s.plan == "measure" else [s.job.train_argv(spec, resume=s.plan == "resume")]
                    argvs += [s.job.metrics_argv(spec)] if spec.measure else []
                    s.handle, s.started = executor.submit(argvs, logs / f"{s.job.name}.log"), time.monotonic()
                    verb = {"new": "training", "resume": f"resuming from iteration {s.start_iteration}",
                            "measure": "measuring"}[s.plan]
                    out(f"{s.job.name}: {verb}")
                    running.append(s)
                time.sleep(POLL_S)
                for s in list(running):
                    rc = s.handle.poll()
                    if rc is None:
                        continue
                    running.remove(s)
                    s.seconds = time.monotonic() - s.started
                    s.result = "finished" if rc == 0 else "interrupted" if rc == 130 else f"failed (exit {rc})"
                    tail = "" if rc == 0 else f"; see {logs / (s.job.name + '.log')}"
                    out(f"{s.job.name}: {s.result} in {duration(s.seconds)}{tail}")
                bar.update(sum(_done(spec, s) for s in todo if s.plan != "measure"))
            if stop.set:
                _stop_jobs(running, waiting, out)
                bar.close()
                _table(spec, states, out)
                raise KeyboardInterrupt
    except KeyboardInterrupt:
        for s in running:
            s.handle.kill()
            s.result = "interrupted"
        raise
    bar.close()
    _table(spec, states, out)
    return states


def _stop_jobs(running: list[JobState], waiting: list[JobState], out: Callable[[str], None]) -> None:
    """Pass the stop on to the running jobs (each writes its snapshot) and wait for them, killing any still there
    after two minutes; the jobs not started yet stay new, so the same command continues the sweep."""
    out(f"stopping {len(running)} running jobs: each writes its snapshot; the same command continues the sweep")
    for s in running:
        s.handle.interrupt()
    deadline = time.monotonic() + 120
    while running and time.monotonic() < deadline:
        for s in list(running):
            if s.handle.poll() is not None:
                running.remove(s)
                s.seconds, s.result = time.monotonic() - s.started, "interrupted"
        time.sleep(0.2)
    for s in running:
        s.handle.kill()
        s.result = "interrupted"
    for s in waiting:
        s.result = "not started"


def _done(spec: SweepSpec, s: JobState) -> int:
    """Iterations this sweep has trained of the job so far."""
    if s.handle is None:
        return 0
    if s.result == "finished":
        return spec.iters - s.start_iteration
    return max(0, _losses_done(Path(spec.root) / s.job.name) - s.start_iteration)


class _Progress:
    """One overall bar (tqdm, on a terminal) or a line every REPORT_S: iterations, rate and ETA."""

    def __init__(self, total: int, out: Callable[[str], None], progress: bool | None) -> None:
        self.total, self.out, self.t0, self.last = total, out, time.monotonic(), 0.0
        tty = sys.stderr.isatty() if progress is None else progress
        self.bar = None
        if tty and total:
            from tqdm import tqdm
            self.bar = tqdm(total=total, unit="it", desc="sweep", dynamic_ncols=True)

    def update(self, done: int) -> None:
        if self.bar is not None:
            self.bar.update(done - self.bar.n)
            return
        now = time.monotonic()
        if self.total and now - self.last >= REPORT_S:
            self.last = now
            rate = done / max(now - self.t0, 1e-9)
            eta = (self.total - done) / rate if rate > 0 else None
            self.out(f"progress: {done}/{self.total} iterations, {rate:.1f} it/s"
                     + (f", ETA {duration(eta)}" if eta is not None else ""))

    def close(self) -> None:
        if self.bar is not None:
            self.bar.close()



def _table(spec: SweepSpec, states: list[JobState], out: Callable[[str], None]) -> None:
    out("| job | state | time | run folder |")
    out("|---|---|---|---|")
    for s in states:
        out(f"| {s.job.name} | {s.result or s.plan} | {duration(s.seconds) if s.seconds else ''} | "
            f"{Path(spec.root) / s.job.name} |")

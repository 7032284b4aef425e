"""Start `python -m emogan ...` commands as processes of their own, and find and stop the process training a run.

A started command runs in a session of its own: it keeps going when the process that started it (the explorer, a
sweep) exits, and Ctrl-C in that process's terminal does not reach it. The process training a run holds the run's
train lock, which names its pid: that is how a later explorer finds it, and where Stop sends its SIGINT (what Ctrl-C
sends: `train` writes its snapshot and stops, resumable)."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

from emogan.runs.lock import METRICS_LOCK, TRAIN_LOCK
from emogan.runs.lock import holder as lock_holder


def launch(argv: list[str], log: Path, threads: int | None = None) -> subprocess.Popen:
    """`python -m emogan *argv` (an argument list, never a shell string), its output appended to `log`."""
    env = dict(os.environ)
    if threads is not None:
        env.update(OMP_NUM_THREADS=str(threads), MKL_NUM_THREADS=str(threads))
    log.parent.mkdir(parents=True, exist_ok=True)
    with open(log, "a") as out:
        return subprocess.Popen([sys.executable, "-m", "emogan", *argv], stdout=out, stderr=subprocess.STDOUT,
                                stdin=subprocess.DEVNULL, env=env, start_new_session=True)


def holder(run_dir: Path, lock: str = TRAIN_LOCK) -> int | None:
    """The pid of the process holding the run's lock (training it, or measuring it), None if nobody holds it.
    The explorer asks every few seconds: a probe that writes nothing and never makes a starting trainer fail."""
    path = Path(run_dir) / lock
    if not path.exists() or not os.access(path, os.W_OK):     # a read-only copy of a run is trained by nobody
        return None
    return lock_holder(Path(run_dir), lock)


def measuring(run_dir: Path) -> int | None:
    return holder(run_dir, METRICS_LOCK)


def stop(run_dir: Path) -> bool:
    """Ask the process training the run to stop as Ctrl-C does; False if none is."""
    pid = holder(run_dir)
    if pid is None or pid <= 0:
        return False
    try:
        os.kill(pid, signal.SIGINT)
    except ProcessLookupError:
        return False
    return True


@dataclass(frozen=True)
class Pace:
    iteration: int
    iters: int
    rate: float | None          # iterations per second over the last rows of the loss log
    eta_s: float | None


def pace(run_dir: Path, iters: int, window: int = 200) -> Pace:
    """How far a run's loss log is, and how fast it grows, from its last `window` rows (no full parse)."""
    try:
        with open(Path(run_dir) / "losses.csv", "rb") as f:
            f.seek(0, os.SEEK_END)
            size = f.tell()
            f.seek(max(0, size - 64 * window))
            lines = [ln for ln in f.read().decode("utf-8", "replace").splitlines()[1:] if ln and ln[0].isdigit()]
    except OSError:
        return Pace(0, iters, None, None)
    rows = []
    for ln in lines:
        parts = ln.split(",")
        try:
            rows.append((int(parts[0]), float(parts[-1])))
        except (ValueError, IndexError):
            continue
    if not rows:
        return Pace(0, iters, None, None)
    it = rows[-1][0]
    rate = None
    if len(rows) > 1 and rows[-1][1] > rows[0][1]:
        rate = (rows[-1][0] - rows[0][0]) / (rows[-1][1] - rows[0][1])
    eta = (iters - it) / rate if rate else None
    return Pace(it, iters, rate, eta)


def duration(seconds: float | None) -> str:
    """'12m05s' or '1h02m' ('' when unknown): how the sweeps and the explorer print times and ETAs."""
    if seconds is None:
        return ""
    s = int(round(seconds))
    return f"{s // 3600}h{s % 3600 // 60:02d}m" if s >= 3600 else f"{s // 60}m{s % 60:02d}s"

"""One writer per run folder: an advisory lock that a process holds while it trains into a run (or measures it).

Several processes may share a runs folder (one per GPU, say); two writing into the same run would interleave
its loss log and snapshots. The lock is `fcntl.flock` on a small file in the run folder: the system drops it
when the holder exits, however it exits, so a killed run never leaves a stale lock behind. The file stays (it
holds the last holder's pid, for the message) and is harmless. Where there is no fcntl (Windows), runs are not
locked.
"""

from __future__ import annotations

import os
import time
from pathlib import Path

from emogan.errors import RunError

try:
    import fcntl
except ImportError:     # pragma: no cover - not POSIX
    fcntl = None        # type: ignore[assignment]

TRAIN_LOCK = ".train.lock"
METRICS_LOCK = ".metrics.lock"
# How long acquire() retries a lock held by someone else: long enough to outlast a probe (which holds it for
# microseconds, see holder()), far shorter than any real holder's life.
PROBE_GRACE_S = 0.5


def holder(folder: Path, name: str) -> int | None:
    """The pid holding the lock (-1 if its file names none), None if nobody holds it. A probe: it takes a shared
    lock for an instant and writes nothing, so a process that asks never blocks nor renames the holder."""
    if fcntl is None:
        return None
    path = Path(folder) / name
    try:
        fd = os.open(path, os.O_RDONLY)
    except OSError:           # no lock file (or an unreadable one): nobody can be holding it
        return None
    try:
        try:
            fcntl.flock(fd, fcntl.LOCK_SH | fcntl.LOCK_NB)
        except OSError:
            text = os.pread(fd, 32, 0).decode("ascii", "replace").strip()
            return int(text) if text.isdigit() else -1
        fcntl.flock(fd, fcntl.LOCK_UN)
        return None
    finally:
        os.close(fd)


class FolderLock:
    """`with FolderLock(run_dir, TRAIN_LOCK, "trained"):` -- or acquire()/release() around a longer life."""

    def __init__(self, folder: Path, name: str, doing: str):
        self.path, self.doing = Path(folder) / name, doing
        self.fd: int | None = None

    def acquire(self) -> FolderLock:
        if fcntl is None or self.fd is not None:
            return self
        try:
            fd = os.open(self.path, os.O_RDWR | os.O_CREAT, 0o644)
        except OSError as e:
            raise RunError(f"{self.path}: cannot create the lock file ({e.strerror or e})") from None
        deadline = time.monotonic() + PROBE_GRACE_S
        while True:
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
                break
            except OSError:
                if time.monotonic() < deadline:      # perhaps a probe: it lets go at once
                    time.sleep(0.02)
                    continue
            holder = os.pread(fd, 32, 0).decode("ascii", "replace").strip()
            os.close(fd)
            raise RunError(f"{self.path.parent}: being {self.doing} by another process"
                           f"{f' (pid {holder})' if holder.isdigit() else ''}; wait for it or stop it first") from None
        try:
            os.ftruncate(fd, 0)
            os.pwrite(fd, str(os.getpid()).encode(), 0)
        except OSError:
            pass            # the pid only improves another process's message; a full disk must not stop us here
        self.fd = fd
        return self

    def release(self) -> None:
        if self.fd is not None:
            os.close(self.fd)     # closing drops the flock
            self.fd = None

    def __enter__(self) -> FolderLock:
        return self.acquire()

    def __exit__(self, *exc: object) -> None:
        self.release()

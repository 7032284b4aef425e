"""The Real-or-fake answers of a runs root: one JSON line per answer in `<root>/real_or_fake.jsonl`, appended whole
by any number of processes at once, read back with damaged lines skipped and named, and cleared atomically.

A line: {"run": "M7-all-s0" | null, "iteration": 5000 | null, "face": "...", "answer": "real" | "fake",
"truth": "real" | "fake", "time": "2025-01-01T12:00:00.000Z", "pool": [["M7-all-s0", 5000], ...]}. A real face has
no run and no iteration; `pool` names the runs' snapshots whose faces the round mixed with the real ones, so a
viewer's answers on real faces can be read against each of them. Readers ignore fields they do not know.
"""

from __future__ import annotations

import json
import os
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

from emogan.runs.atomic import OutputError, atomic_write_bytes

try:
    import fcntl
except ImportError:     # pragma: no cover - not POSIX
    fcntl = None        # type: ignore[assignment]

ANSWERS_FILE = "real_or_fake.jsonl"
LOCK_FILE = ".real_or_fake.lock"
TRUTHS = ("real", "fake")
MAX_LISTED = 10         # damaged line numbers named in the one-line report; more are counted


def answers_path(root: str | os.PathLike) -> Path:
    return Path(root) / ANSWERS_FILE


def now_utc() -> str:
    """ISO 8601 time in UTC to the millisecond, with a Z: sorts as text and reads the same on every machine."""
    return datetime.now(timezone.utc).strftime("%Y-%m-%dT%H:%M:%S.%f")[:-3] + "Z"


def answer_line(*, run: str | None, iteration: int | None, face: str, answer: str, truth: str,
                pool: Iterable[tuple[str, int]] = (), time: str | None = None) -> dict[str, Any]:
    """One answer as the dict that becomes its line (checked as the reader checks it)."""
    line = {"run": run, "iteration": None if iteration is None else int(iteration), "face": face, "answer": answer,
            "truth": truth, "time": time or now_utc(), "pool": [[str(r), int(i)] for r, i in pool]}
    problem = _problem(line)
    if problem:
        raise ValueError(f"not a valid answer: {problem}")
    return line


@contextmanager
def _locked(root: Path, exclusive: bool) -> Iterator[None]:
    """flock on a lock file beside the answers: appends and the reset exclude each other and readers, so a reader
    never sees half a line and an append never lands in a file the reset has just replaced. The answers file itself
    is not locked because the reset replaces it (a lock on the old file would guard nothing)."""
    if fcntl is None:
        yield
        return
    try:
        fd = os.open(root / LOCK_FILE, os.O_RDWR | os.O_CREAT, 0o644)
    except OSError as e:
        raise OutputError(f"cannot lock {root / ANSWERS_FILE}: {e.strerror or e}") from None
    try:
        fcntl.flock(fd, fcntl.LOCK_EX if exclusive else fcntl.LOCK_SH)
        yield
    finally:
        os.close(fd)        # closing drops the flock


def append_answers(root: str | os.PathLike, lines: Iterable[dict[str, Any]]) -> None:
    """Append answers (from answer_line), each as one whole line: O_APPEND and a single write() per line under the
    lock, so lines from several processes never interleave; fsync'd, so an answer reported saved survives a crash."""
    root = Path(root)
    data = [(json.dumps(line, separators=(",", ":"), allow_nan=False) + "\n").encode("utf-8") for line in lines]
    if not data:
        return
    path = root / ANSWERS_FILE
    if not root.is_dir():
        raise OutputError(f"cannot write {path}: the runs folder {root} does not exist")
    with _locked(root, exclusive=True):
        try:
            fd = os.open(path, os.O_RDWR | os.O_APPEND | os.O_CREAT, 0o644)
        except OSError as e:
            raise OutputError(f"cannot write {path}: {e.strerror or e}") from None
        try:
            # A line cut by a crash must not swallow the next answer: end it first (it stays damaged, alone).
            size = os.fstat(fd).st_size
            if size and os.pread(fd, 1, size - 1) != b"\n":
                os.write(fd, b"\n")
            for chunk in data:
                if os.write(fd, chunk) != len(chunk):
                    raise OutputError(f"cannot write {path}: short write (disk full?)")
            os.fsync(fd)
        except OSError as e:
            raise OutputError(f"cannot write {path}: {e.strerror or e}") from None
        finally:
            os.close(fd)


@dataclass(frozen=True)
class Answers:
    """The good lines of an answers file, and the numbers of the lines that were skipped."""
    path: Path
    lines: list[dict[str, Any]] = field(default_factory=list)
    damaged: list[int] = field(default_factory=list)

    @property
    def note(self) -> str:
        """One line naming the file and the damaged lines ('' when none): what the page and the report show."""
        if not self.damaged:
            return ""
        shown = ", ".join(str(n) for n in self.damaged[:MAX_LISTED])
        more = f" and {len(self.damaged) - MAX_LISTED} more" if len(self.damaged) > MAX_LISTED else ""
        word = "line" if len(self.damaged) == 1 else "lines"
        return (f"{self.path}: skipped {len(self.damaged)} damaged {word} ({shown}{more}); "
                f"the other {len(self.lines)} answers count")


def read_answers(root: str | os.PathLike) -> Answers:
    """Every answer in the file (none when it does not exist yet). A line that is cut, not JSON or not an answer is
    skipped and its number kept; the good lines still count."""
    root = Path(root)
    path = root / ANSWERS_FILE
    if not path.exists():
        return Answers(path)
    try:
        if root.is_dir() and os.access(root, os.W_OK):
            with _locked(root, exclusive=False):
                raw = path.read_bytes()
        else:
            raw = path.read_bytes()      # a read-only root cannot hold the lock file, nor be appended to
    except OSError as e:
        raise OutputError(f"cannot read {path}: {e.strerror or e}") from None
    good, damaged = [], []
    for number, chunk in enumerate(raw.split(b"\n"), start=1):
        if not chunk.strip():
            continue
        try:
            line = json.loads(chunk.decode("utf-8"))
        except (UnicodeDecodeError, ValueError):
            damaged.append(number)
            continue
        if _problem(line):
            damaged.append(number)
        else:
            good.append(line)
    return Answers(path, good, damaged)


def reset_answers(root: str | os.PathLike) -> int:
    """Clear the answers: the file is replaced by an empty one in one rename, under the lock, so a concurrent append
    lands either before (and is cleared) or after (and stays), never in a half-cleared file. Returns how many lines
    were cleared."""
    root = Path(root)
    path = root / ANSWERS_FILE
    if not path.exists():
        return 0
    with _locked(root, exclusive=True):
        try:
            n = sum(1 for c in path.read_bytes().split(b"\n") if c.strip())
        except OSError as e:
            raise OutputError(f"cannot read {path}: {e.strerror or e}") from None
        atomic_write_bytes(path, b"")
    return n


def _problem(line: Any) -> str:
    """Why a parsed line is not an answer ('' when it is one)."""
    if not isinstance(line, dict):
        return "not a JSON object"
    for key in ("answer", "truth"):
        if line.get(key) not in TRUTHS:
            return f"{key} must be 'real' or 'fake', not {line.get(key)!r}"
    if not isinstance(line.get("face"), str) or not line["face"]:
        return "no face id"
    if not isinstance(line.get("time"), str):
        return "no time"
    run, it = line.get("run"), line.get("iteration")
    if line["truth"] == "fake":
        if not isinstance(run, str) or not run:
            return "a generated face without its run"
        if isinstance(it, bool) or not isinstance(it, int) or it < 0:
            return "a generated face without its iteration"
    elif run is not None or it is not None:
        return "a real face with a run"
    pool = line.get("pool", [])
    if not isinstance(pool, list) or not all(
            isinstance(p, list) and len(p) == 2 and isinstance(p[0], str) and isinstance(p[1], int)
            and not isinstance(p[1], bool) for p in pool):
        return "pool must be a list of [run, iteration] pairs"
    return ""



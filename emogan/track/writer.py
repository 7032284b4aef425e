"""One background thread that writes a tracked run's files in the order they were handed over, so the training
thread never waits for PNG encoding or fsync; a failed write is raised in the training thread at its next call."""

from __future__ import annotations

from collections import deque
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor

MAX_PENDING = 16     # writes queued before the training thread waits for the oldest (memory stays bounded)


class BackgroundWriter:
    def __init__(self) -> None:
        self.pool = ThreadPoolExecutor(1, thread_name_prefix="emogan-track-writer")
        self.pending: deque[Future] = deque()

    def submit(self, fn: Callable[[], None]) -> None:
        self.check()
        self.pending.append(self.pool.submit(fn))
        while len(self.pending) > MAX_PENDING:
            self.pending.popleft().result()

    def check(self) -> None:
        """Re-raise a write that failed since the last call."""
        while self.pending and self.pending[0].done():
            self.pending.popleft().result()

    def wait(self) -> None:
        """Every write handed over so far, done (or its error raised)."""
        try:
            while self.pending:
                self.pending.popleft().result()
        finally:
            self.pending.clear()

    def close(self) -> None:
        try:
            self.wait()
        finally:
            self.pool.shutdown(wait=True)

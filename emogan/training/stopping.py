"""Ctrl-C and SIGTERM as a flag that long loops check between steps (a second Ctrl-C stops at once)."""

from __future__ import annotations

import signal
import threading
from typing import Any


class StopFlag:
    """A stop never splits an update: the loop sees `set` between steps and ends cleanly."""

    def __init__(self) -> None:
        self.set = False
        self._old: dict[int, Any] = {}

    def _handle(self, signum: int, frame: Any) -> None:
        if self.set:                                   # a second Ctrl-C means "now"
            raise KeyboardInterrupt
        self.set = True

    def __enter__(self) -> StopFlag:
        if threading.current_thread() is threading.main_thread():
            for sig in (signal.SIGINT, signal.SIGTERM):
                self._old[sig] = signal.signal(sig, self._handle)
        return self

    def __exit__(self, *exc: Any) -> None:
        for sig, old in self._old.items():
            signal.signal(sig, old)

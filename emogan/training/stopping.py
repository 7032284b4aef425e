"""Ctrl-C and SIGTERM as a flag that long loops check between steps (a second Ctrl-C stops at once)."""

from __future__ import annotations

import signal
import threading
from typing import Any


class StopFlag:
    """A stop never splits an update: the loop sees `set` between steps and ends cleanly.

    The first signal only sets the flag, it never raises. A KeyboardInterrupt raised at an arbitrary bytecode can land
    inside a finalizer (a `__del__`, a weakref callback), where Python prints "Exception ignored" and goes on: the
    Ctrl-C would be lost. A flag cannot be lost that way.

    Flags nest: one entered while another is active in this process shares its state, so a command can take the
    signal from its first line (before its slow imports and setup) and the training loop it calls sees a stop that
    came in meanwhile."""

    _active: StopFlag | None = None     # the outermost flag holding the signal handlers

    def __init__(self) -> None:
        self._set = False
        self._outer: StopFlag | None = None
        self._old: dict[int, Any] = {}

    @property
    def set(self) -> bool:
        return self._outer.set if self._outer is not None else self._set

    def _handle(self, signum: int, frame: Any) -> None:
        if self._set:                                  # a second Ctrl-C means "now"
            raise KeyboardInterrupt
        self._set = True

    def __enter__(self) -> StopFlag:
        if StopFlag._active is not None:
            self._outer = StopFlag._active
        elif threading.current_thread() is threading.main_thread():
            for sig in (signal.SIGINT, signal.SIGTERM):
                self._old[sig] = signal.signal(sig, self._handle)
            StopFlag._active = self
        return self

    def __exit__(self, *exc: Any) -> None:
        if StopFlag._active is self:
            StopFlag._active = None
        for sig, old in self._old.items():
            signal.signal(sig, old)
        self._old.clear()

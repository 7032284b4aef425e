"""Load the other pages' modules (torch, the metric suite) in the background once the first page is drawn.

The landing page imports none of them, so it is drawn fast; without this, the first click on another page waits
for torch's import.

The warm-up never imports while a page is being drawn, and a page is never drawn while the warm-up imports: a page's
code reaches libraries too (torch inside the generator loaders), and while another thread is still inside
`import torch`, sys.modules holds a half-initialised torch. A page opened during the warm-up waits for the one
module being imported."""

from __future__ import annotations

import importlib
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager

_started = False        # this module lives as long as the server process, unlike the app script's own globals
# Seconds between the first page's script run and the imports: the browser is still loading the chart library and
# drawing that page meanwhile, and an import of torch beside it would slow that down. A person looks at a page
# longer than this before opening another.
DELAY_S = 1.5

_gate = threading.Condition()
_drawing = 0            # pages being drawn now (every session's)
_importing = False      # the warm-up is importing a module


@contextmanager
def drawing_page() -> Iterator[None]:
    """Around a page's import and draw: pages of several sessions draw together, never beside a warm-up import."""
    global _drawing
    with _gate:
        _gate.wait_for(lambda: not _importing)
        _drawing += 1
    try:
        yield
    finally:
        with _gate:
            _drawing -= 1
            _gate.notify_all()


@contextmanager
def _importing_alone() -> Iterator[None]:
    global _importing
    with _gate:
        _gate.wait_for(lambda: _drawing == 0 and not _importing)
        _importing = True
    try:
        yield
    finally:
        with _gate:
            _importing = False
            _gate.notify_all()


def start(modules: list[str], delay: float = DELAY_S) -> None:
    """Import `modules` (dotted names) in one daemon thread after `delay` seconds, once per process."""
    global _started
    if _started:
        return
    _started = True
    threading.Thread(target=_load, args=(modules, delay), name="emogan-warmup", daemon=True).start()


def _load(modules: list[str], delay: float) -> None:
    time.sleep(delay)
    for name in modules:
        with _importing_alone():
            try:
                importlib.import_module(name)
            except Exception:  # noqa: BLE001 - the page's own import reports the error when it is opened
                continue

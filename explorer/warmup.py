"""Load the other pages' modules (torch, the metric suite) in the background once the first page is drawn.

The landing page imports none of them, so it is drawn fast; without this, the first click on another page waits
for torch's import (1.4 s on the 2-core development machine, measured under load). Imports are idempotent and
guarded by Python's per-module locks, so a page clicked before its module has loaded waits for the import under way."""

from __future__ import annotations

import importlib
import threading

_started = False        # this module lives as long as the server process, unlike the app script's own globals


def start(modules: list[str]) -> None:
    """Import `modules` (dotted names) in one daemon thread, once per process."""
    global _started
    if _started:
        return
    _started = True
    threading.Thread(target=_load, args=(modules,), name="emogan-warmup", daemon=True).start()


def _load(modules: list[str]) -> None:
    for name in modules:
        try:
            importlib.import_module(name)
        except Exception:  # noqa: BLE001 - the page's own import reports the error when it is opened
            continue

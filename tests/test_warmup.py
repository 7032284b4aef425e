"""The explorer's background warm-up: the other pages' modules are imported once per process, off the script
thread, and a module that fails to import is skipped (its page reports the error when it is opened)."""

import sys
import threading

from explorer import warmup


def test_modules_are_imported_once_in_the_background(tmp_path, monkeypatch):
    (tmp_path / "warm_mod_a.py").write_text("import threading\nIMPORTED_BY = threading.current_thread().name\n")
    (tmp_path / "warm_mod_broken.py").write_text("raise RuntimeError('broken page')\n")
    monkeypatch.syspath_prepend(str(tmp_path))
    monkeypatch.setattr(warmup, "_started", False)
    started = []

    class Recording(threading.Thread):
        def start(self):
            started.append(self)
            super().start()

    monkeypatch.setattr(warmup.threading, "Thread", Recording)
    warmup.start(["warm_mod_broken", "warm_mod_a"])
    warmup.start(["warm_mod_a"])                        # the next rerun's call starts nothing
    assert len(started) == 1
    started[0].join(60)
    assert sys.modules.pop("warm_mod_a").IMPORTED_BY == "emogan-warmup"
    assert "warm_mod_broken" not in sys.modules

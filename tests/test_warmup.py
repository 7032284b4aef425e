"""The explorer's background warm-up: the other pages' modules are imported once per process, off the script
thread, and a module that fails to import is skipped (its page reports the error when it is opened)."""

import os
import sys
import threading
import time

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
    warmup.start(["warm_mod_broken", "warm_mod_a"], delay=0.2)
    assert "warm_mod_a" not in sys.modules              # not before the delay: the browser is still drawing
    warmup.start(["warm_mod_a"])                        # the next rerun's call starts nothing
    assert len(started) == 1
    started[0].join(60)
    assert sys.modules.pop("warm_mod_a").IMPORTED_BY == "emogan-warmup"
    assert "warm_mod_broken" not in sys.modules


def test_pages_and_warm_up_imports_never_overlap(tmp_path, monkeypatch):
    # A module whose import takes a while stands for torch; the page is drawn meanwhile by another thread.
    (tmp_path / "warm_mod_slow.py").write_text("import time\ntime.sleep(0.5)\nDONE = True\n")
    monkeypatch.syspath_prepend(str(tmp_path))
    monkeypatch.setattr(warmup, "_started", False)
    events = []

    def page():
        with warmup.drawing_page():
            events.append(("page", getattr(sys.modules.get("warm_mod_slow"), "DONE", False)))

    warmup.start(["warm_mod_slow"], delay=0.0)
    time.sleep(0.1)                                      # the warm-up is inside the slow import
    t = threading.Thread(target=page)
    t.start()
    t.join(30)
    assert events == [("page", True)]                    # the page waited for the import under way
    sys.modules.pop("warm_mod_slow")

    with warmup.drawing_page():                          # and a warm-up import waits for a page being drawn
        monkeypatch.setattr(warmup, "_started", False)
        (tmp_path / "warm_mod_b.py").write_text("")
        warmup.start(["warm_mod_b"], delay=0.0)
        time.sleep(0.3)
        assert "warm_mod_b" not in sys.modules
    for _ in range(300):
        if "warm_mod_b" in sys.modules:
            break
        time.sleep(0.01)
    assert sys.modules.pop("warm_mod_b")


def test_thread_limits_tolerate_a_torch_still_being_imported(monkeypatch):
    """A rerun during the warm-up's `import torch` finds a partially initialised module in sys.modules."""
    import types

    import explorer_app

    half = types.ModuleType("torch")                 # what sys.modules holds while torch/__init__ still runs
    monkeypatch.setitem(sys.modules, "torch", half)
    monkeypatch.delenv("OMP_NUM_THREADS", raising=False)
    explorer_app.limit_torch_threads(1)
    assert os.environ["OMP_NUM_THREADS"] == "1"
    calls = []
    half.set_num_threads = calls.append              # once loaded, torch is told directly
    explorer_app.limit_torch_threads(2)
    assert calls == [2]

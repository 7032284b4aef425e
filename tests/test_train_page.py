"""The Train page in AppTest: a real run started on the fixture faces, followed, stopped, resumed to the end and
measured; each refusal; the controls hidden when the app is served beyond this machine."""

from __future__ import annotations

import shutil
import time

import pytest
import streamlit as st
from test_explorer_app import open_app
from tiny import FIXTURE

from emogan.runs import launch
from emogan.runs.store import Run


def _texts(at) -> str:
    return "\n".join(str(e.value) for kind in ("error", "success", "info", "markdown", "caption")
                     for e in getattr(at.main, kind))


def _fill(at, **values):
    for key, value in values.items():
        widget = next(w for kind in ("selectbox", "number_input", "text_input")
                      for w in getattr(at.main, kind) if w.key == f"train_{key}")
        widget.set_value(value)
    next(b for b in at.main.button if b.label == "Start").click().run()
    return at


def _wait(predicate, seconds=240):
    deadline = time.monotonic() + seconds
    while not predicate():
        assert time.monotonic() < deadline, "timed out"
        time.sleep(0.3)


def _row(at, name):
    df = at.main.dataframe[0].value
    return df.set_index("run").loc[name]


def test_start_follow_stop_resume_and_measure_a_run(tmp_path):
    root = tmp_path / "runs"
    root.mkdir()
    at = open_app(root, "train")
    assert not at.exception, [e.value for e in at.exception]
    # M4 is the slowest model: 30 iterations take long enough to be stopped half-way.
    _fill(at, model="M4", iters=30, batch=64, every=5, threads=1, data=str(FIXTURE), name="live")
    assert "Started live: `python -m emogan train --model M4" in _texts(at), _texts(at)
    run = root / "live"
    _wait(lambda: launch.holder(run) and launch.pace(run, 30).iteration >= 6)
    at.run()
    row = _row(at, "live")
    assert row["state"] == "training" and int(row["iteration"].split("/")[0]) >= 6, row
    first = int(row["iteration"].split("/")[0])
    _wait(lambda: launch.pace(run, 30).iteration > first)
    at.run()
    assert int(_row(at, "live")["iteration"].split("/")[0]) > first            # it grows, read afresh
    next(b for b in at.main.button if b.label == "Stop").click().run()
    assert "Asked live to stop" in _texts(at)
    _wait(lambda: not launch.holder(run))
    status = Run(run).status()
    assert status["state"] == "interrupted" and status["iteration"] < 30, status
    at.run()
    assert _row(at, "live")["state"] == "interrupted"
    next(b for b in at.main.button if b.label == "Resume").click().run()
    assert "Resuming live" in _texts(at)
    _wait(lambda: Run(run).status()["state"] == "done" and not launch.holder(run))
    assert Run(run).losses()["iteration"].tolist() == list(range(1, 31))     # each iteration once
    assert Run(run).config["command"][:4] == ["python", "-m", "emogan", "train"]
    at.run()
    next(b for b in at.main.button if b.label == "Measure").click().run()
    assert "Measuring live" in _texts(at)
    _wait(lambda: (run / "metrics.jsonl").exists() and not launch.measuring(run) and
          '"iteration": 30' in (run / "metrics.jsonl").read_text())
    at.run()
    assert _row(at, "live")["measured"] == "up to 30"


@pytest.mark.parametrize("change, message", [
    ({"data": ""}, "No FER2013 given"),
    ({"data": "/nonexistent/fer2013"}, "No FER2013 found at /nonexistent/fer2013"),
    ({"model": "M8", "emotion": "happy"}, "M8 is conditional"),
    ({"name": "taken"}, "A run named taken already exists"),
])
def test_bad_input_gets_one_visible_line_and_starts_nothing(tmp_path, change, message):
    root = tmp_path / "runs"
    (root / "taken").mkdir(parents=True)
    at = open_app(root, "train")
    values = {"model": "M3", "iters": 10, "data": str(FIXTURE), "name": "fresh", **change}
    _fill(at, **values)
    assert [e.value for e in at.main.error] and message in at.main.error[0].value, _texts(at)
    assert sorted(p.name for p in root.iterdir()) == ["taken"]                 # nothing started


def test_an_unwritable_runs_root_is_refused(tmp_path):
    (tmp_path / "file").write_text("")
    root = tmp_path / "file" / "runs"          # under a file: nothing can be made there, whoever runs the tests
    at = _fill(open_app(root, "train"), model="M3", iters=10, data=str(FIXTURE))
    assert "is not writable" in at.main.error[0].value, _texts(at)


def test_served_on_the_network_the_page_only_shows(tmp_path, monkeypatch):
    root = tmp_path / "runs"
    root.mkdir()
    real = st.get_option
    monkeypatch.setattr(st, "get_option", lambda k: "0.0.0.0" if k == "server.address" else real(k))
    at = open_app(root, "train")
    assert not at.exception
    assert "served on 0.0.0.0" in _texts(at) and not [b for b in at.main.button if b.label == "Start"]
    at = open_app(root, "train", "--allow-training")
    assert [b for b in at.main.button if b.label == "Start"]


def test_pages_follow_a_run_while_it_trains_and_stop_refreshing_after(tmp_path):
    root = tmp_path / "runs"
    run = root / "M4-all-s0"
    proc = launch.launch(["train", "--model", "M4", "--data", str(FIXTURE), "--out", str(root), "--iters", "40",
                          "--snapshot-every", "5", "--threads", "1", "--no-progress"], tmp_path / "train.log")
    try:
        _wait(lambda: launch.holder(run) and (run / "index.json").exists() and Run(run).snapshot_iterations())
        at = open_app(root, "losses")
        assert not at.exception, [e.value for e in at.exception]
        assert [t for t in at.sidebar.toggle if t.label == "Follow the newest snapshot"]      # live: a timer
        table = at.main.table[0].value
        assert table.loc["M4-all-s0", "state"] == "training" and table.loc["M4-all-s0", "ETA"] != "–", table
        newest = Run(run).snapshot_iterations()[-1]
        _wait(lambda: Run(run).snapshot_iterations()[-1] > newest)
        at.run()                                       # what the timer does once the files have changed
        assert at.session_state["iteration"] == Run(run).snapshot_iterations()[-1] > newest
        launch.stop(run)
        _wait(lambda: not launch.holder(run))
    finally:
        proc.wait(timeout=120)
    at.run()            # the timer's last tick: the run has stopped, so the app reruns once more, without a timer
    assert not [t for t in at.sidebar.toggle if t.label == "Follow the newest snapshot"]    # nothing trains
    assert at.main.table[0].value.loc["M4-all-s0", "state"] in ("interrupted", "done")


def _options(at, label="Runs"):
    return next(w for w in at.sidebar.multiselect if w.label == label).options


def test_a_first_run_is_in_the_table_from_the_click_on_and_in_the_picker_once_its_folder_exists(tmp_path,
                                                                                                 explorer_runs):
    from explorer.train_page import LAUNCHED

    root = tmp_path / "runs"
    root.mkdir()
    at = open_app(root, "train")
    assert f"No runs in {root} yet." in _texts(at)
    _fill(at, model="M3", iters=10, batch=8, data=str(FIXTURE), name="first")
    # Its process needs seconds to make the run folder: the row is there before it does.
    assert _row(at, "first")[["state", "iteration"]].tolist() == ["starting", "0/10"]
    proc = at.session_state[LAUNCHED]["first"].proc
    proc.kill()                 # it had not begun: nothing of it is on disk
    proc.wait(timeout=60)
    assert sorted(p.name for p in root.iterdir()) == [".logs"]
    # A run that appears in the folder (as the CLI makes one) is offered at the next rerun, not once a cache expires.
    shutil.copytree(explorer_runs / "M3-all-s0", root / "M3-all-s0")
    at.run()
    assert not at.exception, [e.value for e in at.exception]
    assert _options(at) == ["M3-all-s0"] and _row(at, "M3-all-s0")["state"] == "done"


def test_a_start_that_fails_before_it_begins_says_why_in_one_line(tmp_path):
    from explorer.train_page import LAUNCHED

    root, data = tmp_path / "runs", tmp_path / "not-fer2013"
    root.mkdir()
    data.mkdir()                # exists, so the page lets it through; the CLI finds no faces in it
    at = _fill(open_app(root, "train"), model="M3", iters=10, data=str(data), name="doomed")
    assert _row(at, "doomed")["state"] == "starting"
    at.session_state[LAUNCHED]["doomed"].proc.wait(timeout=240)
    at.run()
    assert not at.exception, [e.value for e in at.exception]
    [error] = [e.value for e in at.main.error]
    assert error.startswith("doomed stopped before it began (exit status 2): error: ") and str(data) in error, error
    assert f"No runs in {root} yet." in _texts(at)          # and it is no longer shown as starting

"""The Real-or-fake answers file: whole lines under concurrent appends from several processes, damaged lines reported
in one line while the good ones count, and the atomic reset."""

from __future__ import annotations

import json
import multiprocessing as mp
import sys
from pathlib import Path

import pytest

from emogan.errors import EmoganError
from emogan.runs.answers import ANSWERS_FILE, answer_line, append_answers, read_answers, reset_answers

WRITERS = 6
PER_WRITER = 150
# Long enough that a line could be split between two write()s of a careless writer: the face id is padded.
PAD = "x" * 3000


def _writer(root: str, writer: int, start, n: int) -> None:
    start.wait()
    for i in range(n):
        fake = i % 2 == 0
        line = answer_line(run=f"run{writer}" if fake else None, iteration=i if fake else None,
                           face=f"w{writer}/{i}/{PAD}", answer="real" if i % 3 else "fake",
                           truth="fake" if fake else "real", pool=[(f"run{writer}", i)])
        append_answers(root, [line])


def _resetter(root: str, start, n: int) -> None:
    start.wait()
    for _ in range(n):
        reset_answers(root)


def _line(face: str = "f", truth: str = "fake", answer: str = "real") -> dict:
    return answer_line(run="M7-all-s0" if truth == "fake" else None, iteration=5000 if truth == "fake" else None,
                       face=face, answer=answer, truth=truth, pool=[("M7-all-s0", 5000)])


@pytest.fixture
def spawn(monkeypatch):
    """Fresh interpreters: nothing shared but the file system. A spawned child first re-runs the parent's __main__
    from its file; after an AppTest in the same session that is a Streamlit script that cannot run alone, and the
    writers need nothing of __main__."""
    main = sys.modules["__main__"]
    monkeypatch.delattr(main, "__file__", raising=False)
    monkeypatch.setattr(main, "__spec__", None, raising=False)
    return mp.get_context("spawn")


def test_concurrent_appends_from_several_processes_stay_whole(tmp_path, spawn):
    ctx = spawn
    start = ctx.Event()
    procs = [ctx.Process(target=_writer, args=(str(tmp_path), w, start, PER_WRITER)) for w in range(WRITERS)]
    for p in procs:
        p.start()
    start.set()
    for p in procs:
        p.join()          # no time limit here: each spawned interpreter imports the package, slow on a busy machine
        assert p.exitcode == 0, p.exitcode
    raw = (tmp_path / ANSWERS_FILE).read_bytes()
    assert raw.endswith(b"\n")
    lines = raw.decode().splitlines()
    assert len(lines) == WRITERS * PER_WRITER
    parsed = [json.loads(line) for line in lines]           # every line whole: one JSON object each
    got = read_answers(tmp_path)
    assert not got.damaged and len(got.lines) == WRITERS * PER_WRITER
    for w in range(WRITERS):                                # no answer lost, and each writer's in its own order
        mine = [int(p["face"].split("/")[1]) for p in parsed if p["face"].startswith(f"w{w}/")]
        assert mine == list(range(PER_WRITER))


def test_a_reset_during_appends_leaves_only_whole_lines(tmp_path, spawn):
    ctx = spawn
    start = ctx.Event()
    procs = [ctx.Process(target=_writer, args=(str(tmp_path), w, start, 60)) for w in range(3)]
    procs.append(ctx.Process(target=_resetter, args=(str(tmp_path), start, 20)))
    for p in procs:
        p.start()
    start.set()
    for p in procs:
        p.join()          # no time limit here: each spawned interpreter imports the package, slow on a busy machine
        assert p.exitcode == 0, p.exitcode
    got = read_answers(tmp_path)
    assert not got.damaged
    assert len(got.lines) <= 180
    # What was left after the last reset is a tail of each writer's answers, in order.
    for w in range(3):
        mine = [int(p["face"].split("/")[1]) for p in got.lines if p["face"].startswith(f"w{w}/")]
        assert mine == list(range(60 - len(mine), 60))


def test_a_damaged_file_is_reported_in_one_line_and_the_good_lines_count(tmp_path):
    append_answers(tmp_path, [_line("a"), _line("b", truth="real", answer="real")])
    path = tmp_path / ANSWERS_FILE
    with open(path, "ab") as f:
        f.write(b"garbage that is not json\n")
        f.write(b'{"run": "M7-all-s0", "iteration": 5000, "face": "c", "answer": "maybe", "truth": "fake", '
                b'"time": "t"}\n')                          # JSON, but not an answer
        f.write(b"\xff\xfe binary\n")
        f.write(b'{"run": "M7-all-s0", "iteration": 50')     # cut by a crash: no newline
    append_answers(tmp_path, [_line("d")])                  # lands on its own line, after the cut one
    got = read_answers(tmp_path)
    assert [line["face"] for line in got.lines] == ["a", "b", "d"]
    assert got.damaged == [3, 4, 5, 6]
    assert "\n" not in got.note
    assert got.note == f"{path}: skipped 4 damaged lines (3, 4, 5, 6); the other 3 answers count"


def test_reset_clears_the_answers_atomically(tmp_path):
    assert reset_answers(tmp_path) == 0                      # nothing to clear
    append_answers(tmp_path, [_line(str(i)) for i in range(5)])
    assert len(read_answers(tmp_path).lines) == 5
    assert reset_answers(tmp_path) == 5
    assert read_answers(tmp_path).lines == [] and (tmp_path / ANSWERS_FILE).read_bytes() == b""
    assert not [p for p in tmp_path.iterdir() if p.name.endswith(".tmp")]
    append_answers(tmp_path, [_line("after")])
    assert [line["face"] for line in read_answers(tmp_path).lines] == ["after"]


def test_no_answers_file_reads_as_no_answers(tmp_path):
    got = read_answers(tmp_path)
    assert got.lines == [] and got.damaged == [] and got.note == ""


def test_bad_answers_are_refused_and_an_unwritable_root_is_one_line(tmp_path):
    with pytest.raises(ValueError, match="answer must be 'real' or 'fake'"):
        answer_line(run="r", iteration=1, face="f", answer="maybe", truth="fake")
    with pytest.raises(ValueError, match="generated face without its run"):
        answer_line(run=None, iteration=None, face="f", answer="real", truth="fake")
    missing = tmp_path / "nowhere"
    with pytest.raises(EmoganError, match=f"cannot write {missing / ANSWERS_FILE}: the runs folder"):
        append_answers(missing, [_line()])


def test_lines_carry_the_fields_a_class_pools(tmp_path):
    append_answers(tmp_path, [_line("face-1")])
    line = json.loads((tmp_path / ANSWERS_FILE).read_text())
    assert set(line) == {"run", "iteration", "face", "answer", "truth", "time", "pool"}
    assert line["time"].endswith("Z") and line["time"][10] == "T"
    assert Path(tmp_path / ANSWERS_FILE).read_text().count("\n") == 1

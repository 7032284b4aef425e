"""The Real-or-fake page through Streamlit's AppTest on the six tiny runs and the fixture's real faces: a round of
answers, nothing on the page hinting at the answer before the click, the pooled rates, the reset, a damaged answers
file, and the one-line message when there are no real faces."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest
import streamlit as st
from streamlit.testing.v1 import AppTest

from emogan.runs.answers import ANSWERS_FILE, read_answers
from emogan.views.real_or_fake import ROUND

REPO = Path(__file__).resolve().parents[1]
RUNS = [f"M{i}-all-s0" for i in range(1, 7)]
HINTS = (*RUNS, *(f"M{i}" for i in range(1, 7)), "grid", "PublicTest", ".jpg", "/40/")


def _script(repo: str, root: str, extra: list) -> None:
    import sys
    if repo not in sys.path:
        sys.path.insert(0, repo)
    import explorer_app
    explorer_app.main(["--runs", root, *extra], start="real-or-fake")


def open_page(root: Path, *extra: str) -> AppTest:
    at = AppTest.from_function(_script, args=(str(REPO), str(root), list(extra)), default_timeout=120)
    return at.run()


def no_exception(at: AppTest) -> None:
    assert not at.exception, [e.value for e in at.exception]


def main_text(at: AppTest) -> str:
    """Everything the main area says: text, captions, alerts, button labels, image captions."""
    parts = [str(e.value) for kind in ("markdown", "caption", "header", "subheader", "info", "warning", "error",
                                       "success") for e in getattr(at.main, kind)]
    parts += [b.label for b in at.main.button]
    parts += [img.proto.imgs[i].caption for img in at.main.image for i in range(len(img.proto.imgs))]
    return "\n".join(parts)


@pytest.fixture(autouse=True)
def _fresh_caches():
    st.cache_data.clear()
    st.cache_resource.clear()


@pytest.fixture
def answering_runs(explorer_runs, tmp_path) -> Path:
    """The six tiny runs in a folder of their own (the answers file is written beside them)."""
    root = tmp_path / "runs"
    shutil.copytree(explorer_runs, root)
    return root


def test_a_round_of_answers_updates_the_rates_without_a_hint_before_the_click(answering_runs, fixture_root):
    at = open_page(answering_runs, "--data", str(fixture_root))
    no_exception(at)
    assert not at.main.error
    assert "No answers yet" in main_text(at)
    at.button(key="rof_start").click().run()
    no_exception(at)
    rnd = at.session_state["rof_round"]
    assert len(rnd.faces) == ROUND and {f.truth for f in rnd.faces} == {"real", "fake"}
    assert {r for r, _ in rnd.pool} == set(RUNS) and {it for _, it in rnd.pool} == {40}
    seen_images, pages = set(), set()
    for k, face in enumerate(rnd.faces):
        text = main_text(at)
        assert f"Face {k + 1} of {ROUND}" in text
        # Nothing names a source before the click, and the page reads the same for a real face and a generated one.
        pages.add(text.replace(f"Face {k + 1} of", "Face of"))
        url = at.main.image[0].value[0]
        assert not [h for h in HINTS if h in text + url], text
        assert len(at.main.image) == 1 and not at.main.dataframe  # the face alone: no table that moves per answer
        seen_images.add(url)
        # Answer right on even faces, wrong on odd ones.
        right = face.truth if k % 2 == 0 else ("fake" if face.truth == "real" else "real")
        at.button(key=f"rof_{right}_{k}").click().run()
        no_exception(at)
    assert len(seen_images) == ROUND                             # a new face every time, none twice
    assert len(pages) == 1
    text = main_text(at)
    assert f"Score: {ROUND // 2} of {ROUND} right (50%)" in text
    round_rates = at.main.dataframe[0].value
    fakes = [f for f in rnd.faces if f.truth == "fake"]
    assert set(round_rates["run"]) == {f.run for f in fakes}
    assert all("95% CI" in cell for cell in round_rates["fooling rate (95% CI)"])
    # The answers file: one whole line per answer, and the pooled table counts them.
    lines = (answering_runs / ANSWERS_FILE).read_text().splitlines()
    assert len(lines) == ROUND and [json.loads(x)["face"] for x in lines] == [f.id for f in rnd.faces]
    pooled = at.main.dataframe[-1].value
    total = sum(int(cell.split("/")[1].split(" ")[0]) for cell in pooled["fooling rate (95% CI)"])
    assert total == len(fakes)
    # A second round adds to the pool.
    at.button(key="rof_start").click().run()
    second = at.session_state["rof_round"]
    assert second is not rnd and {f.id for f in second.faces if f.truth == "fake"}.isdisjoint(f.id for f in fakes)
    for k, _ in enumerate(second.faces):
        at.button(key=f"rof_real_{k}").click().run()
    assert len(read_answers(answering_runs).lines) == ROUND + len(second.faces)
    pooled = at.main.dataframe[-1].value
    total = sum(int(cell.split("/")[1].split(" ")[0]) for cell in pooled["fooling rate (95% CI)"])
    assert total == len(fakes) + sum(f.truth == "fake" for f in second.faces)


def test_reset_asks_first_then_clears_everyones_answers(answering_runs, fixture_root):
    at = open_page(answering_runs, "--data", str(fixture_root))
    at.button(key="rof_start").click().run()
    for k in range(len(at.session_state["rof_round"].faces)):
        at.button(key=f"rof_fake_{k}").click().run()
    at.button(key="rof_reset").click().run()
    assert "Delete all 20 lines" in main_text(at)
    at.button(key="rof_reset_no").click().run()                   # cancelled: nothing lost
    assert len(read_answers(answering_runs).lines) == ROUND
    at.button(key="rof_reset").click().run()
    at.button(key="rof_reset_yes").click().run()
    no_exception(at)
    assert read_answers(answering_runs).lines == []
    assert "Cleared 20 answers." in main_text(at) and "No answers yet" in main_text(at)


def test_a_damaged_answers_file_is_one_line_and_the_good_lines_count(answering_runs, fixture_root):
    good = {"run": "M1-all-s0", "iteration": 40, "face": "M1-all-s0/40/grid/0", "answer": "real", "truth": "fake",
            "time": "2025-01-01T00:00:00.000Z", "pool": [["M1-all-s0", 40]]}
    (answering_runs / ANSWERS_FILE).write_text(json.dumps(good) + "\nnot json\n" + json.dumps(good) + '\n{"run": "M')
    at = open_page(answering_runs, "--data", str(fixture_root))
    no_exception(at)
    warnings = [w.value for w in at.main.warning]
    assert warnings == [f"{answering_runs / ANSWERS_FILE}: skipped 2 damaged lines (2, 4); the other 2 answers count"]
    pooled = at.main.dataframe[-1].value
    assert pooled["fooling rate (95% CI)"].tolist() == ["2/2 = 100% (95% CI 34-100%)"]


def test_without_real_faces_the_page_says_to_pass_data(answering_runs, monkeypatch):
    monkeypatch.delenv("EMOGAN_DATA", raising=False)
    for run in answering_runs.iterdir():                          # the runs' recorded data is gone too
        config = json.loads((run / "config.json").read_text())
        config["data"]["source"] = str(answering_runs / "moved-away")
        (run / "config.json").write_text(json.dumps(config))
    at = open_page(answering_runs)
    no_exception(at)
    errors = [e.value for e in at.main.error]
    assert len(errors) == 1 and "\n" not in errors[0]
    assert errors[0].startswith("No real faces to mix in: start the explorer with `-- --data DIR`")
    assert not [b for b in at.main.button if b.key == "rof_start"]


def test_an_unwritable_runs_folder_keeps_the_round_and_says_so(answering_runs, fixture_root):
    at = open_page(answering_runs, "--data", str(fixture_root))
    at.button(key="rof_start").click().run()
    (answering_runs / ANSWERS_FILE).mkdir()                       # a folder where the file should be
    at.button(key="rof_real_0").click().run()
    no_exception(at)
    errors = [e.value for e in at.main.error]
    assert len(errors) == 1 and errors[0].startswith(f"Answer not saved: cannot write {answering_runs / ANSWERS_FILE}")
    assert "Face 2 of" in main_text(at)


def test_snapshots_without_weights_lend_their_stored_faces(answering_runs, fixture_root):
    for run in answering_runs.iterdir():
        index = json.loads((run / "index.json").read_text())
        for snap in index["snapshots"]:
            snap["weights"] = None
        (run / "index.json").write_text(json.dumps(index))
    at = open_page(answering_runs, "--data", str(fixture_root))
    at.button(key="rof_start").click().run()
    no_exception(at)
    fakes = [f for f in at.session_state["rof_round"].faces if f.truth == "fake"]
    assert fakes and all(f.id.startswith(f"{f.run}/40/grid/") for f in fakes)

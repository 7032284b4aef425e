"""explorer/mode_collapse_page.py through Streamlit's AppTest: metric curves on the shared iteration cursor, the
verdicts, and the two galleries, on tiny runs whose metrics were computed by the CLI."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest
import streamlit as st
from streamlit.testing.v1 import AppTest
from tiny import FIXTURE

from emogan.cli import main

REPO = Path(__file__).resolve().parents[1]


def _script(repo: str, root: str) -> None:
    import sys
    if repo not in sys.path:
        sys.path.insert(0, repo)
    import explorer_app
    explorer_app.main(["--runs", root], start="mode-collapse")


@pytest.fixture(scope="module")
def measured(explorer_runs, tmp_path_factory) -> Path:
    """A copy of the six tiny runs, M1 and M5 measured without the classifier (N=32, at iterations 20 and 40)."""
    root = tmp_path_factory.mktemp("mc") / "runs"
    shutil.copytree(explorer_runs, root)
    assert main(["metrics", "M1-all-s0", "M5-all-s0", "--root", str(root), "--data", str(FIXTURE), "--n", "32",
                 "--every", "20", "--no-classifier", "--device", "cpu", "--quiet"]) == 0
    return root


@pytest.fixture(autouse=True)
def _fresh_caches():
    st.cache_data.clear()
    st.cache_resource.clear()


def open_page(root: Path) -> AppTest:
    return AppTest.from_function(_script, args=(str(REPO), str(root)), default_timeout=120).run()


def specs(at: AppTest) -> list[dict]:
    """The ECharts options of the page's charts, as the browser receives them."""
    return [json.loads(c.proto.json)["options"] for c in at.main.get("bidi_component")]


def marks(chart: dict, series_id: str, axis: str) -> list[float]:
    return [d[axis] for s in chart["series"] if s.get("id", "").split(":")[0] == series_id for d in s["markLine"]["data"]]


def test_curves_verdicts_and_galleries(measured):
    at = open_page(measured)
    assert not at.exception, [e.value for e in at.exception]
    verdicts = at.main.dataframe[0].value
    assert verdicts["run"].tolist() == [f"M{i}-all-s0" for i in range(1, 7)]
    measured_rows = verdicts[verdicts["run"].isin(["M1-all-s0", "M5-all-s0"])]
    assert measured_rows["measured at"].tolist() == [40, 40]
    assert all(v == "healthy" or "collaps" in v for v in measured_rows["verdict"])
    assert (verdicts[~verdicts["run"].isin(["M1-all-s0", "M5-all-s0"])]["verdict"] == "no metrics yet").all()
    assert any("python -m emogan metrics M2-all-s0" in str(i.value) for i in at.main.info)

    charts = specs(at)
    titles = [c["title"]["text"] for c in charts]
    assert any(t.startswith("MS-SSIM") for t in titles) and any(t.startswith("Near-duplicate") for t in titles)
    for c in charts:                              # the same axis span and cursor as the loss curves
        assert (c["xAxis"]["min"], c["xAxis"]["max"]) == (0, 40) and marks(c, "current-iteration", "xAxis") == [40]
        assert c["legend"]["data"] == ["M1", "M5"]                          # legends name models, as on the losses page
        assert len({s["id"] for s in c["series"] if "id" in s}) == len([s for s in c["series"] if "id" in s])
    ms = next(c for c in charts if c["title"]["text"].startswith("MS-SSIM"))
    assert len(marks(ms, "real-faces", "yAxis")) == 1                      # the real faces' figure

    # The galleries wait until asked for (they load torch and the training faces).
    assert len(at.main.image) == 0
    at.main.toggle(key="mc_nn_shown").set_value(True).run()
    at.main.toggle(key="mc_pairs_shown").set_value(True).run()
    assert not at.exception, [e.value for e in at.exception]
    assert len([u for img in at.main.image for u in img.value]) == 2       # nearest faces, closest pairs
    assert "near-identical to a training face" in "\n".join(str(c.value) for c in at.main.caption)

    at.sidebar.select_slider(key="iteration_slider").set_value(20).run()
    assert not at.exception
    assert "Verdict at iteration 20" in "\n".join(str(m.value) for m in at.main.markdown)
    for c in specs(at):
        assert marks(c, "current-iteration", "xAxis") == [20]
    assert at.main.dataframe[0].value.set_index("run").loc["M1-all-s0", "measured at"] == 20


COLD_SCRIPT = """import sys
sys.path.insert(0, {repo!r})
import explorer_app
explorer_app.main(["--runs", {root!r}], start="mode-collapse")
"""
COLD_RUN = """import sys
from streamlit.testing.v1 import AppTest
at = AppTest.from_file({script!r}, default_timeout=120).run()
assert not at.exception, [e.value for e in at.exception]
assert any("Verdict at iteration" in str(m.value) for m in at.main.markdown)
print(sorted(m for m in ("torch", "torchmetrics", "sklearn") if m in sys.modules))
"""


def test_the_page_opened_directly_loads_no_torch(measured, tmp_path):
    """Its verdicts, episodes and charts need none of torch, torchmetrics or scikit-learn, whose imports would be
    most of its cold start; the galleries load them when opened."""
    import subprocess
    import sys
    script = tmp_path / "cold.py"
    script.write_text(COLD_SCRIPT.format(repo=str(REPO), root=str(measured)))
    out = subprocess.run([sys.executable, "-c", COLD_RUN.format(script=str(script))], cwd=REPO,
                         capture_output=True, text=True, timeout=300)
    assert out.returncode == 0, out.stderr[-2000:]
    assert out.stdout.strip().splitlines()[-1] == "[]", out.stdout


def test_the_pair_search_can_use_the_measured_faces(measured):
    at = open_page(measured)
    at.main.toggle(key="mc_nn_shown").set_value(True).run()
    at.main.toggle(key="mc_pairs_shown").set_value(True).run()
    before = [u for img in at.main.image for u in img.value][1]
    at.main.radio(key="mc_pair_pool").set_value("256 faces (as measured)").run()
    assert not at.exception, [e.value for e in at.exception]
    assert [u for img in at.main.image for u in img.value][1] != before
    assert "256 faces" in "\n".join(str(c.value) for c in at.main.caption)


@pytest.mark.skipif(not (REPO / "checkpoints" / "M4-all-s0" / "metrics.jsonl").exists(), reason="no shipped demo")
def test_the_shipped_m4_episode_is_listed_shaded_and_reachable(tmp_path):
    root = tmp_path / "runs"                  # M4 and M1 of the shipped demo: collapses, and a healthy run's two dips
    for name in ("M1-all-s0", "M4-all-s0"):
        shutil.copytree(REPO / "checkpoints" / name, root / name)
    at = open_page(root)
    assert not at.exception, [e.value for e in at.exception]
    listed = "\n".join(m.value for m in at.main.markdown)
    assert "collapsed 3900-3950 (2 snapshots): MS-SSIM 0.43 vs 0.10 real" in listed
    shaded = [s for c in specs(at) for s in c["series"] if s.get("id", "").startswith("episodes:M4-all-s0:")]
    assert shaded and [3875, 3975] in [[a["xAxis"], b["xAxis"]] for s in shaded for a, b in s["markArea"]["data"]]
    # M1's only episodes are its two low-coverage snapshots at 1350 and 1700, shaded in its own colour
    m1 = [[a["xAxis"], b["xAxis"]] for c in specs(at) for s in c["series"]
          if s.get("id", "").startswith("episodes:M1-all-s0:") for a, b in s["markArea"]["data"]]
    assert m1 and {tuple(span) for span in m1} == {(1325, 1375), (1675, 1725)}
    next(b for b in at.main.button if b.label == "Show 3900").click().run()
    assert at.session_state["iteration"] == 3900
    assert "**M4 at 3900**, worst of the episode" in "\n".join(m.value for m in at.main.markdown)
    assert [len(img.value) for img in at.main.image] == [1, 1]      # the worst faces and the best, one grid each
    # The sidebar jumps between flagged snapshots of the selected runs.
    next(b for b in at.sidebar.button if b.label == "› Flagged").click().run()
    assert at.session_state["iteration"] == 3950
    next(b for b in at.sidebar.button if b.label == "Flagged ‹").click().run()
    assert at.session_state["iteration"] == 3900

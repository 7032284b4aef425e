"""The explorer with untrusted run folders: planted pickles never run, paths cannot leave --runs, and a diverged
run is shown as diverged; each problem is one line on the page while the other runs still work."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest
import streamlit as st
from reliability_helpers import malicious_pickle
from streamlit.testing.v1 import AppTest
from tiny import tiny_run

import emogan.training.session as run_session
from emogan.training.losses import d_bce, g_bce

REPO = Path(__file__).resolve().parents[1]


def _script(repo: str, root: str, start: str, extra: list) -> None:
    import sys
    if repo not in sys.path:
        sys.path.insert(0, repo)
    import explorer_app
    explorer_app.main(["--runs", root, *extra], start=start)


def open_app(root: Path, start: str, *extra: str) -> AppTest:
    return AppTest.from_function(_script, args=(str(REPO), str(root), start, list(extra)), default_timeout=120).run()


def shown(at: AppTest) -> list[str]:
    """Every message the page and sidebar show: errors, warnings, infos, captions."""
    out = []
    for kind in ("error", "warning", "info", "caption"):
        out += [str(e.value) for e in at.get(kind)]
    return out


def one_line_saying(at: AppTest, *needles: str) -> str:
    hits = [m for m in shown(at) if all(n in m for n in needles)]
    assert hits, (needles, shown(at))
    assert all(len(h.strip().splitlines()) == 1 for h in hits), hits
    return hits[0]


@pytest.fixture(autouse=True)
def _fresh_caches():
    st.cache_data.clear()
    st.cache_resource.clear()


def test_planted_pickles_never_run_in_the_explorer(runs, tmp_path):
    marker = tmp_path / "MARKER"
    # M1: its last snapshot's weights swapped for a pickle; M2: stray pickles that nothing lists.
    (runs / "M1-all-s0" / "weights" / "G_000040.pt").write_bytes(malicious_pickle(marker))
    index = json.loads((runs / "M1-all-s0" / "index.json").read_text())
    index["snapshots"][-1]["weights"] = "weights/G_000040.pt"
    (runs / "M1-all-s0" / "index.json").write_text(json.dumps(index))
    for rel in ("model.pt", "G.pth", "weights/G_000040.pkl"):
        (runs / "M2-all-s0" / rel).write_bytes(malicious_pickle(marker))
    classifier = tmp_path / "classifier"
    classifier.mkdir()
    for suffix in (".pt", ".pth", ".pkl"):
        (classifier / f"classifier{suffix}").write_bytes(malicious_pickle(marker))

    at = open_app(runs, "latent")                                            # the page that loads weights
    assert not at.exception, [e.value for e in at.exception]
    one_line_saying(at, "G_000040.pt", "pickle-based weights are never loaded")
    at = open_app(runs, "side-by-side", "--classifier", str(classifier))
    at.sidebar.toggle(key="judge").set_value(True).run()                      # the classifier folder
    assert not at.exception
    message = one_line_saying(at, str(classifier))
    assert not marker.exists()
    assert any(f"classifier{suffix}" in message for suffix in (".pt", ".pth", ".pkl")), message
    assert "never loaded" in message, message


def test_runs_outside_the_root_are_refused_by_the_explorer(runs, tmp_path):
    outside = tmp_path / "outside"
    shutil.copytree(runs / "M3-all-s0", outside / "victim")
    (runs / "M9-link").symlink_to(outside / "victim", target_is_directory=True)
    # M2's grid and M4's weights at iteration 40 point out of their run folders.
    index = json.loads((runs / "M2-all-s0" / "index.json").read_text())
    index["snapshots"][-1]["grid"] = "../../outside/victim/samples/000040.png"
    (runs / "M2-all-s0" / "index.json").write_text(json.dumps(index))
    index = json.loads((runs / "M4-all-s0" / "index.json").read_text())
    index["snapshots"][-1]["weights"] = str(outside / "victim" / "weights" / "G_000040.safetensors")
    (runs / "M4-all-s0" / "index.json").write_text(json.dumps(index))

    at = open_app(runs, "side-by-side")
    assert not at.exception
    assert "M9-link" not in at.sidebar.multiselect[0].options             # never offered for selection
    one_line_saying(at, "M9-link", "outside the runs root")
    one_line_saying(at, "000040.png", "outside the run folder")
    at = open_app(runs, "latent")
    assert not at.exception
    one_line_saying(at, "G_000040.safetensors", "outside the run folder")


def test_a_diverged_run_is_shown_as_diverged(runs, monkeypatch):
    calls = {"n": 0}

    def d_loss_blowing_up(real, fake):
        calls["n"] += 1
        return d_bce(real, fake) * (float("nan") if calls["n"] >= 15 else 1.0)

    monkeypatch.setattr(run_session, "get_losses", lambda name: (d_loss_blowing_up, g_bce))
    shutil.rmtree(runs / "M5-all-s0")
    tiny_run(runs, "M5-all-s0", "M5", iters=40, snapshot_every=10)
    at = open_app(runs, "losses")                 # every page starts with the same problem lines
    assert not at.exception
    assert "M5-all-s0" in at.sidebar.multiselect[0].value                   # still selected, not hidden
    one_line_saying(at, "M5-all-s0 diverged", "15")

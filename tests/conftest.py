"""Shared pytest fixtures: the committed FER2013 fixture, the full dataset when present, an isolated cache."""

from __future__ import annotations

from pathlib import Path

import pytest
import torch

REPO = Path(__file__).resolve().parents[1]

# The tests' networks are tiny: a second intra-op thread buys nothing, and on a busy CPU the threads' spin-waits
# make every step many times slower. Subprocesses (the CLI tests) keep torch's default.
torch.set_num_threads(1)


@pytest.fixture
def fixture_root() -> Path:
    """tests/fixtures/fer2013: 12 train and 30 validation real FER2013 faces per emotion."""
    return REPO / "tests" / "fixtures" / "fer2013"


@pytest.fixture(scope="session")
def full_fer_root() -> Path:
    """The full dataset at ../shared/data/fer2013 from the repo root; tests using it skip where it is absent."""
    root = (REPO.parent / "shared" / "data" / "fer2013").resolve()
    if not (root / "train").is_dir():
        pytest.skip(f"full FER2013 not found at {root}")
    return root


@pytest.fixture(autouse=True)
def _isolated_cache(tmp_path_factory: pytest.TempPathFactory, monkeypatch: pytest.MonkeyPatch) -> None:
    # Tests must never read or fill the user's ~/.cache/emogan.
    monkeypatch.setenv("EMOGAN_CACHE", str(tmp_path_factory.mktemp("emogan-cache")))


@pytest.fixture(scope="session")
def explorer_runs(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Six finished tiny runs M1..M6 on the real-image fixture (40 iterations, a snapshot every 10): what the
    explorer's tests browse. Read-only: tests that damage a run copy it first."""
    from tiny import tiny_run

    from emogan.models import ORIGINAL_SIX

    root = tmp_path_factory.mktemp("explorer-runs")
    with pytest.MonkeyPatch.context() as mp:     # session-scoped: the per-test cache isolation is not active yet
        mp.setenv("EMOGAN_CACHE", str(tmp_path_factory.mktemp("emogan-cache-session")))
        for model in ORIGINAL_SIX:
            tiny_run(root, f"{model}-all-s0", model, iters=40, snapshot_every=10)
    return root


@pytest.fixture
def runs(explorer_runs: Path, tmp_path: Path) -> Path:
    """A private copy of the six tiny runs, free to damage."""
    import shutil

    root = tmp_path / "runs"
    shutil.copytree(explorer_runs, root)
    return root

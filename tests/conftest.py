"""Shared pytest fixtures: the committed FER2013 fixture, the full dataset when present, an isolated cache."""

from __future__ import annotations

from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]


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

"""Change maps: each face's change since the previous snapshot, and the change strip under an evolution strip."""

import numpy as np
import pytest

from emogan.runs.store import Run
from emogan.views.change_maps import since_previous, strip_changes
from emogan.views.gallery import evolution, heat


@pytest.fixture
def run(explorer_runs):
    return Run(explorer_runs / "M3-all-s0")             # snapshots at 10, 20, 30, 40; 16 fixed latents


def test_change_since_the_previous_snapshot_is_per_face_and_pixel(run):
    prev, diff = since_previous(run, 30, n=5)
    assert prev == 20 and diff.shape == (5, 48, 48) and diff.dtype == np.uint8
    a, b = run.grid(20)[:5].astype(int), run.grid(30)[:5].astype(int)
    np.testing.assert_array_equal(diff, np.abs(b - a))
    assert diff.max() > 0                                # the generator moved between the snapshots
    assert since_previous(run, 10) is None               # the first snapshot has nothing before it
    assert since_previous(run, 40)[1].shape == (16, 48, 48)


def test_the_change_strip_compares_each_column_with_its_own_previous_snapshot(run):
    used, frames = evolution(run, [10, 30, 40], n=3)
    maps, titles = strip_changes(run, used, frames)
    assert titles == ["first", "20..30", "30..40"]
    assert maps.shape == (3, 3, 48, 48, 3) and maps.dtype == np.uint8
    np.testing.assert_array_equal(maps[0], heat(np.zeros((3, 48, 48), np.uint8)))     # all dark
    np.testing.assert_array_equal(maps[1], heat(since_previous(run, 30, n=3)[1]))
    np.testing.assert_array_equal(maps[2], heat(since_previous(run, 40, n=3)[1]))

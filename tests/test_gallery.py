"""Faces from stored grids: snapping to snapshots, evolution strips, change since the previous snapshot, tiling."""

import io
import json
import shutil

import numpy as np
import pytest
from PIL import Image

from emogan.errors import RunError
from emogan.runs.store import Run
from emogan.views.gallery import (
    HEADER_PX,
    LABEL_PX,
    change,
    change_profile,
    compose,
    emotion_labels,
    evolution,
    faces_at,
    heat,
    png_bytes,
    previous_snapshot,
    run_change_profile,
    snap_note,
    strip,
)


@pytest.fixture
def run(explorer_runs):
    return Run(explorer_runs / "M3-all-s0")


def test_faces_at_snaps_to_the_nearest_snapshot(run):
    used, faces = faces_at(run, 23, n=5)
    assert used == 20 and faces.shape == (5, 48, 48) and faces.dtype == np.uint8
    np.testing.assert_array_equal(faces, run.grid(20)[:5])
    assert faces_at(run, 10_000)[0] == 40
    assert snap_note(20, 23) == "uses iteration 20, the nearest snapshot to 23"
    assert snap_note(20, 20) == ""


def test_evolution_orders_and_dedupes(run):
    used, frames = evolution(run, [40, 11, 9, 31], n=3)
    assert used == [10, 30, 40] and frames.shape == (3, 3, 48, 48)
    np.testing.assert_array_equal(frames[1], run.grid(30)[:3])


def test_change_profile_counts_per_snapshot_and_tolerates_gaps():
    a = np.zeros((4, 48, 48), np.uint8)
    b = a.copy()
    b[0] = 100                                            # one face of four redrawn entirely
    prof = change_profile({10: a, 20: b, 30: b, 40: None, 50: a})
    assert list(prof.iteration) == [10, 20, 30, 40, 50]
    assert np.isnan(prof.change[0]) and prof.change[1] == pytest.approx(25.0) and prof.change[2] == 0.0
    assert np.isnan(prof.change[3]) and np.isnan(prof.change[4])
    np.testing.assert_array_equal(change(b, a)[0], 100)
    assert previous_snapshot([10, 20, 30], 30) == 20 and previous_snapshot([10, 20, 30], 10) is None


def test_a_corrupt_grid_spoils_its_own_point_only(run, tmp_path):
    shutil.copytree(run.path, tmp_path / "r")
    (tmp_path / "r" / "samples" / "000020.png").write_bytes(b"not a png")
    prof = run_change_profile(Run(tmp_path / "r"))
    assert prof.change.isna().tolist() == [True, True, True, False]
    with pytest.raises(RunError, match="damaged sample grid"):
        faces_at(Run(tmp_path / "r"), 21)


def test_a_run_without_snapshots_says_so(run, tmp_path):
    shutil.copytree(run.path, tmp_path / "r")
    index = json.loads((tmp_path / "r" / "index.json").read_text())
    index["snapshots"] = []
    (tmp_path / "r" / "index.json").write_text(json.dumps(index))
    with pytest.raises(RunError, match="no snapshots yet"):
        faces_at(Run(tmp_path / "r"), 10)


def test_compose_places_each_face_and_labels_below():
    faces = np.stack([np.full((48, 48), 10 * i, np.uint8) for i in range(6)])
    im = compose(faces, ncols=4, pad=2)
    assert im.size == (4 * 50 - 2, 2 * 50 - 2) and im.mode == "L"
    arr = np.asarray(im)
    assert (arr[50:98, 50:98] == 50).all()               # face 5 at row 1, column 1
    labelled = compose(faces, ncols=3, pad=0, scale=2, labels=["a"] * 6)
    assert labelled.size == (3 * 96, 2 * (96 + 2 * LABEL_PX))
    arr = np.asarray(labelled)
    assert (arr[0:96, 96:192] == 10).all()               # scaled by 2, nearest neighbour
    assert (arr[96:96 + 2 * LABEL_PX] < 255).any()       # some ink in the band under the first row


def test_strip_puts_steps_in_columns_and_heat_is_rgb():
    frames = np.stack([np.full((2, 48, 48), 40 * t, np.uint8) for t in range(3)])   # (T=3, K=2)
    im = strip(frames, ["a", "b", "c"], pad=0)
    arr = np.asarray(im)
    assert im.size == (3 * 48, HEADER_PX + 2 * 48)
    assert (arr[HEADER_PX + 48:, 96:] == 80).all()       # second row, third column: step 2
    h = heat(np.array([[[0, 64, 200]]], np.uint8))
    assert h.shape == (1, 1, 3, 3) and h.dtype == np.uint8
    assert h[0, 0, 0].sum() < h[0, 0, 1].sum() < h[0, 0, 2].sum()
    assert compose(h.repeat(48, 1).repeat(16, 2), ncols=1).mode == "RGB"


def test_png_bytes_round_trip_and_emotion_labels():
    im = compose(np.zeros((2, 48, 48), np.uint8))
    assert Image.open(io.BytesIO(png_bytes(im))).size == im.size
    assert emotion_labels(["happy", "surprise"], [0.834, 0.5]) == ["hap 83%", "sur 50%"]

"""emogan.metrics.neighbours: nearest training faces and closest sample pairs for the explorer, and the data path."""

import numpy as np
import pytest
from tiny import FIXTURE

from emogan.data import load_faces
from emogan.errors import DataError
from emogan.metrics.neighbours import closest_sample_pairs, data_path, nearest_training


def test_a_copied_training_face_is_found_at_distance_zero(tmp_path):
    train = load_faces(FIXTURE, "train", cache_dir=tmp_path).images
    faces = np.stack([train[17], 255 - train[3]])
    idx, dist = nearest_training(faces, train, k=3)
    assert idx[0, 0] == 17 and dist[0, 0] < 1e-3 and dist[1, 0] > 0.1
    assert (np.diff(dist, axis=1) >= 0).all()


def test_closest_pairs_put_the_planted_duplicate_first(tmp_path):
    faces = load_faces(FIXTURE, "train", cache_dir=tmp_path).images[:20].copy()
    faces[11] = faces[4]
    pairs, dist = closest_sample_pairs(faces, k=4)
    assert tuple(pairs[0]) == (4, 11) and dist[0] < 1e-3 and len(pairs) == 4


def test_data_path_prefers_the_argument_then_the_environment_then_the_config(monkeypatch):
    run = type("Run", (), {"config": {"data": {"source": "/recorded"}}, "path": "runs/x"})()
    monkeypatch.delenv("EMOGAN_DATA", raising=False)
    assert str(data_path(run)) == "/recorded"
    monkeypatch.setenv("EMOGAN_DATA", "/env")
    assert str(data_path(run)) == "/env" and str(data_path(run, "/given")) == "/given"
    monkeypatch.delenv("EMOGAN_DATA")
    with pytest.raises(DataError, match="--data"):
        data_path(type("Run", (), {"config": {}, "path": "runs/x"})())


def test_gallery_tiles_pair_each_face_with_its_nearest_training_faces() -> None:
    train = load_faces(FIXTURE, "train")
    faces = train.images[:3]                       # training faces themselves: their nearest is themselves
    from emogan.metrics.neighbours import closest_pair_tiles, nearest_training_tiles
    from emogan.metrics.pixels import pixel_vectors
    tiles = nearest_training_tiles(faces, train.images, pixel_vectors(train.images), k=2, iteration=950)
    assert tiles.images.shape == (9, 48, 48) and tiles.ncols == 6 and tiles.near == 3 and tiles.median == 0.0
    assert (tiles.images[1] == faces[0]).all() and tiles.labels[:3] == ["it 950", "0.000", tiles.labels[2]]
    pairs = closest_pair_tiles(np.concatenate([faces, faces[:1]]), k=2)
    assert pairs.images.shape == (4, 48, 48) and pairs.near >= 1 and pairs.labels[1].endswith("*")

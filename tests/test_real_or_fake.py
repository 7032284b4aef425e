"""A Real-or-fake round: real FER2013 faces named by their files, equal odds, no face twice, one pipeline for every
face, and the answer lines a round gives."""

from __future__ import annotations

import io

import numpy as np
import pytest
from PIL import Image

from emogan.data import face_names, load_faces
from emogan.errors import DataError
from emogan.views import real_or_fake as rof


def _fakes(run: str, n: int, value: int = 7) -> rof.FacePool:
    return rof.grid_pool(run, 40, np.full((n, 48, 48), value, np.uint8))


def test_real_faces_are_the_validation_files_by_name(fixture_root):
    real = rof.load_real(fixture_root, "happy")
    assert len(real.ids) == 30 and all(i.startswith("validation/happy/") for i in real.ids)
    for i in (0, 17, 29):
        on_disk = np.asarray(Image.open(fixture_root / real.ids[i]).convert("L"))
        assert np.array_equal(on_disk, real.images[i])
    assert len(set(rof.load_real(fixture_root).ids)) == 7 * 30
    faces = load_faces(fixture_root, "validation", emotion="fear")
    assert face_names(faces) == sorted(face_names(faces))


def test_no_real_faces_name_what_to_pass(tmp_path, monkeypatch):
    monkeypatch.delenv("EMOGAN_DATA", raising=False)
    with pytest.raises(DataError, match=r"No real faces to mix in: start the explorer with `-- --data DIR`"):
        rof.real_source(None, [None, str(tmp_path / "gone")])
    with pytest.raises(DataError, match=r"No FER2013 found at /nowhere: .*--data DIR"):
        rof.real_source("/nowhere")
    (tmp_path / "train" / "happy").mkdir(parents=True)
    with pytest.raises(DataError, match=r"no validation/ folder in .*--data DIR"):
        rof.load_real(tmp_path)
    assert rof.real_source(None, [str(tmp_path)]) == tmp_path


def test_faces_come_with_equal_odds_and_never_twice(fixture_root):
    real = rof.load_real(fixture_root)
    fakes = [_fakes("A", 200, 1), _fakes("B", 200, 2)]
    rng = np.random.default_rng(0)
    truths, runs = [], []
    for _ in range(100):
        faces = rof.draw_faces(real, fakes, rof.ROUND, rng)
        assert len(faces) == rof.ROUND
        assert len({f.id for f in faces}) == len(faces)
        truths += [f.truth for f in faces]
        runs += [f.run for f in faces if f.truth == "fake"]
    share = truths.count("real") / len(truths)
    assert 0.45 < share < 0.55                  # 2000 fair coins: 4.5 standard deviations either side
    assert 0.42 < runs.count("A") / len(runs) < 0.58


def test_a_small_pool_ends_the_round_early_rather_than_tell(fixture_root):
    real = rof.load_real(fixture_root)
    faces = rof.draw_faces(real, [_fakes("A", 3)], 20, np.random.default_rng(3))
    fakes = [f for f in faces if f.truth == "fake"]
    assert len(fakes) <= 3 and len({f.id for f in faces}) == len(faces)
    assert len(faces) < 20


def test_every_face_goes_through_the_same_pipeline(fixture_root):
    real = rof.load_real(fixture_root)
    for image in (real.images[0], _fakes("A", 1).images[0]):
        png = rof.face_png(image)
        im = Image.open(io.BytesIO(png))
        assert im.format == "PNG" and im.size == (48 * rof.SCALE, 48 * rof.SCALE) and im.mode == "L"
        assert not im.info.get("dpi") and not getattr(im, "text", {})
        assert np.array_equal(np.asarray(im)[::rof.SCALE, ::rof.SCALE], image)


def test_a_round_records_each_answer_once(fixture_root):
    real = rof.load_real(fixture_root)
    rnd = rof.new_round(real, [_fakes("A", 30)], 6, np.random.default_rng(1))
    assert rnd.pool == (("A", 40),)
    first = rnd.current
    line = rnd.answer("real", 0)
    assert line["face"] == first.id and line["truth"] == first.truth and line["pool"] == [["A", 40]]
    assert (line["run"], line["iteration"]) == ((None, None) if first.truth == "real" else ("A", 40))
    assert rnd.answer("fake", 0) is None                   # a second click on the same face
    for k in range(1, 6):
        rnd.answer("fake", k)
    assert rnd.done and rnd.current is None and len(rnd.lines) == 6


def test_fresh_latents_are_new_each_seed_and_ask_conditional_models_for_emotions():
    z0, labels = rof.fresh_latents(8, 100, 0, conditional=False)
    z1, labels1 = rof.fresh_latents(8, 100, 1, conditional=True)
    assert z0.shape == (8, 100) and z0.dtype == np.float32 and labels is None
    assert not np.allclose(z0, z1) and labels1.shape == (8,) and labels1.max() < 7
    assert rof.round_emotion(["happy", "happy"]) == "happy" and rof.round_emotion(["happy", "all"]) == "all"

"""Tests for emogan.data: every dataset layout, emotion selection, conversion, errors and the cache."""

from __future__ import annotations

import hashlib
import shutil
import warnings
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from emogan import data
from emogan.data import FaceSet, class_counts, default_cache_dir, load_faces
from emogan.emotions import EMOTIONS, FER2013_TRAIN_COUNTS
from emogan.errors import DataError

FIXTURE_CSV = Path(__file__).parent / "fixtures" / "fer2013.csv"
N_TRAIN, N_VALIDATION = 12, 30  # per emotion in the fixture
# validation/ class counts from ../shared/data/README.md
FER2013_VALIDATION_COUNTS = {
    "angry": 467, "disgust": 56, "fear": 496, "happy": 895, "sad": 653, "surprise": 415, "neutral": 607,
}


def _raises(match_file: str | Path, *args, **kwargs) -> str:
    """Run load_faces expecting a DataError; the message must be one line naming `match_file`."""
    with pytest.raises(DataError) as info:
        load_faces(*args, **kwargs)
    msg = str(info.value)
    assert "\n" not in msg
    assert str(match_file) in msg
    return msg


def _copy_tree(src: Path, dst: Path) -> Path:
    shutil.copytree(src, dst)
    return dst


def _fail_decode(path: str) -> None:
    raise AssertionError(f"decoded {path}: the cache should have served this load")


def _write_csv(path: Path, rows: list[str], header: str = "emotion,pixels,Usage") -> Path:
    path.write_text("\n".join([header, *rows]) + "\n")
    return path


def _pixels(value: int = 7) -> str:
    return " ".join([str(value)] * 2304)


# ------------------------------------------------------------------------------------------------ layouts

def test_train_validation_tree(fixture_root: Path) -> None:
    train = load_faces(fixture_root, "train")
    assert isinstance(train, FaceSet)
    assert train.images.shape == (7 * N_TRAIN, 48, 48) and train.images.dtype == np.uint8
    assert train.labels.dtype == np.int64
    assert class_counts(train.labels) == {e: N_TRAIN for e in EMOTIONS}
    assert (train.split, train.source, train.n_converted) == ("train", str(fixture_root), 0)
    assert len(train) == 7 * N_TRAIN

    validation = load_faces(fixture_root, "Validation")  # split names are case-insensitive
    assert validation.split == "validation"
    assert class_counts(validation.labels) == {e: N_VALIDATION for e in EMOTIONS}
    assert validation.content_hash != train.content_hash


def test_images_match_the_files_in_label_then_name_order(fixture_root: Path) -> None:
    faces = load_faces(fixture_root, "train")
    expected = [p for e in EMOTIONS for p in sorted((fixture_root / "train" / e).iterdir(), key=lambda p: p.name)]
    assert faces.labels.tolist() == [EMOTIONS.index(p.parent.name) for p in expected]
    for i in (0, 13, len(expected) - 1):
        np.testing.assert_array_equal(faces.images[i], np.asarray(Image.open(expected[i])))


def test_train_test_repack(fixture_root: Path, tmp_path: Path) -> None:
    root = tmp_path / "repack"
    shutil.copytree(fixture_root / "train", root / "train")
    shutil.copytree(fixture_root / "validation", root / "test")
    test = load_faces(root, "test")
    assert test.split == "test"
    np.testing.assert_array_equal(test.images, load_faces(fixture_root, "validation").images)

    msg = _raises(root, root, "validation")
    assert "no validation/ folder" in msg and "train/" in msg and "test/" in msg


def test_images_subfolder_layout(fixture_root: Path, tmp_path: Path) -> None:
    root = tmp_path / "kaggle"
    _copy_tree(fixture_root, root / "images")
    for split in ("train", "validation"):
        faces = load_faces(root, split)
        assert faces.content_hash == load_faces(fixture_root, split).content_hash


def test_plain_emotion_folders_ignore_the_split(fixture_root: Path, tmp_path: Path) -> None:
    root = _copy_tree(fixture_root / "train", tmp_path / "faces")
    faces = load_faces(root, "validation")  # no split folders: the split asked for does not matter
    assert faces.split == ""
    assert faces.content_hash == load_faces(fixture_root, "train").content_hash


def test_csv_rows_equal_the_images_they_were_built_from(fixture_root: Path) -> None:
    train = load_faces(FIXTURE_CSV, "train")
    assert (train.split, train.source, len(train)) == ("train", str(FIXTURE_CSV), 21)
    tree = load_faces(fixture_root, "train")
    first3 = np.concatenate([np.flatnonzero(tree.labels == i)[:3] for i in range(7)])
    np.testing.assert_array_equal(train.images, tree.images[first3])
    np.testing.assert_array_equal(train.labels, tree.labels[first3])

    validation = load_faces(FIXTURE_CSV, "validation")
    assert class_counts(validation.labels) == {e: 2 for e in EMOTIONS}


def test_csv_usage_maps_to_splits(tmp_path: Path) -> None:
    path = _write_csv(tmp_path / "f.csv", [f"3,{_pixels(1)},Training", f"5,{_pixels(2)},PrivateTest",
                                           f"6,{_pixels(3)},PublicTest", f"0,{_pixels(4)},PrivateTest"])
    test = load_faces(path, "test")
    assert test.labels.tolist() == [5, 0]
    assert test.images[:, 0, 0].tolist() == [2, 4]
    assert load_faces(path, "validation").labels.tolist() == [6]


def test_csv_tolerates_reordered_spaced_header_and_blank_end(tmp_path: Path) -> None:
    # icml_face_data.csv, another common copy, writes "emotion, Usage, pixels".
    path = tmp_path / "icml.csv"
    path.write_text(f"emotion, Usage, pixels\n4,Training,{_pixels(9)}\n\n")
    faces = load_faces(path)
    assert faces.labels.tolist() == [4] and int(faces.images.max()) == 9


# ------------------------------------------------------------------------------------------------ selection

def test_emotion_selection_is_case_insensitive(fixture_root: Path) -> None:
    everything = load_faces(fixture_root, "train", "all")
    happy = load_faces(fixture_root, "train", "Happy")
    assert happy.labels.tolist() == [EMOTIONS.index("happy")] * N_TRAIN
    np.testing.assert_array_equal(happy.images, everything.images[everything.labels == 3])
    assert happy.content_hash == hashlib.sha256(happy.images.tobytes() + happy.labels.tobytes()).hexdigest()
    assert load_faces(fixture_root, "train", "ALL").content_hash == everything.content_hash


def test_unknown_emotion_lists_valid_names(fixture_root: Path) -> None:
    with pytest.raises(DataError) as info:
        load_faces(fixture_root, "train", "contempt")
    msg = str(info.value)
    assert "'contempt'" in msg and all(e in msg for e in EMOTIONS) and "\n" not in msg


def test_unknown_split(fixture_root: Path) -> None:
    with pytest.raises(DataError, match="unknown split 'dev'"):
        load_faces(fixture_root, "dev")


def test_order_does_not_depend_on_file_creation_order(fixture_root: Path, tmp_path: Path) -> None:
    root = tmp_path / "shuffled"
    rng = np.random.default_rng(0)
    for e in EMOTIONS:
        files = sorted((fixture_root / "train" / e).iterdir())
        (root / e).mkdir(parents=True)
        for i in rng.permutation(len(files)):
            shutil.copyfile(files[i], root / e / files[i].name)
    a = load_faces(root)
    b = load_faces(root, cache_dir=tmp_path / "other-cache")
    assert a.content_hash == b.content_hash == load_faces(fixture_root).content_hash


def test_class_counts_names_every_emotion() -> None:
    assert class_counts(np.array([3, 3, 0])) == {
        "angry": 1, "disgust": 0, "fear": 0, "happy": 2, "sad": 0, "surprise": 0, "neutral": 0,
    }


def test_default_cache_dir(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("EMOGAN_CACHE", str(tmp_path / "c"))
    assert default_cache_dir() == tmp_path / "c"
    monkeypatch.delenv("EMOGAN_CACHE")
    monkeypatch.setenv("HOME", str(tmp_path))
    assert default_cache_dir() == tmp_path / ".cache" / "emogan"


# ------------------------------------------------------------------------------------------------ conversion and skipping

def test_rgb_and_64px_images_are_converted_with_one_warning(fixture_root: Path, tmp_path: Path) -> None:
    root = _copy_tree(fixture_root / "train", tmp_path / "faces")
    src = sorted((root / "sad").iterdir())[0]
    gray = np.asarray(Image.open(src))
    Image.fromarray(gray).convert("RGB").save(root / "sad" / "rgb.png")
    Image.fromarray(gray).resize((64, 64)).save(root / "sad" / "big.png")
    Image.fromarray(gray).convert("RGBA").save(root / "fear" / "rgba.png")
    with pytest.warns(UserWarning) as record:
        faces = load_faces(root)
    converted = [w for w in record if "converted" in str(w.message)]
    assert len(converted) == 1 and "3 of 87" in str(converted[0].message)
    assert faces.n_converted == 3 and faces.images.shape == (87, 48, 48)
    sad = faces.images[faces.labels == EMOTIONS.index("sad")]
    # "Training_*" < "big.png" < "rgb.png": the RGB copy, last, decodes back to the original gray face.
    np.testing.assert_array_equal(sad[-1], gray)
    with pytest.warns(UserWarning, match="converted 2 of 14"):
        assert load_faces(root, emotion="sad").n_converted == 2  # counted per selection, also from the cache


def test_hidden_and_non_image_files_are_skipped(fixture_root: Path, tmp_path: Path) -> None:
    root = _copy_tree(fixture_root, tmp_path / "fer")
    (root / "train" / ".DS_Store").write_bytes(b"\0junk")
    (root / "train" / "angry" / ".DS_Store").write_bytes(b"\0junk")
    (root / "train" / ".git").mkdir()
    (root / "train" / "README.txt").write_text("faces")
    (root / "train" / "happy" / "notes.txt").write_text("not an image")
    (root / "train" / "happy" / "._Training_1.jpg").write_bytes(b"macOS resource fork")
    shutil.copyfile(sorted((root / "train" / "disgust").iterdir())[0], root / "train" / "disgust" / "UPPER.JPG")
    faces = load_faces(root)
    assert len(faces) == 7 * N_TRAIN + 1


# ------------------------------------------------------------------------------------------------ errors

def test_missing_path(tmp_path: Path) -> None:
    _raises(tmp_path / "nope", tmp_path / "nope")


def test_path_neither_folder_nor_csv(tmp_path: Path) -> None:
    path = tmp_path / "faces.zip"
    path.write_bytes(b"PK")
    _raises(path, path)


def test_folder_without_split_or_emotion_folders(tmp_path: Path) -> None:
    (tmp_path / "empty").mkdir()
    _raises(tmp_path / "empty", tmp_path / "empty")


@pytest.mark.parametrize("damage", ["garbage", "truncated", "empty"])
def test_undecodable_image_names_the_file(fixture_root: Path, tmp_path: Path, damage: str) -> None:
    root = _copy_tree(fixture_root, tmp_path / "fer")
    bad = sorted((root / "train" / "surprise").iterdir())[5]
    raw = bad.read_bytes()
    bad.write_bytes({"garbage": b"not a jpeg at all" * 20, "truncated": raw[: len(raw) // 2], "empty": b""}[damage])
    msg = _raises(bad, root)
    assert msg.startswith("cannot read image")


def test_truncated_jpeg_missing_only_its_end_marker_fails(fixture_root: Path, tmp_path: Path) -> None:
    root = _copy_tree(fixture_root / "train", tmp_path / "faces")
    bad = sorted((root / "angry").iterdir())[0]
    bad.write_bytes(bad.read_bytes()[:-2])
    _raises(bad, root)


def test_unknown_emotion_folder(fixture_root: Path, tmp_path: Path) -> None:
    root = _copy_tree(fixture_root, tmp_path / "fer")
    (root / "train" / "happy").rename(root / "train" / "happyy")
    msg = _raises(root / "train" / "happyy", root)
    assert "unknown emotion folder" in msg and all(e in msg for e in EMOTIONS)
    # the plain layout checks its folders the same way
    msg = _raises(root / "train" / "happyy", root / "train")
    assert "unknown emotion folder" in msg


def test_empty_selection_names_path_split_and_emotion(fixture_root: Path, tmp_path: Path) -> None:
    root = _copy_tree(fixture_root, tmp_path / "fer")
    shutil.rmtree(root / "train" / "disgust")
    msg = _raises(root, root, "train", "disgust")
    assert "'train'" in msg and "'disgust'" in msg


def test_empty_emotion_folder_is_fine_but_an_empty_split_is_not(fixture_root: Path, tmp_path: Path) -> None:
    root = _copy_tree(fixture_root, tmp_path / "fer")
    for f in (root / "train" / "fear").iterdir():
        f.unlink()
    assert class_counts(load_faces(root).labels)["fear"] == 0
    for e in EMOTIONS:
        shutil.rmtree(root / "train" / e)
        (root / "train" / e).mkdir()
    msg = _raises(root, root, "train")
    assert "no images" in msg and "'train'" in msg and "'all'" in msg


def test_csv_without_split_rows_is_an_empty_selection() -> None:
    msg = _raises(FIXTURE_CSV, FIXTURE_CSV, "test")
    assert "'test'" in msg


@pytest.mark.parametrize("row, problem", [
    (f"3,{_pixels()}", "expected 3 columns, found 2"),
    (f"3,{_pixels()},Training,extra", "expected 3 columns, found 4"),
    (f"3,{' '.join(['7'] * 2303)},Training", "2303 values, expected 2304"),
    (f"3,{_pixels()[:-1]}256,Training", "pixel value 256 is outside 0..255"),
    (f"3,{_pixels()[:-1]}x,Training", "pixel value 'x' is not an integer"),
    (f"3,{_pixels()[:-1]}-1,Training", "pixel value -1 is outside 0..255"),
    (f"happy,{_pixels()},Training", "emotion 'happy' is not a number"),
    (f"7,{_pixels()},Training", "unknown emotion label 7"),
    (f"3,{_pixels()},Holdout", "unknown Usage 'Holdout'"),
])
def test_malformed_csv_row_names_file_and_line(tmp_path: Path, row: str, problem: str) -> None:
    path = _write_csv(tmp_path / "fer.csv", [f"0,{_pixels()},Training", row])
    msg = _raises(f"{path}:3:", path)
    assert problem in msg


def test_csv_missing_header_columns(tmp_path: Path) -> None:
    path = _write_csv(tmp_path / "fer.csv", [f"0,{_pixels()}"], header="emotion,pixels")
    msg = _raises(f"{path}:1:", path)
    assert "Usage" in msg


def test_empty_csv(tmp_path: Path) -> None:
    path = tmp_path / "fer.csv"
    path.write_text("")
    _raises(f"{path}:1:", path)


# ------------------------------------------------------------------------------------------------ cache

def test_second_load_is_served_from_the_cache(
    fixture_root: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    cache = tmp_path / "cache"
    first = load_faces(fixture_root, "validation", cache_dir=cache)
    assert len(list(cache.glob("faces-*.npz"))) == 1
    monkeypatch.setattr(data, "_decode", _fail_decode)
    again = load_faces(fixture_root, "validation", cache_dir=cache)
    assert again.content_hash == first.content_hash
    np.testing.assert_array_equal(again.images, first.images)
    # every emotion of a split comes out of the one cached split
    assert len(load_faces(fixture_root, "validation", "neutral", cache_dir=cache)) == N_VALIDATION
    assert len(list(cache.glob("faces-*.npz"))) == 1


def test_csv_second_load_is_served_from_the_cache(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    first = load_faces(FIXTURE_CSV, "train", cache_dir=tmp_path)
    monkeypatch.setattr(data, "_read_csv", lambda *a: pytest.fail("CSV parsed again"))
    assert load_faces(FIXTURE_CSV, "train", cache_dir=tmp_path).content_hash == first.content_hash


def test_cache_is_rebuilt_when_a_file_changes(fixture_root: Path, tmp_path: Path) -> None:
    root = _copy_tree(fixture_root / "train", tmp_path / "faces")
    cache = tmp_path / "cache"
    before = load_faces(root, cache_dir=cache)
    target = sorted((root / "happy").iterdir())[0]
    replacement = np.random.default_rng(1).integers(0, 256, (48, 48), dtype=np.uint8)
    Image.fromarray(replacement).save(target, format="PNG")  # new size and mtime under the same name
    after = load_faces(root, cache_dir=cache)
    assert after.content_hash != before.content_hash
    np.testing.assert_array_equal(after.images[EMOTIONS.index("happy") * N_TRAIN], replacement)
    assert len(list(cache.glob("faces-*.npz"))) == 1  # the stale cache was removed


def test_cache_notices_added_and_removed_files(fixture_root: Path, tmp_path: Path) -> None:
    root = _copy_tree(fixture_root / "train", tmp_path / "faces")
    assert len(load_faces(root)) == 7 * N_TRAIN
    sorted((root / "angry").iterdir())[0].unlink()
    assert len(load_faces(root)) == 7 * N_TRAIN - 1


@pytest.mark.parametrize("damage", ["garbage", "truncated", "wrong hash"])
def test_damaged_cache_is_ignored_and_rebuilt(fixture_root: Path, tmp_path: Path, damage: str) -> None:
    cache = tmp_path / "cache"
    first = load_faces(fixture_root, cache_dir=cache)
    (path,) = cache.glob("faces-*.npz")
    if damage == "garbage":
        path.write_bytes(b"\x00" * 100)
    elif damage == "truncated":
        path.write_bytes(path.read_bytes()[:5000])
    else:
        with np.load(path) as z:
            arrays = dict(z)
        arrays["images"] = arrays["images"].copy()
        arrays["images"][0, 0, 0] ^= 1
        np.savez(path, **arrays)
    with pytest.warns(UserWarning, match="damaged cache"):
        again = load_faces(fixture_root, cache_dir=cache)
    assert again.content_hash == first.content_hash
    np.testing.assert_array_equal(again.images, first.images)
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # rebuilt: the next load is clean
        load_faces(fixture_root, cache_dir=cache)


def test_unwritable_cache_dir_only_warns(fixture_root: Path, tmp_path: Path) -> None:
    blocker = tmp_path / "not-a-dir"
    blocker.write_text("a file where the cache folder should be")  # fails even for root, unlike chmod
    with pytest.warns(UserWarning, match="continuing without a cache"):
        faces = load_faces(fixture_root, cache_dir=blocker / "cache")
    assert len(faces) == 7 * N_TRAIN


# ------------------------------------------------------------------------------------------------ full dataset

@pytest.fixture(scope="module")
def full_cache(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("full-cache")


def test_full_train_split_matches_the_readme(full_fer_root: Path, full_cache: Path) -> None:
    faces = load_faces(full_fer_root, "train", cache_dir=full_cache)
    assert len(faces) == 28_709 and faces.n_converted == 0
    assert class_counts(faces.labels) == FER2013_TRAIN_COUNTS


def test_full_train_second_load_uses_the_cache(
    full_fer_root: Path, full_cache: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    first = load_faces(full_fer_root, "train", cache_dir=full_cache)  # cached by the test above, or built now
    monkeypatch.setattr(data, "_decode", _fail_decode)
    again = load_faces(full_fer_root, "train", "disgust", cache_dir=full_cache)
    assert len(again) == FER2013_TRAIN_COUNTS["disgust"]
    np.testing.assert_array_equal(again.images, first.images[first.labels == EMOTIONS.index("disgust")])


def test_full_validation_split_matches_the_readme(full_fer_root: Path, full_cache: Path) -> None:
    faces = load_faces(full_fer_root, "validation", cache_dir=full_cache)
    assert len(faces) == 3_589 and class_counts(faces.labels) == FER2013_VALIDATION_COUNTS

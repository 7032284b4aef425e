"""Loading FER2013 faces (folder trees or fer2013.csv) into uint8 arrays, with a validated on-disk cache."""

from __future__ import annotations

import csv
import hashlib
import io
import os
import warnings
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from PIL import Image

from emogan.emotions import EMOTIONS, emotion_index
from emogan.errors import DataError
from emogan.images import SIZE
from emogan.runs.atomic import OutputError, atomic_write_bytes

SPLITS: tuple[str, ...] = ("train", "validation", "test")
IMAGE_SUFFIXES = frozenset({".jpg", ".jpeg", ".png", ".bmp", ".gif", ".webp"})
CSV_USAGE = {"training": "train", "publictest": "validation", "privatetest": "test"}
CSV_COLUMNS = ("emotion", "pixels", "Usage")
# Bump when the cache layout or the decoding changes, so old cache files stop matching.
CACHE_VERSION = 1
# Files per decoding task: big enough to amortise scheduling, small enough that an error stops work early.
_CHUNK = 512


@dataclass(frozen=True)
class FaceSet:
    images: np.ndarray  # (N, 48, 48) uint8
    labels: np.ndarray  # (N,) int64, index into EMOTIONS
    source: str  # the path it came from
    split: str  # "train" | "validation" | "test" | "" (plain emotion folders)
    content_hash: str  # sha256 hex of images+labels bytes: the dataset id a run records
    n_converted: int  # images that were not 48x48 grayscale and got converted

    def __len__(self) -> int:
        return len(self.labels)


def default_cache_dir() -> Path:
    """$EMOGAN_CACHE if set, else ~/.cache/emogan."""
    env = os.environ.get("EMOGAN_CACHE")
    return Path(env).expanduser() if env else Path.home() / ".cache" / "emogan"


def class_counts(labels: np.ndarray) -> dict[str, int]:
    """Images per emotion, every emotion present (zeros included), in label order."""
    counts = np.bincount(np.asarray(labels, dtype=np.int64), minlength=len(EMOTIONS))
    return {name: int(counts[i]) for i, name in enumerate(EMOTIONS)}


def load_faces(
    path: str | os.PathLike, split: str = "train", emotion: str = "all", cache_dir: Path | None = None
) -> FaceSet:
    """Faces of one split (and one emotion or all) from a FER2013 folder tree or fer2013.csv.

    The whole split is decoded once and cached; the emotion is selected afterwards, so every emotion
    of a split shares one cache file.
    """
    path = Path(path)
    split = _check_split(split)
    wanted = _check_emotion(emotion)
    if not path.exists():
        raise DataError(f"dataset not found: {path}")
    if path.is_dir():
        source = _tree_source(path, split)
    elif path.suffix.lower() == ".csv":
        source = _CsvSource(path, split)
    else:
        raise DataError(f"not a dataset folder or a .csv file: {path}")

    cache_root = Path(cache_dir) if cache_dir is not None else default_cache_dir()
    cache_file = cache_root / f"faces-{source.key()}-{source.fingerprint()}.npz"
    cached = _read_cache(cache_file)
    if cached is None:
        images, labels, converted = source.load()
        if len(labels) == 0:
            raise DataError(f"no images for {source.subset_name(emotion)}")
        full_hash = content_hash(images, labels)
        if _write_cache(cache_file, images, labels, converted, full_hash):
            _remove_stale(cache_root, source.key(), keep=cache_file)
    else:
        images, labels, converted, full_hash = cached

    if wanted is None:
        digest = full_hash
    else:
        keep = labels == wanted
        images, labels, converted = images[keep], labels[keep], converted[keep]
        if len(labels) == 0:
            raise DataError(f"no images for {source.subset_name(emotion)}")
        digest = content_hash(images, labels)
    n_converted = int(converted.sum())
    if n_converted:
        warnings.warn(
            f"converted {n_converted} of {len(labels)} images in {path} to {SIZE}x{SIZE} grayscale", stacklevel=2
        )
    return FaceSet(images, labels, str(path), source.split, digest, n_converted)


def face_names(faces: FaceSet) -> list[str]:
    """A name for each face of `faces`, in its order: the image file's path inside the dataset folder
    (`validation/happy/PublicTest_1.jpg`) for a folder tree, else `<file>:<split>:<n>` (fer2013.csv has no names)."""
    path = Path(faces.source)
    if path.is_dir():
        kept = set(np.unique(faces.labels).tolist())
        # The fingerprint line starts with the path inside the data root, in the order load() decoded the files.
        names = [f[3].split("\t", 1)[0] for f in _tree_source(path, faces.split or "train").files if f[0] in kept]
        if len(names) == len(faces):
            return names
    return [f"{path.name}:{faces.split}:{i}" for i in range(len(faces))]


def content_hash(images: np.ndarray, labels: np.ndarray) -> str:
    """sha256 hex over the images' bytes then the labels' bytes (int64 little-endian)."""
    h = hashlib.sha256()
    h.update(np.ascontiguousarray(images, dtype=np.uint8).data)
    h.update(np.ascontiguousarray(labels, dtype="<i8").data)
    return h.hexdigest()


def _check_split(split: str) -> str:
    key = split.strip().lower()
    if key not in SPLITS:
        raise DataError(f"unknown split {split!r}: expected one of {', '.join(SPLITS)}")
    return key


def _check_emotion(emotion: str) -> int | None:
    """The label to keep, or None for all."""
    if emotion.strip().lower() == "all":
        return None
    if emotion.strip().lower() not in EMOTIONS:
        raise DataError(f"unknown emotion {emotion!r}: expected all or one of {', '.join(EMOTIONS)}")
    return emotion_index(emotion)


def _visible(name: str) -> bool:
    # Finder, git and zip tools leave these next to real data; they are never emotions or images.
    return not name.startswith(".") and name != "__MACOSX"


def _subdirs(folder: Path) -> dict[str, Path]:
    """Visible subfolders by lower-cased name."""
    try:
        entries = sorted(os.scandir(folder), key=lambda e: e.name)
    except OSError as e:
        raise DataError(f"cannot list {folder}: {e.strerror or e}") from None
    return {e.name.lower(): Path(e.path) for e in entries if _visible(e.name) and e.is_dir()}


# ---------------------------------------------------------------------------------------------- folder trees

class _TreeSource:
    """Emotion folders of one split (or of a plain folder): which files, their fingerprint, their pixels."""

    def __init__(self, root: Path, emotion_dirs: list[Path], split: str, where: str):
        self.root = root  # fingerprint paths are relative to this
        self.split = split
        self.where = where  # the folder the split lives in, for messages
        files = []  # (label, name, path, fingerprint line)
        for folder in emotion_dirs:
            label = _folder_label(folder)
            prefix = Path(os.path.relpath(folder, root)).as_posix()  # once per folder: relpath is slow
            try:
                entries = list(os.scandir(folder))
            except OSError as e:
                raise DataError(f"cannot list {folder}: {e.strerror or e}") from None
            for e in entries:
                suffix = "." + e.name.rpartition(".")[2].lower()
                if suffix in IMAGE_SUFFIXES and _visible(e.name) and e.is_file():
                    st = e.stat()
                    files.append((label, e.name, e.path, f"{prefix}/{e.name}\t{st.st_size}\t{st.st_mtime_ns}\n"))
        # Label, then file name: the same folder always gives the same array order.
        files.sort()
        self.files = files

    def key(self) -> str:
        return _short_hash(f"{self.root.resolve()}\n{self.split}")

    def fingerprint(self) -> str:
        h = hashlib.sha256(f"tree v{CACHE_VERSION}\n".encode())
        h.update("".join(f[3] for f in self.files).encode())
        return h.hexdigest()[:32]

    def subset_name(self, emotion: str) -> str:
        split = f"split {self.split!r}, " if self.split else ""
        return f"{split}emotion {emotion!r} in {self.where}"

    def load(self) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        n = len(self.files)
        images = np.empty((n, SIZE, SIZE), dtype=np.uint8)
        converted = np.zeros(n, dtype=bool)
        labels = np.array([f[0] for f in self.files], dtype=np.int64)
        paths = [f[2] for f in self.files]

        def work(start: int) -> None:
            for i in range(start, min(start + _CHUNK, n)):
                images[i], converted[i] = _decode(paths[i])

        # PIL releases the GIL while decoding, so threads give real parallelism here.
        with ThreadPoolExecutor(max_workers=min(8, os.cpu_count() or 1)) as pool:
            futures = [pool.submit(work, s) for s in range(0, n, _CHUNK)]
            try:
                for f in futures:  # in order, so the first bad file in sort order is the one reported
                    f.result()
            except BaseException:
                for f in futures:
                    f.cancel()
                raise
        return images, labels, converted


def _folder_label(folder: Path) -> int:
    key = folder.name.lower()
    if key not in EMOTIONS:
        raise DataError(f"unknown emotion folder {folder}: expected one of {', '.join(EMOTIONS)}")
    return EMOTIONS.index(key)


def _tree_source(path: Path, split: str) -> _TreeSource:
    """Work out the layout of a folder: <split>/<emotion>/, images/<split>/<emotion>/ or <emotion>/."""
    dirs = _subdirs(path)
    root = path
    if not any(s in dirs for s in SPLITS) and "images" in dirs:
        inner = _subdirs(dirs["images"])
        if any(s in inner for s in SPLITS):
            root, dirs = dirs["images"], inner
    if any(s in dirs for s in SPLITS):
        if split not in dirs:
            found = ", ".join(f"{d}/" for d in dirs if d in SPLITS)
            raise DataError(f"no {split}/ folder in {root}: it has {found}")
        split_dir = dirs[split]
        return _TreeSource(root, list(_subdirs(split_dir).values()), split, str(split_dir))
    if not dirs:
        raise DataError(f"no split folders ({', '.join(SPLITS)}) or emotion folders in {path}")
    # A plain folder of emotion folders has no split: the one asked for is ignored.
    return _TreeSource(path, list(dirs.values()), "", str(path))


def _decode(path: str) -> tuple[np.ndarray, bool]:
    """One face as (48, 48) uint8 and whether it had to be converted. Truncated files fail, never get padded."""
    try:
        with Image.open(path) as im:
            im.load()
            converted = im.mode != "L" or im.size != (SIZE, SIZE)
            if im.mode != "L":
                im = im.convert("L")
            if im.size != (SIZE, SIZE):
                # LANCZOS keeps edges sharp when shrinking and rings least when enlarging small faces.
                im = im.resize((SIZE, SIZE), Image.Resampling.LANCZOS)
            return np.asarray(im, dtype=np.uint8), converted
    except (OSError, ValueError, SyntaxError, Image.DecompressionBombError) as e:
        reason = " ".join(str(e).split()) or type(e).__name__
        raise DataError(f"cannot read image {path}: {reason}") from None


# ---------------------------------------------------------------------------------------------- fer2013.csv

class _CsvSource:
    """The rows of fer2013.csv whose Usage maps to one split."""

    def __init__(self, path: Path, split: str):
        self.path = path
        self.split = split
        try:
            self.stat = path.stat()
        except OSError as e:
            raise DataError(f"cannot read {path}: {e.strerror or e}") from None

    def key(self) -> str:
        return _short_hash(f"{self.path.resolve()}\n{self.split}")

    def fingerprint(self) -> str:
        return _short_hash(f"csv v{CACHE_VERSION}\n{self.stat.st_size}\n{self.stat.st_mtime_ns}")

    def subset_name(self, emotion: str) -> str:
        return f"split {self.split!r}, emotion {emotion!r} in {self.path}"

    def load(self) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        images, labels = _read_csv(self.path, self.split)
        return images, labels, np.zeros(len(labels), dtype=bool)


def _read_csv(path: Path, split: str) -> tuple[np.ndarray, np.ndarray]:
    """Every row is checked for shape, label and Usage; pixels are parsed only for the rows of `split`."""
    try:
        with open(path, newline="", encoding="utf-8-sig") as f:
            return _parse_csv(f, path, split)
    except (OSError, UnicodeDecodeError, csv.Error) as e:
        raise DataError(f"cannot read {path}: {' '.join(str(e).split())}") from None


def _parse_csv(f: io.TextIOBase, path: Path, split: str) -> tuple[np.ndarray, np.ndarray]:
    reader = csv.reader(f)
    header = next(reader, None)
    # Some re-exports write " Usage" or reorder the columns; names are matched loosely.
    names = [h.strip().lower() for h in header or []]
    missing = [c for c in CSV_COLUMNS if c.lower() not in names]
    if missing:
        raise DataError(f"{path}:1: missing column(s) {', '.join(missing)}: expected header {','.join(CSV_COLUMNS)}")
    i_emotion, i_pixels, i_usage = (names.index(c.lower()) for c in CSV_COLUMNS)
    images, labels = [], []
    for row in reader:
        where = f"{path}:{reader.line_num}"
        if not row or (len(row) == 1 and not row[0].strip()):
            continue  # blank line, e.g. at the end of the file
        if len(row) != len(names):
            raise DataError(f"{where}: expected {len(names)} columns, found {len(row)}")
        usage = CSV_USAGE.get(row[i_usage].strip().lower())
        if usage is None:
            raise DataError(f"{where}: unknown Usage {row[i_usage]!r}: expected Training, PublicTest or PrivateTest")
        try:
            label = int(row[i_emotion])
        except ValueError:
            raise DataError(f"{where}: emotion {row[i_emotion]!r} is not a number 0..{len(EMOTIONS) - 1}") from None
        if not 0 <= label < len(EMOTIONS):
            raise DataError(f"{where}: unknown emotion label {label}: expected 0..{len(EMOTIONS) - 1}")
        if usage == split:
            images.append(_parse_pixels(row[i_pixels], where))
            labels.append(label)
    if not images:
        return np.empty((0, SIZE, SIZE), np.uint8), np.empty(0, np.int64)
    return np.stack(images), np.array(labels, dtype=np.int64)


def _parse_pixels(text: str, where: str) -> np.ndarray:
    fields = text.split()
    if len(fields) != SIZE * SIZE:
        raise DataError(f"{where}: pixels has {len(fields)} values, expected {SIZE * SIZE}")
    try:
        values = np.array([int(v) for v in fields], dtype=np.int64)
    except ValueError:
        bad = next(v for v in fields if not _is_int(v))
        raise DataError(f"{where}: pixel value {bad!r} is not an integer") from None
    if values.min() < 0 or values.max() > 255:
        bad = int(values[(values < 0) | (values > 255)][0])
        raise DataError(f"{where}: pixel value {bad} is outside 0..255")
    return values.astype(np.uint8).reshape(SIZE, SIZE)


def _is_int(text: str) -> bool:
    try:
        int(text)
    except ValueError:
        return False
    return True


# ---------------------------------------------------------------------------------------------- cache

def _short_hash(text: str) -> str:
    return hashlib.sha256(text.encode()).hexdigest()[:24]


def _read_cache(path: Path) -> tuple[np.ndarray, np.ndarray, np.ndarray, str] | None:
    """The cached split, or None when it is missing, unreadable or does not match its stored hash."""
    if not path.is_file():
        return None
    try:
        with np.load(path, allow_pickle=False) as z:
            images, labels, converted = z["images"], z["labels"], z["converted"]
            stored = str(z["content_hash"])
        n = len(labels)
        ok = (
            images.dtype == np.uint8 and images.shape == (n, SIZE, SIZE)
            and labels.dtype == np.int64 and labels.shape == (n,)
            and converted.dtype == bool and converted.shape == (n,)
            and content_hash(images, labels) == stored
        )
    except Exception:  # a damaged cache must never stop a load: any failure just means "rebuild"
        ok = False
    if not ok:
        warnings.warn(f"ignoring damaged cache file {path}; rebuilding it", stacklevel=3)
        return None
    return images, labels, converted, stored


def _write_cache(path: Path, images: np.ndarray, labels: np.ndarray, converted: np.ndarray, digest: str) -> bool:
    """Store a split; an unwritable cache folder costs speed, not the load, so it only warns."""
    # Uncompressed: faces barely compress and a warm load should be a plain read.
    buf = io.BytesIO()
    np.savez(buf, images=images, labels=labels, converted=converted, content_hash=np.array(digest))
    try:
        atomic_write_bytes(path, buf.getvalue())
    except OutputError as e:
        warnings.warn(f"{e}; continuing without a cache", stacklevel=3)
        return False
    return True


def _remove_stale(folder: Path, key: str, keep: Path) -> None:
    """Delete caches of earlier versions of the same dataset split, which can never match again."""
    for old in folder.glob(f"faces-{key}-*.npz"):
        if old != keep:
            try:
                old.unlink()
            except OSError:
                pass  # another process may hold or have removed it; it is only wasted space

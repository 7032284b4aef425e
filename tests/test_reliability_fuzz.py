"""Bad input everywhere: fuzzed images, CSV rows and CLI arguments end in one line and status 2, never a traceback.

Example counts: HYPOTHESIS_PROFILE=ci (default, fast) or HYPOTHESIS_PROFILE=long for the longer trial, e.g.
    HYPOTHESIS_PROFILE=long python -m pytest -q tests/test_reliability_fuzz.py
"""

import csv
import io
import os
import shutil
import struct
import zlib
from pathlib import Path

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from reliability_helpers import fingerprint, run_cli, shared_clean_run
from tiny import FIXTURE

from emogan.data import load_faces
from emogan.errors import DataError
from emogan.training.session import RunResult

_EXAMPLES = {"ci": 30, "long": 1500}
PROFILE = os.environ.get("HYPOTHESIS_PROFILE", "ci")
# deadline=None: the CPU is shared, so an example's time says nothing about the code.
FUZZ = settings(max_examples=_EXAMPLES.get(PROFILE, _EXAMPLES["ci"]), deadline=None,
                suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])
FACE = sorted((FIXTURE / "train" / "happy").iterdir())[0].read_bytes()     # a real 48x48 JPEG


def _one_line_data_error(e: DataError, *needles: str) -> None:
    text = str(e)
    assert len(text.splitlines()) == 1 and text.strip(), text
    for n in needles:
        assert n in text, (n, text)


# ---------------------------------------------------------------------------------------------- images

def _tree(root: Path, bad: bytes, suffix: str) -> Path:
    """A dataset root with train/happy/{good.jpg, bad<suffix>} and train/sad/good.jpg."""
    for emotion in ("happy", "sad"):
        (root / "train" / emotion).mkdir(parents=True, exist_ok=True)
        (root / "train" / emotion / "good.jpg").write_bytes(FACE)
    bad_path = root / "train" / "happy" / f"bad{suffix}"
    bad_path.write_bytes(bad)
    return bad_path


def _load_or_error(root: Path, cache: Path, bad_path: Path, must_fail: bool) -> None:
    before = fingerprint(root)
    try:
        faces = load_faces(root, cache_dir=cache)
    except DataError as e:
        _one_line_data_error(e, str(bad_path))
    else:
        assert not must_fail, f"{bad_path} loaded"
        assert faces.images.shape == (3, 48, 48) and faces.images.dtype == np.uint8
    assert fingerprint(root) == before


@FUZZ
@given(data=st.binary(max_size=3000), suffix=st.sampled_from([".jpg", ".png", ".bmp", ".gif", ".webp", ".jpeg"]))
def test_random_bytes_as_images(tmp_path_factory, data, suffix):
    root = tmp_path_factory.mktemp("bytes")
    bad = _tree(root, data, suffix)
    _load_or_error(root, tmp_path_factory.mktemp("cache"), bad, must_fail=len(data) < 16)


@FUZZ
@given(cut=st.integers(0, len(FACE) - 1))
def test_truncated_jpegs_are_refused(tmp_path_factory, cut):
    root = tmp_path_factory.mktemp("cut")
    bad = _tree(root, FACE[:cut], ".jpg")
    _load_or_error(root, tmp_path_factory.mktemp("cache"), bad, must_fail=True)    # truncation never pads


@FUZZ
@given(flips=st.lists(st.tuples(st.integers(0, len(FACE) - 1), st.integers(1, 255)), min_size=1, max_size=20))
def test_corrupted_jpegs_load_or_are_refused(tmp_path_factory, flips):
    data = bytearray(FACE)
    for pos, x in flips:
        data[pos] ^= x
    root = tmp_path_factory.mktemp("flip")
    bad = _tree(root, bytes(data), ".jpg")
    _load_or_error(root, tmp_path_factory.mktemp("cache"), bad, must_fail=False)


def _png_header_only(width: int, height: int) -> bytes:
    """A tiny PNG file that claims width x height pixels: a decompression bomb's first bytes."""
    def chunk(kind: bytes, body: bytes) -> bytes:
        return struct.pack(">I", len(body)) + kind + body + struct.pack(">I", zlib.crc32(kind + body))
    ihdr = struct.pack(">IIBBBBB", width, height, 8, 0, 0, 0, 0)
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", ihdr) + chunk(b"IDAT", zlib.compress(b"\0" * 64)) + chunk(b"IEND", b"")


@pytest.mark.parametrize("size", [(60000, 60000), (10**5, 10**5), (48, 0), (0, 48)])
def test_decompression_bombs_and_degenerate_sizes_are_refused(tmp_path, size):
    bad = _tree(tmp_path / "d", _png_header_only(*size), ".png")
    _load_or_error(tmp_path / "d", tmp_path / "cache", bad, must_fail=True)


# ---------------------------------------------------------------------------------------------- fer2013.csv

GOOD_PIXELS = " ".join(str((i * 7) % 256) for i in range(48 * 48))
USAGES = ["Training", "PublicTest", "PrivateTest"]

def _not_int(text: str) -> bool:
    try:
        int(text)              # what the loader uses: it also takes " 3", "+3", "1_0" and non-ASCII digits
    except ValueError:
        return True
    return False


# No line breaks inside fields: a quoted one makes a record span two lines, and errors name the line it ends on.
field_text = st.text(alphabet=st.characters(blacklist_characters="\r\n", blacklist_categories=("Cs",)), max_size=12)
token = st.text(alphabet=st.characters(blacklist_categories=("Cs", "Zs", "Zl", "Zp", "Cc")), min_size=1, max_size=5)
bad_pixels = st.one_of(
    st.integers(0, 48 * 48 * 2).filter(lambda n: n != 48 * 48).map(lambda n: " ".join(["1"] * n)),   # wrong count
    st.tuples(st.integers(0, 48 * 48 - 1), token.filter(_not_int)).map(
        lambda p: " ".join(["1"] * p[0] + [p[1]] + ["1"] * (48 * 48 - 1 - p[0]))),                    # non-numeric
    st.sampled_from(["256", "-1", "1000"]).map(lambda v: " ".join([v] + ["1"] * (48 * 48 - 1))),      # out of range
)
bad_label = st.one_of(st.one_of(st.integers(max_value=-1), st.integers(min_value=7)).map(str),
                      field_text.filter(_not_int))
bad_usage = field_text.filter(lambda t: t.strip().lower() not in {u.lower() for u in USAGES})


@st.composite
def csv_files(draw):
    """(csv text, line number of the first row that must be refused or None, train rows) for split=train."""
    n = draw(st.integers(1, 6))
    rows, first_bad, n_train = [], None, 0
    for i in range(n):
        row = [str(draw(st.integers(0, 6))), GOOD_PIXELS, draw(st.sampled_from(USAGES))]
        defect = draw(st.sampled_from([None, None, "pixels", "label", "usage", "short", "long"]))
        if defect == "pixels":
            row[1] = draw(bad_pixels)
        elif defect == "label":
            row[0] = draw(bad_label)
        elif defect == "usage":
            row[2] = draw(bad_usage)
        elif defect == "short":
            row = row[:draw(st.integers(1, 2))]
        elif defect == "long":
            row = row + draw(st.lists(field_text, min_size=1, max_size=3))
        # Pixels are only parsed for rows of the requested split; every other defect is checked on every row.
        refused = defect in ("label", "usage", "short", "long") or (defect == "pixels" and row[2] == "Training")
        if refused and first_bad is None:
            first_bad = i + 2                                              # header is line 1
        n_train += defect in (None, "pixels") and row[2] == "Training"
        rows.append(row)
    buf = io.StringIO()
    w = csv.writer(buf, lineterminator="\n")
    w.writerow(["emotion", "pixels", "Usage"])
    w.writerows(rows)
    return buf.getvalue(), first_bad, n_train


@FUZZ
@given(case=csv_files())
def test_fuzzed_csv_rows(tmp_path_factory, case):
    text, first_bad, n_train = case
    path = tmp_path_factory.mktemp("csv") / "fer2013.csv"
    path.write_text(text, encoding="utf-8")
    try:
        faces = load_faces(path, split="train", cache_dir=tmp_path_factory.mktemp("cache"))
    except DataError as e:
        if first_bad is None:
            _one_line_data_error(e, "no images")
            assert n_train == 0
        else:
            _one_line_data_error(e, f"{path}:{first_bad}:")
    else:
        assert first_bad is None and len(faces) == n_train, (first_bad, n_train)


@FUZZ
@given(data=st.binary(max_size=400))
def test_random_bytes_as_csv(tmp_path_factory, data):
    path = tmp_path_factory.mktemp("csvbytes") / "fer2013.csv"
    path.write_bytes(data)
    with pytest.raises(DataError) as e:     # a few random bytes never hold 48x48 pixels
        load_faces(path, cache_dir=tmp_path_factory.mktemp("cache"))
    _one_line_data_error(e.value, str(path))
    assert path.read_bytes() == data


# ---------------------------------------------------------------------------------------------- CLI arguments

@pytest.fixture(scope="module")
def sandbox(tmp_path_factory):
    """What the fuzzed commands can touch: a finished run, a classifier folder, faces, data, a bad CSV."""
    box = tmp_path_factory.mktemp("sandbox")
    shutil.copytree(shared_clean_run(tmp_path_factory), box / "runs" / "r")
    shutil.copytree(FIXTURE, box / "data")
    np.save(box / "faces.npy", np.zeros((3, 48, 48), np.uint8))
    (box / "bad.csv").write_text("emotion,pixels,Usage\n0,1 2 3,Training\n")
    (box / "note.txt").write_text("not an image")
    try:
        import torch

        from emogan.classifier.files import save_classifier
        from emogan.classifier.model import ClassifierConfig, EmotionNet

        torch.manual_seed(0)
        save_classifier(box / "cls", EmotionNet(ClassifierConfig(widths=(4,), depths=(1,))).eval(), {})
    except ImportError:
        (box / "cls").mkdir()
    return box


def _bases(box: Path, out: Path) -> dict[str, list[str]]:
    """A valid command line per command, which the mutations then break."""
    data, runs = str(box / "data"), str(box / "runs")
    return {
        "train": ["train", "--data", data, "--model", "M1", "--iters", "1", "--batch", "2", "--out", str(out),
                  "--no-progress", "--device", "cpu"],
        "runs": ["runs", "--root", runs],
        "sample": ["sample", "r", "--root", runs, "--iteration", "4", "--n", "4", "--out", str(out / "s.png")],
        "export": ["export", "r", "--root", runs, "--out", str(out / "exp")],
        "predict": ["classifier", "predict", str(box / "faces.npy"), "--weights", str(box / "cls"), "--device", "cpu"],
        "eval": ["classifier", "eval", "--data", data, "--weights", str(box / "cls"), "--no-tta", "--device", "cpu"],
        "metrics": ["metrics", "r", "--root", runs, "--n", "8", "--no-classifier", "--device", "cpu", "--quiet"],
    }


def _nasty(box: Path) -> st.SearchStrategy[str]:
    paths = [box / "missing", box / "note.txt", box / "bad.csv", box / "runs", box / "runs" / "r" / "config.json",
             box / "faces.npy", box / "data" / "train", "/dev/null", "/proc/self", "/nonexistent/x", "~"]
    return st.one_of(
        st.text(alphabet=st.characters(blacklist_categories=("Cs",), blacklist_characters="\x00"), max_size=12),
        st.integers(-10**20, 10**20).map(str),
        st.sampled_from(["", "-", "--", "0", "-1", "nan", "inf", "1e309", "0x10", "1.5", " 3", "M99", "m1", "all",
                         "happy,sad", "M1,M1", "cuda", "train", "validation", "test", "x" * 300, "r/..", "../r",
                         "é", "\u202e", "-h"]),
        st.sampled_from([str(p) for p in paths]),
    )


FLAGS = ["--data", "--model", "--iters", "--batch", "--snapshot-every", "--weights-every", "--seed", "--out", "--name",
         "--device", "--resume", "--engine", "--emotion", "--split", "--root", "--iteration", "--n", "--weights",
         "--tta", "--no-tta", "--weights-at", "--grid-n", "--fp32", "--every", "--classifier", "--restart", "--bogus",
         "-x"]


@st.composite
def broken_argv(draw, box: Path, out: Path):
    argv = list(_bases(box, out)[draw(st.sampled_from(sorted(_bases(box, out))))])
    for _ in range(draw(st.integers(1, 3))):
        kind = draw(st.sampled_from(["replace", "replace", "drop", "insert", "append", "swap"]))
        i = draw(st.integers(0, len(argv) - 1)) if argv else 0
        if kind == "replace" and argv:
            argv[i] = draw(_nasty(box))
        elif kind == "drop" and argv:
            del argv[i]
        elif kind == "insert":
            argv.insert(i, draw(st.sampled_from(FLAGS)))
        elif kind == "append":
            argv += [draw(st.sampled_from(FLAGS)), draw(_nasty(box))]
        elif kind == "swap" and len(argv) > 1:
            j = draw(st.integers(0, len(argv) - 1))
            argv[i], argv[j] = argv[j], argv[i]
    return argv


def _terminal_lines(text: str) -> list[str]:
    """Lines as a terminal shows them: str.splitlines() would also split at \x1c-\x1e, \x85 and \u2028."""
    return [ln for ln in text.replace("\r", "\n").split("\n") if ln.strip()]


def _allowed_change(rel: str) -> bool:
    """What a successful command may rewrite: its --out, and a run's metrics files (`metrics` writes them)."""
    return rel.startswith("out") or Path(rel).name.startswith("metrics")


def test_fuzzed_cli_arguments(sandbox, capsys, monkeypatch):
    import emogan.commands.train as train_cmd

    # A mutation can leave a valid command: the trainers are stubbed so that such a case costs nothing.
    monkeypatch.setattr(train_cmd, "train_many",
                        lambda faces, jobs, options=None, **kw: [RunResult(Path(j.run_dir), 1, "done", "") for j in jobs])
    monkeypatch.chdir(sandbox)
    monkeypatch.delenv("EMOGAN_DATA", raising=False)
    out = sandbox / "out"
    seen = {"error": 0, "ok": 0}

    @FUZZ
    @given(argv=broken_argv(sandbox, out))
    def check(argv):
        shutil.rmtree(out, ignore_errors=True)
        before = fingerprint(sandbox)
        code, stdout, err = run_cli(argv, capsys)
        assert "Traceback" not in err + stdout, (argv, err)
        after = fingerprint(sandbox)
        if code == 0:                # new files are fine (outputs); what was there must stay as it was
            seen["ok"] += 1
            changed = {k for k in before if before[k] != after.get(k)}
            assert all(_allowed_change(k) for k in changed), (argv, changed)
            return
        seen["error"] += 1
        lines = _terminal_lines(err)
        errors = [ln for ln in lines if "error:" in ln]
        assert code == 2 and len(errors) == 1 and lines[-1] == errors[0], (argv, code, err)
        # Before the one error line only the command's own progress lines may appear (data:, warning:).
        assert all(ln.startswith(("data:", "warning:")) for ln in lines[:-1]), (argv, err)
        assert after == before, (argv, "files changed")

    check()
    print(f"CLI fuzz: {seen['error']} refused, {seen['ok']} accepted")   # shown with -s; the long trial reports it
    assert seen["error"] > seen["ok"], seen

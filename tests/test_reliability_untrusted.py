"""Untrusted files: planted pickles never run, links out of a run or the classifier folder are refused unread, damaged
or lying safetensors files are refused with one line."""

import json
import os
import pickle
import shutil
import struct
import threading
import time
from contextlib import contextmanager

import numpy as np
import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st
from reliability_helpers import assert_one_line_error, fingerprint, malicious_pickle, run_cli, shared_clean_run
from tiny import tiny, tiny_run

from emogan.errors import CheckpointError, PathError
from emogan.models import Generator
from emogan.runs import checkpoint

PICKLES = [".pt", ".pth", ".pkl"]


@pytest.fixture(scope="module")
def clean_run(tmp_path_factory):
    return shared_clean_run(tmp_path_factory)


@pytest.fixture
def run(clean_run, tmp_path):
    """A fresh copy of a finished tiny run (snapshots with weights at 2 and 4) under tmp_path/runs."""
    return shutil.copytree(clean_run, tmp_path / "runs" / "r")


def test_the_planted_pickle_really_runs_code_when_unpickled(tmp_path):
    # Without this the marker checks below could pass for the wrong reason.
    pickle.loads(malicious_pickle(tmp_path / "proof"))
    assert (tmp_path / "proof").is_dir()


@pytest.mark.parametrize("suffix", PICKLES)
def test_a_pickle_listed_as_weights_is_refused_in_one_line(run, tmp_path, capsys, suffix):
    marker = tmp_path / "MARKER"
    planted = f"weights/G_000004{suffix}"
    (run / planted).write_bytes(malicious_pickle(marker))
    index = json.loads((run / "index.json").read_text())
    index["snapshots"][-1]["weights"] = planted                  # as if someone swapped the file and its entry
    (run / "index.json").write_text(json.dumps(index))

    code, _, err = run_cli(["sample", "r", "--root", run.parent, "--iteration", 4, "--out", tmp_path / "o.png"], capsys)
    assert_one_line_error(code, err, planted, "pickle-based weights are never loaded")
    code, out, err = run_cli(["runs", "--root", run.parent], capsys)
    assert code == 0 and "r " in out and not err
    assert not marker.exists() and not (tmp_path / "o.png").exists()


def test_stray_pickles_in_a_run_folder_are_never_opened(run, tmp_path, capsys):
    marker = tmp_path / "MARKER"
    for rel in ["model.pt", "G.pth", "state.pkl", "weights/G_000004.pt", "samples/000004.pkl"]:
        (run / rel).write_bytes(malicious_pickle(marker))
    code, _, err = run_cli(["sample", "r", "--root", run.parent, "--iteration", 4, "--out", tmp_path / "o.png"], capsys)
    assert code == 0, err
    code, out, err = run_cli(["runs", "--root", run.parent], capsys)
    assert code == 0 and "done" in out
    tiny_run(run.parent, "r", iters=6, snapshot_every=2, resume=True)   # resume reads state.safetensors only
    assert not marker.exists()


@pytest.mark.parametrize("target,command", [
    ("weights/G_000004.safetensors", "sample"),
    ("latents.safetensors", "sample"),
    ("config.json", "runs"),
])
def test_a_pickle_under_a_trusted_name_is_refused_in_one_line(run, tmp_path, capsys, target, command):
    marker = tmp_path / "MARKER"
    (run / target).write_bytes(malicious_pickle(marker))
    if command == "sample":
        code, _, err = run_cli(["sample", "r", "--root", run.parent, "--iteration", 4, "--out", tmp_path / "o.png"],
                               capsys)
        assert_one_line_error(code, err, target)
    else:
        code, out, err = run_cli(["runs", "--root", run.parent], capsys)
        assert code == 0 and "damaged" in out and "config.json" in out and "Traceback" not in err + out
    assert not marker.exists()


def test_a_pickle_as_resume_state_is_refused_in_one_line(run, tmp_path):
    marker = tmp_path / "MARKER"
    (run / "state.safetensors").write_bytes(malicious_pickle(marker))
    with pytest.raises(CheckpointError, match="state.safetensors: not a valid safetensors file") as e:
        tiny_run(run.parent, "r", iters=6, snapshot_every=2, resume=True)
    assert len(str(e.value).splitlines()) == 1 and not marker.exists()


# ---------------------------------------------------------------------------------------------- the classifier folder

def _tiny_classifier(folder):
    from emogan.classifier.files import save_classifier
    from emogan.classifier.model import ClassifierConfig, EmotionNet

    torch.manual_seed(0)
    save_classifier(folder, EmotionNet(ClassifierConfig(widths=(4,), depths=(1,))).eval(), {"note": "test"})


@pytest.fixture
def classifier_dir(tmp_path, monkeypatch):
    """checkpoints/classifier/ as the CLI finds it by default, pointed at a temp copy."""
    pytest.importorskip("emogan.classifier.files")
    from emogan.classifier import files as store

    folder = tmp_path / "checkpoints" / "classifier"
    monkeypatch.setattr(store, "default_weights_dir", lambda: folder)
    store.clear_cache()
    yield folder
    store.clear_cache()


def test_pickles_next_to_the_classifier_weights_are_ignored_with_one_warning(classifier_dir, tmp_path, capsys):
    marker = tmp_path / "MARKER"
    _tiny_classifier(classifier_dir)
    for suffix in PICKLES:
        (classifier_dir / f"classifier{suffix}").write_bytes(malicious_pickle(marker))
    np.save(tmp_path / "faces.npy", np.zeros((2, 48, 48), np.uint8))
    code, out, err = run_cli(["classifier", "predict", tmp_path / "faces.npy"], capsys)
    assert code == 0, err
    lines = err.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("warning:") and "classifier.pt" in lines[0], err
    assert "never loaded" in lines[0] and not marker.exists()


def test_a_classifier_folder_with_only_a_pickle_is_refused(classifier_dir, tmp_path, capsys):
    marker = tmp_path / "MARKER"
    classifier_dir.mkdir(parents=True)
    (classifier_dir / "classifier.pth").write_bytes(malicious_pickle(marker))
    np.save(tmp_path / "faces.npy", np.zeros((2, 48, 48), np.uint8))
    code, _, err = run_cli(["classifier", "predict", tmp_path / "faces.npy"], capsys)
    assert code == 2 and "Traceback" not in err, err
    lines = err.strip().splitlines()
    # One line says both why the pickle was not used and why nothing was loaded.
    assert len(lines) == 1 and lines[0].startswith("error:"), err
    assert "classifier.pth" in lines[0] and "never loaded" in lines[0] and "classifier.safetensors" in lines[0]
    assert not marker.exists()
    code, _, err = run_cli(["classifier", "predict", tmp_path / "faces.npy", "--weights",
                            classifier_dir / "classifier.pth"], capsys)
    assert code == 2 and "Traceback" not in err and not marker.exists(), err


# ---------------------------------------------------------------------------------------------- lying safetensors files

def _weights(path, mutate_tensors=None, mutate_meta=None):
    G = Generator(tiny("M3"))
    tensors, meta = checkpoint.generator_payload(G, 4)
    if mutate_tensors:
        mutate_tensors(tensors)
    if mutate_meta:
        mutate_meta(meta)
    checkpoint.save_tensors(path, tensors, meta)


def _raw(header: dict, data: bytes) -> bytes:
    h = json.dumps(header).encode()
    return struct.pack("<Q", len(h)) + h + data


BAD_FILES = {
    "wrong shape": lambda p: _weights(p, lambda t: t.__setitem__("fc.weight", torch.zeros(7, 100))),
    "wrong dtype": lambda p: _weights(p, lambda t: t.__setitem__("fc.weight",
                                                                  torch.zeros(288, 100, dtype=torch.int32))),
    "int for float": lambda p: _weights(p, lambda t: t.__setitem__("to_img.bias", torch.zeros(1, dtype=torch.int64))),
    "NaN weights": lambda p: _weights(p, lambda t: t["fc.weight"].fill_(float("nan"))),
    "missing tensor": lambda p: _weights(p, lambda t: t.pop("fc.weight")),
    "extra tensor": lambda p: _weights(p, lambda t: t.__setitem__("evil", torch.zeros(1))),
    "giant config": lambda p: _weights(p, mutate_meta=lambda m: m.__setitem__(
        "config", json.dumps(dict(json.loads(m["config"]), g_base=10**9)))),
    "negative config": lambda p: _weights(p, mutate_meta=lambda m: m.__setitem__(
        "config", json.dumps(dict(json.loads(m["config"]), g_channels=[-4, 8, 8])))),
    "config not JSON": lambda p: _weights(p, mutate_meta=lambda m: m.__setitem__("config", "{")),
    "no format": lambda p: _weights(p, mutate_meta=lambda m: m.pop("format")),
    "empty file": lambda p: p.write_bytes(b""),
    "header longer than file": lambda p: p.write_bytes(struct.pack("<Q", 10**12) + b"{}"),
    "header not JSON": lambda p: p.write_bytes(struct.pack("<Q", 5) + b"{nope"),
    "unknown dtype": lambda p: p.write_bytes(_raw({"w": {"dtype": "F128", "shape": [1], "data_offsets": [0, 16]}},
                                                  bytes(16))),
    "shape beyond data": lambda p: p.write_bytes(_raw({"w": {"dtype": "F32", "shape": [10**6], "data_offsets": [0, 4]}},
                                                      bytes(4))),
    "overflowing shape": lambda p: p.write_bytes(_raw({"w": {"dtype": "F32", "shape": [2**62, 2**62],
                                                             "data_offsets": [0, 4]}}, bytes(4))),
    "truncated data": lambda p: (_weights(p), p.write_bytes(p.read_bytes()[:-100])),
}


@pytest.mark.parametrize("case", list(BAD_FILES))
def test_lying_weights_files_are_refused_in_one_line(run, tmp_path, capsys, case):
    target = run / "weights" / "G_000004.safetensors"
    BAD_FILES[case](target)
    with pytest.raises(CheckpointError) as e:
        checkpoint.load_generator(target)
    assert len(str(e.value).splitlines()) == 1 and str(target) in str(e.value)
    before = fingerprint(run)
    code, _, err = run_cli(["sample", "r", "--root", run.parent, "--iteration", 4, "--out", tmp_path / "o.png"], capsys)
    assert_one_line_error(code, err, "G_000004.safetensors")
    assert fingerprint(run) == before and not (tmp_path / "o.png").exists()


@pytest.mark.parametrize("z", [torch.zeros(16, 100, 2), torch.zeros(16, 100, dtype=torch.int32), torch.zeros(0),
                               torch.zeros(16, 50), torch.zeros(0, 100)])
def test_lying_latents_are_refused_in_one_line(run, tmp_path, capsys, z):
    checkpoint.save_tensors(run / "latents.safetensors", {"z": z})
    code, _, err = run_cli(["sample", "r", "--root", run.parent, "--iteration", 4, "--out", tmp_path / "o.png"], capsys)
    assert_one_line_error(code, err, "latents.safetensors")


@settings(max_examples=40, deadline=None)
@given(entry=st.sampled_from(["fc.weight", "blocks.0.weight", "to_img.bias", "fc_act.0.running_mean"]),
       dtype=st.one_of(st.sampled_from(["F32", "F16", "BF16", "F64", "I8", "U8", "I64", "BOOL", "F8_E4M3"]),
                       st.text(max_size=6)),
       shape=st.lists(st.integers(-3, 2**40), max_size=5),
       offsets=st.one_of(st.none(), st.lists(st.integers(-5, 2**40), min_size=0, max_size=3)))
def test_fuzzed_safetensors_headers_never_crash(tmp_path_factory, entry, dtype, shape, offsets):
    """Any header a file can claim (dtype, shape, offsets) ends in a loaded generator or a CheckpointError."""
    path = tmp_path_factory.mktemp("fuzz") / "G.safetensors"
    _weights(path)
    data = path.read_bytes()
    n = struct.unpack("<Q", data[:8])[0]
    header = json.loads(data[8:8 + n])
    header[entry]["dtype"] = dtype
    header[entry]["shape"] = shape
    if offsets is not None:
        header[entry]["data_offsets"] = offsets
    path.write_bytes(_raw(header, data[8 + n:]))
    try:
        checkpoint.load_generator(path)
    except CheckpointError as e:
        assert len(str(e).splitlines()) == 1


# ---------------------------------------------------------------------------------------------- links out of a folder

@contextmanager
def watched_fifo(path):
    """A FIFO at `path` and a list that gets an entry whenever something opens it for reading.

    Opening a FIFO for reading blocks until a writer comes: the watcher is that writer, so a reader that should
    never have opened it is recorded (and let go with an empty read) instead of hanging the test."""
    os.mkfifo(path)
    opened, stop = [], threading.Event()

    def watch():
        while not stop.is_set():
            try:
                fd = os.open(path, os.O_WRONLY | os.O_NONBLOCK)     # fails (ENXIO) while no reader has it open
            except OSError:
                time.sleep(0.002)
                continue
            opened.append(time.monotonic())
            os.close(fd)

    thread = threading.Thread(target=watch, daemon=True)
    thread.start()
    try:
        yield opened
    finally:
        stop.set()
        thread.join(5)


def test_the_fifo_watcher_sees_a_reader(tmp_path):
    # Without this the checks below could pass because the watcher is blind.
    with watched_fifo(tmp_path / "fifo") as opened:
        assert (tmp_path / "fifo").read_bytes() == b""
    assert opened


@pytest.mark.parametrize("target,command", [
    ("latents.safetensors", "sample"),
    ("weights/G_000004.safetensors", "sample"),
    ("samples/000004.png", "timeline"),
    ("config.json", "runs"),
    ("index.json", "runs"),
    ("losses.csv", "runs"),
])
def test_a_link_out_of_the_run_is_refused_unread_in_one_line(run, tmp_path, capsys, target, command):
    with watched_fifo(tmp_path / "fifo") as opened:
        (run / target).unlink()
        (run / target).symlink_to(tmp_path / "fifo")
        if command == "runs":
            code, out, err = run_cli(["runs", "--root", run.parent], capsys)
            line = next(ln for ln in out.splitlines() if ln.startswith("r "))
            assert code == 0 and "damaged" in line and f"{target}: outside the run folder" in line, out
        else:
            args = (["--iteration", 4, "--out", tmp_path / "o.png"] if command == "sample"
                    else ["--out", tmp_path / "o.gif"])
            code, _, err = run_cli([command, "r", "--root", run.parent, *args], capsys)
            assert_one_line_error(code, err, target, "outside the run folder")
        # The explorer reads through the same Run: the page shows the same line.
        from emogan.runs.catalog import list_runs
        from emogan.runs.store import Run
        from emogan.views.gallery import faces_at
        with pytest.raises(PathError, match="outside the run folder"):
            r = Run(run)
            faces_at(r, 4), r.losses(), r.fixed_latents(), r.load_generator(4)
        assert (list_runs(run.parent)[0].error is not None) == (command == "runs" and target != "losses.csv")
    assert not opened and not (tmp_path / "o.png").exists() and not (tmp_path / "o.gif").exists()


def test_a_fifo_inside_the_run_is_refused_unread(run, tmp_path, capsys):
    (run / "latents.safetensors").unlink()
    with watched_fifo(run / "latents.safetensors") as opened:
        code, _, err = run_cli(["sample", "r", "--root", run.parent, "--iteration", 4, "--out", tmp_path / "o.png"],
                               capsys)
        assert_one_line_error(code, err, "latents.safetensors", "not a regular file")
    assert not opened


def test_a_classifier_file_linked_out_of_its_folder_is_refused_unread(classifier_dir, tmp_path, capsys):
    _tiny_classifier(classifier_dir)
    np.save(tmp_path / "faces.npy", np.zeros((2, 48, 48), np.uint8))
    with watched_fifo(tmp_path / "fifo") as opened:
        (classifier_dir / "classifier.json").unlink()
        (classifier_dir / "classifier.json").symlink_to(tmp_path / "fifo")
        code, _, err = run_cli(["classifier", "predict", tmp_path / "faces.npy"], capsys)
        assert code == 0 and "classifier.json: outside the classifier folder" in err, err     # a record: warned
        (classifier_dir / "classifier.safetensors").unlink()
        (classifier_dir / "classifier.safetensors").symlink_to(tmp_path / "fifo")
        from emogan.classifier import files as store
        store.clear_cache()
        code, _, err = run_cli(["classifier", "predict", tmp_path / "faces.npy"], capsys)
        assert_one_line_error(code, err, "classifier.safetensors", "outside the classifier folder")
    assert not opened

"""Paths: run names, run paths and index entries cannot leave the runs root (../, absolute paths, symlinks out)."""

import json
import shutil

import pytest
from reliability_helpers import assert_one_line_error, fingerprint, run_cli, shared_clean_run
from tiny import FIXTURE

from emogan.errors import PathError
from emogan.runs.store import open_run, scan_runs


@pytest.fixture(scope="module")
def clean_run(tmp_path_factory):
    return shared_clean_run(tmp_path_factory)


@pytest.fixture
def roots(clean_run, tmp_path):
    """root/ holding run r, and outside/ (not under root) holding another run and a secret file."""
    root, outside = tmp_path / "root", tmp_path / "outside"
    shutil.copytree(clean_run, root / "r")
    shutil.copytree(clean_run, outside / "victim")
    (outside / "secret.txt").write_text("not for the explorer")
    return root, outside


def test_run_names_and_last_steps_cannot_leave_their_root(roots, tmp_path, capsys, monkeypatch):
    root, outside = roots
    (root / "link-out").symlink_to(outside / "victim", target_is_directory=True)
    (root / "r" / "nested-link").symlink_to(outside / "victim", target_is_directory=True)
    monkeypatch.chdir(root)
    # A name that is a link out of --root, and a path whose own last step links out of its parent, are escapes;
    # "~" and "r\\..\\.." are plain names with characters no run name has.
    for run in ["link-out", str(root / "link-out"), "r/nested-link", "/", "~", "r\\..\\..\\outside"]:
        with pytest.raises(PathError):
            open_run(root, run)
        code, _, err = run_cli(["sample", run, "--root", root, "--iteration", 4, "--out", tmp_path / "o.png"], capsys)
        assert_one_line_error(code, err)
        assert not (tmp_path / "o.png").exists()
    for not_a_run in ["..", "r/..", "./.."]:                  # paths the user typed: refused as no run, in one line
        code, _, err = run_cli(["sample", not_a_run, "--root", root, "--iteration", 4, "--out", tmp_path / "o.png"],
                               capsys)
        assert_one_line_error(code, err, "config.json: missing")


def test_a_run_folder_is_accepted_by_path_anywhere(roots, tmp_path, capsys, monkeypatch):
    root, outside = roots
    monkeypatch.chdir(root)
    for run in ("r", str(root / "r"), "./r", "r/", str(outside / "victim"), "../outside/victim",
                "r/../../outside/victim"):
        code, out, err = run_cli(["sample", run, "--root", root, "--iteration", 4, "--out", tmp_path / "o.png"],
                                 capsys)
        assert code == 0, (run, err)
        assert ("victim" if "victim" in run else " r ") in out
    # The case: a run folder given by path, and --root left at its default (which does not exist here).
    monkeypatch.chdir(tmp_path)
    for command in (["sample", outside / "victim", "--iteration", 4, "--out", "x.png"],
                    ["timeline", outside / "victim", root / "r", "--out", "x.gif"],
                    ["export", outside / "victim", "--out", "exported"]):
        code, _, err = run_cli(command, capsys)
        assert code == 0, (command, err)
    assert (tmp_path / "x.png").is_file() and (tmp_path / "x.gif").is_file()
    assert (tmp_path / "exported" / "victim" / "config.json").is_file()


def test_a_symlinked_run_is_listed_as_refused(roots, capsys):
    root, outside = roots
    (root / "link-out").symlink_to(outside / "victim", target_is_directory=True)
    entries = {e.name: e for e in scan_runs(root)}
    assert entries["r"].error is None
    assert "outside the runs root" in entries["link-out"].error
    code, out, err = run_cli(["runs", "--root", root], capsys)
    assert code == 0 and "outside the runs root" in out and "Traceback" not in err


@pytest.mark.parametrize("entry", ["grid", "weights"])
@pytest.mark.parametrize("target", ["../../outside/victim/weights/G_000004.safetensors", "ABS", "LINK"])
def test_index_entries_cannot_point_out_of_the_run(roots, tmp_path, capsys, entry, target):
    root, outside = roots
    run = root / "r"
    if target == "ABS":
        target = str(outside / "victim" / ("samples/000004.png" if entry == "grid" else "weights/G_000004.safetensors"))
    elif target == "LINK":
        (run / "samples" / "link.png").symlink_to(outside / "victim" / "samples" / "000004.png")
        (run / "weights" / "link.safetensors").symlink_to(outside / "victim" / "weights" / "G_000004.safetensors")
        target = "samples/link.png" if entry == "grid" else "weights/link.safetensors"
    index = json.loads((run / "index.json").read_text())
    index["snapshots"][-1][entry] = target
    (run / "index.json").write_text(json.dumps(index))
    with pytest.raises(PathError):
        r = open_run(root, "r")
        r.grid(4) if entry == "grid" else r.load_generator(4)
    if entry == "weights":
        code, _, err = run_cli(["sample", "r", "--root", root, "--iteration", 4, "--out", tmp_path / "o.png"], capsys)
        assert_one_line_error(code, err, "outside")


@pytest.mark.parametrize("name", ["../escape", "/tmp/abs", "a/b", "..", ".", "", "-x", "a\\b", "x" * 200, "link-out"])
def test_train_names_cannot_leave_the_out_folder(roots, capsys, name):
    root, outside = roots
    (root / "link-out").symlink_to(outside, target_is_directory=True)
    before = fingerprint(outside), fingerprint(root)
    code, _, err = run_cli(["train", "--data", FIXTURE, "--model", "M1", "--iters", 1, "--batch", 2, "--out", root,
                            f"--name={name}", "--no-progress"], capsys)
    assert_one_line_error(code, err)
    assert (fingerprint(outside), fingerprint(root)) == before


def test_resume_through_a_symlinked_run_is_refused(roots, capsys):
    root, outside = roots
    (root / "M1-all-s0").symlink_to(outside / "victim", target_is_directory=True)
    before = fingerprint(outside)
    code, _, err = run_cli(["train", "--data", FIXTURE, "--model", "M1", "--iters", 6, "--batch", 2, "--out", root,
                            "--resume", "--no-progress"], capsys)
    assert_one_line_error(code, err, "outside")
    assert fingerprint(outside) == before

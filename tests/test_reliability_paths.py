"""Paths: run names, run paths and index entries cannot leave the runs root (../, absolute paths, symlinks out)."""

import json
import shutil

import pytest

from emogan.errors import EmoganError, PathError
from emogan.runs import open_run, scan_runs
from reliability_helpers import assert_one_line_error, fingerprint, run_cli, shared_clean_run
from tiny import FIXTURE


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


def _escapes(root, outside):
    """Run arguments that all point out of root."""
    (root / "link-out").symlink_to(outside / "victim", target_is_directory=True)
    (root / "r" / "nested-link").symlink_to(outside / "victim", target_is_directory=True)
    return ["../outside/victim", "..", str(outside / "victim"), "link-out", "r/nested-link", "r/../../outside/victim",
            "/", "~", "r/..", "./..", "r\\..\\..\\outside"]


def test_run_arguments_cannot_leave_the_root(roots, tmp_path, capsys):
    root, outside = roots
    for run in _escapes(root, outside):
        # "r/.." is the root itself and "~", "r\..\.." plain (missing) names: refused as runs, not as escapes.
        with pytest.raises(EmoganError if run in ("r/..", "~", "r\\..\\..\\outside") else PathError):
            open_run(root, run)
        code, _, err = run_cli(["sample", run, "--root", root, "--iteration", 4, "--out", tmp_path / "o.png"], capsys)
        assert_one_line_error(code, err)
        assert not (tmp_path / "o.png").exists()


def test_a_run_folder_inside_the_root_is_accepted_by_path(roots, tmp_path, capsys):
    root, _ = roots
    for run in ("r", str(root / "r"), "./r", "r/"):
        code, _, err = run_cli(["sample", run, "--root", root, "--iteration", 4, "--out", tmp_path / "o.png"], capsys)
        assert code == 0, (run, err)


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

"""Run names, run arguments and the files a run lists stay inside their folders."""

import os

import pytest

from emogan.errors import PathError
from emogan.runs.paths import check_name, inside, member, resolve_run_path, run_argument


@pytest.mark.parametrize("name", ["M1-all-s0", "run.2", "a_b"])
def test_plain_names_pass(name):
    assert check_name(name) == name


@pytest.mark.parametrize("name", ["", ".", "..", "a/b", "../x", "/abs", "-lead", "a\x00b", "x" * 200])
def test_bad_names_are_refused(name):
    with pytest.raises(PathError):
        check_name(name)


def test_inside_resolves_symlinks(tmp_path):
    root = tmp_path / "root"
    (root / "sub").mkdir(parents=True)
    (root / "out").symlink_to(tmp_path)
    assert inside(root, "sub") == (root / "sub").resolve()
    for bad in ("out", "../root2", str(tmp_path), "sub/../../x"):
        with pytest.raises(PathError, match="outside the runs root"):
            inside(root, bad)
    assert resolve_run_path(root, "sub") == (root / "sub").resolve()


def test_a_run_argument_is_a_name_under_the_root_or_a_path_anywhere(tmp_path, monkeypatch):
    root, elsewhere = tmp_path / "root", tmp_path / "elsewhere"
    (root / "r").mkdir(parents=True)
    (elsewhere / "x").mkdir(parents=True)
    (root / "link").symlink_to(elsewhere / "x")
    (elsewhere / "y").symlink_to(root / "r")
    monkeypatch.chdir(tmp_path)
    assert run_argument(root, "r") == (root / "r").resolve()
    # A path is the user's own pointer: its parent becomes the root, whatever --root says.
    for path in (str(elsewhere / "x"), "elsewhere/x", "elsewhere/x/", "root/r/../../elsewhere/x"):
        assert run_argument(root, path) == (elsewhere / "x").resolve(), path
    # A name, or the path's own last step, that leads out of its root through a link stays refused.
    for bad in ("link", str(root / "link"), "elsewhere/y"):
        with pytest.raises(PathError, match="outside the runs root"):
            run_argument(root, bad)
    with pytest.raises(PathError, match="a filesystem root"):
        run_argument(root, "/")
    with pytest.raises(PathError, match="invalid run name"):
        run_argument(root, "~")


def test_member_refuses_links_out_and_files_that_would_block_before_opening_them(tmp_path):
    folder, outside = tmp_path / "run", tmp_path / "outside"
    folder.mkdir()
    outside.mkdir()
    (outside / "secret").write_text("x")
    (folder / "ok.json").write_text("{}")
    (folder / "inner.json").symlink_to(folder / "ok.json")
    (folder / "out.json").symlink_to(outside / "secret")
    os.mkfifo(folder / "pipe.json")
    assert member(folder, "ok.json") == (folder / "ok.json").resolve()
    assert member(folder, "inner.json") == (folder / "ok.json").resolve()      # a link that stays inside is fine
    assert member(folder, "missing.json") == (folder / "missing.json").resolve()   # the reader says it is missing
    with pytest.raises(PathError, match=r"out.json: outside the run folder .* it leads to .*secret"):
        member(folder, "out.json")
    with pytest.raises(PathError, match="pipe.json: not a regular file"):
        member(folder, "pipe.json")

"""Run names and paths from users stay inside their root."""

import pytest

from emogan.errors import PathError
from emogan.paths import check_name, inside, resolve_run_path


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

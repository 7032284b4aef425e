"""Keeping run names, run arguments and the files a run lists inside their folders (symlinks and '..' count)."""

from __future__ import annotations

import os
import re
import stat
from pathlib import Path

from emogan.errors import PathError

_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,127}$")


def check_name(name: str, what: str = "run name") -> str:
    """A plain folder name: letters, digits, '.', '_' and '-', no separators, not '.' or '..'."""
    if not _NAME.match(name or "") or name in (".", ".."):
        raise PathError(f"invalid {what} {name!r}: use letters, digits, '.', '_' and '-' only (no '/' or '..')")
    return name


def inside(root: str | os.PathLike, target: str | os.PathLike, what: str = "the runs root") -> Path:
    """`target` (absolute, or relative to `root`) resolved with symlinks, refused unless it lies under `root`.

    Nothing is opened: only names and links are followed, so a link to a FIFO or a device is refused unread."""
    root_real = Path(root).resolve()
    t = Path(target)
    given = t if t.is_absolute() else Path(root) / t
    candidate = given.resolve()
    if candidate != root_real and root_real not in candidate.parents:
        raise PathError(f"{given}: outside {what} {Path(root)}, it leads to {candidate} (paths may not leave it; "
                        f"symlinks and '..' count)")
    return candidate


def _is_name(run: str) -> bool:
    return not (os.sep in run or (os.altsep and os.altsep in run) or run in (".", ".."))


def resolve_run_path(root: str | os.PathLike, run: str) -> Path:
    """A run name under `root`, or a path taken relative to `root`: either way it must stay inside `root`.

    For names and entries that come from files (an index entry, a name to train): the CLI's RUN is `run_argument`."""
    if _is_name(run):
        check_name(run)
    return inside(root, run)


def run_argument(root: str | os.PathLike, run: str) -> Path:
    """A RUN as users type it: a plain name is a folder under `root`; anything with a '/' (or '.', '..') is a path
    from the working directory to a run folder anywhere, whose parent is then its root.

    '..' in a typed path is taken as written (the folder the user pointed at); what is refused is a name, or the
    folder's own last step, that leads out of its root through a symlink."""
    if _is_name(run):
        return inside(root, check_name(run))
    path = Path(os.path.abspath(run))
    if path == path.parent:
        raise PathError(f"{run}: a filesystem root, not a run folder")
    return inside(path.parent, path.name)


def member(folder: str | os.PathLike, rel: str | os.PathLike, what: str = "the run folder") -> Path:
    """A file a folder holds or lists, resolved and refused before anything opens it when it leads out of `folder`
    or is not a regular file (reading a FIFO blocks, a device may never end). A missing file passes: the reader
    says it is missing."""
    path = inside(folder, rel, what)
    try:
        mode = path.stat().st_mode
    except OSError:
        return path
    if not stat.S_ISREG(mode):
        raise PathError(f"{path}: not a regular file (a folder, FIFO or device); refused unread")
    return path

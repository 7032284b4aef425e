"""Keeping user-given run names and paths inside their root folder."""

from __future__ import annotations

import os
import re
from pathlib import Path

from .errors import PathError

_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,127}$")


def check_name(name: str, what: str = "run name") -> str:
    """A plain folder name: letters, digits, '.', '_' and '-', no separators, not '.' or '..'."""
    if not _NAME.match(name or "") or name in (".", ".."):
        raise PathError(f"invalid {what} {name!r}: use letters, digits, '.', '_' and '-' only (no '/' or '..')")
    return name


def inside(root: str | os.PathLike, target: str | os.PathLike) -> Path:
    """`target` (absolute, or relative to `root`) resolved with symlinks, refused unless it lies under `root`."""
    root_real = Path(root).resolve()
    t = Path(target)
    candidate = (t if t.is_absolute() else Path(root) / t).resolve()
    if candidate != root_real and root_real not in candidate.parents:
        raise PathError(f"{target}: outside the runs root {Path(root)} (paths may not leave it; "
                        f"symlinks and '..' count)")
    return candidate


def resolve_run_path(root: str | os.PathLike, run: str) -> Path:
    """A run given as a name under `root` or as a path: either way it must stay inside `root`."""
    if os.sep in run or (os.altsep and os.altsep in run) or run in (".", ".."):
        return inside(root, run)
    check_name(run)
    return inside(root, run)

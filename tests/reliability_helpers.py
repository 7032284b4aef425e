"""Helpers for the reliability tests: in-process CLI runs, one-line checks, folder fingerprints, planted pickles."""

from __future__ import annotations

import hashlib
import os
import pickle
from collections.abc import Sequence
from pathlib import Path

from emogan.cli import main


def run_cli(argv: Sequence[str], capsys) -> tuple[int, str, str]:
    """`python -m emogan ARGV` in this process (what the entry point runs): exit status, stdout, stderr."""
    capsys.readouterr()
    try:
        code = main([str(a) for a in argv])
    except SystemExit as e:                       # argparse usage errors
        code = e.code if isinstance(e.code, int) else (0 if e.code is None else 1)
    out, err = capsys.readouterr()
    return code, out, err


def assert_one_line_error(code: int, err: str, *needles: str) -> str:
    """Exit status 2 and exactly one line on stderr, no traceback, naming every needle."""
    assert "Traceback" not in err, err
    lines = err.strip().splitlines()
    assert code == 2 and len(lines) == 1, (code, err)
    for n in needles:
        assert n in lines[0], (n, lines[0])
    return lines[0]


def fingerprint(folder: Path) -> dict[str, str]:
    """Every file and link under `folder`: relative path -> sha256 of its bytes (or the link's target)."""
    out = {}
    for dirpath, dirnames, filenames in os.walk(folder):
        for name in sorted(dirnames + filenames):
            p = Path(dirpath) / name
            rel = str(p.relative_to(folder))
            if p.is_symlink():
                out[rel] = "link:" + os.readlink(p)
            elif p.is_file():
                out[rel] = hashlib.sha256(p.read_bytes()).hexdigest()
            else:
                out[rel] = "dir"
    return out


class _Planted:
    """Unpickling this calls os.mkdir(marker): the marker's existence proves that code ran."""

    def __init__(self, marker: str):
        self.marker = marker

    def __reduce__(self):
        return os.mkdir, (self.marker,)


def malicious_pickle(marker: Path) -> bytes:
    """What a booby-trapped checkpoint looks like: a state-dict-shaped pickle whose loading runs os.mkdir."""
    return pickle.dumps({"state_dict": {"fc.weight": _Planted(str(marker))}, "iteration": 4})




_CLEAN_RUN: list[Path] = []


def shared_clean_run(tmp_path_factory) -> Path:
    """One finished tiny run (M3, 4 iterations, snapshots with weights at 2 and 4) per test session.

    Read-only: tests copy it before changing anything."""
    if not _CLEAN_RUN:
        from tiny import tiny_run

        _CLEAN_RUN.append(tiny_run(tmp_path_factory.mktemp("clean-run"), "r", iters=4, snapshot_every=2))
    return _CLEAN_RUN[0]

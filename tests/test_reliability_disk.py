"""Disk full / read-only output: training fails at once with one line and leaves the earlier snapshots intact."""

import json
import os
import shutil
import subprocess
import sys
import textwrap

import pandas as pd
import pytest
from reliability_helpers import assert_one_line_error, fingerprint, run_cli, shared_clean_run
from tiny import FIXTURE, REPO, fixture_faces, tiny, tiny_run

import emogan.runs.store
from emogan.runs.atomic import OutputError
from emogan.runs.store import Run

LOSS_COLS = ["iteration", "loss_D", "loss_G", "D_x", "D_G_z"]


def _full_after(monkeypatch, folder, allowed: int) -> dict:
    """From the (allowed+1)th file opened for writing under `folder` on, writes go to /dev/full (ENOSPC)."""
    count = {"n": 0}
    real_fdopen, real_open = os.fdopen, open

    def full(path) -> bool:
        if not str(path).startswith(str(folder)):
            return False
        count["n"] += 1
        return count["n"] > allowed

    def fdopen(fd, mode="r", *args, **kwargs):          # emogan.runs.atomic's temp files
        if "w" in mode and full(os.readlink(f"/proc/self/fd/{fd}")):
            os.close(fd)
            return real_open("/dev/full", mode, *args, **kwargs)
        return real_fdopen(fd, mode, *args, **kwargs)

    def open_(file, mode="r", *args, **kwargs):        # the loss log's appends
        if "a" in mode and full(file):
            return real_open("/dev/full", mode.replace("a", "w"), *args, **kwargs)
        return real_open(file, mode, *args, **kwargs)

    monkeypatch.setattr(os, "fdopen", fdopen)
    monkeypatch.setattr(emogan.runs.store, "open", open_, raising=False)
    return count


@pytest.fixture
def run(tmp_path_factory, tmp_path):
    return shutil.copytree(shared_clean_run(tmp_path_factory), tmp_path / "runs" / "r")


def test_a_full_disk_stops_a_resume_before_its_first_iteration(run, monkeypatch):
    before = fingerprint(run)
    _full_after(monkeypatch, run, allowed=0)
    steps = []
    with pytest.raises(OutputError) as e:
        tiny_run(run.parent, "r", iters=8, snapshot_every=2, resume=True, abort_fn=lambda: steps.append(1) and False)
    assert len(str(e.value).splitlines()) == 1 and "No space left on device" in str(e.value)
    assert str(run) in str(e.value) and not steps
    assert fingerprint(run) == before                      # no temp file left, nothing rewritten


def test_a_disk_filling_up_mid_run_keeps_every_listed_snapshot_and_resumes_exactly(tmp_path):
    kw = dict(model=tiny("M3"), batch=8, snapshot_every=2, snapshot_at=(), n_fixed=16, device="cpu", seed=1)
    faces = fixture_faces()
    from emogan.training.loop import train

    train(faces, tmp_path / "reference", iters=12, **kw)
    with pytest.MonkeyPatch.context() as mp, pytest.raises(OutputError, match="No space left on device"):
        count = _full_after(mp, tmp_path / "runs", allowed=20)           # about 4 snapshots, then full
        train(faces, tmp_path / "runs" / "r", iters=12, **kw)
    assert count["n"] > 20
    run = Run(tmp_path / "runs" / "r")
    assert 0 < len(run.snapshot_iterations()) < 6
    for it in run.snapshot_iterations():
        run.grid(it), run.load_generator(it)
    assert not list(run.path.rglob("*.tmp"))
    train(faces, tmp_path / "runs" / "r", iters=12, resume=True, **kw)    # space again: it carries on
    pd.testing.assert_frame_equal(Run(tmp_path / "reference").losses()[LOSS_COLS], run.losses()[LOSS_COLS])


def test_the_cli_reports_a_full_disk_in_one_line(tmp_path, monkeypatch, capsys):
    _full_after(monkeypatch, tmp_path / "out", allowed=0)
    code, _, err = run_cli(["train", "--data", FIXTURE, "--model", "M1", "--iters", 2, "--batch", 2, "--out",
                            tmp_path / "out", "--no-progress", "--device", "cpu"], capsys)
    assert_one_line_error(code, err.strip().splitlines()[-1] + "\n", "No space left on device")
    assert [ln.split(":")[0] for ln in err.strip().splitlines()] == ["data", "error"]


@pytest.mark.skipif(os.geteuid() == 0, reason="root writes into read-only (chmod) folders anyway")
def test_a_read_only_folder_is_refused_before_anything_runs(run, capsys):
    before = fingerprint(run)
    for p in [run.parent, run, run / "samples", run / "weights"]:
        p.chmod(0o555)
    try:
        code, _, err = run_cli(["train", "--data", FIXTURE, "--model", "M3", "--iters", 8, "--batch", 8,
                                "--out", run.parent, "--name", "r", "--resume"], capsys)
    finally:
        for p in [run.parent, run, run / "samples", run / "weights"]:
            p.chmod(0o755)
    assert_one_line_error(code, err, "not writable")
    assert fingerprint(run) == before


# ---------------------------------------------------------------------------------------------- a real filesystem

SCRIPT = textwrap.dedent('''
    import contextlib, io, json, os, shutil, subprocess, sys
    from emogan.cli import main
    mnt, keep, data = sys.argv[1:4]
    def cli(*args):
        err = io.StringIO()
        with contextlib.redirect_stderr(err), contextlib.redirect_stdout(io.StringIO()):
            code = main(["train", "--data", data, "--model", "M1", "--batch", "2", "--snapshot-every", "2",
                         "--out", mnt, "--no-progress", "--device", "cpu", *args])
        return {"code": code, "stderr": err.getvalue()}
    out = {"first": cli("--iters", "2")}
    shutil.copytree(os.path.join(mnt, "M1-all-s0"), os.path.join(keep, "before"))
    subprocess.run(["mount", "-o", "remount,ro", mnt], check=True)
    out["read_only"] = cli("--iters", "4", "--resume")
    subprocess.run(["mount", "-o", "remount,rw", mnt], check=True)
    # Fill the filesystem to the last block; unbuffered, so that closing has no leftover bytes to fail on.
    with open(os.path.join(mnt, "filler"), "wb", buffering=0) as f:
        try:
            while True:
                f.write(b"\\0" * 65536)
        except OSError:
            pass
    with contextlib.suppress(OSError):
        open(os.path.join(mnt, "filler2"), "wb").write(b"\\0" * 4096)
    out["full_resume"] = cli("--iters", "4", "--resume")
    out["full_new"] = cli("--iters", "2", "--name", "new")
    shutil.copytree(os.path.join(mnt, "M1-all-s0"), os.path.join(keep, "after"))
    print(json.dumps(out))
''')


def test_read_only_and_full_tmpfs_with_the_real_cli(tmp_path):
    """In a private mount namespace (unshare): a small tmpfs, remounted read-only, then filled up."""
    mnt, keep = tmp_path / "mnt", tmp_path / "keep"
    mnt.mkdir(), keep.mkdir()
    probe = subprocess.run(["unshare", "-rm", "sh", "-c", f"mount -t tmpfs -o size=1m none {mnt}"],
                           capture_output=True, text=True)
    if shutil.which("unshare") is None or probe.returncode != 0:
        pytest.skip(f"no private mount namespace here: {probe.stderr.strip()}")
    env = dict(os.environ, PYTHONPATH=str(REPO))
    res = subprocess.run(["unshare", "-rm", "sh", "-c",
                          f'mount -t tmpfs -o size=48m none "{mnt}" && exec "{sys.executable}" -c "$0" '
                          f'"{mnt}" "{keep}" "{FIXTURE}"', SCRIPT],
                         capture_output=True, text=True, env=env, cwd=REPO, timeout=600)
    assert res.returncode == 0, res.stderr[-3000:]
    out = json.loads(res.stdout.strip().splitlines()[-1])
    assert out["first"]["code"] == 0, out["first"]
    for case, needle in [("read_only", "not writable"), ("full_resume", "No space left on device"),
                         ("full_new", "No space left on device")]:
        lines = out[case]["stderr"].strip().splitlines()
        assert out[case]["code"] == 2 and "Traceback" not in out[case]["stderr"], (case, out[case])
        assert lines[-1].startswith("error:") and needle in lines[-1], (case, lines)
        assert all(ln.startswith("data:") for ln in lines[:-1]), (case, lines)
    assert fingerprint(keep / "before") == fingerprint(keep / "after")
    run = Run(keep / "after")
    assert run.snapshot_iterations() == [2] and run.status()["state"] == "done"
    for it in run.snapshot_iterations():
        run.grid(it), run.load_generator(it)

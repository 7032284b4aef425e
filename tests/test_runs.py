"""The run store: listing, damaged folders, torn loss logs, snapshots and the paths inside a run."""

import json
import shutil

import numpy as np
import pytest

from emogan.errors import PathError, RunError
from emogan.runs import Run, nearest, open_run, scan_runs
from tiny import tiny_run


@pytest.fixture(scope="module")
def root(tmp_path_factory):
    root = tmp_path_factory.mktemp("runs")
    tiny_run(root, "good", iters=20, snapshot_every=10)
    return root


def copy_run(root, tmp_path, name):
    shutil.copytree(root / "good", tmp_path / name)
    return tmp_path / name


def test_scan_lists_good_runs_and_explains_damaged_ones(root, tmp_path):
    copy_run(root, tmp_path, "ok")
    bad = copy_run(root, tmp_path, "broken")
    (bad / "config.json").write_text("{ not json")
    noindex = copy_run(root, tmp_path, "noindex")
    (noindex / "index.json").unlink()
    (tmp_path / "not-a-run").mkdir()
    entries = {e.name: e for e in scan_runs(tmp_path)}
    assert set(entries) == {"ok", "broken", "noindex"}
    assert entries["ok"].error is None and entries["ok"].model == "M3"
    assert "config.json: not valid JSON (line 1" in entries["broken"].error
    assert "index.json: missing" in entries["noindex"].error


def test_empty_and_missing_roots(tmp_path):
    assert scan_runs(tmp_path) == []
    with pytest.raises(RunError, match="runs folder not found"):
        scan_runs(tmp_path / "nope")


def test_torn_last_loss_line_is_ignored_and_bad_rows_are_named(root, tmp_path):
    run_dir = copy_run(root, tmp_path, "torn")
    with open(run_dir / "losses.csv", "a") as f:
        f.write("21,0.5,0.")                       # a kill mid-append
    assert list(Run(run_dir).losses().iteration) == list(range(1, 21))
    text = (run_dir / "losses.csv").read_text().splitlines()
    text[3] = "3,abc,1,1,1,1"
    (run_dir / "losses.csv").write_text("\n".join(text) + "\n")
    with pytest.raises(RunError, match=r"losses.csv:4: malformed loss row"):
        Run(run_dir).losses()


def test_nan_losses_load_as_nan(root, tmp_path):
    run_dir = copy_run(root, tmp_path, "nan")
    with open(run_dir / "losses.csv", "a") as f:
        f.write("21,nan,inf,0.5,0.5,1.0\n")
    df = Run(run_dir).losses()
    assert np.isnan(df.loss_D.iloc[-1]) and np.isinf(df.loss_G.iloc[-1])


def test_snapshots_grids_and_weights(root, tmp_path):
    run = open_run(root, "good")
    assert run.snapshot_iterations() == [10, 20]
    assert not np.array_equal(run.grid(10), run.grid(20))
    with pytest.raises(RunError, match="no snapshot at iteration 15 .snapshots: 10, 20"):
        run.grid(15)
    damaged = copy_run(root, tmp_path, "damaged")
    (damaged / "samples" / "000010.png").write_bytes(b"\x89PNG garbage")
    with pytest.raises(RunError, match="damaged sample grid"):
        Run(damaged).grid(10)
    (damaged / "weights" / "G_000020.safetensors").write_bytes(b"\x00" * 10)
    with pytest.raises(RunError, match="not a valid safetensors file"):
        Run(damaged).load_generator(20)


def test_index_entries_cannot_point_outside_the_run(root, tmp_path):
    run_dir = copy_run(root, tmp_path, "evil")
    (tmp_path / "secret.png").write_bytes(b"x")
    index = json.loads((run_dir / "index.json").read_text())
    index["snapshots"][0]["grid"] = "../secret.png"
    (run_dir / "index.json").write_text(json.dumps(index))
    with pytest.raises(PathError, match="outside"):
        Run(run_dir).grid(10)


def test_open_run_stays_inside_the_root(root, tmp_path):
    for bad in ("../good", "/etc", "a/../../x", ".."):
        with pytest.raises(PathError):
            open_run(root, bad)
    (root / "link").symlink_to(tmp_path)
    with pytest.raises(PathError, match="outside the runs root"):
        open_run(root, "link")
    assert open_run(root, str(root / "good")).name == "good"


def test_nearest():
    assert nearest([950, 1900, 2950], 1400) == 950
    assert nearest([950, 1900, 2950], 1425) == 950     # a tie goes to the earlier snapshot
    assert nearest([950, 1900, 2950], 1426) == 1900
    assert nearest([], 5) is None

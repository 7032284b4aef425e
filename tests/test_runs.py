"""The run store: listing, damaged folders, torn loss logs, snapshots and the paths inside a run."""

import json
import shutil

import numpy as np
import pytest
from tiny import tiny_run

from emogan.errors import PathError, RunError
from emogan.runs.store import LOSS_COLUMNS, Run, first_nonfinite, loss_log_notes, nearest, open_run, scan_runs


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


@pytest.mark.parametrize("row, why", [("3,0.5,0.5,0.5,0.5", "5 fields, expected 6"), ("3,0.5,,0.5,0.5,1", "could not convert"),
                                     ("3.0,0.5,0.5,0.5,0.5,1", "invalid literal for int")])
def test_each_malformed_row_is_named_by_its_line(root, tmp_path, row, why):
    run_dir = copy_run(root, tmp_path, "bad")
    text = (run_dir / "losses.csv").read_text().splitlines()
    text[3] = row
    (run_dir / "losses.csv").write_text("\n".join(text) + "\n")
    with pytest.raises(RunError, match=rf"losses.csv:4: malformed loss row \({why}"):
        Run(run_dir).losses()


def test_a_header_only_log_is_an_empty_frame(root, tmp_path):
    run_dir = copy_run(root, tmp_path, "fresh")
    (run_dir / "losses.csv").write_text((run_dir / "losses.csv").read_text().splitlines()[0] + "\n")
    df = Run(run_dir).losses()
    assert df.empty and list(df.columns) == list(LOSS_COLUMNS) and df["iteration"].dtype == np.int64


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


def test_open_run_takes_names_under_the_root_and_paths_anywhere(root, tmp_path, monkeypatch):
    (root / "link").symlink_to(tmp_path)
    with pytest.raises(PathError, match="outside the runs root"):
        open_run(root, "link")                             # a name may not lead out of the root
    with pytest.raises(PathError, match="invalid run name"):
        open_run(root, "a\\b")
    elsewhere = copy_run(root, tmp_path, "moved")
    assert open_run(tmp_path / "no-such-root", str(elsewhere)).path == elsewhere.resolve()
    monkeypatch.chdir(tmp_path)
    assert open_run("checkpoints", "moved/").name == "moved"       # relative to the working directory
    for not_a_run in ("..", "/etc", "nope/"):
        with pytest.raises(RunError):
            open_run(root, not_a_run)


@pytest.mark.parametrize("name", ["config.json", "index.json", "losses.csv", "latents.safetensors"])
def test_a_file_linked_out_of_the_run_is_refused_unread(root, tmp_path, name):
    run_dir = copy_run(root, tmp_path, "linked")
    other = copy_run(root, tmp_path / "outside", "other")     # a valid file: refused for where it is, not for what
    (run_dir / name).unlink()
    (run_dir / name).symlink_to(other / name)
    with pytest.raises(PathError, match=f"{name}: outside the run folder"):
        run = Run(run_dir)
        run.snapshots(), run.losses(), run.fixed_latents()
    listed = {i.name: i for i in scan_runs(tmp_path)}["linked"]
    if name in ("config.json", "index.json"):              # the two files a listing reads
        assert f"{name}: outside the run folder" in listed.error


def test_scan_describes_state_progress_and_dataset(root):
    info = scan_runs(root)[0]
    assert (info.name, info.model, info.emotion, info.state, info.iteration, info.iters) == \
        ("good", "M3", "all", "done", 20, 20)
    assert info.dataset.startswith("fer2013 (") and info.group == f"all · {info.dataset}" and info.error is None


def test_a_run_is_described_by_the_recipe_it_was_trained_with_not_the_registry_s(root, tmp_path):
    """A registry id can move on to a new recipe; a run's own config says what it is."""
    run = copy_run(root, tmp_path, "older")
    config = json.loads((run / "config.json").read_text())
    config["model_config"]["summary"] = "an earlier recipe of M3"
    (run / "config.json").write_text(json.dumps(config))
    [info] = scan_runs(tmp_path)
    assert info.summary == "an earlier recipe of M3" and info.recipe == scan_runs(root)[0].recipe   # same recipe
    config["model_config"]["lr_g"] = 1e-3
    (run / "config.json").write_text(json.dumps(config))
    assert len(scan_runs(tmp_path)[0].recipe) == 6 and scan_runs(tmp_path)[0].recipe != info.recipe


def test_loss_log_notes_flag_divergence_and_a_short_log(root, tmp_path):
    run = Run(copy_run(root, tmp_path, "notes"))
    losses = run.losses()
    assert loss_log_notes(losses, run.snapshot_iterations()) == []
    losses.loc[4, "loss_G"] = float("inf")                 # iteration 5
    losses.loc[7, "loss_D"] = float("nan")
    assert loss_log_notes(losses, [10, 20]) == ["diverged at 5"]
    assert loss_log_notes(losses.iloc[:15], [10, 20]) == ["diverged at 5", "loss log ends at 15 of 20"]
    assert loss_log_notes(losses.iloc[:0], [10]) == ["loss log ends at 0 of 10"]
    assert loss_log_notes(losses.iloc[:0], []) == []


def test_first_nonfinite_names_the_iteration(root):
    losses = Run(root / "good").losses()
    assert first_nonfinite(losses) is None
    losses.loc[losses["iteration"] == 7, "loss_D"] = float("nan")
    losses.loc[losses["iteration"] == 9, "loss_G"] = float("-inf")
    assert first_nonfinite(losses) == 7
    assert first_nonfinite(losses, columns=("loss_G",)) == 9
    assert first_nonfinite(losses.iloc[:0]) is None


def test_nearest():
    assert nearest([950, 1900, 2950], 1400) == 950
    assert nearest([950, 1900, 2950], 1425) == 950     # a tie goes to the earlier snapshot
    assert nearest([950, 1900, 2950], 1426) == 1900
    assert nearest([], 5) is None

"""`python -m emogan import-tensorboard`: event files written here by torch.utils.tensorboard become run folders
(scalars mapped to our loss columns by name or by --map, image steps as snapshots); bad input is one line."""

from __future__ import annotations

import numpy as np
import pytest
from reliability_helpers import assert_one_line_error, fingerprint, run_cli

from emogan.runs.catalog import list_runs
from emogan.runs.store import Run

SummaryWriter = pytest.importorskip("torch.utils.tensorboard").SummaryWriter
pytest.importorskip("tensorboard")


def faces(step: int, n: int = 20) -> np.ndarray:
    """uint8 (n, 1, 48, 48) faces that differ by face and by step (nonzero, so none reads as grid padding)."""
    rng = np.random.default_rng(step)
    return rng.integers(1, 256, (n, 1, 48, 48), dtype=np.uint8)


def write_events(folder, loss_tags=("Loss/D", "Loss/G"), steps=30, image_every=10, image_size=48) -> None:
    w = SummaryWriter(str(folder))
    for s in range(steps):
        w.add_scalar(loss_tags[0], 0.7 + 0.01 * s, s)
        w.add_scalar(loss_tags[1], 1.5 - 0.01 * s, s)
        w.add_scalar("D(x)", 0.6, s)
        w.add_scalar("D(G(z))", 0.3, s)
        w.add_scalar("lr", 2e-4, s)
        if s % image_every == 0:
            if image_size == 48:
                w.add_images("samples/fake", faces(s), s)
            else:
                w.add_images("samples/fake", np.zeros((4, 1, image_size, image_size), np.uint8), s)
            w.add_images("samples/real", faces(1000 + s, 8), s)
    w.close()


def test_a_real_event_file_becomes_a_run_the_explorer_lists(tmp_path, capsys):
    write_events(tmp_path / "logs" / "dcgan")
    code, out, err = run_cli(["import-tensorboard", tmp_path / "logs", "--root", tmp_path / "runs"], capsys)
    assert code == 0, err
    assert "30 loss rows (loss_D=Loss/D, loss_G=Loss/G, D_x=D(x), D_G_z=D(G(z)))" in out, out
    assert "3 snapshots of 20 faces (samples/fake)" in out, out
    run = Run(tmp_path / "runs" / "dcgan")
    losses = run.losses()
    assert losses["iteration"].tolist() == list(range(30))
    assert losses["loss_D"].tolist() == pytest.approx([0.7 + 0.01 * s for s in range(30)])
    assert losses["D_x"].tolist() == pytest.approx([0.6] * 30) and losses["D_G_z"].tolist() == pytest.approx([0.3] * 30)
    assert run.scalars()["lr"].tolist() == pytest.approx([2e-4] * 30)
    assert run.snapshot_iterations() == [0, 10, 20] and run.grid_size == 20
    for s in (0, 10, 20):
        assert np.array_equal(run.grid(s), faces(s)[:, 0]), f"the faces at step {s} changed on the way"
    assert run.framework == "tensorboard" and not run.paired_latents and run.status()["state"] == "done"
    [info] = list_runs(tmp_path / "runs")
    assert info.error is None and info.framework == "tensorboard"


def test_tags_with_other_names_are_mapped_with_map_and_several_event_folders_are_several_runs(tmp_path, capsys):
    write_events(tmp_path / "logs" / "a", loss_tags=("critic", "gen"))
    write_events(tmp_path / "logs" / "b", loss_tags=("critic", "gen"))
    code, _, err = run_cli(["import-tensorboard", tmp_path / "logs", "--root", tmp_path / "runs"], capsys)
    assert_one_line_error(code, err, "no scalar tag found for loss_D", "--map loss_D=TAG")
    assert not (tmp_path / "runs").exists() or not any((tmp_path / "runs").iterdir())
    code, out, err = run_cli(["import-tensorboard", tmp_path / "logs", "--root", tmp_path / "runs", "--name", "wgan",
                              "--map", "loss_D=critic,loss_G=gen", "--images", "samples/real"], capsys)
    assert code == 0, err
    for name in ("wgan-a", "wgan-b"):
        run = Run(tmp_path / "runs" / name)
        assert run.losses()["loss_G"].iloc[0] == pytest.approx(1.5) and run.grid_size == 8


@pytest.mark.parametrize("args, needles", [
    (["--map", "loss_X=foo"], ("'loss_X' is not one of our columns",)),
    (["--map", "loss_D"], ("expected COLUMN=TAG",)),
    (["--map", "loss_D=nope"], ("no scalar tag 'nope' for loss_D",)),
    (["--images", "nope"], ("no image tag 'nope'", "samples/fake")),
])
def test_bad_options_are_one_line(tmp_path, capsys, args, needles):
    write_events(tmp_path / "logs", steps=3)
    code, _, err = run_cli(["import-tensorboard", tmp_path / "logs", "--root", tmp_path / "runs", *args], capsys)
    assert_one_line_error(code, err, *needles)


def test_an_existing_run_a_missing_folder_and_odd_images_are_refused_in_one_line(tmp_path, capsys):
    write_events(tmp_path / "logs", steps=3)
    root = tmp_path / "runs"
    assert run_cli(["import-tensorboard", tmp_path / "logs", "--root", root, "--name", "x"], capsys)[0] == 0
    before = fingerprint(root / "x")
    code, _, err = run_cli(["import-tensorboard", tmp_path / "logs", "--root", root, "--name", "x"], capsys)
    assert_one_line_error(code, err, "a run already exists here")
    assert fingerprint(root / "x") == before
    code, _, err = run_cli(["import-tensorboard", tmp_path / "nowhere", "--root", root], capsys)
    assert_one_line_error(code, err, "nowhere", "no such log folder")
    (tmp_path / "empty").mkdir()
    code, _, err = run_cli(["import-tensorboard", tmp_path / "empty", "--root", root], capsys)
    assert_one_line_error(code, err, "holds no TensorBoard event files")
    write_events(tmp_path / "big", steps=1, image_size=64)
    code, _, err = run_cli(["import-tensorboard", tmp_path / "big", "--root", root, "--images", "samples/fake"], capsys)
    assert_one_line_error(code, err, "px is not 48x48 faces")

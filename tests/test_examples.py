"""The examples in examples/ run: each trains a few iterations on the fixture faces into a run folder that reads as
one of ours (a plain PyTorch DCGAN in at most six added lines, a Lightning GAN with two optimizers, the original's
Model 1 in Keras 3 on the torch backend, resumed)."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import numpy as np

from emogan.runs.store import Run
from emogan.sampling import generate

REPO = Path(__file__).resolve().parents[1]
EXAMPLES = REPO / "examples"


def run_example(script: str, *args: str) -> subprocess.CompletedProcess:
    env = {**os.environ, "OMP_NUM_THREADS": "1", "KERAS_BACKEND": "torch", "PYTHONWARNINGS": "ignore"}
    out = subprocess.run([sys.executable, str(EXAMPLES / script), *map(str, args)], capture_output=True, text=True,
                         timeout=600, env=env, cwd=REPO)
    assert out.returncode == 0, out.stderr[-3000:]
    return out


def test_the_dcgan_example_is_plain_pytorch_plus_six_marked_lines():
    source = (EXAMPLES / "dcgan.py").read_text().splitlines()
    marked = [line for line in source if line.rstrip().endswith("# emogan.track")]
    assert 1 <= len(marked) <= 6, marked
    unmarked = [line for line in source if "track" in line and line not in marked and not line.startswith(("    ", '"""'))]
    assert not [line for line in unmarked if "emogan" in line and "import" in line], unmarked


def test_the_dcgan_example_becomes_a_measured_run_with_walkable_weights(tmp_path, fixture_root):
    run_example("dcgan.py", "--data", fixture_root, "--iters", 50, "--out", tmp_path, "--batch-size", 16,
                "--ngf", 16, "--ndf", 16)
    run = Run(tmp_path / "dcgan")
    assert run.status()["state"] == "done" and run.framework == "pytorch" and run.paired_latents
    assert run.losses()["iteration"].tolist() == list(range(1, 51))
    assert run.face_iterations() == [50] and run.stored_faces(50).shape == (1000, 48, 48)
    assert np.array_equal(generate(run.load_generator(50), run.fixed_latents()), run.grid(50))


def test_the_lightning_example_counts_iterations_not_optimizer_steps(tmp_path, fixture_root):
    out = run_example("lightning_gan.py", "--data", fixture_root, "--iters", 12, "--snapshot-every", 5,
                      "--out", tmp_path, "--batch", 16, "--width", 8)
    assert "12 iterations, global_step 24" in out.stdout      # two optimizer steps per iteration
    run = Run(tmp_path / "lightning-gan")
    assert run.framework == "lightning" and run.status()["state"] == "done"
    assert run.losses()["iteration"].tolist() == list(range(1, 13))
    assert run.snapshot_iterations() == [5, 10, 12] and run.face_iterations() == [12]     # the end is measured
    assert np.array_equal(generate(run.load_generator(12), run.fixed_latents()), run.grid(12))


def test_the_keras_model_1_trains_snapshots_and_resumes(tmp_path, fixture_root):
    args = ("--data", fixture_root, "--out", tmp_path, "--batch", 16, "--snapshot-every", 3, "--threads", 1)
    run_example("keras_model1.py", "--iters", 6, *args)
    run = Run(tmp_path / "keras-M1-all-s0")
    assert run.framework == "keras" and run.model == "keras-M1" and run.paired_latents
    assert run.config["config"]["backend"] == "torch"
    losses = run.losses()
    assert losses["iteration"].tolist() == list(range(1, 7)) and np.isfinite(losses[["loss_D", "loss_G"]]).all().all()
    assert ((losses["D_x"] > 0) & (losses["D_x"] < 1)).all()
    assert run.snapshot_iterations() == [3, 6] and run.face_iterations() == [6]
    assert len(np.unique(run.grid(6).reshape(64, -1), axis=0)) > 1
    # Its Keras generator is stored as torch layers, which draw its faces for the latent pages.
    assert run.weight_iterations() == [3, 6]
    assert np.abs(generate(run.load_generator(6), run.fixed_latents()).astype(int) - run.grid(6)).max() <= 1

    out = run_example("keras_model1.py", "--iters", 9, "--resume", *args)
    assert "training iterations 7..9" in out.stdout
    run = Run(tmp_path / "keras-M1-all-s0")
    assert run.losses()["iteration"].tolist() == list(range(1, 10)) and run.snapshot_iterations() == [3, 6, 9]

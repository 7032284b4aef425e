"""A diverged run (NaN or inf losses) is recorded, flagged by the trainer and shown by the CLI, not hidden."""

import math

from reliability_helpers import run_cli
from tiny import FIXTURE, tiny_run

import emogan.training.session as run_session
from emogan.runs.store import Run
from emogan.training.losses import d_bce, g_bce


def _blow_up_at(monkeypatch, step: int, bad: float) -> None:
    calls = {"n": 0}

    def d_loss_blowing_up(real, fake):                  # what an exploding D looks like from the loop's side
        calls["n"] += 1
        return d_bce(real, fake) * (bad if calls["n"] >= step else 1.0)

    monkeypatch.setattr(run_session, "get_losses", lambda name: (d_loss_blowing_up, g_bce))


def test_the_cli_flags_a_diverged_run_and_lists_it(tmp_path, monkeypatch, capsys):
    _blow_up_at(monkeypatch, 7, float("nan"))
    code, _, err = run_cli(["train", "--data", FIXTURE, "--model", "M1", "--iters", 30, "--batch", 2,
                            "--snapshot-every", 5, "--out", tmp_path, "--no-progress", "--device", "cpu",
                            "--engine", "plain"], capsys)
    assert code == 1, err
    # Losses are checked a block at a time (no host sync per step), so a few more steps may have run.
    last_line = err.strip().splitlines()[-1]
    assert last_line.startswith("M1-all-s0: diverged at iteration ")
    assert last_line.endswith("(losses became NaN/inf at iteration 7)")
    run = Run(tmp_path / "M1-all-s0")
    status = run.status()
    assert status["state"] == "diverged" and status["message"] == "losses became NaN/inf at iteration 7"
    losses = run.losses()
    assert list(losses.iteration) == list(range(1, 8))               # the bad row is kept, not dropped
    assert math.isnan(losses.loss_D.iloc[-1])
    assert run.snapshot_iterations() == [5]                         # nothing is snapshotted from broken weights

    code, out, _ = run_cli(["runs", "--root", tmp_path], capsys)
    line = next(ln for ln in out.splitlines() if ln.startswith("M1-all-s0"))
    assert code == 0 and "diverged" in line and "losses became NaN/inf at iteration 7" in line


def test_an_infinite_loss_is_flagged_too(tmp_path, monkeypatch):
    _blow_up_at(monkeypatch, 4, float("inf"))
    result = tiny_run(tmp_path, "r", "M1", iters=30, snapshot_every=5)
    run = Run(result)
    assert run.status()["state"] == "diverged" and run.status()["message"] == "losses became NaN/inf at iteration 4"
    assert math.isinf(run.losses().loss_D.iloc[-1]) and list(run.losses().iteration) == [1, 2, 3, 4]

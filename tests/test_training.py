"""The trainer: a short CPU run writes a complete run; resume reproduces an uninterrupted run exactly."""

import json

import numpy as np
import pandas as pd
import pytest
import torch
from tiny import fixture_faces, tiny, tiny_run

from emogan.models import get_config
from emogan.runs.store import Run
from emogan.sampling import generate
from emogan.training.loop import Job, Progress, train, train_many

LOSS_COLS = ["iteration", "loss_D", "loss_G", "D_x", "D_G_z"]   # "seconds" is wall time, not reproducible


def test_twenty_iterations_write_a_loadable_run(tmp_path):
    path = tiny_run(tmp_path, iters=20, snapshot_every=10)
    run = Run(path)
    df = run.losses()
    assert list(df.iteration) == list(range(1, 21))
    assert np.isfinite(df[["loss_D", "loss_G", "D_x", "D_G_z"]].to_numpy()).all()
    assert ((df.D_x >= 0) & (df.D_x <= 1)).all()
    assert run.snapshot_iterations() == [10, 20] == run.weight_iterations()
    assert run.status()["state"] == "done"
    assert run.grid(20).shape == (16, 48, 48)
    assert run.fixed_latents().shape == (16, 100)
    G = run.load_generator(20)
    assert G(run.fixed_latents()[:2]).shape == (2, 1, 48, 48)
    assert run.config["model"] == "M3" and run.config["data"]["n_images"] == 84
    assert not list(path.rglob("*.tmp"))


def test_snapshot_at_adds_off_grid_iterations_and_weights_every_thins(tmp_path):
    train(fixture_faces(), tmp_path / "r", model=tiny("M1"), iters=12, batch=4, snapshot_every=4, weights_every=8,
          snapshot_at=(7,), n_fixed=4, device="cpu")
    run = Run(tmp_path / "r")
    assert run.snapshot_iterations() == [4, 7, 8, 12]
    assert run.weight_iterations() == [7, 8, 12]       # 7 is asked for, 12 is the end


def _losses(path):
    return Run(path).losses()[LOSS_COLS]


# BatchNorm + dropout; EMA + DiffAugment + spectral norm; and conditional (the drawn labels are RNG state too)
@pytest.mark.parametrize("model", ["M2", "M7", "M8"])
def test_resume_reproduces_an_uninterrupted_run(tmp_path, model):
    faces = fixture_faces()
    kw = dict(model=tiny(model), batch=8, snapshot_every=5, snapshot_at=(), n_fixed=4, device="cpu", seed=3)
    train(faces, tmp_path / "straight", iters=15, **kw)
    calls = {"n": 0}

    def abort_after_seven():
        calls["n"] += 1
        return calls["n"] > 7

    first = train(faces, tmp_path / "resumed", iters=15, abort_fn=abort_after_seven, **kw)
    assert first.status == "interrupted" and first.iteration == 7
    assert Run(tmp_path / "resumed").snapshot_iterations() == [5, 7]
    second = train(faces, tmp_path / "resumed", iters=15, resume=True, **kw)
    assert second.status == "done" and second.iteration == 15
    pd.testing.assert_frame_equal(_losses(tmp_path / "straight"), _losses(tmp_path / "resumed"))
    a, b = Run(tmp_path / "straight"), Run(tmp_path / "resumed")
    assert np.array_equal(a.grid(15), b.grid(15))


def test_resume_after_losses_ran_past_the_last_snapshot(tmp_path):
    """A kill leaves loss rows beyond the state's iteration: resume drops and recomputes them, once each."""
    faces = fixture_faces()
    kw = dict(model=tiny("M1"), batch=8, snapshot_every=5, snapshot_at=(), n_fixed=4, device="cpu")
    train(faces, tmp_path / "a", iters=10, **kw)
    train(faces, tmp_path / "b", iters=5, **kw)
    with open(tmp_path / "b" / "losses.csv", "a") as f:     # what a kill after a log flush leaves behind
        f.write("6,0.1,0.2,0.3,0.4,1.0\n7,0.1,0.2,0.3,0.4,1.0\n8,0.1,0.")
    train(faces, tmp_path / "b", iters=10, resume=True, **kw)
    pd.testing.assert_frame_equal(_losses(tmp_path / "a"), _losses(tmp_path / "b"))


def test_progress_hook_and_resume_refuses_other_settings(tmp_path):
    seen = []
    tiny_run(tmp_path, iters=20, snapshot_every=10, progress_fn=seen.append)
    assert seen and all(isinstance(p, Progress) for p in seen)
    assert seen[-1].iteration == 20 and [p.iteration for p in seen if p.snapshot] == [10, 20]
    with pytest.raises(Exception, match="cannot resume with different settings .*seed"):
        train(fixture_faces(), tmp_path / "tiny", model=tiny("M3"), iters=30, batch=8, seed=99, device="cpu",
              resume=True)
    with pytest.raises(Exception, match="a run already exists here"):
        train(fixture_faces(), tmp_path / "tiny", model=tiny("M3"), iters=30, batch=8, device="cpu")


def test_a_diverging_run_is_recorded_and_flagged(tmp_path, monkeypatch):
    import emogan.training.session as run_session
    from emogan.training.losses import d_bce, g_bce

    calls = {"n": 0}

    def d_loss_going_nan(real, fake):      # what an exploding D looks like from the loop's side
        calls["n"] += 1
        return d_bce(real, fake) * (float("nan") if calls["n"] >= 13 else 1.0)

    monkeypatch.setattr(run_session, "get_losses", lambda name: (d_loss_going_nan, g_bce))
    res = train(fixture_faces(), tmp_path / "nan", model=tiny("M1"), iters=200, batch=8, snapshot_every=10,
                n_fixed=4, device="cpu")
    assert res.status == "diverged" and res.iteration < 200
    run = Run(tmp_path / "nan")
    assert run.status()["state"] == "diverged"
    assert run.status()["message"] == "losses became NaN/inf at iteration 13"
    df = run.losses()
    assert np.isfinite(df.loss_D[df.iteration < 13]).all() and np.isnan(df.loss_D[df.iteration == 13]).all()
    assert run.snapshot_iterations() == [10]           # nothing is snapshotted from NaN weights


def test_same_seed_same_losses_different_seed_different(tmp_path):
    faces = fixture_faces()
    kw = dict(model=tiny("M1"), iters=5, batch=8, snapshot_every=5, n_fixed=4, device="cpu")
    train(faces, tmp_path / "a", seed=1, **kw)
    train(faces, tmp_path / "b", seed=1, **kw)
    train(faces, tmp_path / "c", seed=2, **kw)
    pd.testing.assert_frame_equal(_losses(tmp_path / "a"), _losses(tmp_path / "b"))
    assert not _losses(tmp_path / "a").equals(_losses(tmp_path / "c"))
    # The fixed latents do not depend on the training seed: every run draws the same faces' z.
    assert torch.equal(Run(tmp_path / "a").fixed_latents(), Run(tmp_path / "c").fixed_latents())


def test_a_run_held_by_another_process_is_left_alone(tmp_path):
    from emogan.errors import RunError
    from emogan.runs.lock import TRAIN_LOCK, FolderLock

    kw = dict(model=tiny("M1"), batch=8, snapshot_every=5, snapshot_at=(), n_fixed=4, device="cpu")
    train(fixture_faces(), tmp_path / "r", iters=5, **kw)
    before = {p.name: p.read_bytes() for p in (tmp_path / "r").rglob("*") if p.is_file()}
    with FolderLock(tmp_path / "r", TRAIN_LOCK, "trained"):          # as another process would hold it
        with pytest.raises(RunError, match="being trained by another process"):
            train(fixture_faces(), tmp_path / "r", iters=10, resume=True, **kw)
    assert {p.name: p.read_bytes() for p in (tmp_path / "r").rglob("*") if p.is_file()} == before
    assert train(fixture_faces(), tmp_path / "r", iters=10, resume=True, **kw).iteration == 10   # free again


def test_ema_warms_up_instead_of_keeping_the_random_start():
    """With a plain 0.999 average, G_ema after 20 updates would still be 98% its random initial weights."""
    from emogan.training.loop import step
    from emogan.training.losses import get_losses
    from emogan.training.state import build_state

    cfg = tiny("M7")
    s = build_state(cfg, seed=0, device=torch.device("cpu"))
    start = {k: v.clone() for k, v in s.G_ema.named_parameters()}     # parameters: BN buffers are copied as they are
    data = torch.from_numpy(fixture_faces().images)
    for _ in range(20):
        step(s, cfg, data, 8, get_losses(cfg.loss))
    assert s.ema_steps.item() == 20

    def dist(a, b):
        return sum((a[k] - b[k]).norm() ** 2 for k in a) ** 0.5

    ema, g = dict(s.G_ema.named_parameters()), dict(s.G.named_parameters())
    assert dist(ema, g) < 0.5 * dist(ema, start)


def test_a_conditional_model_learns_from_the_emotion_labels(tmp_path):
    """M8 trains on (face, emotion) pairs: the label weights of G's Dense layer and D's emotion embedding move,
    and the trained G draws a different face for each emotion from one latent."""
    import torch

    from emogan.models import build_discriminator, build_generator
    from emogan.runs.checkpoint import read_tensors
    from emogan.runs.store import STATE
    from emogan.sampling import generate

    cfg = tiny("M8")
    torch.manual_seed(0)
    G0, D0 = build_generator(cfg), build_discriminator(cfg)
    train(fixture_faces(), tmp_path / "c", model=cfg, iters=20, batch=8, snapshot_every=10, snapshot_at=(),
          n_fixed=14, device="cpu", seed=0)
    run = Run(tmp_path / "c")
    G = run.load_generator(20)
    label_cols = slice(cfg.z_dim, cfg.z_dim + 7)
    assert not torch.allclose(G.fc.weight[:, label_cols], G0.fc.weight[:, label_cols])
    state, _ = read_tensors(tmp_path / "c" / STATE)
    assert not torch.allclose(state["D.embed.parametrizations.weight.original"],
                              D0.embed.parametrizations.weight.original)
    z = torch.randn(1, cfg.z_dim).repeat(7, 1)
    faces = generate(G, z, labels=torch.arange(7))
    assert len({f.tobytes() for f in faces}) == 7
    # The fixed-latent grid cycles through the emotions: face i was asked for emotion i % 7.
    fixed = run.fixed_latents()
    assert np.array_equal(run.grid(20), generate(G, fixed, labels=torch.arange(len(fixed)) % 7))
    assert not np.array_equal(run.grid(20), generate(G, fixed, labels=torch.zeros(len(fixed), dtype=torch.long)))


def test_runs_stepped_together_equal_runs_trained_alone(tmp_path):
    faces = fixture_faces()
    kw = dict(iters=12, batch=8, snapshot_every=4, snapshot_at=(), n_fixed=4, device="cpu")
    # BatchNorm + dropout; EMA + DiffAugment + spectral norm; conditional (labels drawn too); three seeds
    models = {"M2": 0, "M7": 5, "M8": 3}
    for name, seed in models.items():
        train(faces, tmp_path / "plain" / name, model=tiny(name), seed=seed, **kw)
    # train_many builds models from registry names or configs; the tiny configs keep the test fast.
    results = train_many(faces, [Job(tiny(n), tmp_path / "together" / n, s) for n, s in models.items()], **kw)
    assert [r.status for r in results] == ["done", "done", "done"]
    for name in models:
        a, b = Run(tmp_path / "plain" / name), Run(tmp_path / "together" / name)
        pd.testing.assert_frame_equal(a.losses()[LOSS_COLS], b.losses()[LOSS_COLS])
        assert a.snapshot_iterations() == b.snapshot_iterations() == [4, 8, 12]
        assert (a.grid(12) == b.grid(12)).all()


def test_runs_resumed_together_continue_exactly(tmp_path):
    faces = fixture_faces()
    kw = dict(batch=8, snapshot_every=4, snapshot_at=(), n_fixed=4, device="cpu")
    jobs = lambda root: [Job(tiny("M1"), root / "a", 1), Job(tiny("M3"), root / "b", 2)]  # noqa: E731
    train_many(faces, jobs(tmp_path / "straight"), iters=12, **kw)
    calls = {"n": 0}

    def stop_after_six():
        calls["n"] += 1
        return calls["n"] > 6

    first = train_many(faces, jobs(tmp_path / "resumed"), iters=12, abort_fn=stop_after_six, **kw)
    assert {r.status for r in first} == {"interrupted"} and {r.iteration for r in first} == {6}
    train_many(faces, jobs(tmp_path / "resumed"), iters=12, resume=True, **kw)
    for name in ("a", "b"):
        pd.testing.assert_frame_equal(Run(tmp_path / "straight" / name).losses()[LOSS_COLS],
                                      Run(tmp_path / "resumed" / name).losses()[LOSS_COLS])


def test_a_conditional_model_on_one_emotion_is_refused_before_any_run_folder_is_made(tmp_path):
    jobs = [Job(tiny("M1"), tmp_path / "a"), Job(tiny("M8"), tmp_path / "b")]
    with pytest.raises(Exception, match="M8 is conditional: it learns every emotion at once"):
        train_many(fixture_faces(), jobs, emotion="happy", iters=2, batch=4, device="cpu")
    assert not list(tmp_path.iterdir())



def test_a_run_records_its_precision_and_resumes_only_in_it(tmp_path):
    faces = fixture_faces()
    kw = dict(model=tiny("M7"), iters=4, batch=8, snapshot_every=2, n_fixed=4, device="cpu")
    train(faces, tmp_path / "fp32", amp=False, **kw)
    config = Run(tmp_path / "fp32").config
    assert config["precision"] == "fp32" and config["threads"] == torch.get_num_threads() and "commit" in config
    with pytest.raises(Exception, match="precision fp32 != bf16-autocast: resume it with --no-amp"):
        train(faces, tmp_path / "fp32", amp=True, resume=True, **dict(kw, iters=6))
    train(faces, tmp_path / "fp32", amp=False, resume=True, **dict(kw, iters=6))
    assert Run(tmp_path / "fp32").status()["iteration"] == 6


def test_bf16_training_logs_float32_losses_and_saves_plain_weights(tmp_path):
    faces = fixture_faces()
    train(faces, tmp_path / "bf16", model=tiny("M7"), iters=4, batch=8, snapshot_every=2, n_fixed=4, device="cpu",
          amp=True)
    run = Run(tmp_path / "bf16")
    assert run.config["precision"] == "bf16-autocast"
    losses = run.losses()
    # bf16 keeps 8 bits of mantissa: float32 losses are almost never bf16-representable.
    as_bf16 = torch.tensor(losses["loss_D"].to_numpy()).bfloat16().double().numpy()
    assert (losses["loss_D"].to_numpy() != as_bf16).any()
    from emogan.sampling import generate

    # channels_last weights in training, plain ones on disk: the file redraws the snapshot's faces exactly.
    assert (generate(run.load_generator(4), run.fixed_latents()) == run.grid(4)).all()


def test_train_config_round_trips_and_run_status_reads_as_its_word():
    from emogan.training.options import RunStatus, TrainConfig
    cfg = TrainConfig(iters=12, snapshot_at=(5,), command=("python", "-m", "emogan"))
    assert TrainConfig.from_dict(cfg.to_dict()) == cfg
    assert RunStatus.DONE == "done" and str(RunStatus.INTERRUPTED) == "interrupted"


@pytest.mark.parametrize("model", ["M7", "M8", "M9", "M10"])
def test_the_registrys_m7_to_m10_build_step_and_save(model, tmp_path):
    res = train(fixture_faces(), tmp_path / model, model=model, iters=3, batch=8, snapshot_every=3, snapshot_at=(),
                n_fixed=7, device="cpu")
    assert res.status == "done"
    run = Run(tmp_path / model)
    assert run.config["model_config"] == get_config(model).to_dict()
    labels = torch.arange(7) if get_config(model).conditional else None
    faces = generate(run.load_generator(3), run.fixed_latents(), labels=labels)
    assert faces.shape == (7, 48, 48) and len({f.tobytes() for f in faces}) > 1


def _state(path):
    from emogan.runs.checkpoint import read_tensors
    from emogan.runs.store import STATE

    return read_tensors(path / STATE)


# The schedules squeezed into the run and the penalties every 4th step, so that the stop at 7 falls between two
# penalised steps and the resumed half steps with rates the first half never used.
@pytest.mark.parametrize("model", ["M9", "M10"])
def test_m9_and_m10_resume_bit_for_bit_through_schedules_and_lazy_penalties(tmp_path, model):
    faces = fixture_faces()
    cfg = tiny(model).replace(schedule_iters=12)
    assert cfg.penalty_every == 4 and cfg.gamma > 0
    kw = dict(model=cfg, batch=8, snapshot_every=7, snapshot_at=(), n_fixed=7, device="cpu", seed=2)
    train(faces, tmp_path / "straight", iters=14, **kw)
    first = train(faces, tmp_path / "resumed", iters=7, **kw)
    assert first.status == "done" and first.iteration == 7
    train(faces, tmp_path / "resumed", iters=14, resume=True, **kw)
    pd.testing.assert_frame_equal(_losses(tmp_path / "straight"), _losses(tmp_path / "resumed"))
    (a, meta_a), (b, meta_b) = _state(tmp_path / "straight"), _state(tmp_path / "resumed")
    assert a.keys() == b.keys() and any(k.startswith("D.features") for k in a)
    assert [k for k in a if not torch.equal(a[k], b[k])] == []         # G, D, G_ema, both Adams, every RNG
    assert meta_a["opt_D.param_groups"] == meta_b["opt_D.param_groups"]
    # The schedule reached its end: the optimizers hold the final rates.
    group = json.loads(meta_a["opt_G.param_groups"])[0]
    assert group["lr"] == pytest.approx(cfg.lr_g * cfg.lr_final_scale) and group["betas"][1] == cfg.beta2_final


def test_the_penalties_and_the_paired_loss_change_the_step_as_they_should():
    """Lazy R1 + R2 steps differ from plain ones in D's update only; loss_D is logged without them."""
    from emogan.training.loop import step
    from emogan.training.losses import get_losses
    from emogan.training.state import build_state

    data = torch.from_numpy(fixture_faces().images)
    base = tiny("M9").replace(gamma=0.0, gamma_final=None)
    out = {}
    for name, cfg in {"plain": base, "penalised": base.replace(gamma=10.0)}.items():
        s = build_state(cfg, seed=0, device=torch.device("cpu"))
        stats = step(s, cfg, data, 8, get_losses(cfg.loss))
        out[name] = (stats, {k: v.clone() for k, v in s.D.state_dict().items()})
    torch.testing.assert_close(out["plain"][0][0], out["penalised"][0][0])        # same logged loss_D
    assert any(not torch.equal(out["plain"][1][k], out["penalised"][1][k]) for k in out["plain"][1])
    # At iteration 1 the lazy penalty skips the step: same D as without penalties.
    s0 = build_state(base, seed=0, device=torch.device("cpu"))
    s1 = build_state(base.replace(gamma=10.0), seed=0, device=torch.device("cpu"))
    s0.iteration = s1.iteration = 1
    step(s0, base, data, 8, get_losses(base.loss)), step(s1, base.replace(gamma=10.0), data, 8, get_losses(base.loss))
    assert all(torch.equal(a, b) for a, b in zip(s0.D.state_dict().values(), s1.D.state_dict().values()))

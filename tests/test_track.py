"""emogan.track: a loop of one's own becomes a run folder of our format. End to end from a plain PyTorch loop on the
fixture faces (in a fresh interpreter that never imports the trainer), the grid latents shared with the shipped
runs, measurement from stored faces alone, resume, NaN losses, and each bad input refused with one line while
nothing already written changes."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
import warnings
from pathlib import Path

import numpy as np
import pytest
import torch
from reliability_helpers import run_cli
from torch import nn

from emogan import track
from emogan.errors import DataError, EmoganError, RunError
from emogan.runs.atomic import OutputError
from emogan.runs.store import LATENTS, Run, first_nonfinite, loss_log_notes
from emogan.sampling import generate, random_latents

REPO = Path(__file__).resolve().parents[1]
SHIPPED_M1 = REPO / "checkpoints" / "M1-all-s0"


def faces_of(z: np.ndarray) -> np.ndarray:
    """A stand-in generator: (n, 1, 48, 48) floats in [-1, 1] that depend on each latent."""
    ramp = np.linspace(-1, 1, 48 * 48, dtype=np.float32).reshape(1, 1, 48, 48)
    return np.tanh(z[:, :1, None, None] + ramp).astype(np.float32)


def fingerprint(path: Path) -> dict[str, bytes]:
    return {str(p.relative_to(path)): p.read_bytes() for p in sorted(path.rglob("*")) if p.is_file()
            and not p.name.endswith(".lock")}


@pytest.fixture
def logged(tmp_path: Path):
    """An open run with 20 logged iterations and a snapshot at 10."""
    run = track.init(tmp_path, "mine", config={"lr": 2e-4})
    for i in range(1, 21):
        run.log(i, loss_D=0.7, loss_G=0.8, D_x=0.5, D_G_z=0.4)
        if i == 10:
            run.snapshot(i, faces_of, measure=False)
    run._flush()
    run._thread.wait()
    yield run
    run.close()


# ---------------------------------------------------------------- end to end

def test_a_plain_pytorch_loop_is_a_run_that_the_metrics_measure_from_its_faces_alone(tmp_path, fixture_root, capsys):
    out = subprocess.run([sys.executable, str(REPO / "tests" / "killable_track.py"), str(tmp_path / "runs" / "dcgan"),
                          "--iters", "50", "--snapshot-every", "25", "--measure-every", "25", "--n-measure", "300"],
                         capture_output=True, text=True, timeout=600, env={**_env(), "OMP_NUM_THREADS": "1"})
    assert out.returncode == 0, out.stderr
    # The loop is plain PyTorch plus emogan.track, which loads neither our trainer nor an optional framework.
    assert "trainer modules imported: none; frameworks imported: none" in out.stdout
    run = Run(tmp_path / "runs" / "dcgan")
    assert run.status()["state"] == "done" and run.framework == "pytorch" and run.paired_latents
    assert run.model == "plain-DCGAN" and run.config["data"]["source"] == str(fixture_root)
    losses = run.losses()
    assert losses["iteration"].tolist() == list(range(1, 51)) and np.isfinite(losses["loss_D"]).all()
    assert run.snapshot_iterations() == [25, 50] == run.face_iterations()
    faces = run.stored_faces(50)
    assert faces.shape == (300, 48, 48) and faces.dtype == np.uint8
    assert np.array_equal(faces[:64], run.grid(50))        # the metrics' latents begin with the grid's
    G = run.load_generator(50)                             # its weights rebuilt without the loop's code
    assert np.array_equal(generate(G, run.fixed_latents()), run.grid(50))
    assert len(np.unique(faces.reshape(300, -1), axis=0)) > 250, "the faces should differ from latent to latent"

    # Without weights, `python -m emogan metrics` measures the run from its stored faces.
    index = json.loads((run.path / "index.json").read_text())
    for s in index["snapshots"]:
        s["weights"] = None
    (run.path / "index.json").write_text(json.dumps(index))
    shutil.rmtree(run.path / "weights")
    code, stdout, err = run_cli(["metrics", "dcgan", "--root", tmp_path / "runs", "--data", fixture_root,
                                 "--every", "25", "--n", "200", "--quiet"], capsys)
    assert code == 0, err
    rows = [json.loads(line) for line in (run.path / "metrics.jsonl").read_text().splitlines()]
    assert [r["iteration"] for r in rows] == [25, 50] and all(np.isfinite(r["fer_fid"]) for r in rows), rows
    assert "2 snapshots measured" in stdout


def _env() -> dict[str, str]:
    import os
    return {k: v for k, v in os.environ.items()}


@pytest.mark.skipif(not (SHIPPED_M1 / LATENTS).exists(), reason="the shipped M1 run is not in checkpoints/")
def test_with_z_dim_100_and_a_normal_prior_the_grid_latents_are_the_shipped_runs(tmp_path):
    with track.init(tmp_path, "paired") as run:
        assert np.array_equal(run.latents(), Run(SHIPPED_M1).fixed_latents().numpy())
        assert run.latents().dtype == np.float32 and run.latents().shape == (64, 100)
    assert Run(tmp_path / "paired").paired_latents


@pytest.mark.parametrize("z_dim, prior", [(64, "normal"), (100, "uniform")])
def test_other_latents_are_the_runs_own_and_the_config_says_they_are_not_paired(tmp_path, z_dim, prior):
    with track.init(tmp_path, "own", z_dim=z_dim, prior=prior) as run:
        z = run.latents()
        assert z.shape == (64, z_dim)
        run.snapshot(50, faces_of)
    assert not Run(tmp_path / "own").paired_latents
    assert not np.array_equal(z[:, :64], random_latents(64, 100, 0).numpy()[:, :z_dim])
    if prior == "uniform":
        assert z.min() >= -1 and z.max() <= 1
    assert Run(tmp_path / "own").stored_faces(50).shape == (1000, 48, 48)


def test_a_conditional_sample_is_asked_for_emotions_in_turn_on_the_grid_and_in_fers_mix_for_the_metrics(tmp_path):
    asked = []

    def sample(z, emotions):
        asked.append(emotions)
        return np.repeat((emotions * 30).astype(np.uint8)[:, None, None], 48, 1).repeat(48, 2)

    with track.init(tmp_path, "cond", conditional=True, n_measure=200) as run:
        run.snapshot(50, sample)
    grid_ask, metric_ask = asked
    assert grid_ask.tolist() == [i % 7 for i in range(64)] and len(metric_ask) == 200
    stored = Run(tmp_path / "cond").stored_faces(50)
    assert np.array_equal(stored[:, 0, 0], (metric_ask * 30).astype(np.uint8))
    assert np.bincount(metric_ask, minlength=7)[3] > np.bincount(metric_ask, minlength=7)[1]  # happy over disgust


def test_faces_of_every_accepted_layout_and_dtype_give_the_same_uint8_faces(tmp_path):
    with track.init(tmp_path, "layouts") as run:
        floats = faces_of(run.latents())                              # (64, 1, 48, 48) float32
        run.snapshot(1, lambda z: floats, measure=False)
        run.snapshot(2, lambda z: floats[:, 0], measure=False)        # (64, 48, 48)
        run.snapshot(3, lambda z: torch.from_numpy(floats).permute(0, 2, 3, 1).to(torch.bfloat16),
                     measure=False)                                   # (64, 48, 48, 1), a bf16 torch tensor
        run.snapshot(4, lambda z: torch.from_numpy(floats), measure=False)
    r = Run(tmp_path / "layouts")
    assert all(np.array_equal(r.grid(1), r.grid(it)) for it in (2, 4))
    assert np.abs(r.grid(3).astype(int) - r.grid(1)).max() <= 1        # bf16 rounding
    from emogan.images import to_uint8
    assert np.array_equal(r.grid(1), to_uint8(torch.from_numpy(floats)))   # the trainer's own conversion


def test_more_scalars_go_beside_the_losses_and_the_folder_reads_as_a_run(tmp_path):
    with track.init(tmp_path, "extra", config={"note": Path("/x"), "lr": 1e-3}, framework="jax") as run:
        for i in range(1, 4):
            run.log(i, loss_D=np.float32(0.5), loss_G=torch.tensor(0.7), lr=1e-3 * i)
    r = Run(tmp_path / "extra")
    assert r.framework == "jax" and r.config["config"] == {"note": "/x", "lr": 1e-3}
    assert r.scalars()["lr"].tolist() == pytest.approx([1e-3, 2e-3, 3e-3])
    assert np.isnan(r.losses()["D_x"]).all() and r.losses()["loss_G"].tolist() == pytest.approx([0.7] * 3)
    from emogan.runs.catalog import list_runs
    [info] = list_runs(tmp_path)
    assert info.error is None and info.framework == "jax" and info.state == "done" and info.iteration == 3


# ---------------------------------------------------------------- NaN, resume

def test_nan_losses_are_written_and_mark_the_run_diverged_as_ours(tmp_path):
    with track.init(tmp_path, "nan") as run:
        run.log(1, loss_D=0.7, loss_G=0.8)
        with pytest.warns(RuntimeWarning, match="NaN/inf at iteration 2"):
            run.log(2, loss_D=float("nan"), loss_G=0.8)
        run.log(3, loss_D=float("inf"), loss_G=float("nan"))
        assert run.diverged
        run._thread.wait()
        assert Run(tmp_path / "nan").status()["state"] == "diverged"    # said at once, not only at close
    r = Run(tmp_path / "nan")
    assert len(r.losses()) == 3 and first_nonfinite(r.losses()) == 2
    assert "diverged at 2" in loss_log_notes(r.losses(), [])
    assert r.status() == {"state": "diverged", "iteration": 3, "message": "losses became NaN/inf at iteration 2"}


def test_resume_continues_from_the_last_snapshot_as_train_does(logged, tmp_path):
    logged.close("interrupted", "stopped")
    with pytest.raises(RunError, match="already exists here.*resume=True"):
        track.init(tmp_path, "mine")
    run = track.init(tmp_path, "mine", resume=True)
    assert run.step == 10 and run.state() is None
    assert Run(tmp_path / "mine").losses()["iteration"].tolist() == list(range(1, 11))
    with pytest.raises(RunError, match="goes backwards"):
        run.log(10, loss_D=1, loss_G=1)
    run.log(11, loss_D=1, loss_G=1)
    run.snapshot(12, faces_of, state={"w": np.arange(3.0)})
    run.close()
    r = Run(tmp_path / "mine")
    assert r.status()["state"] == "done" and r.snapshot_iterations() == [10, 12]
    again = track.init(tmp_path, "mine", resume=True)
    assert again.step == 12 and again.state()["w"].tolist() == [0.0, 1.0, 2.0]
    again.close()
    with pytest.raises(RunError, match="different settings.*z_dim 100 != 64"):
        track.init(tmp_path, "mine", resume=True, z_dim=64)


def test_a_run_our_trainer_made_is_not_resumed_by_a_loop(tmp_path):
    from tiny import tiny_run
    tiny_run(tmp_path, "ours", "M1", iters=2, snapshot_every=2)
    with pytest.raises(RunError, match="emogan's own trainer.*train --resume"):
        track.init(tmp_path, "ours", resume=True)


# ---------------------------------------------------------------- bad input: one line, nothing harmed

def _refused(run, call, error: type[EmoganError], *needles: str) -> None:
    run._flush()
    run._thread.wait()
    before = fingerprint(run.path)
    with pytest.raises(error) as e:
        call()
    message = str(e.value)
    assert "\n" not in message and all(n in message for n in needles), message
    run._thread.wait()
    assert fingerprint(run.path) == before, "a refused call changed the run folder"


@pytest.mark.parametrize("name, call, error, needles", [
    ("log backwards", lambda r: r.log(15, loss_D=1, loss_G=1), RunError, ("step 15 goes backwards", "step 20")),
    ("log same step", lambda r: r.log(20, loss_D=1, loss_G=1), RunError, ("step 20 goes backwards",)),
    ("snapshot backwards", lambda r: r.snapshot(5, faces_of), RunError, ("snapshot at step 5 goes backwards",)),
    ("not a step", lambda r: r.log(21.5, loss_D=1, loss_G=1), DataError, ("step 21.5", "int >= 0")),
    ("not a loss", lambda r: r.log(21, loss_D="high", loss_G=1), DataError, ("loss_D must be one number", "'high'")),
    ("a batch of losses", lambda r: r.log(21, loss_D=np.ones(3), loss_G=1), DataError, ("loss_D must be one number",)),
    ("shape", lambda r: r.snapshot(30, lambda z: np.zeros((len(z), 64, 64), np.uint8)), DataError,
     ("shape (64, 64, 64)", "expected (64, 48, 48)")),
    ("count", lambda r: r.snapshot(30, lambda z: np.zeros((8, 48, 48), np.uint8)), DataError, ("for 64 latents",)),
    ("dtype", lambda r: r.snapshot(30, lambda z: np.zeros((len(z), 48, 48), np.int64)), DataError,
     ("dtype int64", "uint8")),
    ("range", lambda r: r.snapshot(30, lambda z: np.full((len(z), 48, 48), 200.0)), DataError,
     ("floats in [200, 200]", "expected [-1, 1]", "as uint8")),
    ("nan faces", lambda r: r.snapshot(30, lambda z: np.full((len(z), 48, 48), np.nan)), DataError, ("NaN",)),
    ("raises", lambda r: r.snapshot(30, lambda z: 1 / 0), RunError,
     ("snapshot at step 30", "sample raised ZeroDivisionError", "division by zero")),
    ("not callable", lambda r: r.snapshot(30, "G"), DataError, ("sample must be a callable",)),
    ("raises on the metric faces", lambda r: r.snapshot(50, _fails_on_big_batches), RunError,
     ("sample raised MemoryError", "too many")),
    ("weights of a module with custom layers", lambda r: r.snapshot(30, faces_of, weights=_Odd()), DataError,
     ("weights", "_Odd cannot be rebuilt", "Swish")),
    ("weights that are not a module", lambda r: r.snapshot(30, faces_of, weights={"w": 1}), DataError,
     ("expected a torch.nn.Module",)),
])
def test_each_bad_input_is_one_line_and_leaves_the_run_as_it_was(logged, name, call, error, needles):
    _refused(logged, lambda: call(logged), error, *needles)
    logged.log(21, loss_D=0.7, loss_G=0.8)        # and the run goes on
    logged.snapshot(21, faces_of, measure=False)


def _fails_on_big_batches(z):
    if len(z) > 64:
        raise MemoryError("too many latents at once")
    return faces_of(z)


class Swish(nn.Module):
    def forward(self, x):
        return x * torch.sigmoid(x)


class _Odd(nn.Module):
    def __init__(self):
        super().__init__()
        self.main = nn.Sequential(nn.Linear(100, 48 * 48), Swish(), nn.Unflatten(1, (1, 48, 48)), nn.Tanh())

    def forward(self, z):
        return self.main(z)


def test_an_existing_run_is_refused_without_resume_and_left_alone(logged, tmp_path):
    logged.close()
    before = fingerprint(tmp_path / "mine")
    with pytest.raises(RunError) as e:
        track.init(tmp_path, "mine", config={"other": 1})
    assert "\n" not in str(e.value) and "a run already exists here" in str(e.value) and "resume=True" in str(e.value)
    assert fingerprint(tmp_path / "mine") == before


def test_a_run_being_written_by_another_process_is_refused(logged, tmp_path):
    code = ("import sys; from emogan import track\n"
            "try:\n    track.init(sys.argv[1], 'mine', resume=True)\n"
            "except Exception as e:\n    print(e)\n")
    out = subprocess.run([sys.executable, "-c", code, str(tmp_path)], capture_output=True, text=True, timeout=120)
    assert "being trained by another process" in out.stdout, out


@pytest.mark.parametrize("where", ["a file", "/proc"])
def test_a_root_that_cannot_be_written_is_refused_by_init(tmp_path, where):
    if where == "a file":
        (tmp_path / "runs").write_text("not a folder")
        root = tmp_path / "runs"
    else:
        if not Path("/proc/self").exists():
            pytest.skip("no /proc here")
        root = Path("/proc/emogan-runs")
    with pytest.raises(OutputError) as e:
        track.init(root, "mine")
    assert "\n" not in str(e.value) and str(root) in str(e.value)


@pytest.mark.parametrize("kw, needles", [
    ({"z_dim": 0}, ("z_dim 0", "positive int")),
    ({"prior": "laplace"}, ("prior 'laplace'", "normal, uniform")),
    ({"emotion": "bored"}, ("emotion 'bored'",)),
    ({"framework": ""}, ("framework ''",)),
    ({"config": [1, 2]}, ("config must be a dict",)),
    ({"data": "/no/such/fer2013"}, ("/no/such/fer2013",)),
    ({"n_measure": -5}, ("n_measure -5",)),
])
def test_bad_settings_are_refused_by_init_before_any_folder_is_made(tmp_path, kw, needles):
    with pytest.raises(EmoganError) as e:
        track.init(tmp_path / "runs", "mine", **kw)
    assert "\n" not in str(e.value) and all(n in str(e.value) for n in needles), str(e.value)
    assert not (tmp_path / "runs").exists()


def test_a_bad_name_is_refused(tmp_path):
    with pytest.raises(EmoganError, match="invalid run name"):
        track.init(tmp_path, "../escape")


def test_closing_twice_is_harmless_and_a_closed_run_refuses_more(logged):
    logged.close()
    logged.close()
    with pytest.raises(RunError, match="closed"):
        logged.log(30, loss_D=1, loss_G=1)


def test_an_exception_in_the_loop_marks_the_run_interrupted(tmp_path):
    with pytest.raises(ValueError), track.init(tmp_path, "crash") as run:
        run.log(1, loss_D=0.7, loss_G=0.8)
        raise ValueError("bad batch")
    status = Run(tmp_path / "crash").status()
    assert status["state"] == "interrupted" and "ValueError: bad batch" in status["message"]
    assert len(Run(tmp_path / "crash").losses()) == 1


# ---------------------------------------------------------------- weights the latent pages can walk

class DCGANGenerator(nn.Module):
    """The pytorch/examples DCGAN generator's shape (a module whose forward runs one Sequential), at 48x48."""

    def __init__(self, nz: int = 100, ngf: int = 8):
        super().__init__()
        self.main = nn.Sequential(
            nn.ConvTranspose2d(nz, ngf * 4, 6, 1, 0, bias=False), nn.BatchNorm2d(ngf * 4), nn.ReLU(True),   # 6x6
            nn.ConvTranspose2d(ngf * 4, ngf * 2, 4, 2, 1, bias=False), nn.BatchNorm2d(ngf * 2), nn.ReLU(True),
            nn.ConvTranspose2d(ngf * 2, ngf, 4, 2, 1, bias=False), nn.BatchNorm2d(ngf), nn.ReLU(True),       # 24x24
            nn.ConvTranspose2d(ngf, 1, 4, 2, 1, bias=False), nn.Tanh())                                       # 48x48

    def forward(self, z):
        return self.main(z)


class Reordered(DCGANGenerator):
    def forward(self, z):           # not its layers in order: a rebuilt stack would draw other faces
        return -self.main(z)


def test_a_dcgan_module_is_stored_as_layers_that_rebuild_it_without_its_code(tmp_path):
    G = DCGANGenerator()
    with torch.no_grad():
        for m in G.modules():
            if isinstance(m, nn.BatchNorm2d):
                m.running_mean.uniform_(-0.1, 0.1)
    state = torch.get_rng_state()
    with track.init(tmp_path, "dcgan") as run:
        run.snapshot(10, track.sampler(G, shape=(-1, 100, 1, 1)), weights=G, measure=False)
    assert torch.equal(torch.get_rng_state(), state), "storing weights must not draw from the loop's RNG"
    r = Run(tmp_path / "dcgan")
    rebuilt = r.load_generator(10)
    assert isinstance(rebuilt, nn.Sequential) and not rebuilt.training
    assert np.array_equal(generate(rebuilt, r.fixed_latents()), r.grid(10))
    with pytest.raises(DataError, match="Reordered cannot be rebuilt.*not its layers run in order"):
        with track.init(tmp_path, "other") as run:
            run.snapshot(10, track.sampler(G, shape=(-1, 100, 1, 1)), weights=Reordered())


def test_a_weights_file_naming_another_layer_is_refused_unbuilt(tmp_path):
    from emogan.errors import CheckpointError
    from emogan.runs import checkpoint
    from emogan.runs.sequential import SEQUENTIAL_FORMAT
    path = tmp_path / "G.safetensors"
    layers = [{"type": "Linear", "args": {"in_features": 100, "out_features": 4, "bias": True}},
              {"type": "Exec", "args": {"code": "import os"}}]
    checkpoint.save_tensors(path, {"0.weight": torch.zeros(4, 100), "0.bias": torch.zeros(4)},
                            {"format": SEQUENTIAL_FORMAT, "layers": json.dumps(layers)})
    with pytest.raises(CheckpointError, match="type 'Exec' is not one of the layers"):
        checkpoint.load_generator(path)
    huge = [{"type": "Linear", "args": {"in_features": 10**6, "out_features": 10**6, "bias": True}}]
    checkpoint.save_tensors(path, {"0.weight": torch.zeros(4, 100), "0.bias": torch.zeros(4)},
                            {"format": SEQUENTIAL_FORMAT, "layers": json.dumps(huge)})
    with pytest.raises(CheckpointError, match="shape"):       # checked on the meta device: nothing allocated
        checkpoint.load_generator(path)


def test_the_writer_runs_off_the_calling_thread(tmp_path, monkeypatch):
    import threading

    from emogan.runs.store import RunWriter
    seen = []
    real = RunWriter.write_snapshot_files

    def spy(self, *a, **kw):
        seen.append(threading.current_thread().name)
        return real(self, *a, **kw)

    monkeypatch.setattr(RunWriter, "write_snapshot_files", spy)
    with track.init(tmp_path, "threads") as run:
        run.snapshot(1, faces_of, measure=False)
    assert seen and seen[0].startswith("emogan-track-writer"), seen


def test_warnings_are_not_raised_for_a_healthy_run(tmp_path):
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        with track.init(tmp_path, "quiet") as run:
            run.log(1, loss_D=0.7, loss_G=0.8)


def test_a_tracked_run_exports_light_with_or_without_weights(tmp_path, capsys):
    G = DCGANGenerator()
    with track.init(tmp_path / "runs", "walkable", n_measure=100) as run:
        for i in (950, 1000):
            run.log(i, loss_D=0.7, loss_G=0.8, lr=1e-3)
            run.snapshot(i, track.sampler(G, shape=(-1, 100, 1, 1)), weights=G)
    with track.init(tmp_path / "runs", "faces-only", n_measure=100) as run:
        run.log(50, loss_D=0.7, loss_G=0.8)
        run.snapshot(50, faces_of)
    code, _, err = run_cli(["export", "walkable", "faces-only", "--root", tmp_path / "runs", "--out", tmp_path / "demo"],
                           capsys)
    assert code == 0, err
    light = Run(tmp_path / "demo" / "walkable")
    assert light.weight_iterations() == [950, 1000] and light.face_iterations() == []
    assert light.scalars()["lr"].tolist() == [1e-3, 1e-3]
    assert np.abs(generate(light.load_generator(1000), light.fixed_latents()).astype(int)
                  - Run(tmp_path / "runs" / "walkable").grid(1000)).max() <= 2        # fp16 weights
    bare = Run(tmp_path / "demo" / "faces-only")
    assert bare.snapshot_iterations() == [50] and bare.weight_iterations() == [] and bare.framework == "pytorch"
    assert np.array_equal(bare.grid(50), Run(tmp_path / "runs" / "faces-only").grid(50)[:16])

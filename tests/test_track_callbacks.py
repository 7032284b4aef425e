"""The Keras 3 (torch backend) and Lightning callbacks of emogan.track: each logs every step's own values, counts
iterations itself (across fit() calls; once per batch although Lightning's global_step counts two optimizer steps),
snapshots on schedule and at the end, and refuses a training step that returns no losses in one line."""

from __future__ import annotations

import os

import numpy as np
import pytest
import torch
from torch import nn

from emogan import track
from emogan.errors import RunError
from emogan.runs.store import Run

os.environ.setdefault("KERAS_BACKEND", "torch")
keras = pytest.importorskip("keras")
pl = pytest.importorskip("lightning.pytorch")


def flat_faces(z, emotions=None):
    return np.zeros((len(z), 48, 48), np.uint8) + (np.arange(len(z)) % 255).astype(np.uint8)[:, None, None]


# ---------------------------------------------------------------- Keras

class Counting(keras.Model):
    """A model whose train_step returns known per-step values: 1, 2, 3, ... as loss_D."""

    def __init__(self, returns=None):
        super().__init__()
        self.calls = 0
        self.returns = returns
        self.built = True

    def train_step(self, data):
        self.calls += 1
        if self.returns is not None:
            return self.returns
        return {"loss_D": torch.tensor(float(self.calls)), "loss_G": 2.0 * self.calls, "D_x": 0.5, "lr": 1e-3}


class Ones(keras.utils.PyDataset):
    def __init__(self, n):
        super().__init__()
        self.n = n

    def __len__(self):
        return self.n

    def __getitem__(self, i):
        return np.ones((2, 3), np.float32)


def test_keras_logs_each_steps_own_values_across_fits_and_snapshots_on_schedule(tmp_path):
    model = Counting()
    model.compile()
    with track.init(tmp_path, "k", framework="keras", n_measure=100) as run:
        callback = track.keras.Callback(run, sample_every=4, sample=flat_faces)
        model.fit(Ones(5), epochs=1, verbose=0, callbacks=[callback])
        model.fit(Ones(4), epochs=1, verbose=0, callbacks=[callback])
    r = Run(tmp_path / "k")
    losses = r.losses()
    assert losses["iteration"].tolist() == list(range(1, 10))
    assert losses["loss_D"].tolist() == [float(i) for i in range(1, 10)]       # per step, not a running mean
    assert losses["loss_G"].tolist() == [2.0 * i for i in range(1, 10)] and (losses["D_x"] == 0.5).all()
    assert np.isnan(losses["D_G_z"]).all() and r.scalars()["lr"].tolist() == [1e-3] * 9
    # Every 4 steps, and at the end of each fit (measured there).
    assert r.snapshot_iterations() == [4, 5, 8, 9] and r.face_iterations() == [5, 9]
    assert r.framework == "keras" and r.status()["state"] == "done"


def test_keras_running_means_under_other_names_are_refused_in_one_line(tmp_path):
    model = Counting(returns={"d_loss": 0.7, "g_loss": 0.8})
    model.compile()
    with track.init(tmp_path, "k") as run, pytest.raises(RunError) as e:
        model.fit(Ones(3), epochs=1, verbose=0, callbacks=[track.keras.Callback(run, sample=flat_faces)])
    assert "\n" not in str(e.value) and "['d_loss', 'g_loss']" in str(e.value) and "loss_D and loss_G" in str(e.value)


def test_keras_callback_without_a_generator_says_what_to_pass(tmp_path):
    model = Counting()
    model.compile()
    with track.init(tmp_path, "k") as run, pytest.raises(RunError, match="no `generator` attribute.*sample="):
        model.fit(Ones(2), epochs=1, verbose=0, callbacks=[track.keras.Callback(run, sample_every=1)])


def test_keras_variables_state_restores_a_model(tmp_path):
    from emogan.track.keras import restore_variables, variables_state
    a = keras.Sequential([keras.Input((3,)), keras.layers.Dense(2)])
    b = keras.Sequential([keras.Input((3,)), keras.layers.Dense(2)])
    with track.init(tmp_path, "s") as run:
        run.snapshot(1, flat_faces, measure=False, state=variables_state(a))
    again = track.init(tmp_path, "s", resume=True)
    restore_variables(again.state(), b)
    again.close()
    x = np.ones((1, 3), np.float32)
    assert np.allclose(keras.ops.convert_to_numpy(a(x)), keras.ops.convert_to_numpy(b(x)))
    with pytest.raises(RunError, match="holds .* as \\(3, 2\\), the model has \\(3, 5\\)"):
        restore_variables(variables_state(a), keras.Sequential([keras.Input((3,)), keras.layers.Dense(5)]))


# ---------------------------------------------------------------- Lightning

class TwoOptimizers(pl.LightningModule):
    def __init__(self, returns: bool = True):
        super().__init__()
        self.automatic_optimization = False
        self.returns = returns
        self.generator = nn.Sequential(nn.Linear(100, 48 * 48), nn.Unflatten(1, (1, 48, 48)), nn.Tanh())
        self.discriminator = nn.Sequential(nn.Flatten(), nn.Linear(48 * 48, 1))

    def configure_optimizers(self):
        return (torch.optim.Adam(self.generator.parameters(), 1e-3), torch.optim.Adam(self.discriminator.parameters(), 1e-3))

    def training_step(self, batch, batch_idx):
        opt_G, opt_D = self.optimizers()
        fake = self.generator(torch.randn(len(batch), 100))
        loss_D = self.discriminator(batch).mean() - self.discriminator(fake.detach()).mean()
        opt_D.zero_grad()
        self.manual_backward(loss_D)
        opt_D.step()
        loss_G = -self.discriminator(fake).mean()
        opt_G.zero_grad()
        self.manual_backward(loss_G)
        opt_G.step()
        if not self.returns:
            self.log("loss_D", loss_D, on_step=True)
            self.log("loss_G", loss_G, on_step=True)
            return None
        return {"loss_D": loss_D.detach(), "loss_G": loss_G.detach()}


def _trainer(callback, iters: int):
    return pl.Trainer(max_steps=2 * iters, accelerator="cpu", logger=False, enable_checkpointing=False,
                      enable_progress_bar=False, enable_model_summary=False, callbacks=[callback])


@pytest.mark.parametrize("returns", [True, False], ids=["returned", "logged"])
def test_lightning_counts_iterations_while_global_step_counts_both_optimizers(tmp_path, returns):
    data = torch.utils.data.DataLoader(torch.rand(12, 1, 48, 48) * 2 - 1, batch_size=4)
    module = TwoOptimizers(returns)
    with track.init(tmp_path, "lit", framework="lightning", n_measure=100) as run:
        trainer = _trainer(track.lightning.Callback(run, sample_every=3, weights=True), 7)
        trainer.fit(module, data)
    assert trainer.global_step == 14
    r = Run(tmp_path / "lit")
    assert r.losses()["iteration"].tolist() == list(range(1, 8)) and np.isfinite(r.losses()["loss_G"]).all()
    assert r.snapshot_iterations() == [3, 6, 7] and r.face_iterations() == [7] and r.weight_iterations() == [3, 6, 7]


def test_lightning_without_losses_is_refused_in_one_line(tmp_path):
    class Silent(TwoOptimizers):
        def training_step(self, batch, batch_idx):
            super().training_step(batch, batch_idx)
            return None

    data = torch.utils.data.DataLoader(torch.rand(4, 1, 48, 48), batch_size=4)
    with track.init(tmp_path, "lit") as run, pytest.raises(RunError) as e:
        _trainer(track.lightning.Callback(run), 1).fit(Silent(returns=True), data)
    assert "\n" not in str(e.value) and "no loss_D and loss_G" in str(e.value)


def _keras_generator(batchnorm: bool) -> keras.Sequential:
    L = keras.layers
    norm = [L.BatchNormalization()] if batchnorm else []
    return keras.Sequential([
        keras.Input((100,)), L.Dense(8 * 6 * 6), *([L.BatchNormalization()] if batchnorm else []), L.LeakyReLU(0.2),
        L.Reshape((6, 6, 8)),
        L.UpSampling2D(), L.Conv2D(8, 3, padding="same"), *norm, L.LeakyReLU(0.2),
        L.UpSampling2D(), L.Conv2D(4, 3, padding="same"), L.Activation("relu"),
        L.UpSampling2D(), L.Conv2D(1, 3, padding="same", activation="tanh")])


@pytest.mark.parametrize("batchnorm", [False, True])
def test_a_keras_generator_is_stored_as_torch_layers_that_draw_its_faces(tmp_path, batchnorm):
    from emogan.sampling import generate
    from emogan.track.keras import generator_sample, torch_generator
    G = _keras_generator(batchnorm)
    for v in G.non_trainable_weights:          # BatchNorm's running statistics, away from 0 and 1
        v.assign(np.random.default_rng(1).uniform(0.5, 1.5, v.shape).astype("float32"))
    converted = torch_generator(G)
    assert isinstance(converted, nn.Sequential), converted
    with track.init(tmp_path, "kw", framework="keras") as run:
        run.snapshot(1, generator_sample(G), weights=converted, measure=False)
    r = Run(tmp_path / "kw")
    drawn = generate(r.load_generator(1), r.fixed_latents())
    assert np.abs(drawn.astype(int) - r.grid(1)).max() <= 1      # float rounding between two frameworks


def test_a_keras_generator_without_a_torch_counterpart_says_which_layer(tmp_path):
    from emogan.track.keras import torch_generator
    L = keras.layers
    G = keras.Sequential([keras.Input((100,)), L.Dense(6 * 6 * 4), L.Reshape((6, 6, 4)),
                          L.Conv2DTranspose(1, 3, strides=8, padding="same")])
    assert torch_generator(G) == "a Conv2DTranspose layer, which has no torch counterpart here"

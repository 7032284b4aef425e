"""A Lightning callback that logs a GAN's training into a tracked run.

    with track.init("checkpoints", "lit-gan", framework="lightning") as run:
        Trainer(max_steps=2 * iters, callbacks=[track.lightning.Callback(run)]).fit(gan, loader)

A GAN with two optimizers steps both in one training_step (manual optimization), and Lightning's global_step
counts optimizer steps: it advances twice per iteration (Lightning#17958). The callback counts iterations itself,
one per training batch, from the run's step. The losses are read from what training_step returns
({"loss_D": ..., "loss_G": ..., "D_x": ..., "D_G_z": ...}, the step's own values), else from what it logged with
self.log(..., on_step=True) under those names.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

import lightning.pytorch as pl

from emogan.errors import RunError
from emogan.track.faces import sampler
from emogan.track.run import TrackedRun

LOSSES = ("loss_D", "loss_G")
OPTIONAL = ("D_x", "D_G_z")


class Callback(pl.Callback):
    """Logs every iteration's losses and snapshots the generator every `sample_every` iterations (and at the end).

    sample: latents -> faces (default: the module's `generator` attribute through track.sampler, with latents
    reshaped to `shape` when given, e.g. (-1, 100, 1, 1)). weights: also store the generator's weights (a stack
    of standard layers; see TrackedRun.snapshot) so the explorer's latent pages can walk it."""

    def __init__(self, run: TrackedRun, sample_every: int = 50, sample: Callable[..., Any] | None = None,
                 shape: tuple[int, ...] | None = None, weights: bool = False):
        if isinstance(sample_every, bool) or not isinstance(sample_every, int) or sample_every < 1:
            raise RunError(f"sample_every {sample_every!r} must be a positive int (iterations between snapshots)")
        self.run, self.sample_every, self._sample, self.shape, self.weights = run, sample_every, sample, shape, weights
        self.step = run.step

    def _generator(self, module: pl.LightningModule) -> Any:
        G = getattr(module, "generator", None)
        if G is None:
            raise RunError(f"{self.run.path.name}: the LightningModule has no `generator` attribute to draw faces "
                           "with; pass Callback(run, sample=...)")
        return G

    def on_train_batch_end(self, trainer: pl.Trainer, pl_module: pl.LightningModule, outputs: Any, batch: Any,
                           batch_idx: int) -> None:
        values = _values(outputs, trainer.callback_metrics)
        missing = [k for k in LOSSES if k not in values]
        if missing:
            raise RunError(f"{self.run.path.name}: training_step returned or logged no {' and '.join(missing)}; "
                           "return the step's own {'loss_D': ..., 'loss_G': ...} (see emogan.track.lightning)")
        self.step += 1
        self.run.log(self.step, **values)
        last = _last(trainer)
        if self.step % self.sample_every == 0 or last:
            self._snapshot(pl_module, measure=True if last else None)

    def on_train_end(self, trainer: pl.Trainer, pl_module: pl.LightningModule) -> None:
        if not self.run.closed and self.step > self.run.last_snapshot:
            self._snapshot(pl_module, measure=True)      # the last iteration is measured, as our runs' last

    def _snapshot(self, module: pl.LightningModule, measure: bool | None = None) -> None:
        sample = self._sample or sampler(self._generator(module), self.shape)
        weights = self._generator(module) if self.weights else None
        self.run.snapshot(self.step, sample, weights=weights, measure=measure)


def _last(trainer: pl.Trainer) -> bool:
    """Whether the batch just trained is the training's last (by max_steps, or by max_epochs on its last batch)."""
    if trainer.max_steps is not None and trainer.max_steps > 0 and trainer.global_step >= trainer.max_steps:
        return True
    epochs = trainer.max_epochs
    return bool(trainer.is_last_batch and epochs is not None and epochs > 0 and trainer.current_epoch + 1 >= epochs)


def _values(outputs: Any, logged: Mapping[str, Any]) -> dict[str, Any]:
    """loss_D, loss_G (and D_x, D_G_z where present): from training_step's returned dict, else its logged ones."""
    source = outputs if isinstance(outputs, Mapping) and all(k in outputs for k in LOSSES) else logged
    return {k: source[k] for k in LOSSES + OPTIONAL if k in source}

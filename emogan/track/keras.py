"""A Keras 3 callback that logs a GAN's fit() into a tracked run (tested on the torch backend, no TensorFlow).

    with track.init("checkpoints", "keras-m1", framework="keras") as run:
        gan.fit(batches, callbacks=[track.keras.Callback(run, sample_every=50)])

Keras hands callbacks what `train_step` returns, and the usual GAN train_step returns its loss trackers' results:
running means since the epoch began, not the step's losses. For the loss curves to show each step, train_step
must return the step's own values under our names: {"loss_D": d_loss, "loss_G": g_loss} (tensors or floats), and
D's mean outputs on real and generated faces as "D_x" and "D_G_z" where it has them. Any other value it returns is
logged beside them (scalars.jsonl). Keep steps_per_execution at 1, or Keras calls back once per several steps.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Mapping
from typing import Any

import numpy as np

from emogan.errors import RunError
from emogan.track.faces import to_numpy
from emogan.track.run import TrackedRun

os.environ.setdefault("KERAS_BACKEND", "torch")     # before keras is first imported: no TensorFlow needed
import keras  # noqa: E402

LOSSES = ("loss_D", "loss_G")
OPTIONAL = ("D_x", "D_G_z")
SAMPLE_BATCH = 250          # generator calls of at most this many latents: 1000 faces at once would hold ~0.5 GB


def generator_sample(generator: keras.Model, batch: int = SAMPLE_BATCH) -> Callable[..., np.ndarray]:
    """A `sample` callable for a Keras generator: latents (and a conditional run's emotions) to its faces, drawn in
    inference mode, `batch` latents at a time."""
    def sample(z: np.ndarray, emotions: np.ndarray | None = None) -> np.ndarray:
        out = []
        for i in range(0, len(z), batch):
            args = z[i:i + batch] if emotions is None else [z[i:i + batch], emotions[i:i + batch]]
            out.append(keras.ops.convert_to_numpy(generator(args, training=False)))
        return np.concatenate(out)
    return sample


class Callback(keras.callbacks.Callback):
    """Logs every training step's losses and snapshots the generator every `sample_every` steps (and at the end).

    sample: latents -> faces (default: the model's `generator` attribute, in inference mode). state: called at
    each snapshot for the tensors to resume from (see TrackedRun.state). The callback counts steps itself, across
    epochs and fit() calls, from the run's step (a resumed run's)."""

    def __init__(self, run: TrackedRun, sample_every: int = 50, sample: Callable[..., Any] | None = None,
                 state: Callable[[], Mapping[str, Any]] | None = None):
        super().__init__()
        if isinstance(sample_every, bool) or not isinstance(sample_every, int) or sample_every < 1:
            raise RunError(f"sample_every {sample_every!r} must be a positive int (steps between snapshots)")
        self.run, self.sample_every, self._sample, self._state = run, sample_every, sample, state
        self.step = run.step

    def _sampler(self) -> Callable[..., Any]:
        if self._sample is not None:
            return self._sample
        generator = getattr(self.model, "generator", None)
        if not isinstance(generator, keras.Model):
            raise RunError(f"{self.run.path.name}: the model has no `generator` attribute to draw faces with; "
                           "pass Callback(run, sample=...)")
        return generator_sample(generator)

    def on_train_begin(self, logs: Mapping[str, Any] | None = None) -> None:
        self.step = max(self.step, self.run.step)
        self.epoch = 0

    def on_epoch_begin(self, epoch: int, logs: Mapping[str, Any] | None = None) -> None:
        self.epoch = epoch

    def _last(self, batch: int) -> bool:
        """Whether this is fit()'s last step (its snapshot is then measured, as the metrics measure a run's last)."""
        steps, epochs = self.params.get("steps"), self.params.get("epochs")
        return steps is not None and epochs is not None and batch == steps - 1 and self.epoch == epochs - 1

    def on_train_batch_end(self, batch: int, logs: Mapping[str, Any] | None = None) -> None:
        logs = dict(logs or {})
        missing = [k for k in LOSSES if k not in logs]
        if missing:
            raise RunError(f"{self.run.path.name}: train_step returned {sorted(logs) or 'nothing'}; it must return "
                           f"the step's own {' and '.join(LOSSES)} (see emogan.track.keras)")
        self.step += 1
        extra = {k: v for k, v in logs.items() if k not in LOSSES + OPTIONAL and np.size(_value(v)) == 1}
        self.run.log(self.step, **{k: logs[k] for k in LOSSES + OPTIONAL if k in logs}, **extra)
        last = self._last(batch)
        if self.step % self.sample_every == 0 or last:
            self._snapshot(measure=True if last else None)

    def on_train_end(self, logs: Mapping[str, Any] | None = None) -> None:
        if not self.run.closed and self.step > self.run.last_snapshot:
            self._snapshot(measure=True)        # the last step is measured, as the metrics measure a run's last

    def _snapshot(self, measure: bool | None = None) -> None:
        state = self._state() if self._state is not None else None
        self.run.snapshot(self.step, self._sampler(), measure=measure, state=state)


def _value(v: Any) -> Any:
    try:
        return keras.ops.convert_to_numpy(v)
    except Exception:  # noqa: BLE001 - a value Keras cannot convert is left out of the extras
        return np.empty(0)


def variables_state(*groups: Any) -> dict[str, np.ndarray]:
    """The values of Keras variables (models' weights, optimizers' variables, seed generators' states) by position:
    what a resumed fit() needs, for `Callback(state=...)`. Restore them with `restore_variables`."""
    out = {}
    for g, group in enumerate(groups):
        for i, v in enumerate(_variables(group)):
            out[f"{g}.{i}"] = keras.ops.convert_to_numpy(v)
    return out


def restore_variables(state: Mapping[str, Any], *groups: Any) -> None:
    """Assign what variables_state stored to the same variables (built the same way, in the same order)."""
    for g, group in enumerate(groups):
        variables = _variables(group)
        for i, v in enumerate(variables):
            key = f"{g}.{i}"
            if key not in state:
                raise RunError(f"the resume state has no value for variable {v.path} (group {g}, #{i}): "
                               "was the model built differently?")
            value = to_numpy(state[key])
            if tuple(value.shape) != tuple(v.shape):
                raise RunError(f"the resume state holds {v.path} as {tuple(value.shape)}, the model has "
                               f"{tuple(v.shape)}")
            v.assign(value.astype(v.dtype))


def _variables(group: Any) -> list:
    if isinstance(group, (list, tuple)):
        return list(group)
    if isinstance(group, keras.optimizers.Optimizer):
        return list(group.variables)
    if isinstance(group, keras.random.SeedGenerator):
        return [group.state]
    return list(group.weights)

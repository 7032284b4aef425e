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
    each snapshot for the tensors to resume from (see TrackedRun.state). weights: also store the generator's
    weights, translated to torch layers (torch_generator), so the explorer's latent pages can walk it; a generator
    that cannot be translated is refused at the first snapshot. The callback counts steps itself, across epochs
    and fit() calls, from the run's step (a resumed run's)."""

    def __init__(self, run: TrackedRun, sample_every: int = 50, sample: Callable[..., Any] | None = None,
                 state: Callable[[], Mapping[str, Any]] | None = None, weights: bool = False):
        super().__init__()
        if isinstance(sample_every, bool) or not isinstance(sample_every, int) or sample_every < 1:
            raise RunError(f"sample_every {sample_every!r} must be a positive int (steps between snapshots)")
        self.run, self.sample_every, self._sample, self._state, self.weights = run, sample_every, sample, state, weights
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
        weights = None
        if self.weights:
            weights = torch_generator(getattr(self.model, "generator", None))
            if isinstance(weights, str):
                raise RunError(f"{self.run.path.name}: the generator's weights cannot be stored for the latent pages: "
                               f"{weights}; pass Callback(weights=False)")
        self.run.snapshot(self.step, self._sampler(), weights=weights, measure=measure, state=state)


# ---------------------------------------------------------------- a Keras generator as torch layers

_ACTIVATIONS = {"linear": None, "relu": "ReLU", "tanh": "Tanh", "sigmoid": "Sigmoid", "silu": "SiLU", "elu": "ELU"}


def torch_generator(generator: keras.Model) -> Any:
    """The same generator as a torch nn.Sequential of standard layers (channels first), or a one-line reason why it
    cannot be: what TrackedRun.snapshot(weights=...) stores, so the explorer's latent pages can walk a Keras
    generator. Dense, Reshape, UpSampling2D, Conv2D (stride 1, or 'valid'), BatchNormalization, LeakyReLU, ReLU
    and Activation layers of a Sequential convert; its output is checked against the Keras model's on probe latents."""
    import torch
    from torch import nn

    if not isinstance(generator, keras.Sequential):
        return f"a {type(generator).__name__}, not a keras.Sequential"
    out: list[nn.Module] = []
    with torch.random.fork_rng(devices=[]):      # layers draw initial weights: not from the training's RNG
        for layer in generator.layers:
            got = _convert(layer, out)
            if isinstance(got, str):
                return got
            out += got
    G = nn.Sequential(*out).eval()
    z_dim = int(generator.inputs[0].shape[-1]) if generator.inputs else None
    if z_dim is None:
        return "its input size is unknown (build it with keras.Input)"
    z = np.random.default_rng(0).standard_normal((2, z_dim)).astype(np.float32)
    want = np.moveaxis(keras.ops.convert_to_numpy(generator(z, training=False)), -1, 1)
    with torch.no_grad():
        got = G(torch.from_numpy(z)).numpy()
    if got.shape != want.shape or not np.allclose(got, want, atol=1e-4, rtol=1e-3):
        return "its torch translation draws other faces than it does"
    return G


def _tensor(v: Any) -> Any:
    import torch
    return torch.from_numpy(np.ascontiguousarray(keras.ops.convert_to_numpy(v), dtype=np.float32))


def _activation(name: str) -> list | str:
    from torch import nn
    if name not in _ACTIVATIONS:
        return f"activation {name!r}"
    return [] if _ACTIVATIONS[name] is None else [getattr(nn, _ACTIVATIONS[name])()]


def _convert(layer: Any, done: list) -> list | str:
    """The torch layers for one Keras layer (`done`: those so far, which a Reshape may reorder)."""
    import torch
    from torch import nn
    kind = type(layer).__name__
    config = layer.get_config()
    if kind == "InputLayer":
        return []
    if kind == "Dense":
        lin = nn.Linear(layer.kernel.shape[0], layer.kernel.shape[1], bias=layer.use_bias)
        with torch.no_grad():
            lin.weight.copy_(_tensor(layer.kernel).T)
            if layer.use_bias:
                lin.bias.copy_(_tensor(layer.bias))
        act = _activation(layer.activation.__name__)
        return f"a Dense layer with {act}" if isinstance(act, str) else [lin, *act]
    if kind == "LeakyReLU":
        return [nn.LeakyReLU(float(config["negative_slope"]))]
    if kind == "ReLU" and config.get("max_value") is None and not config.get("negative_slope") \
            and not config.get("threshold"):
        return [nn.ReLU()]
    if kind == "Activation":
        act = _activation(layer.activation.__name__)
        return f"a layer with {act}" if isinstance(act, str) else act
    if kind == "Reshape" and len(layer.target_shape) == 3:
        h, w, c = layer.target_shape
        # Keras lays the units out (h, w, c), torch (c, h, w): the layers since the last Linear are elementwise or
        # per-unit, so reordering that Linear's (and those layers') units makes Unflatten give torch's layout.
        order = torch.from_numpy(np.arange(h * w * c).reshape(h, w, c).transpose(2, 0, 1).ravel())
        last = max((i for i, m in enumerate(done) if isinstance(m, nn.Linear)), default=None)
        if last is None or any(not isinstance(m, (nn.LeakyReLU, nn.ReLU, nn.Tanh, nn.Sigmoid, nn.SiLU, nn.ELU,
                                                   nn.BatchNorm1d)) for m in done[last + 1:]):
            return "a Reshape that does not follow a Dense layer"
        with torch.no_grad():
            for m in done[last:]:
                for t in (*m.parameters(recurse=False), *m.buffers(recurse=False)):
                    if t.dim() >= 1 and t.shape[0] == h * w * c:
                        t.copy_(t[order])
        return [nn.Unflatten(1, (c, h, w))]
    if kind == "UpSampling2D" and config["interpolation"] in ("nearest", "bilinear"):
        return [nn.Upsample(scale_factor=tuple(float(s) for s in config["size"]), mode=config["interpolation"])]
    if kind == "Conv2D" and config["data_format"] == "channels_last" and config["groups"] == 1:
        kh, kw, cin, cout = layer.kernel.shape
        strided = tuple(config["strides"]) != (1, 1)
        if config["padding"] == "same" and (strided or kh % 2 == 0 or kw % 2 == 0):
            return "a Conv2D with 'same' padding and a stride or an even kernel (padded on one side)"
        pad = (kh // 2, kw // 2) if config["padding"] == "same" else (0, 0)
        conv = nn.Conv2d(cin, cout, (kh, kw), tuple(config["strides"]), pad, tuple(config["dilation_rate"]),
                         bias=layer.use_bias)
        with torch.no_grad():
            conv.weight.copy_(_tensor(layer.kernel).permute(3, 2, 0, 1))
            if layer.use_bias:
                conv.bias.copy_(_tensor(layer.bias))
        act = _activation(layer.activation.__name__)
        return f"a Conv2D with {act}" if isinstance(act, str) else [conv, *act]
    if kind == "BatchNormalization" and config["axis"] in (-1, [-1], 3, [3]) and config["center"] and config["scale"]:
        n = layer.gamma.shape[0]
        flat = not any(isinstance(m, nn.Unflatten) for m in done)      # still (N, units): after a Dense
        bn = (nn.BatchNorm1d if flat else nn.BatchNorm2d)(n, eps=float(config["epsilon"]),
                                                          momentum=1 - float(config["momentum"]))
        with torch.no_grad():
            bn.weight.copy_(_tensor(layer.gamma))
            bn.bias.copy_(_tensor(layer.beta))
            bn.running_mean.copy_(_tensor(layer.moving_mean))
            bn.running_var.copy_(_tensor(layer.moving_variance))
        return [bn]
    return f"a {kind} layer, which has no torch counterpart here"


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

"""The original project's Model 1 written in Keras 3, as its authors wrote it (Keras, here on the torch backend):
the same reading of its slides as our M1 (emogan/models/registry.py), so that the two runs check each other.

G: Dense(64*6*6) -> LeakyReLU(0.2) -> Reshape(6, 6, 64) -> 3 x [UpSampling2D -> Conv2D 3x3 -> LeakyReLU(0.2)]
   with 128, 64, 32 filters -> Conv2D(1, 3x3, tanh): 48x48 faces from 100-dim normal latents.
D: 2 x [Conv2D 3x3 stride 2 -> LeakyReLU(0.2) -> Dropout(0.3)] with 64, 128 filters -> Flatten -> Dense(1, sigmoid).
Adam(2e-4, beta_1 0.5) for both, binary cross-entropy; D's loss is the mean of its real and fake terms, as Keras
reports a D trained on half-real, half-fake batches; G's is the non-saturating one (fakes labelled real).

    KERAS_BACKEND=torch python examples/keras_model1.py --data PATH/TO/fer2013 --iters 5000 --snapshot-every 50 \\
        --threads 1 --out checkpoints
    python -m emogan metrics keras-M1-all-s0 --root checkpoints

Every step's losses go to the run; every --snapshot-every steps a snapshot, measured (1000 stored faces) at
multiples of 50 and at the end, as our runs are. --resume continues a stopped run from its last snapshot.
"""

from __future__ import annotations

import argparse
import os
import time

os.environ.setdefault("KERAS_BACKEND", "torch")

import keras  # noqa: E402
import numpy as np  # noqa: E402
from keras import layers  # noqa: E402

from emogan import track  # noqa: E402
from emogan.data import load_faces  # noqa: E402
from emogan.track.keras import Callback, restore_variables, variables_state  # noqa: E402

Z_DIM = 100


def build_generator() -> keras.Sequential:
    return keras.Sequential([
        keras.Input((Z_DIM,)),
        layers.Dense(64 * 6 * 6), layers.LeakyReLU(0.2),
        layers.Reshape((6, 6, 64)),                                                   # (N, 6, 6, 64)
        layers.UpSampling2D(), layers.Conv2D(128, 3, padding="same"), layers.LeakyReLU(0.2),   # (N, 12, 12, 128)
        layers.UpSampling2D(), layers.Conv2D(64, 3, padding="same"), layers.LeakyReLU(0.2),    # (N, 24, 24, 64)
        layers.UpSampling2D(), layers.Conv2D(32, 3, padding="same"), layers.LeakyReLU(0.2),    # (N, 48, 48, 32)
        layers.Conv2D(1, 3, padding="same", activation="tanh"),                      # (N, 48, 48, 1)
    ], name="generator")


def build_discriminator() -> keras.Sequential:
    return keras.Sequential([
        keras.Input((48, 48, 1)),
        layers.Conv2D(64, 3, strides=2, padding="same"), layers.LeakyReLU(0.2), layers.Dropout(0.3),   # (N, 24, 24, 64)
        layers.Conv2D(128, 3, strides=2, padding="same"), layers.LeakyReLU(0.2), layers.Dropout(0.3),  # (N, 12, 12, 128)
        layers.Flatten(), layers.Dense(1, activation="sigmoid"),
    ], name="discriminator")


class GAN(keras.Model):
    """One D update on a real and a generated batch, then one G update: Keras's GAN train_step on the torch backend."""

    def __init__(self, seed: int):
        super().__init__()
        self.generator, self.discriminator = build_generator(), build_discriminator()
        self.seed_generator = keras.random.SeedGenerator(seed)
        self.built = True       # its parts are built from their Input layers; fit() would otherwise call it

    def compile(self) -> None:
        super().compile()
        self.d_optimizer = keras.optimizers.Adam(2e-4, beta_1=0.5)
        self.g_optimizer = keras.optimizers.Adam(2e-4, beta_1=0.5)
        self.d_optimizer.build(self.discriminator.trainable_weights)
        self.g_optimizer.build(self.generator.trainable_weights)
        self.bce = keras.losses.BinaryCrossentropy()

    def _apply(self, loss, optimizer, model) -> None:
        import torch
        loss.backward()
        weights = model.trainable_weights
        with torch.no_grad():
            optimizer.apply([v.value.grad for v in weights], weights)

    def train_step(self, real):
        if isinstance(real, (list, tuple)):      # fit() hands over (x,) when the data has no labels
            real = real[0]
        n = keras.ops.shape(real)[0]
        z = keras.random.normal((n, Z_DIM), seed=self.seed_generator)
        fake = self.generator(z, training=True)

        # D: real faces labelled 1, generated ones 0 (G's output detached: this step moves only D).
        self.zero_grad()
        d_real = self.discriminator(real, training=True)
        d_fake = self.discriminator(keras.ops.stop_gradient(fake), training=True)
        loss_D = 0.5 * (self.bce(keras.ops.ones_like(d_real), d_real) + self.bce(keras.ops.zeros_like(d_fake), d_fake))
        self._apply(loss_D, self.d_optimizer, self.discriminator)

        # G: its faces labelled real, through the D just updated.
        self.zero_grad()
        d_on_fake = self.discriminator(fake, training=True)
        loss_G = self.bce(keras.ops.ones_like(d_on_fake), d_on_fake)
        self._apply(loss_G, self.g_optimizer, self.generator)

        # The step's own values, not running means: what emogan.track.keras.Callback logs.
        return {"loss_D": loss_D.detach(), "loss_G": loss_G.detach(),
                "D_x": keras.ops.mean(d_real).detach(), "D_G_z": keras.ops.mean(d_fake).detach()}

    def state_groups(self) -> tuple:
        """What a resumed fit needs, in a fixed order: weights, optimizer variables, the latent RNG."""
        return (self.generator, self.discriminator, self.g_optimizer, self.d_optimizer, self.seed_generator)


class Batches(keras.utils.PyDataset):
    """`steps` batches of faces drawn with replacement from a seeded RNG, as (N, 48, 48, 1) floats in [-1, 1]."""

    def __init__(self, images: np.ndarray, batch: int, steps: int, seed: int, start: int = 0):
        super().__init__()
        self.images, self.batch, self.steps, self.seed, self.start = images, batch, steps, seed, start

    def __len__(self) -> int:
        return self.steps

    def __getitem__(self, i: int) -> np.ndarray:
        # Seeded by the iteration: a resumed run draws the batches the uninterrupted one would have.
        idx = np.random.default_rng([self.seed, self.start + i]).integers(0, len(self.images), self.batch)
        return (self.images[idx].astype(np.float32) / 127.5 - 1.0)[..., None]


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--data", required=True, help="FER2013 root (train/<emotion>/ images) or fer2013.csv")
    p.add_argument("--iters", type=int, default=5000)
    p.add_argument("--out", default="checkpoints", help="runs folder")
    p.add_argument("--name", default=None, help="run folder name (default: keras-M1-EMOTION-sSEED)")
    p.add_argument("--emotion", default="all")
    p.add_argument("--batch", type=int, default=64)
    p.add_argument("--snapshot-every", type=int, default=50)
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--threads", type=int, default=None, help="CPU threads for torch (default: one per core)")
    p.add_argument("--resume", action="store_true", help="continue the run from its last snapshot")
    args = p.parse_args(argv)
    if args.threads:
        import torch
        torch.set_num_threads(args.threads)
    keras.utils.set_random_seed(args.seed)
    faces = load_faces(args.data, split="train", emotion=args.emotion)
    gan = GAN(args.seed)
    gan.compile()
    name = args.name or f"keras-M1-{args.emotion}-s{args.seed}"
    config = {"model": "keras-M1", "seed": args.seed, "batch": args.batch, "iters": args.iters,
              "snapshot_every": args.snapshot_every, "threads": args.threads, "keras": keras.__version__,
              "backend": keras.backend.backend(),
              "summary": "the original's Model 1 in Keras 3: UpSampling2D+Conv2D G, Conv2D D with Dropout 0.3, "
                         "Adam 2e-4/0.5, binary cross-entropy"}
    with track.init(args.out, name, config=config, framework="keras", data=faces, emotion=args.emotion,
                    resume=args.resume) as run:
        if run.state() is not None:
            restore_variables(run.state(), *gan.state_groups())
        left = args.iters - run.step
        if left <= 0:
            print(f"{name}: already at iteration {run.step} of {args.iters}")
            return 0
        print(f"{name}: {len(faces)} faces, training iterations {run.step + 1}..{args.iters}", flush=True)
        t0 = time.perf_counter()
        # weights=True: G's weights at every snapshot, as torch layers the explorer's latent pages can walk.
        callback = Callback(run, sample_every=args.snapshot_every, weights=True,
                            state=lambda: variables_state(*gan.state_groups()))
        gan.fit(Batches(faces.images, args.batch, left, args.seed, run.step), epochs=1, verbose=0,
                callbacks=[callback])
        print(f"{name}: {left} iterations in {time.perf_counter() - t0:.0f} s; status {run.status}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

"""Bring your own GAN: a training loop of any framework logs into a run folder of the format our trainer writes,
so the explorer shows it beside M1..M8 and `python -m emogan metrics` measures it from its stored faces.

    from emogan import track
    run = track.init("checkpoints", "my-dcgan", config=vars(args), data=args.data)
    run.log(step, loss_D=..., loss_G=..., D_x=..., D_G_z=...)       # every iteration
    run.snapshot(step, track.sampler(G, shape=(-1, 100, 1, 1)))      # every 50: latents -> faces
    run.close()

run.py      init and the run it returns (log, snapshot, close; a context manager)
faces.py    what a `sample` callable returned, checked and made uint8 faces
latents.py  the grid latents (the shipped runs' own for z_dim 100, normal prior) and the metrics' latents
writer.py   the background thread that writes the files
keras.py, lightning.py   callbacks for Keras 3 and Lightning; each imports its framework, the rest never does
tensorboard.py           TensorBoard event files read into run folders (`python -m emogan import-tensorboard`)
"""

from __future__ import annotations

import importlib
from typing import Any

from emogan.track.faces import sampler
from emogan.track.run import TrackedRun, init

__all__ = ["TrackedRun", "init", "sampler"]


def __getattr__(name: str) -> Any:
    # track.keras / track.lightning / track.tensorboard load their framework only when first used.
    if name in ("keras", "lightning", "tensorboard"):
        return importlib.import_module(f"emogan.track.{name}")
    raise AttributeError(f"module 'emogan.track' has no attribute {name!r}")

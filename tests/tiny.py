"""Tiny model configs and helpers shared by the tests: same code paths as M1..M7, a fraction of the compute."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

from emogan.data import FaceSet, load_faces
from emogan.models import GANConfig, get_config
from emogan.training.loop import train

REPO = Path(__file__).resolve().parents[1]
FIXTURE = REPO / "tests" / "fixtures" / "fer2013"


def tiny(name: str = "M3", **changes) -> GANConfig:
    """The registered model `name`, narrowed: 8-16 channels instead of 32-256."""
    d = (16, 32) if get_config(name).d_channels[0] > 64 else (8, 16)
    return get_config(name).replace(g_base=8, g_channels=(16, 8, 8), d_channels=d, **changes)


def fixture_faces() -> FaceSet:
    return load_faces(FIXTURE, split="train")


def tiny_run(root: Path, name: str = "tiny", model: str = "M3", iters: int = 20, snapshot_every: int = 10, **kw) -> Path:
    """A finished tiny run on the real-image fixture: root/name."""
    train(fixture_faces(), root / name, model=tiny(model), iters=iters, batch=8, snapshot_every=snapshot_every,
          snapshot_at=(), n_fixed=16, device="cpu", **kw)
    return root / name


def copy_thinned(explorer_runs: Path, dest: Path) -> Path:
    """A copy of the tiny M1 run (snapshots every 10 of 40 iterations) without generator weights at 10 and 30,
    as `--weights-every 20` would have left it."""
    shutil.copytree(explorer_runs / "M1-all-s0", dest)
    index = json.loads((dest / "index.json").read_text())
    for s in index["snapshots"]:
        if s["iteration"] in (10, 30):
            s["weights"] = None
    (dest / "index.json").write_text(json.dumps(index))
    return dest

"""A GAN loop of one's own that logs through emogan.track (and imports nothing of emogan.training's trainer): the
tests' plain-PyTorch loop, and a child for the kill harness that can SIGKILL itself at its Nth write.

    python tests/killable_track.py RUN_DIR --iters 60 --snapshot-every 2 [--die-at-write N]

It always opens its run with resume=True and stores its whole state (weights, optimizers, RNG) at every snapshot,
so a killed and resumed run reproduces an uninterrupted one exactly (on one CPU thread). It prints "ready" when
its first iteration starts.
"""

from __future__ import annotations

import argparse
import os
import sys
from collections.abc import Callable
from pathlib import Path

import numpy as np
import torch
import torch._dynamo  # noqa: F401  (the optimizers import it on their first step: 2 s a child otherwise)
from PIL import Image
from torch import nn

from emogan import track

FIXTURE = Path(__file__).resolve().parent / "fixtures" / "fer2013"
Z = 100


def load_faces(root: Path) -> torch.Tensor:
    """The fixture's training faces as floats in [-1, 1], (N, 1, 48, 48): read as a plain loop reads them."""
    files = sorted(p for p in root.glob("train/*/*") if p.suffix.lower() in (".png", ".jpg", ".jpeg"))
    arr = np.stack([np.asarray(Image.open(f).convert("L"), dtype=np.float32) for f in files])
    return torch.from_numpy(arr / 127.5 - 1.0).unsqueeze(1)


def models(seed: int) -> tuple[nn.Sequential, nn.Sequential]:
    torch.manual_seed(seed)
    G = nn.Sequential(nn.Linear(Z, 16 * 12 * 12), nn.LeakyReLU(0.2), nn.Unflatten(1, (16, 12, 12)),  # (N, 16, 12, 12)
                      nn.Upsample(scale_factor=2), nn.Conv2d(16, 8, 3, padding=1), nn.BatchNorm2d(8), nn.ReLU(),
                      nn.Upsample(scale_factor=2), nn.Conv2d(8, 1, 3, padding=1), nn.Tanh())        # (N, 1, 48, 48)
    D = nn.Sequential(nn.Conv2d(1, 8, 3, 2, 1), nn.LeakyReLU(0.2), nn.Dropout(0.3),                 # (N, 8, 24, 24)
                      nn.Conv2d(8, 16, 3, 2, 1), nn.LeakyReLU(0.2), nn.Flatten(), nn.Linear(16 * 12 * 12, 1))
    return G, D


def _flat(prefix: str, sd: dict) -> dict[str, torch.Tensor]:
    return {f"{prefix}.{k}": v for k, v in sd.items()}


def state_of(G, D, opt_G, opt_D, gen: torch.Generator) -> dict[str, torch.Tensor]:
    out = {**_flat("G", G.state_dict()), **_flat("D", D.state_dict())}
    for name, opt in (("opt_G", opt_G), ("opt_D", opt_D)):
        for idx, st in opt.state_dict()["state"].items():
            out.update({f"{name}.{idx}.{k}": v if torch.is_tensor(v) else torch.tensor(v) for k, v in st.items()})
    out["rng.cpu"], out["rng.gen"] = torch.get_rng_state(), gen.get_state()
    return out


def restore(state: dict[str, torch.Tensor], G, D, opt_G, opt_D, gen: torch.Generator) -> None:
    def part(prefix: str) -> dict[str, torch.Tensor]:
        return {k[len(prefix) + 1:]: v for k, v in state.items() if k.startswith(prefix + ".")}
    G.load_state_dict(part("G"))
    D.load_state_dict(part("D"))
    for name, opt in (("opt_G", opt_G), ("opt_D", opt_D)):
        flat = part(name)
        per: dict[int, dict] = {}
        for k, v in flat.items():
            idx, key = k.split(".", 1)
            per.setdefault(int(idx), {})[key] = v
        opt.load_state_dict({"state": per, "param_groups": opt.state_dict()["param_groups"]})
    torch.set_rng_state(state["rng.cpu"])
    gen.set_state(state["rng.gen"])


def train(run_dir: Path, *, iters: int, snapshot_every: int, seed: int = 0, batch: int = 8, measure_every: int = 4,
          n_measure: int = 100, on_ready: Callable[[], None] = lambda: None) -> int:
    """Train (or resume) into run_dir; 0 when the run is done."""
    faces = load_faces(FIXTURE)
    G, D = models(seed)
    opt_G = torch.optim.Adam(G.parameters(), 2e-4, betas=(0.5, 0.999))
    opt_D = torch.optim.Adam(D.parameters(), 2e-4, betas=(0.5, 0.999))
    gen = torch.Generator().manual_seed(seed)
    bce = nn.BCEWithLogitsLoss()
    run = track.init(run_dir.parent, run_dir.name, config={"seed": seed, "batch": batch, "iters": iters},
                     resume=True, data=FIXTURE, model="plain-DCGAN", measure_every=measure_every,
                     n_measure=n_measure)
    if run.state() is not None:
        restore(run.state(), G, D, opt_G, opt_D, gen)
    on_ready()
    with run:
        for it in range(run.step + 1, iters + 1):
            real = faces[torch.randint(len(faces), (batch,), generator=gen)]
            fake = G(torch.randn(batch, Z, generator=gen))
            d_real, d_fake = D(real).squeeze(1), D(fake.detach()).squeeze(1)
            loss_D = bce(d_real, torch.ones_like(d_real)) + bce(d_fake, torch.zeros_like(d_fake))
            opt_D.zero_grad()
            loss_D.backward()
            opt_D.step()
            out = D(fake).squeeze(1)
            loss_G = bce(out, torch.ones_like(out))
            opt_G.zero_grad()
            loss_G.backward()
            opt_G.step()
            run.log(it, loss_D=loss_D.item(), loss_G=loss_G.item(), D_x=torch.sigmoid(d_real).mean().item(),
                    D_G_z=torch.sigmoid(d_fake).mean().item())
            if it % snapshot_every == 0 or it == iters:
                run.snapshot(it, track.sampler(G), weights=G, state=state_of(G, D, opt_G, opt_D, gen))
    return 0 if run.status == "done" else 1


def die_at_write(n: int) -> None:
    """SIGKILL at the nth fsync or rename (what the run's writes use), whichever thread makes it."""
    from killable_train import die_at_write as install
    install(n)


def child(run_dir: str, options: dict, die_at: int | None, ready, env: dict[str, str], log: str) -> None:
    """Entry of a forked child (tests/killharness.py): `ready` is a multiprocessing Event, stderr goes to `log`."""
    fd = os.open(log, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o644)
    os.dup2(fd, 2)
    os.environ.update(env)
    torch.set_num_threads(1)        # the reference run uses the same: float reductions in the same order
    if die_at is not None:
        die_at_write(die_at)
    sys.exit(train(Path(run_dir), iters=options["iters"], snapshot_every=options["snapshot_every"],
                   seed=options["seed"], on_ready=ready.set))


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("run_dir", type=Path)
    p.add_argument("--iters", type=int, default=60)
    p.add_argument("--snapshot-every", type=int, default=2)
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--measure-every", type=int, default=4)
    p.add_argument("--n-measure", type=int, default=100)
    p.add_argument("--die-at-write", type=int, default=None)
    args = p.parse_args(argv)
    torch.set_num_threads(1)
    if args.die_at_write is not None:
        die_at_write(args.die_at_write)
    code = train(args.run_dir, iters=args.iters, snapshot_every=args.snapshot_every, seed=args.seed,
                 measure_every=args.measure_every, n_measure=args.n_measure, on_ready=lambda: print("ready", flush=True))
    trainer = [m for m in ("emogan.training.loop", "emogan.training.session") if m in sys.modules]
    frameworks = [m for m in ("keras", "lightning", "tensorboard", "tensorflow") if m in sys.modules]
    print(f"trainer modules imported: {', '.join(trainer) or 'none'}; frameworks imported: "
          f"{', '.join(frameworks) or 'none'}", flush=True)
    return code


if __name__ == "__main__":
    sys.exit(main())

"""Throughput of the six models: a plain eager PyTorch loop vs the project's concurrent trainer, same device.

    python benchmarks/train_throughput.py --data ../shared/data/fer2013 --iters 5000     # on a GPU
    python benchmarks/train_throughput.py --data tests/fixtures/fer2013 --iters 20       # a smoke run on the CPU

(a) plain: for each iteration, each model takes one D and one G step (eager fp32, data resident on the device,
    no logging, no snapshots) -- the loop a user would write first.
(b) emogan: `train_many` as `python -m emogan train --model all` runs it: per-iteration loss log, snapshots
    (grids + generator weights) every 50 iterations, resume state, bf16 + CUDA graphs on a GPU.
Prints model-iterations/s for both and the ratio, with the device name.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from pathlib import Path

import torch
import torch.nn.functional as F

from emogan.data import load_faces
from emogan.device import resolve_device
from emogan.models import ORIGINAL_SIX, build_discriminator, build_generator, get_config
from emogan.runs.provenance import device_name
from emogan.training.loop import Job, train_many


def sync(device: torch.device) -> None:
    if device.type == "cuda":
        torch.cuda.synchronize()


def plain_loop(images: torch.Tensor, models: list[str], iters: int, batch: int, device: torch.device) -> float:
    """Seconds for `iters` iterations of every model, the textbook way."""
    nets = []
    for name in models:
        cfg = get_config(name)
        G, D = build_generator(cfg).to(device), build_discriminator(cfg).to(device)
        nets.append((cfg, G, D, torch.optim.Adam(G.parameters(), cfg.lr_g, betas=(cfg.beta1, cfg.beta2)),
                     torch.optim.Adam(D.parameters(), cfg.lr_d, betas=(cfg.beta1, cfg.beta2))))
    ones, zeros = torch.ones(batch, device=device), torch.zeros(batch, device=device)

    def one(cfg, G, D, opt_G, opt_D):
        real = images[torch.randint(len(images), (batch,), device=device)].unsqueeze(1).float() / 127.5 - 1
        fake = G(torch.randn(batch, cfg.z_dim, device=device))
        loss_D = 0.5 * (F.binary_cross_entropy_with_logits(D(real), ones)
                        + F.binary_cross_entropy_with_logits(D(fake.detach()), zeros))
        opt_D.zero_grad()
        loss_D.backward()
        opt_D.step()
        loss_G = F.binary_cross_entropy_with_logits(D(fake), ones)
        opt_G.zero_grad()
        loss_G.backward()
        opt_G.step()

    for _ in range(3):                       # warm-up, not timed
        for n in nets:
            one(*n)
    sync(device)
    t = time.perf_counter()
    for _ in range(iters):
        for n in nets:
            one(*n)
    sync(device)
    return time.perf_counter() - t


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--data", default="../shared/data/fer2013")
    ap.add_argument("--iters", type=int, default=5000)
    ap.add_argument("--plain-iters", type=int, default=None, help="iterations for the plain loop (default: --iters)")
    ap.add_argument("--batch", type=int, default=64)
    ap.add_argument("--device", default="auto")
    ap.add_argument("--models", default=",".join(ORIGINAL_SIX))
    ap.add_argument("--out", default=None, help="where (b) writes its runs (default: a temporary folder)")
    args = ap.parse_args()
    device = resolve_device(args.device)
    models = args.models.split(",")
    if any(get_config(m).conditional for m in models):
        ap.error("the plain loop here draws no emotion labels: time the unconditional models (M1..M7)")
    name = device_name(device)
    faces = load_faces(args.data, split="train")
    images = torch.from_numpy(faces.images).to(device)
    plain_iters = args.plain_iters or args.iters
    t_plain = plain_loop(images, models, plain_iters, args.batch, device)
    plain_rate = plain_iters * len(models) / t_plain
    print(f"device: {name}; torch {torch.__version__}; {len(models)} models; batch {args.batch}; "
          f"{len(faces)} faces", flush=True)
    print(f"(a) plain eager loop: {plain_iters} iterations x {len(models)} models in {t_plain:.1f} s = "
          f"{plain_rate:.1f} model-iterations/s", flush=True)
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(args.out or tmp)
        jobs = [Job(m, root / f"{m}-all-s0") for m in models]
        sync(device)
        t = time.perf_counter()
        train_many(faces, jobs, iters=args.iters, batch=args.batch, snapshot_every=50, device=device,
                   command=sys.argv)
        sync(device)
        t_fast = time.perf_counter() - t
    fast_rate = args.iters * len(models) / t_fast
    print(f"(b) emogan train_many: {args.iters} iterations x {len(models)} models in {t_fast:.1f} s end to end "
          f"(logging + snapshots every 50) = {fast_rate:.1f} model-iterations/s")
    print(f"ratio (b)/(a): {fast_rate / plain_rate:.2f}x")


if __name__ == "__main__":
    main()

"""A DCGAN on FER2013 faces as a LightningModule with two optimizers, logged by emogan.track's Lightning callback
into a run folder the EmoGAN explorer shows beside M1..M8:

    python examples/lightning_gan.py --data PATH/TO/fer2013 --iters 5000 --out checkpoints

Two optimizers mean manual optimization, and Lightning's global_step then counts optimizer steps, two per
iteration: max_steps is twice the iterations, while the callback counts iterations itself.
"""

from __future__ import annotations

import argparse
from pathlib import Path

import lightning.pytorch as pl
import numpy as np
import torch
import torch.nn.functional as F
from PIL import Image
from torch import nn
from torch.utils.data import DataLoader, Dataset

from emogan import track
from emogan.track.lightning import Callback

Z_DIM = 100


class Faces(Dataset):
    """Every image under ROOT/train/<emotion>/, as (1, 48, 48) floats in [-1, 1]."""

    def __init__(self, root: str):
        files = sorted(p for p in Path(root, "train").glob("*/*") if p.suffix.lower() in (".png", ".jpg", ".jpeg"))
        if not files:
            raise SystemExit(f"no images under {root}/train/<emotion>/")
        self.images = np.stack([np.asarray(Image.open(f).convert("L").resize((48, 48)), np.float32) for f in files])

    def __len__(self) -> int:
        return len(self.images)

    def __getitem__(self, i: int) -> torch.Tensor:
        return torch.from_numpy(self.images[i] / 127.5 - 1.0).unsqueeze(0)


class GAN(pl.LightningModule):
    def __init__(self, lr: float = 2e-4, width: int = 32):
        super().__init__()
        self.save_hyperparameters()
        self.automatic_optimization = False          # two optimizers, stepped in turn below
        w = width
        self.generator = nn.Sequential(
            nn.Linear(Z_DIM, 2 * w * 6 * 6), nn.BatchNorm1d(2 * w * 6 * 6), nn.ReLU(),
            nn.Unflatten(1, (2 * w, 6, 6)),                                                        # (N, 2w, 6, 6)
            nn.ConvTranspose2d(2 * w, 2 * w, 4, 2, 1), nn.BatchNorm2d(2 * w), nn.ReLU(),           # (N, 2w, 12, 12)
            nn.ConvTranspose2d(2 * w, w, 4, 2, 1), nn.BatchNorm2d(w), nn.ReLU(),                   # (N, w, 24, 24)
            nn.ConvTranspose2d(w, 1, 4, 2, 1), nn.Tanh())                                          # (N, 1, 48, 48)
        self.discriminator = nn.Sequential(
            nn.Conv2d(1, w, 4, 2, 1), nn.LeakyReLU(0.2),                                           # (N, w, 24, 24)
            nn.Conv2d(w, 2 * w, 4, 2, 1), nn.BatchNorm2d(2 * w), nn.LeakyReLU(0.2),                # (N, 2w, 12, 12)
            nn.Flatten(), nn.Linear(2 * w * 12 * 12, 1))

    def configure_optimizers(self):
        betas = (0.5, 0.999)
        return (torch.optim.Adam(self.generator.parameters(), self.hparams.lr, betas=betas),
                torch.optim.Adam(self.discriminator.parameters(), self.hparams.lr, betas=betas))

    def training_step(self, real: torch.Tensor, batch_idx: int) -> dict[str, torch.Tensor]:
        opt_G, opt_D = self.optimizers()
        z = torch.randn(len(real), Z_DIM, device=self.device)
        fake = self.generator(z)

        d_real, d_fake = self.discriminator(real).squeeze(1), self.discriminator(fake.detach()).squeeze(1)
        loss_D = 0.5 * (F.binary_cross_entropy_with_logits(d_real, torch.ones_like(d_real))
                        + F.binary_cross_entropy_with_logits(d_fake, torch.zeros_like(d_fake)))
        opt_D.zero_grad()
        self.manual_backward(loss_D)
        opt_D.step()

        out = self.discriminator(fake).squeeze(1)
        loss_G = F.binary_cross_entropy_with_logits(out, torch.ones_like(out))
        opt_G.zero_grad()
        self.manual_backward(loss_G)
        opt_G.step()
        # The step's own values: what emogan.track.lightning.Callback logs.
        return {"loss_D": loss_D.detach(), "loss_G": loss_G.detach(),
                "D_x": torch.sigmoid(d_real).mean().detach(), "D_G_z": torch.sigmoid(d_fake).mean().detach()}


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--data", required=True, help="FER2013 folder with train/<emotion>/ images")
    p.add_argument("--iters", type=int, default=5000)
    p.add_argument("--out", default="checkpoints", help="runs folder")
    p.add_argument("--name", default="lightning-gan")
    p.add_argument("--batch", type=int, default=64)
    p.add_argument("--width", type=int, default=32)
    p.add_argument("--snapshot-every", type=int, default=50)
    p.add_argument("--seed", type=int, default=0)
    args = p.parse_args(argv)
    pl.seed_everything(args.seed, verbose=False)
    loader = DataLoader(Faces(args.data), batch_size=args.batch, shuffle=True, drop_last=True)
    gan = GAN(width=args.width)
    with track.init(args.out, args.name, config=vars(args), framework="lightning", data=args.data,
                    iters=args.iters) as run:
        trainer = pl.Trainer(max_steps=2 * args.iters, accelerator="cpu", logger=False, enable_checkpointing=False,
                             enable_progress_bar=False, enable_model_summary=False,
                             callbacks=[Callback(run, sample_every=args.snapshot_every, weights=True)])
        trainer.fit(gan, loader)
        print(f"{args.name}: {run.step} iterations, global_step {trainer.global_step}; status {run.status}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

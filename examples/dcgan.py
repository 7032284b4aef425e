"""A plain PyTorch DCGAN on FER2013 faces: the pytorch/examples DCGAN (dcgan/main.py), scaled from 64x64 colour
images to 48x48 grayscale. The six lines marked `# emogan.track` make its training a run folder that the EmoGAN
explorer shows beside M1..M8 and that `python -m emogan metrics` measures:

    python examples/dcgan.py --data PATH/TO/fer2013 --iters 5000 --out checkpoints
    python -m emogan metrics dcgan --root checkpoints
"""

from __future__ import annotations

import argparse
import random
from pathlib import Path

import numpy as np
import torch
import torch.nn as nn
import torch.optim as optim
from PIL import Image
from torch.utils.data import DataLoader, Dataset

from emogan import track  # emogan.track


class Faces(Dataset):
    """Every image under ROOT/train/<emotion>/, as (1, 48, 48) floats in [-1, 1]."""

    def __init__(self, root: str):
        self.files = sorted(p for p in Path(root, "train").glob("*/*") if p.suffix.lower() in (".png", ".jpg", ".jpeg"))
        if not self.files:
            raise SystemExit(f"no images under {root}/train/<emotion>/")

    def __len__(self) -> int:
        return len(self.files)

    def __getitem__(self, i: int) -> torch.Tensor:
        img = np.asarray(Image.open(self.files[i]).convert("L").resize((48, 48)), dtype=np.float32)
        return torch.from_numpy(img / 127.5 - 1.0).unsqueeze(0)


def weights_init(m: nn.Module) -> None:
    classname = m.__class__.__name__
    if classname.find("Conv") != -1:
        nn.init.normal_(m.weight, 0.0, 0.02)
    elif classname.find("BatchNorm") != -1:
        nn.init.normal_(m.weight, 1.0, 0.02)
        nn.init.zeros_(m.bias)


class Generator(nn.Module):
    def __init__(self, nz: int, ngf: int, nc: int = 1):
        super().__init__()
        self.main = nn.Sequential(
            nn.ConvTranspose2d(nz, ngf * 4, 6, 1, 0, bias=False), nn.BatchNorm2d(ngf * 4), nn.ReLU(True),
            # state size. (ngf*4) x 6 x 6
            nn.ConvTranspose2d(ngf * 4, ngf * 2, 4, 2, 1, bias=False), nn.BatchNorm2d(ngf * 2), nn.ReLU(True),
            # state size. (ngf*2) x 12 x 12
            nn.ConvTranspose2d(ngf * 2, ngf, 4, 2, 1, bias=False), nn.BatchNorm2d(ngf), nn.ReLU(True),
            # state size. (ngf) x 24 x 24
            nn.ConvTranspose2d(ngf, nc, 4, 2, 1, bias=False), nn.Tanh(),
            # state size. (nc) x 48 x 48
        )

    def forward(self, input: torch.Tensor) -> torch.Tensor:
        return self.main(input)


class Discriminator(nn.Module):
    def __init__(self, ndf: int, nc: int = 1):
        super().__init__()
        self.main = nn.Sequential(
            # input is (nc) x 48 x 48
            nn.Conv2d(nc, ndf, 4, 2, 1, bias=False), nn.LeakyReLU(0.2, inplace=True),
            # state size. (ndf) x 24 x 24
            nn.Conv2d(ndf, ndf * 2, 4, 2, 1, bias=False), nn.BatchNorm2d(ndf * 2), nn.LeakyReLU(0.2, inplace=True),
            # state size. (ndf*2) x 12 x 12
            nn.Conv2d(ndf * 2, ndf * 4, 4, 2, 1, bias=False), nn.BatchNorm2d(ndf * 4), nn.LeakyReLU(0.2, inplace=True),
            # state size. (ndf*4) x 6 x 6
            nn.Conv2d(ndf * 4, 1, 6, 1, 0, bias=False), nn.Sigmoid(),
        )

    def forward(self, input: torch.Tensor) -> torch.Tensor:
        return self.main(input).view(-1, 1).squeeze(1)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", required=True, help="FER2013 folder with train/<emotion>/ images")
    parser.add_argument("--iters", type=int, default=5000, help="training iterations (batches)")
    parser.add_argument("--out", default="checkpoints", help="runs folder")
    parser.add_argument("--name", default="dcgan", help="run folder name")
    parser.add_argument("--batch-size", type=int, default=64)
    parser.add_argument("--nz", type=int, default=100, help="size of the latent z vector")
    parser.add_argument("--ngf", type=int, default=64)
    parser.add_argument("--ndf", type=int, default=64)
    parser.add_argument("--lr", type=float, default=0.0002)
    parser.add_argument("--beta1", type=float, default=0.5)
    parser.add_argument("--workers", type=int, default=0)
    parser.add_argument("--seed", type=int, default=0)
    opt = parser.parse_args()

    random.seed(opt.seed)
    torch.manual_seed(opt.seed)
    dataloader = DataLoader(Faces(opt.data), batch_size=opt.batch_size, shuffle=True, num_workers=opt.workers,
                            drop_last=True)
    nz = opt.nz
    netG = Generator(nz, opt.ngf)
    netG.apply(weights_init)
    netD = Discriminator(opt.ndf)
    netD.apply(weights_init)
    criterion = nn.BCELoss()
    real_label, fake_label = 1.0, 0.0
    optimizerD = optim.Adam(netD.parameters(), lr=opt.lr, betas=(opt.beta1, 0.999))
    optimizerG = optim.Adam(netG.parameters(), lr=opt.lr, betas=(opt.beta1, 0.999))
    run = track.init(opt.out, opt.name, config=vars(opt), z_dim=nz, data=opt.data, iters=opt.iters)  # emogan.track

    it = 0
    while it < opt.iters:
        for data in dataloader:
            it += 1
            ############################
            # (1) Update D network: maximize log(D(x)) + log(1 - D(G(z)))
            ###########################
            netD.zero_grad()
            real_cpu = data
            batch_size = real_cpu.size(0)
            label = torch.full((batch_size,), real_label, dtype=real_cpu.dtype)
            output = netD(real_cpu)
            errD_real = criterion(output, label)
            errD_real.backward()
            D_x = output.mean().item()

            noise = torch.randn(batch_size, nz, 1, 1)
            fake = netG(noise)
            label.fill_(fake_label)
            output = netD(fake.detach())
            errD_fake = criterion(output, label)
            errD_fake.backward()
            D_G_z1 = output.mean().item()
            errD = errD_real + errD_fake
            optimizerD.step()

            ############################
            # (2) Update G network: maximize log(D(G(z)))
            ###########################
            netG.zero_grad()
            label.fill_(real_label)  # fake labels are real for generator cost
            output = netD(fake)
            errG = criterion(output, label)
            errG.backward()
            D_G_z2 = output.mean().item()
            optimizerG.step()

            if it % 100 == 0:
                print(f"[{it}/{opt.iters}] Loss_D: {errD.item():.4f} Loss_G: {errG.item():.4f} D(x): {D_x:.4f} "
                      f"D(G(z)): {D_G_z1:.4f} / {D_G_z2:.4f}")
            run.log(it, loss_D=errD.item(), loss_G=errG.item(), D_x=D_x, D_G_z=D_G_z1)  # emogan.track
            if it % 50 == 0 or it == opt.iters:  # emogan.track
                run.snapshot(it, track.sampler(netG, shape=(-1, nz, 1, 1)), weights=netG)  # emogan.track
            if it == opt.iters:
                break
    run.close()  # emogan.track


if __name__ == "__main__":
    main()

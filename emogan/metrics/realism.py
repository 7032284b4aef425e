"""Realism as a classifier two-sample test (C2ST; Lopez-Paz & Oquab, ICLR 2017): a small CNN, trained from scratch
with a fixed and seeded protocol, tells real validation faces from generated ones; its accuracy on faces it was not
trained on is the score. 50% means the detector cannot tell them apart; 100% that every fake is caught.

No model trains against this detector: it is new for every measurement and sees only pixels, so a generator cannot
lower the score by drawing what an emotion classifier reads (as it can FER-FID). Its power depends on the detector
and its budget, hence the fixed protocol below and the real faces' own score (training against validation faces,
the same protocol) as the floor every figure is read against.

The protocol: min(N, R) faces of each side; two-fold cross-validation, so that every face is judged once by a
detector that did not train on it (2N judgements: a standard error of 1.1 points at N = 1000, where one 70/30
split judges 0.6N faces); horizontal flips as augmentation; Adam for a fixed number of epochs; fixed seeds.
"""

from __future__ import annotations

import math

import numpy as np

from emogan.metrics.core import Reference, Sample

FOLDS = 2            # each face is judged by the detector of the one fold it was held out of
EPOCHS = 30          # fewer lose power: with 12 (and 4 folds) M2 at 5000 scored 87%, with 30 over 90%
BATCH = 64
LR = 2e-3
WIDTH = 16           # channels of the detector's first stage; doubled at each of its three stride-2 stages
SEED = 0
MIN_FACES = 20       # a side; below it the score is left unmeasured rather than reported from a handful of faces
SETTINGS = {"folds": FOLDS, "epochs": EPOCHS, "batch": BATCH, "lr": LR, "width": WIDTH, "seed": SEED,
            "augment": "hflip", "detector": "3x(conv3x3 s2, lrelu) + global mean + linear"}


def _detector(width: int):
    from torch import nn

    w = width
    return nn.Sequential(                                                   # (B, 1, 48, 48)
        nn.Conv2d(1, w, 3, 2, 1), nn.LeakyReLU(0.2),                       # (B, w, 24, 24)
        nn.Conv2d(w, 2 * w, 3, 2, 1), nn.LeakyReLU(0.2),                   # (B, 2w, 12, 12)
        nn.Conv2d(2 * w, 4 * w, 3, 2, 1), nn.LeakyReLU(0.2),               # (B, 4w, 6, 6)
        nn.AdaptiveAvgPool2d(1), nn.Flatten(), nn.Linear(4 * w, 1))        # (B, 1): the logit of "real"


def two_sample_accuracy(real: np.ndarray, fake: np.ndarray, *, folds: int = FOLDS, epochs: int = EPOCHS,
                        seed: int = SEED) -> float:
    """Held-out accuracy of a detector of `real` against `fake` faces ((N, 48, 48) uint8 each), as a fraction.

    The larger set is cut to the smaller one's size (a random, seeded subset), so that 50% is chance."""
    import torch

    real, fake = np.asarray(real, dtype=np.uint8), np.asarray(fake, dtype=np.uint8)
    n = min(len(real), len(fake))
    if n < 2 * folds:
        raise ValueError(f"a two-sample test needs at least {2 * folds} faces a side, got {len(real)} and {len(fake)}")
    rng = np.random.default_rng(seed)
    real = real[np.sort(rng.choice(len(real), n, replace=False))]
    fake = fake[np.sort(rng.choice(len(fake), n, replace=False))]
    x = torch.from_numpy(np.concatenate([real, fake])).float().div_(127.5).sub_(1.0).unsqueeze(1)
    y = torch.cat([torch.ones(n), torch.zeros(n)])
    # Folds stratified by side: each holds as many real as fake faces.
    fold_of = np.concatenate([rng.permutation(n) % folds, rng.permutation(n) % folds])
    correct = 0
    for k in range(folds):
        test = torch.from_numpy(np.flatnonzero(fold_of == k))
        train = torch.from_numpy(np.flatnonzero(fold_of != k))
        net = _fit(x[train], y[train], epochs, seed * 1000 + k)
        with torch.no_grad():
            correct += int(((net(x[test]).squeeze(1) > 0).float() == y[test]).sum())
    return correct / (2 * n)


def _fit(x, y, epochs: int, seed: int):
    import torch

    gen = torch.Generator().manual_seed(seed)
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(seed)
        net = _detector(WIDTH)
    opt = torch.optim.Adam(net.parameters(), lr=LR, betas=(0.5, 0.999))
    loss_fn = torch.nn.BCEWithLogitsLoss()
    for _ in range(epochs):
        order = torch.randperm(len(x), generator=gen)
        for i in range(0, len(x), BATCH):
            idx = order[i:i + BATCH]
            xb = x[idx]
            flip = torch.rand(len(idx), generator=gen) < 0.5
            xb = torch.where(flip[:, None, None, None], xb.flip(3), xb)
            opt.zero_grad(set_to_none=True)
            loss_fn(net(xb).squeeze(1), y[idx]).backward()
            opt.step()
    return net.eval()


def p_value(accuracy: float, n_judged: int) -> float:
    """One-sided p-value of an accuracy this high if the detector were guessing (the binomial null of Lopez-Paz &
    Oquab, in its normal approximation)."""
    z = (accuracy - 0.5) / math.sqrt(0.25 / n_judged)
    return 0.5 * math.erfc(z / math.sqrt(2))


def realism(sample: Sample, reference: Reference) -> dict[str, float | None]:
    """c2st: held-out accuracy of a fresh detector of the reference's real faces against the sample's faces."""
    if reference.real_images is None or min(len(reference.real_images), len(sample)) < MIN_FACES:
        return {"c2st": None}
    return {"c2st": two_sample_accuracy(reference.real_images, sample.images)}


def floor(real: np.ndarray, other_real: np.ndarray) -> float:
    """The score of real faces against other real faces (training against validation): what a perfect generator
    scores, about 50%; NaN where there are too few faces."""
    if min(len(real), len(other_real)) < MIN_FACES:
        return math.nan
    return two_sample_accuracy(real, other_real)

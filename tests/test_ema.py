"""emogan/ema.py: the weight average with warm-up shared by the GANs and the classifier."""

import pytest
import torch

from emogan.ema import ema_update


def test_warm_up_then_the_set_decay():
    avg, live, steps = torch.zeros(3), torch.ones(3), torch.zeros(())
    ema_update([avg], [live], steps, decay=0.999)
    # step 1: keep (1 + 1) / (10 + 1) of the average, take the rest from the live weights
    torch.testing.assert_close(avg, torch.full((3,), 1 - 2 / 11))
    for _ in range(10000):               # past n = 8990, where (1 + n) / (10 + n) reaches 0.999
        ema_update([avg], [live], steps, decay=0.999)
    assert steps.item() == 10001
    before = avg.clone()
    live2 = torch.full((3,), 2.0)
    ema_update([avg], [live2], steps, decay=0.999)
    torch.testing.assert_close(avg, before + 0.001 * (live2 - before))      # the decay caps the warm-up


def test_copied_pairs_are_copied_not_averaged():
    mine, theirs = torch.zeros(2, dtype=torch.long), torch.tensor([3, 4])
    ema_update([], [], torch.zeros(()), decay=0.9, copied=[(mine, theirs)])
    assert mine.tolist() == [3, 4]


def test_a_half_life_in_images_halves_the_weight_of_the_past_after_that_many_images():
    from emogan.ema import halflife_decay

    decay = halflife_decay(20_000, batch=64)
    assert decay ** (20_000 / 64) == pytest.approx(0.5)
    assert halflife_decay(20_000, batch=128) == pytest.approx(decay ** 2)     # twice the images per update
    # As the cap of a ramped average: past the point where the ramp's half-life reaches it, the cap holds.
    avg, live, steps = torch.zeros(1), torch.ones(1), torch.full((), 10_000.0)
    ema_update([avg], [live], steps, decay=min(0.999, decay), ramp=0.05)
    torch.testing.assert_close(avg, torch.tensor([1 - decay]))

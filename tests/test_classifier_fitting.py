"""emogan/classifier/train.py: the schedule, on-device augmentation, a tiny training run and epoch selection."""

import dataclasses
from pathlib import Path

import numpy as np
import pytest
import torch

from emogan.classifier.fitting import (
    EpochStats,
    TrainOptions,
    _fit_epochs,
    augment,
    one_cycle,
    random_crop,
    random_erase,
    train_classifier,
)
from emogan.classifier.model import ClassifierConfig
from emogan.data import FaceSet, load_faces

FIXTURE = Path(__file__).resolve().parents[1] / "tests" / "fixtures" / "fer2013"
# input_size 48: no random windows, so that 84 faces are memorised within the test's 40 steps
TINY = ClassifierConfig(widths=(16, 32, 32, 32), depths=(1, 1, 1, 1), input_size=48, dropout=0.0)
STILL = TrainOptions(rotate=0, scale=0, translate=0, flip=False, erase=0)  # augmentation that should do nothing


def faces_batch(n=6, seed=0) -> torch.Tensor:
    """uint8 faces (n, 1, 48, 48), as training keeps them."""
    g = torch.Generator().manual_seed(seed)
    return torch.randint(0, 256, (n, 1, 48, 48), generator=g, dtype=torch.uint8)


def as_input(x: torch.Tensor) -> torch.Tensor:
    return x.float().div(127.5).sub(1)


def test_one_cycle_shape():
    lrs = [one_cycle(i / 100, 0.1, 0.2) for i in range(101)]
    assert lrs[0] == pytest.approx(0.004) and max(lrs) == pytest.approx(0.1) and lrs[20] == pytest.approx(0.1)
    assert all(a <= b for a, b in zip(lrs[:20], lrs[1:21])) and all(a >= b for a, b in zip(lrs[20:], lrs[21:]))
    assert lrs[-1] == pytest.approx(1e-4)


def test_options_from_json_fields_round_trip_and_refuse_mistakes():
    opts = TrainOptions.from_dict({"epochs": 3.0, "erase": 0, "flip": False, "time_budget": 60, "limit": None})
    assert opts.epochs == 3 and isinstance(opts.epochs, int) and opts.erase == 0.0 and isinstance(opts.erase, float)
    assert opts.flip is False and opts.time_budget == 60.0 and opts.lr == TrainOptions().lr
    assert TrainOptions.from_dict(opts.to_dict()) == opts
    for fields, message in [({"eras": 0.1}, "unknown training option keys: eras"),
                            ({"epochs": 2.5}, "epochs: expected int"),
                            ({"flip": 1}, "flip: expected bool"),
                            ({"lr": "0.1"}, "lr: expected float"),
                            ({"erase": 1.5, "lr": 0}, "out of range: lr=0.0, erase=1.5")]:
        with pytest.raises(ValueError, match=message):
            TrainOptions.from_dict(fields)


def test_augment_without_randomness_is_the_identity():
    x = faces_batch()
    torch.testing.assert_close(augment(x, 48, STILL, torch.Generator().manual_seed(0)), as_input(x), atol=1e-5, rtol=0)


def test_random_crop_takes_whole_windows_at_varied_places():
    x = faces_batch(64)
    y = random_crop(x, 40, torch.Generator().manual_seed(0))
    assert y.shape == (64, 1, 40, 40) and y.dtype == torch.uint8
    offsets = set()
    for i in range(64):
        found = [(t, c) for t in range(9) for c in range(9) if torch.equal(y[i], x[i, :, t:t + 40, c:c + 40])]
        assert len(found) == 1, i                 # a real window of that face, not a mix of faces or pixels
        offsets.add(found[0])
    assert len(offsets) > 20                      # of the 81 places, many are used


def test_flip_only_mirrors_some_faces():
    x = as_input(faces_batch(32))
    y = augment(faces_batch(32), 48, dataclasses.replace(STILL, flip=True), torch.Generator().manual_seed(0))
    same = [(y[i] - x[i]).abs().max() < 1e-5 for i in range(32)]
    mirrored = [(y[i] - x[i].flip(-1)).abs().max() < 1e-5 for i in range(32)]
    assert all(s or m for s, m in zip(same, mirrored))
    assert 4 <= sum(mirrored) <= 28


def test_augment_is_seeded_and_in_range():
    x = faces_batch()
    opts = TrainOptions(rotate=10, scale=0.1, translate=0.05, erase=0.5)
    a = augment(x, 40, opts, torch.Generator().manual_seed(3))
    b = augment(x, 40, opts, torch.Generator().manual_seed(3))
    torch.testing.assert_close(a, b)
    assert a.shape == (6, 1, 40, 40) and a.min() >= -1 and a.max() <= 1
    assert not torch.allclose(a, as_input(x)[..., 4:44, 4:44], atol=1e-3)


def test_random_erase_blanks_one_rectangle_per_face():
    x = torch.full((8, 1, 48, 48), 0.5)
    y = random_erase(x, 1.0, torch.Generator().manual_seed(0))
    for face in y[:, 0]:
        rows, cols = torch.nonzero(face == 0, as_tuple=True)
        assert len(rows) >= 1 and set(face.unique().tolist()) <= {0.0, 0.5}
        h, w = rows.max() - rows.min() + 1, cols.max() - cols.min() + 1
        assert len(rows) == h * w  # one filled rectangle
    torch.testing.assert_close(random_erase(x, 0.0, torch.Generator().manual_seed(0)), x)


def test_fit_epochs_shrinks_only_when_over_budget():
    h = [EpochStats(1, 100, 1.0, 0.5, 0.5, 0.5, 0.1, 3.0)]
    assert _fit_epochs(100, elapsed=4.0, history=h, budget=200) == 100   # 4 + 98 * 1 s fits
    assert _fit_epochs(100, elapsed=4.0, history=h, budget=50) == 48      # 2 + (50 - 4) / 1
    assert _fit_epochs(100, elapsed=4.0, history=h, budget=3) == 2


def _subset(faces: FaceSet, n: int) -> FaceSet:
    keep = np.random.default_rng(0).permutation(len(faces))[:n]
    return dataclasses.replace(faces, images=faces.images[keep], labels=faces.labels[keep])


def test_tiny_training_lowers_the_loss_and_keeps_the_best_epoch():
    train = load_faces(FIXTURE, split="train")                     # 84 real faces, 12 per emotion
    val = _subset(load_faces(FIXTURE, split="validation"), 35)
    # lr is the peak at batch 256 and scales with the batch: 0.4 here is 0.066 at batch 42.
    opts = dataclasses.replace(STILL, epochs=20, batch=42, lr=0.4, ema=0.0, tta=False, label_smoothing=0.0)
    seen = []
    result = train_classifier(train, val, config=TINY, options=opts, seed=0, progress_fn=seen.append)
    losses = result.step_losses
    assert len(losses) == 40 and [s.epoch for s in seen] == list(range(1, 21))
    # Memorising 84 faces: the last steps' loss must be well under the first steps' (~ln 7 = 1.95).
    assert np.mean(losses[-4:]) < np.mean(losses[:4]) - 0.3, losses
    best = max(s.val_accuracy for s in seen)
    assert result.validation.accuracy == best and seen[result.best_epoch - 1].val_accuracy == best
    assert not result.net.training and dataclasses.replace(result.net.config, temperature=1.0) == TINY
    c = result.calibration      # the temperature minimises the validation NLL (ECE is reported, not optimised)
    assert c["temperature"] == result.net.config.temperature and 0.5 <= c["temperature"] <= 3.0
    assert 0 <= c["ece_before"] <= 1 and 0 <= c["ece_after"] <= 1
    assert next(result.net.parameters()).device.type == "cpu"


def test_training_is_reproducible_with_a_seed():
    train = _subset(load_faces(FIXTURE, split="train"), 40)
    val = _subset(load_faces(FIXTURE, split="validation"), 14)
    opts = TrainOptions(epochs=1, batch=20, ema=0.9, tta=True, mixup=0.4)
    a = train_classifier(train, val, config=TINY, options=opts, seed=5)
    b = train_classifier(train, val, config=TINY, options=opts, seed=5)
    assert a.step_losses == b.step_losses
    for (k, va), vb in zip(a.net.state_dict().items(), b.net.state_dict().values()):
        assert torch.equal(va, vb), k


def test_a_stop_keeps_the_best_validated_epoch_and_drops_the_unfinished_one():
    train = _subset(load_faces(FIXTURE, split="train"), 40)
    val = _subset(load_faces(FIXTURE, split="validation"), 14)
    opts = TrainOptions(epochs=5, batch=20, ema=0.0, tta=False)      # 2 steps per epoch
    asked = []

    def stop_in_epoch_3() -> bool:       # asked before each step: five steps run, the stop comes inside epoch 3
        asked.append(1)
        return len(asked) > 5

    seen = []
    result = train_classifier(train, val, config=TINY, options=opts, seed=0, progress_fn=seen.append,
                              stop_fn=stop_in_epoch_3)
    assert result.stopped and result.epochs == 2 and [s.epoch for s in seen] == [1, 2]
    assert len(result.step_losses) == 4 and result.best_epoch in (1, 2)
    assert result.validation.accuracy == max(s.val_accuracy for s in seen)
    with pytest.raises(KeyboardInterrupt, match="before the first epoch ended"):
        train_classifier(train, val, config=TINY, options=opts, seed=0, stop_fn=lambda: True)

"""Training the emotion classifier: faces kept and augmented on the device, one-cycle SGD, selection on validation."""

from __future__ import annotations

import copy
import dataclasses
import math
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from emogan.classifier.calibration import expected_calibration_error, fit_temperature, tempered_probs
from emogan.classifier.inference import EvalResult, run_batches, score
from emogan.classifier.model import ClassifierConfig, EmotionNet
from emogan.data import FaceSet
from emogan.device import fast_bf16
from emogan.ema import ema_update
from emogan.errors import DataError
from emogan.fields import from_fields, to_fields


@dataclass(frozen=True)
class TrainOptions:
    epochs: int = 85
    batch: int = 256
    lr: float = 0.1                 # peak SGD learning rate at batch 256 (scaled linearly with the batch)
    momentum: float = 0.9           # Nesterov
    weight_decay: float = 5e-4      # on conv/linear weights only: decaying BN scales and biases only hurts
    warmup: float = 0.15            # fraction of the steps spent rising to the peak lr (one-cycle)
    label_smoothing: float = 0.1    # FER2013 labels are noisy (~10% disagree with re-annotation, FER+)
    # Light augmentation for a short schedule: a random window of the net's input_size (random crop), a mirror
    # and sometimes an erased patch. Heavier augmentation (rotation, zoom, shift) kept a 20-epoch run underfitting.
    rotate: float = 0.0             # degrees, uniform +-
    scale: float = 0.0              # zoom factor in 1 +- scale
    translate: float = 0.0          # shift, as a fraction of the face width, uniform +-
    flip: bool = True               # faces are near-symmetric: a mirrored face has the same emotion
    erase: float = 0.25             # probability of blanking one random rectangle (random erasing)
    mixup: float = 0.0              # Beta(alpha, alpha) mixup; 0 = off
    ema: float = 0.999              # exponential moving average of the weights, evaluated and kept; 0 = off
    tta: bool = True                # validate with flip averaging, as the shipped figure is measured
    compile: bool = False           # torch.compile the training step's model (CUDA only; compile time counts)
    threads: int | None = None      # CPU threads for torch (None: torch's default, one per core)
    time_budget: float | None = None  # seconds: after epoch 2, fewer epochs are planned if these would not fit
    limit: int | None = None        # train on a random subset of this many faces (quick checks)

    def __post_init__(self) -> None:
        checks = {"epochs": self.epochs >= 1, "batch": self.batch >= 1, "lr": self.lr > 0,
                  "momentum": 0 <= self.momentum < 1, "weight_decay": self.weight_decay >= 0,
                  "warmup": 0 <= self.warmup < 1, "label_smoothing": 0 <= self.label_smoothing < 1,
                  "rotate": self.rotate >= 0, "scale": 0 <= self.scale < 1, "translate": self.translate >= 0,
                  "erase": 0 <= self.erase <= 1, "mixup": self.mixup >= 0, "ema": 0 <= self.ema < 1,
                  "time_budget": self.time_budget is None or self.time_budget > 0,
                  "threads": self.threads is None or self.threads >= 1,
                  "limit": self.limit is None or self.limit >= 1}
        bad = [name for name, ok in checks.items() if not ok]
        if bad:
            raise ValueError("training option out of range: "
                             + ", ".join(f"{name}={getattr(self, name)!r}" for name in bad))

    def to_dict(self) -> dict[str, Any]:
        return to_fields(self)

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> TrainOptions:
        """Options from JSON fields (the rest keep their defaults); unknown names and wrong types are refused."""
        return from_fields(cls, d, "training option")


@dataclass(frozen=True)
class EpochStats:
    epoch: int          # 1-based
    epochs: int         # planned total (may shrink once under a time budget)
    loss: float         # mean training loss of the epoch
    train_accuracy: float  # on augmented training faces, for a sense of over-fitting
    val_accuracy: float
    best_accuracy: float
    lr: float           # at the end of the epoch
    seconds: float      # since training started


@dataclass
class TrainResult:
    net: EmotionNet             # the selected weights, eval mode, on the CPU
    best_epoch: int
    validation: EvalResult      # of the selected weights
    history: list[EpochStats]
    epochs: int                 # epochs actually run
    seconds: float              # the training loop alone (data already loaded)
    step_losses: list[float]    # every step's loss (tests check that it falls)
    stopped: bool = False       # stop_fn asked to stop: the best epoch validated before that is kept
    calibration: dict[str, float] | None = None  # temperature fitted on validation, ECE before and after


def one_cycle(progress: float, peak: float, warmup: float) -> float:
    """Linear rise from peak/25 to peak over `warmup`, then cosine down to ~0 (Smith's one-cycle, simplified)."""
    if progress < warmup:
        return peak * (0.04 + 0.96 * progress / warmup)
    t = min(1.0, (progress - warmup) / max(1e-8, 1.0 - warmup))
    return peak * (0.5 * (1.0 + math.cos(math.pi * t)) * 0.999 + 0.001)


def augment(faces: torch.Tensor, size: int, opts: TrainOptions, gen: torch.Generator) -> torch.Tensor:
    """A training batch from uint8 faces (B, 1, 48, 48): random size x size windows, mirrors, then (if asked)
    a random affine and random erasing; float in [-1, 1]. Whole-batch tensor ops: no per-face Python."""
    x = random_crop(faces, size, gen)
    if opts.flip:
        mirror = torch.rand(x.shape[0], device=x.device, generator=gen) < 0.5
        x = torch.where(mirror.view(-1, 1, 1, 1), x.flip(-1), x)
    x = _uint8_to_input(x)
    if opts.rotate or opts.scale or opts.translate:
        x = random_affine(x, opts, gen)
    if opts.erase > 0:
        x = random_erase(x, opts.erase, gen)
    return x


def random_crop(x: torch.Tensor, size: int, gen: torch.Generator) -> torch.Tensor:
    """A random size x size window of each face (one gather for the whole batch)."""
    b, _, h, w = x.shape
    if size >= h and size >= w:
        return x
    dev = x.device
    top = torch.randint(0, h - size + 1, (b, 1, 1), device=dev, generator=gen)
    left = torch.randint(0, w - size + 1, (b, 1, 1), device=dev, generator=gen)
    offsets = torch.arange(size, device=dev)
    rows, cols = top + offsets.view(1, size, 1), left + offsets.view(1, 1, size)
    return x[torch.arange(b, device=dev).view(b, 1, 1), 0, rows, cols].unsqueeze(1)


def random_affine(x: torch.Tensor, opts: TrainOptions, gen: torch.Generator) -> torch.Tensor:
    """Random rotation, zoom and shift of a float batch (B, 1, H, W)."""
    b, dev = x.shape[0], x.device

    def uniform(lo: float, hi: float) -> torch.Tensor:
        return torch.rand(b, device=dev, generator=gen) * (hi - lo) + lo

    angle = uniform(-opts.rotate, opts.rotate) * (math.pi / 180)
    zoom = uniform(1 - opts.scale, 1 + opts.scale)
    # affine_grid maps output coordinates (in [-1, 1]) to input ones: rotate, then zoom; shift is 2*frac.
    cos, sin = torch.cos(angle) / zoom, torch.sin(angle) / zoom
    theta = torch.stack([
        torch.stack([cos, -sin, uniform(-2 * opts.translate, 2 * opts.translate)], 1),
        torch.stack([sin, cos, uniform(-2 * opts.translate, 2 * opts.translate)], 1),
    ], 1)  # (B, 2, 3)
    grid = F.affine_grid(theta, list(x.shape), align_corners=False)
    # "border" repeats the edge: rotated corners look like more face/background, not like a black frame.
    return F.grid_sample(x, grid, mode="bilinear", padding_mode="border", align_corners=False)


def random_erase(x: torch.Tensor, p: float, gen: torch.Generator) -> torch.Tensor:
    """With probability p per face, set one rectangle (2-25% of the area, aspect 1/3..3) to mid-grey."""
    b, _, h, w = x.shape
    dev = x.device
    area = (torch.rand(b, device=dev, generator=gen) * 0.23 + 0.02) * h * w
    log_ratio = (torch.rand(b, device=dev, generator=gen) * 2 - 1) * math.log(3)
    eh = (area * log_ratio.exp()).sqrt().clamp(1, h)
    ew = (area / log_ratio.exp()).sqrt().clamp(1, w)
    cy = torch.rand(b, device=dev, generator=gen) * h
    cx = torch.rand(b, device=dev, generator=gen) * w
    on = torch.rand(b, device=dev, generator=gen) < p
    ys = torch.arange(h, device=dev).view(1, h, 1)
    xs = torch.arange(w, device=dev).view(1, 1, w)
    box = ((ys - cy.view(b, 1, 1)).abs() <= eh.view(b, 1, 1) / 2) & \
          ((xs - cx.view(b, 1, 1)).abs() <= ew.view(b, 1, 1) / 2) & on.view(b, 1, 1)
    return x.masked_fill(box.unsqueeze(1), 0.0)


class _EMA:
    """The averaged copy of the classifier: weights and BN statistics averaged, BN counters copied."""

    def __init__(self, net: nn.Module, decay: float) -> None:
        self.decay = decay
        self.model = copy.deepcopy(net).eval().requires_grad_(False)
        self.steps = torch.zeros((), device=next(net.parameters()).device)
        pairs = list(zip(self.model.state_dict().values(), net.state_dict().values()))
        self._averaged = [(a, b) for a, b in pairs if a.is_floating_point()]
        self._copied = [(a, b) for a, b in pairs if not a.is_floating_point()]

    def update(self, net: nn.Module) -> None:
        ema_update([a for a, _ in self._averaged], [b for _, b in self._averaged], self.steps, self.decay,
                   copied=self._copied)


def _to_device(faces: FaceSet, device: torch.device) -> tuple[torch.Tensor, torch.Tensor]:
    """The whole split as uint8 (N, 1, 48, 48) on the device: 28,709 faces are 66 MB, and no loader is needed."""
    x = torch.from_numpy(np.ascontiguousarray(faces.images)).unsqueeze(1).to(device)
    y = torch.from_numpy(np.asarray(faces.labels, dtype=np.int64)).to(device)
    return x, y


def _param_groups(net: nn.Module, weight_decay: float) -> list[dict[str, Any]]:
    decay = [p for p in net.parameters() if p.dim() > 1]
    no_decay = [p for p in net.parameters() if p.dim() <= 1]
    return [{"params": decay, "weight_decay": weight_decay}, {"params": no_decay, "weight_decay": 0.0}]


def _uint8_to_input(xb: torch.Tensor) -> torch.Tensor:
    return xb.float().div_(127.5).sub_(1.0)


def validate(net: nn.Module, x: torch.Tensor, y: torch.Tensor, tta: bool, device: torch.device) -> EvalResult:
    """Accuracy on device-resident uint8 faces."""
    cuda = device.type == "cuda"
    probs = run_batches(net, _uint8_to_input(x), what="probs", tta=tta, batch=1024 if cuda else 256,
                        channels_last=True, autocast=fast_bf16(device))
    return score(probs.argmax(1).cpu().numpy(), y.cpu().numpy())


def train_classifier(
    train: FaceSet,
    validation: FaceSet,
    *,
    config: ClassifierConfig | None = None,
    options: TrainOptions | None = None,
    device: torch.device | str = "cpu",
    seed: int = 0,
    progress_fn: Callable[[EpochStats], None] | None = None,
    stop_fn: Callable[[], bool] | None = None,
) -> TrainResult:
    """Train on `train`, select the epoch with the best accuracy on `validation` (never on anything else).

    stop_fn is asked before every step; when it says stop, the unfinished epoch is dropped and the best validated
    one is returned (stopped=True). A stop before the first epoch ends raises KeyboardInterrupt: nothing to keep."""
    config = config or ClassifierConfig()
    opts = options or TrainOptions()
    device = torch.device(device)
    cuda, bf16 = device.type == "cuda", fast_bf16(device)
    if opts.threads is not None and device.type == "cpu":
        torch.set_num_threads(opts.threads)
    if len(train) == 0 or len(validation) == 0:
        raise DataError("classifier training needs faces in both the training and the validation split")
    torch.manual_seed(seed)
    gen = torch.Generator(device=device)
    gen.manual_seed(seed)
    mix_rng = np.random.default_rng(seed)
    if cuda:
        torch.backends.cudnn.benchmark = True

    train_x, train_y = _to_device(train, device)
    if opts.limit is not None and opts.limit < len(train_y):
        keep = torch.randperm(len(train_y), device=device, generator=gen)[:opts.limit]
        train_x, train_y = train_x[keep], train_y[keep]
    val_x, val_y = _to_device(validation, device)
    n = len(train_y)
    batch = min(opts.batch, n)
    steps_per_epoch = max(1, n // batch)  # drop the ragged last batch: BN dislikes tiny batches
    epochs = opts.epochs
    peak_lr = opts.lr * batch / 256

    # channels_last: the layout oneDNN's (CPU) and cuDNN's (GPU) fast bf16 convolutions work in.
    net = EmotionNet(config).to(device).to(memory_format=torch.channels_last)
    optimizer = torch.optim.SGD(_param_groups(net, opts.weight_decay), lr=peak_lr, momentum=opts.momentum,
                                nesterov=True)
    ema = _EMA(net, opts.ema) if opts.ema > 0 else None
    forward = torch.compile(net) if (opts.compile and cuda) else net
    criterion = nn.CrossEntropyLoss(label_smoothing=opts.label_smoothing)

    history: list[EpochStats] = []
    step_losses: list[float] = []
    best_acc, best_epoch, best_state, best_eval = -1.0, 0, None, None
    step = 0
    start = time.perf_counter()
    epoch = 0
    stopped = False
    while epoch < epochs:
        epoch += 1
        net.train()
        perm = torch.randperm(n, device=device, generator=gen)
        loss_sum = torch.zeros((), device=device)
        correct = torch.zeros((), device=device)
        epoch_losses = []
        for i in range(steps_per_epoch):
            if stop_fn is not None and stop_fn():
                stopped = True
                break
            lr = one_cycle(step / (epochs * steps_per_epoch), peak_lr, opts.warmup)
            for group in optimizer.param_groups:
                group["lr"] = lr
            idx = perm[i * batch:(i + 1) * batch]
            xb = augment(train_x[idx], config.input_size, opts, gen).contiguous(memory_format=torch.channels_last)
            yb = train_y[idx]
            lam = 1.0
            if opts.mixup > 0:
                lam = float(mix_rng.beta(opts.mixup, opts.mixup))
                other = torch.randperm(len(yb), device=device, generator=gen)
                xb = lam * xb + (1 - lam) * xb[other]
            with torch.autocast(device.type, dtype=torch.bfloat16, enabled=bf16):
                logits = forward(xb)
                loss = criterion(logits, yb) if lam == 1.0 else \
                    lam * criterion(logits, yb) + (1 - lam) * criterion(logits, yb[other])
            optimizer.zero_grad(set_to_none=True)
            loss.backward()
            optimizer.step()
            if ema is not None:
                ema.update(net)
            step += 1
            # Sums stay on the device: a .item() per step would stall the GPU queue.
            loss_sum += loss.detach().float()
            correct += (logits.detach().argmax(1) == yb).sum()
            epoch_losses.append(loss.detach().float())
        if stopped:
            epoch -= 1          # the unfinished epoch was never validated and does not count
            break
        step_losses.extend(torch.stack(epoch_losses).tolist())

        judged = ema.model if ema is not None else net
        result = validate(judged, val_x, val_y, opts.tta, device)
        if result.accuracy > best_acc:
            best_acc, best_epoch, best_eval = result.accuracy, epoch, result
            best_state = {k: v.detach().clone() for k, v in judged.state_dict().items()}
        elapsed = time.perf_counter() - start
        if opts.time_budget is not None and epoch == 2 and epochs > 2:
            epochs = _fit_epochs(epochs, elapsed, history, opts.time_budget)
        stats = EpochStats(epoch, epochs, loss_sum.item() / steps_per_epoch,
                           correct.item() / (steps_per_epoch * batch), result.accuracy, best_acc, lr, elapsed)
        history.append(stats)
        if progress_fn is not None:
            progress_fn(stats)

    seconds = time.perf_counter() - start
    if best_state is None:
        raise KeyboardInterrupt("stopped before the first epoch ended: no weights to keep")
    final = EmotionNet(config)
    final.load_state_dict({k: v.float().cpu() if v.is_floating_point() else v.cpu() for k, v in best_state.items()})
    final, calibration = calibrate(final.eval(), val_x.cpu(), val_y.cpu(), opts.tta)
    best_eval = validate(final, val_x.cpu(), val_y.cpu(), opts.tta, torch.device("cpu"))
    return TrainResult(final, best_epoch, best_eval, history, epoch, seconds, step_losses, stopped, calibration)


def calibrate(net: EmotionNet, x: torch.Tensor, y: torch.Tensor, tta: bool) -> tuple[EmotionNet, dict[str, float]]:
    """The net with the softmax temperature that fits the validation faces best, and the ECE before and after
    (of the probabilities the judge shows: flip-averaged when tta)."""
    views = [x, x.flip(-1)] if tta else [x]
    plain = dataclasses.replace(net.config, temperature=1.0)
    net.config = plain
    logits = np.stack([run_batches(net, _uint8_to_input(v), what="logits", channels_last=True,
                                   autocast=fast_bf16(x.device)).numpy() for v in views])
    labels = y.numpy()
    t = fit_temperature(logits, labels)
    net.config = dataclasses.replace(plain, temperature=t)
    return net, {"temperature": t, "ece_before": round(expected_calibration_error(tempered_probs(logits, 1.0), labels), 5),
                 "ece_after": round(expected_calibration_error(tempered_probs(logits, t), labels), 5)}


def _fit_epochs(epochs: int, elapsed: float, history: list[EpochStats], budget: float) -> int:
    """Epochs that fit the time budget, judged on epoch 2 (epoch 1 also pays for cuDNN autotuning and warm-up)."""
    per_epoch = elapsed - history[0].seconds
    if elapsed + (epochs - 2) * per_epoch <= budget:
        return epochs
    return max(2, 2 + int((budget - elapsed) / max(per_epoch, 1e-6)))

"""Running the classifier: input checks, (flip-averaged) probabilities, embeddings and accuracy on labelled faces."""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

import numpy as np
import torch
from torch import nn

from emogan.device import fast_bf16
from emogan.emotions import EMOTIONS
from emogan.errors import DataError
from emogan.images import SIZE, to_model_input

# Faces per forward pass: big enough to keep the CPU's conv kernels efficient, small enough for little memory.
BATCH = 256


def as_model_input(images: np.ndarray | torch.Tensor, device: torch.device | str = "cpu") -> torch.Tensor:
    """Faces as the model takes them: float (N, 1, 48, 48) in [-1, 1] on `device`.

    Accepts uint8 faces (0..255) of shape (N, 48, 48) or (N, 1, 48, 48), as numpy arrays or tensors, and float
    tensors/arrays already in the model convention [-1, 1] (what a generator outputs)."""
    if isinstance(images, np.ndarray):
        t = torch.from_numpy(np.ascontiguousarray(images))
    elif isinstance(images, torch.Tensor):
        t = images.detach()
    else:
        raise DataError(f"faces must be a numpy array or a torch tensor, not {type(images).__name__}")
    shape = tuple(t.shape)
    if t.dim() == 4 and shape[1] == 1:
        t = t[:, 0]
    if t.dim() != 3 or tuple(t.shape[1:]) != (SIZE, SIZE):
        raise DataError(f"faces must have shape (N, {SIZE}, {SIZE}) or (N, 1, {SIZE}, {SIZE}), got {shape}")
    if t.dtype == torch.uint8:
        return to_model_input(t, device)
    if not t.is_floating_point():
        dtype = str(t.dtype).replace("torch.", "")
        raise DataError(f"faces must be uint8 (0..255) or float in [-1, 1], got dtype {dtype}")
    t = t.to(device=device, dtype=torch.float32)
    if t.numel():
        lo, hi = t.min().item(), t.max().item()
        # Float faces in 0..255 or 0..1 would be misread silently; the tolerance covers rounding in bf16 generators.
        if not (np.isfinite(lo) and np.isfinite(hi)) or lo < -1.01 or hi > 1.01:
            raise DataError(f"float faces must lie in [-1, 1] (the model convention), got values in "
                            f"[{lo:.3g}, {hi:.3g}]; pass uint8 0..255 faces instead")
    return t.clamp(-1, 1).unsqueeze(1)


@torch.inference_mode()
def run_batches(net: nn.Module, x: torch.Tensor, *, what: str = "probs", tta: bool = False, batch: int = BATCH,
                channels_last: bool = False, autocast: bool = False) -> torch.Tensor:
    """Probabilities (N, 7), logits (N, 7) or embeddings (N, D) of model inputs x, in float32 on x's device.

    With tta the face and its mirror image are both scored and averaged: faces are close to symmetric, and
    averaging over the flip removes some of the net's left/right noise."""
    if what not in ("probs", "logits", "features"):
        raise ValueError(f"unknown output {what!r}")
    was_training = net.training
    net.eval()
    outs = []
    try:
        for start in range(0, x.shape[0], batch):
            xb = x[start:start + batch]
            if tta:
                xb = torch.cat([xb, xb.flip(-1)])
            if channels_last:
                xb = xb.contiguous(memory_format=torch.channels_last)
            with torch.autocast(x.device.type, dtype=torch.bfloat16, enabled=autocast):
                y = net.embed(xb)
            # The head always in float32: probabilities are then the same whether they come from here or from
            # stored embeddings (features_and_probs), and bf16 never rounds a confidence.
            y = y.float() if what == "features" else net.logits(y.float())
            if what == "probs":
                y = y.softmax(dim=1)
            if tta:
                y = 0.5 * (y[:len(y) // 2] + y[len(y) // 2:])
            outs.append(y)
    finally:
        net.train(was_training)
    if not outs:
        width = net.config.embed_dim if what == "features" else net.config.num_classes
        return torch.zeros(0, width, device=x.device)
    return torch.cat(outs)


@dataclass(frozen=True)
class EvalResult:
    accuracy: float                 # fraction of faces whose top emotion is the label
    n: int
    per_class: dict[str, float | None]  # recall of each emotion; None where the set holds none of it
    confusion: np.ndarray           # (7, 7) counts: row = true emotion, column = predicted

    def to_dict(self) -> dict[str, Any]:
        return {"accuracy": round(self.accuracy, 6), "n": self.n,
                "per_class": {k: (None if v is None else round(v, 6)) for k, v in self.per_class.items()}}

    def to_json(self) -> str:
        return json.dumps(self.to_dict())

    def format_table(self) -> str:
        """Accuracy, per-class accuracy and the confusion matrix as a readable text table."""
        w = max(len(e) for e in EMOTIONS) + 1
        lines = [f"accuracy {100 * self.accuracy:.2f}% on {self.n} faces", "",
                 "confusion (rows: true emotion, columns: predicted)",
                 f"{'':>{w}} " + " ".join(f"{e[:7]:>7}" for e in EMOTIONS) + f" {'n':>6} {'acc':>7}"]
        for i, e in enumerate(EMOTIONS):
            row = self.confusion[i]
            acc = self.per_class[e]
            acc_text = "-" if acc is None else f"{100 * acc:.1f}%"
            lines.append(f"{e:>{w}} " + " ".join(f"{int(c):>7}" for c in row) + f" {int(row.sum()):>6} {acc_text:>7}")
        return "\n".join(lines)


def score(predicted: np.ndarray, labels: np.ndarray) -> EvalResult:
    """Accuracy, per-class recall and confusion matrix of predicted labels against true ones."""
    predicted, labels = np.asarray(predicted, dtype=np.int64), np.asarray(labels, dtype=np.int64)
    k = len(EMOTIONS)
    confusion = np.bincount(labels * k + predicted, minlength=k * k).reshape(k, k)
    totals = confusion.sum(axis=1)
    per_class = {e: (float(confusion[i, i] / totals[i]) if totals[i] else None) for i, e in enumerate(EMOTIONS)}
    n = int(len(labels))
    return EvalResult(float(np.trace(confusion) / n) if n else 0.0, n, per_class, confusion)


class Classifier:
    """A trained EmotionNet ready for inference: BatchNorm folded into the convs, fixed device and memory format."""

    def __init__(self, net: nn.Module, device: torch.device | str = "cpu", info: dict[str, Any] | None = None,
                 source: str = "", channels_last: bool | None = None) -> None:
        import copy

        from emogan.classifier.model import fold_batchnorm

        self.device = torch.device(device)
        self.config = net.config
        self.info = dict(info or {})  # what classifier.json says about the training run
        self.source = source          # the weights file, for messages
        # channels_last: the layout oneDNN's and cuDNN's fast convolutions want.
        self.channels_last = True if channels_last is None else channels_last
        net = fold_batchnorm(copy.deepcopy(net).eval()).to(self.device)
        self.net = net.to(memory_format=torch.channels_last) if self.channels_last else net

    def _run(self, images: np.ndarray | torch.Tensor, what: str, tta: bool, batch: int) -> np.ndarray:
        x = as_model_input(images, self.device)
        y = run_batches(self.net, x, what=what, tta=tta, batch=batch, channels_last=self.channels_last,
                        autocast=fast_bf16(self.device))
        return y.cpu().numpy().astype(np.float32, copy=False)

    def predict(self, images: np.ndarray | torch.Tensor, tta: bool = False, batch: int = BATCH) -> np.ndarray:
        """Emotion probabilities (N, 7) float32, columns in EMOTIONS order."""
        return self._run(images, "probs", tta, batch)

    def features(self, images: np.ndarray | torch.Tensor, tta: bool = False, batch: int = BATCH) -> np.ndarray:
        """Penultimate-layer embeddings (N, D) float32 for distribution metrics (D = config.embed_dim)."""
        return self._run(images, "features", tta, batch)

    def features_and_probs(self, images: np.ndarray | torch.Tensor,
                           batch: int = BATCH) -> tuple[np.ndarray, np.ndarray]:
        """Embeddings (N, D) and probabilities (N, 7) from one forward pass (the head is linear on the embedding)."""
        feats = self._run(images, "features", False, batch)
        with torch.inference_mode():
            logits = self.net.logits(torch.from_numpy(feats).to(self.device)).float()
        return feats, logits.softmax(dim=1).cpu().numpy().astype(np.float32, copy=False)

    def evaluate(self, images: np.ndarray | torch.Tensor, labels: np.ndarray, tta: bool = True,
                 batch: int = BATCH) -> EvalResult:
        """Accuracy of the top emotion against labels (flip-averaged by default, as the shipped figure is)."""
        probs = self.predict(images, tta=tta, batch=batch)
        return score(probs.argmax(axis=1), labels)
